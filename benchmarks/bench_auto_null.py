"""Calibration of ``init="auto"``: how often it leaves the base on pure noise, and how often
it takes TDI where TDI is what the task needs.

Run from the repository root (with the package installed)::

    python benchmarks/bench_auto_null.py            # ~25 min on 2 cores
    python benchmarks/bench_auto_null.py --quick    # smoke run: 10 draws, to /tmp

What is measured
----------------
``SSMFeatureClassifier(init="auto")`` (its defaults otherwise) and ``SSMFeatureRegressor
(init="auto")`` fitted on *pure noise*: sequences of 128 steps drawn by
:func:`sktdi.datasets.make_spectral_task` with ``snr=0`` (an AR(1) background with
coefficient 0.9, or white noise), balanced random labels or standard normal targets that
nothing in the sequences predicts. Any TDI candidate chosen there is a false positive: the
rate must stay at or below 5% at 10, 16 and 24 training sequences.

Power: the band task of ``test_auto_picks_tdi_where_the_base_misses_the_band`` (a bank of
slow ``S4D-Lin`` filters on the raw sequences, with no mode in the signal's band at 0.30-0.35
cycles/sample; ``snr=0.3``): the rate at which ``auto`` takes a TDI candidate, and the test
accuracy of the chosen bank against the base's (1,000 test sequences).

Every draw records every candidate's per-example leave-one-out errors, so that several
selection rules can be compared on the same fits: the rule of the commit that made the
run (``library``) and the alternatives in :data:`RULES` (thresholds on the paired t
statistic of the squared errors alone). Draws 0-199 are the *selection* draws on which
the library's rule was chosen (among these and the sign test on left-out
misclassifications at several levels); draws 200-399 *confirm* it.

Outputs: ``benchmarks/results/auto_null.csv`` (one row per fit and rule),
``auto_null.md`` (rates per rule, size and role; the verdict; provenance) and, with
``--keep-evidence``, every fit's scores and errors in ``auto_null_evidence.pkl``.
"""

import argparse
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, provenance, provenance_markdown, read_csv, write_atomically, write_csv  # noqa: E402, I001

SIZES = (10, 16, 24)
SELECTION_DRAWS = range(0, 200)
CONFIRMATION_DRAWS = range(200, 400)
SEQ_LEN = 128
POWER_TEST = 1000
TARGET_RATE = 0.05
# Every fit's candidates, scores and leave-one-out errors (pickled beside the CSV), so that
# other rules can be evaluated without refitting.
EVIDENCE = []
COLUMNS = ["case", "role", "draw", "size", "rule", "chosen", "tdi", "accuracy",
           "base_accuracy", "commit"]
# The bank of test_auto_picks_tdi_where_the_base_misses_the_band (the power case).
POWER_BANK = {"base": "S4D-Lin", "time_scales": (64, 512), "differences": False,
              "statistics": ("mean", "power"), "d_model": 32}


# ----------------------------------------------------------------------------- rules
def _gains(errors, base):
    return {label: errors[base] - e for label, e in errors.items() if label != base}


def _t_statistic(gain, weights):
    count = np.count_nonzero(weights > 0)
    mean = np.average(gain, weights=weights)
    spread = np.sqrt(np.average((gain - mean) ** 2, weights=weights) / (count - 1))
    return mean / spread if spread > 0 else (np.inf if mean > 0 else 0.0)


def rule_fixed(threshold, effect=0.0):
    """Every candidate on its own: mean gain above ``threshold`` standard errors and above
    ``effect`` times the base's mean error."""
    def rule(scores, errors, weights, base):
        floor = effect * np.average(errors[base], weights=weights)
        qualified = [label for label, gain in _gains(errors, base).items()
                     if _t_statistic(gain, weights) > threshold
                     and np.average(gain, weights=weights) > floor]
        return max(qualified, key=scores.get) if qualified else base
    return rule


def rule_bonferroni(level):
    """Student's t quantile at ``level / (number of candidates)``, one-sided."""
    def rule(scores, errors, weights, base):
        gains = _gains(errors, base)
        count = np.count_nonzero(weights > 0)
        threshold = stats.t.ppf(1 - level / len(gains), count - 1)
        qualified = [label for label, gain in gains.items()
                     if _t_statistic(gain, weights) > threshold]
        return max(qualified, key=scores.get) if qualified else base
    return rule


