"""The ridge readout's leave-one-out evidence and the choice of ``init="auto"``: errors
against explicit refits, weights, duplicated rows, and the scale of the weights."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.preprocessing import LabelBinarizer

from sktdi import SSMFeatureClassifier
from sktdi import readout as readout_module
from sktdi.core import bank as bank_module
from sktdi.datasets import make_spectral_task
from sktdi.selection import (
    duplicate_groups,
    fit_ridge_readout,
    leave_one_out_errors,
)


def _explicit_loo_errors(features, y, weights, alpha, classification):
    """Refit the ridge without every row in turn (the standardization of all rows kept,
    as the efficient leave-one-out keeps it; the weights scaled to mean 1, as the readout
    scales them); mean squared error over targets."""
    weights = weights / weights.mean()
    readout = fit_ridge_readout(features, y, classification=classification, alphas=[alpha],
                                sample_weight=weights)
    Z = (features - readout.mean_) / readout.scale_
    T = (LabelBinarizer(neg_label=-1).fit_transform(y) if classification
         else np.asarray(y, float).reshape(len(y), -1))
    errors = []
    for i in range(len(y)):
        rest = np.arange(len(y)) != i
        ridge = Ridge(alpha=alpha).fit(Z[rest], T[rest], sample_weight=weights[rest])
        errors.append(np.mean((ridge.predict(Z[i:i + 1]) - T[i]) ** 2))
    return np.asarray(errors)


@pytest.mark.parametrize("classification", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_leave_one_out_errors_equal_explicit_refits(classification, weighted):
    rng = np.random.RandomState(0)
    features = rng.normal(size=(30, 8))
    y = (rng.randint(0, 3, size=30) if classification
         else features[:, 0] - features[:, 1] + rng.normal(size=30))
    weights = rng.uniform(0.2, 5.0, size=30) if weighted else np.ones(30)
    alpha = 3.0
    ridge = fit_ridge_readout(features, y, classification=classification, alphas=[alpha],
                              sample_weight=weights if weighted else None)
    errors, fitted_weights = leave_one_out_errors(ridge)
    explicit = _explicit_loo_errors(features, y, weights, alpha, classification)
    # two float64 solutions of one well-conditioned 30 x 8 problem
    np.testing.assert_allclose(errors, explicit, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fitted_weights, weights / weights.mean())
    np.testing.assert_allclose(ridge.best_score_, -np.average(explicit, weights=weights),
                               rtol=1e-8)


def test_readout_score_does_not_scale_with_the_weights():
    rng = np.random.RandomState(1)
    features, y = rng.normal(size=(25, 6)), rng.randint(0, 2, size=25)
    weights = rng.uniform(0.5, 2.0, size=25)
    scores = [fit_ridge_readout(features, y, classification=True,
                                sample_weight=weights * c).best_score_
              for c in (1.0, 100.0, 1 / 25)]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-9)


def test_duplicate_groups_read_the_sequences_and_targets():
    X3 = np.array([[[1.0, 2.0, np.nan]], [[1.0, 2.0, 0.0]], [[1.0, 2.0, np.nan]],
                   [[-0.0, 1.0, 1.0]], [[0.0, 1.0, 1.0]], [[1.0, 2.0, np.nan]]])
    y = np.array(["a", "a", "a", "b", "b", "c"])
    groups = duplicate_groups(X3, y)
    # padding is not a zero; -0.0 is 0.0; another label is another example
    assert groups[0] == groups[2] and groups[3] == groups[4]
    assert len(set(groups[[0, 1, 3, 5]])) == 4


@pytest.fixture
def last_bit_noise(monkeypatch):
    """Filter outputs that differ in their last bit with a row's position in its batch, as
    another CPU's rounding can make them: a copy of a sequence never computes bit for bit
    like another copy elsewhere in the batch, and its thresholds and counts follow."""
    forward = bank_module.SSMBank.forward

    def noisy(self, views):
        y = forward(self, views)  # (B, H, L)
        odd = (torch.arange(y.shape[0]) % 3 == 1).to(y.dtype)[:, None, None]
        return y * (1 + odd * torch.finfo(y.dtype).eps)  # one unit up, every third row

    monkeypatch.setattr(bank_module.SSMBank, "forward", noisy)


@pytest.mark.parametrize("init, labels", [("S4D-LegS", "shuffled"), ("auto", "task")])
def test_repeated_rows_equal_integer_weights_wherever_the_copies_sit(last_bit_noise,
                                                                    monkeypatch, init,
                                                                    labels):
    """Repeated rows and integer weights are one fit, with the copies at other positions
    and in other blocks of the bank, and the rows' order shuffled. Shuffled labels leave
    the penalty to the leave-one-out (copies left in would pull it down); the task's own
    labels give ``init="auto"`` a clear choice.

    The penalties are ones the leave-one-out tells apart by more than rounding: the
    penalty is the strongest whose score is within ``SCORE_RTOL`` of the best, and with the
    default grid, on the task's labels, one score sat 1e-6 (relative) from that line, where
    the last bit of the outputs (``last_bit_noise``) decided on some CPUs. The test checks
    that its scores keep clear of the line."""
    margins = []

    def recording(scores, alphas):  # how far the scores sit from the near-best line
        scores = np.asarray(scores)
        line = scores.max() - readout_module.SCORE_RTOL * abs(scores.max())
        margins.append(np.min(np.abs(scores - line)) / abs(scores.max()))
        return strongest_near_best(scores, alphas)

    strongest_near_best = readout_module._strongest_near_best
    monkeypatch.setattr(readout_module, "_strongest_near_best", recording)
    X, y = make_spectral_task(12, 64, background="white", snr=1.0, random_state=3)
    if labels == "shuffled":
        y = np.random.RandomState(0).permutation(y)
    counts = np.array([3, 1, 2, 3, 1, 3, 2, 1, 3, 2, 1, 3])
    model = {"init": init, "d_model": 256, "random_state": 0,  # blocks of 102 rows
             "alphas": (0.01, 1.0, 100.0)}
    weighted = SSMFeatureClassifier(**model).fit(X, y, sample_weight=counts)
    assert min(margins) > 1e-5  # rounding moves the scores by about 1e-6 relative
    expected = weighted.decision_function(X)
    repeated = np.repeat(np.arange(12), counts)
    for order in (repeated, np.random.RandomState(1).permutation(repeated)):
        for copies in (1, 7):  # more rows than a block of the bank: copies in other blocks
            rows = np.tile(order, copies)
            fitted = SSMFeatureClassifier(**model).fit(X[rows], y[rows])
            assert fitted.alpha_ == weighted.alpha_
            assert fitted.init_selected_ == weighted.init_selected_
            np.testing.assert_allclose(fitted.decision_function(X), expected, rtol=1e-4,
                                       atol=1e-4)


def test_auto_choice_and_scores_do_not_depend_on_the_scale_of_the_weights():
    """The band task of test_auto_picks_tdi_where_the_base_misses_the_band: weights that
    multiply by a constant change neither the choice nor the scores (weights of 1/48 once
    summed below 2 and read as "fewer than two sequences")."""
    X, y = make_spectral_task(48, 128, bands=((0.30, 0.35),), snr=0.3, random_state=1)
    model = {"init": "auto", "base": "S4D-Lin", "time_scales": (64, 512),
             "differences": False, "statistics": ("mean", "power"), "d_model": 32,
             "random_state": 0}
    plain = SSMFeatureClassifier(**model).fit(X, y)
    assert plain.init_selected_.startswith("tdi:")
    for scale in (1 / 48, 100.0):
        weighted = SSMFeatureClassifier(**model).fit(X, y, sample_weight=np.full(48, scale))
        assert weighted.init_selected_ == plain.init_selected_
        for label, score in plain.init_scores_.items():
            np.testing.assert_allclose(weighted.init_scores_[label], score, rtol=1e-6)


@pytest.mark.parametrize("classification", [True, False])
def test_leave_one_out_loss_is_the_readouts_leave_one_out_error(classification):
    """The differentiable loss that trains the bank is the readout's own leave-one-out
    error, weights and intercept included."""
    from sktdi.readout import leave_one_out_loss

    rng = np.random.RandomState(4)
    features = rng.normal(size=(25, 40))
    y = rng.randint(0, 3, size=25) if classification else features[:, 0] + rng.normal(size=25)
    weights = rng.uniform(0.5, 2.0, size=25)
    readout = fit_ridge_readout(features, y, classification=classification, alphas=[2.0],
                                sample_weight=weights)
    Z = torch.as_tensor((features - readout.mean_) / readout.scale_)
    T = (LabelBinarizer(neg_label=-1).fit_transform(y) if classification
         else y.reshape(-1, 1))
    loss = leave_one_out_loss(Z, torch.as_tensor(T, dtype=torch.float64),
                              torch.as_tensor(readout.weights_), 2.0)
    errors, w = leave_one_out_errors(readout)
    np.testing.assert_allclose(float(loss), np.average(errors, weights=w) * T.shape[1],
                               rtol=1e-9)


def test_classes_need_fewer_left_out_misclassifications_too():
    """A candidate whose squared errors are lower by many standard errors, but which
    misclassifies as many left-out examples as the base, keeps the base (what pure noise
    gave 12-14% of the time at 10 sequences); fixing more than chance allows wins."""
    from sktdi.selection import fewer_misclassified, select_candidate

    base = np.full(12, 1.0)
    errors = {"b": base, "c": base - 0.1 - 0.001 * np.arange(12)}  # t: far above 2.5
    scores = {"b": -1.0, "c": -0.9}
    same = np.zeros(12, bool)
    same[:3] = True
    assert select_candidate(scores, "b", errors=errors,
                            misclassified={"b": same, "c": same}) == "b"
    fixed = np.zeros(12, bool)
    assert select_candidate(scores, "b", errors=errors,
                            misclassified={"b": np.ones(12, bool), "c": fixed}) == "c"
    # the sign test: 5 fixed and none broken is p = 1/32 one-sided
    w = np.ones(12)
    assert fewer_misclassified(fixed, same | (np.arange(12) < 5), w, 0.05)
    assert not fewer_misclassified(fixed, same | (np.arange(12) < 5), w, 0.03)
    # regression asks for 3 standard errors
    gain = np.array([0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 0.13, 0.07])
    errs = {"b": np.ones(8), "c": np.ones(8) - gain + np.r_[0.3, -0.3, 0.3, -0.3, 0, 0, 0, 0]}
    t = np.mean(gain - np.r_[0.3, -0.3, 0.3, -0.3, 0, 0, 0, 0]) / (
        np.std(gain - np.r_[0.3, -0.3, 0.3, -0.3, 0, 0, 0, 0]) / np.sqrt(7))
    assert 1 < t < 3
    assert select_candidate({"b": -1.0, "c": -0.9}, "b", errors=errs) == "b"
