"""Sequences as users have them: unequal lengths (lists, NaN padding) and missing values."""

import numpy as np
import pytest
import torch
from sklearn.base import is_classifier

from sktdi import (
    SpectralInitializer,
    SSMClassifier,
    SSMFeatureClassifier,
    SSMFeatureRegressor,
    SSMRegressor,
)
from sktdi._validation import as_3d
from sktdi.core import (
    STATISTICS,
    DiagonalSSM,
    PooledStatistics,
    SSMBank,
    SSMBlock,
    SSMFeatureMap,
    SSMFeatures,
    make_params,
    pooled_statistics,
)
from sktdi.core.features import OwnAndResampledFeatureMap
from sktdi.core.padding import median_length, resample_sequences
from sktdi.core.params import concatenate_channels
from sktdi.datasets import pad_sequences
from sktdi.spectral import induced_kernel_spectrum, task_power_spectrum

SMALL = {"d_model": 8, "n_states": 8, "random_state": 0}
TRAINED = {**SMALL, "max_iter": 5, "tol": 0.0}


def _band_sequences(n=24, seed=0, low=14, high=60):
    """Two classes that differ in the frequency of a noisy sinusoid, of lengths in
    ``[low, high)``: a list of 1-D arrays."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2
    lengths = rng.randint(low, high, size=n)
    X = [np.sin((0.4 + 0.8 * label) * np.arange(L) + rng.uniform(0, 6))
         + 0.3 * rng.normal(size=L) for label, L in zip(y, lengths, strict=True)]
    return X, y


def _padded(X, width=None, channels=False):
    width = width or max(len(x) for x in X)
    out = np.full((len(X), width), np.nan)
    for row, x in zip(out, X, strict=True):
        row[:len(x)] = x
    return out[:, None, :] if channels else out


def _scores(estimator, X):
    for method in ("decision_function", "predict_proba", "transform", "predict"):
        if hasattr(estimator, method):
            return np.asarray(getattr(estimator, method)(X), dtype=float)
    raise AssertionError(f"{estimator} has no prediction method")


ESTIMATORS = [
    pytest.param(lambda: SSMClassifier(**TRAINED), id="SSMClassifier"),
    pytest.param(lambda: SSMClassifier(init="S4D-Lin", early_stopping=False, **TRAINED),
                 id="SSMClassifier-trained"),
    pytest.param(lambda: SSMClassifier(init="tdi", n_layers=2, align_layers="all",
                                       early_stopping=False, **TRAINED),
                 id="SSMClassifier-deep"),
    pytest.param(lambda: SSMRegressor(**TRAINED), id="SSMRegressor"),
    pytest.param(lambda: SSMFeatureClassifier(**{**SMALL, "d_model": 16}),
                 id="SSMFeatureClassifier"),
    pytest.param(lambda: SSMFeatureClassifier(init="auto", **{**SMALL, "d_model": 16}),
                 id="SSMFeatureClassifier-auto"),
    pytest.param(lambda: SSMFeatureRegressor(normalize=True, **{**SMALL, "d_model": 16}),
                 id="SSMFeatureRegressor"),
    pytest.param(lambda: SpectralInitializer(**SMALL), id="SpectralInitializer"),
]


# ------------------------------------------------------------------- every accepted form
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", ESTIMATORS)
def test_every_form_of_ragged_input_gives_the_same_model(make):
    """A list of 1-D arrays, a list of (1, L_i) arrays, an object array, and NaN-padded 2-D
    and 3-D arrays are the same sequences: the same fitted model, the same predictions."""
    X, y = _band_sequences()
    forms = {
        "list 1-D": X,
        "list 2-D": [x[None, :] for x in X],
        "object array": np.array(X, dtype=object),
        "padded 2-D": _padded(X),
        "padded 3-D": _padded(X, channels=True),
    }
    reference = None
    for name, form in forms.items():
        estimator = make().fit(form, y)
        assert estimator.seq_len_ == max(len(x) for x in X) and estimator.n_channels_ == 1
        scores = _scores(estimator, X)  # a list is accepted after any fit
        if reference is None:
            reference = scores
        np.testing.assert_allclose(scores, reference, rtol=1e-6, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(_scores(estimator, form), reference, rtol=1e-6,
                                   atol=1e-9, err_msg=name)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", ESTIMATORS)
def test_padding_and_batch_never_change_a_prediction(make):
    """Appending padding, predicting a sequence alone or beside others of other lengths:
    the same scores (to rounding) and the same predicted labels."""
    X, y = _band_sequences()
    estimator = make().fit(X, y)
    together = _scores(estimator, X)
    more_padding = _scores(estimator, _padded(X, width=150, channels=True))
    # float32 filtering: other block lengths round otherwise, by about 1e-7 relative
    close = {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(more_padding, together, **close)
    for i in (0, 5, 11):  # alone, and next to the longest and the shortest sequences
        longest, shortest = np.argmax([len(x) for x in X]), np.argmin([len(x) for x in X])
        alone = _scores(estimator, [X[i]])
        np.testing.assert_allclose(alone[0], together[i], **close)
        mixed = _scores(estimator, [X[shortest], X[i], X[longest]])
        np.testing.assert_allclose(mixed[1], together[i], **close)
    if is_classifier(estimator):
        np.testing.assert_array_equal(
            np.concatenate([estimator.predict([x]) for x in X]), estimator.predict(X))


@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMFeatureClassifier])
def test_prediction_accepts_lengths_not_seen_at_fit(Estimator):
    X, y = _band_sequences(n=40, low=20, high=40)
    estimator = Estimator(**(TRAINED if Estimator is SSMClassifier else SMALL)).fit(X, y)
    longer, y_longer = _band_sequences(n=40, seed=1, low=80, high=120)
    # the frequencies that tell the classes apart are there at any length
    assert estimator.score(longer, y_longer) > 0.8
    np.testing.assert_array_equal(estimator.predict(_padded(longer, channels=True)),
                                  estimator.predict(longer))


def test_initializer_transform_takes_what_predict_takes():
    """A 2-D training array whose last columns are padding only: the estimator and its
    initializer both keep the array's width, and the initializer gives the features of
    the bank that reads every sequence over its own steps (the whole bank with
    ``resample=None``)."""
    X, y = _band_sequences(low=30, high=49)
    wide = _padded(X, width=60)
    for resample in ("median", None):
        estimator = SSMFeatureClassifier(resample=resample, **SMALL).fit(wide, y)
        assert estimator.n_features_in_ == 60 == estimator.initializer_.n_features_in_
        own = estimator.feature_map_ if resample is None else estimator.feature_map_.own
        np.testing.assert_allclose(estimator.initializer_.transform(wide),
                                   own.transform(as_3d(wide)), rtol=1e-12)


def test_equal_length_lists_and_arrays_agree():
    """A list whose sequences share one length is the 2-D array it looks like."""
    X, y = _band_sequences(low=30, high=31)
    clf = SSMFeatureClassifier(**SMALL).fit(np.asarray(X), y)
    np.testing.assert_array_equal(clf.decision_function(X),
                                  clf.decision_function(np.asarray(X)))
    assert clf.n_features_in_ == 30


def test_a_two_d_array_keeps_the_width_of_fit():
    """scikit-learn's contract for 2-D input: its width is n_features_in_."""
    X, y = _band_sequences()
    clf = SSMFeatureClassifier(**SMALL).fit(_padded(X), y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(_padded(X, width=100))
    clf.predict(_padded(X, width=100, channels=True))  # 3-D: any length


# ------------------------------------------------------------------- the masked core
@pytest.mark.parametrize("deeper", [0, 1])
def test_the_model_reads_each_sequences_own_steps(deeper):
    """Zero padding with lengths gives the features of the unpadded sequence, through the
    bank, deeper layers and every statistic (the training path, with gradients on)."""
    gen = torch.Generator().manual_seed(0)
    bank = SSMBank(make_params("S4D-Lin", 4, 8, random_state=0), 2, dtype=torch.float64)
    pooling = PooledStatistics(STATISTICS, 4, 3, dtype=torch.float64)
    with torch.no_grad():
        pooling.biases.normal_(generator=gen)
    blocks = [SSMBlock(DiagonalSSM.from_params(make_params("S4D-Lin", 4, 8, random_state=1),
                                               torch.float64)).double()][:deeper]
    model = SSMFeatures(bank, pooling, blocks).eval()
    x = torch.randn(3, 2, 50, generator=gen, dtype=torch.float64)
    lengths = torch.tensor([50, 17, 33])
    padded = torch.where(torch.arange(50) < lengths[:, None, None], x, 0.0)
    features = model(padded, lengths)
    for i, length in enumerate(lengths.tolist()):
        alone = model(x[i:i + 1, :, :length])
        torch.testing.assert_close(features[i], alone[0])


def test_pooled_statistics_read_each_sequences_own_steps():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(3, 4, 40, generator=gen)  # (B, H, L)
    biases = torch.randn(4, 5, generator=gen)
    statistics = ("ppv", "lspv", "max", "min", "last", "mean", "power")
    lengths = torch.tensor([40, 9, 25])
    masked = pooled_statistics(y, biases, statistics, lengths)
    for i, length in enumerate(lengths.tolist()):
        alone = pooled_statistics(y[i:i + 1, :, :length], biases, statistics)
        torch.testing.assert_close(masked[i], alone[0])


# ------------------------------------------------------------------- missing values
def _with_gap(X, sequence=3, step=6):
    X = [x.copy() for x in X]
    X[sequence][step] = np.nan
    return X


@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMFeatureClassifier,
                                       SpectralInitializer])
