"""The ``sktdi`` command line.

``sktdi curves`` answers the question a user brings: with few labelled sequences, is an
SSM (and aligning its spectrum first) worth it against what I would use otherwise? It fits
sktdi's estimators and baselines on nested training subsets of one or several problems and
writes tables and plots. ``sktdi demo`` trains one classifier on the bundled digits.
"""

import argparse
import csv
import os
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validation import check_sequences, is_classification_target
from .model_selection import RECORD_COLUMNS

__all__ = ["main", "build_parser", "parse_inits", "load_dataset", "load_problem"]

# The bundled default of `sktdi curves`: a synthetic task whose class signal is a
# random-phase narrow band at 0.30-0.35 cycles/sample over AR(1) noise (whose power sits
# at low frequencies, where S4D-Lin puts its own), sized to finish in minutes on 2 cores.
DEFAULT_SYNTHETIC = {"n_samples": 1536, "seq_len": 128, "bands": ((0.30, 0.35),),
                     "snr": 0.3, "background": "ar", "ar_coef": 0.9}
DEFAULT_MODELS = "S4D-LegS,tdi,features,ridge"
# The lowest R^2 the plots show: below it a model explains nothing (-1 is as far from the
# truth as predicting the mean is, twice over), and values of -100 would flatten the rest.
R2_FLOOR = -1.0
CSV_FIELDS = ("dataset", *RECORD_COLUMNS)  # one row of the curves CSV
_REQUIRED = ("estimator", "train_size", "repeat", "score")


def _fail(message):
    raise ValueError(message)


# ------------------------------------------------------------------------------ data
@dataclass
class Problem:
    """One dataset of a run: the training pool, and the test set when it is official.

    ``task`` is ``"classification"`` or ``"regression"``, and ``task_reason`` says why
    (given, or what the labels look like)."""

    name: str
    description: str
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray = None
    y_test: np.ndarray = None
    task: str = None
    task_reason: str = None

    def __post_init__(self):
        if self.task is None or self.task == "auto":
            self.task = "classification" if is_classification_target(self.y) else "regression"
            self.task_reason = f"inferred: {_describe_labels(self.y)}"
        elif self.task_reason is None:
            self.task_reason = "given by --task"

    @property
    def official_split(self):
        return self.X_test is not None

    @property
    def classification(self):
        return self.task == "classification"


def _describe_labels(y):
    """What the labels look like, as the reason for the task read from them."""
    y = np.asarray(y)
    distinct = np.unique(y).size
    if y.dtype.kind in "iuUSOb":
        kind = "strings" if y.dtype.kind in "USO" else "integers"
        return f"{distinct} distinct {kind} among {len(y)} labels, read as classes"
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return f"{distinct} distinct integral numbers among {len(y)} labels, read as classes"
    return f"{distinct} distinct non-integer numbers among {len(y)} labels, read as targets"


def load_dataset(spec, random_state=0, label_column="last"):
    """``(X, y, description)`` for ``synthetic``, ``digits``, ``ucr:NAME`` or a file path,
    with any official train/test split pooled."""
    problem = load_problem(spec, random_state, split="pooled", label_column=label_column)
    return problem.X, problem.y, problem.description


def load_problem(spec, random_state=0, split="official", label_column="last", task="auto"):
    """A :class:`Problem` for ``synthetic``, ``digits``, ``ucr:NAME`` or a file path.

    With ``split="official"``, UCR/UEA problems and files named ``*_TRAIN.<ext>`` with a
    ``*_TEST.<ext>`` beside them keep their test split; everything else (and everything
    with ``split="pooled"``) is one pool that the run splits. ``label_column`` says where
    a CSV file's label is; ``task`` is ``"auto"`` (read off the labels: integers or
    strings are classes) or the task itself.
    """
    problem = _load_problem(spec, random_state, split, label_column)
    return problem if task == "auto" else _as_task(problem, task)


