"""Behaviour of SSMClassifier and SSMRegressor beyond the generic scikit-learn checks."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sktdi import SSMClassifier, SSMParams, SSMRegressor

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {"d_model": 8, "n_states": 8, "max_iter": 15, "random_state": 0}


def _sine_task(n, seed):
    """Two classes: noise, or noise plus a sinusoid at 0.5 rad/sample."""
    rng = np.random.RandomState(seed)
    L = 48
    y = np.repeat([0, 1], n // 2)
    t = np.arange(L)
    X = rng.normal(size=(n, L)) + 1.5 * y[:, None] * np.sin(0.5 * t + rng.uniform(0, 6, (n, 1)))
    return X, y


@pytest.fixture(scope="module")
def sine_task():
    return _sine_task(80, seed=0)


@pytest.fixture(scope="module")
def sine_test():
    """Held-out sequences of the same task."""
    return _sine_task(400, seed=1)


def test_classifier_learns_and_exposes_attributes(sine_task, sine_test):
    X, y = sine_task
    clf = SSMClassifier(d_model=16, n_states=16, max_iter=60, random_state=0).fit(X, y)
    assert clf.score(*sine_test) > 0.9
    assert clf.n_features_in_ == 48 and clf.seq_len_ == 48 and clf.n_channels_ == 1
    assert clf.n_iter_ == len(clf.loss_curve_) and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert isinstance(clf.params_init_, SSMParams) and isinstance(clf.params_, SSMParams)
    assert clf.params_init_ != clf.params_  # training moved the SSM
    assert np.all(clf.params_.A.real < 0) and np.all(clf.params_.dt > 0)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_same_random_state_gives_identical_predictions(sine_task):
    X, y = sine_task
    a = SSMClassifier(**SMALL).fit(X, y).predict_proba(X)
    b = SSMClassifier(**SMALL).fit(X, y).predict_proba(X)
    c = SSMClassifier(**{**SMALL, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_does_not_touch_global_torch_rng(sine_task):
    X, y = sine_task
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    SSMClassifier(**{**SMALL, "dropout": 0.2}).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_pickle_round_trip_gives_identical_predictions(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.device_.type == "cpu"


def test_three_d_multichannel_input(sine_task):
    X, y = sine_task
    X3 = np.stack([X, np.random.RandomState(1).normal(size=X.shape)], axis=1)
    clf = SSMClassifier(**SMALL).fit(X3, y)
    assert clf.n_channels_ == 2 and clf.seq_len_ == 48
    assert clf.predict(X3).shape == (len(y),)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(np.concatenate([X3, X3[:, :1]], axis=1))
    # 3-D input fixes the channels, not the length: a causal model reads any length
    assert clf.predict(X3[:, :, :40]).shape == (len(y),)
    with pytest.raises(ValueError, match="fitted on 2 channels"):
        clf.predict(X)


def test_partial_fit_matches_single_epochs(sine_task):
    """Three partial_fit calls are the three epochs of fit(max_iter=3): same optimizer,
    same batches (no shuffling, no dropout), the same model."""
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "shuffle": False})
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert clf.n_iter_ == 3 and clf.t_ == 3 * len(y)
    whole = SSMClassifier(**{**SMALL, "shuffle": False, "max_iter": 3}).fit(X, y)
    np.testing.assert_allclose(clf.loss_curve_, whole.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), whole.predict_proba(X), rtol=1e-6)
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, np.where(y == 1, 2, 0))


def test_partial_fit_needs_all_classes_on_first_call(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL).partial_fit(X[:40], y[:40], classes=[0, 1])
    assert list(clf.classes_) == [0, 1]
    clf.partial_fit(X[40:], y[40:])


@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMRegressor])
def test_partial_fit_refuses_early_stopping(sine_task, Estimator):
    X, y = sine_task
    estimator = Estimator(**{**SMALL, "early_stopping": True})
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        estimator.partial_fit(X, y)
    assert not hasattr(estimator, "model_")  # nothing half-written


def test_warm_start_continues_training(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "warm_start": True, "max_iter": 5}).fit(X, y)
    first_params = clf.params_
    clf.fit(X, y)
    assert clf.n_iter_ == 10 and clf.params_init_ is not None
    assert clf.params_ != first_params
    cold = SSMClassifier(**{**SMALL, "max_iter": 5}).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 5


def test_early_stopping_records_validation_scores(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "early_stopping": True, "max_iter": 200,
                           "n_iter_no_change": 3}).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_verbose_prints_one_line_per_epoch(sine_task):
    X, y = sine_task
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        SSMClassifier(**{**SMALL, "max_iter": 4, "verbose": True}).fit(X, y)
    lines = [line for line in buffer.getvalue().splitlines() if line.startswith("Iteration")]
    assert len(lines) == 4 and "loss = " in lines[0] and "time = " in lines[0]


@pytest.mark.parametrize("init", ["S4D-Lin", "S4D-Inv", "S4D-LegS", "S4D-Real", "LRU", "scaled"])
def test_every_named_init_trains(sine_task, init):
    X, y = sine_task
    clf = SSMClassifier(init=init, **{**SMALL, "max_iter": 3}).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_deep_model_and_options(sine_task):
    X, y = sine_task
    clf = SSMClassifier(n_layers=2, dropout=0.1, pooling="last", discretization="bilinear",
                        dtype="float64", **{**SMALL, "max_iter": 5}).fit(X, y)
    assert len(clf.model_.blocks) == 2 and clf.model_.blocks[0].residual
    assert next(clf.model_.parameters()).dtype == torch.float64


def test_ssm_parameters_get_their_own_learning_rate(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "max_iter": 1, "learning_rate_init": 0.01,
                           "ssm_learning_rate": 0.002, "alpha": 0.1}).fit(X, y)
    ssm_group, rest_group = clf._optimizer.param_groups
    assert ssm_group["lr"] == 0.002 and ssm_group["weight_decay"] == 0.0
    assert rest_group["lr"] == 0.01 and rest_group["weight_decay"] == 0.1
    layer = clf.model_.blocks[0].ssm
    assert {id(p) for p in ssm_group["params"]} == {id(p) for p in layer.ssm_parameters()}


def test_regressor_multi_output_and_scale():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 32))
    # exponential moving averages with two memories: what an SSM read at the last step is
    lags = np.arange(32)[::-1]
    Y = np.column_stack([X @ 0.7**lags, X @ 0.95**lags]) * 1000 + 50
    X_test = rng.normal(size=(200, 32))
    Y_test = np.column_stack([X_test @ 0.7**lags, X_test @ 0.95**lags]) * 1000 + 50
    reg = SSMRegressor(d_model=16, n_states=16, max_iter=80, pooling="last",
                       random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (120, 2)
    assert reg.score(X_test, Y_test) > 0.5
    # targets are standardized internally: a change of units changes nothing else
    small = SSMRegressor(d_model=16, n_states=16, max_iter=80, pooling="last",
                         random_state=0).fit(X, (Y - 50) / 1000)
    np.testing.assert_allclose(small.predict(X) * 1000 + 50, reg.predict(X),
                               atol=1e-3 * Y.std())
    assert SSMRegressor(**SMALL).fit(X, Y[:, 0]).predict(X).shape == (120,)


def test_pipeline_and_grid_search(sine_task):
    X, y = sine_task
    pipe = make_pipeline(FunctionTransformer(lambda Z: Z / Z.std()), SSMClassifier(**SMALL))
    search = GridSearchCV(pipe, {"ssmclassifier__init": ["S4D-Lin", "S4D-Inv"]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["ssmclassifier__init"] in ("S4D-Lin", "S4D-Inv")
    clone(search.best_estimator_)


# ------------------------------------------------------------------- bad input
GOOD_X = np.random.RandomState(0).normal(size=(10, 16))
GOOD_Y = np.repeat([0, 1], 5)


@pytest.mark.parametrize("X, y, match", [
    (np.where(np.eye(10, 16) > 0, np.nan, GOOD_X), GOOD_Y, "NaN"),
    (np.where(np.eye(10, 16) > 0, np.inf, GOOD_X), GOOD_Y, "infinity"),
    (np.empty((0, 16)), np.empty(0), "0 sample"),
    (np.empty((10, 0)), GOOD_Y, "0 feature"),
    (np.empty((10, 2, 0)), GOOD_Y, "zero-length"),
    (GOOD_X[0], GOOD_Y[:1], "Expected 2D array"),
    (GOOD_X.reshape(10, 2, 2, 4), GOOD_Y, "4-D"),
    ([np.ones((1, 5)), np.ones((2, 6))], [0, 1], "mixes channel counts"),
    ([[1.0, 2.0], []], [0, 1], "empty"),
    ([np.ones(5), np.ones((1, 6))], [0, 1], "mixes 1-D and 2-D"),
    ([["a", "b"], ["c"]], [0, 1], "could not be read as numbers"),
    (np.full((10, 16), "a"), GOOD_Y, "string|convert"),
    (GOOD_X, GOOD_Y[:-1], "inconsistent numbers of samples"),
    (GOOD_X, np.zeros(10), "1 class"),
    (GOOD_X, np.where(GOOD_Y > 0, np.nan, 0.0), "NaN"),
])
def test_classifier_bad_input(X, y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SSMClassifier(**SMALL).fit(X, y)


def test_regressor_nan_targets():
    with pytest.raises(ValueError, match="NaN"):
        SSMRegressor(**SMALL).fit(GOOD_X, np.where(GOOD_Y > 0, np.nan, 0.0))


@pytest.mark.parametrize("params, match", [
    ({"init": "S5"}, "init"),
    ({"device": "tpu"}, "device"),
    ({"device": "cuda:x"}, "device"),
    ({"n_states": 0}, "n_states"),
    ({"n_states": 7}, "even"),
    ({"d_model": -1}, "d_model"),
    ({"n_layers": 0}, "n_layers"),
    ({"learning_rate_init": 0.0}, "learning_rate_init"),
    ({"ssm_learning_rate": -1e-3}, "ssm_learning_rate"),
    ({"max_iter": 0}, "max_iter"),
    ({"batch_size": 0}, "batch_size"),
    ({"dtype": "float16"}, "dtype"),
    ({"pooling": "median"}, "pooling"),
    ({"pooling": "mean+mean"}, "pooling"),
    ({"head_init": "zeros"}, "head_init"),
])
def test_bad_hyperparameters(params, match):
    with pytest.raises(ValueError, match=match):
        SSMClassifier(**{**SMALL, **params}).fit(GOOD_X, GOOD_Y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_cuda_requested_without_cuda():
    with pytest.raises(ValueError, match="CUDA is not available"):
        SSMClassifier(**{**SMALL, "device": "cuda"}).fit(GOOD_X, GOOD_Y)


def test_predict_with_other_sequence_length():
    clf = SSMClassifier(**SMALL).fit(GOOD_X, GOOD_Y)
    with pytest.raises(ValueError, match="16 features"):
        clf.predict(GOOD_X[:, :12])


def test_model_fitted_on_cuda_loads_on_a_cpu_only_machine(sine_task, monkeypatch):
    """The pickle holds the network on the CPU; without CUDA it loads and predicts there."""
    X, y = sine_task
    clf = SSMClassifier(**SMALL).fit(X, y)
    expected = clf.predict_proba(X)
    clf.device_ = torch.device("cuda")  # as recorded by a fit on a GPU machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.device_.type == "cpu"
    assert next(loaded.model_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


# ------------------------------------------------------------ readout, views, probe, auto
def test_pooling_combinations_and_difference_views(sine_task):
    X, y = sine_task
    clf = SSMClassifier(pooling="mean+max+last", differences=True, **SMALL).fit(X, y)
    assert clf.model_.head.in_features == 3 * SMALL["d_model"]
    assert clf.model_.encoder.in_features == 2  # the sequence and its first difference
    assert clf.predict_proba(X).shape == (len(y), 2)
    X3 = np.stack([X, X[:, ::-1]], axis=1)
    assert SSMClassifier(differences=True, **SMALL).fit(X3, y).model_.encoder.in_features == 4


def test_ridge_head_starts_at_the_linear_probe(sine_task):
    """With learning rates ~0 the trained head is the ridge readout of the initial network's
    pooled features, folded into the head: the logit difference is the ridge score."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    X, y = sine_task
    clf = SSMClassifier(head_init="ridge", learning_rate_init=1e-12,
                        ssm_learning_rate=1e-12, **{**SMALL, "max_iter": 1}).fit(X, y)
    features = clf._forward_numpy(clf._views(X[:, None, :]), head=False)
    scaler = StandardScaler().fit(features)
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(features), y)
    logits = clf._forward_numpy(clf._views(X[:, None, :]))
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0],
                               ridge.decision_function(scaler.transform(features)), atol=1e-4)


