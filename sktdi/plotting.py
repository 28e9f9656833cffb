"""Diagnostic plots for spectra, sample efficiency and SSM-induced kernels.

matplotlib is an optional dependency (``pip install 'sktdi[plots]'``): it is imported
only when a function here is called, so ``import sktdi.plotting`` always works. Every
function draws on ``ax`` when given (creating a figure through ``matplotlib.pyplot``
only when ``ax`` is None), never calls ``plt.show()``, and returns the Axes.
"""

import re
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import scipy.linalg

from .spectral import model_power_spectrum

__all__ = [
    "plot_frequency_response",
    "plot_induced_kernel",
    "plot_init_scores",
    "plot_sample_efficiency",
    "plot_spectra",
]

_IMPORT_MESSAGE = "sktdi.plotting needs matplotlib: pip install 'sktdi[plots]'"
_UNITS = ("cycles", "radians")
_SPREADS = ("std", "minmax", None)
_SUFFIX = re.compile(r"^(?P<base>.*?)\s*\((?P<stage>init|initial|trained)\)\s*$", re.I)
# Relative floor for values shown on a log axis: zeros are drawn at this fraction of
# the largest value instead of disappearing.
_LOG_FLOOR = 1e-8


# ---------------------------------------------------------------------------- helpers
def _pyplot():
    """``matplotlib.pyplot``, or the ImportError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_IMPORT_MESSAGE) from exc
    return plt


def _axes(ax, figsize):
    """``ax``, or the Axes of a new constrained-layout figure of size ``figsize``."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_units(units):
    if units not in _UNITS:
        raise ValueError(f"Unknown units {units!r}; expected 'cycles' or 'radians'.")