def test_a_nan_inside_a_sequence_is_an_error_naming_it(Estimator):
    X, y = _band_sequences()
    with pytest.raises(ValueError, match=r"NaN inside sequence 3 \(channel 0, step 6\)"):
        Estimator(**SMALL).fit(_with_gap(X), y)
    fitted = Estimator(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"NaN inside sequence 3 .*missing='impute'"):
        (fitted.transform if Estimator is SpectralInitializer else fitted.predict)(
            _with_gap(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMFeatureClassifier])
def test_impute_interpolates_missing_values_linearly(Estimator):
    X, y = _band_sequences()
    gappy = _with_gap(_with_gap(X, 3, 6), 3, 7)
    gappy[5][0] = np.nan  # before the first observed value: held
    by_hand = [x.copy() for x in X]
    by_hand[3][6:8] = np.interp([6, 7], [5, 8], [by_hand[3][5], by_hand[3][8]])  # linear
    by_hand[5][0] = by_hand[5][1]
    params = TRAINED if Estimator is SSMClassifier else SMALL
    imputed = Estimator(missing="impute", **params).fit(gappy, y)
    reference = Estimator(**params).fit(by_hand, y)
    np.testing.assert_allclose(_scores(imputed, gappy), _scores(reference, by_hand),
                               rtol=1e-6, atol=1e-9)
    assert imputed.__sklearn_tags__().input_tags.allow_nan
    assert not reference.__sklearn_tags__().input_tags.allow_nan


