"""SSMClassifier and SSMRegressor: the training-free start, training, what is kept, and the
behaviour beyond the generic scikit-learn checks."""

import io
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sktdi import SSMClassifier, SSMFeatureClassifier, SSMFeatureRegressor, SSMRegressor
from sktdi.core import SSMNetwork
from sktdi.core.features import level_and_scale
from sktdi.datasets import make_spectral_task

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BANK = {"d_model": 16, "n_states": 8, "random_state": 0}
SMALL = {**BANK, "max_iter": 4}


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


# ------------------------------------------------------------------ the start
def test_too_few_sequences_to_judge_training_give_the_training_free_estimator(sine_task):
    """With no held-out rows to tell whether training helps, nothing is trained: the
    estimator is the training-free one with the same parameters, prediction for
    prediction."""
    X, y = sine_task
    X, y = X[::4], y[::4]  # 20 sequences: 4 would be held out, fewer than MIN_VALIDATION
    trained = SSMClassifier(**SMALL).fit(X, y)
    free = SSMFeatureClassifier(**BANK).fit(X, y)
    assert trained.n_iter_ == 0 and not trained.kept_training_
    np.testing.assert_array_equal(trained.decision_function(X), free.decision_function(X))
    np.testing.assert_array_equal(trained.predict_proba(X), free.predict_proba(X))
    assert trained.params_ == free.params_ and trained.init_selected_ == free.init_selected_


@pytest.mark.parametrize("Estimator, Free", [(SSMClassifier, SSMFeatureClassifier),
                                             (SSMRegressor, SSMFeatureRegressor)])
def test_the_network_at_its_start_predicts_as_the_training_free_estimator(Estimator, Free,
                                                                         assert_features_close):
    """The torch network (bank, statistics, standardization, the readout as its head)
    gives the training-free estimator's features, to float32 rounding, dropout or not
    (the bank has none), and on the same features its decision values. Compared apart:
    an output within rounding of a bias can move a count, and with it a decision value,
    on another CPU."""
    X, y = make_spectral_task(30, 64, task="classification" if Free is SSMFeatureClassifier
                              else "regression", random_state=2)
    model = Estimator(**SMALL, dropout=0.5).fit(X, y)  # too few to train: the start
    free = Free(**BANK).fit(X, y)
    views = torch.as_tensor(model.feature_map_.views(X[:, None, :]), dtype=torch.float32)
    levels = None  # the regressors' normalize="keep-level" hands the network these too
    if model.feature_map_.n_levels_:
        levels = torch.as_tensor(level_and_scale(X[:, None, :]), dtype=torch.float32)
    assert (levels is not None) == (Free is SSMFeatureRegressor)
    model.model_.train()  # dropout on, where there is any
    features = free.feature_map_.transform(X[:, None, :])
    with torch.no_grad():
        pooled = model.model_.features(views, None)
        # the rest of the network (levels, standardization, head) on the estimator's own
        # pooled statistics
        model.model_.features = _Returning(features[:, :pooled.shape[1]])
        network = model.model_(views, None, levels).double().numpy()
    own = pooled.numpy() if levels is None else torch.cat([pooled, levels], dim=1).numpy()
    assert_features_close(own, features, free.feature_map_.feature_names(), X.shape[1])
    expected = free.readout_.decision_function(features)
    np.testing.assert_allclose(network.reshape(expected.shape), expected, rtol=1e-4,
                               atol=1e-5)


class _Returning(torch.nn.Module):
    """A stand-in for the network's features: returns the given ones, whatever the input."""

    def __init__(self, features):
        super().__init__()
        self.values = torch.as_tensor(features)

    def forward(self, views, lengths=None):
        return self.values


# ------------------------------------------------------------------ training
def test_training_lowers_the_leave_one_out_loss_smoothly(sine_task):
    """Steps sized to what the features bear: the loss the readout would have left out
    falls from the start's, with no jump (the ridge-started model used to be wrecked in
    its second epoch)."""
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "max_iter": 6}, early_stopping=False,
                        n_iter_no_change=6).fit(X, y)
    start, epochs = clf.start_loss_, clf.loss_curve_
    assert epochs[-1] < start and max(epochs) <= start * 1.05


def test_held_out_rows_decide_and_the_best_state_is_kept(sine_task):
    """The start is scored first; the state kept is the best held-out one (not the last),
    and it replaces the start only when significantly better."""
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "max_iter": 5}, n_iter_no_change=5).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ + 1  # the start and every epoch
    assert clf.best_validation_score_ == max(scores)
    assert isinstance(clf.kept_training_, bool)


def test_the_starts_held_out_errors_are_those_of_a_refitted_readout(sine_task, monkeypatch):
    """A fresh start is scored on the held-out rows with its own readout (fitted on the
    fit rows), not a refit: what refitting it there at its penalty gives."""
    original = SSMClassifier._held_out_errors
    compared = []

    def checking(self, fit, check, readout=None):
        errors = original(self, fit, check, readout)
        if readout is not None:
            np.testing.assert_allclose(errors, original(self, fit, check), rtol=1e-6,
                                       atol=1e-9)
            compared.append(readout is self.readout_)
        return errors

    monkeypatch.setattr(SSMClassifier, "_held_out_errors", checking)
    clf = SSMClassifier(**SMALL).fit(*sine_task)
    assert compared == [True] and len(clf.validation_scores_) == clf.n_iter_ + 1


def test_noise_labels_keep_the_start():
    """Nothing to learn: the start is kept, and it is the training-free estimator fitted
    on every row."""
    rng = np.random.RandomState(3)
    X, y = rng.normal(size=(60, 48)), rng.permutation(np.repeat([0, 1], 30))
    clf = SSMClassifier(**SMALL).fit(X, y)
    free = SSMFeatureClassifier(**BANK).fit(X, y)
    assert clf.n_iter_ > 0 and not clf.kept_training_
    np.testing.assert_array_equal(clf.decision_function(X), free.decision_function(X))


def test_classifier_learns_and_exposes_attributes(sine_task, sine_test):
    X, y = sine_task
    clf = SSMClassifier(**SMALL).fit(X, y)
    assert clf.score(*sine_test) > 0.8
    assert list(clf.classes_) == [0, 1] and clf.n_features_in_ == 48
    assert isinstance(clf.model_, SSMNetwork) and clf.params_init_.n_channels == 16
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_same_random_state_gives_identical_predictions(sine_task):
    X, y = sine_task
    a = SSMClassifier(**SMALL).fit(X, y).decision_function(X)
    b = SSMClassifier(**SMALL).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)


def test_fit_does_not_touch_global_torch_rng(sine_task):
    X, y = sine_task
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    SSMClassifier(**SMALL, n_layers=2, dropout=0.1).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_pickle_round_trip_gives_identical_predictions(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.feature_map_.module_ is loaded.model_.features


def test_three_d_multichannel_input(sine_task):
    X, y = sine_task
    X3 = np.stack([X, X[:, ::-1]], axis=1)
    clf = SSMClassifier(**SMALL).fit(X3, y)
    assert clf.n_channels_ == 2 and clf.predict(X3).shape == (80,)
    assert clf.feature_map_.module_.bank.n_views == 4  # channels and their differences


def test_partial_fit_runs_one_epoch_per_call(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL)
    clf.partial_fit(X[::2], y[::2], classes=[0, 1])
    assert clf.n_iter_ == 1 and clf.kept_training_
    params = clf.params_
    clf.partial_fit(X[1::2], y[1::2])
    assert clf.n_iter_ == 2
    moved = np.abs(np.log(clf.params_.dt) - np.log(params.dt)).max()
    assert moved > 1e-5  # the bank's frequencies moved, not only rounding
    assert clf.predict(X).shape == (80,)
    with pytest.raises(ValueError, match="not seen in the first fit"):
        clf.partial_fit(X[:4], [0, 1, 2, 1])


def test_partial_fit_needs_all_classes_on_first_call(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL)
    clf.partial_fit(X[:6], np.zeros(6, int), classes=[0, 1])
    assert list(clf.classes_) == [0, 1]


@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMRegressor])
def test_partial_fit_ignores_early_stopping(sine_task, Estimator):
    """As MLPClassifier's: one epoch per call, no held-out split, whatever early_stopping."""
    X, y = sine_task
    estimator = Estimator(**SMALL).partial_fit(X, y)
    assert estimator.n_iter_ == 1 and estimator.validation_scores_ == []


def test_warm_start_continues_training(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL, early_stopping=False, warm_start=True).fit(X, y)
    first, start = clf.n_iter_, clf.params_init_
    model = clf.model_
    clf.fit(X, y)
    assert clf.n_iter_ > first and clf.model_ is model  # the same network, trained on
    assert clf.params_init_ == start  # the start is the one of the first fit


def test_verbose_reports_the_start_every_epoch_and_the_choice(sine_task):
    X, y = sine_task
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        SSMClassifier(**SMALL, verbose=True).fit(X, y)
    text = buffer.getvalue()
    assert "start: validation loss" in text and "Iteration 1," in text
    assert "kept the" in text


@pytest.mark.parametrize("init", ["S4D-Lin", "S4D-Inv", "S4D-LegS", "S4D-Real", "LRU", "tdi",
                                  "auto"])
def test_every_init_trains(sine_task, init):
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "max_iter": 2}, init=init, early_stopping=False)
    assert clf.fit(X, y).score(X, y) > 0.7


def test_deep_model_aligns_its_deeper_layers(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**{**SMALL, "max_iter": 2}, n_layers=2, align_layers="all",
                        dropout=0.1, early_stopping=False).fit(X, y)
    assert len(clf.feature_map_.module_.blocks) == 1 and len(clf.layer_initializers_) == 2
    assert clf.score(X, y) > 0.7


def test_ssm_parameters_get_their_own_learning_rate(sine_task):
    X, y = sine_task
    clf = SSMClassifier(**SMALL, learning_rate_init=1e-3, ssm_learning_rate=1e-2,
                        early_stopping=False).fit(X, y)
    groups = clf._optimizer.param_groups
    assert [g["lr"] for g in groups] == [1e-2, 1e-3]
    ssm = {id(p) for p in clf.model_.features.bank.ssm.ssm_parameters()}
    assert {id(p) for p in groups[0]["params"]} == ssm


def test_regressor_multi_output_and_units():
    X, y = make_spectral_task(120, 64, task="regression", random_state=0)
    Y = np.column_stack([y, -2 * y])
    reg = SSMRegressor(**SMALL).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (120, 2)
    assert SSMRegressor(**SMALL).fit(X, y).predict(X).shape == (120,)
    # a change of units changes nothing else
    small = SSMRegressor(**SMALL).fit(X, (Y - 50) / 1000)
    np.testing.assert_allclose(small.predict(X) * 1000 + 50, reg.predict(X),
                               rtol=1e-3, atol=1e-3 * Y.std())


def test_regressor_clips_its_features_unless_told_not_to():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 64))
    y = X[:, -16:].mean(axis=1)
    far = 1000 * rng.normal(size=(5, 64))
    clipped = SSMRegressor(**SMALL).fit(X, y)
    free = SSMRegressor(**SMALL, clip_features=False).fit(X, y)
    assert np.all(np.abs(clipped.predict(far)) < 10 * np.abs(y).max())
    assert np.abs(free.predict(far)).max() > 10 * np.abs(clipped.predict(far)).max()


def test_pipeline_and_grid_search():
    X, y = make_spectral_task(64, 128, bands=((0.30, 0.35),), snr=0.5, random_state=0)
    pipe = make_pipeline(FunctionTransformer(lambda Z: Z / Z.std()),
                         SSMClassifier(**{**SMALL, "d_model": 1}))
    # one channel of S4D-Lin modes hardly sees the high band; one channel placed by TDI does
    search = GridSearchCV(pipe, {"ssmclassifier__init": ["S4D-Lin", "tdi"]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["ssmclassifier__init"] == "tdi"
    scores = search.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.1
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
    ({"statistics": ("median",)}, "statistics"),
    ({"alpha": -1.0}, "alpha"),
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


def test_auto_picks_tdi_on_a_band_task():
    """The band task of test_auto_picks_tdi_where_the_base_misses_the_band, through the
    trained estimator: its start is the training-free estimator's choice."""
    X, y = make_spectral_task(48, 128, bands=((0.30, 0.35),), snr=0.3, random_state=1)
    options = {"init": "auto", "base": "S4D-Lin", "time_scales": (64, 512),
               "differences": False, "statistics": ("mean", "power"), "d_model": 32,
               "random_state": 0}
    clf = SSMClassifier(**options, max_iter=2).fit(X, y)
    assert clf.init_selected_ == SSMFeatureClassifier(**options).fit(X, y).init_selected_
    assert clf.init_selected_.startswith("tdi:")


def test_training_kept_when_the_longest_sequence_was_held_out(monkeypatch):
    """The start's TDI spectrum is on the grid of the rows it was fitted on; when the
    longest sequence was held out and training is kept, the spectral alignment after
    training is read on that grid (it used to raise "Spectra on different grids")."""
    from sktdi import estimators

    monkeypatch.setattr(estimators, "KEEP_SIGNIFICANCE", -np.inf)  # keep any best epoch
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 25)
    X = [rng.normal(size=40 if i == 0 else 30) + label for i, label in enumerate(y)]
    clf = SSMClassifier(d_model=16, n_states=8, max_iter=2, differences=1,  # the case
                        random_state=7).fit(X, y)
    assert clf.kept_training_ and clf.initializer_.seq_len_ < clf.seq_len_  # the case
    alignment = clf.spectral_alignment_
    assert np.isfinite([alignment["init"], alignment["trained"]]).all()
    assert clf.predict(X).shape == (50,)
