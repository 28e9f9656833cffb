"""SpectralInitializer and init="tdi" in the estimators."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline

from sktdi import SpectralInitializer, SSMClassifier, SSMRegressor
from sktdi.core import count_aliased_modes, level_and_scale
from sktdi.datasets import make_spectral_task
from sktdi.spectral import frequency_grid, model_power_spectrum

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BAND = (0.30, 0.35)
SMALL = {"d_model": 16, "n_states": 16, "random_state": 0}


def reference_loss(params, S_task):
    """The matching loss written out in NumPy, independently of sktdi's code path: the
    discretized kernel by explicit powers, its power spectrum by ``rfft``, and the distance
    of the unit-norm spectra."""
    dtA = params.dt[:, None] * params.A
    if params.discretization == "zoh":
        Abar = np.exp(dtA)
        Bbar = (Abar - 1) / params.A * params.B
    else:
        Abar = (1 + dtA / 2) / (1 - dtA / 2)
        Bbar = params.dt[:, None] * params.B / (1 - dtA / 2)
    L = 2 * (len(S_task) - 1)
    powers = Abar[:, :, None] ** np.arange(L)  # (H, N, L)
    kernel = 2 * np.real(np.einsum("hn,hnl->hl", params.C * Bbar, powers))  # (H, L)
    S_model = np.sum(np.abs(np.fft.rfft(kernel, axis=-1)) ** 2, axis=0)
    unit = S_model / np.linalg.norm(S_model) - S_task / np.linalg.norm(S_task)
    return float(unit @ unit)


@pytest.fixture(scope="module")
def band_task():
    return make_spectral_task(200, 128, bands=(BAND,), snr=0.5, random_state=0)


def test_fit_aligns_modes_with_the_task_band(band_task):
    X, y = band_task
    init = SpectralInitializer(**SMALL).fit(X, y)
    assert init.spectrum_kind_ == "discriminative"
    assert init.loss_ < 0.5 * init.initial_loss_
    assert init.n_iter_ == 1 and init.fit_time_ > 0 and init.n_aliased_modes_ == 0
    freqs = init.params_.dt[:, None] * init.params_.A.imag / (2 * np.pi)  # cycles/sample
    in_band = (freqs > BAND[0] - 0.02) & (freqs < BAND[1] + 0.02)
    base_freqs = init.base_params_.dt[:, None] * init.base_params_.A.imag / (2 * np.pi)
    base_in_band = (base_freqs > BAND[0] - 0.02) & (base_freqs < BAND[1] + 0.02)
    assert in_band.mean() > 0.5 > base_in_band.mean()
    # the reported losses are those of the reported parameters, computed independently
    assert init.loss_ == pytest.approx(reference_loss(init.params_, init.task_spectrum_))
    assert init.initial_loss_ == pytest.approx(
        reference_loss(init.base_params_, init.task_spectrum_))
    assert np.all(init.params_.A.real < 0) and np.all(init.params_.dt > 0)


def test_auto_shrinkage_fades_with_samples(band_task):
    X, y = band_task
    few = SpectralInitializer(**SMALL).fit(X[:16], y[:16])
    many = SpectralInitializer(**SMALL).fit(X, y)
    assert few.shrinkage_ == pytest.approx(4 / 20) and many.shrinkage_ == pytest.approx(4 / 204)
    full = SpectralInitializer(shrinkage=1.0, **SMALL).fit(X, y)
    prior = model_power_spectrum(full.base_params_, X.shape[1])
    np.testing.assert_allclose(full.task_spectrum_, prior / prior.sum()
                               * full.raw_task_spectrum_.sum())


@pytest.mark.parametrize("shrinkage", [0.2, 0.5])
def test_shrinkage_is_the_share_of_modes_placed_by_the_base(shrinkage):
    """A task spectrum all in a band: the fraction of modes quantile matching places in the
    band is (1 - s) plus s times the base spectrum's own mass there."""
    from sktdi.core import make_params
    from sktdi.initializer import match_quantiles
    from sktdi.spectral import shrink_spectrum

    L = 256
    w = frequency_grid(L) / (2 * np.pi)
    band = (w >= 0.30) & (w <= 0.35)
    base = make_params("S4D-Lin", 16, 32, random_state=0)
    prior = model_power_spectrum(base, L)
    target = shrink_spectrum(band.astype(float), prior, shrinkage)
    placed = match_quantiles(base, target)
    freq = placed.dt[:, None] * placed.A.imag / (2 * np.pi)  # cycles per sample
    in_band = np.mean((freq >= 0.30 - 0.5 / L) & (freq <= 0.35 + 0.5 / L))
    expected = (1 - shrinkage) + shrinkage * prior[band].sum() / prior.sum()
    assert in_band == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("method", ["gradient", "hybrid"])