def _as_spectrum(values, name):
    """A finite 1-D float64 array with at least two bins."""
    S = np.asarray(values, dtype=np.float64)
    if S.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {S.shape}.")
    if S.size < 2:
        raise ValueError(f"{name} needs at least 2 frequency bins, got {S.size}.")
    if not np.all(np.isfinite(S)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return S


def _frequencies(n_bins, units, seq_len=None):
    """Frequencies of the real-FFT bins ``j = 0..n_bins-1`` and the axis label."""
    L = 2 * (n_bins - 1) if seq_len is None else int(seq_len)
    if L // 2 + 1 != n_bins:
        raise ValueError(
            f"seq_len={seq_len} gives {L // 2 + 1} real-FFT bins, but the spectra have "
            f"{n_bins}."
        )
    cycles = np.arange(n_bins) / L
    if units == "cycles":
        return cycles, "frequency (cycles per sample)"
    return 2 * np.pi * cycles, "frequency (radians per sample)"


def _format_frequency_axis(ax, units, label):
    ax.set_xlabel(label)
    if units == "cycles":
        ax.set_xlim(0, 0.5)
    else:
        ax.set_xlim(0, np.pi)
        ax.set_xticks(np.pi * np.array([0, 0.25, 0.5, 0.75, 1.0]),
                      ["0", "π/4", "π/2", "3π/4", "π"])


def _log_floor(values):
    """Positive floor for a log axis: a tiny fraction of the largest positive value."""
    top = max((float(np.max(v)) for v in values if np.size(v)), default=1.0)
    return _LOG_FLOOR * top if top > 0 else _LOG_FLOOR


def _colours():
    plt = _pyplot()
    return plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2"])


# ---------------------------------------------------------------------------- spectra
def plot_spectra(
    task_spectrum, model_spectra=None, *, ax=None, units="cycles", normalize=True,
    log=True, title=None, seq_len=None,
):
    """Task power spectrum against model power spectra on the real-FFT grid.

    The task spectrum is drawn as a thick black line over a grey fill; each model
    spectrum as a thinner line. Labels ending in ``"(init)"`` (or ``"(initial)"``) and
    ``"(trained)"`` are grouped by the name before the suffix: the same colour per base
    name, dashed for the initial and solid for the trained spectrum, so
    ``{"S4D-Lin (init)": ..., "S4D-Lin (trained)": ...}`` reads as one model before and
    after training. Any other label gets its own colour and a solid line.

    Parameters
    ----------
    task_spectrum : array-like of shape (L // 2 + 1,)
        For instance :func:`sktdi.spectral.task_power_spectrum` or an initializer's
        ``task_spectrum_``.
    model_spectra : dict of str to array-like of shape (L // 2 + 1,), default=None
        Label to spectrum, e.g. from :func:`sktdi.spectral.model_power_spectrum`.
    ax : matplotlib Axes, default=None
        Where to draw; a new 7 x 3.8 inch figure when None.
    units : {"cycles", "radians"}, default="cycles"
        Frequency axis in cycles per sample (0 to 0.5) or radians per sample (0 to pi).
    normalize : bool, default=True
        Divide every spectrum by its L2 norm, as the spectral matching loss does, so
        that shapes compare whatever their scale.
    log : bool, default=True
        Logarithmic power axis; zeros are drawn at a floor of 1e-8 times the largest
        value.
    title : str, default=None
    seq_len : int, default=None
        Sequence length ``L``; None assumes even ``L = 2 (n_bins - 1)``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sktdi.plotting import plot_spectra
    >>> task = np.exp(-np.linspace(0, 5, 65))
    >>> ax = plot_spectra(task, {"S4D-Lin (init)": np.ones(65),
    ...                          "S4D-Lin (trained)": task + 0.1})
    >>> ax.get_xlabel(), ax.get_yscale()
    ('frequency (cycles per sample)', 'log')
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['task', 'S4D-Lin (init)', 'S4D-Lin (trained)']
    >>> matplotlib.pyplot.close(ax.figure)
    """
    _check_units(units)
    task = _as_spectrum(task_spectrum, "task_spectrum")
    models = _model_spectra_on_grid(model_spectra, task)
    freqs, xlabel = _frequencies(task.size, units, seq_len)
    if normalize:
        task = _unit_norm(task, "task_spectrum")
        models = {k: _unit_norm(v, f"model spectrum {k!r}") for k, v in models.items()}

    ax = _axes(ax, (7, 3.8))
    floor, bottom = _power_floor(task, models, log)

    def shown(S):
        return np.maximum(S, floor) if log else S

    ax.fill_between(freqs, bottom, shown(task), color="0.85", linewidth=0, zorder=1)
    ax.plot(freqs, shown(task), color="black", linewidth=2.4, label="task", zorder=3)
    for label, colour, style in _stage_styles(models):
        ax.plot(freqs, shown(models[label]), color=colour, linestyle=style, linewidth=1.6,
                label=label, zorder=4)
    _format_spectra_axes(ax, units, xlabel, normalize, log, bottom, title)
    return ax


def _model_spectra_on_grid(model_spectra, task):
    """``model_spectra`` as label -> checked array, each on the task spectrum's grid."""
    if model_spectra is None:
        model_spectra = {}
    if not isinstance(model_spectra, Mapping):
        raise TypeError(
            "model_spectra must be a dict of label -> spectrum, got "
            f"{type(model_spectra).__name__}."
        )
    models = {}
    for label, values in model_spectra.items():
        S = _as_spectrum(values, f"model spectrum {label!r}")
        if S.shape != task.shape:
            raise ValueError(
                f"model spectrum {label!r} has {S.size} bins but task_spectrum has "
                f"{task.size}; both must be on the same real-FFT grid (L // 2 + 1 bins)."
            )
        models[str(label)] = S
    return models


def _unit_norm(S, name):
    """``S`` divided by its L2 norm; a ``ValueError`` naming ``name`` if it is zero. The norm
    is BLAS's scaled one (``scipy.linalg.norm``): a task spectrum carries the targets'
    squared units, whose squares can overflow or underflow in ``numpy.linalg.norm``."""
    norm = scipy.linalg.norm(S)
    if norm == 0:
        raise ValueError(f"{name} is identically zero and cannot be normalized.")
    return S / norm


def _power_floor(task, models, log):
    """``(floor, bottom)``: the least value drawn and the lower limit of the power axis."""
    curves = [task, *models.values()]
    if not log:
        floor = min(0.0, *(float(S.min()) for S in curves))
        return floor, floor
    floor = _log_floor(curves)
    # The axis starts just below the smallest positive value, not at the floor, so that
    # a single zero bin does not squeeze the curves into the top of the plot.
    lowest = min((float(S[S > 0].min()) for S in curves if np.any(S > 0)), default=1.0)
    return floor, max(floor, lowest / 2)


def _stage_styles(labels):
    """``(label, colour, linestyle)`` per model spectrum, in legend order."""
    # Same colour per base name (the label without its "(init)" or "(trained)" suffix),
    # dashed for an initial spectrum; in the legend, each base name's lines sit together.
    palette, groups = _colours(), {}
    for label in labels:
        match = _SUFFIX.match(label)
        stage = match["stage"].lower() if match else None
        groups.setdefault(match["base"] if match else label, []).append((label, stage))
    return [(label, palette[k % len(palette)], "--" if stage in ("init", "initial") else "-")
            for k, members in enumerate(groups.values()) for label, stage in members]


def _format_spectra_axes(ax, units, xlabel, normalize, log, bottom, title):
    """Axis labels, scale and limits, grid, title and the legend of ``plot_spectra``."""
    _format_frequency_axis(ax, units, xlabel)
    ax.set_ylabel("normalized power" if normalize else "power")
    if log:
        ax.set_yscale("log")
    ax.set_ylim(bottom=bottom)
    ax.grid(True, which="major", alpha=0.3)
    if title is not None:
        ax.set_title(title)
    # Outside the plotting area, so that no curve is hidden; constrained layout (used
    # for figures made here) or ``savefig(bbox_inches="tight")`` keeps it in the image.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              fontsize="small", frameon=False)


# -------------------------------------------------------------------- sample efficiency
def _records_table(records, metric, by="train_size"):
    """Records as a list of dicts, checked for emptiness and the needed columns."""
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # a DataFrame
        columns = {str(c) for c in records.columns}
        rows = records.to_dict("records")
    else:
        if isinstance(records, Mapping) or isinstance(records, (str, bytes)):
            raise TypeError("records must be a list of dicts or a pandas DataFrame.")
        rows = list(records)
        if not all(isinstance(r, Mapping) for r in rows):
            raise TypeError("records must be a list of dicts or a pandas DataFrame.")
        columns = set.intersection(*(set(r) for r in rows)) if rows else set()
    if not rows:
        raise ValueError("records is empty: there is nothing to plot.")
    missing = [c for c in ("estimator", by, metric) if c not in columns]
    if missing:
        raise ValueError(
            f"records lack the column(s) {missing}; expected 'estimator', {by!r} and "
            f"the metric column {metric!r} (as produced by sample_efficiency_curve)."
        )
    return rows


def _size_label(value, _pos=None):
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def plot_sample_efficiency(
    records, *, ax=None, metric="score", spread="std", log_x=True, title=None, target=None,
    baselines=None, score_range=None, by="train_size", y_floor=None,
):
    """Mean score against training-set size, one line per estimator.

    Means and standard deviations are those of
    :func:`sktdi.model_selection.summarize_curves` (failed fits, with a NaN score, are left
    out), so a plot and a summary table made from the same records agree.

    Parameters
    ----------
    records : list of dict or pandas DataFrame
        One row per fit with columns ``estimator``, the ``by`` column and the metric column
        (the output of ``sample_efficiency_curve``).
    ax : matplotlib Axes, default=None
        Where to draw; a new 6.4 x 4 inch figure when None.
    metric : str, default="score"
        Column to plot; it also labels the y axis.
    spread : {"std", "minmax"} or None, default="std"
        Band around each mean: plus or minus the sample standard deviation over repeats
        (none with one repeat), the range from the smallest to the largest score, or no
        band.
    log_x : bool, default=True
        Logarithmic size axis. The ticks are the training sizes themselves, written in
        full (no scientific notation).
    title : str, default=None
    target : float, default=None
        Draw a horizontal dashed reference line at this value (e.g. a full-data score).
    baselines : sequence of str, default=None
        Estimators drawn as baselines: dashed lines in shades of grey, apart from the
        coloured models they are compared with.
    score_range : (float or None, float or None), default=None
        Bounds of the score (``(0, 1)`` for accuracy, ``(None, 1)`` for R^2): bands are
        clipped to them, so that a spread never reaches an impossible value.
    by : str, default="train_size"
        Column of the size (a multi-problem run plots the requested fractions).
    y_floor : float, default=None
        The lowest score the axis shows (for a score without a lower bound, R^2). A mean
        below it is drawn on the floor as a downward triangle and bands are cut there, and
        a note on the figure says which values lie below; without it, one R^2 of -100
        would flatten every other curve.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktdi.plotting import plot_sample_efficiency
    >>> records = [{"estimator": e, "train_size": n, "repeat": r, "score": s}
    ...            for e, base in [("tdi", 0.7), ("ridge", 0.6)]
    ...            for n in (16, 64, 256) for r in range(3)
    ...            for s in [min(1.0, base + 0.15 * r + n / 2000)]]
    >>> ax = plot_sample_efficiency(records, target=0.9, baselines=["ridge"],
    ...                             score_range=(0, 1))
    >>> ax.get_xscale(), ax.get_xlabel(), ax.get_ylabel()
    ('log', 'training-set size (sequences)', 'score')
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['16', '64', '256']
    >>> [line.get_linestyle() for line in ax.get_lines()[:2]]
    ['-', '--']
    >>> bool(max(c.get_paths()[0].vertices[:, 1].max() for c in ax.collections) <= 1.0)
    True
    >>> matplotlib.pyplot.close(ax.figure)
    """
    _check_efficiency_options(spread, target)
    low_bound, high_bound = score_range if score_range is not None else (None, None)
    curves = _summarised_curves(_numeric_rows(records, metric, by), metric, by)

    ax = _axes(ax, (6.4, 4))
    styles = _curve_styles(curves, baselines)
    all_sizes = set()
    if y_floor is not None:
        low_bound = y_floor if low_bound is None else max(low_bound, y_floor)
    below = {}
    for name, cells in curves.items():
        all_sizes.update(_draw_curve(ax, name, cells, *styles[name], spread,
                                     (low_bound, high_bound), y_floor))
        lowest = min(c["mean"] for c in cells)
        if y_floor is not None and lowest < y_floor:
            below[name] = lowest
    if below:
        _mark_floor(ax, y_floor, below)
    if target is not None:
        ax.axhline(target, color="0.35", linestyle=":", linewidth=1.2,
                   label=f"target ({target:g})", zorder=1)
    _format_size_axis(ax, all_sizes, log_x)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def _check_efficiency_options(spread, target):
    """A ``ValueError`` for an unknown ``spread`` or a ``target`` that is not finite."""
    if spread not in _SPREADS:
        raise ValueError(f"Unknown spread {spread!r}; expected 'std', 'minmax' or None.")
    if target is not None and not (isinstance(target, Real) and np.isfinite(target)):
        raise ValueError(f"target must be a finite number or None, got {target!r}.")


def _numeric_rows(records, metric, by):
    """The rows of ``records``, checked: numeric ``by`` and metric, positive sizes."""
    rows = _records_table(records, metric, by)
    for row in rows:
        try:
            size = float(row[by])
            float(row[metric])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{by} and {metric!r} must be numbers; got {row[by]!r} and {row[metric]!r}."
            ) from exc
        if not np.isfinite(size) or size <= 0:
            raise ValueError(f"{by} must be positive and finite, got {size}.")
    return rows