def test_regressor_ridge_head_predicts_the_ridge_solution():
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 32))
    y = X[:, -8:].sum(axis=1) * 10 + 3
    reg = SSMRegressor(head_init="ridge", pooling="last", learning_rate_init=1e-12,
                       ssm_learning_rate=1e-12, **{**SMALL, "max_iter": 1}).fit(X, y)
    features = reg._forward_numpy(reg._views(X[:, None, :]), head=False)
    scaler = StandardScaler().fit(features)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 10)).fit(scaler.transform(features),
                                                        (y - y.mean()) / y.std())
    expected = ridge.predict(scaler.transform(features)) * y.std() + y.mean()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-4, atol=1e-3)


def test_auto_picks_tdi_on_a_band_task_and_the_base_on_noise():
    from sktdi.datasets import make_spectral_task

    X, y = make_spectral_task(32, 128, bands=((0.30, 0.35),), snr=0.3, random_state=0)
    clf = SSMClassifier(init="auto", **{**SMALL, "d_model": 16, "max_iter": 2}).fit(X, y)
    assert clf.init_selected_.startswith("tdi:") and clf.initializer_ is not None
    assert clf.init_scores_[clf.init_selected_] > clf.init_scores_["S4D-Lin"]
    # On noise a TDI network can win by chance: two standard errors and three candidates
    # make that a few percent of tasks (1 in 12 seeds in our runs), not a habit.
    picks = [SSMClassifier(init="auto", **{**SMALL, "d_model": 16, "max_iter": 1,
                                           "random_state": seed})
             .fit(np.random.RandomState(seed).normal(size=(32, 128)), y).init_selected_
             for seed in range(6)]
    assert picks.count("S4D-Lin") >= 5


