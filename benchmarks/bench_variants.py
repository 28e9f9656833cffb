"""Variants of the training-free estimator on the public panel: ideas measured before any
of them becomes a default.

Run from the repository root, after ``bench_panel.py`` (its ``panel.csv`` holds the peers'
scores on the same seeds and subsets)::

    python benchmarks/bench_variants.py                    # selection seeds, every variant
    python benchmarks/bench_variants.py --seeds 3 4 5 --variants default "n_biases=10" \\
        "competing counts, groups of 8" --resume          # confirmation of the candidates

A variant is the default ``SSMFeatureClassifier`` / ``SSMFeatureRegressor`` with some
parameters changed, or with an experimental statistic appended to its pooled features
(not in the package; computed here by a compiled kernel while the variant runs, and read
by the same ridge readout):

* *mean index of positive values* (MultiRocket's MIPV): for every bias, the mean step at
  which the output lies above it, over the sequence's length (-1 when it never does);
* *competing counts* (Hydra's): in groups of ``g`` adjacent channels, the share of steps at
  which each channel's standardized output (centred on its biases' mean, over its smooth
  width) is the largest of its group.

Several kinds of variant change something the parameters cannot reach:

* *bias sample* reads the biases' quantiles from at most that many outputs per channel (the
  bounds ``sktdi.core.features._BIAS_SAMPLE_PER_CHANNEL`` both set to it), a cheaper sort.
  It was measured when every bank read 8,192 per channel; the default bank of 256
  channels now reads 2,048 (:func:`sktdi.core.features.bias_sample_size`), so its rows in
  ``variants.csv`` are what that default was chosen on;
* *scale floor* ``f`` standardizes the readout's features by at least ``f`` times the
  median feature's spread, so that a feature nearly constant on a few training sequences
  is not magnified;
* *time scales* ``s..fL`` spans the bank's memories from ``s`` steps to ``f`` times the
  sequence length (the default is 4 to L);
* *level x k* (regressors) appends every channel's log standard deviation and
  ``asinh(mean / standard deviation)`` over the sequence, repeated ``k`` times (on
  standardized features, the weight of the block in the ridge penalty): what
  ``normalize=True`` discards;
* *counts: square root* / *log(1 + 100 p)* pass the per-bias proportions through a
  concave map before the readout (Hydra reads the square root of its counts);
* *one-* / *half-standard-error penalty* (regressors) takes the largest penalty whose
  leave-one-out error is within one (half a) standard error of the smallest;
* *normalize by leave-one-out* (regressors) fits the bank with and without
  ``normalize`` and keeps the one whose readout has the lower leave-one-out error;
* *+ mean of positive values* appends MultiRocket's MPV per bias (the mean of
  ``y - b`` over the steps where ``y > b``);
* *bias levels a..b* reads the biases at quantile levels spread over ``[a, b]`` instead
  of ``[0.1, 0.9]``;
* *second difference* views split the channels among the sequence, its first and its
  second difference (equally, or with the sequence or the second difference twice), on
  the bank of ``differences=1``.
* *differences by leave-one-out* fits the default and ``differences=1`` (whose features
  are, up to rounding, a subset of the default's) and keeps the one whose readout has the
  lower leave-one-out error.
* *second-difference features x w* weigh the features of the differenced outputs (the
  ``dssm`` columns: the filters on the second difference) by ``w`` in the readout's
  penalty (penalized ``1 / w**2`` as much as the others), in place of the estimator's own
  weight (``DIFFERENCE_WEIGHT`` for the classifiers, 1 for the regressors); *by
  leave-one-out*, the readout
  is fitted with ``w`` = 1, 0.7, 0.5 and 0.3 and the one of the lowest leave-one-out
  error is kept.
* *+ input quantiles x w* appends QUANT's features of the input (without its forest):
  quantiles at 9 levels of every channel, of the sequence and of its first difference,
  over the whole sequence, its halves, quarters and eighths, every other one less the
  interval's mean (``dyadic_quantiles``); weighted ``w`` in the readout's penalty.
* ``resample=None`` reads sequences of unequal lengths over their own steps with the
  whole bank, instead of half of it reading them resampled to their median length (the
  classifier's default ``resample="median"``; the regressors' default is None, and equal
  lengths are read alike either way).

The default is the package's: since 32a8658 ``differences=2``, which pools the first
difference of the outputs of the channels that read the difference views as channels of
their own (a filter commutes with differencing: the same filters on the second
difference, never filtered). ``variants_outputs.md`` holds its measurement at b6b149c,
where it was a variant ("+ differenced outputs of the difference channels", beside "+
differenced outputs of every channel", the difference of all the channels), appended to
the then default ``differences=True`` by a patch that this file no longer carries;
``differences=1`` is that former default. Files made before 32a8658 measured their
variants against ``differences=True``. The regressors' default became
``normalize="keep-level"`` after ``variants_level.md``, where it is the variant "normalize=True,
+ level x4096" (the same features, weighted by 64 instead of repeated 4,096 times), and the
default row is ``normalize=False``; the "normalize" variants of files made before then
compare with ``normalize=False`` too. Since edaf204 the classifiers' readout weighs the
second difference's statistics by ``DIFFERENCE_WEIGHT`` (0.7; ``variants_second_difference.md``,
where it is the variant "second-difference features x0.7"); files made before compare
with the weight 1.

The *alphas* variants replace the readout's penalties (1e-3..1e3 is the classifiers'
default, 1e-3..1e5 the regressors', ``REGRESSION_ALPHAS``); the variants that name
``normalize`` are the regressors' alternatives.

Problems, subsets, seeds and scoring are ``bench_panel.py``'s. Outputs:
``benchmarks/results/STEM.csv`` (one row per fit) and ``STEM.md`` (the univariate mean
per size, its difference from the default and from MultiRocket-Hydra, the worst
classification problem against the best of MiniRocket, MultiRocket-Hydra and QUANT, and
the regressors' R^2); ``--stem`` is ``variants`` unless given. ``variants.md`` holds the
runs of the statistics and the bias sample (at 8ba73e3, before the regressors'
penalties changed); ``variants_readout.md`` those of the readout, the time scales and the
regressors' penalties::

    python benchmarks/bench_variants.py --stem variants_readout --variants default \
        "alphas 1e-3..1e5" "alphas 1e-3..1e2" "alphas 1e-3..1e1" "alphas 1e-3..1e0" \
        "scale floor 0.3" "scale floor 1" "n_biases=10, competing 8" "time scales 2..L" \
        "time scales 4..4L" "time scales 8..L" "time scales 4..L/4"
    python benchmarks/bench_variants.py --stem variants_readout --resume --seeds 3 4 5 \
        --variants default "n_biases=10, competing 8" "n_biases=10"
    python benchmarks/bench_variants.py --stem variants_readout --resume \
        --seeds 0 1 2 3 4 5 --problems Covid3Month CardanoSentiment --variants \
        "normalize=False, alphas 1e-3..1e3" "normalize=False, alphas 1e-3..1e7" \
        "normalize=True" "normalize=True, alphas 1e-3..1e3"
    python benchmarks/bench_variants.py --stem variants_readout --resume \
        --problems Covid3Month CardanoSentiment --variants "normalize=True, + level x16" \
        "normalize=True, + level x256" "normalize=True, + level x1024" \
        "normalize=False, + level x256" "one-standard-error penalty" \
        "half-standard-error penalty" "normalize=True, one-standard-error penalty"
    python benchmarks/bench_variants.py --stem variants_readout --resume \
        --variants "counts: square root" "counts: log(1 + 100 p)"
    python benchmarks/bench_variants.py --stem variants_readout --resume \
        --problems Covid3Month CardanoSentiment --seeds 3 4 5 \
        --variants "one-standard-error penalty"
    python benchmarks/bench_variants.py --stem variants_readout --resume \
        --problems Covid3Month CardanoSentiment --seeds 0 1 2 3 4 5 \
        --variants "normalize by leave-one-out"

``variants_level.md`` holds the regressors' level variants again, on the default of
``differences=2`` (32a8658)::

    python benchmarks/bench_variants.py --stem variants_level --seeds 0 1 2 3 4 5 \
        --problems Covid3Month CardanoSentiment --variants default "normalize=True" \
        "normalize=True, + level x16" "normalize=True, + level x256" \
        "normalize=True, + level x1024" "normalize=True, + level x4096"

``variants_views.md`` holds the pooling, bias-level and view variants::

    python benchmarks/bench_variants.py --stem variants_views --variants default \
        "+ mean of positive values" "bias levels 0.25..0.75" "bias levels 0.02..0.98" \
        "+ second difference view" "views: raw x2, difference, second difference" \
        "views: raw, second difference" "views: raw, difference, second difference x2"
    python benchmarks/bench_variants.py --stem variants_views --resume --seeds 3 4 5 \
        --variants default "+ second difference view" "bias levels 0.02..0.98"
    python benchmarks/bench_variants.py --stem variants_views --resume --variants \
        "+ second difference view, d_model=288, n_biases=4" \
        "+ second difference view, d_model=384, n_biases=3"

``variants_second_difference.md`` holds the weights of the second difference's features,
on all six seeds at once (their confirmation figures had been seen ad hoc before), at
64ba8c1, where the weight was 1 (the variants set it, for the classifiers and the
regressors alike); "x0.7" became the classifiers' ``DIFFERENCE_WEIGHT`` (edaf204)::

    python benchmarks/bench_variants.py --stem variants_second_difference \
        --seeds 0 1 2 3 4 5 --variants default "second-difference features x0.7" \
        "second-difference features x0.5" \
        "second-difference features weighted by leave-one-out"

``variants_quantiles.md`` holds the input quantiles (QUANT's idea, the one of #24's list that
no earlier file measured)::

    python benchmarks/bench_variants.py --stem variants_quantiles --variants default \
        "+ input quantiles x0.3" "+ input quantiles x1" "+ input quantiles x3"
"""

