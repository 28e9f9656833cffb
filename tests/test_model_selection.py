"""Tests for sktdi.model_selection: stratified nested orders and sample-efficiency curves."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktdi import SSMClassifier
from sktdi.model_selection import (
    _fit_and_score,
    _uses_torch,
    data_efficiency,
    sample_efficiency_curve,
    stratified_nested_order,
    summarize_curves,
)

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

def _blobs(counts=(20, 20, 20), n_features=3, seed=0):
    """Classes grouped in blocks (sorted y), well separated."""
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(size=(len(y), n_features)) + 3.0 * y[:, None]
    return X, y


def _prefix_counts(y, order):
    classes = np.unique(y)
    onehot = (y[order][:, None] == classes[None, :]).astype(float)
    counts = np.cumsum(onehot, axis=0)
    shares = np.array([np.mean(y == c) for c in classes])
    ideal = np.arange(1, len(y) + 1)[:, None] * shares[None, :]
    return counts, ideal


# ------------------------------------------------------------ stratified_nested_order
@pytest.mark.parametrize("counts", [(10, 10, 10), (30, 20, 10), (7, 5, 3, 2), (13, 11, 7, 5, 2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nested_order_prefixes_are_stratified(counts, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    order = stratified_nested_order(y, random_state=seed)
    assert np.array_equal(np.sort(order), np.arange(len(y)))
    n_classes = len(counts)
    assert set(y[order[:n_classes]]) == set(range(n_classes))
    prefix_counts, ideal = _prefix_counts(y, order)
    assert np.all(prefix_counts[n_classes - 1:] >= 1)
    assert np.all(np.abs(prefix_counts - ideal) < 1 + 1e-12)


def test_nested_order_never_over_represents_rare_classes():
    # With very rare classes, putting one of each first makes the big class lag at the
    # start (unavoidable); no class is ever above its share by a full sample.
    y = np.array(["big"] * 100 + ["a", "b", "c"])
    order = stratified_nested_order(y, random_state=0)
    assert set(y[order[:4]]) == {"big", "a", "b", "c"}
    prefix_counts, ideal = _prefix_counts(y, order)
    assert np.all(prefix_counts - ideal < 1)
    big = list(np.unique(y)).index("big")
    lag = (ideal - prefix_counts)[3:, big]
    assert np.all(np.diff(lag) <= 1e-12)  # the big class catches up from there on


def test_nested_order_is_seeded_and_random():
    y = np.repeat([0, 1], 20)
    a = stratified_nested_order(y, random_state=0)
    assert np.array_equal(a, stratified_nested_order(y, random_state=0))
    assert not np.array_equal(a, stratified_nested_order(y, random_state=1))


@pytest.mark.parametrize("counts", [(6, 3, 3), (34, 29, 33, 53, 36, 15), (5, 1, 4)])
def test_nested_order_min_per_class(counts):
    y = np.repeat(np.arange(len(counts)), counts)
    for seed in range(3):
        order = stratified_nested_order(y, random_state=seed, min_per_class=2)
        assert sorted(order.tolist()) == list(range(len(y)))
        rounds = int(np.minimum(counts, 2).sum())  # two of every class that has two
        head = np.bincount(y[order[:rounds]], minlength=len(counts))
        np.testing.assert_array_equal(head, np.minimum(counts, 2))
    # the first round is the min_per_class=1 order's
    np.testing.assert_array_equal(
        stratified_nested_order(y, random_state=0)[:len(counts)],
        stratified_nested_order(y, random_state=0, min_per_class=2)[:len(counts)])
    with pytest.raises(ValueError, match="min_per_class"):
        stratified_nested_order(y, min_per_class=0)


def test_nested_order_rejects_2d():
    with pytest.raises(ValueError, match="1-D"):
        stratified_nested_order(np.zeros((4, 2)))


# ------------------------------------------------------------ recording estimator
_LOG = []


class _Recorder(ClassifierMixin, BaseEstimator):
    """Logs the sample ids (column 0) it is fitted and scored on."""

    def __init__(self, tag="a"):
        self.tag = tag

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.train_ids_ = np.asarray(X)[:, 0].astype(int)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        _LOG.append((self.tag, tuple(self.train_ids_), tuple(np.asarray(X)[:, 0].astype(int))))
        return 0.5


def _id_data(counts=(12, 8, 4)):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.column_stack([np.arange(len(y)), np.zeros(len(y))])
    return X, y


def test_subsets_are_nested_stratified_and_shared():
    X, y = _id_data()
    _LOG.clear()
    sample_efficiency_curve(
        [("a", _Recorder("a")), ("b", _Recorder("b"))], X, y, [3, 6, 12], n_repeats=2,
        test_size=6, random_state=0, return_dataframe=False,
    )
    assert len(_LOG) == 2 * 3 * 2
    train = {"a": [], "b": []}
    tests = {"a": [], "b": []}
    for tag, train_ids, test_ids in _LOG:
        train[tag].append(train_ids)
        tests[tag].append(test_ids)
    # Same subsets and held-out sets for both estimators (sequential: same order).
    assert train["a"] == train["b"]
    assert tests["a"] == tests["b"]
    subsets = train["a"]  # size 3 r0, 3 r1, 6 r0, 6 r1, 12 r0, 12 r1
    for r in range(2):
        s3, s6, s12 = (subsets[2 * k + r] for k in range(3))
        assert s3 == s6[:3] and s6 == s12[:6]  # nested prefixes
        assert set(y[list(s3)]) == {0, 1, 2}
        held_out = set(tests["a"][r])
        assert not held_out & set(s12)
        assert set(tests["a"][r]) == set(tests["a"][r + 2])  # one held-out set per repeat
        assert sorted(np.bincount(y[sorted(held_out)]).tolist()) == [1, 2, 3]  # stratified
    assert subsets[4] != subsets[5]  # repeats differ


def test_no_nan_where_learning_curve_fails():
    X, y = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, _, lc_test = learning_curve(LogisticRegression(), X, y, train_sizes=[3, 6], cv=3)
            assert np.isnan(lc_test).any()
        except ValueError:  # every fit failed
            pass
    records = sample_efficiency_curve(
        {"lr": LogisticRegression()}, X, y, [3, 6], n_repeats=2, random_state=0,
        return_dataframe=False,
    )
    scores = np.array([r["score"] for r in records])
    assert np.isfinite(scores).all()
    assert scores.mean() > 0.6


def test_deterministic_across_n_jobs_with_ssm():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 16)
    X = rng.normal(size=(32, 16)) + np.sin(0.8 * np.arange(16)) * y[:, None]
    estimators = {
        "tdi": SSMClassifier("tdi", d_model=4, n_states=4, max_iter=3, random_state=0),
        "lr": LogisticRegression(),
    }
    pd = pytest.importorskip("pandas")
    kwargs = dict(n_repeats=2, random_state=0, return_dataframe=True)
    serial = sample_efficiency_curve(estimators, X, y, [12, 24], n_jobs=1, **kwargs)
    parallel = sample_efficiency_curve(estimators, X, y, [12, 24], n_jobs=2, **kwargs)
    cols = ["estimator", "train_size", "repeat", "score", "n_test"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
    align = ["alignment_init", "alignment_trained"]
    np.testing.assert_allclose(serial[align], parallel[align], rtol=1e-5)
    assert serial.loc[serial.estimator == "tdi", align].notna().all().all()
    assert serial.loc[serial.estimator == "lr", align].isna().all().all()
    assert (serial.fit_time > 0).all()


def test_record_fields_and_order():
    X, y = _blobs()
    records = sample_efficiency_curve(
        [("d", DummyClassifier()), ("lr", LogisticRegression())], X, y, [12, 3],
        n_repeats=2, random_state=0, return_dataframe=False,
    )
    assert [(r["estimator"], r["train_size"], r["repeat"]) for r in records] == [
        (name, size, rep) for name in ("d", "lr") for size in (3, 12) for rep in (0, 1)
    ]
    assert set(records[0]) == {
        "estimator", "size", "train_size", "repeat", "score", "fit_time", "score_time",
        "n_test", "alignment_init", "alignment_trained", "n_iter", "converged",
    }
    lr = next(r for r in records if r["estimator"] == "lr")
    assert lr["n_iter"] >= 1 and isinstance(lr["converged"], bool)
    assert all(r["size"] == r["train_size"] for r in records)  # asked as numbers
    assert all(r["n_test"] == 15 for r in records)
    assert all(isinstance(r["train_size"], int) for r in records)
    assert np.isnan(records[0]["alignment_init"])


def test_fractions_and_duplicates():
    pytest.importorskip("pandas")  # the default return is a DataFrame
    X, y = _blobs()  # 60 samples, pool of 45
    df = sample_efficiency_curve(
        {"lr": LogisticRegression()}, X, y, np.array([0.5, 0.1, 1.0, 0.1]), n_repeats=1,
        random_state=0,
    )
    assert df.train_size.tolist() == [4, 22, 45]
    df = sample_efficiency_curve(
        {"lr": LogisticRegression()}, X, y, [9, 3, 9], n_repeats=1, random_state=0,
    )
    assert df.train_size.tolist() == [3, 9]


def test_fixed_test_set():
    pytest.importorskip("pandas")  # the default return is a DataFrame
    X, y = _blobs()
    X_test, y_test = _blobs((5, 5, 5), seed=1)
    df = sample_efficiency_curve(
        {"lr": LogisticRegression()}, X, y, [3, 60], X_test=X_test, y_test=y_test,
        n_repeats=2, random_state=0,
    )
    assert (df.n_test == 15).all()
    assert df.train_size.tolist() == [3, 3, 60, 60]
    full = df[df.train_size == 60].score
    assert full.nunique() == 1  # the whole of X every repeat: same fit, same test set


def test_regression_is_not_stratified():
    pytest.importorskip("pandas")  # the default return is a DataFrame
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)
    df = sample_efficiency_curve(
        {"ridge": Ridge(alpha=1e-3)}, X, y, [1, 5, 30], n_repeats=2, random_state=0,
        scoring="neg_mean_squared_error",
    )
    assert df.train_size.tolist() == [1, 1, 5, 5, 30, 30]
    assert (df.n_test == 10).all()
    assert df.score.iloc[-1] > -0.1


def test_scoring_string():
    X, y = _blobs()
    records = sample_efficiency_curve(
        {"lr": LogisticRegression()}, X, y, [6], n_repeats=1, scoring="balanced_accuracy",
        random_state=0, return_dataframe=False,
    )
    assert 0.0 <= records[0]["score"] <= 1.0


def test_on_result_skip_and_verbose(capsys):
    X, y = _blobs()
    estimators = {"d": DummyClassifier(), "lr": LogisticRegression()}
    seen = []
    full = sample_efficiency_curve(
        estimators, X, y, [3, 9], n_repeats=2, random_state=0, on_result=seen.append,
        verbose=1, return_dataframe=False,
    )
    assert len(seen) == len(full) == 8
    key = lambda r: (r["estimator"], r["train_size"], r["repeat"])  # noqa: E731
    assert sorted(map(key, seen)) == sorted(map(key, full))
    out = capsys.readouterr().out
    assert out.count("\n") == 8 and "lr train_size=9 repeat=1" in out

    skip = {("lr", 9, 1), ("d", 3, 0), ("lr", np.int64(3), 0.0)}
    seen.clear()
    rest = sample_efficiency_curve(
        estimators, X, y, [3, 9], n_repeats=2, random_state=0, skip=skip,
        on_result=seen.append, return_dataframe=False,
    )
    assert len(seen) == len(rest) == 5
    expected = [r for r in full if key(r) not in {("lr", 9, 1), ("d", 3, 0), ("lr", 3, 0)}]
    assert [(key(r), r["score"]) for r in rest] == [(key(r), r["score"]) for r in expected]


def test_summaries():
    pytest.importorskip("pandas")  # the default return is a DataFrame
    X, y = _blobs()
    df = sample_efficiency_curve(
        {"lr": LogisticRegression(), "d": DummyClassifier()}, X, y, [3, 30], n_repeats=2,
        random_state=0,
    )
    summary = summarize_curves(df)
    assert summary.columns.tolist() == [
        "estimator", "train_size", "mean", "std", "min", "max", "count", "n_failed",
    ]
    assert summary.estimator.tolist() == ["lr", "lr", "d", "d"]
    assert (summary["count"] == 2).all() and (summary["n_failed"] == 0).all()
    rows = summarize_curves(df.to_dict("records"), return_dataframe=False)
    assert rows[1]["mean"] == pytest.approx(df.score.iloc[2:4].mean())
    assert rows[1]["std"] == pytest.approx(df.score.iloc[2:4].std(ddof=1))  # as pandas
    failed = [*df.to_dict("records"), {"estimator": "lr", "train_size": 3, "score": np.nan}]
    with_nan = summarize_curves(failed, return_dataframe=False)[0]
    assert with_nan["count"] == 2 and with_nan["n_failed"] == 1
    assert with_nan["mean"] == pytest.approx(rows[0]["mean"])
    assert rows[1]["min"] <= rows[1]["mean"] <= rows[1]["max"]
    eff = data_efficiency(df, 0.9)
    assert list(eff) == ["lr", "d"]
    assert eff["lr"] in (3, 30) and eff["d"] is None


def test_uses_torch_and_threads_restored():
    torch = pytest.importorskip("torch")
    ssm = SSMClassifier(d_model=4, n_states=4, max_iter=1, random_state=0)
    assert _uses_torch(ssm)
    assert _uses_torch(make_pipeline(StandardScaler(), ssm))
    assert not _uses_torch(LogisticRegression())
    before = torch.get_num_threads()
    X, y = _blobs((4, 4), n_features=8)
    key, result = _fit_and_score(
        "k", ssm, None, X, y, np.arange(8), X, y, np.arange(8), torch_threads=1,
    )
    assert key == "k" and np.isfinite(result["score"])
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "sizes, match",
    [
        ([50], "larger than the training pool"),
        ([2, 10], "below the number of classes"),
        ([0, 10], "positive"),
        ([-3], "positive"),
        ([], "empty"),
        ([1.5], r"\(0, 1\]"),
    ],
)
def test_train_size_errors(sizes, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        sample_efficiency_curve({"lr": LogisticRegression()}, X, y, sizes)


def test_small_fractions_and_min_per_class():
    X, y = _blobs()  # 3 classes of 20 (45 in the pool with 25% held out)
    records = sample_efficiency_curve({"lr": LogisticRegression()}, X, y, [0.01, 0.5],
                                      n_repeats=1, random_state=0, min_per_class=2,
                                      return_dataframe=False)
    # 0.01 of the pool rounds down to 0 and is raised to 2 of every class
    assert [r["train_size"] for r in records] == [6, 22]
    assert [r["size"] for r in records] == [0.01, 0.5]  # as requested
    Xr, yr = X, X[:, 0]  # a continuous target: no classes to raise the size to
    with pytest.raises(ValueError, match="rounds down to 0"):
        sample_efficiency_curve({"lr": LinearRegression()}, Xr, yr, [0.01])
    with pytest.raises(ValueError, match="min_per_class"):
        sample_efficiency_curve({"lr": LogisticRegression()}, X, y, [10], min_per_class=0)


def test_other_errors():
    X, y = _blobs()
    lr = LogisticRegression()
    with pytest.raises(TypeError, match="ints"):
        sample_efficiency_curve({"lr": lr}, X, y, ["10"])
    with pytest.raises(ValueError, match="empty"):
        sample_efficiency_curve({}, X, y, [10])
    with pytest.raises(ValueError, match="unique"):
        sample_efficiency_curve([("a", lr), ("a", lr)], X, y, [10])
    with pytest.raises(TypeError, match="fit"):
        sample_efficiency_curve({"a": object()}, X, y, [10])
    with pytest.raises(ValueError, match="X_test and y_test"):
        sample_efficiency_curve({"lr": lr}, X, y, [10], X_test=X)
    with pytest.raises(ValueError, match="n_repeats"):
        sample_efficiency_curve({"lr": lr}, X, y, [10], n_repeats=0)
    with pytest.raises(ValueError, match="return_dataframe"):
        sample_efficiency_curve({"lr": lr}, X, y, [10], return_dataframe="yes")
    with pytest.raises(ValueError, match="skip"):
        sample_efficiency_curve({"lr": lr}, X, y, [10], skip=[("lr", 10)])
    with pytest.raises(TypeError, match="on_result"):
        sample_efficiency_curve({"lr": lr}, X, y, [10], on_result=1)


def test_baselines_pad_unequal_lengths_to_the_longest_training_sequence():
    from sktdi.models import _EqualLength, make_models

    padder = _EqualLength().fit([np.ones(3), np.ones(5)])
    np.testing.assert_array_equal(padder.transform([np.arange(1.0, 3.0), np.arange(7.0)]),
                                  [[[1, 2, 0, 0, 0]], [[0, 1, 2, 3, 4]]])
    X = [np.sin(np.arange(n) * (1 + n % 2)) for n in range(20, 44)]
    y = np.arange(24) % 2
    ridge = make_models("ridge", "classification")["ridge"].fit(X, y)
    assert ridge.predict(X + [np.ones(60)]).shape == (25,)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_aeons_strongest_peers_are_named_baselines(task):
    """mrhydra, multirocket, hydra and quant: aeon's classifiers or regressors, behind
    the padding that lets them read sequences of unequal lengths."""
    pytest.importorskip("aeon")
    from sktdi.models import _EqualLength, is_baseline, make_models

    models = make_models("mrhydra,hydra,quant,multirocket", task, {"random_state": 0})
    suffix = "Classifier" if task == "classification" else "Regressor"
    expected = {"mrhydra": "MultiRocketHydra", "hydra": "Hydra", "quant": "QUANT",
                "multirocket": "MultiRocket"}
    for label, model in models.items():
        assert isinstance(model.steps[0][1], _EqualLength) and is_baseline(model)
        assert type(model.steps[-1][1]).__name__ == expected[label] + suffix
        assert model.steps[-1][1].random_state == 0
    X = [np.sin(np.arange(n) * (1 + n % 2)) for n in range(20, 44)]
    y = np.arange(24) % 2 if task == "classification" else np.arange(24) / 24
    quant = models["quant"].fit(X, y)
    assert quant.predict(X + [np.ones(60)]).shape == (25,)