def test_a_channel_ending_early_is_missing_not_padding():
    """Padding ends every channel at once; one channel ending early holds missing values."""
    X, y = _band_sequences()
    X3 = [np.stack([x, x[::-1]]) for x in X]
    X3[2][1, -3:] = np.nan
    with pytest.raises(ValueError, match="NaN inside sequence 2 \\(channel 1"):
        SSMFeatureClassifier(**SMALL).fit(X3, y)
    imputed = SSMFeatureClassifier(missing="impute", **SMALL).fit(X3, y)
    assert imputed.seq_len_ == max(len(x) for x in X)
    by_hand = [x.copy() for x in X3]
    by_hand[2][1, -3:] = by_hand[2][1, -4]  # the last observed value, held
    reference = SSMFeatureClassifier(**SMALL).fit(by_hand, y)
    np.testing.assert_allclose(_scores(imputed, X3), _scores(reference, by_hand),
                               rtol=1e-6, atol=1e-9)


def test_impute_cannot_fill_a_channel_with_no_value():
    X3 = [np.stack([x, x]) for x in _band_sequences()[0]]
    X3[0][1] = np.nan
    with pytest.raises(ValueError, match="Channel 1 of sequence 0 .* no observed value"):
        SSMFeatureClassifier(missing="impute", **SMALL).fit(X3, np.arange(24) % 2)


