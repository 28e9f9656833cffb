"""The training-free feature map: pooled statistics of a fixed diagonal SSM filter bank.

A fixed SSM layer of ``H`` channels filters the input *views*: every input channel and,
with ``differences=True``, its first difference (which removes the level of a sequence
and keeps its shape, as MultiRocket's difference view does). The views share the channels
in contiguous blocks: SSM channel ``h`` reads view ``h * V // H``. Every channel's output
``y[h]`` (``L`` steps) is pooled over time:

* ``"ppv"``: proportion of positive values of ``y - b`` for ``n_biases`` biases ``b``
  drawn from the training outputs of the channel (MiniRocket's pooling);
* ``"lspv"``: longest stretch of consecutive positive values of ``y - b``, over ``L``
  (MultiRocket's): *how long* an event lasts, which a proportion cannot tell;
* ``"max"``, ``"min"``: extremes of the output;
* ``"last"``: the output at the last step, a linear read of the final state, which
  remembers *when* things happened through the modes' decay;
* ``"mean"`` and ``"power"`` (mean square): the linear and quadratic means.

The map is fitted on training sequences (the views' means and scales, the biases) and then
fixed. The filtering runs in float32 (four times faster than float64 on a CPU, and ample for
features read through thresholds and a ridge). Sequences are filtered in blocks of a fixed
number of rows (padded with zeros), a number set by the bank and the sequence length only:
on one machine, matrix products of one shape have computed every row alike, whereas a
product of one row takes another path and rounds differently (a property of the BLAS
kernels, observed rather than promised; other machines and thread counts round otherwise).
The biases sit halfway between training outputs that differ by more than rounding, at
least four rounding units from any of them, so that rounding differences rarely turn into
a step of ``1 / L`` of a count.

Sequences of unequal lengths (NaN padding after their end, :mod:`sktdi.core.padding`) are
filtered with their padding set to 0, in blocks cut to the block's longest sequence, and
every statistic reads a sequence's own steps only. The products then depend on the
block's longest length, so a sequence's features depend on its batch to float32 rounding
(differences of about 1e-8 in the decision values of the tests), not beyond.
"""

import numpy as np
import torch

from .conv import chunked_ssm_conv_encoded
from .kernel import discretize
from .padding import (
    distinct_sequences,
    fill_padding,
    is_padded,
    padding_and_lengths,
    sequence_lengths,
    step_mask,
)

__all__ = [
    "DEFAULT_STATISTICS", "STATISTICS", "SSMFeatureMap", "bias_levels", "input_views",
    "pooled_statistics", "scale_or_one", "view_standardization",
    "weighted_quantile_midpoints",
]

STATISTICS = ("ppv", "lspv", "max", "min", "last", "mean", "power")
DEFAULT_STATISTICS = ("ppv", "lspv", "max", "min", "last")
# Statistics with one value per bias; the others give one value per channel.
PER_BIAS = frozenset({"ppv", "lspv"})
# Bounds on one batch of sequences: its outputs (batch, H, L) and the running counters of
# the per-bias statistics (batch, H, n_biases), which stay small enough for the caches.
_OUTPUT_ELEMENTS = 2**24
_COUNTER_ELEMENTS = 2**17
# Training outputs kept between reading the biases and pooling (fit_transform): 2**26
# float32 are 256 MiB; larger training sets are filtered twice instead.
_KEPT_ELEMENTS = 2**26
_DTYPE = torch.float32
# Training outputs per channel from which the biases are read (a strided subsample of
# every sequence's steps beyond this).
_BIAS_SAMPLE = 2**13
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


# A spread below this fraction of the mean's size is the rounding of a constant: the mean
# of a constant 7.77 over 1,000 steps leaves a standard deviation of 9e-16, which, taken
# for a scale, would turn the constant into +-1 and multiply any change of it by 1e15.
CONSTANT_RTOL = 1e-12


def scale_or_one(std, mean):
    """``std`` where it is a genuine spread, 1 where the values are constant (their spread
    within ``CONSTANT_RTOL`` of the size of their mean, or 0)."""
    std = np.asarray(std, dtype=np.float64)
    constant = std <= CONSTANT_RTOL * np.abs(mean)
    return np.where(constant | (std == 0), 1.0, std)