def _as_task(problem, task):
    """``problem`` read as ``task`` (regression targets as floats)."""
    problem.task, problem.task_reason = task, "given by --task"
    if task == "regression":
        for name in ("y", "y_test"):
            labels = getattr(problem, name)
            if labels is None:
                continue
            try:
                setattr(problem, name, np.asarray(labels, dtype=np.float64))
            except (TypeError, ValueError):
                example = next(v for v in np.ravel(labels) if not _is_number(v))
                _fail(f"--task regression needs numeric targets, but {problem.name} has the "
                      f"label {str(example)!r}; drop --task (or give --task classification)")
    return problem


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _load_problem(spec, random_state, split, label_column):
    from . import datasets

    if spec == "synthetic":
        X, y = datasets.make_spectral_task(**DEFAULT_SYNTHETIC, random_state=random_state)
        return Problem("synthetic", "synthetic band task (0.30-0.35 cycles/sample over AR(1) "
                       "noise)", X, y)
    if spec == "digits":
        X, y = datasets.load_digits_sequences()
        return Problem("digits", "scikit-learn digits as length-64 sequences", X, y)
    if spec.startswith("ucr:"):
        name = spec[4:]
        if split == "pooled":
            X, y = datasets.load_ucr(name)
            return Problem(name, f"UCR/UEA {name} (train and test pooled)", X, y)
        X, y = datasets.load_ucr(name, split="train")
        X_test, y_test = datasets.load_ucr(name, split="test")
        return Problem(name, f"UCR/UEA {name}", X, y, X_test, y_test)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(
            f"dataset {spec!r} is neither 'synthetic', 'digits', 'ucr:NAME' nor an existing "
            "file (.npz with X and y, or .csv with the label in the last column)"
        )
    X, y = _labelled(datasets.load_sequences(path, label_column=label_column), spec)
    test_path = _test_file(path)
    if split == "official" and test_path is not None:
        X_test, y_test = _labelled(datasets.load_sequences(test_path, label_column=label_column),
                                   str(test_path))
        return Problem(path.stem[: -len("_TRAIN")], f"files {path.name} and {test_path.name}",
                       X, y, X_test, y_test)
    return Problem(path.stem, f"file {path.name}", X, y)


def _labelled(data, spec):
    """A file's ``(X, y)``, checked before any fit: labels present, values finite, NaN only
    as padding after a sequence's end (a ``ValueError`` naming the file and its row)."""
    from ._validation import _check_targets_present, _read_padding, pad_sequences

    X, y = data
    if y is None:
        _fail(f"dataset file {spec!r} has no labels y; curves need labelled data")
    try:
        _check_targets_present(y)
        X3 = np.asarray(pad_sequences(X), dtype=np.float64)
        X3 = X3[:, None, :] if X3.ndim == 2 else X3
        infinite = np.argwhere(np.isinf(X3))
        if infinite.size:
            i, c, t = infinite[0]
            raise ValueError(f"X contains inf in sequence {i} (channel {c}, step {t}); "
                             "sequences must be finite.")
        _read_padding(X3, "error", "X", advice="Fill in or interpolate the missing values "
                      "in the file.")
    except ValueError as exc:
        _fail(f"dataset file {spec!r}: {exc} (sequences are counted from 0, in the file's "
              "order)")
    return X, y


def _test_file(path):
    """``name_TEST.ext`` beside ``name_TRAIN.ext`` (any case), or None."""
    stem = path.stem
    if not stem.upper().endswith("_TRAIN"):
        return None
    for candidate in (path.with_name(stem[:-5] + "TEST" + path.suffix),
                      path.with_name(stem[:-5] + "test" + path.suffix)):
        if candidate.exists():
            return candidate
    return None


# ---------------------------------------------------------------------------- models
def parse_inits(text):
    """``"S4D-Lin,tdi,tdi:input"`` -> list of ``(label, init)`` for the estimators."""
    from .core import INIT_NAMES
    from .spectral import SPECTRUM_KINDS

    inits = []
    for label in (part.strip() for part in text.split(",")):
        if not label:
            continue
        if label in INIT_NAMES or label in ("tdi", "auto") or (
                label.startswith("tdi:") and label[4:] in SPECTRUM_KINDS):
            inits.append((label, label))
        else:
            kinds = ", ".join(f"tdi:{k}" for k in SPECTRUM_KINDS)
            _fail(f"unknown initialization {label!r}; use {', '.join(INIT_NAMES)}, tdi, auto "
                  f"or {kinds}")
    if not inits:
        _fail("--inits names no initialization")
    return inits


def _model_specs(args):
    """The model specifications of the run: ``--models``, or ``--inits`` (SSMs only)."""
    if args.inits is not None:
        if args.models is not None:
            _fail("give --models or --inits, not both (--inits is --models with SSMs only)")
        return [label for label, _ in parse_inits(args.inits)]
    return args.models if args.models is not None else DEFAULT_MODELS


def _make_models(specs, classification, args):
    from .models import make_models

    given = {"n_states": args.n_states, "d_model": args.d_model, "n_layers": args.n_layers,
             "max_iter": args.max_iter, "device": args.device,
             "learning_rate_init": args.learning_rate, "random_state": args.random_state}
    ssm_params = {name: value for name, value in given.items() if value is not None}
    models = make_models(specs, "classification" if classification else "regression",
                         ssm_params)
    for model in models.values():
        if type(model).__module__.startswith("sktdi"):
            model._validate_params()  # scikit-learn's parameter constraints, named errors
    return models


