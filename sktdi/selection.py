"""Evidence-selected initialization, ``init="auto"``: the kernel view used as a selector.

With a linear readout, a fixed SSM layer is a feature map, and ridge regression on its
features is kernel regression with the SSM-induced kernel. Which initialization suits a
task can then be read off the training data: give every candidate (the base and TDI
variants) the same pooled statistics and a ridge readout, and compare their closed-form
leave-one-out errors (the efficient leave-one-out of :class:`~sklearn.linear_model.RidgeCV`,
a by-product of one eigendecomposition). Nothing but the training data is used, and a
candidate replaces the base only when it is better *significantly*: its per-sequence
leave-one-out errors, paired with the base's, must improve on them by more than 2.5
standard errors of the mean difference. With few sequences the scores of different banks
scatter by several percent on pure noise; the paired test adapts to that scatter, so that
"TDI never hurts" becomes something the estimator checks rather than hopes.
"""

import numpy as np
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import StandardScaler

from .initializer import SpectralInitializer

__all__ = ["AUTO_SPECTRA", "DEFAULT_ALPHAS", "auto_candidates", "fit_ridge_readout",
           "leave_one_out_errors", "select_candidate"]

# Spectrum kinds of the TDI candidates of init="auto".
AUTO_SPECTRA = ("discriminative", "cross", "input")
# Features whose spread is below this fraction of the median feature's are rounding noise
# (the smallest genuine spread on the benchmark panel is 7e-4 of the median).
CONSTANT_RTOL = 1e-4
# Penalties of the ridge readout, as in MiniRocket; the features are standardized first.
DEFAULT_ALPHAS = tuple(np.logspace(-3, 3, 10))
# Standard errors by which a candidate's mean leave-one-out error must beat the base's.
SIGNIFICANCE = 2.5


def auto_candidates(base, keep_base):
    """The initializations ``init="auto"`` compares: the base and one TDI per spectrum kind.

    Parameters
    ----------
    base : str
        Named base initialization; the TDI candidates start from it.
    keep_base : float
        ``keep_base`` of the TDI candidates' :class:`~sktdi.SpectralInitializer`.

    Returns
    -------
    candidates : dict
        Label -> ``init`` value: ``{base: base, "tdi:discriminative": SpectralInitializer,
        ...}``, the base first.
    """
    candidates = {base: base}
    for kind in AUTO_SPECTRA:
        candidates[f"tdi:{kind}"] = SpectralInitializer(base=base, spectrum=kind,
                                                        keep_base=keep_base)
    return candidates


def fit_ridge_readout(features, y, *, classification, alphas=DEFAULT_ALPHAS,
                      sample_weight=None, cv=None):
    """Standardize the features and fit a ridge readout with a leave-one-out penalty.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    classification : bool
        :class:`~sklearn.linear_model.RidgeClassifierCV` (one-vs-all on +-1 codes) or
        :class:`~sklearn.linear_model.RidgeCV`.
    alphas : sequence of float
        Candidate penalties.
    sample_weight : ndarray of shape (n_samples,), default=None
    cv : int, cross-validation generator, iterable or None, default=None
        How the penalty is chosen: None is the efficient leave-one-out; otherwise as the
        ``cv`` of :class:`~sklearn.linear_model.RidgeCV`.

    Returns
    -------
    scaler : StandardScaler
    ridge : RidgeClassifierCV or RidgeCV
        Fitted; ``ridge.best_score_`` is the validation score of the chosen penalty: with
        ``cv=None`` the leave-one-out score (minus the mean squared error, of the +-1
        codes for classification), otherwise the mean score over the folds. Identical
        rows are fitted as one row weighted by their count (a weight counts like copies).
    """
    rows = np.arange(len(features))
    if cv is None:  # folds of a user's cv index the rows as given
        features, y, sample_weight, rows = _merge_duplicates(features, y, sample_weight)
    scaler = _treat_rounding_noise_as_constant(
        StandardScaler().fit(features, sample_weight=sample_weight))
    ridge = (RidgeClassifierCV if classification else RidgeCV)(
        alphas=np.asarray(alphas), cv=cv, store_cv_results=cv is None)
    ridge.fit(scaler.transform(features), y, sample_weight=sample_weight)
    ridge.sktdi_rows_ = rows  # row of the fit that every given row became
    return scaler, ridge


