"""Evidence-selected initialization, ``init="auto"``: the kernel view used as a selector.

With a linear readout, a fixed SSM layer is a feature map, and ridge regression on its
features is kernel regression with the SSM-induced kernel. Which initialization suits a
task can then be read off the training data: give every candidate (the base and TDI
variants) the same pooled statistics and a ridge readout, and compare their closed-form
leave-one-out errors (the efficient leave-one-out of :class:`~sktdi.readout.RidgeReadout`,
a by-product of one eigendecomposition). Nothing but the training data is used, and a
candidate replaces the base only when it is better *significantly* (:func:`select_candidate`:
its per-sequence leave-one-out errors, paired with the base's, improve on them by 2.5
standard errors, and it misclassifies fewer of the sequences left out than chance allows;
for regression, 3 standard errors). With few sequences the scores of different banks
scatter by several percent on pure noise; the tests adapt to that scatter, so that "TDI
never hurts" becomes something the estimator checks, at a measured rate of false choices
(``benchmarks/results/auto_null.md``).
"""

import numpy as np
from scipy import stats

from .core.padding import distinct_sequences
from .initializer import SpectralInitializer
from .readout import DEFAULT_ALPHAS, SCORE_RTOL, RidgeReadout

__all__ = ["AUTO_SPECTRA", "DEFAULT_ALPHAS", "auto_candidates", "duplicate_groups",
           "fewer_misclassified", "fit_ridge_readout", "leave_one_out_errors",
           "select_candidate", "significantly_lower"]

# Spectrum kinds of the TDI candidates of init="auto".
AUTO_SPECTRA = ("discriminative", "cross", "input")
# Standard errors by which a candidate's mean leave-one-out error must beat the base's
# (select_candidate: with the sign test for classes; alone, the larger one, for regression).
SIGNIFICANCE = 2.5
REGRESSION_SIGNIFICANCE = 3.0
# One-sided level of the sign test on left-out misclassifications, shared by the candidates.
SIGN_LEVEL = 0.1


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


def duplicate_groups(X3, y):
    """The distinct training example of every row: rows that hold the same sequence and
    the same target share one index.

    Duplicates are read from what the user passed (the validated sequences and the
    targets, :func:`sktdi.core.padding.distinct_sequences`), never from features computed
    on the way, whose last bits can depend on a row's position in its batch.

    Parameters
    ----------
    X3 : ndarray of shape (n_samples, n_channels, seq_len)
        Validated sequences (NaN after the end of shorter ones).
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)

    Returns
    -------
    groups : ndarray of shape (n_samples,), int
        ``groups[i] == groups[j]`` when rows ``i`` and ``j`` are copies of one example;
        examples are numbered in the order of their first row.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.selection import duplicate_groups
    >>> X3 = np.array([[[1.0, 2.0]], [[3.0, 4.0]], [[1.0, 2.0]], [[1.0, 2.0]]])
    >>> duplicate_groups(X3, np.array(["a", "b", "a", "b"]))
    array([0, 1, 0, 2])
    """
    y = np.asarray(y)
    if y.ndim == 1:  # class labels may be strings: codes, not values, enter the key
        codes = np.unique(y, return_inverse=True)[1]
    else:
        codes = np.unique(y, axis=0, return_inverse=True)[1]
    return distinct_sequences(X3, codes.reshape(len(y), -1))[1]


def fit_ridge_readout(features, y, *, classification, alphas=DEFAULT_ALPHAS,
                      sample_weight=None, cv=None, groups=None):
    """Standardize the features and fit a ridge readout with a leave-one-out penalty.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    classification : bool
        One-vs-all ridge on +-1 codes of the classes, or ridge regression.
    alphas : sequence of float
        Candidate penalties.
    sample_weight : ndarray of shape (n_samples,), default=None
    cv : int, cross-validation generator, iterable or None, default=None
        How the penalty is chosen: None is the efficient leave-one-out; otherwise by the
        mean fold score.
    groups : ndarray of shape (n_samples,), default=None
        :func:`duplicate_groups` of the training rows. With ``cv=None``, the copies of one
        example are fitted as one row weighted by their count (a weight counts like
        copies), so that leaving an example out leaves none of its copies in.

    Returns
    -------
    readout : sktdi.readout.RidgeReadout
        Fitted; ``readout.best_score_`` is the validation score of its penalty and
        :func:`leave_one_out_errors` (``cv=None``) gives the errors behind it.
    """
    return RidgeReadout(alphas, classification, cv).fit(features, y, sample_weight, groups)


