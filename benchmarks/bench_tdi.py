"""Evidence benchmark for task-dependent initialization (TDI) on synthetic spectral tasks.

Run from the repository root (with the package installed)::

    python benchmarks/bench_tdi.py              # full grid, ~1 h on 2 (shared) CPU cores
    python benchmarks/bench_tdi.py --quick      # smoke run: tiny grid, 3 epochs, small test set
    python benchmarks/bench_tdi.py --out DIR    # write the results somewhere else
    python benchmarks/bench_tdi.py --n-jobs 4   # more worker processes (default 2)

Exploration of other initializer settings (not part of the committed evidence)::

    python benchmarks/bench_tdi.py --out /tmp/explore --tasks high_cls --sizes 16 64 \\
        --inits S4D-Lin tdi --variant 'tdi:shrink0={"shrinkage": 0.0}'

Confirmation on fresh seeds (the SpectralInitializer defaults were chosen in
``results/tdi_defaults_sweep.md`` on task seed 20240 and training seeds 0, 1, 2, the seeds
of ``tdi_evidence.md``); a task seed other than 20240 writes ``tdi_confirmation.*``, and
``--compare`` puts a reference run's means next to this run's. The reference is the same
grid on the chosen seeds, run with the same code (``results/tdi_confirmation*.md``)::

    python benchmarks/bench_tdi.py --sizes 16 64 256 --inits S4D-Lin tdi \\
        --stem tdi_confirmation_chosen
    python benchmarks/bench_tdi.py --task-seed 20241 --seeds 3 4 5 --sizes 16 64 256 \\
        --inits S4D-Lin tdi --compare benchmarks/results/tdi_confirmation_chosen.csv

``--variant LABEL=JSON`` adds ``init=SpectralInitializer(**JSON)`` under ``LABEL``; it can
be repeated. ``--estimator JSON`` changes estimator parameters, e.g. the deep-model
comparison of ``align_layers`` in ``results/tdi_align_layers_*.md``::

    python benchmarks/bench_tdi.py --tasks high_cls low_cls --sizes 16 64 256 \
        --inits S4D-Lin tdi --estimator '{"n_layers": 2, "align_layers": "all"}' \
        --stem tdi_align_layers_all

What is measured
----------------
Three synthetic tasks from :func:`sktdi.datasets.make_spectral_task` (``seq_len=256``,
AR(1) background with ``ar_coef=0.9``, i.e. background power at low frequencies):

* ``high_cls``: binary classification, class 1 adds a random-phase narrow-band component
  in the HIGH band (0.30, 0.35) cycles/sample (where S4D-Lin has little power);
* ``high_reg``: regression, the target is a linear band-pass functional of the input in
  the same high band; metric R^2;
* ``low_cls``: no-mismatch control: classification with the signal in the LOW band
  (0.01, 0.04), where S4D-Lin already has its power.

For every task ``n_pool + n_test`` sequences (1024 + 2000) are drawn in *one* call with a
fixed task seed (``--task-seed``, default 20240), so the training pool and the test set
share the task template (the regression carrier), then split. Training sets of size 16,
64, 256, 1024 are nested prefixes of a seed-dependent ordering of the pool (stratified for
classification: every prefix is balanced). Three seeds; the seed sets both the subset and
the estimator's ``random_state``.

Initializations: ``"S4D-Lin"``, ``"S4D-Inv"``, ``"scaled"``, ``"tdi"`` (default
SpectralInitializer inside ``fit``) and ``SpectralInitializer(spectrum=k)`` for ``k`` in
``"input"``, ``"cross"``, ``"discriminative"`` (``tdi:input`` ...). Estimator:
``SSMClassifier`` / ``SSMRegressor`` with ``d_model=32, n_states=64, max_iter=100,
device="cpu"`` and every other parameter at its default, except ``pooling="last"`` on
``high_reg``. Metric: test accuracy / test R^2.
Per fit also: fit wall time, epochs, ``spectral_alignment_`` (matching loss of the first
SSM layer against the TDI target at initialization and after training) and
``initializer_.fit_time_``.

``tdi:discriminative`` on classification and ``tdi:cross`` on regression are what
``"tdi"`` resolves to (``spectrum="auto"``), with identical random draws: those 36 rows are
copied from the ``tdi`` fits (column ``copied_from``) instead of being refitted, so the
full grid runs 216 of its 252 fits.

Fits run in ``joblib.Parallel(n_jobs=2)`` worker processes with
``torch.set_num_threads(1)`` each (two threads per process on two shared cores is many
times slower). Jobs are dispatched largest training set first, for load balance.

Outputs in ``<out>/``: ``tdi_evidence.csv`` (one row per fit), ``tdi_evidence.md``
(mean +- std tables, the verdict against the targets, alignment before/after training)
and ``tdi_evidence.json`` (settings, summary, verdict). With ``--quick`` the file stem is
``tdi_evidence_quick``.
"""

