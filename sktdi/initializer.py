"""`SpectralInitializer`: task-dependent initialization by power-spectrum matching.

Fit estimates the task's power spectrum (:func:`sktdi.spectral.task_power_spectrum`),
shrinks it towards the base initialization's own spectrum when data are few, and moves the
base SSM's modes so that the model power spectrum ``sum_h |H_h(w)|^2`` matches it (see
docs/theory.rst, 'Matching'). Two ways of moving the modes:

- ``"quantile"`` (non-iterative): every mode's discrete frequency ``dt * Im A`` is put at a
  quantile of the task spectrum, read as a density over ``[0, pi]``; channels take
  interleaved quantiles so that together they tile the task's band(s) densely;
- ``"gradient"``: Adam on the matching loss over ``log dt`` and ``Im A`` (optionally
  ``log(-Re A)`` and ``log |C|``), through the closed-form frequency response;
- ``"hybrid"``: the quantile placement, then gradient steps from there.

``keep_base`` leaves a fraction of the channels at the base initialization, spread evenly
over the layer, and aligns the others: a filter bank then holds both the base's filters
and filters placed on the task's band(s), and a readout can use either. ``transform``
gives the pooled statistics of the fixed layer (:mod:`sktdi.core.features`), the
features of :class:`~sktdi.SSMFeatureClassifier`.
"""

import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions, _check_sample_weight, _fit_context
from ._validation import (
    MISSING,
    ParameterCheckingMeta,
    _check_targets_present,
    check_squares_finite,
    validate_sequences,
)
from ._warnings import warn
from .core import (
    DEFAULT_STATISTICS,
    INIT_NAMES,
    NYQUIST,
    STATISTICS,
    DiagonalSSM,
    SSMFeatureMap,
    SSMParams,
    count_aliased_modes,
    input_views,
    make_params,
    matching_loss,
    power_spectrum,
)
from .core.padding import distinct_sequences, padding_and_lengths
from .spectral import (
    MIN_SPECTRUM_LENGTH,
    SPECTRUM_KINDS,
    count_examples,
    frequency_grid,
    infer_task,
    model_power_spectrum,
    resolve_spectrum_kind,
    shrink_spectrum,
    spectral_matching_loss,
    task_power_spectrum,
)

__all__ = ["SpectralInitializer", "align_deeper_layers", "aligned_channels",
           "match_gradient", "match_quantiles"]

# Bounds that keep the fitted SSM sane: dt within these, Re A below -_MIN_DECAY.
_DT_BOUNDS = (1e-4, 10.0)
_MIN_DECAY = 1e-4


def match_quantiles(params, S_task, rng=None):
    """Place every mode at a quantile of the task spectrum (non-iterative matching).

    Channel ``h``'s ``n``-th mode gets the discrete frequency ``w`` at which the cumulative
    task spectrum reaches ``(n + (h + 0.5) / H) / N2``, so the ``H * N2`` modes of the layer
    sit at ``H * N2`` evenly spaced quantiles. ``dt``, ``Re A``, ``B``, ``C`` stay; ``Im A``
    becomes ``w / dt``, so no mode aliases.

    Returns
    -------
    SSMParams
    """
    H, N2 = params.A.shape
    n_freq = len(S_task)
    L = 2 * (n_freq - 1)
    w_grid = frequency_grid(L)
    density = np.clip(S_task, 0, None)
    # The cumulative distribution on bin edges, so quantiles interpolate within bins.
    cdf = np.concatenate([[0.0], np.cumsum(density)])
    cdf /= cdf[-1]
    edges = np.concatenate([[0.0], (w_grid[:-1] + w_grid[1:]) / 2, [NYQUIST]])
    levels = (np.arange(N2)[None, :] + (np.arange(H)[:, None] + 0.5) / H) / N2  # (H, N2)
    w = np.interp(levels, cdf, edges)
    A = params.A.real + 1j * w / params.dt[:, None]
    return SSMParams(A=A, B=params.B, C=params.C, dt=params.dt, D=params.D,
                     discretization=params.discretization)