import argparse
import contextlib
import sys
import warnings
from pathlib import Path
from unittest import mock

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_panel as panel  # noqa: E402
from _common import RESULTS, provenance, provenance_markdown, read_csv, write_atomically, write_csv  # noqa: E402, I001


def alphas_to(exponent):
    """Penalties from 1e-3 to 10**exponent: 1e-3..1e3 is the package's DEFAULT_ALPHAS,
    1e-3..1e5 its REGRESSION_ALPHAS."""
    count = {0: 7, 1: 8, 2: 9, 3: 10, 5: 14, 7: 19}[exponent]
    return tuple(np.logspace(-3, exponent, count))


# name -> (estimator parameters, experimental statistic or None, its group size; for
# "bias sample", the number of outputs per channel the biases are read from)
VARIANTS = {
    "default": ({}, None, 0),
    "n_biases=8": ({"n_biases": 8}, None, 0),
    "n_biases=10": ({"n_biases": 10}, None, 0),
    "+ mean": ({"statistics": ("ppv", "lspv", "max", "min", "last", "mean")}, None, 0),
    "+ power": ({"statistics": ("ppv", "lspv", "max", "min", "last", "power")}, None, 0),
    "d_model=128": ({"d_model": 128}, None, 0),
    "n_states=8": ({"n_states": 8}, None, 0),
    "d_model=128, n_biases=8": ({"d_model": 128, "n_biases": 8}, None, 0),
    "d_model=192, n_biases=8": ({"d_model": 192, "n_biases": 8}, None, 0),
    "+ mean index of positive values": ({}, "mipv", 0),
    "competing counts, groups of 4": ({}, "competing", 4),
    "competing counts, groups of 8": ({}, "competing", 8),
    "competing counts, groups of 16": ({}, "competing", 16),
    "bias sample 2,048": ({}, "bias sample", 2048),
    # penalties: the default grid is 1e-3..1e3 for the classifiers (the regressors: below)
    "alphas 1e-3..1e5": ({"alphas": alphas_to(5)}, None, 0),
    "alphas 1e-3..1e2": ({"alphas": alphas_to(2)}, None, 0),
    "alphas 1e-3..1e1": ({"alphas": alphas_to(1)}, None, 0),
    "alphas 1e-3..1e0": ({"alphas": alphas_to(0)}, None, 0),
    "scale floor 0.3": ({}, "scale floor", 0.3),
    "scale floor 1": ({}, "scale floor", 1.0),
    "n_biases=10, competing 8": ({"n_biases": 10}, "competing", 8),
    "time scales 2..L": ({}, "time scales", (2.0, 1.0)),
    "time scales 4..4L": ({}, "time scales", (4.0, 4.0)),
    "time scales 8..L": ({}, "time scales", (8.0, 1.0)),
    "time scales 4..L/4": ({}, "time scales", (4.0, 0.25)),
    # the regressors' penalties (to 1e5 by default) and the alternatives they were chosen
    # from, spelled out (the classifiers' rows are then those of the default or of
    # "alphas 1e-3..1e5"), and normalize=True, which is not their default
    "normalize=False, alphas 1e-3..1e3": ({"normalize": False, "alphas": alphas_to(3)}, None, 0),
    "normalize=False, alphas 1e-3..1e7": ({"normalize": False, "alphas": alphas_to(7)}, None, 0),
    "normalize=True": ({"normalize": True}, None, 0),
    "normalize=True, alphas 1e-3..1e3": ({"normalize": True, "alphas": alphas_to(3)}, None, 0),
    # normalize=True, and every channel's level and scale given back to the readout
    # (repeated k times: on standardized features, the weight of k features in the ridge)
    "normalize=True, + level x16": ({"normalize": True}, "level", 16),
    "normalize=True, + level x256": ({"normalize": True}, "level", 256),
    "normalize=True, + level x1024": ({"normalize": True}, "level", 1024),
    "normalize=True, + level x4096": ({"normalize": True}, "level", 4096),
    "normalize=False, + level x256": ({"normalize": False}, "level", 256),
    # the per-bias proportions through a concave map before the readout (Hydra reads
    # the square root of its counts)
    "counts: square root": ({}, "concave", "sqrt"),
    "counts: log(1 + 100 p)": ({}, "concave", "log"),
    # the regressors' penalty by the one-standard-error rule: the largest whose
    # leave-one-out error is within one standard error of the smallest
    "one-standard-error penalty": ({}, "one se", 1.0),
    "half-standard-error penalty": ({}, "one se", 0.5),
    "normalize=True, one-standard-error penalty": ({"normalize": True}, "one se", 1.0),
    # both banks fitted, the one with the lower leave-one-out error of its readout kept
    "normalize by leave-one-out": ({}, "choose normalize", 0),
    # MultiRocket's mean of positive values: per bias, the mean of y - b where y > b
    "+ mean of positive values": ({}, "mpv", 0),
    # the biases' quantile levels over another range (the default is 0.1..0.9)
    "bias levels 0.25..0.75": ({}, "bias levels", (0.25, 0.75)),
    "bias levels 0.02..0.98": ({}, "bias levels", (0.02, 0.98)),
    # a third view, the second difference (the channels split three ways)
    "+ second difference view": ({"differences": 1}, "second difference", 0),
    # half of the channels read the sequence, a quarter each difference
    "views: raw x2, difference, second difference": ({"differences": 1}, "second difference",
                                                     2),
    "views: raw, second difference": ({"differences": 1}, "second difference",
                                      "raw, second"),
    "views: raw, difference, second difference x2": ({"differences": 1}, "second difference",
                                                     "second x2"),
    # the three views at about the default's cost and width
    "+ second difference view, d_model=288, n_biases=4": (
        {"d_model": 288, "n_biases": 4, "differences": 1}, "second difference", 0),
    "+ second difference view, d_model=384, n_biases=3": (
        {"d_model": 384, "n_biases": 3, "differences": 1}, "second difference", 0),
    # the former default: the sequence and its first difference, no output differences
    "differences=1": ({"differences": 1}, None, 0),
    # the default, or differences=1 where its readout's leave-one-out error is lower
    "differences by leave-one-out": ({}, "choose differences", 0),
    # unequal lengths read over their own steps by the whole bank (no resampled half)
    "resample=None": ({"resample": None}, None, 0),
    # the second difference's features penalized more (weight w < 1), or w chosen
    "second-difference features x0.7": ({}, "second-difference weight", 0.7),
    "second-difference features x0.5": ({}, "second-difference weight", 0.5),
    "second-difference features weighted by leave-one-out": (
        {}, "second-difference weight", "leave-one-out"),
    "+ input quantiles x0.3": ({}, "input quantiles", 0.3),
    "+ input quantiles x1": ({}, "input quantiles", 1.0),
    "+ input quantiles x3": ({}, "input quantiles", 3.0),
}
# The input quantiles' dyadic depth (1 + 2 + 4 + 8 intervals) and levels (QUANT's idea).
QUANTILE_DEPTH, QUANTILE_LEVELS = 3, np.linspace(0.0, 1.0, 9)
# Weights the "by leave-one-out" variant of the second difference's features chooses from.
SECOND_DIFFERENCE_WEIGHTS = (1.0, 0.7, 0.5, 0.3)
COLUMNS = ["variant", "problem", "task", "seed", "role", "fraction", "n_train", "score",
           "fit_time", "predict_time"]