# ------------------------------------------------------------------- bad forms
@pytest.mark.parametrize("X, match", [
    ([np.ones((1, 5)), np.ones((2, 6))], "mixes channel counts: sequence 0 has 1"),
    ([np.ones(5), np.ones(0)], "Sequence 1 of X is empty"),
    ([np.ones(5), np.ones((1, 6))], "mixes 1-D and 2-D"),
    ([np.ones(5), np.ones((1, 2, 6))], "Sequence 1 of X has shape"),
    ([["a", "b"], ["c"]], "Sequence 0 of X could not be read as numbers"),
    ([np.ones(5), np.array([1.0, np.inf, 2.0])], "infinity"),
])
def test_bad_forms_raise_a_named_error(X, match):
    with pytest.raises(ValueError, match=match):
        SSMFeatureClassifier(**SMALL).fit(X, [0, 1])


def test_predict_needs_the_fitted_channel_count():
    X, y = _band_sequences()
    clf = SSMFeatureClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="2 channels .* was fitted on 1 channels"):
        clf.predict([np.ones((2, 30))])


def test_pad_sequences():
    np.testing.assert_array_equal(pad_sequences([np.ones((2, 3)), np.zeros((2, 1))]),
                                  [[[1, 1, 1], [1, 1, 1]], [[0, np.nan, np.nan]] * 2])
    X = np.ones((3, 4))
    assert pad_sequences(X) is X  # arrays pass unchanged