def _summarised_curves(rows, metric, by):
    """Estimator -> its rows of ``summarize_curves`` (mean, std, min, max), sizes ascending."""
    from .model_selection import summarize_curves

    summary = summarize_curves([{"estimator": str(r["estimator"]), by: r[by],
                                 "score": r[metric]} for r in rows],
                               return_dataframe=False, by=by)
    curves = {}
    for row in summary:
        curves.setdefault(row["estimator"], []).append(row)
    return curves


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def _curve_styles(names, baselines):
    """Name -> ``(colour, linestyle, marker, shift)``: solid in colour for models, dashed
    grey for baselines; a marker shape of its own and a small sideways shift per curve, so
    that a curve lying on another stays visible."""
    palette, greys = _colours(), ["0.25", "0.5", "0.65", "0.4", "0.75"]
    names = list(names)
    baselines = [str(b) for b in (baselines or [])]
    models = [name for name in names if name not in baselines]
    styles = {}
    for i, name in enumerate(names):
        shift = 1.0 + 0.012 * (i - (len(names) - 1) / 2)  # a factor on the size axis
        colour, line = ((greys[baselines.index(name) % len(greys)], "--") if name in baselines
                        else (palette[models.index(name) % len(palette)], "-"))
        styles[name] = (colour, line, _MARKERS[i % len(_MARKERS)], shift)
    return styles