def test_early_stopping_rows_are_not_seen_by_tdi(sine_task):
    X, y = sine_task  # 80 sequences; validation_fraction 0.25 keeps 60 for training
    clf = SSMClassifier(init="tdi", early_stopping=True, validation_fraction=0.25,
                        **{**SMALL, "max_iter": 2}).fit(X, y)
    assert clf.initializer_.shrinkage_ == pytest.approx(4 / (4 + 60))


def test_prediction_batches_are_bounded_by_bytes(monkeypatch):
    """1,024 rows per batch were 8.6 GB for one activation at L = 16,384 and H = 64: the
    batch now holds as many sequences as the byte budget allows, whatever their length."""
    import sktdi.estimators as estimators

    X = np.random.RandomState(0).normal(size=(40, 256))
    clf = SSMClassifier(**{**SMALL, "max_iter": 1}).fit(X, np.repeat([0, 1], 20))
    monkeypatch.setattr(estimators, "_PREDICT_BYTES", 8 * 4 * 8 * 256 * 7)  # 7 rows' worth
    from sktdi.core import SSMNetwork

    seen, forward = [], SSMNetwork.forward
    monkeypatch.setattr(SSMNetwork, "forward",
                        lambda self, x, lengths=None: (seen.append(tuple(x.shape)),
                                                       forward(self, x, lengths))[1])
    proba = clf.predict_proba(X)
    assert max(shape[0] for shape in seen) == 7 and sum(s[0] for s in seen) == 40
    monkeypatch.undo()
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-12)  # same predictions