# --------------------------------------------------------------------------- options
def _parse_sizes(text):
    """Comma-separated sizes: ints (sequences) or fractions in (0, 1] of the training pool."""
    sizes = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            _fail(f"--train-sizes must be comma-separated integers or fractions, got {text!r}")
        if value <= 0 or (value > 1 and not value.is_integer()):
            _fail(f"--train-sizes must be positive integers or fractions in (0, 1], got "
                  f"{text!r}")
        sizes.append(int(value) if value > 1 or part.isdigit() else value)
    if not sizes:
        _fail(f"--train-sizes names no size, got {text!r}")
    if len({type(s) for s in sizes}) > 1:
        _fail(f"--train-sizes mixes numbers of sequences and fractions: {text!r}")
    return sorted(set(sizes))


def _check_run_options(args):
    from .estimators import resolve_device

    resolve_device(args.device)
    if args.repeats < 1:
        _fail(f"--repeats must be at least 1, got {args.repeats}")
    if not 0 < args.test_size < 1:
        _fail(f"--test-size must be a fraction in (0, 1), got {args.test_size}")
    if args.n_jobs == 0:
        _fail("--n-jobs must not be 0 (use -1 for all cores)")
    if args.min_per_class < 1:
        _fail(f"--min-per-class must be at least 1, got {args.min_per_class}")


@contextmanager
def _execution(scheduler):
    """Run the fits locally, or on a Dask cluster through joblib's ``dask`` backend.

    ``scheduler`` is None, ``"local:N"`` (a ``LocalCluster`` of N single-threaded worker
    processes) or the address of a running scheduler (``tcp://host:8786``). The cluster is
    reached before anything is written, so a bad address leaves no output behind.
    """
    if scheduler is None:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError("--scheduler needs Dask: pip install 'sktdi[dask]'") from exc
    from joblib import parallel_config

    cluster = None
    if scheduler.startswith("local:"):
        try:
            n_workers = int(scheduler[len("local:"):])
        except ValueError:
            n_workers = 0
        if n_workers < 1:
            _fail(f"--scheduler local:N needs a positive number of workers, got {scheduler!r}")
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            _fail(f"cannot reach the Dask scheduler at {scheduler!r} "
                  f"({type(exc).__name__}: {exc})")
    try:
        with parallel_config("dask"):
            yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------- files
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
        # curves.csv is written with the first result: a run that fails before any fit
        # leaves the folder, and an earlier run's files in it, as they were
        return []
    return _read_csv(csv_path)


def _read_csv(csv_path):
    """The finished fits of an earlier run; a ``ValueError`` naming the file if it is corrupt."""
    try:
        with csv_path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(_REQUIRED) - set(reader.fieldnames or ())
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
    for key in ("score", "fit_time", "score_time", "alignment_init", "alignment_trained",
                "n_iter"):
        parsed[key] = float(row[key]) if row.get(key) not in (None, "") else float("nan")
    parsed["converged"] = row.get("converged", "True") != "False"
    parsed["n_test"] = int(row["n_test"]) if row.get("n_test") else 0
    parsed["dataset"] = row.get("dataset") or ""
    parsed["size"] = float(row["size"]) if row.get("size") else float(row["train_size"])
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


def _save_figure(ax, path):
    _replace_atomically(path, lambda tmp: ax.figure.savefig(tmp, dpi=120, bbox_inches="tight"))
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


