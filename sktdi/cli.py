"""The ``sktdi`` command line.

``sktdi curves`` answers the toolkit's question on a dataset: how many labelled sequences
does each initialization need, and does aligning the SSM's spectrum first reduce that
number? ``sktdi demo`` trains one classifier on the bundled digits.
"""

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main", "build_parser", "parse_inits", "load_dataset"]

# The bundled default of `sktdi curves`: a synthetic task whose class signal is a
# random-phase narrow band at 0.30-0.35 cycles/sample over AR(1) noise (whose power sits
# at low frequencies, where S4D-Lin puts its own), sized to finish in minutes on 2 cores.
DEFAULT_SYNTHETIC = {"n_samples": 1536, "seq_len": 128, "bands": ((0.30, 0.35),),
                     "snr": 0.3, "background": "ar", "ar_coef": 0.9}
CSV_FIELDS = ("estimator", "train_size", "repeat", "score", "fit_time", "score_time",
              "n_test", "alignment_init", "alignment_trained")


def _fail(message):
    raise ValueError(message)


def load_dataset(spec, random_state=0):
    """``(X, y, description)`` for ``synthetic``, ``digits``, ``ucr:NAME`` or a file path."""
    from . import datasets

    if spec == "synthetic":
        X, y = datasets.make_spectral_task(**DEFAULT_SYNTHETIC, random_state=random_state)
        return X, y, "synthetic band task (0.30-0.35 cycles/sample over AR(1) noise)"
    if spec == "digits":
        X, y = datasets.load_digits_sequences()
        return X, y, "scikit-learn digits as length-64 sequences"
    if spec.startswith("ucr:"):
        name = spec[4:]
        X, y = datasets.load_ucr(name)
        return X, y, f"UCR/UEA {name} (train and test pooled)"
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(
            f"dataset {spec!r} is neither 'synthetic', 'digits', 'ucr:NAME' nor an existing "
            "file (.npz with X and y, or .csv with the label in the last column)"
        )
    X, y = datasets.load_sequences(path)
    if y is None:
        _fail(f"dataset file {spec!r} has no labels y; curves need labelled data")
    return X, y, f"file {path.name}"


def parse_inits(text):
    """``"S4D-Lin,tdi,tdi:input"`` -> list of ``(label, init)`` for the estimators."""
    from .core import INIT_NAMES
    from .initializer import SpectralInitializer
    from .spectral import SPECTRUM_KINDS

    inits = []
    for label in (part.strip() for part in text.split(",")):
        if not label:
            continue
        if label in INIT_NAMES or label == "tdi":
            inits.append((label, label))
        elif label.startswith("tdi:") and label[4:] in SPECTRUM_KINDS:
            inits.append((label, SpectralInitializer(spectrum=label[4:])))
        else:
            kinds = ", ".join(f"tdi:{k}" for k in SPECTRUM_KINDS)
            _fail(f"unknown initialization {label!r}; use {', '.join(INIT_NAMES)}, tdi or "
                  f"{kinds}")
    if not inits:
        _fail("--inits names no initialization")
    return inits


def _parse_sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        _fail(f"--train-sizes must be comma-separated integers, got {text!r}")
    if not sizes or min(sizes) < 1:
        _fail(f"--train-sizes must be positive integers, got {text!r}")
    return sorted(set(sizes))


def _make_estimator(init, is_classification, args):
    from .estimators import SSMClassifier, SSMRegressor

    cls = SSMClassifier if is_classification else SSMRegressor
    return cls(init=init, n_states=args.n_states, d_model=args.d_model,
               n_layers=args.n_layers, max_iter=args.max_iter, device=args.device,
               learning_rate_init=args.learning_rate, random_state=args.random_state)


def _check_run_options(estimators, args):
    from .estimators import resolve_device

    for estimator in estimators.values():
        estimator._validate_params()  # scikit-learn's parameter constraints, named errors
    resolve_device(args.device)
    if args.repeats < 1:
        _fail(f"--repeats must be at least 1, got {args.repeats}")
    if not 0 < args.test_size < 1:
        _fail(f"--test-size must be a fraction in (0, 1), got {args.test_size}")
    if args.n_jobs == 0:
        _fail("--n-jobs must not be 0 (use -1 for all cores)")


