"""Figures and tables of the public panel, drawn from the committed results files.

Run from the repository root (needs matplotlib; nothing is fitted, it only reads
``benchmarks/results/panel.csv`` and the provenance block of ``panel.md``)::

    python benchmarks/plot_panel.py                    # into docs/_generated
    python benchmarks/plot_panel.py --out /tmp/panel   # elsewhere
    python benchmarks/plot_panel.py --readme-figure    # also benchmarks/results/panel_mean.png

The docs build (``docs/conf.py``) runs it before Sphinx reads the sources.

Outputs, in ``--out``:

- ``panel_accuracy.png``: score (mean over seeds) against training-set size, one panel per
  problem and one for the mean over the five univariate problems of one length, one line
  per model (sktdi's training-free ``SSMFeature`` family in blue, the trained ``SSM``
  family in red, the baselines in grey and dashed);
- ``panel_time.png``: mean accuracy over the classification problems at 100% of the
  training split against the median fit + predict time;
- ``panel_status.rst``: a staleness note (is the results file at least as new as the last
  commit that changed ``sktdi/``? if not, which commits changed it since), and
  ``panel_tables.rst``: the provenance and the tables of mean scores; fragments included
  by ``docs/benchmarks.rst``.

Only the ``panel`` section is used: the confirmation seeds when the file has any, else
the selection seeds. A partial file (an interrupted or running benchmark) still plots:
missing models and problems are left out, and a univariate mean is drawn only where all
five problems have scores.
"""

import argparse
import csv
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import RESULTS  # noqa: E402
from bench_panel import PANEL, UNIVARIATE  # noqa: E402  (the benchmark's own problems)

PROBLEMS = tuple(PANEL)
MEAN = "univariate mean"
README_MODELS = ("SSMFeature", "SSM", "MiniRocket", "MultiRocket-Hydra", "QUANT")
# model: (colour, line style, marker, line width); unknown models get a family default
STYLES = {
    "SSMFeature": ("#1f5fbf", "-", "o", 2.4),
    "SSMFeature S4D-LegS": ("#74a9e8", "-", "o", 1.6),
    "SSM": ("#c62828", "-", "s", 2.4),
    "SSM S4D-LegS": ("#f08a7e", "-", "s", 1.6),
    "MiniRocket": ("#222222", "--", "^", 1.4),
    "MultiRocket-Hydra": ("#666666", "--", "v", 1.4),
    "QUANT": ("#8c8c8c", ":", "D", 1.4),
    "Ridge (raw)": ("#b5b5b5", "-.", "x", 1.4),
}
EXTRA = ("#9ecae1", "#6a51a3", "#fdae6b", "#31a354", "#cccccc")  # colours of unknown models
R2_FLOOR = -1.0  # regression panels: R^2 below this is off the chart (said in the panel)
DODGE = (0.045, 0.32)  # lines shift apart on the x axis, so none hides: step, widest spread
# label positions tried around a point of the time figure: offset in points, alignment
LABEL_SPOTS = [((6, 3), "left"), ((6, -11), "left"), ((-6, 3), "right"), ((-6, -11), "right"),
               ((6, 14), "left"), ((6, -22), "left"), ((-6, 14), "right"),
               ((-6, -22), "right"), ((6, 25), "left"), ((6, -33), "left")]


def read_rows(path):
    """The panel rows of ``path`` with numeric fields parsed, and the role they are from.

    Returns ``(rows, role)``: the confirmation rows when the file has any, else the
    selection rows.
    """
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("section") == "panel"]
    for r in rows:
        for key in ("fraction", "score", "fit_time", "predict_time"):
            try:
                r[key] = float(r[key])
            except (KeyError, TypeError, ValueError):
                r[key] = float("nan")
    role = ("confirmation" if any(r.get("role") == "confirmation" for r in rows)
            else "selection")
    return [r for r in rows if r.get("role") == role], role


def ordered(present, preferred):
    """The items of ``present`` in the order of ``preferred``, others after them, sorted."""
    present = set(present)
    return [p for p in preferred if p in present] + sorted(present - set(preferred))


def style(model):
    """Colour, line style, marker and width of ``model``'s line."""
    if model in STYLES:
        return STYLES[model]
    colour = EXTRA[sum(map(ord, model)) % len(EXTRA)]
    if model.startswith("SSM"):
        return (colour, "-", "o" if model.startswith("SSMFeature") else "s", 1.2)
    return (colour, "--", ".", 1.0)


