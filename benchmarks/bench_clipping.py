"""The regressors' ``clip_features``: clipping the standardized features to their training
range at predict time, against predicting from them as they are.

Run from the repository root (with the package installed)::

    python benchmarks/bench_clipping.py                 # ~10 min on 2 cores
    python benchmarks/bench_clipping.py --quick         # smoke run, to /tmp

Protocol
--------
Problems: ``Covid3Month`` and ``CardanoSentiment`` (official splits; 10%, 30% and 100% of
the training split, nested prefixes of a seeded order) and two synthetic tasks with 300
test sequences and 10, 15, 30 and 100 training sequences:

* ``band``: :func:`sktdi.datasets.make_spectral_task` with ``task="regression"`` (the
  target is a band-pass functional of the sequence);
* ``level``: 64 steps of AR(1) noise (coefficient 0.8) around a level drawn uniformly in
  ``[0, 1]``; the target is the level.

A seed sets the training subset, the synthetic draw and the estimator's ``random_state``.
Selection seeds 0, 1, 2 choose the default; confirmation seeds 3, 4, 5 confirm it. The
metric is test R^2. A second table extrapolates: ``level`` models trained on 30 sequences
predict sequences of level 1.5, 2 and 3 (the mean prediction over 50 sequences).

Models: the estimators given by ``--models`` (``features``: ``SSMFeatureRegressor``;
``trained``: ``SSMRegressor``), each with ``clip_features=True`` and ``False``.

Outputs: ``benchmarks/results/clipping.csv`` (one row per fit) and ``clipping.md``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, provenance, provenance_markdown, write_atomically, write_csv  # noqa: E402, I001

UCR = ("Covid3Month", "CardanoSentiment")
SYNTHETIC = ("band", "level")
FRACTIONS = (0.1, 0.3, 1.0)
SYNTHETIC_SIZES = (10, 15, 30, 100)
SYNTHETIC_TEST = 300
SELECTION_SEEDS = (0, 1, 2)
CONFIRMATION_SEEDS = (3, 4, 5)
EXTRAPOLATION_LEVELS = (1.5, 2.0, 3.0)
COLUMNS = ["section", "problem", "seed", "role", "size", "n_train", "model", "clip",
           "score", "level", "prediction"]


def level_task(n, seed, levels=None):
    rng = np.random.RandomState(seed)
    level = rng.uniform(0, 1, size=n) if levels is None else np.asarray(levels, float)
    noise = np.zeros((n, 64))
    for t in range(1, 64):
        noise[:, t] = 0.8 * noise[:, t - 1] + rng.normal(scale=0.3, size=n)
    return level[:, None] + noise, level


def problems(seed):
    """Name -> (X_train, y_train, X_test, y_test, sizes) for one seed."""
    from sktdi.datasets import load_ucr, make_spectral_task

    out = {}
    for name in UCR:
        X, y = load_ucr(name, split="train")
        X_test, y_test = load_ucr(name, split="test")
        order = np.random.RandomState(seed).permutation(len(y))
        sizes = {f: max(int(np.floor(f * len(y) + 1e-9)), 2) for f in FRACTIONS}
        out[name] = (X[order], y[order], X_test, y_test, sizes)
    n = max(SYNTHETIC_SIZES) + SYNTHETIC_TEST
    X, y = make_spectral_task(n, 128, task="regression", random_state=100 + seed)
    out["band"] = (X[:-SYNTHETIC_TEST], y[:-SYNTHETIC_TEST], X[-SYNTHETIC_TEST:],
                   y[-SYNTHETIC_TEST:], {s: s for s in SYNTHETIC_SIZES})
    X, y = level_task(n, 200 + seed)
    out["level"] = (X[:-SYNTHETIC_TEST], y[:-SYNTHETIC_TEST], X[-SYNTHETIC_TEST:],
                    y[-SYNTHETIC_TEST:], {s: s for s in SYNTHETIC_SIZES})
    return out


def factory(model, clip, seed):
    from sktdi import SSMFeatureRegressor, SSMRegressor

    cls = SSMFeatureRegressor if model == "features" else SSMRegressor
    return cls(clip_features=clip, random_state=seed)


def run(seeds, models, on_row, quick):
    for seed in seeds:
        role = "selection" if seed in SELECTION_SEEDS else "confirmation"
        for name, (X, y, X_test, y_test, sizes) in problems(seed).items():
            if quick and name not in ("Covid3Month", "level"):
                continue
            for size, n_train in sizes.items():
                for model in models:
                    for clip in (True, False):
                        estimator = factory(model, clip, seed).fit(X[:n_train], y[:n_train])
                        on_row({"section": "score", "problem": name, "seed": seed,
                                "role": role, "size": size, "n_train": n_train,
                                "model": model, "clip": clip,
                                "score": estimator.score(X_test, y_test)})
                        if name == "level" and n_train == 30:
                            X_far, _ = level_task(50, 300 + seed, [0.0] * 50)
                            for level in EXTRAPOLATION_LEVELS:
                                on_row({"section": "extrapolation", "problem": name,
                                        "seed": seed, "role": role, "size": size,
                                        "n_train": n_train, "model": model, "clip": clip,
                                        "level": level, "prediction": float(np.mean(
                                            estimator.predict(X_far + level)))})


def _mean(rows, **match):
    values = [float(r["score"]) for r in rows
              if all(str(r[k]) == str(v) for k, v in match.items())]
    return np.mean(values) if values else np.nan


def report(rows, info):
    parts = ["# `clip_features`: clipped against unclipped features at predict time", "",
             "Made by `benchmarks/bench_clipping.py` (its docstring gives the protocol). "
             "Test R^2, mean over seeds.", "", provenance_markdown(info)]
    models = list(dict.fromkeys(r["model"] for r in rows))
    scored = [r for r in rows if r["section"] == "score"]
    for role in ("selection", "confirmation"):
        lines = ["", f"## {role.capitalize()} seeds", "",
                 "| problem | size | " + " | ".join(f"{m} clip | {m} no clip" for m in models)
                 + " |", "| --- | --- |" + " ---: | ---: |" * len(models)]
        wins = {m: [0, 0] for m in models}
        for problem in dict.fromkeys(r["problem"] for r in scored):
            for size in dict.fromkeys(r["size"] for r in scored if r["problem"] == problem):
                cells = []
                for m in models:
                    clip = _mean(scored, role=role, problem=problem, size=size, model=m,
                                 clip=True)
                    free = _mean(scored, role=role, problem=problem, size=size, model=m,
                                 clip=False)
                    cells += [f"{clip:.3f}", f"{free:.3f}"]
                    if np.isfinite(clip) and np.isfinite(free):
                        wins[m][0 if clip > free else 1] += 1
                label = f"{float(size):.0%}" if float(size) <= 1 else str(size)
                lines.append(f"| {problem} | {label} | " + " | ".join(cells) + " |")
        lines += ["", "Cells where clipping is ahead / behind: " + "; ".join(
            f"{m}: {w[0]} / {w[1]}" for m, w in wins.items())]
        parts += lines
    far = [r for r in rows if r["section"] == "extrapolation"]
    if far:
        lines = ["", "## Extrapolation (level task, 30 training sequences of levels in [0, 1])",
                 "", "Mean prediction over 50 sequences and all seeds.", "",
                 "| true level | " + " | ".join(f"{m} clip | {m} no clip" for m in models)
                 + " |", "| ---: |" + " ---: | ---: |" * len(models)]
        for level in EXTRAPOLATION_LEVELS:
            cells = []
            for m in models:
                for clip in (True, False):
                    values = [float(r["prediction"]) for r in far if r["model"] == m
                              and str(r["clip"]) == str(clip) and float(r["level"]) == level]
                    cells.append(f"{np.mean(values):.2f}")
            lines.append(f"| {level} | " + " | ".join(cells) + " |")
        parts += lines
    return "\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models", nargs="+", default=["features"],
                        choices=["features", "trained"])
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=list(SELECTION_SEEDS + CONFIRMATION_SEEDS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore")
    if args.quick:
        args.seeds, args.out = [0], Path("/tmp")
    rows, info = [], provenance()

    def on_row(row):
        rows.append(row)
        if row["section"] == "score":
            print(f"{row['problem']} seed {row['seed']} {row['size']} {row['model']} "
                  f"clip={row['clip']}: {row['score']:.3f}", flush=True)

    run(args.seeds, args.models, on_row, args.quick)
    write_csv(args.out / "clipping.csv", rows, COLUMNS)
    write_atomically(args.out / "clipping.md", report(rows, info))
    print(f"wrote {args.out / 'clipping.md'}")


if __name__ == "__main__":
    main()
