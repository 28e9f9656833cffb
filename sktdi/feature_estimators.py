"""Training-free SSM estimators: `SSMFeatureClassifier`, `SSMFeatureRegressor`.

The setting of the paper's kernel view, as an estimator: a *fixed* bank of diagonal SSM
filters (a named initialization, or aligned with the task's power spectrum by TDI), pooled
statistics of every filter's output (:mod:`sktdi.core.features`), and a ridge readout whose
penalty is chosen by efficient leave-one-out. Nothing is trained by gradient descent: a fit
is one pass of the bank over the training sequences and one eigendecomposition.
"""

import textwrap
import time
import warnings
from abc import abstractmethod
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._compat import HasMethods, Interval, StrOptions, _check_sample_weight, _fit_context
from ._validation import (
    MISSING,
    ParameterCheckingMeta,
    check_squares_finite,
    validate_sequences,
)
from ._warnings import SequenceLayoutWarning, each_once
from .core import (
    DEFAULT_STATISTICS,
    DIFFERENCE_WEIGHT,
    INIT_NAMES,
    STATISTICS,
    SSMFeatureMap,
    make_params,
)
from .core.features import OwnAndResampledFeatureMap
from .core.padding import is_padded, median_length, resample_sequences, sequence_lengths
from .initializer import SpectralInitializer
from .readout import REGRESSION_ALPHAS, RidgeReadout
from .selection import (
    DEFAULT_ALPHAS,
    auto_candidates,
    duplicate_groups,
    leave_one_out_errors,
    select_candidate,
)
from .spectral import SPECTRUM_KINDS

__all__ = ["SSMFeatureClassifier", "SSMFeatureRegressor", "bank_time_scales"]

_SEED_MAX = np.iinfo(np.int32).max
# init="tdi:KIND": TDI matching the task spectrum KIND (SpectralInitializer(spectrum=KIND)).
TDI_KINDS = tuple(f"tdi:{kind}" for kind in SPECTRUM_KINDS)
# Fraction of the bank that init="tdi" leaves at the base initialization.
_KEEP_BASE = 0.5
# Default of the regressors' clip_features (benchmarks/results/clipping.md).
CLIP_FEATURES = True


def bank_time_scales(time_scales, seq_len):
    """``dt_min, dt_max`` of a bank whose memories span ``time_scales`` steps.

    A mode with ``Re A = -1/2`` (S4D-Lin, S4D-Inv, S4D-LegS, scaled) forgets with time
    constant ``2 / dt`` steps, so memories from ``shortest`` to ``longest`` steps need
    ``dt`` from ``2 / longest`` to ``2 / shortest``.

    Parameters
    ----------
    time_scales : "auto" or (float, float)
        ``(shortest, longest)`` memory in steps; ``"auto"`` is from 4 steps to the
        sequence length.
    seq_len : int

    Returns
    -------
    dt_min, dt_max : float

    Examples
    --------
    >>> from sktdi.feature_estimators import bank_time_scales
    >>> bank_time_scales("auto", 200)
    (0.01, 0.5)
    """
    if isinstance(time_scales, str):
        shortest, longest = 4.0, float(max(seq_len, 4))
    else:
        try:
            shortest, longest = (float(v) for v in time_scales)
        except (TypeError, ValueError) as exc:
            raise ValueError("time_scales must be 'auto' or a pair (shortest, longest) of "
                             f"memories in steps; got {time_scales!r}.") from exc
        if not 0 < shortest <= longest < np.inf:
            raise ValueError("time_scales needs 0 < shortest <= longest (memories in steps); "
                             f"got {time_scales!r}.")
    return 2.0 / longest, 2.0 / shortest