def is_regression(rows, problem):
    """Whether ``problem``'s rows are regression (score is R^2)."""
    return any(r["problem"] == problem and r.get("task") == "regression" for r in rows)


def mean_scores(rows):
    """``{(problem, model, fraction): mean score over seeds}``, plus the univariate mean.

    The univariate mean of a model and fraction is the mean over the five univariate
    problems of their means over seeds, present only where all five have scores.
    """
    groups = {}
    for r in rows:
        if np.isfinite(r["score"]):
            groups.setdefault((r["problem"], r["model"], r["fraction"]), []).append(r["score"])
    means = {key: float(np.mean(v)) for key, v in groups.items()}
    for model in {m for _, m, _ in means}:
        for fraction in {f for _, _, f in means}:
            scores = [means.get((p, model, fraction)) for p in UNIVARIATE]
            if all(s is not None for s in scores):
                means[(MEAN, model, fraction)] = float(np.mean(scores))
    return means


def seeds_text(rows, role):
    """``"confirmation seeds 3, 4, 5"``: which seeds the figures and tables use."""
    seeds = sorted({int(r["seed"]) for r in rows if str(r.get("seed", "")).isdigit()})
    return f"{role} seeds {', '.join(map(str, seeds)) or 'none'}"


def size_label(fraction):
    """``0.1`` -> ``"10%"``."""
    return f"{100 * fraction:g}%"


