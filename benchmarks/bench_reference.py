"""Reference figures: the default training-free classifier of whatever sktdi is imported,
on the panel's protocol, for the seeds the panel's verdict needs.

``bench_panel.py`` bounds the multivariate and unequal-length problems by the figures the
default ``SSMFeatureClassifier`` had before the panel's work began (its ``REFERENCE``).
The issue gives its verdicts on the confirmation seeds, so the earlier commit's figures
are needed on those seeds too. This script computes them with the panel's own data,
official test splits and training subsets (``bench_panel.load_problem`` and
``training_subsets``), importing sktdi from the checkout of the earlier commit::

    git worktree add --detach /tmp/sktdi_faae048 faae048
    PYTHONPATH=/tmp/sktdi_faae048 python benchmarks/bench_reference.py \\
        --problems JapaneseVowels PickupGestureWiimoteZ --seeds 0 1 2 3 4 5

The results files record the imported sktdi's commit, so they say which code made them.
Not part of the package.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_panel as panel  # noqa: E402
from _common import RESULTS, provenance, provenance_markdown, write_atomically, write_csv  # noqa: E402, I001

COLUMNS = ["problem", "seed", "role", "fraction", "n_train", "score"]


def run(problems, seeds, verbose=True):
    """Rows of test accuracy of the default ``SSMFeatureClassifier`` (the panel's
    "SSMFeature" model, fitted by ``bench_panel.run_panel``): problem x seed x fraction of
    the training split."""
    unknown = [name for name in problems if panel.PANEL.get(name) != "classification"]
    if unknown:
        raise ValueError(f"not classification problems of the panel: {unknown}.")
    rows = []

    def on_row(row):
        rows.append(row)
        if verbose:
            print(f"{row['problem']} seed {row['seed']} {row['fraction']:.0%}: "
                  f"{row['score']:.4f}", flush=True)

    panel.run_panel(problems, seeds, ["SSMFeature"], set(), on_row)
    return rows


def report(rows, info):
    """Markdown: mean accuracy over the selection and the confirmation seeds."""
    lines = ["# Reference figures of the default SSMFeatureClassifier", "",
             "Made by `benchmarks/bench_reference.py` (its docstring gives the protocol: "
             "the panel's data, official test splits and training subsets). Test accuracy "
             "in %, means over the seeds of each role.", "", provenance_markdown(info), "",
             "| problem | seeds | " + " | ".join(f"{f:.0%}" for f in panel.FRACTIONS) + " |",
             "| --- | --- |" + " ---: |" * len(panel.FRACTIONS)]
    for name in dict.fromkeys(r["problem"] for r in rows):
        for role in ("selection", "confirmation"):
            mine = [r for r in rows if r["problem"] == name and r["role"] == role]
            if not mine:
                continue
            seeds = sorted({r["seed"] for r in mine})
            means = [100 * np.mean([r["score"] for r in mine if r["fraction"] == f])
                     for f in panel.FRACTIONS]
            lines.append(f"| {name} | {', '.join(map(str, seeds))} ({role}) | "
                         + " | ".join(f"{m:.2f}" for m in means) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[*panel.SELECTION_SEEDS,
                                                                  *panel.CONFIRMATION_SEEDS])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--stem", default=None,
                        help="file name stem (default: reference_<commit>)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    info = provenance()
    rows = run(args.problems, args.seeds, verbose=not args.quiet)
    stem = args.stem or f"reference_{info['commit'].split('+')[0]}"
    write_csv(args.out / f"{stem}.csv", rows, COLUMNS)
    write_atomically(args.out / f"{stem}.md", report(rows, info))
    print(f"wrote {args.out / stem}.csv and .md")


if __name__ == "__main__":
    main()