class _BaseSSMFeatures(BaseEstimator, metaclass=ParameterCheckingMeta):
    """Shared parameters, fitting and prediction of the training-free SSM estimators."""

    _parameter_constraints: dict = {
        "init": [StrOptions({*INIT_NAMES, "tdi", "auto", *TDI_KINDS}),
                 HasMethods(["fit", "base_params"])],
        "base": [StrOptions(set(INIT_NAMES))],
        "n_states": [Interval(Integral, 2, None, closed="left")],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "init_options": [dict, None],
        "discretization": [StrOptions({"zoh", "bilinear"})],
        "time_scales": [StrOptions({"auto"}), tuple, list],
        "differences": ["boolean", Interval(Integral, 0, 2, closed="both")],
        "normalize": ["boolean", StrOptions({"keep-level"})],
        "statistics": [tuple, list],
        "n_biases": [Interval(Integral, 1, None, closed="left")],
        "alphas": ["array-like", None],
        "cv": ["cv_object"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "missing": [StrOptions(set(MISSING))],
        "resample": [StrOptions({"median"}), None],
    }

    def __init__(
        self, init="tdi", *, base="S4D-LegS", n_states=16, d_model=256, init_options=None,
        discretization="zoh", time_scales="auto", differences=2, normalize=False,
        statistics=DEFAULT_STATISTICS, n_biases=5, alphas=None, cv=None, resample="median",
        random_state=None, verbose=False, missing="error",
    ):
        self.init = init
        self.base = base
        self.n_states = n_states
        self.d_model = d_model
        self.init_options = init_options
        self.discretization = discretization
        self.time_scales = time_scales
        self.differences = differences
        self.normalize = normalize
        self.statistics = statistics
        self.n_biases = n_biases
        self.alphas = alphas
        self.cv = cv
        self.resample = resample
        self.random_state = random_state
        self.verbose = verbose
        self.missing = missing

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _validate_targets(self, y):
        """Targets ready for the ridge readout (sets the target attributes)."""

    _classification = False

    # ------------------------------------------------------------------ fitting
    def _check_settings(self, seq_len):
        if self.n_states % 2:
            raise ValueError(
                f"n_states must be even (conjugate pairs of modes), got {self.n_states}."
            )
        unknown = sorted(set(self.statistics) - set(STATISTICS))
        if unknown or len(self.statistics) == 0:
            raise ValueError(f"statistics must be a non-empty selection of {STATISTICS}; "
                             f"got {tuple(self.statistics)!r}.")
        dt_min, dt_max = bank_time_scales(self.time_scales, seq_len)
        return {"dt_min": dt_min, "dt_max": dt_max, **(self.init_options or {})}

    def _candidates(self):
        """Label -> ``init`` value of every initialization this fit evaluates."""
        if isinstance(self.init, str) and self.init == "auto":
            return auto_candidates(self.base, _KEEP_BASE)
        if isinstance(self.init, str) and (self.init == "tdi" or self.init in TDI_KINDS):
            kind = "auto" if self.init == "tdi" else self.init[len("tdi:"):]
            return {self.init: SpectralInitializer(base=self.base, keep_base=_KEEP_BASE,
                                                   spectrum=kind)}
        label = self.init if isinstance(self.init, str) else "SpectralInitializer"
        return {label: self.init}

    def _feature_transformer(self, init, seed, base_options, d_model):
        """The fixed bank of ``init`` with ``d_model`` channels: an unfitted
        SpectralInitializer (TDI) or the SSMParams of a named initialization."""
        if isinstance(init, str):
            return make_params(init, d_model, self.n_states, random_state=seed,
                               discretization=self.discretization, **base_options)
        return clone(init).set_params(
            n_states=self.n_states, d_model=d_model, discretization=self.discretization,
            base_options={**base_options, **(init.base_options or {})},
            differences=self.differences, normalize=self.normalize,
            features=tuple(self.statistics), n_biases=self.n_biases, random_state=seed,
            task="classification" if self._classification else "regression",
            missing=self.missing,
        )

    def _fit_candidate(self, init, seed, base_options, X3, y, sample_weight):
        """Fit one candidate bank; return ``(feature map, initializer or None, features)``.

        Where :meth:`_resampled_length` gives a length, the bank is two: one of
        ``d_model - d_model // 2`` channels reads the sequences over their own steps, one
        of ``d_model // 2`` the sequences resampled to that length (each its own
        candidate fit, TDI included); the initializer returned is the first's."""
        length = self._resampled_length(X3, sample_weight)
        if length is None:
            return self._fit_bank(init, seed, base_options, X3, y, sample_weight,
                                  self.d_model)
        if self.verbose:
            print(f"[{type(self).__name__}] {self.d_model // 2} of {self.d_model} channels "
                  f"read the sequences resampled to {length} steps", flush=True)
        own, initializer, own_features = self._fit_bank(
            init, seed, base_options, X3, y, sample_weight, self.d_model - self.d_model // 2)
        resampled, _, resampled_features = self._fit_bank(
            init, seed, self._check_settings(length), resample_sequences(X3, length), y,
            sample_weight, self.d_model // 2, user_layout=False)
        return (OwnAndResampledFeatureMap(own, resampled, length), initializer,
                np.hstack([own_features, resampled_features]))

    def _resampled_length(self, X3, sample_weight):
        """The length to which half of the bank resamples the training sequences ``X3``
        (``resample``), or None: the whole bank reads every sequence over its own steps
        (sequences of one length, ``resample=None``, or a bank of one channel)."""
        if self.resample is None or not is_padded(X3) or self.d_model < 2:
            return None
        if sample_weight is None:
            return median_length(sequence_lengths(X3))
        present = sample_weight > 0
        return median_length(sequence_lengths(X3[present]), sample_weight[present])

    def _fit_bank(self, init, seed, base_options, X3, y, sample_weight, d_model,
                  user_layout=True):
        """Fit one bank of ``d_model`` channels on ``X3``; return ``(feature map,
        initializer or None, features)``. With ``user_layout``, a TDI initializer is fitted
        on ``X3`` in the layout the user gave (a 2-D array as 2-D)."""
        transformer = self._feature_transformer(init, seed, base_options, d_model)
        initializer = None
        if isinstance(transformer, SpectralInitializer):
            # in the user's layout, so that initializer_.transform takes what predict takes
            # (a 2-D array keeps its width, even where its last columns are only padding)
            X_user = X3
            if user_layout and self._input_ndim == 2:
                X_user = np.pad(X3[:, 0], ((0, 0), (0, self.n_features_in_ - X3.shape[-1])),
                                constant_values=np.nan)
            initializer = transformer
            with warnings.catch_warnings():  # the estimator has said it about X already
                warnings.simplefilter("ignore", SequenceLayoutWarning)
                if self._own_feature_map() is False:  # the initializer's map is the bank's
                    features = initializer.fit_transform(X_user, y, sample_weight)
                    return initializer.feature_map_, initializer, features
                transformer = initializer.fit(X_user, y, sample_weight).params_
        feature_map = self._feature_map(transformer, X3, y, sample_weight, initializer)
        return feature_map, initializer, feature_map.fit_transform(X3, sample_weight)

    def _own_feature_map(self):
        """Whether the bank needs a feature map of its own, not the initializer's (deeper
        layers, another precision: the trained estimators)."""
        return False

    def _feature_map(self, params, X3, y, sample_weight, initializer=None):
        """The unfitted feature map of a bank with the SSM layer ``params`` (TDI's, fitted
        by ``initializer``, or a named one)."""
        return SSMFeatureMap(params, differences=self.differences,
                             statistics=tuple(self.statistics), n_biases=self.n_biases,
                             normalize=self.normalize)

    def _fit(self, X, y, sample_weight):
        start = time.perf_counter()
        X3, y, sample_weight = self._validate_fit(X, y, sample_weight)
        self._fit_start(X3, y, sample_weight)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _validate_fit(self, X, y, sample_weight, classes=None):
        """The checked ``(X3, y, sample_weight)`` of a fit (records the input layout);
        ``classes``: every class ``partial_fit`` will see."""
        X3, y = validate_sequences(self, X, y, reset=True, **self._target_check_params())
        check_squares_finite(X3, "X")
        y = self._validate_targets(y) if classes is None else self._validate_targets(y, classes)
        if not self._classification:  # the readout squares its errors
            check_squares_finite(y, "y")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X3, dtype=np.float64,
                                                 ensure_non_negative=True)
        self._check_settings(X3.shape[-1])
        return X3, y, sample_weight

    def _fit_start(self, X3, y, sample_weight=None, classes=None):
        """The training-free fit: every candidate bank, its statistics and a ridge readout,
        and the choice among them. Sets ``feature_map_``, ``initializer_``, ``readout_``,
        ``params_``, ``alpha_``, ``init_selected_`` and ``init_scores_``; returns the
        training features of the chosen bank."""
        start = time.perf_counter()
        with each_once():  # a base fallback of TDI is announced once, not per candidate
            fits, scores = self._fit_every_candidate(X3, y, sample_weight, classes, start)
        auto = isinstance(self.init, str) and self.init == "auto"
        if auto:
            errors = weights = misclassified = None
            if self.cv is None:
                errors = {label: leave_one_out_errors(fit[2])[0] for label, fit in fits.items()}
                weights = leave_one_out_errors(fits[self.base][2])[1]
                if self._classification:
                    misclassified = {label: fit[2].loo_misclassified_
                                     for label, fit in fits.items()}
            chosen = select_candidate(scores, self.base, errors=errors,
                                      misclassified=misclassified, sample_weight=weights)
        else:
            chosen = next(iter(fits))
        if self.verbose and auto:
            print(f"[{type(self).__name__}] kept {chosen} (init='auto')", flush=True)
        self.feature_map_, self.initializer_, self.readout_, features = fits[chosen]
        self._record_training_features(features, sample_weight)
        self.params_ = self.feature_map_.params
        self.alpha_ = self.readout_.alpha_
        if self._classification:
            self.classes_ = self.readout_.classes_
        self.init_selected_ = chosen
        self.init_scores_ = scores if auto else None
        return features

    def _fit_every_candidate(self, X3, y, sample_weight, classes, start):
        base_options = self._check_settings(X3.shape[-1])
        seed = check_random_state(self.random_state).randint(_SEED_MAX)
        groups = duplicate_groups(X3, y)
        fits, scores = {}, {}
        for label, init in self._candidates().items():
            feature_map, initializer, features = self._fit_candidate(
                init, seed, base_options, X3, y, sample_weight)
            readout = self._fit_readout(feature_map, features, y, sample_weight, groups,
                                        classes)
            fits[label] = (feature_map, initializer, readout, features)
            scores[label] = readout.best_score_
            if self.verbose:
                what = ("leave-one-out score (minus the mean squared error)" if self.cv is None
                        else "mean fold score")
                print(f"[{type(self).__name__}] {label}: {feature_map.n_features} features, "
                      f"{what} {scores[label]:.4f} (alpha {readout.alpha_:.3g}), "
                      f"{time.perf_counter() - start:.2f}s", flush=True)
        return fits, scores

    def _fit_readout(self, feature_map, features, y, sample_weight, groups, classes=None,
                     alphas=None):
        """The ridge readout of ``feature_map``'s ``features``: its penalty chosen among
        the estimator's ``alphas`` (by leave-one-out or ``cv``), or among ``alphas`` by
        leave-one-out."""
        cv = self.cv if alphas is None else None
        if alphas is None:
            alphas = self._default_alphas if self.alphas is None else self.alphas
        # the classifiers penalize the second difference's statistics more (DIFFERENCE_WEIGHT)
        weights = feature_map.feature_weights(
            DIFFERENCE_WEIGHT if self._classification else 1.0)
        readout = RidgeReadout(alphas, self._classification, cv, feature_weights=weights)
        return readout.fit(features, y, sample_weight, groups, classes)

    def _record_training_features(self, features, sample_weight=None):
        """What the fit keeps of the training features (nothing here)."""

    def _features(self, X):
        X3 = validate_sequences(self, X, reset=False)
        return self.feature_map_.transform(X3)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.missing == "impute"  # padding is not missing
        return tags


_SHARED_PARAMS_DOC = """
    init : str or SpectralInitializer, default="tdi"
        The filter bank. A base name (``"S4D-Lin"``, ``"S4D-Inv"``, ``"S4D-LegS"``,
        ``"S4D-Real"``, ``"LRU"``, ``"scaled"``) uses that initialization as it is.
        ``"tdi"`` aligns half of the channels with the task's power spectrum (a default
        :class:`~sktdi.SpectralInitializer` from ``base`` with ``keep_base=0.5``) and
        keeps the other half at ``base``: the readout gets both the base's filters and
        filters placed on the task's band(s). ``"tdi:KIND"`` does the same with the task
        spectrum ``KIND`` (``"tdi:input"``, ``"tdi:cross"``, ``"tdi:discriminative"``;
        ``SpectralInitializer(spectrum=KIND)``), the names ``init_scores_`` uses. A
        ``SpectralInitializer`` is used with its own settings (cloned; its architecture,
        ``differences`` and statistics set to this estimator's). ``"auto"`` compares
        ``base`` and TDI with each spectrum kind by the leave-one-out errors of the ridge
        readout on the training data, and keeps the base unless a candidate is
        significantly better (:func:`~sktdi.selection.select_candidate`: lower errors by
        2.5 standard errors of the paired difference and fewer left-out
        misclassifications than chance allows; 3 standard errors for regression; with a
        ``cv``, the best fold score): ``init_scores_`` holds the evidence.
    base : str, default="S4D-LegS"
        Named initialization that ``"tdi"`` and ``"auto"`` start from. The diagonalized
        HiPPO-LegS modes give polynomial-like filters that describe shapes well.
    n_states : int, default=16
        States per channel ``N`` (even).
    d_model : int, default=256
        Channels of the bank ``H``.
    init_options : dict, default=None
        Extra keyword arguments of :func:`sktdi.core.make_params` (also the
        ``base_options`` of the TDI candidates); ``dt_min``/``dt_max`` here override
        ``time_scales``.
    discretization : {"zoh", "bilinear"}, default="zoh"
    time_scales : "auto" or (float, float), default="auto"
        Memories of the channels in steps, ``(shortest, longest)``: ``dt`` is drawn
        log-uniformly so that the time constants ``2 / dt`` span them
        (:func:`bank_time_scales`). ``"auto"`` is from 4 steps to the sequence length.
    differences : bool or {0, 1, 2}, default=2
        Half of the channels read the first difference of every input channel instead of
        the channel itself (True or 1): a view without the sequence's level, in which
        shapes stand out. With 2, the statistics also pool the first difference of those
        channels' outputs, as ``d_model // 2`` channels of their own: a filter commutes
        with differencing, so these are the same filters' outputs on the second
        difference (the curvature), for the cost of pooling them and no more filtering.
        On the public panel's five univariate problems, 2 scored +1.3 / +0.7 / +0.1
        points of mean accuracy above 1 at 10 / 30 / 100% of the training splits on the
        selection seeds, and +1.9 / +0.5 / +0.0 on the confirmation seeds; it scored up
        to 1.6 points below on JapaneseVowels and up to 2.7 on PickupGestureWiimoteZ
        (``benchmarks/results/variants_outputs.md``). The classifiers' readout therefore
        penalizes the statistics of the second difference about twice as much as the
        others (weight ``DIFFERENCE_WEIGHT`` = 0.7, :meth:`SSMFeatureMap.feature_weights
        <sktdi.core.SSMFeatureMap.feature_weights>`), which gave JapaneseVowels 1.3 /
        0.3 / 0.0 and PickupGestureWiimoteZ 1.3 / 1.3 / 2.0 points back on the selection
        seeds, for 0.34 / 0.00 / 0.06 of the univariate mean
        (``benchmarks/results/variants_second_difference.md``). False reads the channels
        alone.
    normalize : bool or "keep-level", default=False (classifiers), "keep-level" (regressors)
        True standardizes every channel of every sequence on its own first: for
        collections whose sequences differ in scale by orders of magnitude (counts,
        sales), not where the scale or the level is the signal (BasicMotions' accuracy
        drops from 1.00 to 0.88 at 8 training sequences; a regressor of the level learns
        nothing). ``"keep-level"`` standardizes alike and gives the readout what that
        removes, every channel's log standard deviation and mean per standard deviation
        (:func:`sktdi.core.level_and_scale`), as features penalized 1/4096 as
        much as the others. The regressors' default: on Covid3Month and CardanoSentiment
        it scored above False in all six cells (10 / 30 / 100% of the training split) on
        the selection seeds and on the confirmation seeds (Covid3Month's R^2 at the
        whole split 0.095 -> 0.207; ``benchmarks/results/variants_level.md``).
    statistics : tuple of str, default=("ppv", "lspv", "max", "min", "last")
        Statistics of every channel's output, from :data:`sktdi.core.STATISTICS`.
    n_biases : int, default=5
        Biases per channel of ``"ppv"`` and ``"lspv"``, drawn from quantiles of the
        training outputs.
    alphas : array-like of float, default=None
        Ridge penalties to choose from (on standardized features); None is
        ``numpy.logspace(-3, 3, 10)`` for the classifiers and ``numpy.logspace(-3, 5, 14)``
        for the regressors, whose largest penalties leave a target that the features
        barely predict near its training mean.
    cv : int, cross-validation generator, iterable or None, default=None
        How the penalty, and with ``init="auto"`` the bank, are chosen: None is the
        efficient leave-one-out of the ridge readout (one eigendecomposition); otherwise
        as the ``cv`` of :class:`~sklearn.linear_model.RidgeCV` (folds refit the ridge,
        not the bank).
    random_state : int, RandomState instance or None, default=None
        Seeds the bank (``C``, ``D``, ``dt``). The same integer gives identical results.
    verbose : bool, default=False
        Print every evaluated bank's size, leave-one-out score and the time so far.
    missing : {"error", "impute"}, default="error"
        What a NaN inside a sequence (one followed by observed values) is: an error naming
        the sequence and step, or a missing value to interpolate linearly within its
        channel. NaN after a sequence's last observed step are always its padding (see
        :ref:`input-layout`).
"""

_SHARED_ATTRS_DOC = """
    feature_map_ : SSMFeatureMap
        The fitted bank and statistics; ``feature_map_.transform`` gives the features
        (before standardization) of any ``(n, C, L)`` array.
    params_ : SSMParams
        The bank's SSM layer.
    initializer_ : SpectralInitializer or None
        The fitted initializer of a TDI bank (its ``transform`` gives the same features).
    readout_ : sktdi.readout.RidgeReadout
        The ridge readout: the standardization of the features (``mean_``, ``scale_``),
        the coefficients on the standardized features (``coef_``, ``intercept_``) and the
        leave-one-out evidence (``loo_errors_``, ``loo_decision_``).
    alpha_ : float
        Penalty chosen by leave-one-out (or ``cv``).
    init_selected_ : str
        The bank used: the base name, ``"tdi"``, ``"SpectralInitializer"``, or with
        ``init="auto"`` the chosen candidate (``"S4D-LegS"``, ``"tdi:discriminative"``,
        ...).
    init_scores_ : dict or None
        ``init="auto"`` only: candidate -> validation score of its ridge readout (with
        ``cv=None`` the leave-one-out score, minus the mean squared error; higher is
        better). :func:`sktdi.plotting.plot_init_scores`
        draws it.
    fit_time_ : float
        Wall time of ``fit`` in seconds.
    n_features_in_ : int
        ``X.shape[1]`` at fit, as scikit-learn reads it: the (padded) sequence length for a
        2-D array and for a list of 1-D sequences; the channel count for a 3-D array and for
        a list of ``(n_channels, length)`` sequences.
    n_channels_ : int
        Input channels.
    seq_len_ : int
        Sequence length seen at fit.
"""


_RESAMPLE_DOC = """
    resample : {{"median"}} or None, default={default}
        How the bank reads sequences of unequal lengths. ``"median"``: half of its
        channels (``d_model // 2``) read every sequence linearly resampled to the median
        length of the training sequences (:func:`sktdi.core.padding.resample_sequences`),
        the other half read every sequence over its own steps, each half with a bank
        fitted (TDI included) on what it reads; the features are both halves'
        (``feature_map_`` is then an :class:`~sktdi.core.features.OwnAndResampledFeatureMap`,
        ``params_`` the two halves' layers, own steps first, and ``initializer_`` the first
        half's). Over its own steps, a gesture made twice as fast excites other filters;
        resampled, every sequence spans the same steps whatever its duration. None: every
        channel reads the sequences' own steps. Sequences of one length are read as they
        are either way.
{measured}
"""


def _indented(text):
    """``text`` as docstring lines of a parameter's description."""
    return textwrap.fill(text, 88, initial_indent=" " * 8, subsequent_indent=" " * 8,
                         break_on_hyphens=False)


_CLASSIFIER_RESAMPLE_DOC = _RESAMPLE_DOC.format(
    default='"median"',
    measured=_indented(
        "On PickupGestureWiimoteZ (29 to 361 steps), ``\"median\"`` scored 77.3 / 90.0 "
        "against 76.0 / 84.0 points of accuracy for None at 20 training sequences / the "
        "whole training split on the selection seeds, and 78.7 / 92.7 against 76.0 / 84.0 "
        "on the confirmation seeds; on JapaneseVowels (7 to 26 steps) it scored 0.0 to 0.4 "
        "points above None in all six cells (10 / 30 / 100% of the training split, both "
        "sets of seeds; ``benchmarks/results/variants_resample.md``)."))
_REGRESSOR_RESAMPLE_DOC = _RESAMPLE_DOC.format(
    default="None",
    measured=_indented("The regressors' default is None: the public panel's regression "
                       "problems are of one length, so ``\"median\"`` was measured for "
                       "classification only."))


class _SSMClassifierMixin(ClassifierMixin):
    """Targets and predictions of both classifier families: the readout's class scores,
    labels and calibrated probabilities."""

    _classification = True
    _default_alphas = DEFAULT_ALPHAS

    def _target_check_params(self):
        return {"multi_output": False}

    def _validate_targets(self, y, classes=None):
        check_classification_targets(y)
        classes = np.unique(y if classes is None else classes)
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class "
                f"({classes[0]!r})."
            )
        return y

    def decision_function(self, X):
        """Ridge scores of every class (of the positive class for binary problems).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "readout_")
        return self.readout_.decision_function(self._features(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "readout_")
        return self.readout_.predict(self._features(X))

    def predict_proba(self, X):
        """Class probabilities, calibrated on the leave-one-out scores of the training
        sequences.

        The readout scores every class; a logistic (two classes) or a softmax (more) of
        the scores gives the probabilities, with the slope (and, for two classes, the
        offset) that fits best the scores each training sequence got from a readout fitted
        without it (``readout_.calibration_``): probabilities from held-out scores, for no
        more than the one fit.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self, "readout_")
        return self.readout_.predict_proba(self._features(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))