CLASSIFICATION = [p for p, task in panel.PANEL.items() if task == "classification"]
# Problems whose own figures the panel bounds (bench_panel.REFERENCE), shown per problem.
REFERENCED = tuple(p for p in panel.REFERENCE if p != "BasicMotions")


# ---------------------------------------------------------------- experimental statistics
@numba.njit(cache=True)
def _mean_index_above(values, biases):  # pragma: no cover - compiled
    """(B, H, q): mean step above every bias over the sequence's length, -1 if none;
    ``values`` (B, H, L) with the padding at -inf."""
    batch, H, L = values.shape
    q = biases.shape[1]
    out = np.full((batch, H, q), -1.0)
    for b in range(batch):
        steps = 0
        while steps < L and values[b, 0, steps] > -np.inf:
            steps += 1
        for h in range(H):
            for j in range(q):
                total, count = 0.0, 0
                for t in range(steps):
                    if values[b, h, t] > biases[h, j]:
                        total += t
                        count += 1
                if count:
                    out[b, h, j] = total / count / max(1, steps - 1)
    return out


@numba.njit(cache=True)
def _mean_positive(values, biases):  # pragma: no cover - compiled
    """(B, H, q): mean of ``y - b`` over the steps where ``y > b`` (0 if none);
    ``values`` (B, H, L) with the padding at -inf."""
    batch, H, L = values.shape
    q = biases.shape[1]
    out = np.zeros((batch, H, q))
    for b in range(batch):
        for h in range(H):
            for j in range(q):
                total, count = 0.0, 0
                for t in range(L):
                    excess = values[b, h, t] - biases[h, j]
                    if excess > 0:
                        total += excess
                        count += 1
                if count:
                    out[b, h, j] = total / count
    return out