def test_gradient_methods_reduce_the_loss(band_task, method):
    X, y = band_task
    quantile = SpectralInitializer(**SMALL).fit(X, y)
    fitted = SpectralInitializer(method=method, max_iter=30, fit_real=True,
                                 fit_magnitude=True, **SMALL).fit(X, y)
    assert fitted.loss_ < fitted.initial_loss_ and 0 < fitted.n_iter_ <= 31
    if method == "hybrid":  # starts at the quantile placement and keeps the best seen
        assert fitted.loss_ <= quantile.loss_ + 1e-12


def test_input_spectrum_needs_no_labels(band_task):
    X, _ = band_task
    init = SpectralInitializer(spectrum="input", **SMALL).fit(X)
    assert init.spectrum_kind_ == "input"


def test_regression_uses_cross_spectrum():
    X, y = make_spectral_task(100, 64, task="regression", random_state=0)
    assert SpectralInitializer(**SMALL).fit(X, y).spectrum_kind_ == "cross"


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", ["quantile", "gradient"])
@pytest.mark.parametrize("scale", [1e80, 1e-90])
def test_targets_units_do_not_move_the_modes(method, scale):
    """The cross spectrum carries the targets' squared units; the matching is free of them
    (targets of 1e80 or 1e-90 once failed with "Spectra must be finite"), and no NumPy
    warning on the way (telling labels from targets cast 1e80 to int)."""
    X, y = make_spectral_task(60, 64, task="regression", random_state=0)
    unit = SpectralInitializer(method=method, max_iter=20, **SMALL).fit(X, y)
    scaled = SpectralInitializer(method=method, max_iter=20, **SMALL).fit(X, scale * y)
    np.testing.assert_allclose(scaled.params_.A, unit.params_.A, rtol=1e-6)
    np.testing.assert_allclose(scaled.params_.dt, unit.params_.dt, rtol=1e-6)
    assert scaled.loss_ == pytest.approx(unit.loss_, rel=1e-6)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_targets_whose_squares_overflow_are_named():
    X, y = make_spectral_task(20, 32, task="regression", random_state=0)
    with pytest.raises(ValueError, match="y has values too large"):
        SpectralInitializer(**SMALL).fit(X, 1e160 * y)
    with pytest.raises(ValueError, match="X has values too large"):
        SpectralInitializer(**SMALL).fit(1e160 * X, y)
    # each squares finitely, but not their product in the cross spectrum
    with pytest.raises(ValueError, match="task spectrum overflows"):
        SpectralInitializer(**SMALL).fit(1e100 * X, 1e100 * y)


def test_short_sequences_fall_back_to_base():
    X = np.random.RandomState(0).normal(size=(10, 3))
    with pytest.warns(UserWarning, match="too short"):
        init = SpectralInitializer(**SMALL).fit(X, np.repeat([0, 1], 5))
    assert init.fallback_ and init.params_ == init.base_params_
    assert init.transform(X).shape == (10, 16 * 13)


@pytest.mark.parametrize("level", [1.0, 0.1, 7.77])
@pytest.mark.parametrize("spectrum", ["input", "discriminative"])
def test_constant_or_repeated_sequences_fall_back_to_base(level, spectrum):
    """Their spectrum is zero; computed, it is rounding residue (1e-32 for constants of
    0.1), which TDI used to match."""
    y = np.repeat([0, 1], 10)
    for X in (np.full((20, 32), level),
              np.tile(np.random.RandomState(0).normal(size=32), (20, 1)) + level):
        with pytest.warns(UserWarning, match="base initialization"):
            init = SpectralInitializer(spectrum=spectrum, **SMALL).fit(X, y)
        assert init.fallback_ and init.params_ == init.base_params_


