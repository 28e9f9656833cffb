"""The ridge readout of both estimator families: standardized features, a ridge penalty
chosen by efficient leave-one-out, and probabilities calibrated on the left-out scores.

One eigendecomposition serves every penalty. With ``n`` examples and ``p`` features,
``Z`` the weighted, standardized and centred features (``sqrt(w_i) (f_i - mean) / scale``)
and ``Z Z^T = U diag(s) U^T`` (``n <= p``) or ``Z^T Z = V diag(s) V^T`` (``n > p``), the
penalty ``a`` gives the fitted values ``U diag(s / (s + a)) U^T t`` and the diagonal of
the hat matrix ``h_i = sum_k U_ik**2 s_k / (s_k + a) + w_i / sum(w)`` (the last term is the
unpenalized intercept), so every example's leave-one-out residual is
``(t_i - fitted_i) / (1 - h_i)``: that of a ridge refitted without it (the standardization
kept, as scikit-learn's :class:`~sklearn.linear_model.RidgeCV` keeps it). The features are
read in float64 blocks (of columns for ``Z Z^T``, of rows otherwise), so no float64 copy of
them is made, and with ``n > p`` nothing of size ``n x n``: memory stays near that of the
features themselves and one ``min(n, p)``-square matrix.

Beyond ``LOO_EXAMPLES`` examples the eigendecomposition would cost ``min(n, p)**3``
whatever the rows, so the penalty is chosen on that many examples spread evenly over the
rest (their own leave-one-out, as above) and the readout is fitted at it on all of them
through one Cholesky factor, which also gives every example's exact leave-one-out
residual at that penalty: ``h_i = |L^-1 z_i|**2`` with ``Z^T Z + a I = L L^T`` (``n > p``),
or ``1 - h_i = a (K^-1)_ii`` with ``K = Z Z^T + a I`` (``n <= p``), plus the intercept's
share. That costs about ``n p min(n, p)``: linear in ``n`` once ``n > p``.

Weights count like copies of an example; copies of one example (``groups``) are fitted as
one example with their summed weight, so that leaving an example out leaves no copy of it
in; and the weights are scaled to mean 1, so that weights multiplied by a constant give the
same fit (with a ``cv``, whose folds index the rows as given, the weights are used as
they stand).
"""

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.linalg.blas import dsyrk
from scipy.linalg.lapack import dpotrf, dtrtri
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, softmax
from sklearn.metrics import r2_score
from sklearn.model_selection import check_cv

__all__ = ["CONSTANT_RTOL", "DEFAULT_ALPHAS", "LOO_EXAMPLES", "REGRESSION_ALPHAS",
           "SCORE_RTOL", "RidgeReadout"]

# Penalties of the ridge readout, as in MiniRocket; the features are standardized first.
DEFAULT_ALPHAS = tuple(np.logspace(-3, 3, 10))
# The regressors' penalties reach 1e5, where the readout predicts little more than the
# training mean: a target the features barely predict (CardanoSentiment) can then be
# left nearly alone. Not for the classifiers: at a few examples per class the
# leave-one-out errors are flat in the penalty, the largest of the ties wins, and 1e5
# lost 3.7 points of mean accuracy at 10% (benchmarks/results/variants_readout.md).
REGRESSION_ALPHAS = tuple(np.logspace(-3, 5, 14))
# Features whose spread is below this fraction of the median feature's are rounding noise
# (the smallest genuine spread on the benchmark panel is 7e-4 of the median).
CONSTANT_RTOL = 1e-4
# Examples on which the leave-one-out chooses the penalty: with more, that many spread
# evenly over them (on two cores the eigendecomposition of 2,048 examples' kernel took
# 1 s, that of the Gram matrix of 4,992 features about 10 s whatever n; a penalty is a
# ratio of noise to signal, which does not depend on n).
LOO_EXAMPLES = 2048
# Rows per block when the features are read in blocks (n > p): 2**22 float64 values.
_BLOCK_ELEMENTS = 2**22
# Leave-one-out residuals of every penalty kept at once up to this many values (256 MiB);
# beyond, the chosen penalty's are computed again in a second pass.
_KEPT_RESIDUALS = 2**25
# Validation scores within this relative distance of the best are ties, and the largest
# penalty among them wins. Leave-one-out errors are flat in the penalty where the readout
# interpolates (many more features than examples): there the float32 rounding of the
# features, which differs between machines and batch positions, moves them by about 1e-6
# relative and would decide the penalty; among penalties the data cannot tell apart, the
# strongest is the safe choice.
SCORE_RTOL = 1e-4


