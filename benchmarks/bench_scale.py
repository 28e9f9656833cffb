"""How the training-free classifier's fit scales with the number of sequences: time and
peak memory.

Run from the repository root (with the package installed), with nothing else running::

    python benchmarks/bench_scale.py                 # ~10 min on 2 cores
    python benchmarks/bench_scale.py --quick         # smoke run, to /tmp

Protocol
--------
Synthetic two-class sequences of 100 steps (a sinusoid of frequency 0.05 or 0.07 cycles
per step, random phase, in white noise of standard deviation 1), 1,000, 10,000 and
100,000 of them. ``SSMFeatureClassifier()`` with its defaults and ``random_state=0`` is fitted
once per size, each in a fresh process limited to 2 threads (torch, BLAS and OpenMP), so
that every peak is that fit's own.

Measured per size: the wall time of ``fit``; the process's resident memory before the fit
(Python, torch, the data) and its peak during the fit (``ru_maxrss``, which the kernel
keeps exactly); and the size of the float32 feature matrix ``n x n_features``. The
growth, peak minus before, is what the fit itself holds; the target is at most about
twice the float32 feature matrix (no float64 copy of it, nothing ``n x n``), and time about
linear in ``n``.

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
           "growth_mib", "features_float32_mib", "growth_over_features", "train_accuracy"]

# Runs in a fresh interpreter: make the data, then fit once and report.
_CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
from sktdi import SSMFeatureClassifier

def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

n, length = {n}, {length}
rng = np.random.RandomState(0)
y = rng.randint(2, size=n)
frequency = np.where(y == 1, 0.07, 0.05)[:, None]
phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
t = np.arange(length)[None, :]
X = np.sin(2 * np.pi * frequency * t + phase) + rng.normal(size=(n, length))
model = SSMFeatureClassifier(random_state=0)
before = rss_mib()
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
n_features = model.readout_.coef_.shape[1]
accuracy = float(np.mean(model.predict(X[:2000]) == y[:2000]))
print(json.dumps(dict(seconds=seconds, before=before, peak=peak, n_features=n_features,
                      accuracy=accuracy)))
"""


def measure(n, threads=THREADS):
    """Fit once on ``n`` sequences in a fresh process; return its result row."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    code = _CHILD.format(n=n, length=LENGTH, threads=threads)
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    features_mib = n * result["n_features"] * 4 / 2**20
    growth = result["peak"] - result["before"]
    return {
        "n_sequences": n, "n_features": result["n_features"],
        "fit_seconds": round(result["seconds"], 2),
        "rss_before_mib": round(result["before"]), "rss_peak_mib": round(result["peak"]),
        "growth_mib": round(growth), "features_float32_mib": round(features_mib, 1),
        "growth_over_features": round(growth / features_mib, 2),
        "train_accuracy": round(result["accuracy"], 4),
    }


def report(rows, info):
    lines = ["# Scale: the training-free classifier's fit on more sequences", "",
             provenance_markdown(info), "",
             f"Synthetic two-class sequences of {LENGTH} steps, `SSMFeatureClassifier()` "
             f"defaults, {THREADS} threads, one fit per size in a fresh process. Growth is "
             "the peak resident memory during the fit minus that before it; the target is "
             "at most about twice the float32 feature matrix, and time about linear in n.",
             "", "| sequences | features | fit (s) | time / previous | RSS before (MiB) | "
             "peak (MiB) | growth (MiB) | float32 features (MiB) | growth / features |",
             "|---|---|---|---|---|---|---|---|---|"]
    previous = None
    for row in rows:
        ratio = "" if previous is None else (
            f"{row['fit_seconds'] / previous['fit_seconds']:.1f}x for "
            f"{row['n_sequences'] / previous['n_sequences']:.0f}x")
        lines.append(
            f"| {row['n_sequences']:,} | {row['n_features']} | {row['fit_seconds']} | "
            f"{ratio} | {row['rss_before_mib']} | {row['rss_peak_mib']} | "
            f"{row['growth_mib']} | {row['features_float32_mib']} | "
            f"{row['growth_over_features']} |")
        previous = row
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