class SSMFeatureClassifier(_SSMClassifierMixin, _BaseSSMFeatures):
    __doc__ = f"""Training-free sequence classifier: a fixed SSM filter bank and a ridge readout.

    Every channel of a fixed diagonal SSM layer filters the sequences (the input and,
    with ``differences``, its differences); the outputs are pooled over time into
    statistics that keep *how often*, *how long*, *how far* and *how recently* they exceed
    data-drawn thresholds, and a :class:`~sklearn.linear_model.RidgeClassifierCV` on the
    standardized statistics predicts. This is the SSM-induced kernel of the theory with a
    nonlinear pooling: the bank's frequency response decides which signals the readout
    can see, and TDI puts part of it where the task's spectrum is.

    Parameters
    ----------{_SHARED_PARAMS_DOC}{_CLASSIFIER_RESAMPLE_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_SHARED_ATTRS_DOC}
    See Also
    --------
    SSMFeatureRegressor : The regression counterpart.
    SSMClassifier : The same model class, trained by gradient descent.
    SpectralInitializer : Its ``transform`` gives these features for any scikit-learn model.

    Examples
    --------
    >>> from sktdi import SSMFeatureClassifier
    >>> from sktdi.datasets import make_spectral_task
    >>> X, y = make_spectral_task(80, 128, random_state=0)
    >>> clf = SSMFeatureClassifier(d_model=32, random_state=0).fit(X[:40], y[:40])
    >>> clf.predict(X[40:43]).shape
    (3,)
    >>> clf = SSMFeatureClassifier(init="auto", d_model=32, random_state=0).fit(X[:40], y[:40])
    >>> sorted(clf.init_scores_)
    ['S4D-LegS', 'tdi:cross', 'tdi:discriminative', 'tdi:input']

    Sequences of unequal lengths, as a list: half of the bank reads them resampled to
    their median length (``resample``).

    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.normal(size=n) for n in rng.randint(20, 60, size=30)]
    >>> y = np.arange(30) % 2
    >>> clf = SSMFeatureClassifier(d_model=16, random_state=0).fit(X, y)
    >>> clf.feature_map_.length == int(np.median([len(x) for x in X]))
    True
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the bank's statistics and the ridge readout.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in every step of the fit (the TDI spectrum,
            the standardization, the biases and the readout); a weight ``k`` counts like
            ``k`` copies of the sample.

        Returns
        -------
        self : SSMFeatureClassifier
        """
        return self._fit(X, y, sample_weight)


