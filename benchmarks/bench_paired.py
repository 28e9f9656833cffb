"""Paired comparison on one test split: can the test sequences tell two models apart?

``bench_panel.py`` compares mean scores. On a small test split a difference of means can
be noise: CardanoSentiment has 33 test sequences. This script fits the default training-free
estimator and the peers on the panel's own data, official test splits and training subsets
(``bench_panel.load_problem``, ``training_subsets``, ``model_factories``), keeps every test
sequence's prediction, and for each peer against sktdi gives

- the difference of scores (peer minus sktdi; R^2 or accuracy, on the whole test split);
- a 95% bootstrap interval of that difference: the test sequences are resampled with
  replacement, the same draw for both models (paired), and both scores recomputed;
- the p-value of a paired test of no difference: for regression a paired t-test on the
  squared errors (the R^2 difference is their mean difference over the test targets'
  variance), for classification an exact McNemar test (a binomial test on the sequences
  only one of the two models gets right).

Run from the repository root (``pip install -e ".[tests]"`` brings aeon)::

    python benchmarks/bench_paired.py                       # the regression problems, 100%
    python benchmarks/bench_paired.py --problems ItalyPowerDemand --fraction 0.1

Outputs ``benchmarks/results/paired.csv`` and ``paired.md`` (``--stem`` renames them), with
the commit and the command. Not part of the package.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_panel as panel  # noqa: E402
from _common import RESULTS, provenance, provenance_markdown, write_atomically, write_csv  # noqa: E402, I001

OURS = "SSMFeature"
COLUMNS = ["problem", "task", "seed", "role", "fraction", "n_train", "n_test", "model",
           "score", "difference", "ci_low", "ci_high", "p_value"]


def score(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, r2_score

    return r2_score(y_true, y_pred) if task == "regression" else accuracy_score(y_true, y_pred)


def paired_test(task, y_true, ours, theirs):
    """p-value of no difference between two models' predictions of the same sequences."""
    from scipy import stats

    if np.array_equal(ours, theirs):  # the same predictions (the t-test has no variance)
        return 1.0
    if task == "regression":
        return float(stats.ttest_rel((theirs - y_true) ** 2, (ours - y_true) ** 2).pvalue)
    only_ours = int(np.sum((ours == y_true) & (theirs != y_true)))
    only_theirs = int(np.sum((ours != y_true) & (theirs == y_true)))
    if only_ours + only_theirs == 0:
        return 1.0
    return float(stats.binomtest(only_theirs, only_ours + only_theirs).pvalue)


def bootstrap_interval(task, y_true, ours, theirs, n_resamples, seed):
    """95% percentile interval of ``score(theirs) - score(ours)`` over paired resamples of
    the test sequences (:func:`scipy.stats.bootstrap`)."""
    from scipy import stats

    def difference(y, a, b):
        return score(task, y, b) - score(task, y, a)

    result = stats.bootstrap((y_true, ours, theirs), difference, paired=True,
                             vectorized=False, n_resamples=n_resamples, method="percentile",
                             random_state=seed)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def run(problems, seeds, fraction, peers, n_resamples, verbose=True):
    """Rows: every model's test score and, for each peer, its paired comparison with
    sktdi's default training-free estimator (problem x seed)."""
    unknown = [name for name in problems if name not in panel.PANEL]
    if unknown:
        raise ValueError(f"not panel problems: {unknown}; choose from {sorted(panel.PANEL)}.")
    rows = []
    for name in problems:
        X_train, y_train, X_test, y_test = panel.load_problem(name)
        y_test = np.asarray(y_test)
        task = panel.PANEL[name]
        factories = panel.model_factories(task)
        for seed in seeds:
            role = "selection" if seed in panel.SELECTION_SEEDS else "confirmation"
            subset = panel.training_subsets(y_train, task, seed, [fraction])[fraction]
            predictions = {}
            for model in (OURS, *peers):
                estimator = factories[model](seed)
                estimator.fit(panel.take(X_train, subset), y_train[subset])
                predictions[model] = np.asarray(estimator.predict(X_test))
            ours = predictions[OURS]
            for model in (OURS, *peers):
                theirs = predictions[model]
                row = {"problem": name, "task": task, "seed": seed, "role": role,
                       "fraction": fraction, "n_train": len(subset), "n_test": len(y_test),
                       "model": model, "score": score(task, y_test, theirs),
                       "difference": "", "ci_low": "", "ci_high": "", "p_value": ""}
                if model != OURS:
                    low, high = bootstrap_interval(task, y_test, ours, theirs, n_resamples,
                                                   seed)
                    row.update(difference=row["score"] - score(task, y_test, ours),
                               ci_low=low, ci_high=high,
                               p_value=paired_test(task, y_test, ours, theirs))
                rows.append(row)
                if verbose:
                    extra = ("" if model == OURS else f", difference {row['difference']:+.3f} "
                             f"[{low:+.3f}, {high:+.3f}], p = {row['p_value']:.3f}")
                    print(f"{name} seed {seed} {fraction:.0%} {model}: {row['score']:.3f}"
                          f"{extra}", flush=True)
    return rows


def report(rows, info, n_resamples):
    lines = ["# Paired comparisons on the test split", "",
             "Made by `benchmarks/bench_paired.py` (its docstring gives the protocol). Score: "
             "R^2 (regression) or accuracy on the official test split; difference: the peer's "
             f"score minus {OURS}'s, with its 95% bootstrap interval ({n_resamples} paired "
             "resamples of the test sequences) and the p-value of a paired test of no "
             "difference (regression: t-test on the squared errors; classification: exact "
             "McNemar).", "", provenance_markdown(info), "",
             "| problem | training | seed | model | score | difference | 95% interval | p |",
             "| --- | --- | --- | --- | ---: | ---: | --- | ---: |"]
    for row in rows:
        if row["model"] == OURS:
            lines.append(f"| {row['problem']} | {row['fraction']:.0%} ({row['n_train']}) | "
                         f"{row['seed']} ({row['role']}) | {OURS} | {row['score']:.3f} | | | |")
            continue
        lines.append(f"| {row['problem']} | {row['fraction']:.0%} ({row['n_train']}) | "
                     f"{row['seed']} ({row['role']}) | {row['model']} | {row['score']:.3f} | "
                     f"{row['difference']:+.3f} | [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
                     f" | {row['p_value']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(panel.REGRESSION))
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="fraction of the training split (the panel's subsets)")
    parser.add_argument("--seeds", nargs="+", type=int,
                        default=list(panel.CONFIRMATION_SEEDS))
    parser.add_argument("--peers", nargs="+", default=list(panel.PEERS))
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--stem", default="paired")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not 0 < args.fraction <= 1:
        parser.error(f"--fraction must be in (0, 1]; got {args.fraction}.")
    models = list(panel.model_factories("classification"))
    unknown = sorted(set(args.peers) - set(models))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {models}.")
    unknown = sorted(set(args.problems) - set(panel.PANEL))
    if unknown:
        parser.error(f"not panel problems: {unknown}; choose from {sorted(panel.PANEL)}.")
    info = provenance()
    rows = run(args.problems, args.seeds, args.fraction, args.peers, args.resamples,
               verbose=not args.quiet)
    write_csv(args.out / f"{args.stem}.csv", rows, COLUMNS)
    write_atomically(args.out / f"{args.stem}.md", report(rows, info, args.resamples))
    print(f"wrote {args.out / args.stem}.csv and .md")


if __name__ == "__main__":
    main()