@numba.njit(cache=True)
def _competing_counts(values, centres, widths, group):  # pragma: no cover - compiled
    """(B, H): the share of steps at which each channel's standardized output is the
    largest of its group of ``group`` adjacent channels."""
    batch, H, L = values.shape
    out = np.zeros((batch, H))
    for b in range(batch):
        steps = 0
        while steps < L and values[b, 0, steps] > -np.inf:
            steps += 1
        for first in range(0, H, group):
            for t in range(steps):
                best, winner = -np.inf, first
                for h in range(first, min(H, first + group)):
                    z = (values[b, h, t] - centres[h]) / widths[h]
                    if z > best:
                        best, winner = z, h
                out[b, winner] += 1.0
        for h in range(H):
            out[b, h] /= max(1, steps)
    return out


@contextlib.contextmanager
def experimental_statistic(kind, group):
    """Replace what variant ``kind`` changes in the package (with its setting ``group``)
    while the context lasts: the functions and attributes listed by ``_REPLACEMENTS``,
    restored on exit. ``kind`` None changes nothing."""
    replacements = [] if kind is None else _REPLACEMENTS[kind](group)
    with contextlib.ExitStack() as stack:
        for owner, name, value in replacements:
            stack.enter_context(mock.patch.object(owner, name, value))
        yield


