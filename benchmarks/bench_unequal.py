"""Unequal lengths: what reading every sequence over its own steps gives, and what it costs.

Run from the repository root, alone on the machine (with ``pip install -e ".[tests]"``,
which brings aeon)::

    python benchmarks/bench_unequal.py                    # both parts (about 10 min)
    python benchmarks/bench_unequal.py --part ablation
    python benchmarks/bench_unequal.py --part throughput --before 923be1d

Ablation
--------
The two unequal-length problems aeon ships, PickupGestureWiimoteZ (univariate, 29 to 361
steps) and JapaneseVowels (12 channels, 7 to 26 steps), official test splits; nested,
stratified training subsets of 10%, 30% and 100% of the training split with at least 2
sequences per class (the protocol of ``bench_panel.py``), seeds 0, 1, 2. Each model reads
the sequences three ways: as they are (``own``: the list, every sequence over its own
steps; sktdi only), zero-padded after their end to the longest training sequence
(``zero-padded``: aeon's ``Padder``, what a user does to get one length) and linearly
resampled to it (``resampled``: aeon's ``Resizer``). MiniRocket and ridge cannot read
unequal lengths, so they get the last two only.

Throughput
----------
Equal-length input must not pay for the support of unequal lengths. The package at
``--before`` (a commit, extracted with ``git archive`` and imported as ``sktdi_before``)
and the package of this checkout run in this one process with one torch thread, in
alternating pairs, fit + predict on official splits: the median ratio (now / before) of
``PAIRS`` pairs per case, every time the fastest of ``RUNS`` runs in a row; and whether
the two give bit-identical test scores.

Outputs: ``benchmarks/results/unequal_lengths.csv`` (one row per fit or timing pair) and
``unequal_lengths.md`` (tables and provenance).
"""

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, provenance, provenance_markdown, write_atomically, write_csv  # noqa: E402, I001
from bench_panel import load_problem, training_subsets  # noqa: E402

PROBLEMS = ("PickupGestureWiimoteZ", "JapaneseVowels")
FRACTIONS = (0.1, 0.3, 1.0)
SEEDS = (0, 1, 2)
READINGS = ("own", "zero-padded", "resampled")
PAIRS = 7
# Every timing is the fastest of this many runs in a row (the machine's noise is one-sided).
RUNS = 3
COLUMNS = ["part", "problem", "seed", "fraction", "n_train", "model", "reading", "score",
           "fit_time", "case", "pair", "before_s", "now_s", "ratio", "identical"]


# ----------------------------------------------------------------------------- ablation
def models(seed):
    """Model -> (factory, readings it takes): the defaults, and the baselines of
    ``sktdi curves`` (:mod:`sktdi.models`), all seeded with ``seed``."""
    from sktdi.models import make_estimator

    specs = {"SSMFeature": ("features", READINGS), "SSMClassifier": ("S4D-Lin", READINGS),
             "MiniRocket": ("minirocket", READINGS[1:]), "Ridge (raw)": ("ridge", READINGS[1:])}
    return {model: (lambda spec=spec: make_estimator(spec, "classification",
                                                     {"random_state": seed}), readings)
            for model, (spec, readings) in specs.items()}


def read_as(reading, X_train, X_test):
    """The training and test sequences in one of the three readings."""
    from aeon.transformations.collection.unequal_length import Padder, Resizer

    if reading == "own":
        return X_train, X_test
    as_2d = [[x[None, :] if x.ndim == 1 else x for x in X] for X in (X_train, X_test)]
    longest = max(x.shape[-1] for x in as_2d[0])
    if reading == "zero-padded":  # test sequences longer than every training one are cut
        cut = [x[:, :longest] for x in as_2d[1]]
        padder = Padder(padded_length=longest, fill_value=0)
        return padder.fit_transform(as_2d[0]), padder.transform(cut)
    resizer = Resizer(resized_length=longest)
    return resizer.fit_transform(as_2d[0]), resizer.transform(as_2d[1])


def run_ablation(verbose):
    rows = []
    for name in PROBLEMS:
        X_train, y_train, X_test, y_test = load_problem(name)
        for seed in SEEDS:
            for fraction, index in training_subsets(y_train, "classification", seed,
                                                    FRACTIONS).items():
                subset = [X_train[i] for i in index]
                for model, (factory, readings) in models(seed).items():
                    for reading in readings:
                        train, test = read_as(reading, subset, X_test)
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            start = time.perf_counter()
                            estimator = factory().fit(train, y_train[index])
                            fit_time = time.perf_counter() - start
                            score = estimator.score(test, y_test)
                        rows.append({"part": "ablation", "problem": name, "seed": seed,
                                     "fraction": fraction, "n_train": len(index),
                                     "model": model, "reading": reading, "score": score,
                                     "fit_time": fit_time})
                        if verbose:
                            print(f"{name} seed {seed} {fraction:.0%} {model} ({reading}): "
                                  f"{score:.3f} in {fit_time:.1f}s", flush=True)
    return rows


