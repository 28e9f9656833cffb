"""The training-free feature map: pooled statistics of a fixed diagonal SSM filter bank.

:class:`SSMFeatureMap` fits what a fixed bank needs from training sequences (the views'
standardization and the pooling's biases) and then filters and pools any sequences with
the bank of :mod:`sktdi.core.bank` and the statistics of :mod:`sktdi.core.pooling`, without
gradients. The views are every input channel and, with ``differences=True``, its first
difference (which removes the level of a sequence and keeps its shape, as MultiRocket's
difference view does); SSM channel ``h`` reads view ``h * V // H``. With
``differences=2`` the statistics also read the first difference of the outputs of the
channels that filter the first difference: a filter commutes with differencing, so these
are the same filters' outputs on the second difference (curvature), for the cost of
pooling them, without filtering a third view.

The filtering runs in float32 by default (four times faster than float64 on a CPU, and
ample for features read through thresholds and a ridge). Sequences are filtered in blocks
of a fixed number of rows (padded with zeros), a number set by the bank and the sequence
length only: on one machine, matrix products of one shape have computed every row alike,
whereas a product of one row takes another path and rounds differently (a property of the
BLAS kernels, observed rather than promised; other machines and thread counts round
otherwise). The biases sit halfway between training outputs that differ by more than
rounding, at least four rounding units from any of them, so that rounding differences
rarely turn into a step of ``1 / L`` of a count.

Sequences of unequal lengths (NaN padding after their end, :mod:`sktdi.core.padding`) are
filtered with their padding set to 0, in blocks cut to the block's longest sequence, and
every statistic reads a sequence's own steps only. The products then depend on the
block's longest length, so a sequence's features depend on its batch to float32 rounding
(differences of about 1e-8 in the decision values of the tests), not beyond.

``normalize="keep-level"`` standardizes every sequence as ``normalize=True`` does and hands
what that removes, every channel's level and scale, to the readout as features of their
own (:func:`level_and_scale`), weighted by ``LEVEL_WEIGHT`` in the ridge penalty.
"""

import numpy as np
import torch

from .bank import PooledStatistics, SSMBank, SSMFeatures, difference_channels
from .padding import (
    distinct_sequences,
    fill_padding,
    is_padded,
    padding_and_lengths,
    resample_sequences,
    sequence_lengths,
)
from .params import concatenate_channels
from .pooling import (
    DEFAULT_STATISTICS,
    PER_BIAS,
    STATISTICS,
    bias_levels,
    pooled_statistics,
    weighted_quantile_midpoints,
)

__all__ = [
    "DEFAULT_STATISTICS", "DIFFERENCE_WEIGHT", "LEVEL_WEIGHT", "SMOOTH_WIDTH", "STATISTICS",
    "OwnAndResampledFeatureMap", "SSMFeatureMap", "bias_levels", "bias_sample_size",
    "check_normalize", "input_views",
    "level_and_scale", "pooled_statistics", "scale_or_one", "view_standardization",
    "weighted_quantile_midpoints",
]

