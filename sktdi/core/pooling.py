"""Pooling over time: the statistics of every SSM channel's output that both estimator
families read.

Every channel's output ``y[h]`` is pooled over a sequence's own steps:

* ``"ppv"``: proportion of positive values of ``y - b`` for ``n_biases`` biases ``b``
  drawn from the training outputs of the channel (MiniRocket's pooling);
* ``"lspv"``: longest stretch of consecutive positive values of ``y - b``, over the
  sequence's length (MultiRocket's): *how long* an event lasts, which a proportion cannot
  tell;
* ``"max"``, ``"min"``: extremes of the output;
* ``"last"``: the output at the last step, a linear read of the final state, which
  remembers *when* things happened through the modes' decay;
* ``"mean"`` and ``"power"`` (mean square): the linear and quadratic means.

The pooling can also read the first difference of the last channels' outputs (``y[t] -
y[t-1]``, 0 at the first step) as channels of their own: on the CPU without a gradient
the counting kernel differences them as it reads the steps, and nothing is stored.

The two counts are steps of ``1 / L``: they have no gradient. Training reads them through
their smooth forms, in which the step ``[y_t > b]`` becomes the logistic
``sigmoid((y_t - b) / w)`` of a width ``w`` per channel: ``ppv`` becomes the mean of the
logistic over the steps, and ``lspv`` its sum over the longest run and the two steps that
bound it (the steps whose crossing would lengthen it; with no run, the highest step). As
``w`` goes to 0 both tend to the counts. The values the model computes are always the
counts themselves (so that a trained model starts exactly where the training-free one
is); only their gradients come from the smooth forms, as the gradient of ``max`` comes
from its maximizer.
"""

import functools

import numba
import numpy as np
import torch

from .padding import step_mask

__all__ = ["DEFAULT_STATISTICS", "PER_BIAS", "STATISTICS", "bias_levels", "first_difference",
           "pooled_statistics", "weighted_quantile_midpoints"]

STATISTICS = ("ppv", "lspv", "max", "min", "last", "mean", "power")
DEFAULT_STATISTICS = ("ppv", "lspv", "max", "min", "last")
# Statistics with one value per bias; the others give one value per channel.
PER_BIAS = frozenset({"ppv", "lspv"})
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
# The statistics that read one step of every channel (their gradient reaches that step).
_READ_STEPS = ("max", "min", "last")
# What the counting kernel gives of differenced channels without storing them.
_COUNTED = frozenset({"ppv", "lspv", "max", "min", "last"})
# Elements of one (B, H, steps, q) block of the smooth forms' backward pass.
_BACKWARD_ELEMENTS = 2**22
# Steps of the sequences whose shared exponentials the compiled backward pass computes at
# once: 2 MiB of float64 stay in the caches between NumPy's passes and the kernel's (17%
# faster than 2**22 on 160 x 256 x 427, ad hoc).
_EXPONENTIAL_ELEMENTS = 2**18


def bias_levels(n_channels, n_biases):
    """Quantile levels of the biases, ``(H, n_biases)`` in ``[0.1, 0.9]``.

    Channel ``h`` takes ``n_biases`` evenly spaced levels shifted by ``h`` times the golden
    ratio: together the channels cover the range densely (a low-discrepancy sequence, as
    MiniRocket draws its quantiles), and no two channels share their levels.
    """
    shift = np.arange(n_channels)[:, None] * _GOLDEN
    levels = (shift + np.arange(n_biases)[None, :] / n_biases) % 1.0
    return 0.1 + 0.8 * levels