import argparse
import csv
import json
import os
import platform
import sys
import time
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

TASKS = {
    "high_cls": {
        "title": "(a) classification, signal in a high band (0.30-0.35), AR(1) background",
        "task": "classification", "bands": [[0.30, 0.35]], "snr": 0.3,
    },
    "high_reg": {
        "title": "(b) regression, linear band-pass target in a high band (0.30-0.35)",
        "task": "regression", "bands": [[0.30, 0.35]], "snr": 0.3,
        # The target is a causal band-pass filter's last output: read the SSM there too
        # (mean pooling cannot represent a linear functional that varies with position).
        "estimator": {"pooling": "last"},
    },
    "low_cls": {
        "title": "(c) no mismatch: classification, signal in a low band (0.01-0.04)",
        "task": "classification", "bands": [[0.01, 0.04]], "snr": 0.7,
    },
}
COMMON_TASK = {"seq_len": 256, "background": "ar", "ar_coef": 0.9, "n_classes": 2,
               "phase": "random", "random_state": 20240}
# The seeds the SpectralInitializer defaults were chosen on (tdi_defaults_sweep.md), which
# tdi_evidence.md then reported on: a confirmation needs other ones.
CHOSEN = {"task_seed": COMMON_TASK["random_state"], "seeds": [0, 1, 2]}
BASELINES = ["S4D-Lin", "S4D-Inv", "scaled"]
INITS = {  # label -> str init name, or dict of SpectralInitializer keyword arguments
    "S4D-Lin": "S4D-Lin",
    "S4D-Inv": "S4D-Inv",
    "scaled": "scaled",
    "tdi": "tdi",
    "tdi:input": {"spectrum": "input"},
    "tdi:cross": {"spectrum": "cross"},
    "tdi:discriminative": {"spectrum": "discriminative"},
}
ESTIMATOR = {"d_model": 32, "n_states": 64, "max_iter": 100, "device": "cpu"}
FULL = {"sizes": [16, 64, 256, 1024], "seeds": [0, 1, 2], "n_pool": 1024, "n_test": 2000}
QUICK = {"sizes": [16, 64], "seeds": [0], "n_pool": 64, "n_test": 200,
         "estimator": {"max_iter": 3}}
# Targets of the verdict.
GAIN_TARGET = {"classification": 0.10, "regression": 0.10}  # over S4D-Lin, smallest sizes
TOLERANCE = {"classification": 0.01, "regression": 0.01}  # vs best baseline, largest size
COLUMNS = [
    "task", "kind", "init", "size", "seed", "score", "metric", "fit_time_s", "score_time_s",
    "n_iter", "align_init", "align_trained", "init_fit_time_s", "init_spectrum_kind",
    "init_shrinkage", "init_initial_loss", "init_loss", "n_aliased_modes", "copied_from",
]