def input_views(X3, differences, normalize=False):
    """``(n, C, L)`` -> ``(n, V, L)``: the channels and, with ``differences``, their first
    differences (``x[t] - x[t-1]``, 0 at ``t = 0``), so ``V = 2 C``.

    ``normalize`` first standardizes every channel of every sequence to mean 0 and standard
    deviation 1 (a constant channel becomes 0): for collections whose sequences differ in
    scale by orders of magnitude (counts, sales), where one global scale lets the largest
    sequences dominate; it discards each sequence's level and scale.
    """
    if normalize:  # over each sequence's own steps (NaN padding stays NaN)
        mean, std = ((np.nanmean, np.nanstd) if is_padded(X3) else (np.mean, np.std))
        center = mean(X3, axis=-1, keepdims=True)
        X3 = (X3 - center) / scale_or_one(std(X3, axis=-1, keepdims=True), center)
    if not differences:
        return X3
    diff = np.diff(X3, axis=-1, prepend=X3[..., :1])
    return np.concatenate([X3, diff], axis=1)


def view_standardization(views, weights=None):
    """Mean and standard deviation of every view over the sequences and time steps, with
    ``weights`` per sequence (counts); a constant view gets the scale 1. Padded sequences
    (NaN after their end) count their own steps.

    Parameters
    ----------
    views : ndarray of shape (n, V, L)
    weights : ndarray of shape (n,), default=None

    Returns
    -------
    mean, scale : ndarray of shape (V,)
    """
    weights = np.ones(len(views)) if weights is None else np.asarray(weights, np.float64)
    if is_padded(views):  # every sequence over its own steps
        steps = sequence_lengths(views)
        total = weights @ steps
        views = fill_padding(views)
        mean = np.einsum("n,nvl->v", weights, views) / total
        mask = np.arange(views.shape[-1]) < steps[:, None]  # (n, L)
        deviation = (views - mean[:, None]) * mask[:, None, :]
        variance = np.einsum("n,nvl->v", weights, deviation**2) / total
        return mean, scale_or_one(np.sqrt(variance), mean)
    total = weights.sum() * views.shape[-1]
    mean = np.einsum("n,nvl->v", weights, views) / total
    variance = np.einsum("n,nvl->v", weights, (views - mean[:, None]) ** 2) / total
    return mean, scale_or_one(np.sqrt(variance), mean)


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
    sorted_values, order = torch.sort(values.contiguous(), dim=1)
    sorted_values = sorted_values.contiguous()  # a one-value row can come back strided
    cumulative = torch.cumsum(weights[order], dim=1)  # (H, m)
    total = cumulative[:, -1:]
    last = values.shape[1] - 1
    below = torch.searchsorted(cumulative, levels * total).clamp(max=last)  # (H, q)
    low = torch.gather(sorted_values, 1, below)
    # values within a few rounding units of each other are one value
    tol = 8 * torch.finfo(values.dtype).eps * sorted_values.abs().amax(1, keepdim=True)
    above = torch.searchsorted(sorted_values, low + tol, right=True)  # first larger value
    high = torch.gather(sorted_values, 1, above.clamp(max=last))
    return torch.where(above <= last, (low + high) / 2, low + tol)


def pooled_statistics(y, biases, statistics, lengths=None):
    """Pool every channel's output over time.

    Parameters
    ----------
    y : tensor (L, B, H)
        Outputs, time-major: the layout in which one step of every sequence and channel
        is one contiguous block.
    biases : tensor (H, q)
    statistics : sequence of str
        Names from :data:`STATISTICS`.
    lengths : tensor (B,), default=None
        Every sequence's own length when some are shorter than ``L``: the statistics then
        read its steps only (proportions and means over its length, ``"last"`` at its
        last step).

    Returns
    -------
    features : tensor (B, n_features)
        Statistic by statistic (in the given order), channel-major within each; per-bias
        statistics give ``H * q`` columns, the others ``H``.
    """
    steps, low, high, mean, last = _time_readers(y, lengths)
    per_bias = {}
    if PER_BIAS.intersection(statistics):
        count, longest = _threshold_counts(low, biases, "lspv" in statistics)
        per_bias = {"ppv": count, "lspv": longest}
    columns = []
    for name in statistics:
        if name in PER_BIAS:
            columns.append(per_bias[name].to(y.dtype).flatten(1) / steps)
        elif name == "max":
            columns.append(low.amax(0))
        elif name == "min":
            columns.append(high().amin(0))
        elif name == "last":
            columns.append(last())
        elif name == "mean":
            columns.append(mean(y))
        elif name == "power":
            columns.append(mean(y.pow(2)))
        else:
            raise ValueError(f"Unknown statistic {name!r}; expected one of {STATISTICS}.")
    return torch.cat(columns, dim=1)