class RidgeReadout:
    """Ridge regression or one-vs-all ridge classification on standardized features, with
    the penalty chosen by efficient leave-one-out (or by ``cv``).

    Parameters
    ----------
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Candidate penalties (on standardized features).
    classification : bool, default=False
        Fit ``+1 / -1`` codes of the classes (one column for two classes), as
        :class:`~sklearn.linear_model.RidgeClassifierCV` does, instead of the targets.
    cv : int, cross-validation generator, iterable or None, default=None
        None chooses the penalty by leave-one-out; otherwise by the mean fold score
        (accuracy, or R^2), as the ``cv`` of :class:`~sklearn.linear_model.RidgeCV`.
    feature_weights : array-like of shape (n_features,), default=None
        Positive weights of the standardized features: a feature of weight ``w`` enters
        as ``w`` times its standardized values, so that its coefficient is penalized
        ``1 / w**2`` as much as that of a feature of weight 1. None weighs all alike.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        The standardization (a constant feature, or one constant up to rounding, gets the
        scale 1), the scale divided by the feature's weight.
    coef_ : ndarray of shape (n_targets, n_features)
        Coefficients on the standardized features (``n_targets`` is 1 for two classes).
    intercept_ : ndarray of shape (n_targets,)
    alpha_ : float
        The chosen penalty: the largest one whose score is within ``SCORE_RTOL`` (a
        relative 1e-4) of the best. With more than ``LOO_EXAMPLES`` examples (and no
        ``cv``), the scores are those of a readout fitted on ``LOO_EXAMPLES`` of them,
        spread evenly in the order of their first row.
    best_score_ : float
        Its validation score (higher is better): minus the weighted mean squared
        leave-one-out error (of the codes for classes), or with ``cv`` the mean fold score.
    classes_ : ndarray
        Classification only.
    loo_errors_ : ndarray of shape (n_examples,) or None
        Every fitted example's squared leave-one-out error, mean over targets (None with a
        ``cv``). Examples are the distinct rows of positive weight, in the order of their
        first row.
    loo_decision_ : ndarray of shape (n_examples, n_targets) or None
        Every example's decision value by a readout fitted without it.
    weights_ : ndarray of shape (n_examples,)
        The examples' weights (copies times sample weights, scaled to mean 1 unless a
        ``cv`` chose the penalty).
    examples_ : ndarray of shape (n_samples,)
        The example every given row became (-1 for a row of weight 0).
    calibration_ : tuple of float
        Classification only: ``(slope, offset)`` of the probabilities
        (:meth:`predict_proba`), fitted on ``loo_decision_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.readout import RidgeReadout
    >>> rng = np.random.RandomState(0)
    >>> F = rng.normal(size=(40, 5))
    >>> y = (F[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    >>> readout = RidgeReadout(classification=True).fit(F, y)
    >>> readout.predict(F[:4]), readout.predict_proba(F[:4]).shape
    (array([1, 0, 1, 1]), (4, 2))
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, classification=False, cv=None,
                 feature_weights=None):
        self.alphas = alphas
        self.classification = classification
        self.cv = cv
        self.feature_weights = feature_weights

    # ----------------------------------------------------------------------- fitting
    def fit(self, features, y, sample_weight=None, groups=None, classes=None):
        """Fit the standardization, choose the penalty and fit the readout.

        Parameters
        ----------
        features : ndarray of shape (n_samples, n_features)
            float32 or float64; read in blocks, never copied whole in float64.
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Class labels (``classification``) or targets.
        sample_weight : ndarray of shape (n_samples,), default=None
            Non-negative; a weight ``k`` counts like ``k`` copies, 0 drops the row.
        groups : ndarray of shape (n_samples,), default=None
            The distinct example of every row (:func:`sktdi.selection.duplicate_groups`):
            copies are fitted as one example weighted by their count (leave-one-out only;
            folds of a ``cv`` index the rows as given).
        classes : array-like, default=None
            Classification: every class the readout scores (those of ``y`` by default; a
            class without rows gets the code -1 everywhere).

        Returns
        -------
        self : RidgeReadout
        """
        alphas = np.asarray(self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or np.any(alphas <= 0) or not np.all(np.isfinite(alphas)):
            raise ValueError(f"alphas must be positive and finite; got {self.alphas!r}.")
        feature_weights = self._feature_weights(features.shape[1])
        rows, weights = self._examples(len(features), sample_weight,
                                       groups if self.cv is None else None)
        if self.cv is None and len(rows) < 2:
            raise ValueError(
                f"The ridge readout chooses its penalty by leave-one-out and needs at least "
                f"2 distinct examples of positive weight; got {len(rows)} (n_samples = "
                f"{len(features)}).")
        targets = self._targets(np.asarray(y), rows, classes)
        # one score column: two classes, or a 1-D target (a 2-D target keeps its columns)
        self._one_column = targets.shape[1] == 1 and (self.classification or np.ndim(y) == 1)
        # leave-one-out: copies are merged, and weights scaled to mean 1 give a fit that
        # does not depend on their scale; folds index the rows as given, so there a
        # weight counts like that many copies (scikit-learn's convention) as it stands
        self.weights_ = weights / weights.mean() if self.cv is None else weights
        self.mean_, self.scale_ = _standardization(features, rows, self.weights_)
        if feature_weights is not None:
            self.scale_ = self.scale_ / feature_weights
        if self.cv is None:
            self._fit_leave_one_out(features, rows, targets, alphas)
        else:
            self._fit_folds(features, np.asarray(y), rows, targets, alphas)
        if self.classification:
            self.calibration_ = (_fit_calibration(self.loo_decision_, self._codes_index,
                                                  self.weights_)
                                 if self.loo_decision_ is not None else (1.0, 0.0))
        return self

    def _feature_weights(self, n_features):
        if self.feature_weights is None:
            return None
        weights = np.asarray(self.feature_weights, dtype=np.float64)
        if (weights.shape != (n_features,) or not np.all(np.isfinite(weights))
                or np.any(weights <= 0)):
            raise ValueError(f"feature_weights must be {n_features} positive, finite "
                             f"weights, one per feature; got shape {weights.shape}.")
        return weights

    def _examples(self, n, sample_weight, groups):
        """The rows that become examples (first copies, positive weight) and their weights;
        sets ``examples_``."""
        weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        present = weights > 0
        groups = np.arange(n) if groups is None else np.asarray(groups)
        _, first, inverse = np.unique(np.where(present, groups, -1), return_index=True,
                                      return_inverse=True)
        inverse = inverse.ravel()
        if not present.all():  # the first unique value is -1: the rows of weight 0
            first, inverse = first[1:], inverse - 1
        order = np.argsort(first)  # examples in the order of their first row
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        self.examples_ = np.where(present, rank[np.maximum(inverse, 0)], -1)
        summed = np.bincount(self.examples_[present], weights=weights[present],
                             minlength=order.size)
        return first[order], summed

    def _targets(self, y, rows, classes):
        """``(n, k)`` float targets of the examples ``rows``: the targets, or +-1 codes of
        the classes (every class of ``y``, as scikit-learn's ridge classifiers keep even a
        class whose rows all weigh 0, or of ``classes``)."""
        if not self.classification:
            return np.asarray(y[rows], dtype=np.float64).reshape(len(rows), -1)
        self.classes_ = np.unique(y if classes is None else classes)
        if self.classes_.size < 2:
            raise ValueError(f"A classifier needs at least 2 classes; got {self.classes_}.")
        index = np.searchsorted(self.classes_, y)
        if np.any(index >= self.classes_.size) or np.any(self.classes_[
                np.minimum(index, self.classes_.size - 1)] != y):
            raise ValueError(f"y holds labels outside classes {self.classes_.tolist()}.")
        self._codes_index = index.ravel()[rows]
        codes = -np.ones((len(rows), self.classes_.size))
        codes[np.arange(len(rows)), self._codes_index] = 1.0
        return codes[:, 1:] if self.classes_.size == 2 else codes

    def _fit_leave_one_out(self, features, rows, targets, alphas):
        weights = self.weights_
        root = np.sqrt(weights)[:, None]
        center = weights @ targets / weights.sum()
        T = root * (targets - center)
        leverage = weights / weights.sum()  # the unpenalized intercept's share
        # a score is minus the weighted mean over examples and targets of the unscaled
        # squared residuals: the sum of the scaled ones over this
        total = weights.sum() * targets.shape[1]
        if len(rows) > LOO_EXAMPLES:  # one Cholesky factor, at the penalty of a sample
            chosen = self._sampled_penalty(features, rows, targets, alphas)
            fit = _Penalized(features, rows, self.mean_, self.scale_, root, T,
                             alphas[chosen], leverage)
            scaled, coef = fit.residuals, fit.coefficients
            error = np.sum(scaled**2) / total
        else:
            basis = _Basis(features, rows, self.mean_, self.scale_, root, T)
            chosen, scaled, error = _chosen_penalty(basis, alphas, leverage, total)
            coef = basis.coefficients(alphas[chosen])
        residual = scaled / root  # unscaled leave-one-out residuals (n, k)
        self.alpha_ = float(alphas[chosen])
        self.loo_errors_ = np.mean(residual**2, axis=1)
        self.loo_decision_ = targets - residual
        self.best_score_ = -float(error)
        self.coef_ = coef.T
        self.intercept_ = center

    def _sampled_penalty(self, features, rows, targets, alphas):
        """Index of the penalty that the leave-one-out of a readout fitted on
        ``LOO_EXAMPLES`` examples, spread evenly over all (in the order of their first row),
        chooses: the same standardization's scale, their own mean, their weights scaled to
        mean 1."""
        sample = np.unique(np.linspace(0, len(rows) - 1, LOO_EXAMPLES).round().astype(int))
        weights = self.weights_[sample] / self.weights_[sample].mean()
        root = np.sqrt(weights)[:, None]
        center = weights @ targets[sample] / weights.sum()
        mean = _standardization(features, rows[sample], weights)[0]
        basis = _Basis(features, rows[sample], mean, self.scale_, root,
                       root * (targets[sample] - center))
        totals = basis.leave_one_out(alphas, weights / weights.sum(), keep=())[0]
        return _strongest_near_best(-totals, alphas)

    @property
    def loo_misclassified_(self):
        """Classification: whether every example's left-out decision picks a wrong class
        (the sign of one score for two classes, the largest score otherwise)."""
        if self.loo_decision_ is None:
            return None
        if self.loo_decision_.shape[1] == 1:
            return (self.loo_decision_[:, 0] > 0) != (self._codes_index == 1)
        return np.argmax(self.loo_decision_, axis=1) != self._codes_index

    def _fitted(self, rows):
        """The examples of the given ``rows`` (those of weight 0 left out)."""
        examples = self.examples_[rows]
        return examples[examples >= 0]

    def _fit_folds(self, features, y, rows, targets, alphas):
        """Choose the penalty by the mean score over the folds of ``cv``, which index the
        rows as given (rows of weight 0 take no part)."""
        labels = self._codes_index if self.classification else targets
        given = np.searchsorted(self.classes_, y) if self.classification else y
        splitter = check_cv(self.cv, given, classifier=self.classification)
        scores = np.zeros(alphas.size)
        folds = splitter.split(np.zeros((len(y), 1)), given)
        for train, test in ((self._fitted(a), self._fitted(b)) for a, b in folds):
            weights = self.weights_[train]
            root = np.sqrt(weights)[:, None]
            center = weights @ targets[train] / weights.sum()
            basis = _Basis(features, rows[train], self.mean_, self.scale_, root,
                           root * (targets[train] - center))
            for i, alpha in enumerate(alphas):
                decision = _decision(features, rows[test], basis.coefficients(alpha),
                                     self.mean_, self.scale_, center)
                scores[i] += _fold_score(decision, targets[test], labels[test],
                                         self.classification, self.weights_[test])
        chosen = _strongest_near_best(scores, alphas)
        self.alpha_ = float(alphas[chosen])
        self.best_score_ = float(scores[chosen] / splitter.get_n_splits(
            np.zeros((len(y), 1)), given))
        root = np.sqrt(self.weights_)[:, None]
        center = self.weights_ @ targets / self.weights_.sum()
        basis = _Basis(features, rows, self.mean_, self.scale_, root,
                       root * (targets - center))
        self.coef_ = basis.coefficients(self.alpha_).T
        self.intercept_ = center
        self.loo_errors_ = self.loo_decision_ = None

    # -------------------------------------------------------------------- prediction
    def decision_function(self, features):
        """Readout of every target: ``(n, k)``, 1-D for two classes or a 1-D target.
        Read in blocks of rows, in float64."""
        scores = _decision(features, np.arange(len(features)), self.coef_.T, self.mean_,
                           self.scale_, self.intercept_)
        return scores[:, 0] if self._one_column else scores

    def predict(self, features):
        """Class labels (the largest code, or the sign for two classes) or targets."""
        scores = self.decision_function(features)
        if not self.classification:
            return scores
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, features):
        """Class probabilities: a logistic (two classes) or softmax of the decision values,
        with the slope and offset that fit the leave-one-out decision values best
        (``calibration_``)."""
        return _probabilities(self.decision_function(features), *self.calibration_)


# ------------------------------------------------------------------------- the algebra
def _standardization(features, rows, weights):
    """Weighted mean and scale of the features over ``rows``, in float64 blocks."""
    total = weights.sum()
    mean = np.zeros(features.shape[1])
    for block, w in _blocks(features, rows, weights):
        mean += w @ block
    mean /= total
    variance = np.zeros(features.shape[1])
    for block, w in _blocks(features, rows, weights):  # the block is ours to change
        block -= mean
        variance += w @ np.square(block, out=block)
    variance /= total
    scale = np.sqrt(variance)
    # as StandardScaler: a feature constant up to float64 rounding is constant
    eps = np.finfo(np.float64).eps
    constant = variance <= len(rows) * eps * variance + (len(rows) * mean * eps) ** 2
    varying = scale[~constant]
    if varying.size:  # constant up to the rounding of the features themselves
        constant |= scale < CONSTANT_RTOL * np.median(varying)
    return mean, np.where(constant, 1.0, scale)


def _block_rows(features):
    """Rows per block of ``features`` read in blocks (``_BLOCK_ELEMENTS`` values)."""
    return max(1, _BLOCK_ELEMENTS // max(1, features.shape[1]))


def _block_buffers(features, rows):
    """``(first row, rows of the block, its float64 buffer)`` over blocks of ``rows``.
    Every block is read into the same buffer, so that one block is held at a time, not
    the last one and the next: a reader must be done with a block before it asks for
    the next one."""
    size = max(1, min(_block_rows(features), len(rows)))
    buffer = np.empty((size, features.shape[1]))
    for begin in range(0, len(rows), size):
        index = rows[begin:begin + size]
        yield begin, index, buffer[:len(index)]


def _blocks(features, rows, weights=None):
    """``(features[rows] in float64, weights)`` in blocks of rows (one buffer: see
    :func:`_block_buffers`)."""
    for begin, index, block in _block_buffers(features, rows):
        np.copyto(block, features[index])
        yield block, (None if weights is None else weights[begin:begin + len(index)])


def _decision(features, rows, coef, mean, scale, intercept):
    """The decisions ``(n, k)`` of the readout ``coef`` (p, k, on the standardized
    features) plus ``intercept`` for the rows ``rows`` of ``features``: the
    standardization is folded into the coefficients, and the rows are read in float64
    blocks."""
    folded = coef / scale[:, None]
    offset = intercept - mean @ folded
    return np.concatenate([block @ folded + offset for block, _ in _blocks(features, rows)]
                          or [np.empty((0, coef.shape[1]))])


def _standardized(features, rows, mean, scale, root, out):
    """The features of ``rows`` standardized and scaled by ``root`` (``sqrt w``, one row
    per row), written into the float64 buffer ``out`` and changed there, so that no
    float64 temporary of its size is made."""
    np.subtract(features[rows], mean, out=out, dtype=np.float64)
    out /= scale
    out *= root
    return out


def _scaled_blocks(features, rows, mean, scale, root):
    """``(first row, block of Z)`` over blocks of ``rows``, in float64: the features
    standardized and scaled by ``root`` (``sqrt w``, one row per row); one buffer (see
    :func:`_block_buffers`)."""
    for begin, index, block in _block_buffers(features, rows):
        yield begin, _standardized(features, index, mean, scale,
                                   root[begin:begin + len(index)], out=block)


class _Basis:
    """The eigendecomposition behind every penalty, for the rows ``rows`` of
    ``features`` standardized with ``mean``, ``scale``, scaled by ``root`` (``sqrt w``),
    and the targets ``T`` (already centred and scaled).

    With ``n <= p`` rows the ``n x n`` kernel ``Z Z^T`` is decomposed, accumulated block
    by block of columns; with more rows the ``p x p`` Gram matrix ``Z^T Z`` and ``Z^T T``
    are accumulated block by block of rows. Either way ``Z`` is never held whole in
    float64 (nor, with more rows, anything ``n x n``).
    """

    def __init__(self, features, rows, mean, scale, root, T):
        self.features, self.rows, self.mean, self.scale, self.root = (features, rows, mean,
                                                                      scale, root)
        self.T = T
        n, p = len(rows), features.shape[1]
        self.dual = n <= p
        if self.dual:  # Z Z^T = U diag(s) U^T
            s, self.U = np.linalg.eigh(_kernel(features, rows, mean, scale, root))  # lower
            self.Q = self.U.T @ T  # (n, k)
        else:  # Z^T Z = V diag(s) V^T
            gram, ZT = _gram(features, rows, mean, scale, root, T)
            s, self.V = np.linalg.eigh(gram)  # reads the lower triangle
            self.P = self.V.T @ ZT  # V^T Z^T T: (p, k)
        self.s = np.clip(s, 0.0, None)

    def leave_one_out(self, alphas, leverage, keep=None):
        """``(totals, residuals)``: for every penalty the sum of the squared scaled
        leave-one-out residuals ``(t - fitted) / (1 - h)``, and the residuals themselves
        (n, k) of the penalties whose index is in ``keep`` (all when None), in one pass
        over the rows."""
        keep = range(len(alphas)) if keep is None else keep
        totals = np.zeros(len(alphas))
        residuals = {i: np.empty_like(self.T) for i in keep}
        inverse = 1.0 / (self.s[None, :] + np.asarray(alphas)[:, None])  # (n_alphas, r)
        for begin, U, T in self._rotated_blocks():
            stop = begin + len(U)
            squared = U**2
            for i in range(len(alphas)):
                shrink = inverse[i] if not self.dual else self.s * inverse[i]
                fitted = U @ (shrink[:, None] * (self.P if not self.dual else self.Q))
                hat = squared @ shrink + leverage[begin:stop]
                residual = (T - fitted) / (1.0 - hat)[:, None]
                totals[i] += np.sum(residual**2)
                if i in residuals:
                    residuals[i][begin:stop] = residual
        return totals, residuals

    def _rotated_blocks(self):
        """``(first row, rows of U or of Z V, T)``: what every row's fitted values and
        leverage are read from (``U`` of the kernel, or ``Z V``, a block at a time)."""
        if self.dual:
            yield 0, self.U, self.T
            return
        for begin, block in _scaled_blocks(self.features, self.rows, self.mean, self.scale,
                                           self.root):
            yield begin, block @ self.V, self.T[begin:begin + len(block)]

    def coefficients(self, alpha):
        """Ridge coefficients on the standardized features (p, k)."""
        if self.dual:
            return _transposed_product(self.features, self.rows, self.mean, self.scale,
                                       self.root, self.U @ (self.Q / (self.s + alpha)[:, None]))
        return self.V @ (self.P / (self.s + alpha)[:, None])


def _gram(features, rows, mean, scale, root, T):
    """``(Z^T Z, Z^T T)`` accumulated over blocks of rows. The Gram matrix is Fortran-ordered
    with only its lower triangle filled, in place (BLAS ``syrk``), so that neither a
    product per block nor a copy for LAPACK doubles its memory."""
    p = features.shape[1]
    gram, ZT = np.zeros((p, p), order="F"), np.zeros((p, T.shape[1]))
    for begin, block in _scaled_blocks(features, rows, mean, scale, root):
        # block.T is the Fortran view of the C-ordered block: gram += block.T @ block
        dsyrk(1.0, block.T, beta=1.0, c=gram, trans=0, lower=1, overwrite_c=1)
        ZT += block.T @ T[begin:begin + len(block)]
    return gram, ZT


def _kernel(features, rows, mean, scale, root):
    """The kernel ``Z Z^T`` (n x n, Fortran-ordered, only its lower triangle filled),
    accumulated over blocks of columns of ``Z`` (BLAS ``syrk``), so that ``Z`` is never
    held whole in float64."""
    n, p = len(rows), features.shape[1]
    kernel = np.zeros((n, n), order="F")
    width = max(1, min(p, _BLOCK_ELEMENTS // max(1, n)))
    buffer = np.empty((n, width))
    for begin in range(0, p, width):
        columns = slice(begin, min(begin + width, p))
        block = _standardized(features[:, columns], rows, mean[columns], scale[columns],
                              root, out=buffer[:, :columns.stop - begin])
        # block.T is the Fortran view of the block: kernel += block @ block.T
        dsyrk(1.0, block.T, beta=1.0, c=kernel, trans=1, lower=1, overwrite_c=1)
    return kernel


def _transposed_product(features, rows, mean, scale, root, V):
    """``Z^T V`` (p, k), over blocks of rows of ``Z``."""
    product = np.zeros((features.shape[1], V.shape[1]))
    for begin, block in _scaled_blocks(features, rows, mean, scale, root):
        product += block.T @ V[begin:begin + len(block)]
    return product


class _Penalized:
    """The readout at one penalty ``alpha`` through one Cholesky factor, for the same
    ``Z`` and ``T`` as :class:`_Basis`: ``coefficients`` (p, k) on the standardized
    features and every example's scaled leave-one-out ``residuals`` (n, k), with the
    intercept's share ``leverage`` (n,) of every hat diagonal.

    With ``n <= p`` rows the ``n x n`` kernel ``K = Z Z^T + alpha I`` is factored:
    ``t - fitted = alpha K^-1 t`` and ``1 - h_i = alpha (K^-1)_ii - leverage_i``. With more
    rows the Gram matrix ``Z^T Z + alpha I = L L^T`` is accumulated by blocks of rows, and
    a second pass reads every row's fitted value and ``h_i = |L^-1 z_i|**2 + leverage_i``.
    """

    def __init__(self, features, rows, mean, scale, root, T, alpha, leverage):
        if len(rows) <= features.shape[1]:
            kernel = _kernel(features, rows, mean, scale, root)
            kernel[np.diag_indices_from(kernel)] += alpha
            factor = _cholesky(kernel)
            solved = cho_solve(factor, T, check_finite=False)  # K^-1 T
            # L^-1 in the factor's own memory; (K^-1)_ii is the sum of its column's squares
            inverse, info = dtrtri(factor[0], lower=1, overwrite_c=1)
            if info != 0:
                raise np.linalg.LinAlgError("the ridge kernel's factor is singular")
            kept = alpha * np.einsum("ij,ij->j", inverse, inverse) - leverage  # 1 - h_i
            self.coefficients = _transposed_product(features, rows, mean, scale, root, solved)
            self.residuals = alpha * solved / kept[:, None]
            return
        gram, ZT = _gram(features, rows, mean, scale, root, T)
        gram[np.diag_indices_from(gram)] += alpha
        factor = _cholesky(gram)
        self.coefficients = cho_solve(factor, ZT, check_finite=False)
        self.residuals = np.empty_like(T)
        for begin, block in _scaled_blocks(features, rows, mean, scale, root):
            stop = begin + len(block)
            fitted = block @ self.coefficients
            # L^-1 z_i for every row, solved and squared in the block's own memory
            # (block.T is its Fortran-ordered view): no second float64 block
            solved = solve_triangular(factor[0], block.T, lower=True, overwrite_b=True,
                                      check_finite=False)
            hat = np.sum(np.square(solved, out=solved), axis=0)
            self.residuals[begin:stop] = ((T[begin:stop] - fitted)
                                          / (1.0 - hat - leverage[begin:stop])[:, None])


def _cholesky(matrix):
    """``(L, True)`` with ``matrix = L L^T`` (from its lower triangle), in the matrix's own
    memory (Fortran-ordered), the upper triangle zeroed: what ``cho_solve`` takes."""
    factor, info = dpotrf(matrix, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError("the penalized ridge matrix is not positive definite")
    return factor, True


def _chosen_penalty(basis, alphas, leverage, total):
    """``(index, scaled residuals (n, k), error)`` of the penalty that the leave-one-out of
    ``basis`` chooses, its error being the sum of the squared scaled residuals over
    ``total``. Every penalty's residuals are kept in the one pass over the rows when they
    are few, else the chosen one's are computed again."""
    n, k = basis.T.shape
    everything = n * k * len(alphas) <= _KEPT_RESIDUALS
    totals, residuals = basis.leave_one_out(alphas, leverage, None if everything else ())
    totals = totals / total
    chosen = _strongest_near_best(-totals, alphas)
    if chosen not in residuals:
        residuals = {chosen: basis.leave_one_out(alphas[chosen:chosen + 1], leverage)[1][0]}
    return chosen, residuals[chosen], totals[chosen]