def weighted_quantile_midpoints(values, weights, levels):
    """Per row, the point halfway between the weighted ``level``-quantile and the next
    value that is larger by more than rounding: a threshold at least four rounding units
    (of the row's largest magnitude) away from every value, so that ``y > b`` does not flip
    with the last bits of ``y``, which differ between machines and batch positions. Above
    the largest value the threshold sits eight such units above it.

    Parameters
    ----------
    values : tensor (H, m)
    weights : tensor (m,)
        Non-negative, not all zero. A weight of ``k`` counts like ``k`` repeated values.
    levels : tensor (H, q)
        Levels in ``[0, 1]``.

    Returns
    -------
    thresholds : tensor (H, q)
    """
    last = values.shape[1] - 1
    if bool((weights == weights[0]).all()):  # equal weights: ranks, and no order needed
        sorted_values = _sorted_rows(values, with_order=False)
        ranks = torch.arange(1, last + 2, dtype=values.dtype, device=values.device)  # (m,)
        below = torch.searchsorted(ranks, levels * (last + 1))
    else:
        sorted_values, order = _sorted_rows(values, with_order=True)
        cumulative = torch.cumsum(weights[order], dim=1)  # (H, m)
        below = torch.searchsorted(cumulative, levels * cumulative[:, -1:])
    below = below.clamp(max=last)  # (H, q)
    low = torch.gather(sorted_values, 1, below)
    # values within a few rounding units of each other are one value
    tol = 8 * torch.finfo(values.dtype).eps * sorted_values.abs().amax(1, keepdim=True)
    above = torch.searchsorted(sorted_values, low + tol, right=True)  # first larger value
    high = torch.gather(sorted_values, 1, above.clamp(max=last))
    return torch.where(above <= last, (low + high) / 2, low + tol)


def _sorted_rows(values, with_order):
    """Every row of ``values`` (H, m) sorted, and the order that sorts it if asked."""
    if values.device.type == "cpu":  # numpy's sorts are vectorized (twice torch's speed)
        rows = values.detach().numpy()
        if not with_order:  # sorting the values alone is twice as fast again
            return torch.from_numpy(np.sort(rows, axis=1))
        order = torch.from_numpy(np.argsort(rows, axis=1))
        return torch.take_along_dim(values, order, dim=1), order
    sorted_values, order = torch.sort(values.contiguous(), dim=1)
    sorted_values = sorted_values.contiguous()  # a one-value row can come back strided
    return (sorted_values, order) if with_order else sorted_values


def first_difference(y):  # (B, E, L) -> (B, E, L)
    """``y[t] - y[t-1]`` along the steps, 0 at the first step."""
    return torch.diff(y, dim=-1, prepend=y[..., :1])


def pooled_statistics(y, biases, statistics, lengths=None, widths=None, differenced=0):
    """Pool every channel's output over time.

    Parameters
    ----------
    y : tensor (B, H, L)
        Outputs: every channel of every sequence, in any layout (the CPU's counting
        kernel reads steps first without a copy: :func:`_compiled_counts`).
    biases : tensor (H + E, q)
    statistics : sequence of str
        Names from :data:`STATISTICS`.
    lengths : tensor (B,), default=None
        Every sequence's own length when some are shorter than ``L``: the statistics then
        read its steps only (proportions and means over its length, ``"last"`` at its
        last step).
    widths : tensor (H + E,), default=None
        Widths of the smooth forms of ``"ppv"`` and ``"lspv"`` (module docstring), which
        give their gradients; without them (or without a gradient to compute) the counts
        have none.
    differenced : int, default=0
        ``E``: also pool the first difference (:func:`first_difference`) of the last
        ``E`` channels, as channels ``H`` to ``H + E - 1``.

    Returns
    -------
    features : tensor (B, n_features)
        Statistic by statistic (in the given order), channel-major within each; per-bias
        statistics give ``(H + E) * q`` columns, the others ``H + E``.
    """
    differentiable = torch.is_grad_enabled() and (y.requires_grad or biases.requires_grad)
    compiled = y.device.type == "cpu" and not differentiable
    if differenced and not (compiled and _COUNTED.issuperset(statistics)):
        y = torch.cat([y, first_difference(y[:, y.shape[1] - differenced:])], dim=1)
        differenced = 0
    steps, low, high, mean, last = _time_readers(y, lengths)
    per_bias, reads = {}, {}
    if compiled:
        # one compiled pass over the steps: counts, runs and extremes, the padding
        # skipped, the differenced channels differenced on the way
        counted = biases if PER_BIAS.intersection(statistics) else biases[:, :0]
        count, longest, reads = _counts_and_extremes(y, counted, "lspv" in statistics,
                                                     lengths, differenced)
        per_bias = {"ppv": count, "lspv": longest}
        if "last" in statistics:
            reads["last"] = _last_values(y, last, differenced)
    # with a gradient on the CPU, one compiled pass gives the counts, the runs and the
    # extremes with the steps they were read at: on OSULeaf's training batches torch's
    # max and min with indices and the backward pass's argmax took 17 ms, the whole
    # pass 7 ms, and the trained fit took 0.91 times as long with the pass (ad hoc)
    counted = None
    if (differentiable and y.device.type == "cpu"
            and not PER_BIAS.union(_READ_STEPS).isdisjoint(statistics)):
        counted = _counts_and_steps(
            y, biases if PER_BIAS.intersection(statistics) else biases[:, :0], lengths)
    if not compiled and PER_BIAS.intersection(statistics):
        longest_runs = "lspv" in statistics
        if widths is not None and differentiable:
            count, longest = _SmoothCounts.apply(
                low(), biases, widths, longest_runs, None if counted is None else counted[:4])
        else:
            count, longest = (_threshold_counts(low(), biases, longest_runs)[:2]
                              if counted is None else counted[:2])
            count = count.to(y.dtype)
            longest = None if longest is None else longest.to(y.dtype)
        per_bias = {"ppv": count, "lspv": longest}
    if differentiable and not set(_READ_STEPS).isdisjoint(statistics):
        extremes = None if counted is None else counted[4:]
        reads = dict(zip(_READ_STEPS, _ReadSteps.apply(
            y, low() if extremes is None else None, high() if extremes is None else None,
            last, extremes), strict=True))
    columns = []
    for name in statistics:
        if name in PER_BIAS:
            columns.append(per_bias[name].flatten(1) / steps)
        elif name == "max":
            columns.append(reads["max"] if reads else low().amax(-1))
        elif name == "min":
            columns.append(reads["min"] if reads else high().amin(-1))
        elif name == "last":
            columns.append(reads["last"] if "last" in reads else y.gather(-1, last)[..., 0])
        elif name == "mean":
            columns.append(mean(y))
        elif name == "power":
            columns.append(mean(y.pow(2)))
        else:
            raise ValueError(f"Unknown statistic {name!r}; expected one of {STATISTICS}.")
    return torch.cat(columns, dim=1)