def _time_readers(y, lengths):
    """How :func:`pooled_statistics` reads ``y`` (L, B, H) over every sequence's steps:
    ``(steps, low, high, mean, last)``, the divisor of counts, ``y`` with the padding
    below (``low``) or, lazily, above (``high``) every value, the mean over time of a
    ``(L, B, H)`` tensor, and the last step. Equal lengths read ``y`` itself."""
    if lengths is None:
        return y.shape[0], y, lambda: y, lambda t: t.mean(0), lambda: y[-1]
    outside = ~step_mask(lengths, y.shape[0]).T[..., None]  # (L, B, 1): the padding
    steps = lengths.to(y.dtype)[:, None]  # (B, 1)
    # the padding below every bias is never counted above one, and it ends every run
    low = y.masked_fill(outside, -torch.inf)
    return (steps, low, lambda: y.masked_fill(outside, torch.inf),
            lambda t: t.masked_fill(outside, 0.0).sum(0) / steps,
            lambda: y[lengths - 1, torch.arange(y.shape[1])])


def _threshold_counts(y, biases, longest_runs):
    """Steps above every bias, and the longest run of consecutive such steps.

    One pass over time on ``(B, H, q)`` counters (a run grows by one above the bias and
    restarts at zero below it), instead of a ``(B, H, q, L)`` block of comparisons and
    cumulative scans, which is several times slower and larger.

    Returns
    -------
    count, longest : int tensors (B, H, q); ``longest`` is None unless ``longest_runs``.
    """
    L, batch, H = y.shape
    counter = torch.int16 if L < torch.iinfo(torch.int16).max else torch.int32
    count = torch.zeros(batch, H, biases.shape[1], dtype=counter)
    above = torch.empty(count.shape, dtype=torch.bool)
    run = torch.zeros_like(count) if longest_runs else None
    longest = torch.zeros_like(count) if longest_runs else None
    for step in y.unsqueeze(-1):  # (B, H, 1)
        torch.gt(step, biases, out=above)
        count.add_(above)
        if longest_runs:
            run.add_(1).mul_(above)
            torch.maximum(longest, run, out=longest)
    return count, longest