def match_gradient(params, S_task, *, max_iter=100, tol=1e-6, learning_rate=0.05,
                   fit_real=False, fit_magnitude=False):
    """Minimise the spectral matching loss by Adam over the frequency-placing parameters.

    Optimises ``log dt`` (kept in ``[1e-4, 10]``) and ``Im A`` (kept at discrete
    frequencies ``dt |Im A| <= pi``, so that no mode aliases); ``log(-Re A)`` with
    ``fit_real`` and ``log |C|`` with ``fit_magnitude``. Stops after ``max_iter`` steps, or
    when the best loss seen has not improved by more than ``tol`` in the last 10 steps
    (Adam's loss goes up and down on the way; a rise alone is no reason to stop). Returns
    the best parameters seen.

    Returns
    -------
    params : SSMParams
    n_iter : int
    """
    layer = DiagonalSSM.from_params(params, dtype=torch.float64)
    L = 2 * (len(S_task) - 1)
    target = torch.as_tensor(S_task, dtype=torch.float64)
    log_c_mag = torch.zeros(layer.C.shape[:2], dtype=torch.float64, requires_grad=True)
    trainable = [layer.log_dt, layer.A_im]
    if fit_real:
        trainable.append(layer.log_neg_A_re)
    if fit_magnitude:
        trainable.append(log_c_mag)
    for p in layer.parameters():
        p.requires_grad_(any(p is t for t in trainable))
    optimizer = torch.optim.Adam(trainable, lr=learning_rate)
    log_dt_bounds = [float(np.log(b)) for b in _DT_BOUNDS]

    def keep_in_bounds():
        with torch.no_grad():
            layer.log_dt.clamp_(*log_dt_bounds)
            layer.log_neg_A_re.clamp_(min=float(np.log(_MIN_DECAY)))
            # dt |Im A| <= NYQUIST, a hair inside so that rounding cannot carry a mode across
            nyquist = (NYQUIST * (1 - 1e-9) / torch.exp(layer.log_dt))[:, None]
            layer.A_im.clamp_(-nyquist, nyquist)

    keep_in_bounds()  # a start that aliases (S4D-Lin's upper modes) is clipped first

    def loss_fn():
        c, log_a = layer.discrete()  # (H, N2)
        S = power_spectrum(c * torch.exp(log_c_mag), torch.exp(log_a), L)  # (L//2+1,)
        return matching_loss(S, target)

    # Adam can overshoot on this non-convex loss: keep the best parameters seen (the loss
    # of each step is that of the parameters before the update).
    best_loss, best_state, history = np.inf, None, []
    for _ in range(max_iter + 1):
        optimizer.zero_grad()
        loss = loss_fn()
        history.append(float(loss.detach()))
        if history[-1] < best_loss:
            best_loss, best_state = history[-1], _state(layer, log_c_mag)
        stalled = len(history) > 10 and min(history[:-10]) - min(history[-10:]) <= tol
        if len(history) > max_iter or stalled:
            break
        loss.backward()
        optimizer.step()
        keep_in_bounds()
    n_iter = len(history) - 1
    params, c_magnitude = best_state
    layer.set_params(params)
    with torch.no_grad():
        layer.C.mul_(torch.exp(c_magnitude)[..., None])
    return layer.to_params(), n_iter


def _state(layer, log_c_mag):
    return layer.to_params(), log_c_mag.detach().clone()


def aligned_channels(n_channels, keep_base):
    """Indices of the channels that TDI moves when ``keep_base`` of them keep the base.

    The kept channels are spread evenly over the layer (every other one for 0.5), so that
    kept and aligned channels share the time-scales and input views of the layer alike.

    Returns
    -------
    aligned : ndarray of int
    """
    h = np.arange(n_channels)
    kept = np.floor((h + 1) * keep_base) > np.floor(h * keep_base)
    return h[~kept]


def _with_channels(params, channels, source):
    """``params`` with the given channels replaced by those of ``source`` (same shape)."""
    values = {name: getattr(params, name).copy() for name in ("A", "B", "C", "dt", "D")}
    for name in values:
        values[name][channels] = getattr(source, name)
    return SSMParams(**values, discretization=params.discretization)


def _channel_subset(params, channels):
    return SSMParams(params.A[channels], params.B[channels], params.C[channels],
                     params.dt[channels], params.D[channels], params.discretization)