def _treat_rounding_noise_as_constant(scaler):
    """Give ``scale_ = 1`` (as StandardScaler does for exactly constant features) to the
    features whose standard deviation is below ``CONSTANT_RTOL`` times the median one.

    A channel that is constant on the training rows up to rounding (one that GELU silences
    there, say) has a tiny nonzero spread: standardizing it would blow its rounding noise up
    to unit variance, ridge would fit that noise, and where the channel does vary at predict
    time the prediction explodes (R^2 of -1e24 on 16 training sequences).
    """
    std = np.sqrt(scaler.var_)
    varying = std[scaler.scale_ != 1.0]
    if varying.size:
        noise = std < CONSTANT_RTOL * np.median(varying)
        scaler.scale_ = np.where(noise, 1.0, scaler.scale_)
    return scaler


def _merge_duplicates(features, y, sample_weight):
    """Identical rows (features and target) as one row whose weight counts them.

    Leaving one copy of a repeated sequence out of a leave-one-out leaves its twin in, so
    repeated rows would tilt the penalty towards no regularization; merged, a sequence
    given twice and a sequence given with weight 2 are the same fit. Returns the rows, the
    targets, the weights and the merged row of every given row.
    """
    y = np.asarray(y)
    if y.ndim == 1:  # class labels may be strings: codes, not values, enter the key
        codes = np.unique(y, return_inverse=True)[1]
    else:
        codes = np.unique(y, axis=0, return_inverse=True)[1]
    keys = np.column_stack([features, codes.reshape(len(y), -1)])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if first.size == len(y):
        return features, y, sample_weight, np.arange(len(y))
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    merged = np.bincount(inverse, weights=weights)
    return features[first], y[first], merged, inverse


def leave_one_out_errors(ridge):
    """Per-sample leave-one-out squared errors of a readout at its chosen penalty.

    Parameters
    ----------
    ridge : RidgeClassifierCV or RidgeCV
        Fitted by :func:`fit_ridge_readout` with ``cv=None``.

    Returns
    -------
    errors : ndarray of shape (n_samples,)
        Mean over targets (classes) of the squared leave-one-out error, for every row
        given to the fit (repeated rows share the error of the row they were merged into).
    """
    results = ridge.cv_results_  # (n, alphas) or (n, targets, alphas)
    results = results.reshape(results.shape[0], -1, results.shape[-1])
    chosen = int(np.flatnonzero(np.asarray(ridge.alphas) == ridge.alpha_)[0])
    return results[:, :, chosen].mean(axis=1)[ridge.sktdi_rows_]


def select_candidate(scores, base_label, *, errors=None, sample_weight=None,
                     significance=SIGNIFICANCE):
    """The candidate that beats the base significantly, else the base.

    With per-sample leave-one-out ``errors``, a candidate qualifies when its mean paired
    improvement over the base, ``mean(e_base - e_candidate)``, exceeds ``significance``
    standard errors of that mean (weighted by ``sample_weight``); the qualifying candidate
    with the best score wins. Without ``errors`` (scores from folds), the best score wins
    and the base is kept on ties.

    Parameters
    ----------
    scores : dict
        Label -> validation score (higher is better).
    base_label : str
    errors : dict or None, default=None
        Label -> per-sample leave-one-out errors (:func:`leave_one_out_errors`).
    sample_weight : ndarray or None, default=None
    significance : float, default=2.5

    Returns
    -------
    label : str

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.selection import select_candidate
    >>> e_base = np.array([0.5, 0.4, 0.6, 0.5])
    >>> scores = {"base": -0.5, "tdi": -0.45}
    >>> select_candidate(scores, "base", errors={"base": e_base, "tdi": e_base - 0.05})
    'tdi'
    >>> noisy = e_base + np.array([-0.3, 0.2, -0.2, 0.1])  # better on average, not reliably
    >>> select_candidate(scores, "base", errors={"base": e_base, "tdi": noisy})
    'base'
    """
    if errors is None:
        best = max(scores, key=scores.get)
        return best if scores[best] > scores[base_label] else base_label
    weights = np.ones(len(errors[base_label])) if sample_weight is None else sample_weight
    qualified = [label for label in scores if label != base_label and _significantly_lower(
        errors[label], errors[base_label], weights, significance)]
    return max(qualified, key=scores.get) if qualified else base_label


def _significantly_lower(candidate, base, weights, significance):
    """Whether ``mean(base - candidate) > significance * standard error``, the weights
    counting like copies of the rows."""
    keep = weights > 0
    gain, weights = (base - candidate)[keep], weights[keep]
    count = weights.sum()
    if count < 2:
        return False
    mean = np.average(gain, weights=weights)
    variance = np.average((gain - mean) ** 2, weights=weights)
    return mean > significance * np.sqrt(variance / (count - 1))
