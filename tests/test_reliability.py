"""Reliability: bad input everywhere, numerical guards, determinism and persistence.

The distributed (Dask) and kill-and-resume tests are in ``test_distributed.py``.
"""

import os
import pickle
import re
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joblib import parallel_config
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import learning_curve

from sktdi import (
    SpectralInitializer,
    SSMClassifier,
    SSMFeatureRegressor,
    SSMParams,
    SSMRegressor,
)
from sktdi.cli import main
from sktdi.core import INIT_NAMES, make_params
from sktdi.datasets import load_sequences, load_ucr
from sktdi.model_selection import sample_efficiency_curve
from sktdi.spectral import spectral_matching_loss, task_power_spectrum

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TINY = {"d_model": 2, "n_states": 2, "max_iter": 2, "random_state": 0}
RNG = np.random.RandomState(0)
X = RNG.normal(size=(12, 16))
Y = np.repeat([0, 1], 6)


def _with(X, index, value):
    X = np.array(X, dtype=float)
    X[index] = value
    return X


def clf(**params):
    return SSMClassifier(**{**TINY, **params})


def reg(**params):
    return SSMRegressor(**{**TINY, **params})


def fitted_clf():
    return clf().fit(X, Y)


def fitted_3d():
    return clf().fit(X[:, None, :], Y)


def fitted_initializer():
    return SpectralInitializer(n_states=2, d_model=2, random_state=0).fit(X, Y)


def good_params(**changes):
    fields = {"A": np.array([[-0.5 + 1j]]), "B": np.ones((1, 1), complex),
              "C": np.ones((1, 1), complex), "dt": np.array([0.1]), "D": np.zeros(1)}
    return dict(fields, **changes)