class SSMFeatureMap:
    """A fixed SSM layer and the pooled statistics of its outputs (fitted state included).

    Parameters
    ----------
    params : SSMParams
        The filter bank: one SSM layer of ``H`` channels.
    differences : bool, default=True
        Also filter the first difference of every input channel.
    statistics : sequence of str, default=DEFAULT_STATISTICS
        What to pool (module docstring).
    n_biases : int, default=5
        Biases per channel of the per-bias statistics.
    normalize : bool, default=False
        Standardize every sequence's channels on their own first (:func:`input_views`).

    Attributes
    ----------
    view_mean_, view_scale_ : ndarray (V,)
        Standardization of every input view (mean and standard deviation over training
        sequences and steps).
    biases_ : ndarray (H, n_biases)
        Thresholds of ``"ppv"`` and ``"lspv"``, read from the training outputs. These
        attributes exist after :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core import SSMFeatureMap, make_params
    >>> X = np.random.RandomState(0).normal(size=(20, 1, 50))
    >>> bank = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0)).fit(X)
    >>> bank.transform(X).shape  # 4 channels x (5 ppv + 5 lspv + max + min + last)
    (20, 52)
    """

    def __init__(self, params, *, differences=True, statistics=DEFAULT_STATISTICS,
                 n_biases=5, normalize=False):
        unknown = sorted(set(statistics) - set(STATISTICS))
        if unknown or not statistics:
            raise ValueError(f"statistics must be a non-empty selection of {STATISTICS}; "
                             f"got {tuple(statistics)}.")
        self.params = params
        self.differences = bool(differences)
        self.statistics = tuple(statistics)
        self.n_biases = int(n_biases)
        self.normalize = bool(normalize)

    @property
    def n_features(self):
        """Number of output features."""
        H = self.params.n_channels
        return sum(H * self.n_biases if s in PER_BIAS else H for s in self.statistics)

    def feature_names(self):
        """Names of the output columns: ``ssm{h}_{statistic}[{bias}]``.

        Returns
        -------
        names : list of str
        """
        names = []
        for stat in self.statistics:
            for h in range(self.params.n_channels):
                if stat in PER_BIAS:
                    names += [f"ssm{h}_{stat}{j}" for j in range(self.n_biases)]
                else:
                    names.append(f"ssm{h}_{stat}")
        return names

    def fit(self, X3, sample_weight=None):
        """Fit the views' standardization and the biases on training sequences.

        Parameters
        ----------
        X3 : ndarray (n, C, L)
        sample_weight : ndarray (n,), default=None
            Non-negative weights; a weight ``k`` counts like ``k`` copies of the sequence
            and rows of weight 0 are ignored.

        Returns
        -------
        self : SSMFeatureMap
        """
        rows, weights = self._fit_views(X3, sample_weight)
        views = self._standardize(input_views(X3[rows], self.differences, self.normalize))
        self.biases_ = self._fit_biases(self._outputs(views), weights, views.shape[-1])
        return self

    def fit_transform(self, X3, sample_weight=None):
        """:meth:`fit`, then :meth:`transform` of the same sequences, filtering them once
        when their outputs fit in memory.

        Parameters
        ----------
        X3 : ndarray (n, C, L)
        sample_weight : ndarray (n,), default=None

        Returns
        -------
        features : ndarray (n, n_features), float64
        """
        n, _, L = X3.shape
        if n * L * self.params.n_channels > _KEPT_ELEMENTS:
            return self.fit(X3, sample_weight).transform(X3)
        rows, weights = self._fit_views(X3, sample_weight)
        views = self._standardize(input_views(X3, self.differences, self.normalize))
        outputs = list(self._outputs(views))
        self.biases_ = self._fit_biases(_rows_of(outputs, rows), weights, L)
        return self._pool(outputs, n)

    def _fit_views(self, X3, sample_weight):
        """Fit the views' standardization on the distinct training sequences of positive
        weight; return those rows of ``X3`` and their weights (copies counted in).

        The fit reads every distinct sequence once, whatever number of copies carries it,
        so that copies and integer weights are one fit (the subsample of steps that the
        biases read depends on the number of sequences)."""
        weights = (np.ones(len(X3)) if sample_weight is None
                   else np.asarray(sample_weight, dtype=np.float64))
        present = np.flatnonzero(weights > 0)
        first, groups = distinct_sequences(X3[present])
        rows = present[first]
        weights = np.bincount(groups, weights=weights[present])
        views = input_views(X3[rows], self.differences, self.normalize)
        self.view_mean_, self.view_scale_ = view_standardization(views, weights)
        return rows, weights

    def _standardize(self, views):
        return (views - self.view_mean_[:, None]) / self.view_scale_[:, None]

    def _fit_biases(self, outputs, weights, L):
        """Biases at the levels of :func:`bias_levels`, read from training outputs.

        ``outputs`` yields ``(first row, (L_b, b, H), lengths)`` blocks of the sequences
        whose ``weights`` are given (sequences of ``L`` steps at most); every ``stride``-th
        step of every sequence is read, at most about ``_BIAS_SAMPLE`` values per channel,
        and no step of the padding.
        """
        H = self.params.n_channels
        stride = max(1, -(-len(weights) * L // _BIAS_SAMPLE))
        values, per_value = [], []
        for begin, y, lengths in outputs:  # (L_b, b, H)
            sample = y[::stride].permute(2, 1, 0)  # (H, b, L')
            block_weights = torch.as_tensor(weights[begin:begin + y.shape[1]], dtype=_DTYPE)
            block_weights = block_weights[:, None].expand(-1, sample.shape[-1])  # (b, L')
            if lengths is None:  # copies: the block itself is not kept
                values.append(sample.reshape(H, -1))
                per_value.append(block_weights.reshape(-1))
            else:  # the steps of every sequence, not its padding
                read = torch.arange(0, y.shape[0], stride) < lengths[:, None]  # (b, L')
                values.append(sample[:, read])
                per_value.append(block_weights[read])
        levels = torch.as_tensor(bias_levels(H, self.n_biases), dtype=_DTYPE)
        return weighted_quantile_midpoints(torch.cat(values, dim=1), torch.cat(per_value),
                                           levels).numpy()

    def transform(self, X3):
        """Pooled statistics of the fixed bank's outputs.

        Parameters
        ----------
        X3 : ndarray (n, C, L)
            Any length ``L``; the channel count seen by :meth:`fit`.

        Returns
        -------
        features : ndarray (n, n_features), float64
        """
        views = self._standardize(input_views(X3, self.differences, self.normalize))
        return self._pool(self._outputs(views), len(X3))

    def _pool(self, outputs, n):
        biases = torch.as_tensor(self.biases_, dtype=_DTYPE)
        features = np.empty((n, self.n_features))
        for begin, y, lengths in outputs:
            features[begin:begin + y.shape[1]] = pooled_statistics(
                y, biases, self.statistics, lengths).numpy()
        return features

    def _outputs(self, views):
        """Yield ``(first row, outputs (L_b, b, H), lengths)`` of the bank over blocks of
        sequences.

        Every block is filtered as ``rows`` sequences, the last one padded with zeros, so
        that all products have one shape whatever the number of sequences. Without
        padding ``lengths`` is None and ``L_b = L``; with padding (NaN in ``views``), it
        holds the block's lengths (a long tensor) and ``L_b`` is the longest of them.
        """
        params = self.params
        H = params.n_channels
        n, V, L = views.shape
        views, all_lengths = padding_and_lengths(views)
        A, B, C = (torch.from_numpy(x) for x in (params.A, params.B, params.C))
        log_a, Bbar = discretize(A, B, torch.from_numpy(params.dt), params.discretization)
        complex_dtype = torch.complex64 if _DTYPE == torch.float32 else torch.complex128
        c, log_a = (C * Bbar).to(complex_dtype), log_a.to(complex_dtype)
        D = torch.from_numpy(params.D).to(_DTYPE)
        rows = max(1, min(_OUTPUT_ELEMENTS // (H * L), _COUNTER_ELEMENTS // (H * self.n_biases)))
        first = [h * V // H for h in range(H)]  # view read by every channel
        blocks = [(v, first.index(v), H - first[::-1].index(v)) for v in sorted(set(first))]
        with torch.no_grad():
            for begin in range(0, n, rows):
                lengths, L_b = None, L
                if all_lengths is not None:
                    lengths = torch.as_tensor(all_lengths[begin:begin + rows])
                    L_b = int(lengths.max())
                block = torch.zeros(rows, V, L_b, dtype=_DTYPE)
                block[:min(rows, n - begin)] = torch.from_numpy(
                    views[begin:begin + rows, :, :L_b])
                y = block.new_empty(L_b, rows, H)  # time-major
                for v, start, stop in blocks:
                    y[:, :, start:stop] = chunked_ssm_conv_encoded(
                        block[:, v:v + 1], block.new_ones(stop - start, 1),
                        block.new_zeros(stop - start), c[start:stop], log_a[start:stop],
                        D=D[start:stop], time_major=True,
                    )
                yield begin, y[:, :min(rows, n - begin)], lengths


def _rows_of(outputs, rows):
    """The blocks of ``outputs`` (:meth:`SSMFeatureMap._outputs`) cut down to ``rows``
    (sorted indices of the whole collection), renumbered from 0."""
    first = 0
    for begin, y, lengths in outputs:
        inside = rows[(rows >= begin) & (rows < begin + y.shape[1])] - begin
        yield (first, y[:, inside], None if lengths is None else lengths[inside])
        first += len(inside)