# ------------------------------------------------------------------- spectra
@pytest.mark.parametrize("method", ["periodogram", "welch"])
def test_task_spectrum_of_unequal_lengths_is_on_the_longest_grid(method):
    """Sinusoids of one frequency and many lengths: one peak, at that frequency, on the
    grid of the longest sequence."""
    rng = np.random.RandomState(0)
    lengths = rng.randint(40, 128, size=30)
    X = [np.sin(2 * np.pi * 0.125 * np.arange(L) + rng.uniform(0, 6)) for L in lengths]
    S = task_power_spectrum(X, kind="input", method=method)
    assert S.shape == (lengths.max() // 2 + 1,)
    peak = np.argmax(S) / lengths.max()  # cycles per sample
    assert abs(peak - 0.125) <= 1.0 / lengths.max()


@pytest.mark.parametrize("kind", ["input", "cross", "discriminative"])
def test_task_spectrum_of_equal_lengths_is_unchanged_by_padding(kind):
    """Equal-length input is one group: NaN padding after it leaves the spectrum alone,
    and a list gives what the array gives."""
    X, y = _band_sequences(low=64, high=65)
    X = np.asarray(X)
    S = task_power_spectrum(X, y, kind)
    np.testing.assert_allclose(task_power_spectrum(list(X), y, kind), S)
    np.testing.assert_allclose(task_power_spectrum(_padded(list(X), width=90), y, kind), S)


def test_task_spectra_separate_the_bands_of_unequal_lengths():
    X, y = _band_sequences(n=40)
    for kind in ("cross", "discriminative"):
        S = task_power_spectrum(X, y, kind, method="periodogram")
        w = np.linspace(0, np.pi, S.size)
        # the two classes' frequencies (0.4 and 1.2 rad/sample) hold the most power
        near = np.minimum(np.abs(w - 0.4), np.abs(w - 1.2)) < 0.2
        assert S[near].sum() > 0.5 * S.sum(), kind


def test_induced_kernel_spectrum_needs_one_length():
    params = make_params("S4D-Lin", 2, 8, random_state=0)
    with pytest.raises(ValueError, match="one length"):
        induced_kernel_spectrum(params, _padded(_band_sequences()[0]))


def test_lists_work_in_pipelines_and_model_selection():
    """scikit-learn indexes lists itself: splits, pipelines and searches take them."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    X, y = _band_sequences(n=30)
    X_test, y_test = _band_sequences(n=40, seed=2)
    pipeline = make_pipeline(SpectralInitializer(**SMALL), RidgeClassifierCV())
    assert cross_val_score(pipeline, X, y, cv=3).mean() > 0.8
    search = GridSearchCV(SSMFeatureClassifier(**SMALL), {"n_biases": [2, 5]}, cv=3)
    assert search.fit(X, y).score(X_test, y_test) > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [SSMClassifier, SSMRegressor])
def test_partial_fit_on_lists_of_other_lengths(Estimator):
    """Later partial_fit calls take lists of any lengths too, and check their targets."""
    X, y = _band_sequences()
    more, y_more = _band_sequences(n=10, seed=1, low=70, high=90)
    extra = {"classes": [0, 1]} if Estimator is SSMClassifier else {}
    estimator = Estimator(**TRAINED).partial_fit(X, y, **extra)
    estimator.partial_fit(more, y_more)
    assert estimator.n_iter_ == 2 and estimator.predict(more).shape == (10,)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        estimator.partial_fit(more, y_more[:5])


# ------------------------------------------------------------------- resampled reading
def test_resample_sequences_interpolates_each_sequences_own_steps():
    """Every sequence over its own steps, as np.interp reads it, whatever its padding; a
    sequence of one step becomes a constant, and one length to itself is the identity."""
    rng = np.random.RandomState(0)
    lengths = [1, 2, 7, 30, 45]
    X = [rng.normal(size=(3, L)) for L in lengths]
    X3 = pad_sequences(X)
    for length in (1, 5, 30, 90):
        resampled = resample_sequences(X3, length)
        assert resampled.shape == (len(X), 3, length) and not np.isnan(resampled).any()
        for x, row in zip(X, resampled, strict=True):
            own = np.linspace(0, 1, x.shape[1])
            at = np.linspace(0, 1, length) if length > 1 else np.zeros(1)
            expected = np.array([np.interp(at, own, channel) for channel in x])
            np.testing.assert_allclose(row, expected, rtol=1e-12, atol=1e-12)
    equal = rng.normal(size=(4, 2, 20))
    np.testing.assert_allclose(resample_sequences(equal, 20), equal, rtol=1e-12, atol=1e-12)


def test_median_length_counts_a_weight_like_copies():
    rng = np.random.RandomState(0)
    for n in (1, 2, 5, 8):
        lengths = rng.randint(3, 90, size=n)
        assert median_length(lengths) == int(np.median(lengths))
        weights = rng.randint(0, 4, size=n)
        weights[0] = max(weights[0], 1)  # some weight
        assert median_length(lengths, weights) == int(np.median(np.repeat(lengths, weights)))
    assert median_length([1, 1]) == 1


def test_concatenate_channels_keeps_every_layers_channels_in_turn():
    first = make_params("S4D-Lin", 3, 4, random_state=0)
    second = make_params("S4D-LegS", 2, 4, random_state=1)
    both = concatenate_channels([first, second])
    assert both.n_channels == 5 and both.n_states == 4
    for name in ("A", "B", "C", "dt", "D"):
        np.testing.assert_array_equal(getattr(both, name)[3:], getattr(second, name))
    bilinear = make_params("S4D-Lin", 2, 4, discretization="bilinear")
    with pytest.raises(ValueError, match="discretization"):
        concatenate_channels([first, bilinear])


def test_half_the_feature_bank_reads_the_sequences_resampled_to_their_median_length():
    X, y = _band_sequences(low=14, high=60)
    clf = SSMFeatureClassifier(**{**SMALL, "d_model": 9}).fit(X, y)
    feature_map = clf.feature_map_
    assert isinstance(feature_map, OwnAndResampledFeatureMap)
    assert feature_map.length == int(np.median([len(x) for x in X]))
    assert feature_map.own.params.n_channels == 5
    assert feature_map.resampled.params.n_channels == 4
    assert clf.params_.n_channels == 9
    np.testing.assert_array_equal(clf.params_.A[5:], feature_map.resampled.params.A)
    X3 = _padded(X, channels=True)
    features = feature_map.transform(X3)
    np.testing.assert_array_equal(features, np.hstack([
        feature_map.own.transform(X3),
        feature_map.resampled.transform(resample_sequences(X3, feature_map.length))]))
    names = feature_map.feature_names()
    assert len(names) == features.shape[1] == feature_map.n_features
    assert names[-1].startswith("resampled_") and not names[0].startswith("resampled_")
    weights = feature_map.feature_weights(0.7)  # the second difference's, in both halves
    assert weights.shape == (feature_map.n_features,)
    assert set(np.unique(weights)) == {0.7, 1.0}
    assert clf.score(X, y) > 0.9


def test_resample_none_and_equal_lengths_keep_one_bank():
    X, y = _band_sequences()
    assert isinstance(SSMFeatureClassifier(resample=None, **SMALL).fit(X, y).feature_map_,
                      SSMFeatureMap)
    assert isinstance(SSMFeatureRegressor(**SMALL).fit(X, y.astype(float)).feature_map_,
                      SSMFeatureMap)  # the regressors' default is None
    assert isinstance(SSMClassifier(resample=None, **TRAINED).fit(X, y).feature_map_,
                      SSMFeatureMap)
    equal, y_equal = _band_sequences(low=40, high=41)
    default = SSMFeatureClassifier(**SMALL).fit(equal, y_equal)
    whole = SSMFeatureClassifier(resample=None, **SMALL).fit(equal, y_equal)
    assert isinstance(default.feature_map_, SSMFeatureMap)
    np.testing.assert_array_equal(default.decision_function(equal),
                                  whole.decision_function(equal))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("settings", [{}, {"n_layers": 2}], ids=["one layer", "deep"])
def test_the_trained_network_trains_the_own_half_and_reads_the_resampled_half_fixed(
        settings):
    """The network's output is the estimator's decision function (the resampled half's
    features as fixed inputs of its head), and the network holds the parameters of the
    half on the own steps only: the optimizer, which reads the network's parameters,
    cannot move the resampled half, whose layer in ``params_`` is the start's. (Whether
    training is kept here does not matter to that; in this fit it is not.)"""
    X, y = _band_sequences(n=40, low=14, high=60)
    clf = SSMClassifier(**{**TRAINED, "d_model": 8}, early_stopping=False,
                        learning_rate_init=0.05, **settings).fit(X, y)
    feature_map = clf.feature_map_
    assert isinstance(feature_map, OwnAndResampledFeatureMap)
    assert clf.model_.features is feature_map.own.module_
    resampled = {id(p) for p in feature_map.resampled.module_.parameters()}
    assert not resampled & {id(p) for p in clf.model_.parameters()}
    assert clf.params_.n_channels == clf.params_init_.n_channels == 8
    np.testing.assert_array_equal(clf.params_.A[4:], clf.params_init_.A[4:])
    X3 = _padded(X, channels=True)
    views, lengths, fixed, _, _ = clf._examples(X3, y, None, np.arange(len(y)))
    assert fixed.shape[1] == feature_map.resampled.n_features
    with torch.no_grad():
        network = clf.model_(views, lengths, fixed).double().numpy().ravel()
    np.testing.assert_allclose(network, clf.decision_function(X), rtol=1e-4, atol=1e-5)


def test_the_regressor_can_read_the_resampled_sequences_too():
    X, y = _band_sequences()
    reg = SSMFeatureRegressor(resample="median", **SMALL).fit(X, y.astype(float))
    assert isinstance(reg.feature_map_, OwnAndResampledFeatureMap)
    assert reg.predict(X).shape == (len(X),)


def test_sample_weights_count_like_copies_in_the_resampled_length():
    X, y = _band_sequences(low=14, high=60)
    weights = np.tile([1, 2, 0], len(X) // 3)
    weighted = SSMFeatureClassifier(**SMALL).fit(X, y, sample_weight=weights)
    copies = [x for x, w in zip(X, weights, strict=True) for _ in range(w)]
    copied = SSMFeatureClassifier(**SMALL).fit(copies, np.repeat(y, weights))
    assert weighted.feature_map_.length == copied.feature_map_.length == median_length(
        [len(x) for x in copies])
    np.testing.assert_allclose(weighted.decision_function(X), copied.decision_function(X),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("resample", ["mean", "max", True, 3])
def test_an_unknown_resample_is_a_named_error(resample):
    X, y = _band_sequences()
    with pytest.raises(ValueError, match="resample"):
        SSMFeatureClassifier(resample=resample, **SMALL).fit(X, y)