# ----------------------------------------------------------------------------- throughput
def package_at(commit):
    """The ``sktdi`` package of ``commit``, imported as ``sktdi_before``."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", commit, "sktdi"],
                             check=True, capture_output=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="sktdi_before_"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "sktdi").rename(folder / "sktdi_before")
    sys.path.insert(0, str(folder))
    return importlib.import_module("sktdi_before")


def throughput_cases():
    """Case -> (problem, estimator class name, parameters): fit + predict on equal lengths."""
    trained = {"max_iter": 30, "tol": 0.0, "n_iter_no_change": 1000, "random_state": 0}
    return {
        "SSMFeatureClassifier GunPoint": ("GunPoint", "SSMFeatureClassifier",
                                          {"random_state": 0}),
        "SSMFeatureClassifier ArrowHead": ("ArrowHead", "SSMFeatureClassifier",
                                           {"random_state": 0}),
        "SSMFeatureClassifier BasicMotions": ("BasicMotions", "SSMFeatureClassifier",
                                              {"random_state": 0}),
        "SSMClassifier GunPoint (30 epochs)": ("GunPoint", "SSMClassifier", trained),
        "SSMClassifier tdi ItalyPowerDemand (30 epochs)": (
            "ItalyPowerDemand", "SSMClassifier", {**trained, "init": "tdi"}),
    }


def run_throughput(before, verbose):
    import torch

    import sktdi

    torch.set_num_threads(1)
    old = package_at(before)
    rows = []
    for case, (problem, cls, params) in throughput_cases().items():
        X_train, y_train, X_test, _ = load_problem(problem)
        for pair in range(PAIRS):
            times = {}
            for label, package in (("before", old), ("now", sktdi)):
                times[label] = min(_fit_predict_time(getattr(package, cls), params, X_train,
                                                     y_train, X_test) for _ in range(RUNS))
            rows.append({"part": "throughput", "case": case, "pair": pair,
                         "before_s": times["before"], "now_s": times["now"],
                         "ratio": times["now"] / times["before"]})
            if verbose:
                print(f"{case} pair {pair}: {times['before']:.2f}s before, "
                      f"{times['now']:.2f}s now ({rows[-1]['ratio']:.3f})", flush=True)
        rows[-1]["identical"] = same_outputs(old, sktdi, cls, params, X_train, y_train,
                                             X_test)
    return rows


def same_outputs(old, new, cls, params, X_train, y_train, X_test):
    """Whether both packages give bit-identical scores (decision values, probabilities or
    features) on the test split."""
    outputs = []
    for package in (old, new):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator = getattr(package, cls)(**params).fit(X_train, y_train)
        method = next(m for m in ("decision_function", "predict_proba", "transform")
                      if hasattr(estimator, m))
        outputs.append(getattr(estimator, method)(X_test))
    return bool(np.array_equal(*outputs))


def _fit_predict_time(Estimator, params, X_train, y_train, X_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        Estimator(**params).fit(X_train, y_train).predict(X_test)
        return time.perf_counter() - start


# ----------------------------------------------------------------------------- report
def ablation_table(rows, problem):
    lines = ["| model | reading | " + " | ".join(f"{f:.0%}" for f in FRACTIONS) + " |",
             "| --- | --- |" + " ---: |" * len(FRACTIONS)]
    keys = dict.fromkeys((r["model"], r["reading"]) for r in rows if r["problem"] == problem)
    for model, reading in keys:
        cells = []
        for fraction in FRACTIONS:
            scores = [r["score"] for r in rows if (r["problem"], r["model"], r["reading"],
                                                   r["fraction"]) == (problem, model,
                                                                      reading, fraction)]
            cells.append(f"{100 * np.mean(scores):.1f} ± {100 * np.std(scores):.1f}")
        lines.append(f"| {model} | {reading} | " + " | ".join(cells) + " |")
    return lines


def throughput_table(rows):
    lines = ["| case | median before (s) | median now (s) | median ratio now / before | "
             "ratio range | identical scores |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for case in dict.fromkeys(r["case"] for r in rows):
        mine = [r for r in rows if r["case"] == case]
        ratios = [r["ratio"] for r in mine]
        lines.append(f"| {case} | {np.median([r['before_s'] for r in mine]):.3f} | "
                     f"{np.median([r['now_s'] for r in mine]):.3f} | {np.median(ratios):.3f} | "
                     f"{min(ratios):.2f}-{max(ratios):.2f} | "
                     f"{'yes' if mine[-1]['identical'] else 'no'} |")
    return lines


def report(rows, info, before):
    ablation = [r for r in rows if r["part"] == "ablation"]
    timing = [r for r in rows if r["part"] == "throughput"]
    lines = ["# Unequal lengths: reading every sequence over its own steps", "",
             provenance_markdown(info), ""]
    if ablation:
        lines += ["## Accuracy (%) by how the sequences are read", "",
                  f"Official test splits; mean ± standard deviation over seeds {SEEDS}; "
                  "training subsets of the training split (at least 2 per class).", ""]
        for problem in PROBLEMS:
            lines += [f"### {problem}", "", *ablation_table(ablation, problem), ""]
    if timing:
        lines += ["## Throughput on equal-length input", "",
                  f"Fit + predict, one torch thread, {PAIRS} alternating pairs per case, every "
                  f"time the fastest of {RUNS} runs in a row; "
                  f"*before* is the package at `{before}`. *Identical scores*: both packages "
                  "fitted once more give bit-identical test scores.", "",
                  *throughput_table(timing),
                  ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "ablation", "throughput"), default="all")
    parser.add_argument("--before", default="923be1d",
                        help="commit whose package the throughput part compares against")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    info = provenance()
    rows = []
    if args.part in ("all", "ablation"):
        rows += run_ablation(not args.quiet)
    if args.part in ("all", "throughput"):
        rows += run_throughput(args.before, not args.quiet)
    write_csv(RESULTS / "unequal_lengths.csv", rows, COLUMNS)
    write_atomically(RESULTS / "unequal_lengths.md", report(rows, info, args.before))
    print(f"wrote {RESULTS / 'unequal_lengths.md'}")


if __name__ == "__main__":
    main()