# Bounds on one batch of sequences: its outputs (batch, H, L) and the running counters of
# the per-bias statistics (batch, H, n_biases), which stay small enough for the caches.
# 2**21 float32 outputs (8 MiB) filtered and pooled the panel fastest at 1 thread: 1.25x
# faster than 2**24 at 1,460 steps, and as fast at 150, where blocks stay large enough
# for efficient products.
_OUTPUT_ELEMENTS = 2**21
_COUNTER_ELEMENTS = 2**17
# Training outputs kept between reading the biases and pooling (fit_transform): 2**26
# float32 are 256 MiB; larger training sets are filtered twice instead.
_KEPT_ELEMENTS = 2**26
# Training outputs from which the biases are read (a strided subsample of every
# sequence's steps beyond this): about 2**19 in all (2 MiB of float32), within 2,048 to
# 8,192 per channel. The default bank of 256 channels reads 2,048 per channel, which made
# GunPoint's fit + predict 32% faster than 8,192 (a smaller sort) and scored as well on
# the panel's selection seeds (and on its confirmation seeds,
# benchmarks/results/variants.md); a bank of 32 channels keeps 8,192, since at 2,048 its
# accuracy fell (0.813 -> 0.768 on one of three seeds of the band task), each bias
# weighing more where there are fewer.
_BIAS_SAMPLE_TOTAL = 2**19
_BIAS_SAMPLE_PER_CHANNEL = (2**11, 2**13)
# Width of the counts' smooth forms (sktdi.core.pooling), as a fraction of the standard
# deviation of the channel's training outputs: the gradient of a count reaches the steps
# within about a tenth of the channel's spread of a bias.
SMOOTH_WIDTH = 0.1
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Weight of the level and scale features of normalize="keep-level" among the standardized
# features of the ridge readout: their coefficients are penalized 1 / 64**2 = 1 / 4096 as
# much as a pooled statistic's, so that each counts in the ridge like 4,096 copies of
# itself (the default bank pools 4,992 statistics). Chosen among 4, 16, 32 and 64 (and
# normalize=True, none) on the regressors' selection seeds
# (benchmarks/results/variants_level.md: "level x4096"): the only one better than
# normalize=False in all six cells there.
LEVEL_WEIGHT = 64.0
# The classifiers' weight of the statistics of the differenced outputs (``differences=2``:
# the filters on the second difference) among the readout's standardized features: their
# coefficients are penalized 1 / 0.7**2, about twice, as much as the others'. Chosen
# among 1, 0.7, 0.5 and a weight chosen by leave-one-out on the selection seeds
# (benchmarks/results/variants_second_difference.md): 0.7, 0.5 and the choice each met
# 7 of the targets there against 3 for weight 1 (the worst problem against the
# best peer at 100%, JapaneseVowels at 30%, PickupGestureWiimoteZ at 10% and 30% more),
# and 0.7 at the smallest cost in the univariate mean (0.34 points at 10%). The
# regressors keep 1: there it cost CardanoSentiment 0.10 of R^2 at 30%.
DIFFERENCE_WEIGHT = 0.7


# A spread below this fraction of the mean's size is the rounding of a constant: the mean
# of a constant 7.77 over 1,000 steps leaves a standard deviation of 9e-16, which, taken
# for a scale, would turn the constant into +-1 and multiply any change of it by 1e15.
CONSTANT_RTOL = 1e-12