class _ReadSteps(torch.autograd.Function):
    """``max``, ``min`` and ``last`` of ``y`` (B, H, L), (B, H) each, read from ``low`` and
    ``high`` (``y`` with its padding below or above every value), or given as
    ``extremes`` ``(max, its steps, min, its steps)``, (B, H) and (B, H, 1) each, and the
    ``last`` step's indices (B, H, 1). Backward, each passes its gradient to the one step
    it read (the first maximizer or minimizer, as ``torch.max`` picks it): one
    ``(B, H, L)`` tensor and three scatters, where autograd of ``amax``, ``amin`` and
    ``gather`` builds three such tensors (comparisons, products, a padded copy) and adds
    them. No second derivative.
    """

    @staticmethod
    def forward(ctx, y, low, high, last, extremes=None):
        if extremes is None:
            top, at_top = low.max(-1, keepdim=True)
            bottom, at_bottom = high.min(-1, keepdim=True)
            top, bottom = top[..., 0], bottom[..., 0]
        else:
            top, at_top, bottom, at_bottom = extremes
        ctx.save_for_backward(at_top, at_bottom, last)
        ctx.shape = y.shape
        return top, bottom, y.gather(-1, last)[..., 0]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_top, grad_bottom, grad_last):
        grad = grad_top.new_zeros(ctx.shape)
        for step, g in zip(ctx.saved_tensors, (grad_top, grad_bottom, grad_last),
                           strict=True):
            grad.scatter_add_(-1, step, g[..., None])
        return grad, None, None, None, None


def _time_readers(y, lengths):
    """How :func:`pooled_statistics` reads ``y`` (B, H, L) over every sequence's steps:
    ``(steps, low, high, mean, last)``, the divisor of counts, ``y`` with the padding
    below (``low``) or above (``high``) every value (both lazy, ``low`` made once), the
    mean over time of a ``(B, H, L)`` tensor, and the indices of the last step (B, H, 1).
    Equal lengths read ``y`` itself."""
    batch, H, L = y.shape
    if lengths is None:
        last = torch.full((batch, H, 1), L - 1, device=y.device)
        return L, lambda: y, lambda: y, lambda t: t.mean(-1), last
    outside = ~step_mask(lengths, L)[:, None, :]  # (B, 1, L): the padding
    steps = lengths.to(y.dtype)[:, None]  # (B, 1)
    # the padding below every bias is never counted above one, and it ends every run
    low = functools.cache(lambda: y.masked_fill(outside, -torch.inf))
    last = (lengths - 1).view(-1, 1, 1).expand(-1, H, 1)
    return (steps, low, lambda: y.masked_fill(outside, torch.inf),
            lambda t: t.masked_fill(outside, 0.0).sum(-1) / steps, last)


def _last_values(y, last, differenced):
    """``y`` (B, H, L) at every sequence's ``last`` step (B, H, 1), then the first
    difference there of its last ``differenced`` channels: (B, H + E)."""
    at_last = y.gather(-1, last)[..., 0]  # (B, H)
    if not differenced:
        return at_last
    H = y.shape[1]
    part, steps = y[:, H - differenced:], last[:, H - differenced:]
    before = part.gather(-1, (steps - 1).clamp(min=0))[..., 0]
    change = torch.where(steps[..., 0] > 0, at_last[:, H - differenced:] - before, 0.0)
    return torch.cat([at_last, change.to(y.dtype)], dim=1)


def _counts_and_extremes(y, biases, longest_runs, lengths=None, differenced=0):
    """``(count, longest, {"max": ..., "min": ...})`` of ``y`` (B, H, L) on the CPU, over
    every sequence's own steps (``lengths``, or all): the counts of :func:`_threshold_counts`
    in ``y``'s dtype (``longest`` None unless ``longest_runs``) and every channel's extremes
    (B, H + E), from one pass of :func:`_count_runs`, without a gradient; the last ``E =
    differenced`` channels also differenced (channels ``H`` onwards)."""
    count, longest, _, maxima, minima, _, _ = _compiled_counts(
        y, biases, lengths, longest_runs, differenced=differenced)

    def per_channel(counter):  # (B, q, H) int -> (B, H, q) in y's dtype
        return torch.from_numpy(counter).transpose(1, 2).to(y.dtype)

    return (per_channel(count), per_channel(longest) if longest_runs else None,
            {"max": torch.from_numpy(maxima), "min": torch.from_numpy(minima)})


def _counts_and_steps(y, biases, lengths=None):
    """What the gradient path reads of ``y`` (B, H, L) on the CPU, over every sequence's
    own steps, from one pass of :func:`_count_runs` (runs and their ends tracked):
    ``(count, longest, end, peak, top, at_top, bottom, at_bottom)``. The first four are
    what :class:`_SmoothCounts` needs (int tensors (B, H, q), then the first maximizer's
    step (B, H)), the last four what :class:`_ReadSteps` does (the extremes (B, H) in
    ``y``'s dtype and their first steps (B, H, 1)). The steps are those that ``torch.max``
    and ``torch.argmax`` give of ``y`` with its padding below (or above) every value."""
    count, longest, end, top, bottom, at_top, at_bottom = _compiled_counts(
        y, biases, lengths, True, True)

    def per_channel(counter):  # (B, q, H) -> (B, H, q)
        return torch.from_numpy(counter).transpose(1, 2).contiguous()

    at_top, at_bottom = torch.from_numpy(at_top), torch.from_numpy(at_bottom)
    return (per_channel(count), per_channel(longest), per_channel(end), at_top,
            torch.from_numpy(top), at_top[..., None], torch.from_numpy(bottom),
            at_bottom[..., None])


def _threshold_counts(y, biases, longest_runs, track_ends=False):
    """Steps above every bias, the longest run of consecutive such steps, and (with
    ``track_ends``) the step that ends the first longest run, of ``y`` (B, H, L).

    On the CPU a compiled kernel (:func:`_count_runs`) reads the steps once and counts
    across channels; elsewhere, one pass over time on ``(B, H, q)``
    counters (a run grows by one above the bias and restarts at zero below it). Both count
    the same steps.

    Returns
    -------
    count, longest, end : int tensors (B, H, q); ``longest`` is None unless
    ``longest_runs``, ``end`` None unless ``track_ends``.
    """
    if y.device.type == "cpu":
        counters = _compiled_counts(y, biases, None, longest_runs or track_ends,
                                    track_ends)[:3]  # (B, q, H)
        count, longest, end = (torch.from_numpy(counter).transpose(1, 2).contiguous()
                               for counter in counters)
        return count, longest if longest_runs else None, end if track_ends else None
    batch, H, L = y.shape
    counter = torch.from_numpy(_counter(L)).dtype  # the compiled kernel's type
    count = torch.zeros(batch, H, biases.shape[1], dtype=counter, device=y.device)
    above = torch.empty(count.shape, dtype=torch.bool, device=y.device)
    run = torch.zeros_like(count) if longest_runs else None
    longest = torch.zeros_like(count) if longest_runs else None
    end = torch.zeros_like(count, dtype=torch.int32) if track_ends else None
    for t in range(L):
        torch.gt(y[..., t, None], biases, out=above)  # (B, H, q)
        count.add_(above)
        if longest_runs:
            run.add_(1).mul_(above)
            if track_ends:
                end.masked_fill_(run > longest, t)
            torch.maximum(longest, run, out=longest)
    return count, longest, end


