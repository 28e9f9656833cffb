"""Speed of TDI: `SpectralInitializer.fit` against two training epochs of the same model.

Run ``python benchmarks/bench_initializer.py`` (``--quick`` for a smoke run). Data: 1,000
sequences of length 1,024 from `make_spectral_task`; model ``n_states = d_model = 64``.
Writes ``initializer_speed.json`` and ``initializer_speed.md`` to ``--out``
(default ``benchmarks/results``). Each timing is the median of ``--repeats`` runs, and the
ratios are taken within the same run, since the machine is shared and noisy.
"""

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import torch

from sktdi import SpectralInitializer, SSMClassifier
from sktdi.datasets import make_spectral_task


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    n, L, repeats = (200, 256, 1) if args.quick else (1000, 1024, args.repeats)
    X, y = make_spectral_task(n, L, random_state=0)
    arch = {"n_states": 64, "d_model": 64, "random_state": 0}

    results = {}
    for method in ("quantile", "hybrid", "gradient"):
        init = SpectralInitializer(method=method, max_iter=100, **arch)
        results[f"SpectralInitializer.fit ({method})"] = median_time(
            lambda init=init: init.fit(X, y), repeats)
    clf = SSMClassifier(max_iter=2, tol=0, device="cpu", **arch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results["SSMClassifier.fit, 2 epochs"] = median_time(lambda: clf.fit(X, y),
                                                             max(1, repeats // 2))
    epochs = results["SSMClassifier.fit, 2 epochs"]
    rows = [(name, seconds, seconds / epochs) for name, seconds in results.items()]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = {"n_samples": n, "seq_len": L, "repeats": repeats, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version()}
    suffix = "_quick" if args.quick else ""
    (out / f"initializer_speed{suffix}.json").write_text(json.dumps(
        {"info": info, "seconds": results,
         "ratio_to_two_epochs": {r[0]: r[2] for r in rows}}, indent=2))
    lines = [f"# SpectralInitializer.fit vs two training epochs ({n} x {L}, "
             f"n_states = d_model = 64, {info['threads']} torch threads)", "",
             "| what | seconds (median) | / two epochs |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {seconds:.3f} | {ratio:.3f} |" for name, seconds, ratio in rows]
    (out / f"initializer_speed{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