def leave_one_out_errors(readout):
    """Leave-one-out squared errors of a readout at its chosen penalty, and their weights.

    Parameters
    ----------
    readout : sktdi.readout.RidgeReadout
        Fitted by :func:`fit_ridge_readout` with ``cv=None``.

    Returns
    -------
    errors : ndarray of shape (n_examples,)
        Mean over targets (classes) of the squared error of predicting every distinct
        example of positive weight from all the others.
    weights : ndarray of shape (n_examples,)
        Their weights (copies times sample weights, scaled to mean 1).
    """
    return readout.loo_errors_, readout.weights_


def select_candidate(scores, base_label, *, errors=None, misclassified=None,
                     sample_weight=None):
    """The candidate that beats the base significantly, else the base.

    With per-example leave-one-out ``errors``, a candidate qualifies when its mean paired
    improvement over the base, ``mean(e_base - e_candidate)``, exceeds ``SIGNIFICANCE``
    standard errors of that mean (weighted by ``sample_weight``) and, for classes
    (``misclassified``), when it also misclassifies fewer examples left out: of the
    examples that one of the two misclassifies, the candidate must be right on more than
    a fair coin would be, at a one-sided level of ``SIGN_LEVEL`` shared out over the
    candidates (an exact sign test). For regression the mean improvement must exceed
    ``REGRESSION_SIGNIFICANCE`` standard errors. The qualifying candidate with the best
    score wins. Without ``errors`` (scores from folds), the best score wins and the base
    is kept on ties.

    Why two tests. The per-example leave-one-out errors of one training set are not
    independent, and on pure noise a bank picked among several often beats the base by
    2.5 standard errors of its squared errors (a TDI candidate was chosen on 12-16.5% of
    noise draws at 10 sequences, ``benchmarks/results/auto_null.md``); it seldom also
    classifies more of the left-out examples right. The rule was chosen on noise draws
    0-199 and the band task, and keeps the rate at or below 5% on draws 200-399.

    Parameters
    ----------
    scores : dict
        Label -> validation score (higher is better).
    base_label : str
    errors : dict or None, default=None
        Label -> per-example leave-one-out errors (:func:`leave_one_out_errors`), one per
        distinct example, in the same order for every label.
    misclassified : dict or None, default=None
        Classification: label -> whether every example is misclassified when left out
        (``RidgeReadout.loo_misclassified_``).
    sample_weight : ndarray or None, default=None
        The examples' weights (the second output of :func:`leave_one_out_errors`).

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
    n_candidates = max(1, len(scores) - 1)

    def qualifies(label):
        if misclassified is None:
            return significantly_lower(errors[label], errors[base_label], weights,
                                       REGRESSION_SIGNIFICANCE)
        return (significantly_lower(errors[label], errors[base_label], weights, SIGNIFICANCE)
                and fewer_misclassified(misclassified[label], misclassified[base_label],
                                        weights, SIGN_LEVEL / n_candidates))

    qualified = [label for label in scores if label != base_label and qualifies(label)]
    if not qualified:
        return base_label
    # the first qualified candidate whose score ties with the best (SCORE_RTOL), so that
    # rounding cannot pick between two banks that the data rate alike
    best = max(scores[label] for label in qualified)
    return next(label for label in qualified
                if scores[label] >= best - SCORE_RTOL * abs(best))


def fewer_misclassified(candidate, base, weights, level):
    """The exact one-sided sign test: of the examples (of positive weight) that exactly
    one of the two misclassifies, does the candidate get right more than chance allows at
    ``level``?"""
    present = weights > 0
    fixed = int(np.sum(base & ~candidate & present))
    broken = int(np.sum(~base & candidate & present))
    if fixed == 0:
        return False
    return bool(stats.binom.sf(fixed - 1, fixed + broken, 0.5) < level)


def significantly_lower(candidate, base, weights, significance=SIGNIFICANCE):
    """Whether ``mean(base - candidate) > significance * standard error``: the paired test
    by which a candidate's per-example errors replace the base's.

    The rows are distinct examples (copies merged, :func:`fit_ridge_readout`): the mean and
    the spread are weighted, and the standard error counts the rows of positive weight,
    so that weights multiplied by a constant change nothing.
    """
    keep = weights > 0
    gain, weights = (base - candidate)[keep], weights[keep]
    count = keep.sum()
    if count < 2:
        return False
    mean = np.average(gain, weights=weights)
    variance = np.average((gain - mean) ** 2, weights=weights)
    return mean > significance * np.sqrt(variance / (count - 1))