def _bias_sample(group):  # the biases read from at most ``group`` outputs per channel
    from sktdi.core import features

    return [(features, "_BIAS_SAMPLE_PER_CHANNEL", (group, group))]


def _time_scales(group):  # memories from ``shortest`` steps to ``longest`` times L
    from sktdi import feature_estimators

    shortest, longest = group

    def scaled(time_scales, seq_len):
        return 2.0 / max(shortest, longest * seq_len), 2.0 / shortest

    return [(feature_estimators, "bank_time_scales", scaled)]


def _bias_levels(group):  # the levels spread over ``group`` instead of 0.1..0.9
    from sktdi.core import features

    levels = features.bias_levels
    low, high = group

    def ranged(n_channels, n_biases):
        return low + (high - low) * (levels(n_channels, n_biases) - 0.1) / 0.8

    return [(features, "bias_levels", ranged)]


def _second_difference(group):  # the views with the second difference
    from sktdi import initializer
    from sktdi.core import features

    views = features.input_views

    def three_views(X3, differences, normalize=False):
        both = views(X3, differences, normalize)
        if not differences:
            return both
        raw, first = both[:, :X3.shape[1]], both[:, X3.shape[1]:]
        second = np.diff(first, axis=-1, prepend=first[..., :1])
        parts = ([raw, second] if group == "raw, second" else
                 [raw, first, second, second] if group == "second x2" else
                 [raw] * max(1, group) + [first, second])
        return np.concatenate(parts, axis=1)

    return [(features, "input_views", three_views), (initializer, "input_views", three_views)]


def _lower_error_fits(alternative, estimators):
    """Replacements of every estimator's ``fit``: fit it and a clone set to
    ``alternative(estimator)`` (parameters), and keep the one whose readout has the lower
    leave-one-out error."""
    from sklearn.base import clone

    def chooser(fit):
        def lower_error(self, X, y, sample_weight=None):
            fit(self, X, y, sample_weight)
            other = clone(self).set_params(**alternative(self))
            fit(other, X, y, sample_weight)
            if other.readout_.best_score_ > self.readout_.best_score_:
                self.__dict__.update(other.__dict__)
            return self
        return lower_error

    return [(estimator, "fit", chooser(estimator.fit)) for estimator in estimators]


def _choose_normalize(group):  # both banks fitted, the lower leave-one-out error kept
    from sktdi import SSMFeatureRegressor

    return _lower_error_fits(lambda model: {"normalize": not model.normalize},
                             (SSMFeatureRegressor,))


def _choose_differences(group):  # differences 2 and 1 fitted, the lower LOO error kept
    from sktdi import SSMFeatureClassifier, SSMFeatureRegressor

    return _lower_error_fits(lambda model: {"differences": 1},
                             (SSMFeatureClassifier, SSMFeatureRegressor))


