"""Spectral mathematics of diagonal SSMs.

Everything here is NumPy in float64 on the real-FFT grid ``w_j = 2 pi j / L``,
``j = 0..L//2`` (radians per sample), unless a function says otherwise. The formulas
are on the :ref:`theory` page: :ref:`theory-model`, :ref:`theory-induced-kernel`,
:ref:`theory-task-spectra` and :ref:`theory-matching`.
"""

import numpy as np
import torch
from scipy import signal
from scipy.linalg import toeplitz
from scipy.ndimage import uniform_filter1d

from ._validation import check_sequences, infer_task
from .core import (
    SSMParams,
    closed_form_response,
    discretize,
    matching_loss,
    power_spectrum,
    vandermonde_kernel,
)
from .core.padding import distinct_sequences, fill_padding, is_padded, sequence_lengths

__all__ = [
    "SPECTRUM_KINDS",
    "frequency_grid",
    "frequency_response",
    "induced_kernel_spectrum",
    "model_power_spectrum",
    "shrink_spectrum",
    "spectral_matching_loss",
    "ssm_kernel",
    "task_power_spectrum",
]

SPECTRUM_KINDS = ("input", "cross", "discriminative", "auto")
# Shortest sequence with a spectrum worth matching (three non-DC frequency bins).
MIN_SPECTRUM_LENGTH = 4


def _check_params(params):
    if not isinstance(params, SSMParams):
        raise TypeError(f"Expected an SSMParams, got {type(params).__name__}.")
    params.validate()


def _check_length(L):
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise ValueError(f"The sequence length L must be a positive integer, got {L!r}.")
    return int(L)