def _strongest_near_best(scores, alphas):
    """Index of the largest penalty whose score (higher is better) is within
    ``SCORE_RTOL`` of the best finite one."""
    finite = np.isfinite(scores)
    if not finite.any():
        # a sequence whose weight dwarfs the others' is fitted exactly at every penalty
        # (leverage 1): leaving it out is undefined
        raise ValueError("The readout's scores are not finite at any penalty. This "
                         "happens when a few sequences carry almost all of sample_weight: "
                         "the ridge fits them exactly and cannot be validated without them. "
                         "Rescale sample_weight (or drop the sequences of negligible "
                         "weight).")
    best = np.max(scores[finite])
    near = finite & (scores >= best - SCORE_RTOL * max(abs(best), np.finfo(float).tiny))
    return int(np.flatnonzero(near)[np.argmax(alphas[near])])


def _fold_score(decision, targets, labels, classification, weights):
    if classification:
        predicted = (decision[:, 0] > 0).astype(int) if decision.shape[1] == 1 else (
            np.argmax(decision, axis=1))
        return float(np.average(predicted == labels, weights=weights))
    return float(r2_score(targets, decision, sample_weight=weights))


# ---------------------------------------------------------------------- probabilities
def _probabilities(decision, slope, offset):
    if decision.ndim == 1:
        positive = expit(slope * decision + offset)
        return np.column_stack([1.0 - positive, positive])
    return softmax(slope * decision + offset, axis=1)