def _draw_curve(ax, name, cells, colour, style, marker, shift, spread, bounds, floor=None):
    """One estimator's mean line and its spread band; returns the sizes drawn (the line is
    drawn ``shift`` times them, a few percent aside). Means below ``floor`` sit on it, as
    downward triangles."""
    sizes = np.array([float(c["train_size"]) for c in cells])
    mean = np.array([c["mean"] for c in cells])
    shown = mean if floor is None else np.maximum(mean, floor)
    ax.plot(sizes * shift, shown, marker=marker, markersize=5, linewidth=1.8, color=colour,
            linestyle=style, label=name, zorder=3, markerfacecolor="white",
            markeredgewidth=1.4)
    if floor is not None and np.any(mean < floor):
        ax.plot(sizes[mean < floor] * shift, shown[mean < floor], marker="v", markersize=8,
                linestyle="none", color=colour, zorder=4)
    if spread is not None:
        low, high = _spread_band(cells, mean, spread, bounds)
        ax.fill_between(sizes * shift, low, high, color=colour,
                        alpha=0.18 if style == "-" else 0.1, linewidth=0, zorder=2)
    return sizes.tolist()


def _mark_floor(ax, floor, below):
    """Cut the axis at ``floor`` and say on the figure which means lie below it."""
    top = ax.get_ylim()[1]
    ax.set_ylim(floor - 0.03 * (top - floor), top)
    text = "; ".join(f"{name} down to {value:.3g}" for name, value in below.items())
    ax.text(0.01, 0.01, f"axis cut at {floor:g} (\u25bc: below it): {text}",
            transform=ax.transAxes, fontsize="x-small", va="bottom", ha="left", color="0.3",
            wrap=True)