# -------------------------------------------------------------------------- progress
class _Progress:
    """Fits done, time elapsed and an estimate of the time left: a tqdm bar on a terminal,
    plain lines in logs and CI, nothing with ``--quiet``."""

    def __init__(self, total, quiet, metric):
        self.total, self.quiet, self.metric = total, quiet, metric
        self.done, self.start = 0, time.perf_counter()
        self.bar = None
        if not quiet and total and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="fit", file=sys.stderr, dynamic_ncols=True)

    def update(self, record):
        self.done += 1
        what = (f"{record['dataset'] + ' ' if record.get('dataset') else ''}"
                f"{record['estimator']} n={record['train_size']} repeat {record['repeat']}: "
                f"{self.metric} {record['score']:.3f}")
        if self.bar is not None:
            self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)
        elif not self.quiet:
            elapsed = time.perf_counter() - self.start
            left = elapsed / self.done * (self.total - self.done)
            print(f"[{self.done}/{self.total} fits, {_duration(elapsed)} elapsed, about "
                  f"{_duration(left)} left] {what} ({record['fit_time']:.1f}s)", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _duration(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


# --------------------------------------------------------------------------- reports
def _quiet_convergence_warnings():
    """Fits stopped by --max-iter are the point of a curve study, not news (scikit-learn's
    Parallel carries this filter, and --quiet's, into the worker processes)."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def _size_text(size, fractions):
    """A training size as the tables show it: a percentage of the pool, or a count."""
    return f"{float(size):.0%}" if fractions else str(int(size))


def _size_header(sizes, fractions):
    return [_size_text(s, fractions) for s in sizes]


def _problem_summary(records, problem, models, baselines, metric, target, protocol, info):
    from ._provenance import provenance_markdown
    from .model_selection import data_efficiency, summarize_curves

    rows = summarize_curves(records, return_dataframe=False, by="size")
    sizes = sorted({float(row["train_size"]) for row in rows})
    fractions = all(s <= 1 for s in sizes) and not all(s.is_integer() for s in sizes)
    cell = {(row["estimator"], float(row["train_size"])): row for row in rows}
    header = _size_header(sizes, fractions)
    lines = [f"# Sample-efficiency curves: {problem.description}", "", protocol, "",
             provenance_markdown(info), "",
             f"Mean {metric} on the test set ± standard deviation over repeats "
             "(baselines in italics).", "",
             "| model | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(sizes)]
    for name in models:
        values = []
        for size in sizes:
            row = cell.get((name, size))
            if row is None or not np.isfinite(row["mean"]):
                values.append("—")
            else:
                spread = f" ± {row['std']:.3f}" if np.isfinite(row["std"]) else ""
                values.append(f"{row['mean']:.3f}{spread}")
        shown = f"*{name}*" if name in baselines else name
        lines.append(f"| {shown} | " + " | ".join(values) + " |")
    if baselines:
        lines += ["", f"## Gap to the best baseline ({metric}, model minus best baseline)", "",
                  "| model | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(sizes)]
        for name in models:
            if name in baselines:
                continue
            gaps = []
            for size in sizes:
                best = max((cell[(b, size)]["mean"] for b in baselines if (b, size) in cell),
                           default=np.nan)
                mine = cell[(name, size)]["mean"] if (name, size) in cell else np.nan
                gaps.append(f"{mine - best:+.3f}" if np.isfinite(mine - best) else "—")
            lines.append(f"| {name} | " + " | ".join(gaps) + " |")
    lines += _training_lines(records, models)
    by_size = [dict(r, train_size=r["size"]) for r in records]
    efficiency = data_efficiency(by_size, target)
    lines += ["", f"## Data efficiency: training size needed to reach {metric} {target:.3f}",
              "", "| model | training size |", "| --- | ---: |"]
    for name in models:
        reached = efficiency.get(name)
        lines.append(f"| {name} | "
                     f"{_size_text(reached, fractions) if reached else 'not reached'} |")
    return "\n".join(lines) + "\n"


def _metric(problem):
    """The score a problem's curves report: accuracy for classes, R^2 for regression."""
    return "accuracy" if problem.classification else "R^2"


def _training_lines(records, models):
    """Epochs run by the models that train, and the fits that stopped at ``max_iter``
    without converging (a ConvergenceWarning); nothing for models that do not train."""
    lines = []
    for name in models:
        fits = [r for r in records if r["estimator"] == name and np.isfinite(r.get("n_iter",
                                                                                     np.nan))]
        if not fits:
            continue
        stopped = [r for r in fits if not r.get("converged", True)]
        epochs = [r["n_iter"] for r in fits]
        flag = (f"**{len(stopped)} of {len(fits)} stopped at max_iter without converging** "
                "(raise --max-iter)" if stopped else f"all {len(fits)} converged")
        lines.append(f"| {name} | {np.mean(epochs):.1f} | {int(np.max(epochs))} | {flag} |")
    if not lines:
        return []
    return ["", "## Training: epochs run", "",
            "| model | mean epochs | most epochs | fits |", "| --- | ---: | ---: | --- |",
            *lines]


def _aggregate_summary(records, problems, models, baselines, info):
    """The report over several problems: one section per metric, over the problems that
    share it (a mean of accuracies and R^2 values would mean nothing)."""
    from ._provenance import provenance_markdown

    lines = [f"# Sample-efficiency curves over {len(problems)} problems", "",
             "Problems: " + ", ".join(f"{p.name} ({p.description})" for p in problems) + ".",
             "", provenance_markdown(info)]
    for metric, group in _problems_by_metric(problems).items():
        names = {p.name for p in group}
        lines += _metric_section([r for r in records if r["dataset"] in names], group,
                                 models, baselines, metric)
    lines += ["", "Each problem's own table and plots are in its folder."]
    return "\n".join(lines) + "\n"


def _problems_by_metric(problems):
    groups = {}
    for problem in problems:
        groups.setdefault(_metric(problem), []).append(problem)
    return groups


def _metric_section(records, problems, models, baselines, metric):
    """Mean scores, ranks and wins against every baseline over ``problems`` (one metric)."""
    from .model_selection import compare_with_baselines, rank_models

    ranks = rank_models(records, by="size")
    sizes = sorted({float(r["size"]) for r in ranks})
    fractions = all(s <= 1 for s in sizes) and not all(s.is_integer() for s in sizes)
    header = _size_header(sizes, fractions)
    cell = {(r["estimator"], float(r["size"])): r for r in ranks}
    what = ", ".join(p.name for p in problems)
    lines = ["", f"## Mean {metric} over {len(problems)} problem(s): {what}", "",
             "Mean rank in brackets, 1 = best.", "",
             "| model | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(sizes)]
    partial = False  # a size that some problem does not have
    for name in models:
        values = []
        for s in sizes:
            if (name, s) not in cell:
                values.append("—")
                continue
            row = cell[(name, s)]
            mark = "†" if row["n_problems"] < len(problems) else ""
            partial = partial or bool(mark)
            values.append(f"{row['mean_score']:.3f} ({row['mean_rank']:.1f}){mark}")
        shown = f"*{name}*" if name in baselines else name
        lines.append(f"| {shown} | " + " | ".join(values) + " |")
    if partial:
        lines += ["", "† over fewer problems: a problem without this size (a fraction raised "
                  "to the per-class minimum can coincide with another size)."]
    for baseline in baselines:
        comparison = compare_with_baselines(records, [baseline], by="size")
        table = {(r["estimator"], float(r["size"])): r for r in comparison}
        lines += ["", f"### {metric}: wins / ties / losses against {baseline} "
                  "(ties: within 0.005)", "",
                  "| model | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(sizes)]
        for name in models:
            if name == baseline:
                continue
            values = [f"{table[(name, s)]['wins']}/{table[(name, s)]['ties']}/"
                      f"{table[(name, s)]['losses']}" if (name, s) in table else "—"
                      for s in sizes]
            lines.append(f"| {name} | " + " | ".join(values) + " |")
    return lines


def _spectra_figure(models, problem, size, args, path):
    """The task spectrum the TDI banks match and the power spectra of the SSM models'
    banks at ``size``: each distinct spectrum once (a trained model that kept its start
    has its training-free bank's), on a linear axis (a task spectrum that is zero between
    its bands would plunge on a logarithmic one)."""
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from .plotting import plot_spectra
    from .spectral import model_power_spectrum, resolve_spectrum_kind, task_power_spectrum

    X, y = problem.X, problem.y
    if size < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=size, random_state=args.random_state,
                                      stratify=y if problem.classification else None)
    L = check_sequences(X).shape[-1]  # the longest sequence: the task spectrum's grid
    spectra = {}
    for label, model in models.items():
        fitted = clone(model).fit(X, y)
        bank = model_power_spectrum(fitted.params_, L)
        trained = getattr(fitted, "kept_training_", False)
        if trained:
            spectra[f"{label} (start)"] = model_power_spectrum(fitted.params_init_, L)
        _add_distinct(spectra, f"{label} (trained)" if trained else label, bank)
    kind = resolve_spectrum_kind("auto", problem.task)
    task = task_power_spectrum(X, y, kind=kind, task=problem.task)
    # constant sequences have a zero task spectrum, which no scale normalizes: then the
    # banks are drawn at their own power (either way the plot is drawn, never an error)
    some = bool(np.any(task))
    ax = plot_spectra(task, spectra, log=False, normalize=some,
                      title=f"{kind} task spectrum of {len(y)} training sequences "
                            f"(black{'' if some else ', zero'}) and the banks' power spectra")
    _save_figure(ax, path)


def _add_distinct(spectra, label, spectrum):
    """Add ``spectrum`` under ``label``, or join ``label`` to the label of an equal one."""
    for existing, values in list(spectra.items()):
        if np.allclose(values, spectrum, rtol=1e-9, atol=0):
            spectra[f"{existing}, {label}"] = spectra.pop(existing)
            return
    spectra[label] = spectrum


# ------------------------------------------------------------------------------ curves
def _run_problem(problem, specs, sizes, args, done, progress, write_record):
    """Fit every model on every size and repeat of one problem; return its records."""
    from .model_selection import sample_efficiency_curve
    from .models import is_baseline

    classification = problem.classification
    models = _make_models(specs, classification, args)
    skip = {(r["estimator"], r["train_size"], r["repeat"]) for r in done}

    def on_result(record):
        record = {**record, "dataset": problem.name}
        write_record(record)
        progress.update(record)

    records = sample_efficiency_curve(
        models, problem.X, problem.y, sizes, n_repeats=args.repeats,
        test_size=args.test_size, X_test=problem.X_test, y_test=problem.y_test,
        n_jobs=args.n_jobs if args.scheduler is None else -1,
        random_state=args.random_state, on_result=on_result, skip=skip,
        torch_threads=1 if args.scheduler is not None else "auto",
        min_per_class=args.min_per_class if classification else 1, return_dataframe=False,
    )
    baselines = [label for label, model in models.items() if is_baseline(model)]
    return models, baselines, records


def _cmd_curves(args):
    with warnings.catch_warnings():  # the filters last as long as the run
        _quiet_convergence_warnings()
        return _curves(args)


def _curves(args):
    start = time.perf_counter()
    _require_matplotlib()
    from ._provenance import provenance

    info = provenance(["sktdi", *args.argv])
    _check_run_options(args)
    sizes = _parse_sizes(args.train_sizes)
    specs = _model_specs(args)
    problems = _load_problems(args)
    if args.quiet:  # what the fits say; how the data were read has been said
        warnings.filterwarnings("ignore")
    for problem in problems:  # every model, parameter and size checked before any output
        _make_models(specs, problem.classification, args)
        _check_sizes_fit(problem, sizes, args)
    with _execution(args.scheduler):
        return _run_curves(problems, specs, sizes, args, info, start)


def _check_sizes_fit(problem, sizes, args):
    """A ``ValueError`` before anything is written when a size cannot be drawn from the
    problem's training pool (as many sequences as classes at least, at most the pool)."""
    from .model_selection import _check_train_sizes

    n = len(problem.y)
    pool = n if problem.official_split else n - int(np.ceil(args.test_size * n))
    n_classes = len(np.unique(problem.y)) if problem.classification else 0
    try:
        _check_train_sizes(sizes, pool, max(1, n_classes),
                           floor=args.min_per_class * n_classes)
    except ValueError as exc:
        hint = (" (--train-sizes 1 means one sequence; 1.0 is the whole pool)"
                if 1 in sizes else "")
        raise ValueError(f"--train-sizes {args.train_sizes} do not fit {problem.name}: "
                         f"{exc}{hint}") from None


def _require_matplotlib():
    """An ImportError naming the ``plots`` extra when matplotlib is missing."""
    try:  # checked first, so a missing extra does not surface after minutes of fitting
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("sktdi curves draws its plots with matplotlib: "
                          "pip install 'sktdi[plots]'") from exc


def _load_problems(args):
    """The problems of ``--dataset``, loaded; an error unless specs and names are distinct."""
    names = [part.strip() for part in args.dataset.split(",") if part.strip()]
    if not names or len(set(names)) < len(names):
        _fail(f"--dataset must name distinct datasets, got {args.dataset!r}")
    problems = [load_problem(name, args.random_state, args.split, args.label_column,
                             args.task) for name in names]
    seen = {}
    for name, problem in zip(names, problems, strict=True):
        if problem.name in seen:
            _fail(f"--dataset names two problems called {problem.name!r} ({seen[problem.name]} "
                  f"and {name}); rename one of the files")
        seen[problem.name] = name
    return problems


def _run_curves(problems, specs, sizes, args, info, start):
    out = Path(args.out)
    done = _prepare_out(out, args.resume)
    finished = list(done)

    def write_record(record):
        # The whole table is rewritten atomically after every fit (hundreds of rows at
        # most): a kill at any moment leaves the previous complete table.
        finished.append(record)
        _write_csv(out / "curves.csv", finished)

    results = _fit_problems(problems, specs, sizes, args, done, write_record)
    if not finished:
        _fail("no results: every fit was skipped or failed")
    all_records = _write_problem_outputs(results, finished, sizes, args, info, out)
    if len(problems) > 1:
        _write_aggregate_outputs(all_records, problems, results[0], args, info, out)
    if not args.quiet:
        print(f"wrote the results to {out} in {time.perf_counter() - start:.0f}s")
    return 0


def _fit_problems(problems, specs, sizes, args, done, write_record):
    """Run the fits of every problem; ``(problem, models, baselines, records)`` for each."""
    n_models = len(_make_models(specs, problems[0].classification, args))
    total = len(problems) * n_models * len(sizes) * args.repeats - len(done)
    if not args.quiet:
        print(f"sktdi curves: {len(problems)} problem(s), {n_models} models x {len(sizes)} "
              f"sizes x {args.repeats} repeats = {total + len(done)} fits"
              + (f" ({len(done)} already in {Path(args.out) / 'curves.csv'})" if done else ""),
              flush=True)
    if not args.quiet:
        for problem in problems:
            print(f"  {problem.name}: {problem.task} ({problem.task_reason})", flush=True)
    progress = _Progress(total, args.quiet, "score")
    results = []
    try:
        for problem in problems:
            earlier = [r for r in done if r.get("dataset", "") in (problem.name, "")]
            results.append((problem, *_run_problem(problem, specs, sizes, args, earlier,
                                                   progress, write_record)))
    finally:
        progress.close()
    return results


def _write_problem_outputs(results, finished, sizes, args, info, out):
    """Write each problem's plots and summary; return all records, tagged with their problem."""
    all_records = []
    for problem, models, baselines, _ in results:
        records = [r for r in finished if r.get("dataset", "") in (problem.name, "")]
        for record in records:
            record["dataset"] = problem.name
        all_records += records
        folder = out if len(results) == 1 else out / _folder_name(problem.name)
        folder.mkdir(parents=True, exist_ok=True)
        _problem_outputs(problem, models, baselines, records, sizes, args, info, folder)
    return all_records


def _write_aggregate_outputs(all_records, problems, first_result, args, info, out):
    """The summary.md and curves.png over all problems, in ``out``: one table and one
    panel per metric."""
    import matplotlib.pyplot as plt

    from .plotting import plot_sample_efficiency

    _, models, baselines, _ = first_result
    summary = _aggregate_summary(all_records, problems, list(models), baselines, info)
    _replace_atomically(out / "summary.md", lambda tmp: tmp.write_text(summary))
    groups = _problems_by_metric(problems)
    _, axes = plt.subplots(1, len(groups), figsize=(6.4 * len(groups), 4), squeeze=False)
    for ax, (metric, group) in zip(axes[0], groups.items(), strict=True):
        names = {p.name for p in group}
        means = _problem_means_as_records([r for r in all_records if r["dataset"] in names])
        plot_sample_efficiency(means, ax=ax, baselines=baselines, by="size",
                               **_score_axis(metric),
                               title=f"mean {metric} over {len(group)} problem(s)")
        ax.set_ylabel(f"mean test {metric}")
    _save_figure(axes[0, 0], out / "curves.png")
    if not args.quiet:
        print(summary)


def _score_axis(metric):
    """The bounds of a score and the lowest value its plots show (R^2 has no lower bound:
    values far below 0 would flatten every curve)."""
    if metric == "accuracy":
        return {"score_range": (0, 1)}
    return {"score_range": (None, 1), "y_floor": R2_FLOOR}


def _folder_name(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _problem_means_as_records(records):
    """One record per (problem, model, size): the mean over repeats, as ``score``."""
    groups = {}
    for r in records:
        if np.isfinite(r["score"]):
            groups.setdefault((r["dataset"], r["estimator"], r["size"]), []).append(r["score"])
    return [{"estimator": e, "size": s, "repeat": d, "score": float(np.mean(v))}
            for (d, e, s), v in groups.items()]


def _problem_outputs(problem, models, baselines, records, sizes, args, info, folder):
    from .plotting import plot_sample_efficiency

    metric = _metric(problem)
    protocol = (f"Task: {problem.task} ({problem.task_reason}). "
                + (f"Official test split: {len(problem.y_test)} test sequences; nested "
                   f"training subsets of the {len(problem.y)} training sequences."
                   if problem.official_split else
                   f"Train and test pooled ({len(problem.y)} sequences) and re-split in every "
                   f"repeat, {args.test_size:.0%} held out."))
    ax = plot_sample_efficiency(records, baselines=baselines, by="size", **_score_axis(metric),
                                title=f"{problem.description}: {metric} vs training size")
    ax.set_ylabel(f"test {metric}")
    _save_figure(ax, folder / "curves.png")
    ssm_models = {label: model for label, model in models.items() if label not in baselines}
    largest = max(r["train_size"] for r in records)
    if ssm_models:
        _spectra_figure(ssm_models, problem, largest, args, folder / "spectra.png")
    from .model_selection import summarize_curves

    rows = summarize_curves(records, return_dataframe=False, by="size")
    biggest = max(float(r["train_size"]) for r in rows)
    best = max(r["mean"] for r in rows if float(r["train_size"]) == biggest)
    target = args.target_score if args.target_score is not None else 0.95 * best
    summary = _problem_summary(records, problem, list(models), baselines, metric, target,
                               protocol, info)
    _replace_atomically(folder / "summary.md", lambda tmp: tmp.write_text(summary))
    if not args.quiet and len(set(r["dataset"] for r in records)) == 1:
        print(summary)


# ------------------------------------------------------------------------------ demo
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
    kept = "trained" if clf.kept_training_ else "its training-free start kept"
    print(f"  SSMClassifier (tdi)      test accuracy = {ssm_score:.4f}  ({clf.n_iter_} epochs, "
          f"{kept})")
    print(f"  LogisticRegression       test accuracy = {baseline:.4f}")
    return 0


# ------------------------------------------------------------------------------ parser
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help line, but for flags and options whose absence
    says it (``None``: the help says what happens)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sktdi",
        description="State space models with task-dependent initialization. With no "
                    "command, runs `sktdi curves` on the bundled synthetic task.",
    )
    sub = parser.add_subparsers(dest="command")
    _add_curves_command(sub)
    _add_demo_command(sub)
    return parser


def _add_curves_command(sub):
    """The ``curves`` command and its options, in the order ``--help`` lists them."""
    curves = sub.add_parser(
        "curves", help="sample-efficiency curves: score vs training size, SSMs and baselines",
        description="Fit every model on nested, stratified training subsets of each size "
                    "and score it on the test set; write curves.csv, curves.png, "
                    "spectra.png and summary.md (per problem, and an aggregate report for "
                    "several problems).",
        formatter_class=_HelpFormatter,
    )
    data = curves.add_argument_group("data")
    data.add_argument("--dataset", default="synthetic",
                      help="comma-separated problems: synthetic (a band task), digits, "
                           "ucr:NAME (aeon's offline UCR/UEA problems), or files: .npz "
                           "with arrays X (n, length) or (n, channels, length) and y; .csv "
                           "with one sequence per row, no header, and its label in one "
                           "column (--label-column); NAME_TRAIN.npz/.csv with a "
                           "NAME_TEST beside it keeps that test split")
    data.add_argument("--label-column", choices=("last", "first"), default="last",
                      help="where a .csv row's label is (the UCR archive's text files put "
                           "it first)")
    data.add_argument("--task", choices=("auto", "classification", "regression"),
                      default="auto",
                      help="how to read the labels: auto reads integers and strings as "
                           "classes and other numbers as targets to regress (the run "
                           "prints what it inferred and why)")
    data.add_argument("--split", choices=("official", "pooled"), default="official",
                      help="keep a problem's official test split or pool train and test "
                           "and re-split them in every repeat")
    data.add_argument("--test-size", type=float, default=0.25,
                      help="held-out fraction when there is no official test split")
    run = curves.add_argument_group("curves")
    run.add_argument("--models", default=None,
                     help=f"comma-separated models (when omitted: {DEFAULT_MODELS}): SSM "
                          "initializations (S4D-Lin, ..., tdi, tdi:KIND, auto) for the "
                          "trained SSM, features[:INIT] for the training-free one, "
                          "baselines (ridge; aeon's minirocket, multirocket, hydra, "
                          "mrhydra, quant; mlp) or module:Class{JSON parameters}; "
                          "LABEL=SPEC names one")
    run.add_argument("--inits", default=None,
                     help="SSM initializations only (the --models of sktdi 0.1): "
                          "S4D-Lin, S4D-Inv, S4D-LegS, S4D-Real, LRU, scaled, tdi, "
                          "tdi:<input|cross|discriminative|auto>, auto")
    run.add_argument("--train-sizes", default="16,32,64,128,256",
                     help="comma-separated numbers of sequences, or fractions of the "
                          "training pool (0.1,0.3,1.0)")
    run.add_argument("--min-per-class", type=int, default=1,
                     help="every training subset holds at least this many sequences of "
                          "every class (fractions are raised to it)")
    run.add_argument("--repeats", type=int, default=3,
                     help="repeats of every size, each with its own subsets (and split)")
    run.add_argument("--random-state", type=int, default=0,
                     help="seeds the subsets, the splits and every model")
    run.add_argument("--target-score", type=float, default=None,
                     help="score of the data-efficiency table (when omitted: 95%% of the "
                          "best mean at the largest size)")
    ssm = curves.add_argument_group("SSM estimators (when omitted: the estimators' defaults)")
    ssm.add_argument("--n-states", type=int, default=None,
                     help="states per SSM channel (even; training-free and trained)")
    ssm.add_argument("--d-model", type=int, default=None,
                     help="SSM channels of the bank (training-free and trained)")
    ssm.add_argument("--n-layers", type=int, default=None,
                     help="SSM layers of the trained estimators")
    ssm.add_argument("--max-iter", type=int, default=None,
                     help="most training epochs of the trained estimators")
    ssm.add_argument("--learning-rate", type=float, default=None,
                     help="learning rate of the trained estimators")
    ssm.add_argument("--device", default="auto",
                     help="where the trained estimators train: auto (CUDA when present), "
                          "cpu, cuda or cuda:INDEX")
    out = curves.add_argument_group("execution and output")
    out.add_argument("--n-jobs", type=int, default=2,
                     help="fits run in parallel (-1: one per core)")
    out.add_argument("--scheduler", default=None,
                     help="run the fits on a Dask cluster: a scheduler address "
                          "(tcp://host:8786) or local:N for N local worker processes")
    out.add_argument("--out", default="sktdi_curves",
                     help="folder of curves.csv, summary.md and the plots (created)")
    out.add_argument("--resume", action="store_true",
                     help="keep the fits already in OUT/curves.csv and run the rest")
    out.add_argument("--quiet", action="store_true",
                     help="print nothing but errors and warnings about how the data "
                          "were read (no progress bar, no lines, no warnings of the fits)")
    curves.set_defaults(func=_cmd_curves)


def _add_demo_command(sub):
    """The ``demo`` command and its options."""
    demo = sub.add_parser("demo", help="train an SSMClassifier on the bundled digits",
                          formatter_class=_HelpFormatter)
    demo.add_argument("--max-iter", type=int, default=10, help="most training epochs")
    demo.add_argument("--device", default="auto",
                      help="auto (CUDA when present), cpu, cuda or cuda:INDEX")
    demo.add_argument("--random-state", type=int, default=0, help="seeds split and model")
    demo.add_argument("--verbose", action="store_true", help="print every epoch")
    demo.set_defaults(func=_cmd_demo)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # No command, or options only (`sktdi --repeats 1`): those of `sktdi curves`.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["curves", *argv]
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"sktdi {args.command}: error: {exc}", file=sys.stderr)
        return 2