def frequency_grid(L):
    """Real-FFT frequencies ``w_j = 2 pi j / L`` for ``j = 0..L//2`` (radians per sample).

    Parameters
    ----------
    L : int
        Sequence length.

    Returns
    -------
    w : ndarray of shape (L // 2 + 1,)
    """
    return 2 * np.pi * np.arange(_check_length(L) // 2 + 1) / L


def ssm_kernel(params, L):
    """Convolution kernel ``K[h, l] = 2 Re sum_n C Bbar Abar**l`` of length ``L``.

    Parameters
    ----------
    params : SSMParams
    L : int

    Returns
    -------
    K : ndarray of shape (H, L), float64

    Examples
    --------
    >>> from sktdi.core import make_params
    >>> from sktdi.spectral import ssm_kernel
    >>> ssm_kernel(make_params("S4D-Lin", d_model=3, n_states=8, random_state=0), 16).shape
    (3, 16)
    """
    c, log_a, L = _discrete(params, L)
    return vandermonde_kernel(c, log_a, L).numpy()


def frequency_response(params, L):
    """Closed-form DFT of the length-``L`` kernel, without building the kernel.

    ``H[h, j] = sum_n c (1 - a**L) / (1 - a e^{-i w_j}) + (conjugate pair)``, with
    ``c = C Bbar`` and ``a = Abar``; equals ``numpy.fft.rfft(ssm_kernel(params, L))``.
    Costs ``O(H N L)`` and is computed in frequency chunks of bounded memory.

    Returns
    -------
    H : ndarray of shape (H, L // 2 + 1), complex128

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core import make_params
    >>> from sktdi.spectral import frequency_response, ssm_kernel
    >>> p = make_params("S4D-Inv", d_model=2, n_states=8, random_state=0)
    >>> np.allclose(frequency_response(p, 64), np.fft.rfft(ssm_kernel(p, 64)))
    True
    """
    c, log_a, L = _discrete(params, L)
    return closed_form_response(c, torch.exp(log_a), L).numpy()


def model_power_spectrum(params, L, per_channel=False):
    """Model power spectrum ``S_model[j] = sum_h |H[h, j]|**2``.

    Parameters
    ----------
    params : SSMParams
    L : int
    per_channel : bool, default=False
        Return ``|H[h, j]|**2`` of shape ``(H, L // 2 + 1)`` instead of the sum.

    Returns
    -------
    S : ndarray of shape (L // 2 + 1,) or (H, L // 2 + 1)
    """
    c, log_a, L = _discrete(params, L)
    return power_spectrum(c, torch.exp(log_a), L, per_channel=per_channel).numpy()


def _discrete(params, L):
    """Checked ``params`` and ``L`` -> float64 tensors ``c = C Bbar`` and ``log Abar``
    (H, N2), and ``L`` as an int."""
    _check_params(params)
    L = _check_length(L)
    A, B, C, dt = (torch.from_numpy(x) for x in (params.A, params.B, params.C, params.dt))
    log_a, Bbar = discretize(A, B, dt, params.discretization)
    return C * Bbar, log_a, L


# ------------------------------------------------------------------------- task spectra
def _periodograms(Xc, method, nperseg, lengths=None):
    """Per-sequence power ``|U_j|^2 / L`` on the real-FFT grid: (n, C, L//2+1).

    With ``lengths``, sequence ``i`` holds its ``lengths[i]`` first steps (zeros after
    them), and its power is estimated over those steps and read on the same ``L``-point
    grid: the periodogram is evaluated there exactly (the DFT of the zero-padded
    sequence), Welch's average is interpolated onto it like every Welch estimate.
    """
    L = Xc.shape[-1]
    if lengths is None:
        if method == "periodogram":
            _, P = signal.periodogram(Xc, window="boxcar", detrend=False,
                                      return_onesided=False, scaling="density", axis=-1)
            return P[..., : L // 2 + 1]
        return _welch_on_grid(Xc, nperseg, L)
    power = np.empty(Xc.shape[:2] + (L // 2 + 1,))
    for length in np.unique(lengths):  # sequences of one length at a time
        rows = lengths == length
        own = Xc[rows][..., :length]
        if method == "periodogram" or length < MIN_SPECTRUM_LENGTH:
            power[rows] = np.abs(np.fft.rfft(own, n=L, axis=-1)) ** 2 / length
        else:
            power[rows] = _welch_on_grid(own, nperseg, L)
    return power


def _welch_on_grid(Xc, nperseg, L):
    """Welch's power estimate of ``Xc`` (n, C, l), segments of ``nperseg`` (default
    ``l // 4``) steps, interpolated onto the ``L``-point real-FFT grid."""
    segment = min(Xc.shape[-1], nperseg or max(MIN_SPECTRUM_LENGTH, Xc.shape[-1] // 4))
    freqs, P = signal.welch(Xc, nperseg=segment, detrend=False,
                            return_onesided=False, scaling="density", axis=-1)
    order = np.argsort(freqs)
    freqs, P = freqs[order], P[..., order]
    if segment % 2 == 0:  # even segments hold Nyquist, -0.5 (fftfreq may round it)
        # the two-sided grid is periodic: -0.5 is +0.5 again
        freqs = np.concatenate([[-0.5], freqs[1:], [0.5]])
        P = np.concatenate([P, P[..., :1]], axis=-1)
    else:  # odd segments end short of +-0.5: continue the grid across the wrap
        freqs = np.concatenate([freqs[-1:] - 1.0, freqs, freqs[:1] + 1.0])
        P = np.concatenate([P[..., -1:], P, P[..., :1]], axis=-1)
    # Welch's grid is coarser: interpolate linearly onto the L-point grid, all
    # spectra at once (np.interp row by row would do the same).
    grid = frequency_grid(L) / (2 * np.pi)  # cycles per sample, 0 .. 0.5
    upper = np.searchsorted(freqs, grid).clip(1, freqs.size - 1)
    lower = upper - 1
    weight = (grid - freqs[lower]) / (freqs[upper] - freqs[lower])
    return P[..., lower] * (1.0 - weight) + P[..., upper] * weight


def _weighted_mean(values, weights):
    """Mean over the first axis; ``weights`` (n,) or None for equal weights."""
    if weights is None:
        return values.mean(axis=0)
    return np.tensordot(weights, values, axes=1) / weights.sum()


def _targets_matrix(y, n, task, weights=None):
    """Centred target matrix (n, n_targets): one-hot classes or the regression targets."""
    y = np.asarray(y)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n} samples.")
    if task == "classification":
        classes, codes = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError("y holds one class only; a task spectrum needs at least 2.")
        Y = np.eye(classes.size)[codes.ravel()]
    else:
        Y = y.astype(np.float64).reshape(n, -1)
        if not np.all(np.isfinite(Y)):
            raise ValueError("y contains NaN or infinity.")
    return Y - _weighted_mean(Y, weights)


def _check_weights(sample_weight, n):
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight has shape {weights.shape}, expected ({n},).")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero.")
    return weights


def _cross_spectrum(Xc, Y, weights=None, lengths=None):
    """``sum_c |E[(y_c - mean) conj(U_j)]|^2 / L``, (C, F); with ``lengths``, every
    sequence's DFT (zero-padded to the grid) is scaled by its own ``1 / sqrt(L_i)``."""
    U = np.fft.rfft(Xc, axis=-1)  # (n, C, F)
    if lengths is not None:
        U = U / np.sqrt(lengths)[:, None, None]
    w = np.ones(len(Xc)) if weights is None else weights
    cross = np.einsum("n,nk,ncf->kcf", w, Y, np.conj(U)) / w.sum()  # (K, C, F)
    return np.sum(np.abs(cross) ** 2, axis=0) / (Xc.shape[-1] if lengths is None else 1)


def _centred(X, weights, lengths):
    """Sequences minus the (weighted) mean sequence; with ``lengths``, the mean of every
    step is over the sequences that reach it, and the padding becomes 0."""
    if lengths is None:
        return X - _weighted_mean(X, weights)
    w = np.ones(len(X)) if weights is None else weights
    present = np.arange(X.shape[-1]) < lengths[:, None]  # (n, L)
    filled = fill_padding(X)
    mean = np.einsum("n,ncl->cl", w, filled) / np.maximum(w @ present, 1e-300)
    return np.where(present[:, None, :], filled - mean, 0.0)


def count_examples(X, y=None, sample_weight=None):
    """The number of distinct examples of positive weight: distinct sequences, or distinct
    (sequence, target) pairs with ``y``.

    What sample sizes count (degrees of freedom, shrinkage, the smallest class): copies of
    an example and its weight do not add examples, so that copies and integer weights give
    one fit, and weights multiplied by a constant change nothing.

    Parameters
    ----------
    X : ndarray of shape (n, C, L)
        Validated sequences.
    y : ndarray of shape (n,) or (n, k), default=None
    sample_weight : ndarray of shape (n,), default=None

    Returns
    -------
    count : int
    """
    present = (np.ones(len(X), bool) if sample_weight is None
               else np.asarray(sample_weight) > 0)
    labels = None
    if y is not None:
        labels = np.unique(np.asarray(y)[present].reshape(int(present.sum()), -1), axis=0,
                           return_inverse=True)[1]
    return len(distinct_sequences(X[present], labels)[0])


def _fisher_ratio(log_power, Y, weights=None, count=None):
    """Between- over within-group variance of the log power, per frequency, above what
    noise alone gives: (C, F).

    For classes the groups are the classes; for a continuous target it is the variance of
    the log power explained by a linear fit on ``y`` over the unexplained variance.
    ``weights`` count like repeated sequences in the variances. With no group effect the
    ratio is about ``df_between / df_within`` (``(K - 1) / (n - K)`` for ``K`` classes):
    that floor, which grows large with few sequences, is subtracted and the result clipped
    at 0. ``n`` is ``count``, the distinct sequences of positive weight (all rows when
    None): copies of a sequence, or its weight, add no degree of freedom, and weights
    multiplied by a constant change nothing.
    """
    w = np.ones(len(Y)) if weights is None else weights
    centred = log_power - _weighted_mean(log_power, weights)
    # Weighted least-squares fit of the log power on the centred targets. For one-hot
    # classes the fitted values are the class means, so ``between`` and ``within`` are the
    # classical between- and within-class variances.
    flat = centred.reshape(centred.shape[0], -1)
    root = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(root * Y, root * flat, rcond=None)
    fitted = Y @ coef
    between = _weighted_mean(fitted**2, w)
    within = _weighted_mean((flat - fitted) ** 2, w)
    df_between = np.linalg.matrix_rank(Y[w > 0])  # K - 1 for centred one-hot classes
    df_within = (len(Y) if count is None else count) - 1 - df_between
    if df_within <= 0:  # as many groups as sequences: no within-group variance to compare
        return np.zeros(centred.shape[1:])
    ratio = between / np.maximum(within, 1e-12 * max(1.0, float(np.max(within))))
    return np.clip(ratio - df_between / df_within, 0.0, None).reshape(centred.shape[1:])


def smooth_spectrum(S, bins):
    """Moving average of ``S`` over ``bins`` neighbouring frequencies (last axis)."""
    if bins <= 1:
        return S
    return uniform_filter1d(S, size=int(bins), axis=-1, mode="nearest")


def shrink_spectrum(S, prior, shrinkage):
    """``(1 - shrinkage) S / sum(S) + shrinkage prior / sum(prior)``, rescaled to ``sum(S)``.

    Pulls a noisy task spectrum towards a prior (the base initialization's own spectrum)
    so that a small training set cannot move the SSM far from a sensible default. The
    spectra are mixed as densities (each normalized to unit mass), so ``shrinkage`` is the
    prior's share of the mass, and the share of the modes that quantile matching places
    by the prior.

    Parameters
    ----------
    S, prior : array-like of shape (n_freq,)
        Spectra on the same grid.
    shrinkage : float in [0, 1]
        Weight of the prior.

    Returns
    -------
    S_shrunk : ndarray of shape (n_freq,)
    """
    S, prior = np.asarray(S, dtype=np.float64), np.asarray(prior, dtype=np.float64)
    if S.shape != prior.shape:
        raise ValueError(f"Spectrum of shape {S.shape} and prior of shape {prior.shape}.")
    if not 0 <= shrinkage <= 1:
        raise ValueError(f"shrinkage must lie in [0, 1], got {shrinkage}.")
    if np.any(S < 0) or np.any(prior < 0):
        raise ValueError("Spectra must be non-negative.")
    mass_S, mass_prior = S.sum(), prior.sum()
    if mass_S == 0 or mass_prior == 0:
        return S.copy() if mass_prior == 0 else prior.copy()
    return ((1 - shrinkage) * S / mass_S + shrinkage * prior / mass_prior) * mass_S


# The spectrum that spectrum="auto" reads for each task.
AUTO_SPECTRUM = {"classification": "discriminative", "regression": "cross"}


def resolve_spectrum_kind(kind, task):
    """``kind``, with ``"auto"`` replaced by :data:`AUTO_SPECTRUM` ``[task]``."""
    return AUTO_SPECTRUM[task] if kind == "auto" else kind


def task_power_spectrum(
    X, y=None, kind="auto", *, method="periodogram", nperseg=None, smoothing=1,
    per_channel=False, task=None, sample_weight=None,
):
    """Power spectrum of a task on the real-FFT grid.

    The formulas are in :ref:`theory-task-spectra`. Sequences are mean-removed over
    samples (``Xc = X - X.mean(axis=0)``), then:

    - ``"input"``: mean periodogram ``E|U_j|^2 / L`` (unsupervised);
    - ``"cross"``: ``sum_c |E[(y_c - mean y_c) conj(U_j)]|^2 / L``, one-hot ``y_c`` for
      classes; the power of the best *linear* predictor of the target;
    - ``"discriminative"``: per frequency, the variance of ``log |U_j|^2`` explained by
      the target over the variance left (a Fisher ratio between and within classes),
      minus the ratio that noise alone gives (``(K - 1) / (n - K)``), clipped at 0; here
      every sequence loses its own mean rather than the mean sequence. It sees class
      differences that live in power with random phase, which ``"cross"`` averages away;
    - ``"auto"``: ``"cross"`` for regression targets, ``"discriminative"`` for classes.

    Multichannel input gives one spectrum per channel; they are summed (the model's input
    encoder mixes channels, so the SSM sees their total) unless ``per_channel=True``.

    Sequences of unequal lengths (a list, or arrays right-padded with NaN) give one
    spectrum on the grid of the longest, ``L``: every sequence's power is estimated over
    its own steps and read at the same frequencies (the periodogram exactly, as the DFT
    of the zero-padded sequence; Welch's estimate by interpolation), the mean sequence
    of every step is over the sequences that reach it, and ``"cross"`` scales every
    sequence's DFT by ``1 / sqrt(L_i)`` instead of the common ``1 / sqrt(L)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len), or list
        Sequences; a list of sequences of any lengths (1-D or ``(n_channels, length)``),
        or arrays right-padded with NaN.
    y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
        Required for every kind but ``"input"``.
    kind : {"input", "cross", "discriminative", "auto"}, default="auto"
    method : {"periodogram", "welch"}, default="periodogram"
        Per-sequence power estimate (``"input"`` and ``"discriminative"``): the raw
        periodogram or Welch's average over segments of ``nperseg`` (default ``L // 4``),
        interpolated onto the ``L``-point grid. Both through ``scipy.signal``.
    nperseg : int, default=None
        Welch segment length.
    smoothing : int, default=1
        Width in bins of a moving average over frequency (1 = none).
    per_channel : bool, default=False
        Return ``(n_channels, L // 2 + 1)``.
    task : {"classification", "regression"}, default=None
        How to read ``y``; inferred with ``type_of_target`` when None.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights of the sequences in every mean; a weight ``k`` counts like
        ``k`` copies of the sequence, 0 like its absence.

    Returns
    -------
    S_task : ndarray of shape (L // 2 + 1,) or (n_channels, L // 2 + 1)

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.spectral import task_power_spectrum
    >>> t = np.arange(64)
    >>> X = np.sin(0.25 * 2 * np.pi * t + np.random.RandomState(0).uniform(0, 6, (20, 1)))
    >>> int(np.argmax(task_power_spectrum(X, kind="input")))  # 0.25 cycles: bin 16 of 64
    16
    """
    if kind not in SPECTRUM_KINDS:
        raise ValueError(f"Unknown spectrum kind {kind!r}; expected one of {SPECTRUM_KINDS}.")
    if method not in ("periodogram", "welch"):
        raise ValueError(f"Unknown method {method!r}; expected 'periodogram' or 'welch'.")
    X = check_sequences(X, min_length=MIN_SPECTRUM_LENGTH)
    weights = None if sample_weight is None else _check_weights(sample_weight, X.shape[0])
    lengths = sequence_lengths(X) if is_padded(X) else None
    Xc = _centred(X, weights, lengths)
    if kind != "input":
        if y is None:
            raise ValueError(f"The {kind!r} task spectrum needs y; pass y or use 'input'.")
        task = task or infer_task(y)
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
        kind = resolve_spectrum_kind(kind, task)
        Y = _targets_matrix(y, X.shape[0], task, weights)

    if kind == "input":
        S = _weighted_mean(_periodograms(Xc, method, nperseg, lengths), weights)
    elif kind == "cross":
        S = _cross_spectrum(Xc, Y, weights, lengths)
    else:
        # Every sequence minus its own mean, not the mean sequence: the Fisher ratio
        # compares per-sequence powers, and with few sequences the mean sequence is mostly
        # other sequences' noise (at 2 per class it cut the band's share of the spectrum
        # from 0.57 to 0.42 on the high-band task).
        own_mean = np.mean if lengths is None else np.nanmean
        power = _periodograms(fill_padding(X - own_mean(X, axis=-1, keepdims=True)),
                              method, nperseg, lengths)
        floor = 1e-12 * max(float(power.max()), 1e-300)
        S = _fisher_ratio(np.log(power + floor), Y, weights, count_examples(X, Y, weights))
    S = np.maximum(smooth_spectrum(S, smoothing), 0.0)  # the moving average rounds below 0
    return S if per_channel else S.sum(axis=0)


def spectral_matching_loss(S_model, S_task):
    """``|| S_model / ||S_model|| - S_task / ||S_task|| ||_2^2``, the matching loss.

    Both spectra on the same grid; the result lies in ``[0, 4]`` (0 when proportional).
    See :ref:`theory-matching`.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.spectral import spectral_matching_loss
    >>> round(spectral_matching_loss(np.array([1.0, 2.0]), np.array([2.0, 4.0])), 12)
    0.0
    """
    S_model = np.asarray(S_model, dtype=np.float64)
    S_task = np.asarray(S_task, dtype=np.float64)
    if S_model.shape != S_task.shape:
        raise ValueError(
            f"Spectra on different grids: S_model {S_model.shape}, S_task {S_task.shape}."
        )
    for S in (S_model, S_task):  # their scale is free: only finite values and no all-zero
        if not np.all(np.isfinite(S)) or not np.any(S):
            raise ValueError("Spectra must be finite and not identically zero.")
    # the formula lives once, in torch (sktdi.core.matching_loss), for match_gradient too
    return float(matching_loss(torch.tensor(S_model), torch.tensor(S_task)))


# ------------------------------------------------------------- the SSM-induced kernel
def induced_kernel_spectrum(params, X):
    """Empirical and predicted spectrum of the SSM-induced kernel.

    Both sides of the theorem of :ref:`theory-induced-kernel`.

    ``empirical``: eigenvalues of ``Sigma^{1/2} (sum_h T_h^T T_h) Sigma^{1/2}``, with
    ``T_h`` the lower-triangular Toeplitz matrix of channel ``h``'s kernel and
    ``Sigma = Xc^T Xc / n`` the input covariance (``Xc = X - X.mean(axis=0)``).

    ``predicted``: ``sum_h |H_h(w_j)|^2 S_u(w_j)`` over the full DFT grid ``j = 0..L-1``
    with ``S_u(w_j)`` the mean of ``|fft(Xc)_j|^2 / L``.

    Both sorted in descending order, on the same scale. They agree (a few percent at
    ``L = 512``) when the kernel's memory is short next to ``L`` and the input is close
    to stationary; they disagree when the kernel is still large at lag ``L``
    (Toeplitz and circulant matrices then differ in their edges), which is worth seeing.

    The theorem is about one input covariance ``Sigma`` of ``L x L``: it needs
    univariate sequences of one length, with no padding.

    Parameters
    ----------
    params : SSMParams
    X : array-like of shape (n_samples, L)
        Univariate input sequences, all of length ``L`` (no NaN).

    Returns
    -------
    empirical, predicted : ndarray of shape (L,)
    """
    X3 = check_sequences(X)
    if X3.shape[1] != 1 or np.ndim(X) != 2:
        raise ValueError(f"induced_kernel_spectrum needs 2-D X (n, L), got shape "
                         f"{np.shape(X)}.")
    if is_padded(X3) or X3.shape[-1] != np.shape(X)[1]:
        raise ValueError("induced_kernel_spectrum needs sequences of one length: the "
                         "theorem compares spectra of one L x L input covariance. Crop "
                         "the sequences to a common length first.")
    X = X3[:, 0]
    n, L = X.shape
    Xc = X - X.mean(axis=0)
    K = ssm_kernel(params, L)  # (H, L)
    gram = np.zeros((L, L))
    for kernel in K:
        T = toeplitz(kernel, np.zeros(L))  # lower triangular
        gram += T.T @ T
    sigma = Xc.T @ Xc / n
    w, V = np.linalg.eigh(sigma)
    root = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    empirical = np.linalg.eigvalsh(root @ gram @ root)[::-1]
    H_full = np.fft.fft(K, axis=1)  # (H, L): the full grid, interior frequencies twice
    S_u = np.mean(np.abs(np.fft.fft(Xc, axis=1)) ** 2, axis=0) / L
    predicted = np.sort(np.sum(np.abs(H_full) ** 2, axis=0) * S_u)[::-1]
    return empirical, predicted