def test_transform_features_and_pipeline(band_task):
    X, y = band_task
    init = SpectralInitializer(**SMALL).fit(X, y)
    features = init.transform(X)
    # 16 channels x (5 ppv + 5 lspv + max + min + last)
    assert features.shape == (len(X), 16 * 13) and np.isfinite(features).all()
    names = list(init.get_feature_names_out())
    assert names[:2] == ["ssm0_ppv0", "ssm0_ppv1"] and names[-1] == "ssm15_last"
    np.testing.assert_array_equal(clone(init).fit_transform(X, y), features)
    power = SpectralInitializer(features="power", **SMALL).fit(X, y).transform(X)
    assert power.shape == (len(X), 16) and np.all(power >= 0)
    frame = clone(init).set_output(transform="pandas").fit(X, y).transform(X[:5])
    assert list(frame.columns) == list(init.get_feature_names_out())
    pipe = make_pipeline(SpectralInitializer(**SMALL), RidgeClassifierCV()).fit(X, y)
    X_test, y_test = make_spectral_task(300, 128, bands=(BAND,), snr=0.5, random_state=1)
    assert pipe.score(X_test, y_test) > 0.8
    X3 = np.stack([X, X[::-1]], axis=1)
    assert SpectralInitializer(**SMALL).fit(X3, y).transform(X3).shape == (len(X), 16 * 13)


@pytest.mark.parametrize("X, y, params, match", [
    (np.full((10, 32), np.nan), np.repeat([0, 1], 5), {}, "NaN"),
    (np.ones((10, 32)), np.repeat([0, 1], 5), {"spectrum": "power"}, "spectrum"),
    (np.ones((10, 32)), None, {"spectrum": "cross"}, "needs y"),
    (np.ones((10, 32)), None, {}, "needs y"),
    (np.ones((10, 32)), np.zeros(9), {}, "inconsistent"),
    (np.ones((10, 32)), np.repeat([0, 1], 5), {"n_states": 7}, "even"),
    (np.ones((10, 32)), np.repeat([0, 1], 5), {"method": "newton"}, "method"),
])
def test_initializer_errors(X, y, params, match):
    with pytest.raises(ValueError, match=match):
        SpectralInitializer(**{**SMALL, **params}).fit(X, y)