def _one_standard_error(group):  # the largest penalty within ``group`` standard errors
    from sktdi import readout

    fit = readout.RidgeReadout._fit_leave_one_out

    def within_error(self, features, rows, targets, alphas):
        if self.classification:
            return fit(self, features, rows, targets, alphas)
        weights = self.weights_
        root = np.sqrt(weights)[:, None]
        center = weights @ targets / weights.sum()
        basis = readout._Basis(features, rows, self.mean_, self.scale_, root,
                               root * (targets - center))
        _, residuals = basis.leave_one_out(alphas, weights / weights.sum(), None)
        per_example = np.array([((residuals[i] / root) ** 2).mean(axis=1)
                                for i in range(len(alphas))])  # (alphas, n)
        errors = np.array([np.average(row, weights=weights) for row in per_example])
        best = int(np.argmin(errors))
        error = group * per_example[best].std(ddof=1) / np.sqrt(per_example.shape[1])

        def chosen_rule(scores, grid):
            allowed = errors <= errors[best] + error
            return int(np.flatnonzero(allowed)[np.argmax(grid[allowed])])

        with mock.patch.object(readout, "_strongest_near_best", chosen_rule):
            return fit(self, features, rows, targets, alphas)

    return [(readout.RidgeReadout, "_fit_leave_one_out", within_error)]


def _second_difference_weight(group):  # the dssm features weighted by w, or w chosen
    from sktdi.core import features
    from sktdi.feature_estimators import _BaseSSMFeatures

    feature_weights = features.SSMFeatureMap.feature_weights
    fit_readout = _BaseSSMFeatures._fit_readout

    def weighted(w):  # the readout's weights with w for the differenced outputs, always
        def weights(feature_map, difference_weight=1.0):
            return feature_weights(feature_map, w)
        return weights

    if group != "leave-one-out":
        return [(features.SSMFeatureMap, "feature_weights", weighted(group))]

    def lowest_error(self, feature_map, *args, **kwargs):
        best = None
        for w in SECOND_DIFFERENCE_WEIGHTS:
            with mock.patch.object(features.SSMFeatureMap, "feature_weights", weighted(w)):
                readout = fit_readout(self, feature_map, *args, **kwargs)
            if best is None or readout.best_score_ > best.best_score_:
                best = readout
        return best

    return [(_BaseSSMFeatures, "_fit_readout", lowest_error)]


def _concave(group):  # the per-bias proportions through sqrt or log(1 + 100 p)
    from sktdi.core import features

    pool = features.SSMFeatureMap._pool

    def concave_pool(self, outputs, n):
        pooled = pool(self, outputs, n)
        per_bias = sum(self.params.n_channels * self.n_biases for stat in self.statistics
                       if stat in ("ppv", "lspv"))
        head = pooled[:, :per_bias]  # ppv and lspv come first in the default
        pooled[:, :per_bias] = np.sqrt(head) if group == "sqrt" else np.log1p(100 * head)
        return pooled

    return [(features.SSMFeatureMap, "_pool", concave_pool)]


def _appended_to_features(block):
    """Replacements of the feature map's ``fit_transform`` and ``transform`` that append
    ``block(feature_map, X3)`` (n, k) to the features they return."""
    from sktdi.core import features

    feature_map = features.SSMFeatureMap
    fit_transform, transform = feature_map.fit_transform, feature_map.transform

    def appended(self, F, X3):
        return np.hstack([F, block(self, X3).astype(F.dtype)])

    def new_fit_transform(self, X3, sample_weight=None):
        self._inside = True  # fit_transform may call transform: append once
        try:
            F = fit_transform(self, X3, sample_weight)
        finally:
            self._inside = False
        return appended(self, F, X3)

    def new_transform(self, X3):
        F = transform(self, X3)
        return F if getattr(self, "_inside", False) else appended(self, F, X3)

    return [(feature_map, "fit_transform", new_fit_transform),
            (feature_map, "transform", new_transform)]


def _level(group):  # every channel's level and scale appended, ``group`` times
    def level_and_scale(feature_map, X3):
        X3 = np.asarray(X3, np.float64)
        mean, std = np.nanmean(X3, axis=-1), np.nanstd(X3, axis=-1)  # (n, C)
        std = np.maximum(std, 1e-12 * (1 + np.abs(mean)))
        return np.tile(np.hstack([np.log(std), np.arcsinh(mean / std)]), group)

    return _appended_to_features(level_and_scale)


def dyadic_quantiles(X3):
    """(n, C * 2 * 15 * 9): QUANT's idea on the input: quantiles of every channel, of the
    sequence and of its first difference, over the whole sequence, its halves, quarters and
    eighths (over each sequence's own steps), every other one less the interval's mean."""
    rows = []
    for x in np.asarray(X3, np.float64):  # (C, L), NaN padding at the end
        x = x[:, :max(1, int(np.sum(~np.isnan(x[0]))))]
        parts = []
        for view in (x, np.diff(x, axis=-1, prepend=x[:, :1])):
            steps = view.shape[-1]
            for depth in range(QUANTILE_DEPTH + 1):
                edges = np.linspace(0, steps, 2 ** depth + 1).astype(int)
                for start, end in zip(edges[:-1], edges[1:], strict=True):
                    part = view[:, start:max(end, start + 1)]
                    q = np.quantile(part, QUANTILE_LEVELS, axis=-1)  # (levels, C)
                    q[1::2] -= part.mean(axis=-1)
                    parts.append(q.T)
        rows.append(np.concatenate(parts, axis=1).ravel())
    return np.array(rows)