def _spread_band(cells, mean, spread, bounds):
    """``(low, high)`` of the band around ``mean``, clipped to the score's ``bounds``."""
    if spread == "std":
        std = np.nan_to_num(np.array([c["std"] for c in cells]))  # no band for one repeat
        low, high = mean - std, mean + std
    else:
        low = np.array([c["min"] for c in cells])
        high = np.array([c["max"] for c in cells])
    return np.clip(low, *bounds), np.clip(high, *bounds)


def _format_size_axis(ax, sizes, log_x):
    """Scale, limits, ticks (every size that fits, written in full) and label of x."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = np.array(sorted(sizes))
    if log_x:
        ax.set_xscale("log")
        pad = (ticks[-1] / ticks[0]) ** 0.04 if ticks.size > 1 else 1.5
        ax.set_xlim(ticks[0] / pad, ticks[-1] * pad)
    ticks = _thinned_ticks(ticks, log_x)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_size_label))
    ax.xaxis.set_minor_locator(NullLocator())
    fractions = ticks.max() <= 1 and not all(float(t).is_integer() for t in ticks)
    ax.set_xlabel("fraction of the training split" if fractions
                  else "training-set size (sequences)")


def _thinned_ticks(ticks, log_x):
    """The sorted ``ticks`` whose labels do not collide, the largest always kept."""
    # Keep a tick only when it lies at least 1/12 of the axis (in log or linear position)
    # beyond the previous one kept.
    position = np.log(ticks) if log_x else ticks
    span = position[-1] - position[0]
    kept = [0]
    for i in range(1, ticks.size):
        if position[i] - position[kept[-1]] >= span / 12:
            kept.append(i)
    if kept[-1] != ticks.size - 1:  # always label the largest size
        kept[-1] = ticks.size - 1
    return ticks[kept]


# ----------------------------------------------------------------------- induced kernel
def plot_induced_kernel(empirical, predicted, *, ax=None, n_modes=None, title=None):
    """Eigenvalues of the SSM-induced kernel against their spectral prediction.

    Both series are sorted in descending order and drawn against the mode index (from 1)
    on log-log axes. A text box gives the relative L2 gap ``||e - p|| / ||p||`` over
    all modes. Eigenvalues below 1e-8 times the largest (round-off, or the null space
    of a rank-deficient input covariance when ``n_samples < L``) are not drawn.

    Parameters
    ----------
    empirical, predicted : array-like of shape (L,)
        The output of :func:`sktdi.spectral.induced_kernel_spectrum`.
    ax : matplotlib Axes, default=None
        Where to draw; a new 6 x 4 inch figure when None.
    n_modes : int, default=None
        Show only the ``n_modes`` largest eigenvalues (all when None).
    title : str, default=None
        Defaults to ``"SSM-induced kernel spectrum"``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sktdi.plotting import plot_induced_kernel
    >>> p = 1.0 / np.arange(1, 65) ** 2
    >>> ax = plot_induced_kernel(p * 1.1, p)
    >>> ax.get_xscale(), ax.get_yscale(), len(ax.get_lines())
    ('log', 'log', 2)
    >>> print(ax.texts[0].get_text())
    relative gap ‖e − p‖ / ‖p‖ = 0.100
    >>> matplotlib.pyplot.close(ax.figure)
    """
    e = _as_spectrum(empirical, "empirical")
    p = _as_spectrum(predicted, "predicted")
    if e.shape != p.shape:
        raise ValueError(
            f"empirical has {e.size} eigenvalues but predicted has {p.size}; they must "
            "have the same length."
        )
    norm_p = np.linalg.norm(p)
    if norm_p == 0:
        raise ValueError("predicted is identically zero; the relative gap is undefined.")
    if n_modes is not None and (
        isinstance(n_modes, bool) or not isinstance(n_modes, Integral) or n_modes < 1
    ):
        raise ValueError(f"n_modes must be a positive integer or None, got {n_modes!r}.")
    gap = np.linalg.norm(e - p) / norm_p
    e, p = -np.sort(-e), -np.sort(-p)
    if n_modes is not None:
        e, p = e[:n_modes], p[:n_modes]
    index = np.arange(1, e.size + 1)
    floor = _log_floor([e, p])

    def shown(values):  # round-off eigenvalues end the line instead of a flat floor
        return np.where(values > floor, values, np.nan)

    ax = _axes(ax, (6, 4))
    ax.plot(index, shown(e), color="C0", linewidth=2.0,
            label="empirical (Toeplitz eigenvalues)")
    ax.plot(index, shown(p), color="C3", linestyle="--", linewidth=1.6,
            label="predicted $|H|^2\\,S_u$ (sorted)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mode index (descending eigenvalue)")
    ax.set_ylabel("eigenvalue")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title("SSM-induced kernel spectrum" if title is None else title)
    ax.legend(loc="upper right", fontsize="small")
    ax.text(0.03, 0.04, f"relative gap ‖e − p‖ / ‖p‖ = {gap:.3f}", transform=ax.transAxes,
            fontsize="small", va="bottom", ha="left",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"})
    return ax


# ------------------------------------------------------------------- frequency response
def plot_frequency_response(
    params, L, *, ax=None, units="cycles", per_channel=False, max_channels=8,
):
    """Power gain ``|H(w)|^2`` of an SSM layer on the real-FFT grid of length ``L``.

    Parameters
    ----------
    params : SSMParams
    L : int
        Sequence length; the grid has ``L // 2 + 1`` frequencies.
    ax : matplotlib Axes, default=None
        Where to draw; a new 7 x 3.8 inch figure when None.
    units : {"cycles", "radians"}, default="cycles"
    per_channel : bool, default=False
        One line per channel (the first ``max_channels``) instead of the sum over
        channels that the spectral matching uses.
    max_channels : int, default=8

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktdi.core import make_params
    >>> from sktdi.plotting import plot_frequency_response
    >>> params = make_params("S4D-Lin", d_model=4, n_states=8, random_state=0)
    >>> ax = plot_frequency_response(params, 64, per_channel=True, max_channels=3)
    >>> len(ax.get_lines()), ax.get_ylabel()
    (3, 'power gain $|H(\\\\omega)|^2$')
    >>> matplotlib.pyplot.close(ax.figure)
    """
    _check_units(units)
    if isinstance(max_channels, bool) or not isinstance(max_channels, Integral) or (
        max_channels < 1
    ):
        raise ValueError(f"max_channels must be a positive integer, got {max_channels!r}.")
    power = model_power_spectrum(params, L, per_channel=True)  # (H, L // 2 + 1)
    if power.shape[-1] < 2:
        raise ValueError(f"L={L} gives a single frequency bin; use L >= 2.")
    freqs, xlabel = _frequencies(power.shape[-1], units, seq_len=L)

    ax = _axes(ax, (7, 3.8))
    if per_channel:
        shown = power[:max_channels]
        floor = _log_floor(shown)
        for h, row in enumerate(shown):
            ax.plot(freqs, np.maximum(row, floor), linewidth=1.4, label=f"channel {h}")
        header = (f"first {shown.shape[0]} of {power.shape[0]} channels"
                  if shown.shape[0] < power.shape[0] else None)
        ax.legend(title=header, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, fontsize="small", title_fontsize="small",
                  frameon=False)
    else:
        total = power.sum(axis=0)
        floor = _log_floor([total])
        ax.plot(freqs, np.maximum(total, floor), color="black", linewidth=1.8,
                label=f"sum over {power.shape[0]} channels")
        ax.legend(loc="best", fontsize="small")
    _format_frequency_axis(ax, units, xlabel)
    ax.set_ylabel("power gain $|H(\\omega)|^2$")
    ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(f"SSM frequency response (L = {L}, N = {params.n_states} states)")
    return ax


# ------------------------------------------------------------------- init="auto" evidence
def plot_init_scores(estimator, *, ax=None, title=None):
    """The evidence of ``init="auto"``: every candidate's leave-one-out score.

    One horizontal bar per candidate initialization (the base and TDI with each spectrum
    kind), the chosen one highlighted. Scores are those of ``estimator.init_scores_``:
    minus the mean squared leave-one-out error of the ridge readout (higher is better).

    Parameters
    ----------
    estimator : fitted estimator with ``init="auto"``
        An :class:`~sktdi.SSMFeatureClassifier`, :class:`~sktdi.SSMFeatureRegressor`,
        :class:`~sktdi.SSMClassifier` or :class:`~sktdi.SSMRegressor`.
    ax : matplotlib Axes, default=None
        Where to draw; a new 6 x 2.6 inch figure when None.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sktdi import SSMFeatureClassifier
    >>> from sktdi.datasets import make_spectral_task
    >>> from sktdi.plotting import plot_init_scores
    >>> X, y = make_spectral_task(40, 64, random_state=0)
    >>> clf = SSMFeatureClassifier(init="auto", d_model=16, random_state=0).fit(X, y)
    >>> ax = plot_init_scores(clf)
    >>> [t.get_text() for t in ax.get_yticklabels()][0]
    'S4D-LegS'
    >>> matplotlib.pyplot.close(ax.figure)
    """
    scores = getattr(estimator, "init_scores_", None)
    if scores is None:
        raise ValueError(
            f"{type(estimator).__name__} holds no init_scores_: fit it with init='auto' "
            "first (other initializations compare no candidates)."
        )
    labels = list(scores)
    values = np.array([scores[label] for label in labels], dtype=np.float64)
    chosen = estimator.init_selected_
    ax = _axes(ax, (6, 2.6))
    colours = ["C0" if label == chosen else "0.7" for label in labels]
    positions = np.arange(len(labels))[::-1]  # the first candidate (the base) on top
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels)
    ax.set_xlabel("leave-one-out score (minus mean squared error)")
    ax.axvline(scores[labels[0]], color="black", linewidth=0.8, linestyle="--")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title if title is not None else f"init='auto' chose {chosen}")
    return ax