def _counter(L):
    """A zero of the counting kernel's counter type for ``L`` steps: int16 where the
    counts fit (twice the lanes per vector instruction: the kernel 11% faster at 1,460
    steps), int32 beyond."""
    return np.zeros(1, dtype=np.int16 if L <= np.iinfo(np.int16).max else np.int32)


# Values moved steps first at a time for the counting kernel when ``y`` is stored
# channels first: 2**18 float32 (1 MiB), one buffer reused, where a transposed copy of
# all of ``y`` is fresh memory faulted in page by page (in training, four times the time
# of the copy itself).
_TRANSPOSED_ELEMENTS = 2**18


def _compiled_counts(y, biases, lengths, longest_runs, track_ends=False, differenced=0):
    """:func:`_count_runs` of ``y`` (B, H, L) on the CPU (``lengths``: every sequence's
    steps, or None for all; the last ``differenced`` channels also differenced), its
    seven outputs (the counters (B, q, H + E)) as NumPy arrays.

    The kernel reads every step's channels contiguous. Outputs filtered without a
    gradient are stored that way (:class:`~sktdi.core.bank.SSMBank`) and read in place;
    others are transposed by torch a few sequences at a time, about twice as fast as the
    kernel's own tiled transposition was (three quarters of its time)."""
    steps_first = y.detach().transpose(1, 2)  # (B, L, H)
    batch, L, H = steps_first.shape
    steps = (np.full(batch, L) if lengths is None
             else lengths.cpu().numpy()).astype(np.int64)
    options = (biases.detach().to(y.dtype).T.contiguous().numpy(), longest_runs, track_ends,
               _counter(L), differenced)
    if steps_first.is_contiguous():
        return _count_runs(steps_first.numpy(), options[0], steps, *options[1:])
    rows = max(1, _TRANSPOSED_ELEMENTS // (L * H))
    buffer = steps_first.new_empty((min(rows, batch), L, H))
    parts = []
    for start in range(0, batch, rows):
        block = buffer[:min(rows, batch - start)]
        block.copy_(steps_first[start:start + rows])
        parts.append(_count_runs(block.numpy(), options[0], steps[start:start + rows],
                                 *options[1:]))
    return tuple(np.concatenate(part) for part in zip(*parts, strict=True))


def _count_runs(values, biases, lengths, longest_runs, track_ends, counter, differenced):
    """``(count, longest, end, maxima, minima, at_max, at_min)`` of ``values`` (B, L, H0),
    steps first, and of the first difference of its last ``E = differenced`` channels (0
    at the first step; channels ``H0`` to ``H - 1``, ``H = H0 + E``), against ``biases``
    (q, H), over the first ``lengths[b]`` steps of every sequence ``b``: the counters
    (B, q, H) of ``counter``'s type (``end``: int32) and every channel's extremes (B, H)
    in ``values``' dtype. ``end`` (the step that ends the first longest run) is filled only
    with ``track_ends``, ``longest`` only with ``longest_runs`` (or ``track_ends``), and
    the first steps of the extremes ``at_max`` and ``at_min`` (B, H) int64 only with
    ``track_ends`` (the gradient path's mode).

    Every mode has a compiled kernel of its own: with the mode a constant the compiler
    drops the other modes' loops, and the loop that remains is vectorized about 25%
    faster (OSULeaf's test outputs, ad hoc) than with the mode as an argument."""
    kernel = (_count_ends if track_ends else _count_longest if longest_runs
              else _count_above)
    return kernel(values, biases, lengths, counter, differenced)


@numba.njit(inline="always")
def _count_runs_of_mode(values, biases, lengths, counter, differenced, longest_runs,
                        track_ends):  # pragma: no cover - compiled
    """The kernel of :func:`_count_runs` for constant ``longest_runs`` and ``track_ends``
    (inlined where they are constants, so that the compiler keeps one loop).

    One step of all channels, contiguous, updates their counters in vector
    instructions: twice as fast as a channel at a time, whose few biases leave the
    vector units idle. With differences, every step and its differences are first
    written into one row (the cost of counting H contiguous channels; the differences
    are never stored whole). Slices, not offset indices, reach the differenced
    channels: an index that might be negative is checked at every read, which keeps
    a loop from vector instructions (the counting of the differences then took three
    times as long)."""
    batch, _, H0 = values.shape
    H = H0 + differenced
    first = H0 - differenced  # the first differenced channel
    q = biases.shape[0]
    count = np.zeros((batch, q, H), dtype=counter.dtype)
    longest = np.zeros((batch, q, H), dtype=counter.dtype)
    end = np.zeros((batch, q, H), dtype=np.int32)
    maxima = np.full((batch, H), -np.inf, dtype=values.dtype)
    minima = np.full((batch, H), np.inf, dtype=values.dtype)
    at_max = np.zeros((batch, H), dtype=np.int64)
    at_min = np.zeros((batch, H), dtype=np.int64)
    run = np.zeros((q, H), dtype=counter.dtype)
    row = np.zeros(H, dtype=values.dtype)  # a step and its differences
    changes = row[H0:]
    # typed constants keep the counters' arithmetic in their own width
    one, zero = counter.dtype.type(1), counter.dtype.type(0)
    for b in range(batch):
        run[:] = 0
        highest, lowest = maxima[b], minima[b]
        at_highest, at_lowest = at_max[b], at_min[b]
        sequence = values[b]
        for t in range(lengths[b]):
            step = sequence[t]
            if differenced:
                row[:H0] = step
                now, before = step[first:], sequence[t - 1 if t else 0, first:]
                for k in range(differenced):
                    changes[k] = now[k] - before[k]  # 0 at the first step
                step = row
            if track_ends:  # a constant: the first step of each extreme too
                for h in range(H):
                    at_highest[h] = t if step[h] > highest[h] else at_highest[h]
                    at_lowest[h] = t if step[h] < lowest[h] else at_lowest[h]
            for h in range(H):
                highest[h] = max(highest[h], step[h])
                lowest[h] = min(lowest[h], step[h])
            for j in range(q):
                bias, above_total = biases[j], count[b, j]
                runs, best, last = run[j], longest[b, j], end[b, j]
                # the conditional expressions are selects, not branches
                for h in range(H):
                    above = step[h] > bias[h]
                    above_total[h] += one if above else zero
                    if longest_runs:  # a constant
                        runs[h] = runs[h] + one if above else zero
                        if track_ends:  # a longer run ends here so far
                            last[h] = t if runs[h] > best[h] else last[h]
                        best[h] = max(best[h], runs[h])
    return count, longest, end, maxima, minima, at_max, at_min


@numba.njit(cache=True, nogil=True)
def _count_above(values, biases, lengths, counter, differenced):  # pragma: no cover
    return _count_runs_of_mode(values, biases, lengths, counter, differenced, False, False)


@numba.njit(cache=True, nogil=True)
def _count_longest(values, biases, lengths, counter, differenced):  # pragma: no cover
    return _count_runs_of_mode(values, biases, lengths, counter, differenced, True, False)


@numba.njit(cache=True, nogil=True)
def _count_ends(values, biases, lengths, counter, differenced):  # pragma: no cover
    return _count_runs_of_mode(values, biases, lengths, counter, differenced, True, True)


# A channel whose biases lie this many widths or more from their mean takes the
# exponential of every step and bias in the backward pass: the one shared exponential
# per step, exp(-(y - m) / w) times exp((b - m) / w), could overflow where the bias's own
# does not.
_SHARED_SPAN = 300.0


@numba.njit(cache=True, nogil=True, fastmath={"reassoc"}, error_model="numpy")
def _smooth_gradients(y, common, biases, scale, shifted, shared, grad_count, grad_longest,
                      low, high, windowed, grad_y,
                      grad_biases):  # pragma: no cover - compiled
    """The backward pass of :class:`_SmoothCounts` on the CPU for ``y`` (B, H, L): fills
    ``grad_y`` (B, H, L) and adds to ``grad_biases`` (H, q) float64.

    The logistic's slope at ``z = (y - b) / w`` is ``e / (1 + e)**2 / w`` with
    ``e = exp(-z)``, and ``exp(-z) = exp(-(y - m) / w) exp((b - m) / w)`` for the mean ``m``
    of the channel's biases: ``common`` (B, H, L) holds the first factor, ``shifted``
    (H, q) the second, so that the steps of a bias are read in one loop of vector
    instructions (where ``shared``; elsewhere every step and bias takes its own
    exponential). In float64 throughout; steps with ``e > 1e150`` (slopes below
    ``1e-150 / w``, and the padding's ``-inf``) add nothing. With ``windowed``,
    ``grad_longest`` also reaches the steps ``low <= t <= high`` (B, H, q). The sums over
    steps may be reassociated (vector lanes): rounding, not values, can differ from a
    sequential sum. NumPy's error model: Python's checks every division for a zero
    divisor, a branch that keeps the loops from vector instructions (twice the time).
    """
    batch, H, L = y.shape
    q = biases.shape[1]
    slope = np.empty(L, dtype=np.float64)
    step = np.empty(L, dtype=np.float64)
    for b in range(batch):
        for h in range(H):
            inverse = scale[h]
            step[:] = 0.0
            for j in range(q):
                weight = grad_count[b, h, j]
                total = 0.0
                if shared[h]:
                    factor = shifted[h, j]
                    for t in range(L):
                        e = common[b, h, t] * factor
                        d = 1.0 + e
                        slope[t] = 0.0 if e > 1e150 else inverse * e / (d * d)
                        g = weight * slope[t]
                        step[t] += g
                        total += g
                else:
                    for t in range(L):
                        e = np.exp(-(y[b, h, t] - biases[h, j]) * inverse)
                        d = 1.0 + e
                        slope[t] = 0.0 if e > 1e150 else inverse * e / (d * d)
                        g = weight * slope[t]
                        step[t] += g
                        total += g
                if windowed:
                    weight = grad_longest[b, h, j]
                    for t in range(max(0, low[b, h, j]), min(L - 1, high[b, h, j]) + 1):
                        g = weight * slope[t]
                        step[t] += g
                        total += g
                grad_biases[h, j] -= total
            for t in range(L):
                grad_y[b, h, t] = step[t]


class _SmoothCounts(torch.autograd.Function):
    """The counts of :func:`_threshold_counts` as values, the gradients of their smooth
    forms (module docstring) backward.

    Inputs: ``y`` (B, H, L) with the padding at ``-inf``, ``biases`` (H, q), ``widths``
    (H,), and optionally what a compiled pass already counted (``(count, longest, end,
    peak)`` of :func:`_counts_and_steps`), which the forward pass then takes. Outputs:
    the counts of steps above every bias and the longest runs, (B, H, q) in ``y``'s dtype
    (zeros of shape (0,) for the runs unless ``longest_runs``). The backward pass is a
    compiled kernel on the CPU (:func:`_smooth_gradients`) and tensor operations over
    blocks of steps elsewhere; neither holds a ``(B, H, L, q)`` tensor.
    """

    @staticmethod
    def forward(ctx, y, biases, widths, longest_runs, counted=None):
        track = longest_runs and any(ctx.needs_input_grad[:2])
        if counted is None:
            count, longest, end = _threshold_counts(y, biases, longest_runs,
                                                    track_ends=track)
            peak = None
        else:  # (count, longest, end, peak) of :func:`_counts_and_steps`
            count, longest, end, peak = counted
        ctx.longest_runs = longest_runs
        ctx.save_for_backward(y, biases, widths, *((longest, end, peak) if track else ()))
        longest = longest.to(y.dtype) if longest_runs else y.new_zeros(0)
        return count.to(y.dtype), longest

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_count, grad_longest):
        y, biases, widths, *runs = ctx.saved_tensors
        q = biases.shape[1]
        window = None
        if ctx.longest_runs and runs:
            longest, end, peak = runs
            peak = (y.argmax(-1) if peak is None else peak)[..., None].expand(-1, -1, q)
            start = end - longest.to(end.dtype) + 1
            found = longest > 0
            window = (torch.where(found, start - 1, peak), torch.where(found, end + 1, peak))
        if y.device.type == "cpu":
            return (*_compiled_backward(y, biases, widths, grad_count, grad_longest, window),
                    None, None, None)
        return (*_blockwise_backward(y, biases, widths, grad_count, grad_longest, window),
                None, None, None)