def _input_quantiles(group):  # dyadic_quantiles appended, weighted ``group`` in the penalty
    from sktdi.core import features

    feature_weights = features.SSMFeatureMap.feature_weights

    def quantiles(feature_map, X3):
        Q = dyadic_quantiles(X3)
        feature_map._n_quantiles = Q.shape[1]
        return Q

    def weights(self, difference_weight=1.0):  # the package's weights, then ``group``
        own = feature_weights(self, difference_weight)
        own = np.ones(self.n_features) if own is None else own
        return np.concatenate([own, np.full(self._n_quantiles, group)])

    return [*_appended_to_features(quantiles),
            (features.SSMFeatureMap, "feature_weights", weights)]


def _scale_floor(group):  # feature scales at least ``group`` times the median scale
    from sktdi import readout

    standardization = readout._standardization

    def floored(features, rows, weights):
        mean, scale = standardization(features, rows, weights)
        return mean, np.maximum(scale, group * np.median(scale))

    return [(readout, "_standardization", floored)]


def _appended_statistic(kind):
    """A statistic appended to every pooled feature vector ("mipv", "mpv" per bias,
    "competing" per channel), counted in the feature map's and the module's width."""
    def replacements(group):
        import torch

        from sktdi.core import bank, features

        pooled, width = bank.pooled_statistics, features.SSMFeatureMap.n_features
        module_width = bank.PooledStatistics.n_features
        per_bias = kind in ("mipv", "mpv")

        def with_extra(y, biases, statistics, lengths=None, widths=None):
            columns = pooled(y, biases, statistics, lengths, widths)
            low = y if lengths is None else y.masked_fill(
                torch.arange(y.shape[-1])[None, None, :] >= lengths[:, None, None],
                -torch.inf)
            values = low.detach().double().contiguous().numpy()
            b = biases.detach().double().numpy()
            if per_bias:
                statistic = _mean_index_above if kind == "mipv" else _mean_positive
                extra = statistic(values, b).reshape(len(values), -1)
            else:
                extra = _competing_counts(values, b.mean(1),
                                          widths.detach().double().numpy(), group)
            return torch.cat([columns, torch.from_numpy(extra).to(columns.dtype)], dim=1)

        def added(H, q):
            return H * q if per_bias else H

        def wider(feature_map):
            return width.fget(feature_map) + added(feature_map.params.n_channels,
                                                   feature_map.n_biases)

        def wider_module(pooling):
            return module_width.fget(pooling) + added(*pooling.biases.shape)

        return [(bank, "pooled_statistics", with_extra),
                (features.SSMFeatureMap, "n_features", property(wider)),
                (bank.PooledStatistics, "n_features", property(wider_module))]

    return replacements


_REPLACEMENTS = {
    "bias sample": _bias_sample, "time scales": _time_scales, "bias levels": _bias_levels,
    "second difference": _second_difference, "choose normalize": _choose_normalize,
    "choose differences": _choose_differences,
    "second-difference weight": _second_difference_weight,
    "one se": _one_standard_error, "concave": _concave, "level": _level,
    "input quantiles": _input_quantiles,
    "scale floor": _scale_floor, "mipv": _appended_statistic("mipv"),
    "mpv": _appended_statistic("mpv"), "competing": _appended_statistic("competing"),
}


# -------------------------------------------------------------------------------- runs
def run(variants, problems, seeds, done, on_row):
    from sktdi import SSMFeatureClassifier, SSMFeatureRegressor

    for problem in problems:
        task = panel.PANEL[problem]
        X_train, y_train, X_test, y_test = panel.load_problem(problem)
        estimator = SSMFeatureClassifier if task == "classification" else SSMFeatureRegressor
        for seed in seeds:
            role = "selection" if seed in panel.SELECTION_SEEDS else "confirmation"
            subsets = panel.training_subsets(y_train, task, seed, panel.FRACTIONS)
            for fraction, rows in subsets.items():
                for name in variants:
                    if (name, problem, str(seed), str(fraction)) in done:
                        continue
                    params, kind, group = VARIANTS[name]
                    with experimental_statistic(kind, group):
                        result = panel.fit_and_score(
                            estimator(random_state=seed, **params), panel.take(X_train, rows),
                            y_train[rows], X_test, y_test)
                    on_row({"variant": name, "problem": problem, "task": task, "seed": seed,
                            "role": role, "fraction": fraction, "n_train": len(rows),
                            **{k: result[k] for k in ("score", "fit_time", "predict_time")}})


