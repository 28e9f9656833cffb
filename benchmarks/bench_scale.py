"""How the training-free classifier's fit scales with the number of sequences: time and
peak memory.

Run from the repository root (with the package installed), with nothing else running::

    python benchmarks/bench_scale.py                 # ~5 min on 2 cores
    python benchmarks/bench_scale.py --quick         # smoke run, to /tmp

Protocol
--------
Synthetic two-class sequences of 100 steps (a sinusoid of frequency 0.05 or 0.07 cycles
per step, random phase, in white noise of standard deviation 1), 1,000, 10,000 and
100,000 of them. ``SSMFeatureClassifier()`` with its defaults and ``random_state=0`` is fitted
twice per size (see below), each time in a fresh process limited to 2 threads (torch, BLAS
and OpenMP), so that every peak is that fit's own.

Measured per size: the wall time of ``fit``; the process's resident memory before the fit
(Python, torch, the data) and its peak during the fit (the kernel's high-water mark
``VmHWM``, reset just before the fit through ``/proc/self/clear_refs``; ``ru_maxrss``
where that reset is not available); and the size of the float32 feature matrix
``n x n_features``. The growth, peak minus before, is what the fit itself holds; the
target is at most about twice the float32 feature matrix (no float64 copy of it, nothing
``n x n``), and time about linear in ``n``.

Every size is measured twice, each in its own process: as the process's first fit, and
after a warm-up fit on 500 other sequences. The first fit also pays for the libraries'
first use (about 100 MiB, the difference between the two growths: the compiler behind
the compiled kernels, thread pools and their buffers), which
a second fit in the same process does not pay again; the warm figure is the fit's own
memory, the one that grows with ``n``.

Outputs: ``benchmarks/results/scale.csv`` and ``scale.md``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, provenance, provenance_markdown, write_atomically, write_csv  # noqa: E402, I001

SIZES = (1_000, 10_000, 100_000)
LENGTH = 100
THREADS = 2
COLUMNS = ["n_sequences", "n_features", "fit_seconds", "rss_before_mib", "rss_peak_mib",
           "growth_mib", "features_float32_mib", "growth_over_features",
           "warm_fit_seconds", "warm_growth_mib", "warm_growth_over_features",
           "peak_reset", "train_accuracy"]

# Runs in a fresh interpreter: make the data, then fit once and report.
_CHILD = r"""
import gc, json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
from sktdi import SSMFeatureClassifier

def status_mib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024

def reset_peak():  # Linux 4.0 and later: VmHWM back to the current VmRSS
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False

def sequences(n, length, seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    frequency = np.where(y == 1, 0.07, 0.05)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = np.arange(length)[None, :]
    return np.sin(2 * np.pi * frequency * t + phase) + rng.normal(size=(n, length)), y

n, length = {n}, {length}
if {warm}:
    SSMFeatureClassifier(random_state=0).fit(*sequences(500, length, seed=1))
    gc.collect()
X, y = sequences(n, length, seed=0)
model = SSMFeatureClassifier(random_state=0)
before = status_mib("VmRSS:")
reset = reset_peak()
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
peak = (status_mib("VmHWM:") if reset
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
n_features = model.readout_.coef_.shape[1]
accuracy = float(np.mean(model.predict(X[:2000]) == y[:2000]))
print(json.dumps(dict(seconds=seconds, before=before, peak=peak, n_features=n_features,
                      accuracy=accuracy, reset=reset)))
"""


def run_child(n, warm, threads=THREADS):
    """Fit once on ``n`` sequences in a fresh process (after a warm-up fit if ``warm``);
    return what the child printed."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    code = _CHILD.format(n=n, length=LENGTH, threads=threads, warm=bool(warm))
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(n):
    """Fit on ``n`` sequences as a process's first fit and after a warm-up fit; return
    the result row."""
    first, warm = run_child(n, warm=False), run_child(n, warm=True)
    features_mib = n * first["n_features"] * 4 / 2**20
    growth = first["peak"] - first["before"]
    warm_growth = warm["peak"] - warm["before"]
    return {
        "n_sequences": n, "n_features": first["n_features"],
        "fit_seconds": round(first["seconds"], 2),
        "rss_before_mib": round(first["before"]), "rss_peak_mib": round(first["peak"]),
        "growth_mib": round(growth), "features_float32_mib": round(features_mib, 1),
        "growth_over_features": round(growth / features_mib, 2),
        "warm_fit_seconds": round(warm["seconds"], 2), "warm_growth_mib": round(warm_growth),
        "warm_growth_over_features": round(warm_growth / features_mib, 2),
        "peak_reset": first["reset"] and warm["reset"],
        "train_accuracy": round(first["accuracy"], 4),
    }


def report(rows, info):
    lines = ["# Scale: the training-free classifier's fit on more sequences", "",
             provenance_markdown(info), "",
             f"Synthetic two-class sequences of {LENGTH} steps, `SSMFeatureClassifier()` "
             f"defaults, {THREADS} threads, each fit in a fresh process: as its first fit, "
             "and after a warm-up fit on 500 other sequences (*warm*). Growth is the peak "
             "resident memory during the fit minus that before it; the first fit's also "
             "holds the libraries' first use. The target is at most about twice the float32 "
             "feature matrix, and time about linear in n.",
             "", "| sequences | features | fit (s) | time / previous | RSS before (MiB) | "
             "peak (MiB) | growth (MiB) | float32 features (MiB) | growth / features | "
             "warm fit (s) | warm growth (MiB) | warm growth / features |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    previous = None
    for row in rows:
        ratio = "" if previous is None else (
            f"{row['fit_seconds'] / previous['fit_seconds']:.1f}x for "
            f"{row['n_sequences'] / previous['n_sequences']:.0f}x")
        lines.append(
            f"| {row['n_sequences']:,} | {row['n_features']} | {row['fit_seconds']} | "
            f"{ratio} | {row['rss_before_mib']} | {row['rss_peak_mib']} | "
            f"{row['growth_mib']} | {row['features_float32_mib']} | "
            f"{row['growth_over_features']} | {row['warm_fit_seconds']} | "
            f"{row['warm_growth_mib']} | {row['warm_growth_over_features']} |")
        previous = row
    if not all(row["peak_reset"] for row in rows):
        lines += ["", "The peak could not be reset here (no `/proc/self/clear_refs`): the "
                  "peaks are `ru_maxrss`, and the warm ones include the warm-up fit's."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 and 3,000 sequences only, results to /tmp")
    parser.add_argument("--out", type=Path, default=None, help="results folder")
    args = parser.parse_args(argv)
    sizes = (1_000, 3_000) if args.quick else SIZES
    out = args.out or (Path("/tmp/sktdi_scale") if args.quick else RESULTS)
    info = provenance()
    rows = []
    for n in sizes:
        rows.append(measure(n))
        print(rows[-1], flush=True)
    write_csv(out / "scale.csv", rows, COLUMNS)
    write_atomically(out / "scale.md", report(rows, info))
    print(f"wrote {out / 'scale.md'}")


if __name__ == "__main__":
    main()
