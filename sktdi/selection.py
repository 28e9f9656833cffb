"""Evidence-selected initialization, ``init="auto"``: the kernel view used as a selector.

With a linear readout, a fixed SSM layer is a feature map, and ridge regression on its
features is kernel regression with the SSM-induced kernel. Which initialization suits a
task can then be read off the training data: give every candidate (the base and TDI
variants) the same pooled statistics and a ridge readout, and compare their closed-form
leave-one-out scores (the efficient leave-one-out of :class:`~sklearn.linear_model.RidgeCV`,
a by-product of one eigendecomposition). Nothing but the training data is used, and a
candidate replaces the base only when its evidence is better by a margin, so that noise in
a handful of scores does not move the choice: "TDI never hurts" becomes something the
estimator checks rather than hopes.
"""

import numpy as np
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.preprocessing import StandardScaler

from .initializer import SpectralInitializer

__all__ = ["AUTO_SPECTRA", "DEFAULT_ALPHAS", "auto_candidates", "fit_ridge_readout",
           "select_candidate"]

# Spectrum kinds of the TDI candidates of init="auto".
AUTO_SPECTRA = ("discriminative", "cross", "input")
# Penalties of the ridge readout, as in MiniRocket; the features are standardized first.
DEFAULT_ALPHAS = tuple(np.logspace(-3, 3, 10))


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
        codes for classification), otherwise the mean score over the folds.
    """
    scaler = StandardScaler().fit(features, sample_weight=sample_weight)
    ridge = (RidgeClassifierCV if classification else RidgeCV)(alphas=np.asarray(alphas),
                                                                cv=cv)
    ridge.fit(scaler.transform(features), y, sample_weight=sample_weight)
    return scaler, ridge


def select_candidate(scores, base_label, margin):
    """The label with the best score, or the base unless a candidate beats it by ``margin``.

    Parameters
    ----------
    scores : dict
        Label -> leave-one-out score (higher is better).
    base_label : str
        The label kept unless the evidence against it is clear.
    margin : float
        Relative margin: a candidate must score above ``s_base + margin * |s_base|``.

    Returns
    -------
    label : str

    Examples
    --------
    >>> from sktdi.selection import select_candidate
    >>> select_candidate({"S4D-Lin": -0.50, "tdi": -0.499}, "S4D-Lin", margin=0.01)
    'S4D-Lin'
    >>> select_candidate({"S4D-Lin": -0.50, "tdi": -0.40}, "S4D-Lin", margin=0.01)
    'tdi'
    """
    threshold = scores[base_label] + margin * abs(scores[base_label])
    better = {label: s for label, s in scores.items() if s > threshold}
    return max(better, key=better.get) if better else base_label