def _fit_calibration(decision, labels, weights):
    """``(slope, offset)`` minimizing the weighted log-loss of :func:`_probabilities` on the
    leave-one-out decision values, against Platt's smoothed targets (a class of ``m``
    examples aims at ``(m + 1) / (m + 2)``), which keep the slope finite when the left-out
    scores separate the classes. Many classes share one slope and no offset (temperature
    scaling), two classes get both (Platt scaling)."""
    binary = decision.shape[1] == 1
    n_classes = 2 if binary else decision.shape[1]
    counts = np.bincount(labels, weights=weights, minlength=n_classes)
    own = (counts[labels] + 1) / (counts[labels] + 2)  # Platt's target of the true class
    targets = np.tile(((1 - own) / (n_classes - 1))[:, None], (1, n_classes))
    targets[np.arange(len(labels)), labels] = own
    scores = decision[:, 0] if binary else decision

    share = weights / weights.sum()
    start = [1.0, 0.0] if binary else [1.0]
    bounds = [(0.0, None), (None, None)] if binary else [(0.0, None)]
    # with the gradient, L-BFGS needs no finite differences (half the loss evaluations)
    result = minimize(_calibration_loss, start, args=(scores, targets, share), jac=True,
                      method="L-BFGS-B", bounds=bounds)
    return float(result.x[0]), float(result.x[1]) if binary else 0.0