# ------------------------------------------------------------------------------ data
@lru_cache(maxsize=4)
def task_data(task_name, n_pool, n_test, task_seed=CHOSEN["task_seed"]):
    """``(X_pool, y_pool, X_test, y_test)``: one generator call, split (cached per process)."""
    from sktdi.datasets import make_spectral_task

    spec = TASKS[task_name]
    X, y = make_spectral_task(
        n_pool + n_test, task=spec["task"], bands=tuple(map(tuple, spec["bands"])),
        snr=spec["snr"], **{**COMMON_TASK, "random_state": task_seed},
    )
    return X[:n_pool], y[:n_pool], X[n_pool:], y[n_pool:]


def subset_order(y, kind, seed):
    """Seeded ordering of the pool whose every prefix is (nearly) class-balanced: the order
    of ``sktdi curves`` (:func:`sktdi.model_selection.stratified_nested_order`)."""
    from sktdi.model_selection import stratified_nested_order

    if kind == "regression":
        return np.random.RandomState(seed).permutation(len(y))
    return stratified_nested_order(y, random_state=seed)


# ------------------------------------------------------------------------------ one fit
def make_init(spec):
    if isinstance(spec, str):
        return spec
    from sktdi import SpectralInitializer

    return SpectralInitializer(**spec)


def run_one(task_name, init_label, init_spec, size, seed, n_pool, n_test, estimator_params,
            task_seed=CHOSEN["task_seed"]):
    """Fit one estimator and return its CSV row (runs in a worker process)."""
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # ConvergenceWarning at max_iter is expected here
    from sktdi import SSMClassifier, SSMRegressor

    X_pool, y_pool, X_test, y_test = task_data(task_name, n_pool, n_test, task_seed)
    kind = TASKS[task_name]["task"]
    train = subset_order(y_pool, kind, seed)[:size]
    Estimator = SSMClassifier if kind == "classification" else SSMRegressor
    params = {**estimator_params, **TASKS[task_name].get("estimator", {})}
    est = Estimator(init=make_init(init_spec), random_state=seed, **params)
    start = time.perf_counter()
    est.fit(X_pool[train], y_pool[train])
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    score = est.score(X_test, y_test)
    score_time = time.perf_counter() - start
    row = {
        "task": task_name, "kind": kind, "init": init_label, "size": size, "seed": seed,
        "score": float(score), "metric": "accuracy" if kind == "classification" else "r2",
        "fit_time_s": fit_time, "score_time_s": score_time, "n_iter": est.n_iter_,
        "n_aliased_modes": est.n_aliased_modes_,
    }
    if est.spectral_alignment_ is not None:
        init = est.initializer_
        row.update({
            "align_init": est.spectral_alignment_["init"],
            "align_trained": est.spectral_alignment_["trained"],
            "init_fit_time_s": init.fit_time_, "init_spectrum_kind": init.spectrum_kind_,
            "init_shrinkage": init.shrinkage_, "init_initial_loss": init.initial_loss_,
            "init_loss": init.loss_,
        })
    return row


def same_as_tdi(spec, task, inits):
    """True for ``{"spectrum": k}`` when ``k`` is what ``"tdi"`` resolves to on ``task``.

    Such a fit is the default-TDI fit exactly (same settings, same random draws; checked
    bit for bit on the CPU), so it is not run twice: its row is copied from ``"tdi"``.
    """
    from sktdi.spectral import resolve_spectrum_kind

    return ("tdi" in inits and isinstance(spec, dict) and set(spec) == {"spectrum"}
            and spec["spectrum"] == resolve_spectrum_kind("auto", TASKS[task]["task"]))


def copied_rows(rows, tasks, inits):
    extra = []
    for label, spec in inits.items():
        for task in tasks:
            if same_as_tdi(spec, task, inits):
                extra += [{**r, "init": label, "copied_from": "tdi"} for r in rows
                          if r["task"] == task and r["init"] == "tdi"]
    return extra