def test_transform_checks_length(band_task):
    X, y = band_task
    init = SpectralInitializer(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        init.transform(X[:, :100])


# ------------------------------------------------------------------- in the estimators
def test_tdi_estimator_attributes(band_task):
    X, y = band_task
    clf = SSMClassifier(init="tdi", max_iter=5, **SMALL).fit(X, y)
    assert isinstance(clf.initializer_, SpectralInitializer)
    # the network started from the initializer's bank
    assert clf.params_init_ == clf.initializer_.params_
    assert set(clf.spectral_alignment_) == {"init", "trained"}
    S_task = clf.initializer_.task_spectrum_
    assert clf.spectral_alignment_["init"] == pytest.approx(
        reference_loss(clf.params_init_, S_task))
    assert clf.spectral_alignment_["trained"] == pytest.approx(
        reference_loss(clf.params_, S_task))
    assert count_aliased_modes(clf.params_init_) == clf.n_aliased_modes_


def test_given_initializer_is_cloned_with_the_estimator_architecture(band_task):
    X, y = band_task
    given = SpectralInitializer(spectrum="input", d_model=4, n_states=4, smoothing=5)
    clf = SSMClassifier(init=given, max_iter=2, **SMALL).fit(X, y)
    assert not hasattr(given, "params_")  # the user's object is left alone
    assert clf.initializer_.spectrum_kind_ == "input" and clf.initializer_.smoothing == 5
    assert clf.params_init_.A.shape == (16, 8)


def test_partial_fit_aligns_once(band_task):
    X, y = band_task
    clf = SSMClassifier(init="tdi", **SMALL).partial_fit(X, y, classes=[0, 1])
    first = clf.initializer_
    clf.partial_fit(X, y)
    assert clf.initializer_ is first and clf.n_iter_ == 2


def test_align_every_layer(band_task):
    X, y = band_task
    deep = SSMClassifier(init="tdi", n_layers=2, align_layers="all", max_iter=2,
                         **SMALL).fit(X, y)
    first_only = SSMClassifier(init="tdi", n_layers=2, max_iter=2, **SMALL).fit(X, y)
    assert len(deep.layer_initializers_) == 2 and len(first_only.layer_initializers_) == 1
    second = deep.layer_initializers_[1]
    assert second.loss_ < second.initial_loss_


def test_tdi_regressor(band_task):
    X, y = make_spectral_task(100, 64, task="regression", random_state=0)
    reg = SSMRegressor(init="tdi", max_iter=3, **SMALL).fit(X, y)
    assert reg.initializer_.spectrum_kind_ == "cross"


def test_short_sequences_fall_back_in_estimators():
    X, y = np.random.RandomState(0).normal(size=(20, 3)), np.repeat([0, 1], 10)
    with pytest.warns(UserWarning, match="too short"):
        clf = SSMClassifier(init="tdi", max_iter=2, **SMALL).fit(X, y)
    assert clf.initializer_.fallback_ and clf.spectral_alignment_ is None
    assert clf.params_init_ == clf.initializer_.base_params_


def test_tdi_is_deterministic(band_task):
    X, y = band_task
    a = SSMClassifier(init="tdi", max_iter=3, **SMALL).fit(X, y).predict_proba(X)
    b = SSMClassifier(init="tdi", max_iter=3, **SMALL).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_frequency_grid_is_radians_per_sample():
    np.testing.assert_allclose(frequency_grid(8), [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4,
                                                   np.pi])


def test_initializer_behaves_like_a_transformer(band_task, assert_features_close):
    """What scikit-learn's checks cannot test on their 2-3 step sequences."""
    import pickle

    X, y = band_task
    X_before = X.copy()
    init = SpectralInitializer(**SMALL)
    assert init.fit(X, y) is init
    np.testing.assert_array_equal(X, X_before)
    features = init.transform(X)
    # idempotent fit, pickling, subset and order invariance, dtypes
    np.testing.assert_array_equal(clone(init).fit(X, y).transform(X), features)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(init)).transform(X), features)
    names = init.get_feature_names_out()
    assert_features_close(init.transform(X[:7]), features[:7], names, X.shape[1])
    assert_features_close(init.transform(X[::-1]), features[::-1], names, X.shape[1])
    # float32 input: another rounding path too
    assert_features_close(init.transform(X.astype(np.float32)), features, names, X.shape[1])
    np.testing.assert_array_equal(init.transform(X.tolist()), features)
    assert init.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="NaN"):
        init.transform(np.where(X > 2, np.nan, X))
    with pytest.raises(ValueError, match="2D"):
        init.transform(X[0])


@pytest.mark.parametrize("case, match", [
    ("one-per-class", "class\\(es\\) 0, 1 have fewer than two training sequences"),
    ("single-sequence", "single training sequence"),
    ("no-class-difference", "no frequency shows a difference in power"),
    ("constant", "constant or all-zero sequences"),
])
def test_degenerate_spectra_fall_back_with_their_cause(case, match):
    rng = np.random.RandomState(0)
    X, y, params = rng.normal(size=(2, 64)), np.array([0, 1]), {}
    if case == "single-sequence":
        X, y, params = X[:1], None, {"spectrum": "input"}
    elif case == "no-class-difference":  # every sequence twice, once in each class
        X = np.repeat(rng.normal(size=(4, 64)), 2, axis=0)
        y = np.tile([0, 1], 4)
    elif case == "constant":
        X, y = np.ones((6, 64)), np.repeat([0, 1], 3)
    with pytest.warns(UserWarning, match="(?i)" + match) as caught:
        init = SpectralInitializer(**SMALL, **params).fit(X, y)
    assert init.fallback_ and init.params_ == init.base_params_
    assert init.fallback_reason_[1:] in str(caught[0].message)


