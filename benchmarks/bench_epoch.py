"""One training epoch of the default trained SSM against one pass of its bank.

Run from the repository root, alone on the machine::

    python benchmarks/bench_epoch.py

For every classification problem of the public panel (``bench_panel.py``), on the whole
official training split, 1 thread: ``SSMClassifier(random_state=0)`` trains three epochs
(``n_iter_no_change=3, max_iter=3``, so that there are epochs to time); an epoch is the
forward and backward passes over the fit rows (the training split less the held-out
fifth) and Adam's step. The pass it is compared with is ``decision_function`` of the
fitted model on as many training sequences: the bank's filtering, the pooling and the
readout, without a gradient. Medians over the epochs and over three passes.

Output: ``benchmarks/results/epoch.md``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_panel as panel  # noqa: E402
from _common import RESULTS, provenance, provenance_markdown, write_atomically  # noqa: E402, I001


def timed_classifier():
    """``SSMClassifier`` that records the seconds and the rows of every epoch."""
    from sktdi import SSMClassifier

    class EpochTimedClassifier(SSMClassifier):
        def _epoch(self, data):
            start = time.perf_counter()
            loss = super()._epoch(data)
            self.epochs_seen_.append((time.perf_counter() - start, len(data[2])))
            return loss

    model = EpochTimedClassifier(random_state=0, n_iter_no_change=3, max_iter=3,
                                 device="cpu")
    model.epochs_seen_ = []
    return model


def measure(name):
    X_train, y_train, _, _ = panel.load_problem(name)
    model = timed_classifier()
    model.fit(X_train, y_train)
    if not model.epochs_seen_:
        return {"problem": name, "rows": 0}
    rows = model.epochs_seen_[0][1]
    epoch = float(np.median([seconds for seconds, _ in model.epochs_seen_]))
    passes = []
    for _ in range(3):
        start = time.perf_counter()
        model.decision_function(panel.take(X_train, np.arange(rows)))
        passes.append(time.perf_counter() - start)
    one_pass = float(np.median(passes))
    return {"problem": name, "rows": rows, "epochs": len(model.epochs_seen_),
            "epoch_s": epoch, "pass_s": one_pass, "ratio": epoch / one_pass}


def report(results, info):
    lines = ["# One training epoch against one pass of the bank", "",
             "Made by `benchmarks/bench_epoch.py` (its docstring gives the protocol): the "
             "default `SSMClassifier` on every classification problem of the panel, whole "
             "training split, 1 thread.", "", provenance_markdown(info), "",
             "| problem | fit rows | epochs timed | epoch (s) | one pass (s) | epoch / pass |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        if not r["rows"]:
            lines.append(f"| {r['problem']} | too few to hold out: no epoch | | | | |")
            continue
        lines.append(f"| {r['problem']} | {r['rows']} | {r['epochs']} | {r['epoch_s']:.3f} | "
                     f"{r['pass_s']:.3f} | {r['ratio']:.1f}x |")
    return "\n".join(lines) + "\n"


def main():
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    info = provenance()
    results = []
    for name in (p for p, task in panel.PANEL.items() if task == "classification"):
        results.append(measure(name))
        print(results[-1], flush=True)
    path = RESULTS / "epoch.md"
    write_atomically(path, report(results, info))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