# (case id, call, exception, fragment of the message). Every case must raise the named
# exception with a message that names the problem.
BAD_INPUT = [
    # -------------------------------------------------------------- fit
    ("fit-nan", lambda: clf().fit(_with(X, (0, 3), np.nan), Y), ValueError, "NaN"),
    ("fit-inf", lambda: clf().fit(_with(X, (1, 2), np.inf), Y), ValueError, "infinity"),
    ("fit-empty", lambda: clf().fit(np.empty((0, 16)), []), ValueError, "0 sample"),
    ("fit-zero-length-2d", lambda: clf().fit(np.empty((12, 0)), Y), ValueError, "0 feature"),
    ("fit-zero-length-3d", lambda: clf().fit(np.empty((12, 1, 0)), Y), ValueError,
     "zero-length"),
    ("fit-1d", lambda: clf().fit(X[0], Y), ValueError, "Expected 2D array"),
    ("fit-4d", lambda: clf().fit(X.reshape(12, 1, 1, 16), Y), ValueError, "4-D"),
    ("fit-mixed-channels", lambda: clf().fit([np.ones((1, 8)), np.ones((2, 9))] * 6, Y),
     ValueError, "mixes channel counts"),
    ("fit-empty-sequence", lambda: clf().fit([[1.0, 2.0, 3.0], []] * 6, Y), ValueError,
     "Sequence 1 of X is empty"),
    ("fit-all-nan-sequence", lambda: clf().fit(_with(X, (0, slice(None)), np.nan), Y),
     ValueError, "Sequence 0 of X is empty"),
    ("fit-strings", lambda: clf().fit(np.full((12, 16), "a"), Y), ValueError,
     "could not convert string"),
    ("fit-object-none", lambda: clf().fit(np.array([[1.0, None] * 8] * 12, dtype=object), Y),
     ValueError, "NaN"),
    ("fit-complex", lambda: clf().fit(X + 1j, Y), ValueError, "Complex data not supported"),
    ("fit-y-length", lambda: clf().fit(X, Y[:5]), ValueError, "inconsistent numbers"),
    ("fit-one-class", lambda: clf().fit(X, np.zeros(12)), ValueError, "at least 2 classes"),
    ("fit-nan-target", lambda: reg().fit(X, _with(Y, 0, np.nan)), ValueError, "NaN"),
    ("fit-inf-target", lambda: reg().fit(X, _with(Y, 0, np.inf)), ValueError, "infinity"),
    ("fit-negative-weights", lambda: clf().fit(X, Y, sample_weight=-np.ones(12)), ValueError,
     "Negative values"),
    ("fit-zero-weight-sum", lambda: clf().fit(X, Y, sample_weight=np.zeros(12)), ValueError,
     "at least one non-zero"),
    ("fit-weight-length", lambda: clf().fit(X, Y, sample_weight=np.ones(3)), ValueError,
     "sample_weight.shape"),
    ("fit-overflow", lambda: clf().fit(X * 1e300, Y), ValueError, "too large"),
    # the training-free ones read the same check (they failed deep in numpy, or fitted noise)
    ("fit-overflow-training-free", lambda: SSMFeatureRegressor(d_model=4).fit(X * 1e155, Y),
     ValueError, "too large"),
    ("fit-target-overflow", lambda: reg().fit(X, Y * 1e160), ValueError, "y has values too large"),
    ("fit-target-overflow-training-free",
     lambda: SSMFeatureRegressor(d_model=4).fit(X, Y * 1e160), ValueError,
     "y has values too large"),
    ("fit-unknown-init", lambda: clf(init="S5").fit(X, Y), ValueError, "'init' parameter"),
    ("fit-unknown-device", lambda: clf(device="tpu").fit(X, Y), ValueError,
     "Unknown device 'tpu'"),
    ("fit-odd-n-states", lambda: clf(n_states=3).fit(X, Y), ValueError, "must be even"),
    ("fit-negative-learning-rate", lambda: clf(learning_rate_init=-1.0).fit(X, Y), ValueError,
     "'learning_rate_init' parameter"),
    ("fit-dropout-above-one", lambda: clf(dropout=1.5).fit(X, Y), ValueError,
     "'dropout' parameter"),
    ("fit-zero-max-iter", lambda: reg(max_iter=0).fit(X, Y), ValueError,
     "'max_iter' parameter"),
    ("fit-unknown-dtype", lambda: reg(dtype="float16").fit(X, Y), ValueError,
     "'dtype' parameter"),
    # -------------------------------------------------------------- partial_fit
    ("partial-fit-nan", lambda: clf().partial_fit(_with(X, (0, 0), np.nan), Y, classes=[0, 1]),
     ValueError, "NaN"),
    ("partial-fit-new-class", lambda: clf().partial_fit(X, Y, classes=[0, 1]).partial_fit(
        X, Y + 5), ValueError, "not seen in the first fit"),
    ("partial-fit-other-length", lambda: fitted_clf().partial_fit(X[:, :8], Y), ValueError,
     "sequences of length 8"),
    # -------------------------------------------------------------- predict
    ("predict-unfitted", lambda: clf().predict(X), NotFittedError, "not fitted yet"),
    ("predict-other-length", lambda: fitted_clf().predict(X[:, :10]), ValueError,
     "sequences of length 10"),
    ("predict-other-channels", lambda: fitted_3d().predict(np.stack([X, X], axis=1)),
     ValueError, "channels: 2 here, 1 at fit"),
    ("predict-2d-after-two-channels",
     lambda: clf().fit(np.stack([X, X], axis=1), Y).predict(X), ValueError,
     "fitted on 2 channels"),
    ("predict-nan", lambda: fitted_clf().predict(_with(X, (2, 2), np.nan)), ValueError, "NaN"),
    # -------------------------------------------------------------- transform / initializer
    ("transform-other-length", lambda: fitted_initializer().transform(X[:, :8]), ValueError,
     "sequences of length 8"),
    ("initializer-too-long-keep-base", lambda: SpectralInitializer(keep_base=1.0).fit(X, Y),
     ValueError, "'keep_base' parameter"),
    ("initializer-unknown-spectrum", lambda: SpectralInitializer(spectrum="bogus").fit(X, Y),
     ValueError, "'spectrum' parameter"),
    ("initializer-cross-without-y", lambda: SpectralInitializer(spectrum="cross").fit(X),
     ValueError, "needs y"),
    ("initializer-nan-label", lambda: SpectralInitializer().fit(X, _with(Y, 3, np.nan)),
     ValueError, "the label or target of sequence 3 is missing"),
    ("initializer-scalar-y", lambda: SpectralInitializer().fit(X, 1), ValueError,
     "y must be 1-D"),
    ("initializer-no-target-column", lambda: SpectralInitializer().fit(X, np.empty((12, 0))),
     ValueError, "got shape (12, 0)"),
    # -------------------------------------------------------------- spectral functions
    ("spectrum-nan", lambda: task_power_spectrum(_with(X, (0, 0), np.nan), Y), ValueError,
     "NaN"),
    ("spectrum-length-1", lambda: task_power_spectrum(X[:, :1], Y), ValueError,
     "too short"),
    ("spectrum-unknown-kind", lambda: task_power_spectrum(X, Y, kind="x"), ValueError,
     "Unknown spectrum kind 'x'"),
    ("spectrum-discriminative-without-y", lambda: task_power_spectrum(X, kind="discriminative"),
     ValueError, "needs y"),
    ("matching-loss-shapes", lambda: spectral_matching_loss(np.ones(5), np.ones(6)),
     ValueError, "different grids"),
    # -------------------------------------------------------------- SSMParams and inits
    ("params-unstable", lambda: SSMParams(**good_params(A=np.array([[0.1 + 1j]]))), ValueError,
     "Re A < 0"),
    ("params-zero-dt", lambda: SSMParams(**good_params(dt=np.array([0.0]))), ValueError,
     "dt must be positive"),
    ("params-shapes", lambda: SSMParams(**good_params(B=np.ones((1, 2), complex))), ValueError,
     "shape"),
    ("make-params-unknown", lambda: make_params("S5", 2, 2), ValueError, "S5"),
    # -------------------------------------------------------------- data files and datasets
    ("load-missing-file", lambda: load_sequences("/nonexistent/data.npz"), FileNotFoundError,
     "data.npz"),
    ("load-ucr-unknown", lambda: load_ucr("NoSuchDataset"), ValueError, "NoSuchDataset"),
]