RULES = {  # the rules compared when the library's was chosen (sktdi 0.1's: "fixed 2.5")
    "fixed 2.5": rule_fixed(2.5),
    "fixed 3.0": rule_fixed(3.0),
    "fixed 4.0": rule_fixed(4.0),
    "bonferroni 5%": rule_bonferroni(0.05),
    "2.5 + effect 5%": rule_fixed(2.5, 0.05),
    "2.5 + effect 10%": rule_fixed(2.5, 0.10),
}


# ----------------------------------------------------------------------------- fits
class _Recorder:
    """Wraps ``select_candidate`` of the feature estimators to keep what it was given."""

    def __init__(self, module):
        self.module, self.original = module, module.select_candidate
        self.calls = []

    def __enter__(self):
        def recording(scores, base_label, *, errors=None, misclassified=None,
                      sample_weight=None):
            self.calls.append((dict(scores), errors, misclassified, sample_weight,
                               base_label))
            return self.original(scores, base_label, errors=errors,
                                 misclassified=misclassified, sample_weight=sample_weight)
        self.module.select_candidate = recording
        return self

    def __exit__(self, *exc):
        self.module.select_candidate = self.original


def noise_task(draw, size, task, background):
    from sktdi.datasets import make_spectral_task

    rng = np.random.RandomState(10_000 + draw)
    X, _ = make_spectral_task(size, SEQ_LEN, snr=0.0, background=background,
                              random_state=rng.randint(2**31 - 1))
    if task == "classification":
        y = rng.permutation(np.arange(size) % 2)
    else:
        y = rng.normal(size=size)
    return X, y


def fit_and_record(estimator, X, y):
    import sktdi.feature_estimators as module

    with _Recorder(module) as recorder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TDI fallbacks on noise
        estimator.fit(X, y)
    scores, errors, misclassified, weights, base = recorder.calls[-1]
    weights = np.ones(len(errors[base])) if weights is None else weights
    return estimator, scores, errors, misclassified, weights, base


def run_case(case, role, draw, size, on_row):
    from sktdi import SSMFeatureClassifier, SSMFeatureRegressor
    from sktdi.datasets import make_spectral_task

    accuracy = base_accuracy = ""
    if case == "power":
        X, y = make_spectral_task(size + POWER_TEST, SEQ_LEN, bands=((0.30, 0.35),), snr=0.3,
                                  random_state=20_000 + draw)
        X_test, y_test, X, y = X[size:], y[size:], X[:size], y[:size]
        model = SSMFeatureClassifier(init="auto", **POWER_BANK, random_state=draw)
        model, scores, errors, misclassified, weights, base = fit_and_record(model, X, y)
        accuracy = model.score(X_test, y_test)
        base_accuracy = SSMFeatureClassifier(init=POWER_BANK["base"], **{
            k: v for k, v in POWER_BANK.items() if k != "base"}, random_state=draw).fit(
            X, y).score(X_test, y_test)
    else:
        task, background = case.split(":")
        X, y = noise_task(draw, size, task, background)
        cls = SSMFeatureClassifier if task == "classification" else SSMFeatureRegressor
        model, scores, errors, misclassified, weights, base = fit_and_record(
            cls(init="auto", random_state=draw), X, y)
    choices = {"library": model.init_selected_}
    for name, rule in RULES.items():
        choices[name] = rule(scores, errors, weights, base)
    EVIDENCE.append({"case": case, "role": role, "draw": draw, "size": size, "base": base,
                     "scores": scores, "errors": errors, "misclassified": misclassified,
                     "weights": weights})
    for rule, chosen in choices.items():
        on_row({"case": case, "role": role, "draw": draw, "size": size, "rule": rule,
                "chosen": chosen, "tdi": chosen != base,
                "accuracy": accuracy if rule == "library" else "",
                "base_accuracy": base_accuracy if rule == "library" else ""})


# ---------------------------------------------------------------------------- report
def rate_table(rows, case, role):
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    lines = ["| rule | " + " | ".join(f"n={s}" for s in SIZES) + " |",
             "| --- |" + " ---: |" * len(SIZES)]
    for rule in rules:
        cells = []
        for size in SIZES:
            sel = [r for r in rows if r["case"] == case and r["role"] == role
                   and r["rule"] == rule and int(r["size"]) == size]
            cells.append(f"{np.mean([r['tdi'] for r in sel]):.1%} ({len(sel)})" if sel else "—")
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _commits(rows, case):
    return ", ".join(f"`{c}`" for c in sorted({r["commit"] for r in rows if r["case"] == case}))