def bias_sample_size(n_channels):
    """Training outputs per channel from which the biases are read: ``2**19`` in all,
    within ``[2**11, 2**13]`` per channel."""
    low, high = _BIAS_SAMPLE_PER_CHANNEL
    return min(high, max(low, _BIAS_SAMPLE_TOTAL // n_channels))


def scale_or_one(std, mean):
    """``std`` where it is a genuine spread, 1 where the values are constant (their spread
    within ``CONSTANT_RTOL`` of the size of their mean, or 0)."""
    std = np.asarray(std, dtype=np.float64)
    constant = std <= CONSTANT_RTOL * np.abs(mean)
    return np.where(constant | (std == 0), 1.0, std)


def check_normalize(normalize):
    """``normalize`` as False, True (numpy booleans as bools) or ``"keep-level"``; a
    ValueError otherwise."""
    if isinstance(normalize, (bool, np.bool_)):
        return bool(normalize)
    if isinstance(normalize, str) and normalize == "keep-level":
        return normalize
    raise ValueError(f"normalize must be True, False or 'keep-level'; got {normalize!r}.")


def _own_moments(X3):
    """Every channel's mean and standard deviation over each sequence's own steps (NaN
    padding skipped): two ``(n, C, 1)`` arrays."""
    mean, std = (np.nanmean, np.nanstd) if is_padded(X3) else (np.mean, np.std)
    return mean(X3, axis=-1, keepdims=True), std(X3, axis=-1, keepdims=True)


def level_and_scale(X3):
    """``(n, C, L)`` -> ``(n, 2 C)`` float64: every channel's log standard deviation, then
    ``asinh(mean / standard deviation)``, over each sequence's own steps: the level and
    scale that ``normalize`` removes, in forms that do not grow with the data's units (a
    constant channel's spread is floored at ``1e-12 (1 + |mean|)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core.features import level_and_scale
    >>> X3 = np.array([[[1.0, 3.0]], [[10.0, 30.0]]])
    >>> np.round(level_and_scale(X3), 3)  # std 1 and 10, mean / std 2 both times
    array([[0.   , 1.444],
           [2.303, 1.444]])
    """
    center, spread = (moment[..., 0] for moment in _own_moments(X3))  # (n, C)
    spread = np.maximum(spread, 1e-12 * (1 + np.abs(center)))
    return np.hstack([np.log(spread), np.arcsinh(center / spread)])


def input_views(X3, differences, normalize=False):
    """``(n, C, L)`` -> ``(n, V, L)``: the channels and, with ``differences`` (True, 1 or
    2), their first differences (``x[t] - x[t-1]``, 0 at ``t = 0``), so ``V = 2 C``. (The
    second difference of ``differences=2`` is read from the bank's outputs, not filtered:
    :class:`SSMFeatureMap`.)

    ``normalize`` first standardizes every channel of every sequence to mean 0 and standard
    deviation 1 (a constant channel becomes 0): for collections whose sequences differ in
    scale by orders of magnitude (counts, sales), where one global scale lets the largest
    sequences dominate; it discards each sequence's level and scale (``"keep-level"``
    standardizes alike: :class:`SSMFeatureMap` keeps them as features).
    """
    if normalize:  # over each sequence's own steps (NaN padding stays NaN)
        center, spread = _own_moments(X3)
        X3 = (X3 - center) / scale_or_one(spread, center)
    if not check_differences(differences):
        return X3
    return np.concatenate([X3, np.diff(X3, axis=-1, prepend=X3[..., :1])], axis=1)


def check_differences(differences):
    """``differences`` as the number of difference views, 0, 1 or 2 (False and True count
    as 0 and 1); a ValueError otherwise."""
    if isinstance(differences, (bool, np.bool_)) or differences in (0, 1, 2):
        return int(differences)
    raise ValueError(f"differences must be a bool or 0, 1 or 2; got {differences!r}.")


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


class SSMFeatureMap:
    """A fixed SSM layer and the pooled statistics of its outputs (fitted state included).

    Parameters
    ----------
    params : SSMParams
        The filter bank: one SSM layer of ``H`` channels.
    differences : bool or {0, 1, 2}, default=True
        Also filter the first difference of every input channel (True, 1 or 2,
        :func:`input_views`); with 2, also pool the first difference of the outputs of
        the channels that filter it (the same filters on the second difference), as
        ``H // 2`` channels of their own (their own biases, every statistic). With deeper
        ``blocks``, the differences are those of the same channels of the last layer.
    statistics : sequence of str, default=DEFAULT_STATISTICS
        What to pool (:mod:`sktdi.core.pooling`).
    n_biases : int, default=5
        Biases per channel of the per-bias statistics.
    normalize : bool or "keep-level", default=False
        Standardize every sequence's channels on their own first (:func:`input_views`);
        ``"keep-level"`` also appends every input channel's level and scale
        (:func:`level_and_scale`) to the pooled statistics, which the readout weighs by
        ``LEVEL_WEIGHT`` (:attr:`feature_weights_`).
    blocks : sequence of SSMBlock, default=()
        Deeper SSM layers after the bank; the statistics pool the last one's outputs.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the filtering.

    Attributes
    ----------
    module_ : sktdi.core.bank.SSMFeatures
        The bank, the deeper layers and the pooling, as one torch module (what the
        trained estimators train).
    view_mean_, view_scale_ : ndarray (V,)
        Standardization of every input view (mean and standard deviation over training
        sequences and steps).
    biases_ : ndarray (H + E, n_biases)
        Thresholds of ``"ppv"`` and ``"lspv"``, read from the training outputs (``E``
        differenced channels with ``differences=2``, else 0).
    widths_ : ndarray (H + E,)
        Widths of the counts' smooth forms (``SMOOTH_WIDTH`` times the spread of every
        channel's training outputs).
    n_levels_ : int
        Level and scale features after the pooled statistics: ``2 C`` for ``C`` input
        channels with ``normalize="keep-level"``, else 0.
    feature_weights_ : ndarray (n_features,) or None
        Weights of the features in the readout's penalty (``LEVEL_WEIGHT`` for the level
        and scale features, 1 for the rest); None without level features
        (:meth:`feature_weights` gives other weights to the differenced outputs'
        statistics). These attributes exist after :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core import SSMFeatureMap, make_params
    >>> X = np.random.RandomState(0).normal(size=(20, 1, 50))
    >>> bank = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0)).fit(X)
    >>> bank.transform(X).shape  # 4 channels x (5 ppv + 5 lspv + max + min + last)
    (20, 52)
    >>> curvature = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0),
    ...                           differences=2).fit(X)
    >>> curvature.transform(X).shape  # and the outputs' differences of 2 channels
    (20, 78)
    """

    def __init__(self, params, *, differences=True, statistics=DEFAULT_STATISTICS,
                 n_biases=5, normalize=False, blocks=(), dtype="float32"):
        unknown = sorted(set(statistics) - set(STATISTICS))
        if unknown or not statistics:
            raise ValueError(f"statistics must be a non-empty selection of {STATISTICS}; "
                             f"got {tuple(statistics)}.")
        self.params = params
        self.differences = check_differences(differences)
        self.statistics = tuple(statistics)
        self.n_biases = int(n_biases)
        self.normalize = check_normalize(normalize)
        self.blocks = tuple(blocks)
        self.dtype = dtype

    @property
    def n_differenced(self):
        """Channels whose outputs' first difference is pooled too: with
        ``differences=2`` the ``H // 2`` that read the difference views, else 0."""
        return difference_channels(self.params.n_channels) if self.differences == 2 else 0

    @property
    def n_pooled(self):
        """Channels whose outputs are pooled: the bank's ``H`` and the differenced ones."""
        return self.params.n_channels + self.n_differenced

    @property
    def n_pooled_features(self):
        """Number of pooled statistics."""
        H = self.n_pooled
        return sum(H * self.n_biases if s in PER_BIAS else H for s in self.statistics)

    @property
    def n_features(self):
        """Number of output features: the pooled statistics and, once fitted, the level
        and scale features of ``normalize="keep-level"``."""
        return self.n_pooled_features + getattr(self, "n_levels_", 0)

    @property
    def feature_weights_(self):
        return self.feature_weights()

    def feature_weights(self, difference_weight=1.0):
        """Weights of the features in the readout's penalty (a weight ``w`` penalizes a
        standardized feature's coefficient ``1 / w**2`` as much; once fitted).

        Parameters
        ----------
        difference_weight : float, default=1.0
            Weight of the statistics of the differenced outputs (``differences=2``).

        Returns
        -------
        weights : ndarray (n_features,) or None
            ``LEVEL_WEIGHT`` for the level and scale features, ``difference_weight`` for
            the differenced outputs' statistics, 1 for the rest; None where all are 1.
        """
        if not np.isfinite(difference_weight) or difference_weight <= 0:
            raise ValueError(f"difference_weight must be positive and finite; got "
                             f"{difference_weight!r}.")
        differenced = self.n_differenced and difference_weight != 1.0
        if not (self.n_levels_ or differenced):
            return None
        weights = np.ones(self.n_features)
        if differenced:
            weights[:self.n_pooled_features][self._differenced_columns()] = difference_weight
        weights[self.n_pooled_features:] = LEVEL_WEIGHT
        return weights

    def _differenced_columns(self):
        """Which pooled statistics read a differenced output: (n_pooled_features,) bool,
        in the order of :meth:`feature_names`."""
        H, E = self.params.n_channels, self.n_differenced
        channel = np.arange(H + E) >= H
        return np.concatenate([np.repeat(channel, self.n_biases) if stat in PER_BIAS
                               else channel for stat in self.statistics])

    @property
    def biases_(self):
        return self.module_.pooling.biases.detach().cpu().numpy()

    @property
    def widths_(self):
        return self.module_.pooling.widths.detach().cpu().numpy()

    def feature_names(self):
        """Names of the output columns: ``ssm{h}_{statistic}[{bias}]``, and
        ``dssm{h}_{statistic}[{bias}]`` for the first difference of channel ``h``'s
        output (``differences=2``).

        Returns
        -------
        names : list of str
            And ``x{c}_log_std``, ``x{c}_mean_per_std`` for input channel ``c``'s level
            and scale (``normalize="keep-level"``, once fitted).
        """
        H = self.params.n_channels
        channels = [f"ssm{h}" for h in range(H)]
        channels += [f"dssm{h}" for h in range(H - self.n_differenced, H)]
        names = []
        for stat in self.statistics:
            for channel in channels:
                if stat in PER_BIAS:
                    names += [f"{channel}_{stat}{j}" for j in range(self.n_biases)]
                else:
                    names.append(f"{channel}_{stat}")
        channels = range(getattr(self, "n_levels_", 0) // 2)
        return (names + [f"x{c}_log_std" for c in channels]
                + [f"x{c}_mean_per_std" for c in channels])

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
        views = self.views(X3[rows])
        self._fit_biases(self._outputs(views, reused=True), weights, views.shape[-1])
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
        features : ndarray (n, n_features), in ``dtype``
        """
        n, _, L = X3.shape
        if n * L * self.params.n_channels > _KEPT_ELEMENTS:
            return self.fit(X3, sample_weight).transform(X3)
        rows, weights = self._fit_views(X3, sample_weight)
        outputs = list(self._outputs(self.views(X3)))
        self._fit_biases(_rows_of(outputs, rows), weights, L)
        return self._pool(outputs, X3)

    def _fit_views(self, X3, sample_weight):
        """Build the module and fit the views' standardization on the distinct training
        sequences of positive weight; return those rows of ``X3`` and their weights
        (copies counted in).

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
        self.n_levels_ = 2 * X3.shape[1] if self.normalize == "keep-level" else 0
        dtype = _DTYPES[self.dtype]
        H = self.params.n_channels
        self.module_ = SSMFeatures(
            SSMBank(self.params, views.shape[1], dtype),
            PooledStatistics(self.statistics, H, self.n_biases, dtype,
                             differenced=self.n_differenced), self.blocks).eval()
        return rows, weights

    def views(self, X3):
        """The standardized input views of ``(n, C, L)`` sequences: ``(n, V, L)``."""
        views = input_views(X3, self.differences, self.normalize)
        return (views - self.view_mean_[:, None]) / self.view_scale_[:, None]

    def _fit_biases(self, outputs, weights, L):
        """Biases at the levels of :func:`bias_levels`, and the smooth forms' widths, read
        from training outputs.

        ``outputs`` yields ``(first row, (b, H0, L_b), lengths)`` blocks of the sequences
        whose ``weights`` are given (sequences of ``L`` steps at most); every
        ``stride``-th step of every sequence is read, at most about
        :func:`bias_sample_size` values per pooled channel (the ``H0`` outputs and the
        differences of the last ``E``), and no step of the padding.
        """
        H, E = self.n_pooled, self.n_differenced
        stride = max(1, -(-len(weights) * L // bias_sample_size(H)))
        # One buffer for the whole sample, filled block by block: small tensors kept
        # between the blocks' large, freed outputs fragment the heap, and the process
        # then holds about as much memory as all the outputs (0.8 GB at 10,000
        # sequences of 100 steps).
        capacity = len(weights) * -(-L // stride)
        values = per_value = None
        filled = 0
        for begin, y, lengths in outputs:  # (b, H, L_b)
            if values is None:
                values = torch.empty(H, capacity, dtype=y.dtype, device=y.device)
                per_value = torch.empty(capacity, dtype=y.dtype, device=y.device)
            sample = y[..., ::stride]  # (b, H0, L')
            if E:  # the differences at the same steps (0 at the first)
                part = y[:, y.shape[1] - E:]
                change = torch.zeros_like(sample[:, -E:])
                change[..., 1:] = part[..., stride::stride] - part[..., stride - 1:-1:stride]
                sample = torch.cat([sample, change], dim=1)  # (b, H, L')
            block_weights = torch.as_tensor(weights[begin:begin + y.shape[0]],
                                            dtype=y.dtype, device=y.device)
            block_weights = block_weights[:, None].expand(-1, sample.shape[-1])  # (b, L')
            read = None  # every step; else the steps of every sequence, not its padding
            if lengths is not None:
                read = torch.arange(0, y.shape[-1], stride, device=y.device) < lengths[:, None]
            taken = sample.transpose(0, 1).reshape(H, -1) if read is None else (
                sample.transpose(0, 1)[:, read])
            count = taken.shape[1]
            values[:, filled:filled + count] = taken
            per_value[filled:filled + count] = (block_weights.reshape(-1) if read is None
                                                else block_weights[read])
            filled += count
        values, per_value = values[:, :filled], per_value[:filled]
        levels = torch.as_tensor(bias_levels(H, self.n_biases), dtype=values.dtype,
                                 device=values.device)
        mean = values @ per_value / per_value.sum()
        spread = torch.sqrt(((values - mean[:, None]) ** 2) @ per_value / per_value.sum())
        pooling = self.module_.pooling
        with torch.no_grad():
            pooling.biases.copy_(weighted_quantile_midpoints(values, per_value, levels))
            # a constant channel (spread 0) still gets a width: its magnitude's
            tiny = torch.finfo(values.dtype).eps * (1 + mean.abs())
            pooling.widths.copy_(SMOOTH_WIDTH * torch.maximum(spread, tiny))

    def transform(self, X3):
        """Pooled statistics of the fixed bank's outputs.

        Parameters
        ----------
        X3 : ndarray (n, C, L)
            Any length ``L``; the channel count seen by :meth:`fit`.

        Returns
        -------
        features : ndarray (n, n_features), in ``dtype`` (float32 by default)
        """
        return self._pool(self._outputs(self.views(X3), reused=True), X3)

    def _pool(self, outputs, X3):
        """The features of the sequences ``X3`` whose bank ``outputs`` are given: their
        pooled statistics, then their level and scale features (if any)."""
        pooling = self.module_.pooling
        # in the bank's precision: float32 features are exact copies of its float32
        # outputs, and half the memory of float64 ones
        features = np.empty((len(X3), self.n_features), dtype=np.dtype(self.dtype))
        pooled = self.n_pooled_features
        with torch.no_grad():
            for begin, y, lengths in outputs:
                features[begin:begin + y.shape[0], :pooled] = pooling(y, lengths).cpu().numpy()
        if self.n_levels_:
            features[:, pooled:] = level_and_scale(X3)
        return features

    def _outputs(self, views, reused=False):
        """Yield ``(first row, outputs (b, H, L_b), lengths)`` of the module over blocks of
        sequences, on the module's device.

        Every block is filtered as ``rows`` sequences, the last one padded with zeros, so
        that all products have one shape whatever the number of sequences. Without
        padding ``lengths`` is None and ``L_b = L``; with padding (NaN in ``views``), it
        holds the block's lengths (a long tensor) and ``L_b`` is the longest of them.
        With ``reused``, every block's outputs are overwritten by the next block's (one
        buffer): for callers that are done with a block when they ask for the next.
        """
        module = self.module_
        parameter = module.bank.in_weight
        n, V, L = views.shape
        views, all_lengths = padding_and_lengths(views)
        rows = max(1, min(_OUTPUT_ELEMENTS // (self.params.n_channels * L),
                          _COUNTER_ELEMENTS // (self.n_pooled * self.n_biases)))
        training = module.training
        module.eval()  # no dropout: features are the model's, whatever trains it
        try:
            yield from self._blocks_of_outputs(module, views, all_lengths, rows, parameter,
                                               reused)
        finally:
            module.train(training)

    @staticmethod
    def _blocks_of_outputs(module, views, all_lengths, rows, parameter, reused):
        n, V, L = views.shape
        with torch.no_grad(), module.bank.reusing_operators(outputs=reused):
            for begin in range(0, n, rows):
                lengths, L_b = None, L
                if all_lengths is not None:
                    lengths = torch.as_tensor(all_lengths[begin:begin + rows],
                                              device=parameter.device)
                    L_b = int(lengths.max())
                block = torch.zeros(rows, V, L_b, dtype=parameter.dtype,
                                    device=parameter.device)
                block[:min(rows, n - begin)] = torch.as_tensor(
                    views[begin:begin + rows, :, :L_b], dtype=parameter.dtype)
                y = module.outputs(block)  # (rows, H, L_b)
                yield begin, y[:min(rows, n - begin)], lengths


def _rows_of(outputs, rows):
    """The blocks of ``outputs`` (:meth:`SSMFeatureMap._outputs`) cut down to ``rows``
    (strictly increasing indices of the whole collection), renumbered from 0."""
    first = 0
    for begin, y, lengths in outputs:
        inside = rows[(rows >= begin) & (rows < begin + y.shape[0])] - begin
        if len(inside) and inside[-1] - inside[0] == len(inside) - 1:  # a run: a view
            inside = slice(inside[0], inside[-1] + 1)  # (copying 150 MB costs ACSF1 7%)
        taken = y[inside]
        yield (first, taken, None if lengths is None else lengths[inside])
        first += taken.shape[0]


class OwnAndResampledFeatureMap:
    """Two fitted feature maps side by side: one reads every sequence over its own steps,
    the other every sequence linearly resampled to one ``length``
    (:func:`~sktdi.core.padding.resample_sequences`).

    For sequences of unequal lengths. Over its own steps, a bank reads every sequence at
    the steps it was sampled at, so a gesture made twice as fast excites other filters;
    resampled, every sequence spans the same steps, so the same bank reads the course of
    the whole sequence, whatever its duration. Each reading gets its own bank (its own
    TDI, standardization and biases), fitted on what it reads; the features are the own
    reading's, then the resampled reading's.

    Parameters
    ----------
    own : SSMFeatureMap
        Fitted on the sequences as they are.
    resampled : SSMFeatureMap
        Fitted on the sequences resampled to ``length`` steps.
    length : int
        Steps of every resampled sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core import SSMFeatureMap, make_params
    >>> from sktdi.core.features import OwnAndResampledFeatureMap
    >>> from sktdi.core.padding import resample_sequences
    >>> X = np.random.RandomState(0).normal(size=(20, 1, 50))
    >>> X[:10, :, 30:] = np.nan  # half the sequences end after 30 steps
    >>> own = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0)).fit(X)
    >>> resampled = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0)).fit(
    ...     resample_sequences(X, 40))
    >>> both = OwnAndResampledFeatureMap(own, resampled, 40)
    >>> both.transform(X).shape, both.params.n_channels
    ((20, 104), 8)
    """

    def __init__(self, own, resampled, length):
        self.own = own
        self.resampled = resampled
        self.length = int(length)

    @property
    def params(self):
        """The two banks as one layer: the own reading's channels, then the resampled
        reading's."""
        return concatenate_channels([self.own.params, self.resampled.params])

    @property
    def n_features(self):
        return self.own.n_features + self.resampled.n_features

    def feature_weights(self, difference_weight=1.0):
        """Both maps' :meth:`SSMFeatureMap.feature_weights`, one after the other (None
        where all are 1)."""
        parts = [part.feature_weights(difference_weight) for part in (self.own, self.resampled)]
        if all(weights is None for weights in parts):
            return None
        return np.concatenate([np.ones(part.n_features) if weights is None else weights
                               for part, weights in zip((self.own, self.resampled), parts,
                                                        strict=True)])

    def feature_names(self):
        """The own reading's names, then the resampled reading's, prefixed
        ``resampled_``."""
        return (self.own.feature_names()
                + [f"resampled_{name}" for name in self.resampled.feature_names()])

    def resampled_features(self, X3):
        """The resampled reading's features of ``(n, C, L)`` sequences."""
        return self.resampled.transform(resample_sequences(X3, self.length))

    def transform(self, X3):
        """Both readings' features of ``(n, C, L)`` sequences: ``(n, n_features)``."""
        return np.hstack([self.own.transform(X3), self.resampled_features(X3)])