def _prepare_out(out, resume):
    """Create ``out``; return the records already there when resuming."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".sktdi-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"cannot write to --out {str(out)!r}: {exc.strerror}") from exc
    csv_path = out / "curves.csv"
    if not resume or not csv_path.exists():
        _write_csv(csv_path, [])
        return []
    return _read_csv(csv_path)


def _read_csv(csv_path):
    """The finished fits of an earlier run; a ``ValueError`` naming the file if it is corrupt."""
    try:
        with csv_path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(CSV_FIELDS[:4]) - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"no column {', '.join(sorted(missing))}")
            records = [_parse_row(row) for row in reader]
    except (ValueError, TypeError, csv.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot resume from {str(csv_path)!r}, it is not a curves.csv "
                         f"of sktdi ({exc}); remove it or drop --resume") from exc
    return records


def _parse_row(row):
    parsed = dict(row)
    parsed["train_size"], parsed["repeat"] = int(row["train_size"]), int(row["repeat"])
    for key in ("score", "fit_time", "score_time", "alignment_init", "alignment_trained"):
        parsed[key] = float(row[key]) if row.get(key) not in (None, "") else float("nan")
    parsed["n_test"] = int(row["n_test"])
    return parsed


def _replace_atomically(path, write):
    """Call ``write(tmp_path)``, then rename over ``path``: readers (and a ``--resume``
    after a kill) see the old file or the new one, never a half-written one."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv(csv_path, records):
    def write(tmp):
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({key: r.get(key, "") for key in CSV_FIELDS} for r in records)
            handle.flush()
            os.fsync(handle.fileno())

    _replace_atomically(csv_path, write)


def _spectra_figure(estimators, X, y, size, args, path):
    """Task spectrum and every initialization's first-layer spectrum before/after training."""
    from sklearn.model_selection import train_test_split

    from .plotting import plot_spectra
    from .spectral import model_power_spectrum, task_power_spectrum

    classification = _is_classification(y)
    if size < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=size, random_state=args.random_state,
                                      stratify=y if classification else None)
    L = X.shape[-1]
    spectra = {}
    for label, estimator in estimators.items():
        fitted = estimator.fit(X, y)
        spectra[f"{label} (init)"] = model_power_spectrum(fitted.params_init_, L)
        spectra[f"{label} (trained)"] = model_power_spectrum(fitted.params_, L)
    task = task_power_spectrum(X, y)
    ax = plot_spectra(task, spectra, title=f"task spectrum and model spectra (n = {len(y)})")
    _replace_atomically(path, lambda tmp: ax.figure.savefig(tmp, dpi=120, bbox_inches="tight"))


def _is_classification(y):
    from sklearn.utils.multiclass import type_of_target

    return type_of_target(y) in ("binary", "multiclass")


def _summary_markdown(records, description, target, metric):
    from .model_selection import data_efficiency, summarize_curves

    rows = summarize_curves(records)
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    sizes = sorted({row["train_size"] for row in rows})
    names = list(dict.fromkeys(row["estimator"] for row in rows))
    cell = {(row["estimator"], row["train_size"]): row for row in rows}
    lines = [f"# Sample-efficiency curves: {description}", "",
             f"Mean {metric} on the held-out set ± standard deviation over repeats.", "",
             "| initialization | " + " | ".join(str(s) for s in sizes) + " |",
             "| --- |" + " ---: |" * len(sizes)]
    for name in names:
        values = []
        for size in sizes:
            row = cell.get((name, size))
            values.append(f"{row['mean']:.3f} ± {row['std']:.3f}" if row else "—")
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    efficiency = data_efficiency(records, target)
    lines += ["", f"## Data efficiency: training size needed to reach {metric} {target:.3f}",
              "", "| initialization | training size |", "| --- | ---: |"]
    lines += [f"| {name} | {efficiency.get(name) or 'not reached'} |" for name in names]
    return "\n".join(lines) + "\n"