def _compiled_backward(y, biases, widths, grad_count, grad_longest, window):
    """:func:`_smooth_gradients` on torch tensors: ``(grad_y, grad_biases)``.

    The shared exponentials come from NumPy, whose ``exp`` is vectorized (numba's calls
    the C library's once per value), for blocks of sequences of about
    ``_EXPONENTIAL_ELEMENTS`` steps in all (one sequence at least)."""
    def array(t, dtype=None):
        return t.detach().to(dtype or t.dtype).contiguous().numpy()

    values = array(y)
    batch, H, L = values.shape
    thresholds = array(biases, y.dtype).astype(np.float64)  # (H, q)
    scale = array(1.0 / widths, y.dtype).astype(np.float64)  # (H,)
    middle = thresholds.mean(axis=1)
    exponent = (thresholds - middle[:, None]) * scale[:, None]
    shared = np.abs(exponent).max(axis=1) < _SHARED_SPAN
    with np.errstate(over="ignore"):  # the channels that are not shared do not read it
        shifted = np.exp(exponent)
    windowed = window is not None
    no_steps = np.zeros((0, 0, 0), dtype=np.int64)
    grad_count = array(grad_count, y.dtype)
    grad_longest = (array(grad_longest, y.dtype) if windowed
                    else np.zeros((0, 0, 0), values.dtype))
    low = array(window[0], torch.int64) if windowed else no_steps
    high = array(window[1], torch.int64) if windowed else no_steps
    grad_y = np.empty_like(values)
    grad_biases = np.zeros(thresholds.shape, dtype=np.float64)
    rows = max(1, _EXPONENTIAL_ELEMENTS // max(1, H * L))
    buffer = np.empty((min(rows, batch), H, L), dtype=np.float64)
    for begin in range(0, batch, rows):
        block = slice(begin, begin + rows)
        common = buffer[:len(values[block])]
        # exp(-(y - m) / w) in place: each pass over the block is a fifth of the time
        np.subtract(values[block], middle[:, None], out=common)
        np.multiply(common, -scale[:, None], out=common)
        with np.errstate(over="ignore"):  # inf where a step lies far below (the padding)
            np.exp(common, out=common)
        _smooth_gradients(values[block], common, thresholds, scale, shifted, shared,
                          grad_count[block], grad_longest[block] if windowed else grad_longest,
                          low[block] if windowed else low, high[block] if windowed else high,
                          windowed, grad_y[block], grad_biases)
    return torch.from_numpy(grad_y), torch.from_numpy(grad_biases).to(biases.dtype)


def _blockwise_backward(y, biases, widths, grad_count, grad_longest, window):
    """The backward pass in tensor operations over blocks of steps (off the CPU), so that
    no ``(B, H, L, q)`` tensor is held: ``(grad_y, grad_biases)``."""
    batch, H, L = y.shape
    q = biases.shape[1]
    if window is not None:
        window = (window[0][..., None, :], window[1][..., None, :])  # (B, H, 1, q)
    grad_y = torch.empty_like(y)
    grad_biases = torch.zeros_like(biases)
    scale = (1.0 / widths)[:, None]  # (H, 1)
    steps = max(1, _BACKWARD_ELEMENTS // max(1, batch * H * q))
    for begin in range(0, L, steps):
        z = (y[..., begin:begin + steps, None] - biases[:, None, :]) * scale[:, None]
        slope = torch.sigmoid(z)  # (B, H, T, q)
        slope = slope * (1 - slope) * scale[:, None]  # d sigmoid((y - b) / w) / dy
        weight = grad_count[..., None, :].expand_as(slope)
        if window is not None:
            t = torch.arange(begin, begin + z.shape[-2], device=y.device)[:, None]
            inside = (t >= window[0]) & (t <= window[1])
            weight = weight + grad_longest[..., None, :] * inside
        g = weight * slope  # (B, H, T, q)
        grad_y[..., begin:begin + steps] = g.sum(-1)
        grad_biases -= g.sum((0, 2))
    return grad_y, grad_biases