def _calibration_loss(params, scores, targets, share):
    """The log-loss of :func:`_fit_calibration` and its gradient: ``params`` is
    ``(slope, offset)`` for two classes (``scores`` (n,)), ``(slope,)`` for more (``scores``
    (n, k)); ``targets`` (n, k) and the weights' ``share`` (n,), summing to 1."""
    if scores.ndim == 1:
        slope, offset = params
        z = slope * scores + offset
        log_p = np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])
        excess = share * (expit(z) - targets[:, 1])  # d loss / d z
        gradient = np.array([excess @ scores, excess.sum()])
    else:
        log_p = log_softmax(params[0] * scores, axis=1)
        # d loss / d slope = -sum_i share_i (targets_i - p_i) . scores_i
        gradient = np.array([-np.sum(share[:, None] * (targets - np.exp(log_p)) * scores)])
    return -np.sum(share[:, None] * targets * log_p), gradient


def leave_one_out_loss(features, targets, weights, alpha, scale=None):
    """The weighted mean squared leave-one-out error of a ridge readout, differentiable
    with respect to the features (torch): what training the bank under a ridge readout
    minimizes.

    The readout is the one :class:`RidgeReadout` fits at the penalty ``alpha``, with an
    unpenalized intercept, on features already standardized; every example's residual is
    that of a readout fitted without it, ``alpha (A^-1 t)_i / (alpha (A^-1)_ii - w_i /
    sum w)`` with ``A = Z Z^T + alpha I`` (``Z`` the centred, ``sqrt(w)``-scaled features),
    computed in float64 through a Cholesky factor.

    Parameters
    ----------
    features : tensor (n, p)
        Standardized features of distinct examples.
    targets : tensor (n, k)
    weights : tensor (n,)
        Positive weights, mean 1.
    alpha : float
    scale : tensor (k,), default=None
        Divides every target's residuals (the targets' standard deviations).

    Returns
    -------
    loss : tensor ()
        ``sum_i w_i |e_i / scale|**2 / sum_i w_i``, summed over targets.
    """
    import torch

    Z = features.double()
    w = weights.double()
    root = w.sqrt()[:, None]
    total = w.sum()
    Z = root * (Z - (w @ Z / total))
    T = root * (targets.double() - (w @ targets.double() / total))
    A = Z @ Z.T + alpha * torch.eye(len(w), dtype=Z.dtype, device=Z.device)
    factor = torch.linalg.cholesky(A)
    solved = torch.cholesky_solve(T, factor)  # A^-1 T
    inverse = torch.cholesky_inverse(factor)
    leverage = alpha * torch.diagonal(inverse) - w / total  # 1 - h_ii
    residual = alpha * solved / leverage[:, None] / root  # unscaled leave-one-out residuals
    if scale is not None:
        residual = residual / scale.double()
    return (w * (residual**2).sum(1)).sum() / total