def _quiet_convergence_warnings():
    """Fits stopped by --max-iter are the point of a curve study, not news (scikit-learn's
    Parallel carries this filter into the worker processes)."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def _cmd_curves(args):
    from .model_selection import sample_efficiency_curve
    from .plotting import plot_sample_efficiency

    start = time.perf_counter()
    try:  # checked first, so a missing extra does not surface after minutes of fitting
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("sktdi curves draws its plots with matplotlib: "
                          "pip install 'sktdi[plots]'") from exc
    _quiet_convergence_warnings()
    inits = parse_inits(args.inits)
    sizes = _parse_sizes(args.train_sizes)
    X, y, description = load_dataset(args.dataset, args.random_state)
    classification = _is_classification(y)
    metric = "accuracy" if classification else "R^2"
    estimators = {label: _make_estimator(init, classification, args) for label, init in inits}
    _check_run_options(estimators, args)  # every error before the first file is touched
    done = _prepare_out(args.out, args.resume)
    out = Path(args.out)
    csv_path = out / "curves.csv"
    skip = {(r["estimator"], r["train_size"], r["repeat"]) for r in done}
    n_jobs_total = len(estimators) * len(sizes) * args.repeats
    if not args.quiet:
        print(f"sktdi curves: {description}; X {X.shape}; {len(estimators)} initializations "
              f"x {len(sizes)} sizes x {args.repeats} repeats = {n_jobs_total} fits"
              + (f" ({len(skip)} already in {csv_path})" if skip else ""), flush=True)

    finished = list(done)

    def on_result(record):
        # The whole table is rewritten atomically after every fit (a few hundred rows at
        # most): a kill at any moment leaves the previous complete table.
        finished.append(record)
        _write_csv(csv_path, finished)
        if not args.quiet:
            print(f"  {record['estimator']:<18} n={record['train_size']:<5} "
                  f"repeat {record['repeat']}: {metric} {record['score']:.3f} "
                  f"({record['fit_time']:.1f}s)", flush=True)

    new = sample_efficiency_curve(
        estimators, X, y, sizes, n_repeats=args.repeats, test_size=args.test_size,
        n_jobs=args.n_jobs, random_state=args.random_state, on_result=on_result, skip=skip,
        return_dataframe=False,
    )
    records = done + list(new)
    if not records:
        _fail("no results: every fit was skipped or failed")

    ax = plot_sample_efficiency(records, title=f"{description}: {metric} vs training size")
    ax.set_ylabel(f"held-out {metric}")
    _replace_atomically(out / "curves.png",
                        lambda tmp: ax.figure.savefig(tmp, dpi=120, bbox_inches="tight"))
    _spectra_figure(estimators, X, y, max(sizes), args, out / "spectra.png")
    best = max(np.mean([r["score"] for r in records
                        if r["estimator"] == name and r["train_size"] == max(sizes)])
               for name in estimators)
    target = args.target_score if args.target_score is not None else 0.95 * best
    summary = _summary_markdown(records, description, target, metric)
    _replace_atomically(out / "summary.md", lambda tmp: tmp.write_text(summary))
    if not args.quiet:
        print(summary)
        print(f"wrote curves.csv, curves.png, spectra.png, summary.md to {out} "
              f"in {time.perf_counter() - start:.0f}s")
    return 0


def _cmd_demo(args):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from .datasets import load_digits_sequences
    from .estimators import SSMClassifier

    _quiet_convergence_warnings()
    X, y = load_digits_sequences()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    clf = SSMClassifier(max_iter=args.max_iter, device=args.device,
                        random_state=args.random_state, verbose=args.verbose)
    ssm_score = clf.fit(X_train, y_train).score(X_test, y_test)
    baseline = LogisticRegression(max_iter=2000).fit(X_train, y_train).score(X_test, y_test)
    print(f"digits as length-64 sequences: {len(X_train)} train / {len(X_test)} test")
    print(f"  SSMClassifier (S4D-Lin)  test accuracy = {ssm_score:.4f}  ({clf.n_iter_} epochs)")
    print(f"  LogisticRegression       test accuracy = {baseline:.4f}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sktdi",
        description="State space models with task-dependent initialization. With no "
                    "command, runs `sktdi curves` on the bundled synthetic task.",
    )
    sub = parser.add_subparsers(dest="command")
    curves = sub.add_parser(
        "curves", help="sample-efficiency curves: score vs training size per initialization",
        description="Fit every initialization on nested, stratified training subsets of "
                    "each size and score it on one held-out set; write curves.csv, "
                    "curves.png, spectra.png and summary.md.",
    )
    curves.add_argument("--dataset", default="synthetic",
                        help="synthetic (default), digits, ucr:NAME, or a .npz/.csv file")
    curves.add_argument("--inits", default="S4D-Lin,S4D-Inv,tdi",
                        help="comma-separated: S4D-Lin, S4D-Inv, S4D-LegS, S4D-Real, LRU, "
                             "scaled, tdi, tdi:<input|cross|discriminative|auto>")
    curves.add_argument("--train-sizes", default="16,32,64,128,256")
    curves.add_argument("--repeats", type=int, default=3)
    curves.add_argument("--test-size", type=float, default=0.25)
    curves.add_argument("--n-jobs", type=int, default=2)
    curves.add_argument("--device", default="auto")
    curves.add_argument("--out", default="sktdi_curves")
    curves.add_argument("--resume", action="store_true",
                        help="keep the fits already in OUT/curves.csv and run the rest")
    curves.add_argument("--target-score", type=float, default=None,
                        help="score for the data-efficiency table (default: 95%% of the "
                             "best mean at the largest size)")
    curves.add_argument("--n-states", type=int, default=32)
    curves.add_argument("--d-model", type=int, default=32)
    curves.add_argument("--n-layers", type=int, default=1)
    curves.add_argument("--max-iter", type=int, default=60)
    curves.add_argument("--learning-rate", type=float, default=3e-3)
    curves.add_argument("--random-state", type=int, default=0)
    curves.add_argument("--quiet", action="store_true")
    curves.set_defaults(func=_cmd_curves)

    demo = sub.add_parser("demo", help="train an SSMClassifier on the bundled digits")
    demo.add_argument("--max-iter", type=int, default=100)
    demo.add_argument("--device", default="auto")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--verbose", action="store_true")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # No command, or options only (`sktdi --repeats 1`): those of `sktdi curves`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["curves", *argv]
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"sktdi {args.command}: error: {exc}", file=sys.stderr)
        return 2