# ------------------------------------------------------------------------------ report
def _means(rows, key):
    """key(row) -> mean score."""
    cells = {}
    for row in rows:
        cells.setdefault(key(row), []).append(float(row["score"]))
    return {k: float(np.mean(v)) for k, v in cells.items()}


def summary(rows, peers, role):
    """Markdown table of every variant's figures on the seeds of ``role``."""
    rows = [r for r in rows if r["role"] == role]
    peers = [r for r in peers if r["role"] == role and r["section"] == "panel"
             and r["model"] in panel.PEERS]
    seeds = sorted({int(r["seed"]) for r in rows})
    ours = _means(rows, lambda r: (r["variant"], r["problem"], float(r["fraction"])))
    theirs = _means(peers, lambda r: (r["model"], r["problem"], float(r["fraction"])))
    sizes = panel.FRACTIONS
    lines = [f"Seeds {', '.join(map(str, seeds))} ({role}). Univariate mean accuracy (%) and "
             "its difference from the default and from MultiRocket-Hydra; the worst "
             "classification problem against the best of the three peers (points); R^2 of "
             "the regressors and the accuracy (%) of the problems with reference figures "
             "(multivariate, unequal lengths) at 10 / 30 / 100%.", "",
             "| variant | univariate mean | vs default | vs MultiRocket-Hydra | worst problem "
             "| Covid3Month R^2 | CardanoSentiment R^2 | "
             + " | ".join(REFERENCED) + " |", "| --- |" + " --- |" * (6 + len(REFERENCED))]

    def univariate(name, source):
        cells = [[source.get((name, p, f)) for p in panel.UNIVARIATE] for f in sizes]
        return [100 * np.mean(c) if None not in c else np.nan for c in cells]

    base = univariate("default", ours)
    hydra = univariate("MultiRocket-Hydra", theirs)
    for name in dict.fromkeys(r["variant"] for r in rows):
        mean = univariate(name, ours)
        worst = []
        for f in sizes:
            gaps = [(100 * (ours[(name, p, f)] - max(theirs[(m, p, f)] for m in panel.PEERS)), p)
                    for p in CLASSIFICATION if (name, p, f) in ours
                    and all((m, p, f) in theirs for m in panel.PEERS)]
            worst.append(f"{min(gaps)[0]:+.1f} ({min(gaps)[1]})" if gaps else "")
        regression = [" / ".join(f"{ours.get((name, p, f), np.nan):.3f}" for f in sizes)
                      for p in panel.REGRESSION]
        referenced = [" / ".join(f"{100 * ours.get((name, p, f), np.nan):.1f}" for f in sizes)
                      for p in REFERENCED]

        def fmt(values):
            return " / ".join(f"{v:+.2f}" for v in values)

        lines.append(f"| {name} | {' / '.join(f'{v:.2f}' for v in mean)} | "
                     f"{fmt(np.subtract(mean, base))} | {fmt(np.subtract(mean, hydra))} | "
                     f"{' / '.join(worst)} | {' | '.join(regression + referenced)} |")
    return "\n".join(lines)


def report(rows, peers, info):
    parts = ["# Variants of the training-free estimator on the public panel", "",
             "Made by `benchmarks/bench_variants.py` (its docstring describes the variants); "
             "problems, subsets and peers' scores are `bench_panel.py`'s (`panel.csv`).", "",
             provenance_markdown(info)]
    for role in ("selection", "confirmation"):
        if any(r["role"] == role for r in rows):
            parts += ["", f"## {role.capitalize()} seeds", "", summary(rows, peers, role)]
    return "\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(panel.SELECTION_SEEDS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--problems", nargs="+", default=list(panel.PANEL),
                        choices=list(panel.PANEL))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--stem", default="variants",
                        help="name of the results files (STEM.csv, STEM.md)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    warnings.filterwarnings("ignore", category=UserWarning)  # TDI fallbacks of tiny subsets
    path = args.out / f"{args.stem}.csv"
    rows = read_csv(path) if args.resume else []
    done = {(r["variant"], r["problem"], r["seed"], r["fraction"]) for r in rows}

    def on_row(row):
        rows.append({k: str(v) for k, v in row.items()})
        write_csv(path, rows, COLUMNS)

    info = provenance()
    run(args.variants, args.problems, args.seeds, done, on_row)
    peers = read_csv(args.out / "panel.csv")
    write_atomically(args.out / f"{args.stem}.md", report(rows, peers, info))
    print(f"wrote {path} and {args.out / f'{args.stem}.md'}")


if __name__ == "__main__":
    main()