# ------------------------------------------------------------------------------ summary
def _stats(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarize(rows, tasks, inits, sizes):
    """``summary[task][init][size] = (mean, std, n)`` of the test score."""
    summary = {}
    for task in tasks:
        summary[task] = {}
        for init in inits:
            summary[task][init] = {}
            for size in sizes:
                vals = [r["score"] for r in rows
                        if r["task"] == task and r["init"] == init and r["size"] == size]
                if vals:
                    summary[task][init][size] = (*_stats(vals), len(vals))
    return summary


def verdict(summary, tasks, inits, sizes):
    """Checks of the two targets that the grid allows (see the module docstring)."""
    out = {"gain_small": [], "no_harm_large": []}
    if "tdi" not in inits or "S4D-Lin" not in inits:
        return out
    small = sorted(sizes)[:2]
    largest = max(sizes)
    for task in tasks:
        kind = TASKS[task]["task"]
        if task in ("high_cls", "high_reg"):
            for size in small:
                tdi = summary[task]["tdi"].get(size)
                lin = summary[task]["S4D-Lin"].get(size)
                if tdi and lin:
                    gain = tdi[0] - lin[0]
                    out["gain_small"].append({
                        "task": task, "size": size, "tdi": tdi[0], "S4D-Lin": lin[0],
                        "gain": gain, "target": GAIN_TARGET[kind],
                        "holds": bool(gain >= GAIN_TARGET[kind]),
                    })
        base = {b: summary[task][b][largest][0] for b in BASELINES
                if b in summary[task] and largest in summary[task][b]}
        tdi = summary[task]["tdi"].get(largest)
        if base and tdi:
            best_name = max(base, key=base.get)
            diff = tdi[0] - base[best_name]
            out["no_harm_large"].append({
                "task": task, "size": largest, "tdi": tdi[0], "best_baseline": best_name,
                "best": base[best_name], "diff": diff, "tolerance": TOLERANCE[kind],
                "holds": bool(diff >= -TOLERANCE[kind]),
            })
    return out


def alignment_table(rows, tasks, sizes, inits):
    table = []
    for task in tasks:
        for init in [i for i in inits if i == "tdi" or i.startswith("tdi:")]:
            for size in sizes:
                sel = [r for r in rows if r["task"] == task and r["init"] == init
                       and r["size"] == size and r.get("align_init") not in (None, "")]
                if not sel:
                    continue
                a0 = np.mean([r["align_init"] for r in sel])
                a1 = np.mean([r["align_trained"] for r in sel])
                table.append({"task": task, "init": init, "size": size, "align_init": a0,
                              "align_trained": a1,
                              "base_loss": np.mean([r["init_initial_loss"] for r in sel]),
                              "init_fit_time_s": np.mean([r["init_fit_time_s"] for r in sel])})
    return table


def _fmt(cell, kind):
    if cell is None:
        return "-"
    mean, std, _ = cell
    if kind == "classification":
        return f"{100 * mean:.1f} ± {100 * std:.1f}"
    return f"{mean:.3f} ± {std:.3f}"


def seeds_text(task_seed, seeds):
    """Which seeds a run used, against those the TDI defaults were chosen on."""
    same = task_seed == CHOSEN["task_seed"] and set(seeds) <= set(CHOSEN["seeds"])
    fresh = task_seed != CHOSEN["task_seed"] and not set(seeds) & set(CHOSEN["seeds"])
    return (f"Task seed {task_seed} (the task's template and its test sequences), training "
            f"seeds {seeds} (subsets and `random_state`). The SpectralInitializer defaults "
            f"were chosen (`tdi_defaults_sweep.md`) on task seed {CHOSEN['task_seed']} and "
            f"training seeds {CHOSEN['seeds']}: " + (
                "these are the same seeds and test sequences, so TDI figures on them are "
                "not independent of that choice." if same else
                "these are fresh seeds and test sequences." if fresh else
                "these seeds overlap them in part."))


def comparison_lines(path, summary, tasks, inits, sizes):
    """Means of a reference run's CSV (``--compare``) next to this run's."""
    path = Path(path)
    ref_rows = list(csv.DictReader(path.open()))
    meta = path.with_suffix(".json")
    ref = json.loads(meta.read_text())["settings"] if meta.exists() else {}
    ref_task_seed = ref.get("task_seed", CHOSEN["task_seed"] if ref else "unknown")
    ref_seeds = sorted({int(r["seed"]) for r in ref_rows})
    lines = [f"## Against `{path.name}`", "",
             f"`{path.name}`: {seeds_text(ref_task_seed, ref_seeds)} Made at commit "
             f"{(ref.get('git_at_start') or {}).get('commit', 'unknown')[:7]}. Mean test "
             "score, accuracy (%) or R^2.", "",
             "| task | init | n | reference | this run | this run - reference |",
             "|---|---|---|---|---|---|"]
    for task in tasks:
        scale = 100 if TASKS[task]["task"] == "classification" else 1
        fmt = ".1f" if scale == 100 else ".3f"
        for init in inits:
            for size in sizes:
                vals = [float(r["score"]) for r in ref_rows if r["task"] == task
                        and r["init"] == init and int(r["size"]) == size]
                cell = summary[task][init].get(size)
                if vals and cell:
                    a, b = scale * np.mean(vals), scale * cell[0]
                    lines.append(f"| {task} | {init} | {size} | {a:{fmt}} | {b:{fmt}} | "
                                 f"{b - a:+{fmt}} |")
    return lines + [""]


def write_markdown(path, summary, ver, align, rows, settings, tasks, inits, sizes):
    confirming = settings["task_seed"] != CHOSEN["task_seed"]
    title = "TDI confirmation" if confirming else "TDI evidence"
    git = settings.get("git_at_start") or {}
    dirty = git.get("dirty_sktdi")
    overrides = "".join(f"; on `{t}` also {TASKS[t]['estimator']}" for t in tasks
                        if "estimator" in TASKS[t])
    lines = [f"# {title}: test score by initialization and training-set size", ""]
    lines += [
        f"Made by `python benchmarks/{settings['command']}` at commit "
        f"{git.get('commit', 'unknown')[:7]}"
        + (f" with uncommitted changes to {', '.join(dirty)}" if dirty else "") + ".",
        "",
        f"Mode: {settings['mode']}. Estimator: {settings['estimator']}{overrides} (other "
        f"parameters at their defaults). Seeds {settings['seeds']}; test set "
        f"{settings['n_test']} sequences; pool {settings['n_pool']}. Wall time "
        f"{settings['wall_time_s'] / 60:.1f} min with n_jobs={settings['n_jobs']} (torch 1 "
        "thread per worker).",
        "",
        seeds_text(settings["task_seed"], settings["seeds"]),
        "",
        "Tasks (`make_spectral_task`, seq_len 256, AR(1) background ar_coef 0.9, task seed "
        f"{settings['task_seed']}): " + "; ".join(
            f"`{t}` bands {TASKS[t]['bands']}, snr {TASKS[t]['snr']}" for t in tasks) + ".",
        "",
    ]
    for task in tasks:
        kind = TASKS[task]["task"]
        unit = "accuracy (%)" if kind == "classification" else "R^2"
        estimator = (f" Estimator with {TASKS[task]['estimator']}, not the defaults."
                     if "estimator" in TASKS[task] else "")
        lines += [f"## {TASKS[task]['title']}", "",
                  f"Test {unit}, mean ± std over seeds.{estimator}", "",
                  "| init | " + " | ".join(f"n={s}" for s in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for init in inits:
            cells = [_fmt(summary[task][init].get(s), kind) for s in sizes]
            lines.append(f"| {init} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Verdict", ""]
    lines += ["Target 1: default TDI (`tdi`) gains >= 10 accuracy points (0.10 R^2) over "
              "S4D-Lin at the smallest sizes on (a) and (b).", "",
              "| task | n | tdi | S4D-Lin | gain | holds |", "|---|---|---|---|---|---|"]
    for v in ver["gain_small"]:
        scale = 100 if TASKS[v["task"]]["task"] == "classification" else 1
        fmt = ".1f" if scale == 100 else ".3f"
        lines.append(f"| {v['task']} | {v['size']} | {scale * v['tdi']:{fmt}} | "
                     f"{scale * v['S4D-Lin']:{fmt}} | {scale * v['gain']:+{fmt}} | "
                     f"{'yes' if v['holds'] else '**no**'} |")
    lines += ["", "Target 2: `tdi` is never more than 1 point (0.01 R^2) worse than the best of "
              "S4D-Lin / S4D-Inv / scaled at the largest size.", "",
              "| task | n | tdi | best baseline | diff | holds |", "|---|---|---|---|---|---|"]
    for v in ver["no_harm_large"]:
        scale = 100 if TASKS[v["task"]]["task"] == "classification" else 1
        fmt = ".1f" if scale == 100 else ".3f"
        lines.append(f"| {v['task']} | {v['size']} | {scale * v['tdi']:{fmt}} | "
                     f"{v['best_baseline']} {scale * v['best']:{fmt}} | "
                     f"{scale * v['diff']:+{fmt}} | {'yes' if v['holds'] else '**no**'} |")
    lines += ["", "## Does the alignment survive training?", "",
              "Spectral matching loss (0 = model power spectrum proportional to the TDI "
              "target, max 4) of the first SSM layer against `initializer_.task_spectrum_`: "
              "the base initialization (before TDI), after TDI (init) and after training "
              "(trained); mean over seeds. `init fit` is `initializer_.fit_time_`.", "",
              "| task | init | n | base | init | trained | init fit (s) |",
              "|---|---|---|---|---|---|---|"]
    for a in align:
        if a["init"] != "tdi":
            continue
        lines.append(f"| {a['task']} | {a['init']} | {a['size']} | {a['base_loss']:.3f} | "
                     f"{a['align_init']:.3f} | {a['align_trained']:.3f} | "
                     f"{a['init_fit_time_s']:.3f} |")
    lines += ["", "Mean fit time (s) by size, all inits: " + ", ".join(
        f"n={s}: {np.mean([r['fit_time_s'] for r in rows if r['size'] == s]):.1f}"
        for s in sizes) + ".", ""]
    if settings.get("compare"):
        lines += comparison_lines(settings["compare"], summary, tasks, inits, sizes)
    Path(path).write_text("\n".join(lines), encoding="utf-8")


# ------------------------------------------------------------------------------ main
def git_state():
    """Commit and dirty ``sktdi/`` files of the checkout: results depend on the generator."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sktdi"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty_sktdi": [line[3:] for line in dirty if line.strip()]}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny grid for smoke tests")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"),
                        help="output directory (default: benchmarks/results)")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), help="subset of tasks")
    parser.add_argument("--sizes", nargs="+", type=int, help="override training sizes")
    parser.add_argument("--seeds", nargs="+", type=int, help="override seeds")
    parser.add_argument("--task-seed", type=int, default=CHOSEN["task_seed"],
                        help="seed of the task's draw: template, pool and test set (default "
                             f"{CHOSEN['task_seed']}, the seed the TDI defaults were chosen on)")
    parser.add_argument("--compare", metavar="CSV",
                        help="a reference run's CSV to set against this run in the report")
    parser.add_argument("--inits", nargs="+", help="subset of the default init labels")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=JSON",
                        help="extra init: SpectralInitializer(**JSON) under LABEL")
    parser.add_argument("--stem", help="output file stem (default tdi_evidence[_quick], or "
                        "tdi_confirmation with another --task-seed)")
    parser.add_argument("--estimator", type=json.loads, default={}, metavar="JSON",
                        help='estimator parameters over the defaults, e.g. \'{"n_layers": 2}\'')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import joblib
    import sklearn
    import torch

    grid = dict(FULL)
    estimator = dict(ESTIMATOR)
    if args.quick:
        grid.update({k: v for k, v in QUICK.items() if k != "estimator"})
        estimator.update(QUICK["estimator"])
    estimator.update(args.estimator)
    sizes = args.sizes or grid["sizes"]
    seeds = args.seeds or grid["seeds"]
    n_pool = max(grid["n_pool"], max(sizes))
    tasks = args.tasks or list(TASKS)
    inits = {k: v for k, v in INITS.items() if not args.inits or k in args.inits}
    for variant in args.variant:
        label, _, spec = variant.partition("=")
        inits[label] = json.loads(spec)
    stem = args.stem or ("tdi_evidence_quick" if args.quick else "tdi_confirmation"
                         if args.task_seed != CHOSEN["task_seed"] else "tdi_evidence")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    git_at_start = git_state()
    jobs = [(task, label, spec, size, seed)
            for size in sorted(sizes, reverse=True)  # largest first: load balance
            for task in tasks for seed in seeds for label, spec in inits.items()
            if not same_as_tdi(spec, task, inits)]
    print(f"{len(jobs)} fits on {args.n_jobs} workers -> {out}/{stem}.*", flush=True)
    # Workers must import this file as a module (not as __main__) so that run_one and
    # its per-process data cache are found by reference.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_tdi

    rows = []
    start = time.perf_counter()
    partial = out / f"{stem}.partial.csv"
    with open(partial, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        results = joblib.Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
            joblib.delayed(bench_tdi.run_one)(
                task, label, spec, size, seed, n_pool, grid["n_test"], estimator,
                args.task_seed)
            for task, label, spec, size, seed in jobs)
        for row in results:
            rows.append(row)
            writer.writerow(row)
            fh.flush()
            print(f"[{len(rows)}/{len(jobs)} {time.perf_counter() - start:6.0f}s] "
                  f"{row['task']} {row['init']:<18} n={row['size']:<5} seed={row['seed']} "
                  f"score={row['score']:.4f} fit={row['fit_time_s']:.1f}s", flush=True)
    wall = time.perf_counter() - start
    rows += copied_rows(rows, tasks, inits)

    order = {(t, i, s, d): k for k, (t, i, _, s, d) in enumerate(
        (t, i, sp, s, d) for t in tasks for i, sp in inits.items() for s in sizes
        for d in seeds)}
    rows.sort(key=lambda r: order[(r["task"], r["init"], r["size"], r["seed"])])
    with open(out / f"{stem}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    partial.unlink()

    labels = list(inits)
    summary = summarize(rows, tasks, labels, sizes)
    ver = verdict(summary, tasks, labels, sizes)
    align = alignment_table(rows, tasks, sizes, labels)
    settings = {
        "mode": "quick" if args.quick else ("full" if not (args.tasks or args.sizes
                                                           or args.seeds or args.inits
                                                           or args.variant) else "custom"),
        "tasks": {t: {**TASKS[t], **COMMON_TASK, "random_state": args.task_seed}
                  for t in tasks},
        "task_seed": args.task_seed, "compare": args.compare,
        "sizes": sizes, "seeds": seeds, "n_pool": n_pool, "n_test": grid["n_test"],
        "subsets": "nested prefixes of a seeded ordering of the pool (class-balanced "
                   "prefixes for classification); seed also = estimator random_state",
        "inits": {k: (v if isinstance(v, str) else f"SpectralInitializer(**{v})")
                  for k, v in inits.items()},
        "estimator": estimator, "n_jobs": args.n_jobs, "torch_threads_per_worker": 1,
        "n_fits": len(rows), "wall_time_s": wall,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "sklearn": sklearn.__version__, "numpy": np.__version__},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor()},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git_at_start": git_at_start,
    }
    json_summary = {t: {i: {str(s): {"mean": c[0], "std": c[1], "n": c[2]}
                            for s, c in summary[t][i].items()} for i in labels}
                    for t in tasks}
    with open(out / f"{stem}.json", "w") as fh:
        json.dump({"settings": settings, "summary": json_summary, "verdict": ver,
                   "alignment": align}, fh, indent=2, default=float)
    write_markdown(out / f"{stem}.md", summary, ver, align, rows, settings, tasks, labels,
                   sizes)
    print(f"done in {wall / 60:.1f} min: {out / stem}.{{csv,md,json}}")


if __name__ == "__main__":
    main()