def report(rows, info):
    cases = list(dict.fromkeys(r["case"] for r in rows))
    parts = ["# `init=\"auto\"` on pure noise, and its power where TDI is needed", "",
             "Made by `benchmarks/bench_auto_null.py` (its docstring gives the protocol). "
             "A cell is the rate at which a TDI candidate was chosen (number of fits). "
             "`library` is the rule of the commit below; the other rules are evaluated on "
             "the same fits.", "", provenance_markdown(info), "",
             "Commit that made each case's fits: " + ", ".join(
                 f"{case} {_commits(rows, case)}" for case in cases) + ". Where they differ, "
             "the selection rule (`sktdi/selection.py`) is the same; later commits changed "
             "how the features and the leave-one-out errors are computed, not what they are.",
             "", "## Verdict", "",
             "| case | role | n | TDI chosen (library rule) | target |",
             "| --- | --- | ---: | ---: | --- |"]
    for case in cases:
        if case == "power":
            continue
        for role in ("selection", "confirmation"):
            for size in SIZES:
                sel = [r for r in rows if r["case"] == case and r["role"] == role
                       and r["rule"] == "library" and int(r["size"]) == size]
                if sel:
                    rate = np.mean([r["tdi"] for r in sel])
                    holds = "yes" if rate <= TARGET_RATE else "**no**"
                    parts.append(f"| {case} | {role} | {size} | {rate:.1%} of {len(sel)} | "
                                 f"<= {TARGET_RATE:.0%}: {holds} |")
    for case in cases:
        for role in ("selection", "confirmation"):
            if any(r["case"] == case and r["role"] == role for r in rows):
                parts += ["", f"## {case}, {role} draws", "", rate_table(rows, case, role)]
        if case == "power":
            lines = ["", "Test accuracy on the power case (library rule): chosen bank "
                     "against the base bank, mean over draws.", "",
                     "| role | n | auto | base |", "| --- | ---: | ---: | ---: |"]
            for role in ("selection", "confirmation"):
                for size in SIZES:
                    sel = [r for r in rows if r["case"] == case and r["role"] == role
                           and r["rule"] == "library" and int(r["size"]) == size]
                    if sel:
                        lines.append(f"| {role} | {size} | "
                                     f"{np.mean([float(r['accuracy']) for r in sel]):.3f} | "
                                     f"{np.mean([float(r['base_accuracy']) for r in sel]):.3f} |")
            parts += lines
    return "\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 draws per role, to /tmp")
    parser.add_argument("--cases", nargs="*", default=[
        "classification:ar", "classification:white", "regression:ar", "power"],
        help="cases to run; none (--cases with no name) with --keep only rewrites the "
        "report of the kept rows")
    parser.add_argument("--power-draws", type=int, default=50,
                        help="draws per role of the power case (default 50)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, metavar="CSV",
                        help="an earlier run's CSV: its rows of the cases not run now are kept "
                        "(their commit column says which commit made them)")
    parser.add_argument("--commit-of-kept", default="unknown",
                        help="commit of --keep's rows when its CSV has no commit column")
    parser.add_argument("--keep-evidence", action="store_true",
                        help="also write every fit's scores and errors (a pickle)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    draws = {"selection": SELECTION_DRAWS, "confirmation": CONFIRMATION_DRAWS}
    if args.quick:
        draws = {role: list(d)[:10] for role, d in draws.items()}
        args.out, args.power_draws = Path("/tmp"), 5
    rows, info, start = [], provenance(), time.perf_counter()
    if args.keep:
        rows = [{**row, "commit": row.get("commit") or args.commit_of_kept}
                for row in read_csv(args.keep) if row["case"] not in args.cases]
        for row in rows:
            row["tdi"] = row["tdi"] == "True"

    def on_row(row):
        rows.append({**row, "commit": info["commit"]})

    for case in args.cases:
        for role, role_draws in draws.items():
            role_draws = list(role_draws)[:args.power_draws] if case == "power" else role_draws
            for size in SIZES:
                for draw in role_draws:
                    run_case(case, role, draw, size, on_row)
                print(f"{case} {role} n={size}: {time.perf_counter() - start:.0f}s", flush=True)
        write_csv(args.out / "auto_null.csv", rows, COLUMNS)
        if args.keep_evidence:
            with open(args.out / "auto_null_evidence.pkl", "wb") as handle:
                pickle.dump(EVIDENCE, handle)
    write_csv(args.out / "auto_null.csv", rows, COLUMNS)
    write_atomically(args.out / "auto_null.md", report(rows, info))
    print(f"wrote {args.out / 'auto_null.md'}")


if __name__ == "__main__":
    main()
