r"""
Checking the SSM-induced kernel theorem on AR(1) inputs
=======================================================

With a linear readout, an SSM layer is the feature map ``phi(u) = T u``, where ``T`` is
the lower-triangular Toeplitz matrix of the convolution kernel ``K``. The eigenvalues of
the induced kernel ``k(u, u') = <T u, T u'>`` under inputs of covariance ``Sigma`` are
those of ``Sigma^{1/2} T^T T Sigma^{1/2}``. For stationary inputs the theorem says they
are approximately

.. math:: \eta_j \approx |H(\omega_j)|^2 \, S_u(\omega_j),

the SSM's power gain times the input spectrum on the DFT grid. The approximation
replaces the Toeplitz matrix by a circulant one, which is accurate when the kernel's
memory is short next to the sequence length ``L`` and wrong when it is not.

:func:`sktdi.spectral.induced_kernel_spectrum` computes both sides from data; here we
compare them for a short-memory and a long-memory SSM on AR(1) inputs, and then sweep the
memory.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from scipy import signal

from sktdi.core import make_params
from sktdi.plotting import plot_induced_kernel
from sktdi.spectral import induced_kernel_spectrum, ssm_kernel

QUICK = os.environ.get("SKTDI_EXAMPLES_QUICK", "0") == "1"
L = 64 if QUICK else 512
n_samples = 256 if QUICK else 2048  # well above L: a full-rank input covariance

# %%
# AR(1) inputs
# ------------
# ``u[t] = 0.8 u[t-1] + e[t]``, started 200 steps before the window so that the
# sequences are stationary. Their spectrum ``S_u`` falls off from low to high
# frequencies.
rng = np.random.default_rng(0)
noise = rng.standard_normal((n_samples, L + 200))
X = signal.lfilter([1.0], [1.0, -0.8], noise, axis=-1)[:, 200:]

# %%
# Two SSMs that differ only in memory
# -----------------------------------
# S4D-Lin modes have ``Re A = -0.5``, so ``|Abar| = exp(-0.5 dt)``: the kernel decays
# with time constant ``2 / dt`` steps. ``dt = 0.1`` gives 20 steps (short next to
# ``L``); ``dt = 0.001`` gives 2000 steps (longer than ``L``).
short = make_params("S4D-Lin", d_model=2, n_states=16, dt_min=0.1, dt_max=0.1,
                    random_state=0)
long = make_params("S4D-Lin", d_model=2, n_states=16, dt_min=1e-3, dt_max=1e-3,
                   random_state=0)


def relative_gap(params):
    empirical, predicted = induced_kernel_spectrum(params, X)
    return np.linalg.norm(empirical - predicted) / np.linalg.norm(predicted)


for name, params in [("short memory", short), ("long memory", long)]:
    print(f"{name}: relative gap ||empirical - predicted|| / ||predicted|| = "
          f"{relative_gap(params):.3f}")

# %%
# Kernels and induced-kernel spectra
# ----------------------------------
# Left: the kernels ``|K[h, l]|`` against the lag, with ``L`` marked. Middle and right:
# the sorted eigenvalues of the induced kernel against the sorted values of
# ``|H|^2 S_u``. The short-memory kernel has died out long before lag ``L`` and the two
# spectra agree; the long-memory kernel is still large at lag ``L``, the edges of the
# Toeplitz matrix matter, and the prediction is off.
fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
lags = np.arange(1, 4 * L + 1)
for name, params, colour in [("short", short, "C0"), ("long", long, "C3")]:
    K = ssm_kernel(params, 4 * L)
    axes[0].plot(lags, np.abs(K).max(axis=0), color=colour, label=f"{name} memory")
axes[0].axvline(L, color="0.4", linestyle=":", label=f"L = {L}")
axes[0].set_ylim(bottom=1e-12 * axes[0].get_ylim()[1])
axes[0].set_xscale("log")
axes[0].set_yscale("log")
axes[0].set_xlabel("lag l")
axes[0].set_ylabel("max over channels of |K[h, l]|")
axes[0].set_title("kernels")
axes[0].legend(fontsize="small")
for ax, (name, params) in zip(axes[1:], [("short", short), ("long", long)], strict=True):
    empirical, predicted = induced_kernel_spectrum(params, X)
    plot_induced_kernel(empirical, predicted, ax=ax, title=f"{name} memory")
plt.show()

# %%
# Sweeping the memory
# -------------------
# The gap as a function of the kernel's time constant ``2 / dt`` relative to ``L``: a
# few percent while the memory is a small fraction of ``L``, growing as it approaches
# and exceeds ``L``. Before reading a task's needs off ``|H|^2 S_u`` (as TDI does), check
# that the model's memory is short next to the sequences.
dts = np.geomspace(1e-3, 0.5, 4 if QUICK else 9)
gaps = [relative_gap(make_params("S4D-Lin", d_model=2, n_states=16, dt_min=dt, dt_max=dt,
                                 random_state=0)) for dt in dts]
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(2 / dts / L, gaps, marker="o")
ax.axvline(1.0, color="0.4", linestyle=":")
ax.set_xscale("log")
ax.set_xlabel("kernel time constant / L")
ax.set_ylabel("relative gap")
ax.set_title(f"Toeplitz vs circulant error (AR(1) inputs, L = {L})")
ax.grid(True, alpha=0.3)
plt.show()