def draw_problem(ax, means, problem, models, fractions, regression):
    """One panel: mean score against training-set size, one line per model."""
    x = np.arange(len(fractions))
    scale = 1.0 if regression else 100.0
    shown = []
    spread = min(DODGE[0] * (len(models) - 1), DODGE[1])
    for i, model in enumerate(models):
        y = np.array([means.get((problem, model, f), np.nan) for f in fractions]) * scale
        if np.all(np.isnan(y)):
            continue
        shown.append(y)
        colour, ls, marker, lw = style(model)
        shift = spread * (i / max(len(models) - 1, 1) - 0.5)
        ax.plot(x + shift, np.where(y < R2_FLOOR, np.nan, y) if regression else y,
                color=colour, linestyle=ls, marker=marker, linewidth=lw,
                markersize=4 + lw, label=model, zorder=3 if model in STYLES else 2)
    ax.set_xticks(x, [size_label(f) for f in fractions])
    ax.set_xlim(-0.35, len(fractions) - 0.65)
    ax.set_title(problem, fontsize=10)
    ax.set_ylabel("R$^2$ (test)" if regression else "accuracy (%)")
    ax.grid(True, alpha=0.3)
    if not ax.lines:
        ax.text(0.5, 0.5, "no complete scores yet", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#666666")
        ax.set_yticks([])
    elif regression:
        values = np.concatenate(shown)
        values = values[np.isfinite(values)]
        kept = values[values >= R2_FLOOR]
        if kept.size:
            pad = 0.08 * max(kept.max() - kept.min(), 0.1)
            ax.set_ylim(kept.min() - pad, kept.max() + pad)
        if kept.size < values.size:
            ax.text(0.98, 0.03, f"R$^2$ < {R2_FLOOR:g} not shown", ha="right",
                    va="bottom", transform=ax.transAxes, fontsize=8, color="#666666")


def plot_accuracy(rows, role, path):
    """``panel_accuracy.png``: a grid of one panel per problem plus the univariate mean."""
    means = mean_scores(rows)
    problems = ordered({r["problem"] for r in rows}, PROBLEMS) + [MEAN]
    models = ordered({r["model"] for r in rows}, tuple(STYLES))
    fractions = sorted({f for _, _, f in means})
    ncols = 4
    nrows = max(1, -(-(len(problems) + 1) // ncols))  # one cell kept for the legend
    with plt.rc_context({"font.size": 9.5}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.6 * nrows + 0.6),
                                 squeeze=False)
        flat = axes.ravel()
        for ax, problem in zip(flat, problems, strict=False):
            draw_problem(ax, means, problem, models, fractions,
                         problem != MEAN and is_regression(rows, problem))
        for ax in flat[len(problems):]:
            ax.axis("off")
        handles = {}
        for ax in flat[:len(problems)]:
            for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, h)
        labels = [m for m in models if m in handles]
        flat[-1].legend([handles[m] for m in labels], labels, loc="center", frameon=False,
                        title="blue: SSMFeature (training-free)\nred: SSM (trained)\n"
                              "grey, dashed: baselines", title_fontsize=9)
        fig.suptitle(f"Test score against training-set size (share of the official "
                     f"training split), mean over {seeds_text(rows, role)}", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


def time_points(rows):
    """``{model: (median seconds, mean accuracy, problems covered)}`` at 100%.

    Classification problems only; the time is fit + predict, the median over problems and
    seeds, the accuracy the mean over problems of the mean over seeds.
    """
    full = [r for r in rows if r.get("task") == "classification" and r["fraction"] == 1.0]
    means = mean_scores(full)
    points = {}
    for model in {r["model"] for r in full}:
        times = [r["fit_time"] + r["predict_time"] for r in full if r["model"] == model]
        accs = [v for (p, m, _), v in means.items() if m == model and p != MEAN]
        times = [t for t in times if np.isfinite(t)]
        if times and accs:
            points[model] = (float(np.median(times)), 100 * float(np.mean(accs)), len(accs))
    return points, len({r["problem"] for r in full})


def label_points(fig, ax, points, n_problems):
    """Label every point of the time figure at the first spot that overlaps no other label
    and no point (the last spot tried if none is free)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [ax.transData.transform(p[:2]) for p in points.values()]
    taken = [Bbox.from_bounds(px - 5, py - 5, 10, 10) for px, py in taken]
    for model in sorted(points, key=lambda m: -points[m][1]):
        seconds, acc, covered = points[model]
        label = model + (f" ({covered} of {n_problems} problems)"
                         if covered < n_problems else "")
        for offset, align in LABEL_SPOTS:
            text = ax.annotate(label, (seconds, acc), xytext=offset, ha=align,
                               textcoords="offset points", fontsize=9, color="#222222")
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in taken) or offset == LABEL_SPOTS[-1][0]:
                taken.append(box)
                break
            text.remove()


def plot_time(rows, role, path):
    """``panel_time.png``: mean accuracy at 100% against median fit + predict time."""
    points, n_problems = time_points(rows)
    with plt.rc_context({"font.size": 10}):
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for model in ordered(points, tuple(STYLES)):
            seconds, acc, covered = points[model]
            colour, _, marker, _ = style(model)
            partial = covered < n_problems
            ax.scatter(seconds, acc, s=70, marker=marker, color=colour, zorder=3,
                       facecolors="none" if partial else colour)
        if not points:
            ax.text(0.5, 0.5, "no classification scores at 100% yet", ha="center",
                    va="center", transform=ax.transAxes)
        ax.set_xscale("log")
        ax.set_xlabel("fit + predict time (s), median over problems and seeds")
        ax.set_ylabel("accuracy (%), mean over problems")
        ax.set_title(f"{n_problems} classification problems at 100% of the training split,"
                     f"\n{seeds_text(rows, role)}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.3, y=0.1)
        fig.tight_layout()
        label_points(fig, ax, points, n_problems)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def plot_readme(rows, role, path):
    """The univariate-mean panel alone, for the README: sktdi's two families and peers."""
    means = mean_scores(rows)
    fractions = sorted({f for _, _, f in means})
    models = [m for m in README_MODELS if any(k[:2] == (MEAN, m) for k in means)]
    with plt.rc_context({"font.size": 9}):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        draw_problem(ax, means, MEAN, models, fractions, False)
        ax.set_title(f"Mean over 5 univariate problems ({seeds_text(rows, role)})",
                     fontsize=9.5)
        ax.set_xlabel("training-set size (share of the official training split)")
        if ax.lines:
            ax.legend(fontsize=8.5, frameon=False, loc="lower right")
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)


def read_provenance(path):
    """The ``- key: value`` lines of ``panel.md``'s provenance block, and its commit."""
    info = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return info
    for line in lines:
        if line.startswith("## "):
            break
        match = re.match(r"- sktdi (\S+) \(commit `([^`]+)`\)", line)
        if match:
            info["version"], info["commit"] = match.groups()
        elif line.startswith("- ") and ": " in line:
            key, value = line[2:].split(": ", 1)
            info[key.strip()] = value.strip()
    return info


def git(*args):
    """``git args`` in the repository: ``(return code, stdout)``; ``(None, "")`` if no git."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None, ""
    return done.returncode, done.stdout.strip()


def staleness(results_commit):
    """An rst paragraph: is the results commit at least as new as the last change to sktdi/?"""
    commit = (results_commit or "").removesuffix("+dirty")
    rc, package = git("log", "-1", "--format=%H", "--", "sktdi/")
    if not commit or commit == "unknown" or rc != 0 or not package:
        return ("The age of the results could not be checked (no git, or the commit of the "
                "results is unknown).\n")
    rc, _ = git("merge-base", "--is-ancestor", package, commit)
    if rc == 0:
        return (f"The results are at least as new as the last commit that changed "
                f"``sktdi/`` ({package[:7]}).\n")
    if rc == 1:
        _, since = git("log", "--format=%h %s", f"{commit}..{package}", "--", "sktdi/")
        changes = [f"   - ``{line[:7]}`` {rst_escape(line[8:][:100])}"
                   for line in since.splitlines()[:5]]
        return (f".. warning::\n\n   The results file is older than the code it describes: "
                f"it was made at commit ``{results_commit}``, and ``sktdi/`` last changed "
                f"in commit ``{package[:7]}``, which that commit does not contain. Rerun "
                f"``python benchmarks/bench_panel.py`` to refresh it. The changes to "
                f"``sktdi/`` since (newest first):\n\n" + "\n".join(changes) + "\n")
    return (f"The age of the results could not be checked (commit ``{results_commit}`` is "
            f"not known to this clone).\n")


def rst_escape(text):
    """Backslash-escape the characters that rst would read as markup."""
    return re.sub(r"([\\`*_|])", r"\\\1", text)


def list_table(title, header, body):
    """An rst ``list-table`` of string cells."""
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *body]:
        out.append(f"   * - {row[0]}")
        out += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(out) + "\n"


def score_tables(rows, role):
    """The rst tables of mean scores per problem and size, and the univariate mean."""
    means = mean_scores(rows)
    models = ordered({r["model"] for r in rows}, tuple(STYLES))
    fractions = sorted({f for _, _, f in means})
    header = ["problem", "size", *models]

    def cells(problem, digits):
        return [[problem, size_label(f)]
                + [f"{100 * means[(problem, m, f)]:.{digits}f}"
                   if (problem, m, f) in means else "—" for m in models]
                for f in fractions]

    body = [row for p in ordered({r["problem"] for r in rows}, PROBLEMS)
            for row in cells(p, 1)]
    text = list_table(f"Mean test score per problem and size, {seeds_text(rows, role)} "
                      "(accuracy in %; R\\ :sup:`2` x 100 for regression)", header, body)
    text += "\n" + list_table("Mean accuracy (%) over the five univariate problems",
                              header, cells(MEAN, 2))
    return text


def tables_rst(rows, role, md_path):
    """The fragment ``panel_tables.rst``: provenance and tables."""
    info = read_provenance(md_path)
    lines = ["Provenance of the results file:", ""]
    lines.append(f"- sktdi {rst_escape(info.get('version', '?'))}, commit "
                 f"``{info.get('commit', 'unknown')}``")
    date, _, machine = info.get("date", "unknown").partition("; machine: ")
    lines.append(f"- command: ``{info.get('command', 'unknown').strip('`')}``")
    lines.append(f"- date: {rst_escape(date)}")
    if machine:
        lines.append(f"- machine: {rst_escape(machine)}")
    lines.append(f"- seeds used here: {seeds_text(rows, role)}")
    lines += ["", "Scores are means over seeds; sizes are shares of the official training "
              "split. A dash marks a model that has no score there (yet).", ""]
    if rows:
        lines.append(score_tables(rows, role))
    else:
        lines.append("The results file has no panel rows yet.\n")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=RESULTS / "panel.csv")
    parser.add_argument("--md", type=Path, default=RESULTS / "panel.md",
                        help="the report whose provenance block is quoted")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_generated")
    parser.add_argument("--readme-figure", type=Path, nargs="?",
                        const=RESULTS / "panel_mean.png", default=None,
                        help="also write the univariate-mean panel here (default path: "
                             "benchmarks/results/panel_mean.png)")
    args = parser.parse_args(argv)
    rows, role = read_rows(args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_accuracy(rows, role, args.out / "panel_accuracy.png")
    plot_time(rows, role, args.out / "panel_time.png")
    (args.out / "panel_tables.rst").write_text(tables_rst(rows, role, args.md))
    (args.out / "panel_status.rst").write_text(
        staleness(read_provenance(args.md).get("commit")))
    if args.readme_figure is not None:
        plot_readme(rows, role, args.readme_figure)
    print(f"wrote {args.out} ({len(rows)} rows, {role} seeds)")


if __name__ == "__main__":
    main()
