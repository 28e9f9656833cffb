"""The ridge readout (`sktdi.readout.RidgeReadout`): scikit-learn's ridge with efficient
leave-one-out, copies merged, and calibrated probabilities."""

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.special import expit, softmax
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import Ridge, RidgeClassifierCV, RidgeCV
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

import sktdi.readout
from sktdi import SSMFeatureClassifier
from sktdi.datasets import make_spectral_task
from sktdi.readout import DEFAULT_ALPHAS, SCORE_RTOL, RidgeReadout, _calibration_loss


def _features(n, p, seed=0):
    rng = np.random.RandomState(seed)
    F = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, size=p) + rng.normal(size=p)
    signal = F[:, :3] @ np.array([1.0, -0.5, 0.25])
    return F, signal + rng.normal(scale=1.5, size=n)


@pytest.mark.parametrize("n, p", [(30, 80), (200, 12)], ids=["n<p", "n>p"])
def test_regression_matches_ridge_cv_on_standardized_features(n, p):
    F, t = _features(n, p)
    ours = RidgeReadout().fit(F, t)
    Z = StandardScaler().fit_transform(F)
    theirs = RidgeCV(alphas=DEFAULT_ALPHAS, store_cv_results=True).fit(Z, t)
    assert ours.alpha_ == pytest.approx(theirs.alpha_)
    chosen = list(DEFAULT_ALPHAS).index(theirs.alpha_)
    np.testing.assert_allclose(ours.loo_errors_, theirs.cv_results_[:, chosen],
                               rtol=1e-8, atol=1e-10)
    F_new = np.random.RandomState(1).normal(size=(7, p))
    np.testing.assert_allclose(
        ours.predict(F_new),
        theirs.predict(StandardScaler().fit(F).transform(F_new)), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n, p", [(30, 80), (240, 12)], ids=["n<p", "n>p"])
def test_classification_matches_ridge_classifier_cv(n, p):
    F, t = _features(n, p, seed=2)
    y = np.digitize(t, np.quantile(t, [1 / 3, 2 / 3]))  # three classes
    ours = RidgeReadout(classification=True).fit(F, y)
    Z = StandardScaler().fit_transform(F)
    theirs = RidgeClassifierCV(alphas=DEFAULT_ALPHAS).fit(Z, y)
    assert ours.alpha_ == pytest.approx(theirs.alpha_)
    np.testing.assert_allclose(ours.decision_function(F), theirs.decision_function(Z),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(F), theirs.predict(Z))


def test_float32_features_fit_as_their_float64_values():
    F, t = _features(300, 10)
    wide = RidgeReadout().fit(F.astype(np.float32), t)
    exact = RidgeReadout().fit(F.astype(np.float32).astype(np.float64), t)
    assert wide.alpha_ == exact.alpha_
    np.testing.assert_allclose(wide.coef_, exact.coef_, rtol=1e-10)


def test_copies_are_one_example_with_their_weight():
    F, t = _features(40, 6)
    copies = np.repeat(np.arange(40), np.where(np.arange(40) % 3 == 0, 2, 1))
    merged = RidgeReadout().fit(F[copies], t[copies], groups=copies)
    weighted = RidgeReadout().fit(F, t, sample_weight=np.bincount(copies))
    assert merged.alpha_ == weighted.alpha_
    np.testing.assert_allclose(merged.coef_, weighted.coef_, rtol=1e-9)
    np.testing.assert_allclose(merged.loo_errors_, weighted.loo_errors_, rtol=1e-9)
    assert merged.examples_.max() == 39  # 40 examples, whatever the copies


@pytest.mark.parametrize("n, p", [(70, 90), (200, 12)], ids=["n<p", "n>p"])
@pytest.mark.parametrize("classification", [False, True])
def test_many_examples_are_fitted_at_one_penalty_with_exact_leave_one_out(
        monkeypatch, n, p, classification):
    """Beyond LOO_EXAMPLES examples, the readout at the chosen penalty (one Cholesky
    factor) is the readout that the eigendecomposition gives at that penalty, and so are
    every example's leave-one-out decision values, copies and weights included."""
    F, t = _features(n, p, seed=5)
    y = np.digitize(t, np.quantile(t, [1 / 3, 2 / 3])) if classification else t
    copies = np.repeat(np.arange(n), np.where(np.arange(n) % 4 == 0, 2, 1))
    weights = np.random.RandomState(6).uniform(0.5, 2.0, size=copies.size)
    exact = RidgeReadout(alphas=[3.0], classification=classification).fit(
        F[copies], y[copies], sample_weight=weights, groups=copies)
    monkeypatch.setattr(sktdi.readout, "LOO_EXAMPLES", 25)
    sampled = RidgeReadout(alphas=[3.0], classification=classification).fit(
        F[copies], y[copies], sample_weight=weights, groups=copies)
    for name in ("coef_", "intercept_", "loo_decision_", "loo_errors_", "weights_"):
        np.testing.assert_allclose(getattr(sampled, name), getattr(exact, name),
                                   rtol=1e-8, atol=1e-10, err_msg=name)
    assert sampled.best_score_ == pytest.approx(exact.best_score_, rel=1e-8)
    if classification:
        np.testing.assert_allclose(sampled.calibration_, exact.calibration_, rtol=1e-5)


def test_many_examples_choose_the_penalty_by_the_leave_one_out_of_a_sample(monkeypatch):
    """The penalty is that of refits without each of LOO_EXAMPLES examples spread
    evenly over all: the full standardization's scale, the sample's own mean."""
    n, sample_size = 300, 40
    F, t = _features(n, 15, seed=15)
    everyone = RidgeReadout().fit(F, t).alpha_
    monkeypatch.setattr(sktdi.readout, "LOO_EXAMPLES", sample_size)
    ours = RidgeReadout().fit(F, t)
    assert ours.alpha_ != everyone  # here the sample's choice differs from all rows'
    sample = np.unique(np.linspace(0, n - 1, sample_size).round().astype(int))
    Z = (F[sample] - F[sample].mean(axis=0)) / ours.scale_
    errors = np.zeros(len(DEFAULT_ALPHAS))
    for i, alpha in enumerate(DEFAULT_ALPHAS):
        for left_out in range(len(sample)):
            kept = np.arange(len(sample)) != left_out
            refit = Ridge(alpha=alpha).fit(Z[kept], t[sample][kept])
            errors[i] += (refit.predict(Z[[left_out]])[0] - t[sample][left_out]) ** 2
    best = errors.min()
    near = np.flatnonzero(errors <= best * (1 + SCORE_RTOL))
    assert ours.alpha_ == pytest.approx(DEFAULT_ALPHAS[near.max()])
    assert ours.loo_errors_.shape == (n,)


def _traced_peak(compute):
    """``(result, peak)``: what ``compute()`` returns and the peak of the memory that NumPy
    allocated while it ran, above what was allocated before (tracemalloc)."""
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = compute()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()


def test_blocks_of_rows_are_read_into_one_buffer_at_a_time(monkeypatch):
    """With more examples than features the readout reads the features in float64 blocks
    of rows: every block is read into one buffer, so that the Gram matrix's accumulation
    holds one block at a time (plus the float32 rows it is read from), not the last
    block and the next."""
    n, p = 3000, 200
    monkeypatch.setattr(sktdi.readout, "_BLOCK_ELEMENTS", 2**17)  # 655 rows, 1 MiB
    F = np.random.RandomState(3).normal(size=(n, p)).astype(np.float32)
    rows, root = np.arange(n), np.ones((n, 1))
    mean, scale = F.mean(axis=0, dtype=np.float64), F.std(axis=0, dtype=np.float64)
    blocks = list(sktdi.readout._scaled_blocks(F, rows, mean, scale, root))
    assert len(blocks) == 5 and all(np.shares_memory(blocks[0][1], b) for _, b in blocks)
    block_bytes = sktdi.readout._block_rows(F) * p * 8
    (gram, ZT), peak = _traced_peak(
        lambda: sktdi.readout._gram(F, rows, mean, scale, root, np.ones((n, 1))))
    # one float64 block and its float32 rows: 1.5 blocks; two blocks would be 2.5
    assert peak < gram.nbytes + ZT.nbytes + 1.8 * block_bytes
    Z = (F - mean) / scale
    np.testing.assert_allclose(np.tril(gram), np.tril(Z.T @ Z), rtol=1e-9, atol=1e-6)


def test_the_kernel_is_accumulated_over_blocks_of_columns(monkeypatch):
    """With fewer examples than features, the ``n x n`` kernel ``Z Z^T`` is accumulated
    over float64 blocks of columns: no float64 copy of the whole features."""
    n, p = 300, 3000
    monkeypatch.setattr(sktdi.readout, "_BLOCK_ELEMENTS", 2**15)  # 109 columns
    rng = np.random.RandomState(4)
    F = rng.normal(size=(n, p)).astype(np.float32)
    rows, root = np.arange(n), rng.uniform(0.5, 1.5, size=(n, 1))
    mean, scale = F.mean(axis=0, dtype=np.float64), F.std(axis=0, dtype=np.float64)
    block_bytes = n * (2**15 // n) * 8
    kernel, peak = _traced_peak(lambda: sktdi.readout._kernel(F, rows, mean, scale, root))
    # a float64 block, the float32 columns it is read from and indexing temporaries;
    # a float64 copy of the whole features would be 10 times the kernel
    assert peak < kernel.nbytes + 3 * block_bytes
    Z = root * (F - mean) / scale
    np.testing.assert_allclose(np.tril(kernel), np.tril(Z @ Z.T), rtol=1e-9, atol=1e-6)
    assert not np.any(np.triu(kernel, 1))  # the lower triangle only, as LAPACK reads it


def test_bad_penalties_and_too_few_examples_are_refused():
    F, t = _features(10, 3)
    with pytest.raises(ValueError, match="alphas must be positive"):
        RidgeReadout(alphas=[1.0, -1.0]).fit(F, t)
    with pytest.raises(ValueError, match="at least 2 distinct examples"):
        RidgeReadout().fit(F[[0, 0]], t[[0, 0]], groups=np.array([0, 0]))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_calibration_gradient_matches_finite_differences(n_classes):
    """The calibration's L-BFGS takes the gradient it is given on trust."""
    rng = np.random.default_rng(n_classes)
    n = 30
    scores = rng.normal(size=n) if n_classes == 2 else rng.normal(size=(n, n_classes))
    targets = rng.dirichlet(np.ones(n_classes), size=n)
    share = rng.dirichlet(np.ones(n))
    for params in ([0.7, -0.3], [2.5, 0.4]) if n_classes == 2 else ([0.7], [2.5]):
        error = check_grad(lambda p: _calibration_loss(p, scores, targets, share)[0],
                           lambda p: _calibration_loss(p, scores, targets, share)[1],
                           np.array(params, dtype=float))
        assert error < 1e-5


@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_are_calibrated_on_held_out_data(n_classes):
    """The leave-one-out calibration scores like a CalibratedClassifierCV wrapper (five
    refits) on held-out sequences, and better than the raw logistic or softmax of the
    decision values, at the cost of one fit."""
    X, y = make_spectral_task(500, 128, n_classes=n_classes, snr=0.25,
                              bands=((0.1, 0.15), (0.3, 0.35)), random_state=0)
    train, test = slice(0, 120), slice(120, None)
    model = SSMFeatureClassifier(d_model=32, random_state=0).fit(X[train], y[train])
    ours = log_loss(y[test], model.predict_proba(X[test]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # folds may hold too little signal for TDI
        wrapper = CalibratedClassifierCV(SSMFeatureClassifier(d_model=32, random_state=0),
                                         cv=5).fit(X[train], y[train])
    theirs = log_loss(y[test], wrapper.predict_proba(X[test]))
    decision = model.decision_function(X[test])
    raw = (np.column_stack([1 - expit(decision), expit(decision)]) if decision.ndim == 1
           else softmax(decision, axis=1))
    assert ours <= theirs + 0.02, (ours, theirs)
    assert ours < 0.9 * log_loss(y[test], raw)
    np.testing.assert_allclose(model.predict_proba(X[test]).sum(axis=1), 1.0)


@pytest.mark.parametrize("n, p", [(30, 80), (200, 12)], ids=["n<p", "n>p"])
def test_a_feature_of_weight_w_is_that_feature_repeated_w_squared_times(n, p):
    """On standardized features, k copies of a column enter the ridge as one column scaled
    by sqrt(k): the weight 2 is the first column repeated 4 times."""
    F, t = _features(n, p, seed=3)
    weights = np.ones(p)
    weights[0] = 2.0
    weighted = RidgeReadout(feature_weights=weights).fit(F, t)
    repeated = RidgeReadout().fit(np.hstack([F, np.repeat(F[:, :1], 3, axis=1)]), t)
    assert weighted.alpha_ == repeated.alpha_
    np.testing.assert_allclose(weighted.loo_errors_, repeated.loo_errors_, rtol=1e-8)
    F_new = np.random.RandomState(1).normal(size=(5, p))
    np.testing.assert_allclose(
        weighted.predict(F_new),
        repeated.predict(np.hstack([F_new, np.repeat(F_new[:, :1], 3, axis=1)])), rtol=1e-8)
    # the standardization carries the weight; unweighted, the fit differs
    assert weighted.scale_[0] == pytest.approx(F[:, 0].std() / 2)
    assert not np.allclose(RidgeReadout().fit(F, t).loo_errors_, weighted.loo_errors_)


def test_feature_weights_hold_when_folds_choose_the_penalty():
    F, t = _features(60, 8, seed=4)
    weights = np.ones(8)
    weights[:2] = 3.0
    weighted = RidgeReadout(cv=3, feature_weights=weights).fit(F, t)
    repeated = RidgeReadout(cv=3).fit(np.hstack([F, np.repeat(F[:, :2], 8, axis=1)]), t)
    assert weighted.alpha_ == repeated.alpha_
    assert weighted.best_score_ == pytest.approx(repeated.best_score_, rel=1e-9)
    np.testing.assert_allclose(weighted.predict(F), repeated.predict(
        np.hstack([F, np.repeat(F[:, :2], 8, axis=1)])), rtol=1e-8)


@pytest.mark.parametrize("weights", [np.ones(3), np.array([1.0, 0.0, 1.0, 1.0]),
                                     np.array([1.0, np.inf, 1.0, 1.0])])
def test_bad_feature_weights_are_refused(weights):
    F, t = _features(10, 4)
    with pytest.raises(ValueError, match="feature_weights must be 4 positive"):
        RidgeReadout(feature_weights=weights).fit(F, t)


def test_the_penalty_is_chosen_among_finite_scores_only():
    """A penalty whose leave-one-out score is not finite (a row fitted exactly, leverage 1)
    is never chosen, and none finite is a named error, not numpy's empty argmax."""
    from sktdi.readout import _strongest_near_best

    alphas = np.array([1e-3, 1e-1, 1e1, 1e3])
    assert _strongest_near_best(np.array([-2.0, -1.0, np.nan, -np.inf]), alphas) == 1
    assert _strongest_near_best(np.array([np.nan, -1.0, -1.0, np.nan]), alphas) == 2
    with pytest.raises(ValueError, match="not finite at any penalty"):
        _strongest_near_best(np.full(4, np.nan), alphas)