def test_default_fits_converge():
    """A default fit stops by its rule, not at max_iter: no ConvergenceWarning (the global
    filter that hid it is gone; the module-level one covers the short fits above)."""
    from sklearn.exceptions import ConvergenceWarning

    from sktdi.datasets import load_digits_sequences

    X, y = load_digits_sequences()
    for estimator in (SSMClassifier(random_state=0), SSMRegressor(random_state=0)):
        target = y[:150] if isinstance(estimator, SSMClassifier) else y[:150] / 9.0
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            estimator.fit(X[:150], target)
        assert estimator.n_iter_ < estimator.max_iter


def test_inputs_are_read_on_the_training_data_scale(sine_task):
    """The views are standardized with the training data's mean and scale: multiplying
    every sequence by 1000 and shifting it changes nothing the model learns (before, counts
    in the thousands made every Adam step of the head move the output by tens of units)."""
    X, y = sine_task
    a = SSMClassifier(**{**SMALL, "dtype": "float64"}).fit(X, y)
    b = SSMClassifier(**{**SMALL, "dtype": "float64"}).fit(1000 * X + 50, y)
    np.testing.assert_allclose(b.predict_proba(1000 * X + 50), a.predict_proba(X), atol=1e-6)


def test_regressor_does_not_extrapolate_sequences_unlike_the_training_ones(sine_task):
    X, _ = sine_task
    y = X[:, -8:].mean(axis=1)
    reg = SSMRegressor(**SMALL).fit(X, y)
    low, high = reg.feature_range_
    assert low.shape == high.shape == (reg.model_.head.in_features,) and np.all(low <= high)
    far = 1000 * np.random.RandomState(1).normal(size=(5, X.shape[1]))
    assert np.all(np.abs(reg.predict(far)) < 10 * np.abs(y).max())
    np.testing.assert_allclose(reg.predict(X), reg._validated_outputs(X)[:, 0] * reg._y_scale
                               + reg._y_mean, rtol=1e-6, atol=1e-9)  # inside the range
