# Source this file (bash) to run Python on the vector units of a baseline x86-64 CPU
# (SSE4.2: no AVX, no FMA). NumPy's loops, both BLAS libraries, torch's kernels and
# numba's compiled code then take other code paths, which round differently from the
# machine's own: every sktdi output moves in its last bits. CI runs the tests a second
# time under it, so that a test holding only up to one CPU's rounding fails in CI
# rather than on a contributor's machine.
export NPY_DISABLE_CPU_FEATURES="AVX F16C FMA3 AVX2 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
export OPENBLAS_CORETYPE=Nehalem                        # NumPy's and SciPy's OpenBLAS
export MKL_ENABLE_INSTRUCTIONS=SSE4_2 MKL_CBWR=COMPATIBLE  # torch's BLAS (MKL)
export ATEN_CPU_CAPABILITY=default                      # torch's vectorized kernels
export NUMBA_CPU_NAME=generic                           # sktdi's and aeon's numba kernels