def test_tdi_with_one_sequence_per_class_keeps_the_base():
    """Two sequences, one per class, used to align the modes to rounding noise."""
    rng = np.random.RandomState(0)
    with pytest.warns(UserWarning, match="fewer than two training sequences"):
        clf = SSMClassifier(init="tdi", max_iter=1, **SMALL).fit(rng.normal(size=(2, 64)),
                                                                 [0, 1])
    assert clf.params_init_ == clf.initializer_.base_params_
    assert clf.spectral_alignment_ is None


def test_estimators_tell_the_initializer_their_task():
    """Integer targets 20..59 read as 40 classes by type_of_target; a regressor says
    "regression", so its spectrum is the cross spectrum."""
    X, _ = make_spectral_task(80, 64, task="regression", random_state=0)
    y = np.arange(80) % 40 + 20
    assert SpectralInitializer(**SMALL).fit(X, y).spectrum_kind_ == "discriminative"
    assert SpectralInitializer(task="regression", **SMALL).fit(X, y).spectrum_kind_ == "cross"
    reg = SSMRegressor(init="tdi", max_iter=1, **SMALL).fit(X, y)
    assert reg.initializer_.task == "regression" and reg.initializer_.spectrum_kind_ == "cross"
    two_valued = SSMRegressor(init="tdi", max_iter=1, **SMALL).fit(X, np.arange(80) % 2)
    assert two_valued.initializer_.spectrum_kind_ == "cross"


def test_hybrid_matching_runs_while_the_best_loss_improves(band_task):
    """The stopping rule used to fire when the loss *rose* over 10 steps: hybrid stopped
    after 10 steps at 0.022 where 100 steps reach 0.0006."""
    X, y = band_task
    quantile = SpectralInitializer(d_model=64, n_states=32, random_state=0).fit(X, y)
    hybrid = SpectralInitializer(method="hybrid", d_model=64, n_states=32,
                                 random_state=0).fit(X, y)
    assert hybrid.n_iter_ > 50 and hybrid.loss_ < 0.1 * quantile.loss_
    # a stall of the best loss stops it: nothing improves by more than tol=1
    stalled = SpectralInitializer(method="hybrid", tol=1.0, d_model=16, n_states=16,
                                  random_state=0).fit(X, y)
    assert stalled.n_iter_ == 1 + 10


@pytest.mark.parametrize("method", ["gradient", "hybrid"])
def test_gradient_matching_never_aliases(band_task, method):
    """S4D-Lin with 32 modes per channel starts with modes above pi (dt up to 0.1); large
    steps used to push more across."""
    X, y = band_task
    base = SpectralInitializer(d_model=32, n_states=64, random_state=0).base_params()
    assert count_aliased_modes(base) > 0
    for rate in (0.05, 1.0):
        fitted = SpectralInitializer(method=method, learning_rate=rate, d_model=32,
                                     n_states=64, random_state=0).fit(X, y)
        assert fitted.n_aliased_modes_ == count_aliased_modes(fitted.params_) == 0


def test_keep_level_features_are_named_and_appended():
    """normalize="keep-level" (the regressors' default, whose feature map the training-free
    estimators take from the initializer): the views are standardized per sequence and
    every channel's level and scale follow the pooled statistics, named."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2, 40)) * rng.uniform(0.5, 5, size=(30, 1, 1))
    y = np.repeat([0, 1], 15)
    init = SpectralInitializer(d_model=8, n_states=4, normalize="keep-level",
                               random_state=0).fit(X, y)
    F, names = init.transform(X), init.get_feature_names_out()
    assert F.shape == (30, len(names)) and list(names[-4:]) == [
        "x0_log_std", "x1_log_std", "x0_mean_per_std", "x1_mean_per_std"]
    np.testing.assert_allclose(F[:, -4:], level_and_scale(X), rtol=1e-6)
    plain = SpectralInitializer(d_model=8, n_states=4, normalize=True, random_state=0)
    np.testing.assert_array_equal(F[:, :-4], plain.fit(X, y).transform(X))
