"""What a new user trips over: misread layouts, names from other libraries, silent
failures, and warnings that point into sktdi instead of at the user's line."""

import warnings

import numpy as np
import pytest

from sktdi import SpectralInitializer, SSMClassifier, SSMFeatureClassifier
from sktdi._warnings import SequenceLayoutWarning
from sktdi.datasets import make_spectral_task

BANK = {"d_model": 8, "n_states": 4, "random_state": 0}


@pytest.mark.parametrize("Estimator, keyword, guess", [
    (SSMClassifier, "n_epochs", "max_iter"),
    (SSMClassifier, "max_iters", "max_iter"),
    (SSMFeatureClassifier, "seed", "random_state"),
    (SpectralInitializer, "spectra", "spectrum"),
])
def test_an_unknown_keyword_names_the_estimator_and_the_likely_one(Estimator, keyword,
                                                                    guess):
    with pytest.raises(TypeError, match=rf"^{Estimator.__name__}\(\) got an unexpected "
                                        rf"keyword argument '{keyword}'; did you mean "
                                        rf"'{guess}'\?"):
        Estimator(**{keyword: 3})


def test_channels_last_arrays_are_named_at_fit_and_at_predict():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 100, 3)), np.arange(20) % 2
    with pytest.warns(SequenceLayoutWarning, match=r"X.transpose\(0, 2, 1\)") as caught:
        SSMFeatureClassifier(**BANK).fit(X, y)
    layout = [w for w in caught if issubclass(w.category, SequenceLayoutWarning)]
    assert len(layout) == 1 and layout[0].filename == __file__  # once, at the user's line
    fitted = SSMFeatureClassifier(**BANK).fit(X.transpose(0, 2, 1), y)
    with pytest.raises(ValueError, match=r"transpose\(0, 2, 1\)"):
        fitted.predict(X)


def test_estimator_warnings_point_at_the_users_line():
    X = np.random.RandomState(0).normal(size=(12, 3))  # too short for a task spectrum
    with pytest.warns(UserWarning, match="too short") as caught:
        SSMClassifier(**BANK).fit(X, np.arange(12) % 2)
    assert {w.filename for w in caught} == {__file__}


def test_tdi_kind_is_one_vocabulary_everywhere():
    X, y = make_spectral_task(40, 64, task="regression", random_state=0)
    for Estimator in (SSMFeatureClassifier, SSMClassifier):
        Xc, yc = make_spectral_task(40, 64, random_state=0)
        model = Estimator(init="tdi:cross", **BANK).fit(Xc, yc)
        assert model.init_selected_ == "tdi:cross"
        assert model.initializer_.spectrum_kind_ == "cross"
    with pytest.raises(ValueError, match="tdi:discriminative"):  # the options are listed
        SSMFeatureClassifier(init="tdi:power").fit(X, y > 0)


def test_nested_dataframes_are_read_as_lists_of_sequences():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    sequences = [rng.normal(size=(2, 30 + i)) for i in range(10)]
    frame = pd.DataFrame({f"dim_{c}": [pd.Series(s[c]) for s in sequences]
                          for c in range(2)})
    y = np.arange(10) % 2
    from_frame = SSMFeatureClassifier(**BANK).fit(frame, y)
    from_list = SSMFeatureClassifier(**BANK).fit(sequences, y)
    np.testing.assert_array_equal(from_frame.decision_function(frame),
                                  from_list.decision_function(sequences))
    bad = pd.DataFrame({"dim_0": [pd.Series(["a", "b"])] * 4})
    with pytest.raises(ValueError, match="nested DataFrame.*itertuples"):
        SSMFeatureClassifier(**BANK).fit(bad, [0, 1, 0, 1])


def test_missing_labels_are_named_as_labels():
    X = np.random.RandomState(0).normal(size=(6, 20))
    y = np.array(["a", "b", np.nan, "a", "b", "a"], dtype=object)
    with pytest.raises(ValueError, match="y contains NaN or None.*sequence 2"):
        SSMFeatureClassifier(**BANK).fit(X, y)


def test_a_wider_array_at_predict_says_what_is_accepted():
    X = np.random.RandomState(0).normal(size=(6, 20))
    fitted = SSMFeatureClassifier(**BANK).fit(X, np.arange(6) % 2)
    with pytest.raises(ValueError, match=r"as a list.*\(n_samples, 1, seq_len\)"):
        fitted.predict(np.zeros((2, 25)))


def test_verbose_trained_estimator_reports_validation_and_choice(capsys):
    X, y = make_spectral_task(80, 48, random_state=0)
    SSMClassifier(init="auto", verbose=True, max_iter=2, **BANK).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("leave-one-out score (minus the mean squared error)") in (4, 8)
    assert "kept" in out and "(init='auto')" in out
    assert "start: validation loss" in out and "validation loss" in out.split("Iteration 1")[1]


def test_the_readme_example_runs_without_warnings():
    """The README's example at its own settings, on 200 of its training sequences."""
    from sklearn.model_selection import GridSearchCV, train_test_split

    from sktdi.datasets import load_digits_sequences

    X, y = load_digits_sequences()
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=200, stratify=y,
                                                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = GridSearchCV(SSMFeatureClassifier(random_state=0),
                              {"init": ["S4D-LegS", "tdi"]}, cv=3).fit(X_train, y_train)
        trained = SSMClassifier(**search.best_params_, random_state=0)
        trained.fit(X_train, y_train)
    assert search.score(X_test, y_test) > 0.85
    assert trained.score(X_test, y_test) > 0.85