@pytest.mark.parametrize("call, exception, message",
                         [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_bad_input_raises_a_named_error(call, exception, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(exception, match=re.escape(message)):
            call()


def test_bad_input_table_is_large_and_unique():
    ids = [case[0] for case in BAD_INPUT]
    assert len(ids) == len(set(ids)) and len(ids) + len(CLI_BAD_INPUT) >= 30


def test_corrupt_data_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ValueError, match="broken.npz"):
        load_sequences(path)


# ------------------------------------------------------------------ the command line
CLI_TINY = ["--train-sizes", "8,16", "--repeats", "1", "--max-iter", "2", "--d-model", "2",
            "--n-states", "2", "--n-jobs", "1", "--inits", "S4D-Lin", "--quiet"]
CLI_BAD_INPUT = [
    ("unknown-init", ["--inits", "S5"], "unknown initialization 'S5'"),
    ("missing-dataset", ["--dataset", "nowhere.npz"], "neither 'synthetic'"),
    ("unknown-ucr", ["--dataset", "ucr:NoSuchDataset"], "NoSuchDataset"),
    ("bad-sizes", ["--train-sizes", "a,b"], "--train-sizes"),
    ("zero-repeats", ["--repeats", "0"], "--repeats"),
    ("bad-test-size", ["--test-size", "1.5"], "--test-size"),
    ("zero-max-iter", ["--max-iter", "0"], "'max_iter' parameter"),
    ("negative-learning-rate", ["--learning-rate", "-1"], "'learning_rate_init' parameter"),
    ("unknown-device", ["--device", "tpu"], "Unknown device 'tpu'"),
]


@pytest.mark.parametrize("args, message", [case[1:] for case in CLI_BAD_INPUT],
                         ids=[case[0] for case in CLI_BAD_INPUT])
def test_cli_bad_input_exits_with_one_line_and_writes_nothing(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["curves", *CLI_TINY, "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_cli_corrupt_data_file_and_unwritable_out(tmp_path, capsys):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"garbage")
    assert main(["curves", *CLI_TINY, "--dataset", str(broken), "--out",
                 str(tmp_path / "a")]) == 2
    assert "broken.npz" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the output folder should go
    assert main(["curves", *CLI_TINY, "--out", str(blocker / "sub")]) == 2
    assert "cannot write to --out" in capsys.readouterr().err


def test_cli_resume_from_corrupt_csv_keeps_the_file(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "curves.csv").write_text("this,is\nnot,ours\n")
    assert main(["curves", *CLI_TINY, "--out", str(out), "--resume"]) == 2
    assert "cannot resume from" in capsys.readouterr().err
    assert (out / "curves.csv").read_text() == "this,is\nnot,ours\n"


# ------------------------------------------------------------------ numerical guards
def test_non_finite_training_restores_last_good_parameters_and_raises():
    model = clf(max_iter=20, learning_rate_init=1e10, ssm_learning_rate=1e10,
                early_stopping=False)
    with pytest.raises(FloatingPointError, match="were restored"):
        model.fit(X, Y)
    assert np.isfinite(model.predict_proba(X)).all()
    assert np.all(model.params_.A.real < 0) and np.all(model.params_.dt > 0)
    assert all(np.isfinite(loss) for loss in model.loss_curve_)
    # the estimator stays usable: training goes on at a sane rate
    model.set_params(learning_rate_init=1e-3, ssm_learning_rate=1e-3)
    model.partial_fit(X, Y)
    assert np.isfinite(model.loss_)


def test_regressor_whose_first_fit_overflows_still_predicts():
    model = reg(max_iter=20, learning_rate_init=1e10, ssm_learning_rate=1e10,
                early_stopping=False)
    with pytest.raises(FloatingPointError, match="were restored"):
        model.fit(X, np.random.RandomState(2).normal(size=12))
    assert np.isfinite(model.predict(X)).all()  # the clipping range is set all the same


def test_non_finite_loss_mid_training_keeps_earlier_epochs():
    rng = np.random.RandomState(1)
    model = reg(max_iter=3, learning_rate_init=1e-3, early_stopping=False).fit(
        X, rng.normal(size=12))
    before = model.predict(X)
    n_iter = model.n_iter_
    model.set_params(warm_start=True, learning_rate_init=1e12, ssm_learning_rate=1e12)
    with pytest.raises(FloatingPointError, match=f"end of iteration {n_iter} were restored"):
        model.fit(X, rng.normal(size=12))
    np.testing.assert_allclose(model.predict(X), before)  # exactly the restored parameters
    assert model.n_iter_ == n_iter


def test_unit_and_zero_sample_weights():
    plain = clf(max_iter=5, batch_size=12).fit(X, Y).predict_proba(X)
    unit = clf(max_iter=5, batch_size=12).fit(X, Y, sample_weight=np.ones(12))
    # unit weights take the weighted path of every mean: the same fit, to rounding
    np.testing.assert_allclose(unit.predict_proba(X), plain, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(unit.predict(X), clf(max_iter=5, batch_size=12).fit(
        X, Y).predict(X))
    # full-batch training: zero weights act like dropping the rows (in TDI, the ridge
    # head's probe and every epoch); float64, so that the row order leaves no rounding
    keep = np.r_[0:4, 6:10]
    weights = np.isin(np.arange(12), keep).astype(float)
    for init in ("S4D-Lin", "tdi"):
        options = {"max_iter": 5, "batch_size": 12, "dtype": "float64", "init": init}
        weighted = clf(**options).fit(X, Y, sample_weight=weights)
        dropped = clf(**options).fit(X[keep], Y[keep])
        np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X),
                                   atol=1e-9)


@st.composite
def configurations(draw):
    seq_len = draw(st.one_of(st.integers(2, 64), st.integers(65, 4096)))
    return {
        "estimator": draw(st.sampled_from([SSMClassifier, SSMRegressor])),
        "seq_len": seq_len,
        "n_samples": draw(st.integers(4, 12)),
        "n_channels": draw(st.integers(1, 2)),
        "params": {
            "init": draw(st.sampled_from([*INIT_NAMES, "tdi"])),
            "d_model": draw(st.integers(1, 4)),
            "n_states": draw(st.sampled_from([2, 4, 8])),
            "n_layers": draw(st.integers(1, 2)),
            "statistics": draw(st.sampled_from([("mean",), ("last", "max"),
                                                ("ppv", "lspv", "min")])),
            "early_stopping": draw(st.booleans()),
            "discretization": draw(st.sampled_from(["zoh", "bilinear"])),
            "learning_rate_init": draw(st.floats(1e-5, 10.0)),
            "ssm_learning_rate": draw(st.floats(1e-5, 10.0)),
            "dtype": draw(st.sampled_from(["float32", "float64"])),
            "max_iter": draw(st.integers(1, 3)),
            "random_state": draw(st.integers(0, 2**16)),
        },
        "scale": draw(st.sampled_from([1e-3, 1.0, 1e3])),
    }


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_predictions_are_never_nan(config):
    rng = np.random.RandomState(config["params"]["random_state"])
    n, C, L = config["n_samples"], config["n_channels"], config["seq_len"]
    X_ = config["scale"] * rng.normal(size=(n, C, L))
    y = np.arange(n) % 2 if config["estimator"] is SSMClassifier else rng.normal(size=n)
    model = config["estimator"](**config["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, and TDI's fallback on short sequences
        try:
            model.fit(X_, y)
        except FloatingPointError:
            pass  # documented: the last good parameters are restored
    assert np.isfinite(model.predict(X_)).all()
    for layer in model.model_.ssm_layers():
        assert layer.is_valid()  # Re A < 0 and dt > 0 in floating point


# ------------------------------------------------------------------ determinism, persistence
_FIT_IN_A_SUBPROCESS = """
import sys, numpy as np
from sktdi import SSMClassifier
rng = np.random.RandomState(0)
X, y = rng.normal(size=(24, 32)), np.repeat([0, 1], 12)
proba = SSMClassifier(init="tdi", d_model=4, n_states=4, max_iter=3, random_state=7).fit(
    X, y).predict_proba(X)
np.save(sys.argv[1], proba)
"""


@pytest.fixture
def one_torch_thread():
    """Bitwise determinism holds for a fixed torch thread count: torch's CPU reductions in
    the backward pass sum in a thread-dependent order (documented in the estimators)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_same_random_state_is_identical_across_processes(tmp_path, one_torch_thread):
    paths = [tmp_path / f"proba{i}.npy" for i in range(2)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for path in paths:
        subprocess.run([sys.executable, "-c", _FIT_IN_A_SUBPROCESS, str(path)], check=True,
                       env=env)
    rng = np.random.RandomState(0)
    X_, y = rng.normal(size=(24, 32)), np.repeat([0, 1], 12)
    here = SSMClassifier(init="tdi", d_model=4, n_states=4, max_iter=3, random_state=7).fit(
        X_, y).predict_proba(X_)
    np.testing.assert_array_equal(np.load(paths[0]), np.load(paths[1]))
    np.testing.assert_array_equal(np.load(paths[0]), here)


def _torch_threads_scorer(estimator, X, y):
    return torch.get_num_threads()


def test_n_jobs_does_not_change_scores_or_oversubscribe(one_torch_thread):
    rng = np.random.RandomState(0)
    X_, y = rng.normal(size=(40, 24)), np.repeat([0, 1], 20)
    model = reg(max_iter=3)  # R^2 scores: any difference in the fit would show
    with parallel_config("loky", inner_max_num_threads=1):  # 1 torch thread per worker
        curves = [learning_curve(model, X_, y, train_sizes=[0.5, 1.0], cv=2, n_jobs=n_jobs)[2]
                  for n_jobs in (1, 2)]
        threads = learning_curve(model, X_, y, train_sizes=[1.0], cv=2, n_jobs=2,
                                 scoring=_torch_threads_scorer)[2]
    np.testing.assert_array_equal(*curves)
    assert np.all(threads == 1)
    records = [
        sample_efficiency_curve({"S4D-Lin": model, "tdi": reg(init="tdi", max_iter=3)}, X_, y,
                                [8, 16], n_repeats=2, n_jobs=n_jobs, random_state=0,
                                torch_threads=1, return_dataframe=False)
        for n_jobs in (1, 2)
    ]
    key = lambda r: (r["estimator"], r["train_size"], r["repeat"])  # noqa: E731
    scores = [[r["score"] for r in sorted(run, key=key)] for run in records]
    assert scores[0] == scores[1]


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads),
                                        (None, None)], ids=["pickle", "joblib"])
def test_persistence_round_trip(dump, load, tmp_path):
    model = clf(init="tdi", max_iter=3).fit(X, Y)
    if dump is None:
        joblib.dump(model, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    else:
        restored = load(dump(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    restored.partial_fit(X, Y)  # and training goes on
