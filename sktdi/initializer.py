"""`SpectralInitializer`: task-dependent initialization by power-spectrum matching.

Fit estimates the task's power spectrum (:func:`sktdi.spectral.task_power_spectrum`),
shrinks it towards the base initialization's own spectrum when data are few, and moves the
base SSM's modes so that the model power spectrum ``sum_h |H_h(w)|^2`` matches it
(SPEC section 4). Two ways of moving the modes:

- ``"quantile"`` (non-iterative): every mode's discrete frequency ``dt * Im A`` is put at a
  quantile of the task spectrum, read as a density over ``[0, pi]``; channels take
  interleaved quantiles so that together they tile the task's band(s) densely;
- ``"gradient"``: Adam on the matching loss over ``log dt`` and ``Im A`` (optionally
  ``log(-Re A)`` and ``log |C|``), through the closed-form frequency response;
- ``"hybrid"``: the quantile placement, then gradient steps from there.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_fitted_shape
from .core import (
    INIT_NAMES,
    DiagonalSSM,
    SSMParams,
    closed_form_response,
    count_aliased_modes,
    discretize,
    fft_conv,
    make_params,
)
from .spectral import (
    SPECTRUM_KINDS,
    frequency_grid,
    infer_task,
    model_power_spectrum,
    shrink_spectrum,
    spectral_matching_loss,
    task_power_spectrum,
)

__all__ = ["SpectralInitializer", "match_quantiles", "match_gradient"]

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
    edges = np.concatenate([[0.0], (w_grid[:-1] + w_grid[1:]) / 2, [np.pi]])
    levels = (np.arange(N2)[None, :] + (np.arange(H)[:, None] + 0.5) / H) / N2  # (H, N2)
    w = np.interp(levels, cdf, edges)
    A = params.A.real + 1j * w / params.dt[:, None]
    return SSMParams(A=A, B=params.B, C=params.C, dt=params.dt, D=params.D,
                     discretization=params.discretization)


def match_gradient(params, S_task, *, max_iter=100, tol=1e-6, learning_rate=0.05,
                   fit_real=False, fit_magnitude=False):
    """Minimise the spectral matching loss by Adam over the frequency-placing parameters.

    Optimises ``log dt`` (kept in ``[1e-4, 10]``) and ``Im A``; ``log(-Re A)`` with
    ``fit_real`` and ``log |C|`` with ``fit_magnitude``. Stops after ``max_iter`` steps or
    when the loss improves by less than ``tol`` over 10 steps.

    Returns
    -------
    params : SSMParams
    n_iter : int
    """
    layer = DiagonalSSM.from_params(params, dtype=torch.float64)
    L = 2 * (len(S_task) - 1)
    target = torch.as_tensor(S_task / np.linalg.norm(S_task))
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

    def loss_fn():
        A, B, C, dt = layer._continuous()
        log_Abar, Bbar = discretize(A, B, dt, layer.discretization)
        c = C * torch.exp(log_c_mag) * Bbar
        S = (closed_form_response(c, torch.exp(log_Abar), L).abs() ** 2).sum(dim=0)
        return ((S / S.norm() - target) ** 2).sum()

    # Adam can overshoot on this non-convex loss: keep the best parameters seen (the loss
    # of each step is that of the parameters before the update).
    best_loss, best_state, history = np.inf, None, []
    for _ in range(max_iter + 1):
        optimizer.zero_grad()
        loss = loss_fn()
        history.append(float(loss.detach()))
        if history[-1] < best_loss:
            best_loss, best_state = history[-1], _state(layer, log_c_mag)
        if len(history) > max_iter or (len(history) > 10 and history[-11] - history[-1] < tol):
            break
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            layer.log_dt.clamp_(*log_dt_bounds)
            layer.log_neg_A_re.clamp_(min=float(np.log(_MIN_DECAY)))
    n_iter = len(history) - 1
    params, c_magnitude = best_state
    layer.set_params(params)
    with torch.no_grad():
        layer.C.mul_(torch.exp(c_magnitude)[..., None])
    return layer.to_params(), n_iter


def _state(layer, log_c_mag):
    return layer.to_params(), log_c_mag.detach().clone()


def _ssm_features(params, X3, kind, batch_size=256):
    """Pooled outputs of a fixed SSM layer: (n, H). SSM channel h reads input channel h % C."""
    H = params.n_channels
    n, C, L = X3.shape
    layer = DiagonalSSM.from_params(params, dtype=torch.float64)
    route = np.arange(H) % C
    features = []
    with torch.no_grad():
        K = layer.kernel(L)  # (H, L), built once for all batches
        for begin in range(0, n, batch_size):
            u = torch.as_tensor(X3[begin:begin + batch_size][:, route, :])  # (B, H, L)
            y = fft_conv(u, K) + layer.D[:, None] * u
            features.append((y.pow(2) if kind == "power" else y).mean(dim=-1).numpy())
    return np.concatenate(features)


class SpectralInitializer(TransformerMixin, BaseEstimator):
    """Fit an SSM layer's power spectrum to the task's before training (TDI).

    Parameters
    ----------
    base : str, default="S4D-Lin"
        Base initialization to start from (a name of SPEC section 1).
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
        with many.
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
        Gradient stops when 10 steps improve the loss by less.
    learning_rate : float, default=0.05
        Adam step of the gradient methods.
    features : {"power", "mean"}, default="power"
        What :meth:`transform` pools over time per SSM channel: the mean square of the
        output (band power, useful for random-phase signals) or its mean.
    random_state : int, RandomState instance or None, default=None
        Seeds the base initialization.

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
        Gradient steps taken (0 for ``"quantile"``).
    fit_time_ : float
        Wall time of ``fit`` in seconds.
    n_aliased_modes_ : int
        Aliased modes of the aligned layer.
    fallback_ : bool
        True when the task had no spectrum (constant sequences) and the base was kept.
    n_features_in_ : int
    seq_len_ : int

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
        "features": [StrOptions({"power", "mean"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self, base="S4D-Lin", *, n_states=64, d_model=64, base_options=None,
        discretization="zoh", spectrum="auto", estimation="welch", nperseg=None,
        smoothing=3, shrinkage="auto", prior_samples=4, method="quantile", fit_real=False,
        fit_magnitude=False, max_iter=100, tol=1e-6, learning_rate=0.05, features="power",
        random_state=None,
    ):
        self.base = base
        self.n_states = n_states
        self.d_model = d_model
        self.base_options = base_options
        self.discretization = discretization
        self.spectrum = spectrum
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
        self.features = features
        self.random_state = random_state

    def _validate_X(self, X, reset):
        if not reset:
            check_fitted_shape(self, X)
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=np.float64)
        if X.ndim not in (2, 3):
            raise ValueError(
                "SpectralInitializer expects 2-D (n_samples, seq_len) or 3-D "
                f"(n_samples, n_channels, seq_len) input; got shape {X.shape}."
            )
        X3 = X[:, None, :] if X.ndim == 2 else X
        if reset:
            self.seq_len_ = X3.shape[-1]
        elif X3.shape[-1] != self.seq_len_:
            raise ValueError(
                f"X has sequences of length {X3.shape[-1]}, but SpectralInitializer was "
                f"fitted on length {self.seq_len_}."
            )
        return X3

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
    def fit(self, X, y=None):
        """Estimate the task spectrum of ``X`` (and ``y``) and align the SSM with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Labels or targets; required unless ``spectrum="input"``.

        Returns
        -------
        self : SpectralInitializer
        """
        start = time.perf_counter()
        X3 = self._validate_X(X, reset=True)
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != X3.shape[0]:
                raise ValueError(f"y has {y.shape[0]} entries but X has {X3.shape[0]} "
                                 "samples (inconsistent numbers of samples).")
        base = self.base_params()
        L = X3.shape[-1]
        self.spectrum_kind_ = self._resolve_kind(y)
        raw = task_power_spectrum(X3, y, self.spectrum_kind_, method=self.estimation,
                                  nperseg=self.nperseg, smoothing=self.smoothing)
        self.base_params_ = base
        self.raw_task_spectrum_ = raw
        prior = model_power_spectrum(base, L)
        self.fallback_ = not np.any(raw > 0)
        if self.fallback_:
            warnings.warn(
                "The task spectrum is zero (constant or all-zero sequences): nothing to "
                f"match, so the base initialization {self.base!r} is kept.",
                UserWarning, stacklevel=2,
            )
            self.shrinkage_ = 1.0
            self.task_spectrum_ = prior
            self.params_, self.n_iter_ = base, 0
        else:
            n = X3.shape[0]
            self.shrinkage_ = (self.prior_samples / (self.prior_samples + n)
                               if self.shrinkage == "auto" else float(self.shrinkage))
            self.task_spectrum_ = shrink_spectrum(raw, prior, self.shrinkage_)
            self.params_, self.n_iter_ = self._match(base, self.task_spectrum_)
        self.initial_loss_ = spectral_matching_loss(prior, self.task_spectrum_)
        self.loss_ = spectral_matching_loss(model_power_spectrum(self.params_, L),
                                            self.task_spectrum_)
        self.n_aliased_modes_ = count_aliased_modes(self.params_)
        self.fit_time_ = time.perf_counter() - start
        return self

    def _resolve_kind(self, y):
        if self.spectrum == "input":
            return "input"
        if y is None:
            raise ValueError(
                f"spectrum={self.spectrum!r} needs y (labels or targets); pass y to fit or "
                "use spectrum='input'."
            )
        if self.spectrum != "auto":
            return self.spectrum
        return "cross" if infer_task(y) == "regression" else "discriminative"

    def _match(self, base, S_task):
        if self.method == "gradient":
            return match_gradient(base, S_task, **self._gradient_options())
        placed = match_quantiles(base, S_task)
        if self.method == "quantile" or self.max_iter == 0:
            return placed, 0
        return match_gradient(placed, S_task, **self._gradient_options())

    def _gradient_options(self):
        return {"max_iter": self.max_iter, "tol": self.tol,
                "learning_rate": self.learning_rate, "fit_real": self.fit_real,
                "fit_magnitude": self.fit_magnitude}

    def transform(self, X):
        """Features of the fixed aligned SSM: one pooled output per SSM channel.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)

        Returns
        -------
        features : ndarray of shape (n_samples, d_model)
        """
        check_is_fitted(self, "params_")
        X3 = self._validate_X(X, reset=False)
        return _ssm_features(self.params_, X3, self.features)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: one per SSM channel.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored: outputs are SSM channels, not input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``ssm0`` ... ``ssm{d_model - 1}``.
        """
        check_is_fitted(self, "params_")
        return np.asarray([f"ssm{h}" for h in range(self.d_model)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags
