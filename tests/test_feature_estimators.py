"""SSMFeatureClassifier, SSMFeatureRegressor and init="auto" (sktdi.selection)."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sktdi import SpectralInitializer, SSMFeatureClassifier, SSMFeatureRegressor
from sktdi.core import DIFFERENCE_WEIGHT
from sktdi.datasets import make_spectral_task
from sktdi.feature_estimators import bank_time_scales
from sktdi.readout import DEFAULT_ALPHAS, REGRESSION_ALPHAS, RidgeReadout
from sktdi.selection import auto_candidates, fit_ridge_readout, select_candidate

SMALL = {"d_model": 32, "random_state": 0}


@pytest.fixture(scope="module")
def band_task():
    """High-band random-phase task: 64 training and 400 held-out sequences."""
    X, y = make_spectral_task(464, 128, bands=((0.30, 0.35),), snr=0.5, random_state=0)
    return X[:64], y[:64], X[64:], y[64:]


def test_classifier_learns_a_band_task_from_few_sequences(band_task):
    X, y, X_test, y_test = band_task
    clf = SSMFeatureClassifier(**SMALL).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.init_selected_ == "tdi" and clf.init_scores_ is None
    assert clf.n_features_in_ == 128 and clf.seq_len_ == 128 and clf.n_channels_ == 1
    assert clf.alpha_ in clf.readout_.alphas and clf.fit_time_ > 0
    assert list(clf.classes_) == [0, 1]
    scores = clf.decision_function(X_test)
    np.testing.assert_array_equal(clf.classes_[(scores > 0).astype(int)], clf.predict(X_test))


def test_tdi_aligns_half_of_the_bank(band_task):
    X, y, _, _ = band_task
    clf = SSMFeatureClassifier(**SMALL).fit(X, y)
    init = clf.initializer_
    assert init.keep_base == 0.5 and init.base == "S4D-LegS"
    np.testing.assert_array_equal(init.aligned_channels_, np.arange(0, 32, 2))
    kept = np.arange(1, 32, 2)
    np.testing.assert_array_equal(clf.params_.A[kept], init.base_params_.A[kept])
    assert not np.allclose(clf.params_.A[::2], init.base_params_.A[::2])


def test_initializer_transform_gives_the_estimator_features(band_task):
    X, y, X_test, _ = band_task
    clf = SSMFeatureClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(clf.initializer_.transform(X_test),
                                  clf.feature_map_.transform(X_test[:, None]))
    X3 = np.stack([X, X[:, ::-1]], axis=1)
    clf3 = SSMFeatureClassifier(**SMALL).fit(X3, y)
    np.testing.assert_array_equal(clf3.initializer_.transform(X3), clf3.feature_map_.transform(X3))
    # the same features in a user's pipeline: transformer + scaler + ridge
    assert clf3.predict(X3).shape == (len(y),)


def test_named_and_given_initializations(band_task):
    X, y, _, _ = band_task
    named = SSMFeatureClassifier(init="S4D-Lin", n_states=8, **SMALL).fit(X, y)
    assert named.initializer_ is None and named.init_selected_ == "S4D-Lin"
    assert named.params_.A.shape == (32, 4)
    given = SpectralInitializer(spectrum="input", keep_base=0.25, d_model=4)
    clf = SSMFeatureClassifier(init=given, **SMALL).fit(X, y)
    assert not hasattr(given, "params_")  # the user's object is left alone
    assert clf.initializer_.spectrum_kind_ == "input" and clf.initializer_.d_model == 32
    assert len(clf.initializer_.aligned_channels_) == 24


def test_time_scales_set_the_steps():
    X, y = make_spectral_task(30, 200, random_state=0)
    clf = SSMFeatureClassifier(init="S4D-Lin", **SMALL).fit(X, y)
    dt_min, dt_max = bank_time_scales("auto", 200)
    assert (dt_min, dt_max) == (0.01, 0.5)
    assert np.all((clf.params_.dt >= dt_min) & (clf.params_.dt <= dt_max))
    slow = SSMFeatureClassifier(init="S4D-Lin", time_scales=(50, 100), **SMALL).fit(X, y)
    assert np.all((slow.params_.dt >= 0.02) & (slow.params_.dt <= 0.04))
    override = SSMFeatureClassifier(init="S4D-Lin", init_options={"dt_min": 0.1, "dt_max": 0.1},
                                    **SMALL).fit(X, y)
    np.testing.assert_allclose(override.params_.dt, 0.1)


def test_auto_keeps_the_base_on_a_task_without_signal():
    """Labels independent of the sequences: no candidate's evidence is significant."""
    for seed in range(3):
        rng = np.random.RandomState(seed)
        X, y = rng.normal(size=(40, 128)), np.repeat([0, 1], 20)
        clf = SSMFeatureClassifier(init="auto", d_model=32, random_state=seed).fit(X, y)
        assert clf.init_selected_ == "S4D-LegS"
        assert set(clf.init_scores_) == {"S4D-LegS", "tdi:discriminative", "tdi:cross",
                                         "tdi:input"}


def test_auto_picks_tdi_where_the_base_misses_the_band():
    """A bank of slow S4D-Lin filters on the raw sequences has no mode in the high band;
    TDI puts half of it there and the leave-one-out evidence says so."""
    X, y = make_spectral_task(48, 128, bands=((0.30, 0.35),), snr=0.3, random_state=1)
    clf = SSMFeatureClassifier(init="auto", base="S4D-Lin", time_scales=(64, 512),
                               differences=False, statistics=("mean", "power"),
                               d_model=32, random_state=0).fit(X, y)
    assert clf.init_selected_.startswith("tdi:")
    assert clf.init_scores_[clf.init_selected_] > clf.init_scores_["S4D-Lin"]
    assert clf.initializer_ is not None


def test_select_candidate_rules():
    base = np.array([0.4, 0.6, 0.5, 0.5, 0.45, 0.55])
    scores = {"b": -0.5, "c": -0.3, "d": -0.2}
    better = {"b": base, "c": base - 0.2, "d": base - 0.3 + np.array([0.6, -0.6, 0, 0, 0, 0])}
    # "d" has the best mean score but its paired gain is not reliable; "c" is
    assert select_candidate(scores, "b", errors=better) == "c"
    # weights: "c" is reliably better on the rows of weight 0 and worse on the others
    base8 = np.array([0.4, 0.6, 0.5, 0.5, 0.45, 0.55, 0.5, 0.6])
    gain = np.array([-0.01, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, -0.02])
    worse_where_weighted = {"b": base8, "c": base8 - gain}
    weights = np.array([1.0, 0, 0, 0, 0, 0, 0, 1.0])
    scores8 = {"b": -0.5, "c": -0.45}
    assert select_candidate(scores8, "b", errors=worse_where_weighted) == "c"
    assert select_candidate(scores8, "b", errors=worse_where_weighted,
                            sample_weight=weights) == "b"
    # fold scores (no per-sample errors): the best score, the base on ties
    assert select_candidate({"b": 0.8, "c": 0.8}, "b") == "b"
    assert select_candidate({"b": 0.8, "c": 0.9}, "b") == "c"
    assert list(auto_candidates("S4D-Inv", 0.5)) == ["S4D-Inv", "tdi:discriminative",
                                                     "tdi:cross", "tdi:input"]


def test_same_random_state_gives_identical_results(band_task):
    X, y, X_test, _ = band_task
    a = SSMFeatureClassifier(**SMALL).fit(X, y).decision_function(X_test)
    b = SSMFeatureClassifier(**SMALL).fit(X, y).decision_function(X_test)
    c = SSMFeatureClassifier(**{**SMALL, "random_state": 1}).fit(X, y).decision_function(X_test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pickle_pipeline_and_grid_search(band_task):
    X, y, X_test, _ = band_task
    clf = SSMFeatureClassifier(**SMALL).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.decision_function(X_test), clf.decision_function(X_test))
    pipe = make_pipeline(FunctionTransformer(lambda Z: 2 * Z), SSMFeatureClassifier(**SMALL))
    # one channel of S4D-Lin modes hardly sees the band; one channel placed by TDI does
    pipe.set_params(ssmfeatureclassifier__d_model=1)
    search = GridSearchCV(pipe, {"ssmfeatureclassifier__init": ["S4D-Lin", "tdi"]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["ssmfeatureclassifier__init"] == "tdi"
    scores = search.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.1
    clone(search.best_estimator_)


def test_cv_and_alphas_choose_the_penalty(band_task):
    X, y, X_test, y_test = band_task
    clf = SSMFeatureClassifier(cv=3, alphas=[0.1, 10.0], **SMALL).fit(X, y)
    assert clf.alpha_ in (0.1, 10.0) and clf.score(X_test, y_test) > 0.8
    # with a cv, the bank of the best mean fold accuracy wins: TDI where the base's slow
    # S4D-Lin filters on the raw sequences miss the band
    auto = SSMFeatureClassifier(init="auto", cv=3, base="S4D-Lin", time_scales=(64, 512),
                                differences=False, statistics=("mean", "power"),
                                **SMALL).fit(X, y)
    assert auto.init_selected_.startswith("tdi:")
    assert all(0 <= score <= 1 for score in auto.init_scores_.values())  # fold accuracies
    assert auto.init_scores_[auto.init_selected_] > auto.init_scores_["S4D-Lin"] + 0.05


def test_verbose_reports_every_bank(band_task, capsys):
    X, y, _, _ = band_task
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        clf = SSMFeatureClassifier(init="auto", verbose=True, **SMALL).fit(X, y)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 5 and all("leave-one-out score" in line for line in lines[:4])
    assert lines[-1].endswith(f"kept {clf.init_selected_} (init='auto')")


def test_regressor_single_and_multi_output():
    X, y = make_spectral_task(120, 64, task="regression", random_state=0)
    reg = SSMFeatureRegressor(init="S4D-LegS", statistics=("last", "mean"), **SMALL)
    reg.fit(X[:80], y[:80])
    assert reg.n_outputs_ == 1 and reg.predict(X[80:]).shape == (40,)
    assert reg.score(X[80:], y[80:]) > 0.5  # the target is a causal filter's last output
    Y = np.column_stack([y, -2 * y])
    multi = clone(reg).fit(X[:80], Y[:80])
    assert multi.n_outputs_ == 2 and multi.predict(X[80:]).shape == (40, 2)
    tdi = SSMFeatureRegressor(**SMALL).fit(X[:80], y[:80])
    assert tdi.initializer_.spectrum_kind_ == "cross"


def test_regressor_leaves_a_target_it_cannot_predict_near_its_mean():
    """The regressors' penalties reach 1e5: on a target that is noise, leave-one-out
    chooses one beyond the classifiers' largest (1e3), and the predictions barely move."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 64)), rng.normal(size=60)
    reg = SSMFeatureRegressor(d_model=16, random_state=0).fit(X[:40], y[:40])
    assert reg.readout_.alphas == REGRESSION_ALPHAS and np.isclose(max(REGRESSION_ALPHAS), 1e5)
    assert reg.alpha_ > max(DEFAULT_ALPHAS)
    assert reg.predict(X[40:]).std() < 0.1 * y.std()
    clf = SSMFeatureClassifier(d_model=16, random_state=0).fit(X[:40], y[:40] > 0)
    assert clf.readout_.alphas == DEFAULT_ALPHAS


@pytest.mark.parametrize("params, match", [
    ({"n_states": 7}, "even"),
    ({"statistics": ("ppv", "median")}, "statistics"),
    ({"statistics": ()}, "statistics"),
    ({"time_scales": (0, 10)}, "time_scales"),
    ({"time_scales": (10, 5)}, "time_scales"),
    ({"time_scales": "fast"}, "time_scales"),
    ({"base": "S5"}, "base"),
    ({"init": "tdi:power"}, "init"),
    ({"n_biases": 0}, "n_biases"),
    ({"differences": 3}, "differences"),
    ({"differences": "2"}, "differences"),
])
def test_bad_parameters(params, match):
    X, y = np.random.RandomState(0).normal(size=(10, 16)), np.repeat([0, 1], 5)
    with pytest.raises(ValueError, match=match):
        SSMFeatureClassifier(**{**SMALL, **params}).fit(X, y)


def test_second_differences_are_pooled_from_the_difference_channels():
    """differences=2 (the default): the bank and TDI read the channels and their first
    differences; the pooling also reads the differenced outputs of half the channels."""
    X = np.random.RandomState(0).normal(size=(24, 2, 32))
    y = np.repeat([0, 1], 12)
    clf = SSMFeatureClassifier(**{**SMALL, "differences": 2}).fit(X, y)
    H = SMALL["d_model"]
    assert clf.feature_map_.module_.bank.n_views == 4  # 2 channels x 2 views
    assert clf.feature_map_.module_.pooling.biases.shape[0] == H + H // 2
    assert clf.initializer_.differences == 2
    one = SSMFeatureClassifier(**{**SMALL, "differences": 1}).fit(X, y)
    assert one.feature_map_.module_.bank.n_views == 4
    assert clf.feature_map_.n_features == one.feature_map_.n_features * 3 // 2
    assert clf.predict(X).shape == (24,)
    assert SSMFeatureClassifier().differences == 2


def test_one_class_is_refused():
    X = np.random.RandomState(0).normal(size=(10, 16))
    with pytest.raises(ValueError, match="2 classes"):
        SSMFeatureClassifier(**SMALL).fit(X, np.zeros(10))


def test_ridge_readout_ignores_features_that_are_constant_up_to_rounding():
    """A feature constant on the training rows up to rounding (1e-16) must not become a
    unit-variance noise feature: where it varies at predict time the predictions would
    explode. Before the fix the prediction below was of order 1e14."""
    rng = np.random.RandomState(0)
    informative = rng.normal(size=(16, 5))
    y = informative @ rng.normal(size=5)
    silent = 1e-16 * rng.normal(size=(16, 1))  # e.g. a channel GELU silences in training
    readout = fit_ridge_readout(np.hstack([informative, silent]), y, classification=False)
    assert readout.scale_[-1] == 1.0 and np.all(readout.scale_[:-1] != 1.0)
    new = np.hstack([rng.normal(size=(4, 5)), np.full((4, 1), 10.0)])
    assert np.all(np.abs(readout.predict(new)) < 100 * np.abs(y).max())


def test_regressor_does_not_extrapolate_sequences_unlike_the_training_ones():
    """Features are clipped to their training range at predict time: a sequence 1000 times
    larger than every training sequence gets a prediction of the training targets' size
    (normalize=False: features that grow with the sequence; "keep-level" would leave only
    the log of its scale to grow)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 64))
    y = X[:, -16:].mean(axis=1)
    reg = SSMFeatureRegressor(d_model=16, random_state=0, normalize=False).fit(X, y)
    lo, hi = reg.feature_range_
    assert lo.shape == hi.shape == (reg.feature_map_.n_features,) and np.all(lo <= hi)
    far = 1000 * rng.normal(size=(5, 64))
    assert np.all(np.abs(reg.predict(far)) < 10 * np.abs(y).max())
    np.testing.assert_allclose(reg.predict(X), reg.readout_.predict(reg._features(X)))
    free = clone(reg).set_params(clip_features=False).fit(X, y)
    np.testing.assert_allclose(free.predict(X), reg.predict(X))  # the training rows: within
    assert np.abs(free.predict(far)).max() > 10 * np.abs(reg.predict(far)).max()


def test_regressor_range_ignores_rows_of_zero_weight():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 32))
    y = X[:, ::3].sum(axis=1)
    X[0] *= 20  # an outlier that only a zero weight keeps out
    w = np.ones(30)
    w[0] = 0
    weighted = SSMFeatureRegressor(d_model=8, n_states=8, random_state=0).fit(X, y, w)
    dropped = SSMFeatureRegressor(d_model=8, n_states=8, random_state=0).fit(X[1:], y[1:])
    # the outlier left out of the range (else it would widen it twentyfold)
    for low_or_high in range(2):
        np.testing.assert_allclose(weighted.feature_range_[low_or_high],
                                   dropped.feature_range_[low_or_high], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(weighted.predict(X[:3]), dropped.predict(X[:3]), rtol=1e-4)


def test_regressors_keep_the_level_that_normalizing_removes():
    """normalize=True standardizes every sequence, so a target that is the sequence's level
    is lost; the regressors' default "keep-level" hands the level to the readout."""
    rng = np.random.RandomState(0)
    level = rng.uniform(-3, 3, size=80)
    X = level[:, None] + 0.3 * rng.normal(size=(80, 48))
    reg = SSMFeatureRegressor(d_model=16, random_state=0)
    assert reg.normalize == "keep-level"
    kept = reg.fit(X[:50], level[:50])
    lost = clone(reg).set_params(normalize=True).fit(X[:50], level[:50])
    assert kept.score(X[50:], level[50:]) > 0.9
    assert lost.score(X[50:], level[50:]) < 0.5
    assert kept.feature_map_.feature_names()[-2:] == ["x0_log_std", "x0_mean_per_std"]
    assert SSMFeatureClassifier().normalize is False


@pytest.mark.parametrize("Estimator", [SSMFeatureClassifier, SSMFeatureRegressor])
def test_classifiers_penalize_the_second_difference_statistics_more(Estimator):
    """The classifiers' readout weighs the statistics of the differenced outputs by
    DIFFERENCE_WEIGHT (their standardization divided by it), the regressors' by 1."""
    X, y = make_spectral_task(30, 64, bands=((0.2, 0.3),), random_state=1)
    target = y if Estimator is SSMFeatureClassifier else y + np.random.RandomState(0).normal(
        size=len(y))
    model = Estimator(d_model=8, random_state=0).fit(X, target)
    features = model.feature_map_.transform(X[:, None])
    plain = RidgeReadout(model.readout_.alphas, model._classification).fit(features, target)
    names = model.feature_map_.feature_names()
    differenced = np.array([name.startswith("dssm") for name in names])
    level = np.array([name.startswith("x") for name in names])
    weight = DIFFERENCE_WEIGHT if Estimator is SSMFeatureClassifier else 1.0
    assert differenced.any() and 0 < DIFFERENCE_WEIGHT < 1
    ratio = plain.scale_ / model.readout_.scale_
    np.testing.assert_allclose(ratio[differenced], weight, rtol=1e-6)
    np.testing.assert_allclose(ratio[~differenced & ~level], 1.0, rtol=1e-6)


def test_a_fallback_warning_comes_once_and_obeys_the_users_filters():
    """TDI's fallback on constant sequences is announced once per fit, not per candidate,
    and a user's "ignore" silences it (a filter set inside the fit overrode it)."""
    X = np.repeat(np.linspace(0.0, 1.0, 20)[:, None], 24, axis=1)  # sequence i: a level
    y = np.repeat([0, 1], 10)
    model = SSMFeatureClassifier(d_model=8, n_states=4, init="auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=UserWarning)
        model.fit(X, y)
    assert [w for w in caught if issubclass(w.category, UserWarning)] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    fallbacks = [w for w in caught if "nothing to match" in str(w.message)]
    assert len(fallbacks) == 1 and fallbacks[0].filename == __file__