class SpectralInitializer(TransformerMixin, BaseEstimator, metaclass=ParameterCheckingMeta):
    """Fit an SSM layer's power spectrum to the task's before training (TDI).

    Parameters
    ----------
    base : str, default="S4D-Lin"
        Base initialization to start from (a name of :ref:`theory-model`).
    n_states : int, default=64
        States per channel ``N`` (even).
    d_model : int, default=64
        Channels ``H``.
    base_options : dict, default=None
        Keyword arguments of :func:`sktdi.core.make_params` for the base.
    discretization : {"zoh", "bilinear"}, default="zoh"
    spectrum : {"auto", "input", "cross", "discriminative"}, default="auto"
        Task spectrum to match (:func:`sktdi.spectral.task_power_spectrum`); ``"auto"`` is
        ``"discriminative"`` for classification and ``"cross"`` for regression. Needs ``y``
        except for ``"input"``.
    task : {"auto", "classification", "regression"}, default="auto"
        How to read ``y``: class labels or values to regress. ``"auto"`` infers it with
        :func:`~sklearn.utils.multiclass.type_of_target`, which reads integer targets
        (counts, ages) as classes; the estimators state their task instead.
    estimation : {"periodogram", "welch"}, default="welch"
        Per-sequence spectrum estimate (``scipy.signal``). Welch averages overlapping
        segments: a lower-variance estimate of a narrow band from few sequences, which is
        what TDI needs at small training sizes (``benchmarks/results/tdi_defaults_sweep.md``).
        The ``"cross"`` spectrum is built from whole-sequence DFTs whatever this setting.
    nperseg : int, default=None
        Welch segment length (default ``L // 4``).
    smoothing : int, default=3
        Moving-average width over frequency bins.
    shrinkage : float or "auto", default="auto"
        Weight of the base spectrum in the matched target. ``"auto"`` is
        ``prior_samples / (prior_samples + n_samples)``: strong with few samples, vanishing
        with many (``n_samples`` counts the distinct sequences of positive weight).
    prior_samples : float, default=4
        The ``"auto"`` shrinkage's pseudo-count: a weight of 0.2 on the base spectrum at
        16 samples, 0.06 at 64. A pseudo-count of 16 kept too much of the base spectrum at
        16 samples and cost 20 accuracy points on the high-band task of the sweep.
    method : {"quantile", "gradient", "hybrid"}, default="quantile"
        How modes are moved (module docstring).
    fit_real : bool, default=False
        Also fit ``Re A`` (gradient methods).
    fit_magnitude : bool, default=False
        Also fit ``|C|`` (gradient methods).
    max_iter : int, default=100
        Gradient steps.
    tol : float, default=1e-6
        Gradient matching stops when 10 steps improve the best loss seen by no more.
    learning_rate : float, default=0.05
        Adam step of the gradient methods.
    keep_base : float in [0, 1), default=0.0
        Fraction of the channels left at the base initialization, spread evenly over the
        layer; TDI places the modes of the others. 0 aligns the whole layer (the paper's
        TDI); :class:`~sktdi.SSMFeatureClassifier` keeps half, so that its ridge readout
        can use the base's filters and the aligned ones side by side.
    differences : bool or {0, 1, 2}, default=False
        Let the channels read the first difference of every input channel as well (True, 1
        or 2: the input *views* of :func:`sktdi.core.input_views`); the task spectrum is
        then that of the views together. With 2, :meth:`transform` also pools the first
        difference of the outputs of the channels that read the differences (the same
        filters on the second difference, :class:`sktdi.core.SSMFeatureMap`).
    normalize : bool or "keep-level", default=False
        Standardize every channel of every sequence on its own before anything else
        (:func:`sktdi.core.input_views`): spectrum and features then ignore each sequence's
        level and scale. ``"keep-level"`` standardizes alike and appends every channel's
        level and scale to the features of :meth:`transform`
        (:func:`sktdi.core.level_and_scale`).
    features : "pooled", "power", "mean" or tuple of str, default="pooled"
        What :meth:`transform` pools over time per SSM channel: ``"pooled"`` the
        statistics of :data:`sktdi.core.DEFAULT_STATISTICS` (proportion and longest
        stretch of positive values against ``n_biases`` data-drawn biases, max, min and
        last value: the features of :class:`~sktdi.SSMFeatureClassifier`); ``"power"``
        the mean square (band power); ``"mean"`` the mean; or a tuple of names from
        :data:`sktdi.core.STATISTICS`.
    n_biases : int, default=5
        Biases per channel of the per-bias statistics.
    random_state : int, RandomState instance or None, default=None
        Seeds the base initialization.
    missing : {"error", "impute"}, default="error"
        What a NaN inside a sequence (one followed by observed values) is: an error naming
        the sequence and step, or a missing value to interpolate linearly within its
        channel. NaN after a sequence's last observed step are always its padding (see
        :ref:`input-layout`).

    Attributes
    ----------
    params_ : SSMParams
        The aligned SSM layer.
    base_params_ : SSMParams
        The base initialization it started from.
    task_spectrum_ : ndarray of shape (L // 2 + 1,)
        The matched target (after smoothing and shrinkage).
    raw_task_spectrum_ : ndarray of shape (L // 2 + 1,)
        The estimate before shrinkage.
    spectrum_kind_ : str
        The spectrum kind used (``"auto"`` resolved).
    shrinkage_ : float
        Shrinkage used.
    initial_loss_ : float
        Matching loss of the base initialization.
    loss_ : float
        Matching loss of the aligned layer.
    n_iter_ : int
        Matching iterations: the quantile placement counts one, every gradient step one
        more (``"gradient"`` counts its steps alone); a fallback that keeps the base
        evaluated the task once and counts one.
    fit_time_ : float
        Wall time of ``fit`` in seconds.
    n_aliased_modes_ : int
        Aliased modes of the aligned layer.
    fallback_ : bool
        True when the task had no spectrum to match and the base was kept, with a
        warning: sequences shorter than 4 steps, a single sequence, a class with fewer
        than two sequences (discriminative spectrum), constant sequences, or a spectrum
        that is zero everywhere (no frequency above the noise floor).
    fallback_reason_ : str or None
        Why, after a fallback.
    aligned_channels_ : ndarray of int
        Channels whose modes TDI placed (all but those ``keep_base`` keeps).
    feature_map_ : SSMFeatureMap
        The fixed layer and the fitted statistics of :meth:`transform`.
    n_features_in_ : int
        ``X.shape[1]`` at fit, as scikit-learn reads it: the (padded) sequence length for a
        2-D array and for a list of 1-D sequences; the channel count for a 3-D array and for
        a list of ``(n_channels, length)`` sequences.
    seq_len_ : int
        The longest training sequence.

    Examples
    --------
    >>> from sklearn.linear_model import RidgeClassifierCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sktdi import SpectralInitializer
    >>> from sktdi.datasets import make_spectral_task
    >>> X, y = make_spectral_task(200, 128, random_state=0)
    >>> init = SpectralInitializer(d_model=16, n_states=16, random_state=0).fit(X, y)
    >>> bool(init.loss_ < init.initial_loss_)
    True
    >>> model = make_pipeline(SpectralInitializer(d_model=16, n_states=16, random_state=0),
    ...                       RidgeClassifierCV()).fit(X, y)
    """

    _parameter_constraints: dict = {
        "base": [StrOptions(set(INIT_NAMES))],
        "n_states": [Interval(Integral, 2, None, closed="left")],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "base_options": [dict, None],
        "discretization": [StrOptions({"zoh", "bilinear"})],
        "spectrum": [StrOptions(set(SPECTRUM_KINDS))],
        "task": [StrOptions({"auto", "classification", "regression"})],
        "estimation": [StrOptions({"periodogram", "welch"})],
        "nperseg": [Interval(Integral, 4, None, closed="left"), None],
        "smoothing": [Interval(Integral, 1, None, closed="left")],
        "shrinkage": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "prior_samples": [Interval(Real, 0, None, closed="left")],
        "method": [StrOptions({"quantile", "gradient", "hybrid"})],
        "fit_real": ["boolean"],
        "fit_magnitude": ["boolean"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "keep_base": [Interval(Real, 0, 1, closed="left")],
        "differences": ["boolean", Interval(Integral, 0, 2, closed="both")],
        "normalize": ["boolean", StrOptions({"keep-level"})],
        "features": [StrOptions({"pooled", "power", "mean"}), tuple, list],
        "n_biases": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "missing": [StrOptions(set(MISSING))],
    }

    def __init__(
        self, base="S4D-Lin", *, n_states=64, d_model=64, base_options=None,
        discretization="zoh", spectrum="auto", task="auto", estimation="welch", nperseg=None,
        smoothing=3, shrinkage="auto", prior_samples=4, method="quantile", fit_real=False,
        fit_magnitude=False, max_iter=100, tol=1e-6, learning_rate=0.05, keep_base=0.0,
        differences=False, normalize=False, features="pooled", n_biases=5, random_state=None,
        missing="error",
    ):
        self.base = base
        self.n_states = n_states
        self.d_model = d_model
        self.base_options = base_options
        self.discretization = discretization
        self.spectrum = spectrum
        self.task = task
        self.estimation = estimation
        self.nperseg = nperseg
        self.smoothing = smoothing
        self.shrinkage = shrinkage
        self.prior_samples = prior_samples
        self.method = method
        self.fit_real = fit_real
        self.fit_magnitude = fit_magnitude
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.keep_base = keep_base
        self.differences = differences
        self.normalize = normalize
        self.features = features
        self.n_biases = n_biases
        self.random_state = random_state
        self.missing = missing

    def base_params(self):
        """The (seeded) base initialization this initializer starts from.

        Returns
        -------
        params : SSMParams
            ``make_params(base, d_model, n_states, ...)`` with this object's settings.
        """
        if self.n_states % 2:
            raise ValueError(f"n_states must be even, got {self.n_states}.")
        rng = check_random_state(self.random_state)
        return make_params(
            self.base, self.d_model, self.n_states, random_state=rng,
            discretization=self.discretization, **(self.base_options or {}),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the task spectrum of ``X`` (and ``y``) and align the SSM with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Labels or targets; required unless ``spectrum="input"``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the sequences in the task spectrum and the statistics
            of :meth:`transform`; a weight ``k`` counts like ``k`` copies. Sample sizes
            (the ``"auto"`` shrinkage, the degrees of freedom of the discriminative
            spectrum) count distinct sequences of positive weight, so that weights
            multiplied by a constant change nothing.

        Returns
        -------
        self : SpectralInitializer
        """
        X3, sample_weight = self._align(X, y, sample_weight)
        self.feature_map_.fit(X3, sample_weight)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, sample_weight=None):
        """:meth:`fit`, then :meth:`transform` of ``X``, filtering ``X`` once.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
        """
        X3, sample_weight = self._align(X, y, sample_weight)
        return self.feature_map_.fit_transform(X3, sample_weight)

    def _align(self, X, y, sample_weight=None):
        """Validate, estimate the task spectrum, place the modes; set every fitted attribute
        but the feature map's statistics. Returns the validated ``(n, C, L)`` input and
        sample weights."""
        start = time.perf_counter()
        X3 = validate_sequences(self, X, reset=True, dtype=np.float64)
        check_squares_finite(X3, "X")
        if y is not None:
            y = np.asarray(y)
            if y.ndim not in (1, 2) or y.ndim == 2 and y.shape[1] == 0:
                raise ValueError(f"y must be 1-D (labels or targets) or 2-D (several "
                                 f"targets), one row per sequence; got shape {y.shape}.")
            _check_targets_present(y)
            if y.shape[0] != X3.shape[0]:
                raise ValueError(f"y has {y.shape[0]} entries but X has {X3.shape[0]} "
                                 "samples (inconsistent numbers of samples).")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X3, dtype=np.float64,
                                                 ensure_non_negative=True)
        kind = self._resolve_kind(y)
        if kind == "cross" and self._task(y) == "regression":
            check_squares_finite(np.asarray(y, dtype=np.float64), "y")  # squared in it
        base = self.base_params()
        L = X3.shape[-1]
        self.spectrum_kind_ = kind
        self.base_params_ = base
        self.aligned_channels_ = aligned_channels(base.n_channels, self.keep_base)
        prior = model_power_spectrum(base, L)
        views = input_views(X3, self.differences, self.normalize)
        reason = self._why_no_spectrum(X3, views, y, sample_weight)
        if reason is None:
            with np.errstate(over="ignore"):  # an overflow is reported below, by name
                raw = task_power_spectrum(views, y, self.spectrum_kind_,
                                          method=self.estimation, nperseg=self.nperseg,
                                          smoothing=self.smoothing, task=self._task(y),
                                          sample_weight=sample_weight)
            if not np.all(np.isfinite(raw)):
                raise ValueError("The task spectrum overflows to inf: the values of X (or of "
                                 "the targets y) are too large; rescale them.")
            reason = None if np.any(raw > 0) else self._why_zero(views)
        else:
            raw = np.zeros(L // 2 + 1)
        self.raw_task_spectrum_ = raw
        self.fallback_ = reason is not None
        self.fallback_reason_ = reason
        if self.fallback_:
            warn(f"{reason[0].upper()}{reason[1:]}: nothing to match, so the base "
                 f"initialization {self.base!r} is kept.")
            self.shrinkage_ = 1.0
            self.task_spectrum_ = prior
            self.params_, self.n_iter_ = base, 1
        else:
            # distinct sequences: copies and weights add none, scaled weights change nothing
            n = self._count(X3, sample_weight)
            self.shrinkage_ = (self.prior_samples / (self.prior_samples + n)
                               if self.shrinkage == "auto" else float(self.shrinkage))
            self.task_spectrum_ = shrink_spectrum(raw, prior, self.shrinkage_)
            self.params_, self.n_iter_ = self._match(base, self.task_spectrum_)
        self.initial_loss_ = spectral_matching_loss(prior, self.task_spectrum_)
        self.loss_ = spectral_matching_loss(model_power_spectrum(self.params_, L),
                                            self.task_spectrum_)
        self.n_aliased_modes_ = count_aliased_modes(self.params_)
        self.feature_map_ = SSMFeatureMap(
            self.params_, differences=self.differences, statistics=self._statistics(),
            n_biases=self.n_biases, normalize=self.normalize,
        )
        self.fit_time_ = time.perf_counter() - start
        return X3, sample_weight

    def _count(self, X3, sample_weight, y=None):
        """Distinct sequences (and targets) of positive weight: what sample sizes count.
        Rows of computed activations (deeper layers) are distinct by construction and are
        never compared."""
        if getattr(self, "_distinct_rows", False):
            return int(len(X3) if sample_weight is None else np.count_nonzero(sample_weight))
        return count_examples(X3, y, sample_weight)

    def _why_no_spectrum(self, X3, views, y, sample_weight):
        """Why the task has no spectrum to estimate, or None. The degenerate cases are read
        off the data themselves (constant or repeated sequences, constant targets): their
        spectra would be rounding residue, not zero."""
        n_steps = views.shape[-1]
        if n_steps < MIN_SPECTRUM_LENGTH:
            return (f"sequences of length {n_steps} are too short for a task spectrum (TDI "
                    f"needs at least {MIN_SPECTRUM_LENGTH} steps)")
        present = np.ones(len(X3), bool) if sample_weight is None else sample_weight > 0
        given = not getattr(self, "_distinct_rows", False)  # the user's data, not activations
        if given and np.all((X3[present] == X3[present][:, :, :1]) | np.isnan(X3[present])):
            return "the task spectrum is zero (constant or all-zero sequences)"
        if self._count(X3, sample_weight) < 2:
            return ("there is a single training sequence (or copies of one): once the mean "
                    "sequence is removed, no spectrum is left")
        if self.spectrum_kind_ != "input" and self._task(y) == "classification" and (
                np.unique(np.asarray(y)[present]).size < 2):
            return "the sequences hold a single class: no difference between classes to find"
        if given and self.spectrum_kind_ == "cross":
            targets = np.asarray(y)[present]
            if np.all(targets == targets[:1]):
                return "the targets are constant (the cross spectrum is zero)"
        if self.spectrum_kind_ == "discriminative" and self._task(y) == "classification":
            # distinct sequences of every class (copies and weights add none)
            labels, codes = np.unique(np.asarray(y)[present], return_inverse=True)
            counts = np.array([self._count(X3[present][codes.ravel() == k], None)
                               for k in range(len(labels))])
            if np.any(counts < 2):
                few = ", ".join(repr(c.item() if hasattr(c, "item") else c)
                                for c in labels[counts < 2])
                return (f"class(es) {few} have fewer than two training sequences: the "
                        "discriminative spectrum needs variance within every class")
        return None

    def _why_zero(self, views):
        """Why an estimated spectrum is zero everywhere."""
        if self.spectrum_kind_ == "discriminative":
            return ("no frequency shows a difference in power between the targets above "
                    "what noise alone gives (the discriminative spectrum is zero)")
        if self.spectrum_kind_ == "cross":
            return "the targets are uncorrelated with every frequency (the cross spectrum is zero)"
        return "the sequences equal their mean sequence (the input spectrum is zero)"

    def _statistics(self):
        if isinstance(self.features, str):
            return {"pooled": DEFAULT_STATISTICS, "power": ("power",),
                    "mean": ("mean",)}[self.features]
        unknown = sorted(set(self.features) - set(STATISTICS))
        if unknown or not self.features:
            raise ValueError(f"features must be 'pooled', 'power', 'mean' or a non-empty "
                             f"tuple of {STATISTICS}; got {self.features!r}.")
        return tuple(self.features)

    def _resolve_kind(self, y):
        if self.spectrum == "input":
            return "input"
        if y is None:
            raise ValueError(
                f"spectrum={self.spectrum!r} needs y (labels or targets); pass y to fit or "
                "use spectrum='input'."
            )
        return resolve_spectrum_kind(self.spectrum, self._task(y))

    def _task(self, y):
        if y is None:
            return None
        return infer_task(y) if self.task == "auto" else self.task

    def _match(self, base, S_task):
        """Place the modes of the aligned channels; the others keep the base's."""
        channels = self.aligned_channels_
        if channels.size == 0:
            return base, 1
        moving = _channel_subset(base, channels)
        if self.method == "gradient":
            placed, n_iter = match_gradient(moving, S_task, **self._gradient_options())
        else:
            placed, n_iter = match_quantiles(moving, S_task), 1
            if self.method == "hybrid" and self.max_iter > 0:
                placed, steps = match_gradient(placed, S_task, **self._gradient_options())
                n_iter += steps
        return _with_channels(base, channels, placed), n_iter

    def _gradient_options(self):
        return {"max_iter": self.max_iter, "tol": self.tol,
                "learning_rate": self.learning_rate, "fit_real": self.fit_real,
                "fit_magnitude": self.fit_magnitude}

    def transform(self, X):
        """Features of the fixed aligned SSM: statistics of every channel's output.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
            ``features="pooled"`` gives ``d_model * (2 * n_biases + 3)`` columns
            (:meth:`get_feature_names_out` names them); ``"power"`` and ``"mean"`` one
            per channel. float32, the precision the bank filters in, whatever the
            input's.
        """
        check_is_fitted(self, "feature_map_")
        X3 = validate_sequences(self, X, reset=False, dtype=np.float64)
        return self.feature_map_.transform(X3)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: channel and statistic.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored: outputs are SSM channels, not input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``ssm{h}_{statistic}`` (``ssm{h}_ppv{j}`` for the ``j``-th bias).
        """
        check_is_fitted(self, "feature_map_")
        return np.asarray(self.feature_map_.feature_names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.missing == "impute"  # padding is not missing
        tags.target_tags.required = False
        # features come in the bank's float32 (exact, and half the memory of float64)
        tags.transformer_tags.preserves_dtype = []
        return tags


# ------------------------------------------------------ TDI set-up of the trained estimators
_SEED_MAX = np.iinfo(np.int32).max
# Training rows whose activations deeper layers are aligned with (align_layers="all").
_ALIGN_SAMPLES = 512


def align_deeper_layers(features, first, views, y, rng, n_samples=_ALIGN_SAMPLES):
    """Align every deeper layer of ``features`` (in place) with the task spectrum of the
    activations reaching it at initialization.

    Parameters
    ----------
    features : sktdi.core.SSMFeatures
        The bank and its deeper blocks.
    first : SpectralInitializer
        The fitted initializer of the bank; the others copy its settings.
    views : ndarray of shape (n_samples, n_views, seq_len)
        The bank's standardized input views (NaN after the end of shorter sequences).
    y : ndarray
    rng : numpy.random.RandomState
    n_samples : int
        At most this many distinct rows (drawn at random) give the activations.

    Returns
    -------
    initializers : list of SpectralInitializer, one per deeper layer
    """
    parameter = features.bank.in_weight
    distinct = distinct_sequences(views)[0]  # one row of every distinct input
    rows = distinct[rng.permutation(distinct.size)[:n_samples]]
    inputs, lengths = padding_and_lengths(views[rows])
    padding = None if lengths is None else np.arange(views.shape[-1]) >= lengths[:, None, None]
    initializers = []
    with torch.no_grad():
        z = features.bank(torch.as_tensor(inputs, dtype=parameter.dtype,
                                          device=parameter.device))
        for block in features.blocks:  # z (B, H, L): what this block sees at initialization
            initializer = clone(first).set_params(
                differences=False, features="mean",  # activations, not input views
                random_state=rng.randint(_SEED_MAX))
            activations = z.double().cpu().numpy()
            if padding is not None:  # the activations of the padding are padding again
                activations = np.where(padding, np.nan, activations)
            initializer._distinct_rows = True  # rows of distinct inputs: never compared
            initializer.fit(activations, y[rows])
            block.ssm.set_params(initializer.params_)
            initializers.append(initializer)
            z = block(z)
    return initializers