_CLIP_DOC = """
    clip_features : bool, default=True
        Clip every standardized feature to the range it took on the training sequences
        before the readout predicts. A regressor's output is linear in its features, so a
        sequence whose features lie far outside the training range (a count series many
        times larger than any seen) is extrapolated without limit; clipping caps the
        prediction at what the training range supports, and also stops the model from
        following a trend beyond it (targets 1.5 to 3 times the largest training target
        are then predicted near that largest one). ``benchmarks/results/clipping.md``
        compares both on Covid3Month, CardanoSentiment and synthetic tasks.
"""


class _SSMRegressorMixin(RegressorMixin):
    """Targets and predictions of both regressor families: the readout's prediction, from
    features clipped to their training range with ``clip_features``."""

    _default_alphas = REGRESSION_ALPHAS

    def _target_check_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_targets(self, y, classes=None):
        y = np.asarray(y, dtype=np.float64)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return y

    def _record_training_features(self, features, sample_weight=None):
        # A regressor's output is unbounded: a test sequence whose features lie far outside
        # the training range (Covid3Month's counts span orders of magnitude) would be
        # extrapolated to R^2 of -100 and below at 14 training sequences. With
        # clip_features, predict clips the features to what training saw.
        if sample_weight is not None:  # a row of weight 0 is not a training row
            features = features[sample_weight > 0]
        self.feature_range_ = (features.min(axis=0), features.max(axis=0))

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``fit`` got a 1-D ``y``.
        """
        check_is_fitted(self, "readout_")
        features = self._features(X)
        if self.clip_features:
            features = np.clip(features, *self.feature_range_)
        return self.readout_.predict(features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class SSMFeatureRegressor(_SSMRegressorMixin, _BaseSSMFeatures):
    __doc__ = f"""Training-free sequence regressor: a fixed SSM filter bank and a ridge readout.

    The bank and statistics of :class:`SSMFeatureClassifier`, with a
    :class:`~sklearn.linear_model.RidgeCV` readout (one or several targets).

    Parameters
    ----------{_SHARED_PARAMS_DOC}{_CLIP_DOC}{_REGRESSOR_RESAMPLE_DOC}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    feature_range_ : tuple of ndarray
        Smallest and largest value of every feature on the training sequences, which
        ``predict`` clips to with ``clip_features``.{_SHARED_ATTRS_DOC}
    See Also
    --------
    SSMFeatureClassifier : The classification counterpart.
    SSMRegressor : The same model class, trained by gradient descent.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMFeatureRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 64))
    >>> y = X[:, -16:].mean(axis=1)
    >>> reg = SSMFeatureRegressor(d_model=32, random_state=0).fit(X[:40], y[:40])
    >>> reg.predict(X[40:43]).shape
    (3,)
    """

    _parameter_constraints: dict = {**_BaseSSMFeatures._parameter_constraints,
                                    "clip_features": ["boolean"]}

    def __init__(
        self, init="tdi", *, base="S4D-LegS", n_states=16, d_model=256, init_options=None,
        discretization="zoh", time_scales="auto", differences=2, normalize="keep-level",
        statistics=DEFAULT_STATISTICS, n_biases=5, alphas=None, cv=None,
        clip_features=CLIP_FEATURES, resample=None, random_state=None, verbose=False,
        missing="error",
    ):
        super().__init__(
            init, base=base, n_states=n_states, d_model=d_model, init_options=init_options,
            discretization=discretization, time_scales=time_scales, differences=differences,
            normalize=normalize, statistics=statistics, n_biases=n_biases, alphas=alphas,
            cv=cv, resample=resample, random_state=random_state, verbose=verbose,
            missing=missing,
        )
        self.clip_features = clip_features

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the bank's statistics and the ridge readout.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in every step of the fit (the TDI spectrum,
            the standardization, the biases and the readout); a weight ``k`` counts like
            ``k`` copies of the sample.

        Returns
        -------
        self : SSMFeatureRegressor
        """
        return self._fit(X, y, sample_weight)

