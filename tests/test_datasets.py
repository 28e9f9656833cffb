"""Tests for sktdi.datasets: synthetic spectral tasks, UCR loading and file loaders."""

import builtins
import sys

import numpy as np
import pytest
from scipy.signal import periodogram

from sktdi.datasets import (
    load_digits_sequences,
    load_sequences,
    load_ucr,
    make_spectral_task,
    pad_sequences,
)

BAND = (0.30, 0.35)


def _band_mask(freqs, band, pad=0.0):
    return (freqs >= band[0] - pad) & (freqs <= band[1] + pad)


# ---------------------------------------------------------------- make_spectral_task


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("n_channels", [1, 3])
def test_shapes_and_dtypes(task, n_channels):
    X, y = make_spectral_task(30, 40, task=task, n_channels=n_channels, random_state=0)
    expected = (30, 40) if n_channels == 1 else (30, n_channels, 40)
    assert X.shape == expected
    assert X.dtype == np.float64
    assert X.flags.c_contiguous
    assert y.shape == (30,)
    assert np.all(np.isfinite(X))
    if task == "classification":
        assert y.dtype == np.int64
    else:
        assert y.dtype == np.float64
        assert y.std() == pytest.approx(1.0)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_determinism(task):
    a = make_spectral_task(20, 32, task=task, random_state=3)
    b = make_spectral_task(20, 32, task=task, random_state=3)
    c = make_spectral_task(20, 32, task=task, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    # A RandomState instance is accepted and global numpy state is left alone.
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it is untouched)
    d = make_spectral_task(20, 32, task=task, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(a[0], d[0])
    np.testing.assert_array_equal(state, np.random.get_state()[1])  # noqa: NPY002


def test_class_balance_and_shuffle():
    _, y = make_spectral_task(10, 16, n_classes=3, shuffle=False, random_state=0)
    assert y.tolist() == [0] * 4 + [1] * 3 + [2] * 3
    _, y = make_spectral_task(300, 16, n_classes=4, random_state=0)
    assert np.bincount(y).tolist() == [75] * 4
    assert not np.all(np.diff(y) >= 0)  # shuffled


@pytest.mark.parametrize("background", ["white", "ar", "pink"])
def test_class_signal_sits_in_its_band(background):
    bands = ((0.05, 0.10), (0.30, 0.35))
    X, y = make_spectral_task(
        450, 256, n_classes=3, bands=bands, background=background, random_state=0
    )
    f, P = periodogram(X, axis=-1)
    base = P[y == 0].mean(0)
    for k, band in ((1, bands[0]), (2, bands[1])):
        diff = P[y == k].mean(0) - base
        assert band[0] <= f[np.argmax(diff)] <= band[1]
        # nearly all the extra power is in the band
        assert diff[_band_mask(f, band, pad=2 / 256)].sum() > 0.9 * diff.sum()


def test_repeated_band_amplitude_grows_with_class():
    X, y = make_spectral_task(300, 128, n_classes=3, bands=(BAND,), snr=1.0, random_state=1)
    f, P = periodogram(X, axis=-1)
    inband = _band_mask(f, BAND)
    power = [P[y == k][:, inband].sum(1).mean() for k in range(3)]
    assert power[0] < power[1] < power[2]
    # class 2 has twice the amplitude of class 1: four times the excess power
    assert (power[2] - power[0]) / (power[1] - power[0]) == pytest.approx(4.0, rel=0.25)


def test_snr_sets_component_std():
    X0, y0 = make_spectral_task(200, 256, background="white", snr=0.0, random_state=0)
    X2, y2 = make_spectral_task(200, 256, background="white", snr=2.0, random_state=0)
    assert X0.var() == pytest.approx(1.0, abs=0.05)
    assert X2[y2 == 1].var() == pytest.approx(1.0 + 4.0, rel=0.05)


def test_random_phase_has_zero_class_mean_fixed_does_not():
    def rms_class_means(phase):
        X, y = make_spectral_task(400, 128, phase=phase, background="white", random_state=0)
        return [np.sqrt(np.mean(X[y == k].mean(0) ** 2)) for k in (0, 1)]

    rand0, rand1 = rms_class_means("random")
    fixed0, fixed1 = rms_class_means("fixed")
    assert rand0 < 0.15 and rand1 < 0.15  # ~ sqrt(var / 200) noise only
    assert fixed0 < 0.15
    assert fixed1 > 0.8  # the fixed unit-RMS template survives averaging


def test_fixed_phase_depends_on_random_state():
    Xa, ya = make_spectral_task(50, 64, phase="fixed", snr=5.0, shuffle=False, random_state=0)
    Xb, yb = make_spectral_task(50, 64, phase="fixed", snr=5.0, shuffle=False, random_state=1)
    assert not np.allclose(Xa[ya == 1].mean(0), Xb[yb == 1].mean(0), atol=0.5)


def test_regression_cross_spectrum_peaks_in_band():
    bands = ((0.08, 0.12), (0.30, 0.35))
    X, y = make_spectral_task(400, 256, task="regression", bands=bands, random_state=0)
    Xf = np.fft.rfft(X, axis=-1)
    cross = np.abs(np.mean(y[:, None] * np.conj(Xf), axis=0)) ** 2
    f = np.fft.rfftfreq(256)
    inband = _band_mask(f, bands[0], 2 / 256) | _band_mask(f, bands[1], 2 / 256)
    assert inband[np.argmax(cross)]
    assert cross[inband].sum() > 0.9 * cross.sum()
    # y is exactly linear in X (no intercept): least squares recovers it
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(X @ w, y, atol=1e-6)


def test_regression_input_has_power_in_band():
    X, _ = make_spectral_task(200, 256, task="regression", background="white", random_state=0)
    f, P = periodogram(X, axis=-1)
    Pm = P.mean(0)
    assert Pm[_band_mask(f, BAND)].mean() > 5 * Pm[~_band_mask(f, BAND, 0.02)].mean()


def test_multichannel_signal_only_in_channel_0():
    X, y = make_spectral_task(300, 128, n_channels=3, background="white", random_state=0)
    f, P = periodogram(X, axis=-1)
    inband = _band_mask(f, BAND)
    ratio = [
        P[y == 1][:, c][:, inband].mean() / P[y == 0][:, c][:, inband].mean() for c in range(3)
    ]
    assert ratio[0] > 3
    assert ratio[1] == pytest.approx(1, abs=0.2)
    assert ratio[2] == pytest.approx(1, abs=0.2)
    # channels are independent
    assert abs(np.corrcoef(X[:, 1].ravel(), X[:, 2].ravel())[0, 1]) < 0.05


def test_background_colours():
    def low_high_ratio(**kw):
        X, _ = make_spectral_task(200, 256, snr=0.0, random_state=0, **kw)
        assert X.var() == pytest.approx(1.0, abs=0.05)
        f, P = periodogram(X, axis=-1)
        Pm = P.mean(0)
        return Pm[(f > 0) & (f < 0.1)].mean() / Pm[f > 0.4].mean()

    white = low_high_ratio(background="white")
    ar = low_high_ratio(background="ar", ar_coef=0.9)
    ar_neg = low_high_ratio(background="ar", ar_coef=-0.9)
    pink = low_high_ratio(background="pink")
    assert 0.8 < white < 1.25
    assert ar > 20
    assert ar_neg < 0.05
    assert 5 < pink < ar


def test_ar_background_is_stationary():
    X, _ = make_spectral_task(2000, 64, background="ar", ar_coef=0.95, snr=0.0, random_state=0)
    var_t = X.var(axis=0)
    assert var_t[0] == pytest.approx(1.0, abs=0.1)
    assert var_t[-1] == pytest.approx(1.0, abs=0.1)
    lag1 = np.mean(X[:, 1:] * X[:, :-1])
    assert lag1 == pytest.approx(0.95, abs=0.03)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "clustering"}, "task"),
        ({"bands": ((0.3, 0.6),)}, r"outside \[0, 0.5\]"),
        ({"bands": ((-0.1, 0.2),)}, r"outside \[0, 0.5\]"),
        ({"bands": ((0.3, 0.3),)}, "low < high"),
        ({"bands": ((0.35, 0.30),)}, "low < high"),
        ({"bands": ()}, "bands"),
        ({"bands": "abc"}, "bands"),
        ({"n_classes": 1}, "n_classes"),
        ({"n_samples": 3, "n_classes": 4}, "n_samples"),
        ({"n_samples": 0}, "n_samples"),
        ({"seq_len": 1}, "seq_len"),
        ({"snr": -1.0}, "snr"),
        ({"background": "brown"}, "background"),
        ({"phase": "zero"}, "phase"),
        ({"ar_coef": 1.0}, "ar_coef"),
        ({"ar_coef": -1.5}, "ar_coef"),
        ({"n_channels": 0}, "n_channels"),
    ],
)
def test_make_spectral_task_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_spectral_task(**{"n_samples": 20, "seq_len": 16, **kwargs})


def test_band_pair_and_edges_accepted():
    X, y = make_spectral_task(20, 16, bands=(0.0, 0.5), random_state=0)  # a single pair
    assert X.shape == (20, 16)
    _, y = make_spectral_task(20, 16, task="regression", n_classes=1, random_state=0)
    assert y.shape == (20,)  # n_classes is ignored for regression


def test_load_digits_sequences_unchanged():
    X, y = load_digits_sequences()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() >= 0 and X.max() <= 1


# ---------------------------------------------------------------- load_sequences


def test_npz_round_trip(tmp_path):
    X = np.random.RandomState(0).randn(5, 2, 7)
    y = np.array([0, 1, 0, 1, 1])
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    X2, y2 = load_sequences(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.float64
    # y is optional; string labels are kept
    np.savez(tmp_path / "noy.npz", X=X[:, 0].astype(np.float32))
    X3, y3 = load_sequences(str(tmp_path / "noy.npz"))
    assert y3 is None and X3.dtype == np.float64 and X3.shape == (5, 7)
    np.savez(tmp_path / "str.npz", X=X, y=np.array(list("abcab")))
    assert load_sequences(tmp_path / "str.npz")[1].tolist() == list("abcab")


def test_npy_round_trip(tmp_path):
    X = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.save(tmp_path / "x.npy", X)
    X2, y2 = load_sequences(tmp_path / "x.npy")
    np.testing.assert_array_equal(X2, X)
    assert X2.dtype == np.float64 and y2 is None


def test_csv_round_trip(tmp_path):
    X = np.random.RandomState(0).randn(4, 6)
    y = np.array([2, 0, 1, 2])
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    X2, y2 = load_sequences(path)
    np.testing.assert_array_equal(X2, X)
    assert y2.dtype == np.int64 and y2.tolist() == y.tolist()
    # float targets and string labels
    np.savetxt(path, np.column_stack([X, [0.5, 1.5, 2.5, 3.5]]), delimiter=",")
    assert load_sequences(path)[1].dtype == np.float64
    path.write_text("1,2,3,cat\n4,5,6, dog\n")
    X3, y3 = load_sequences(path)
    assert X3.shape == (2, 3) and y3.tolist() == ["cat", "dog"]


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_sequences(missing)


@pytest.mark.parametrize("name", ["bad.npz", "bad.npy"])
def test_corrupt_binary_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 this is not really an archive" * 3)
    with pytest.raises(ValueError, match=name):
        load_sequences(path)
    path.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match=name):
        load_sequences(path)


def test_npz_errors(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, data=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no array 'X'"):
        load_sequences(path)
    np.savez(path, X=np.zeros((3, 4)), y=np.zeros(2))
    with pytest.raises(ValueError, match="X has 3 sequences"):
        load_sequences(path)
    np.savez(path, X=np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="must hold numbers"):
        load_sequences(path)
    np.savez(path, X=np.zeros(5))
    with pytest.raises(ValueError, match="2-D"):
        load_sequences(path)
    np.savez(path, X=np.array([[1, None]], dtype=object))  # needs pickle
    with pytest.raises(ValueError, match="a.npz"):
        load_sequences(path)


def test_npy_errors(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="must hold numbers"):
        load_sequences(path)


def test_csv_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("t0,t1,label\n1,2,0\n")
    with pytest.raises(ValueError, match="non-numeric"):
        load_sequences(path)
    path.write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match="d.csv"):
        load_sequences(path)
    path.write_text("")
    with pytest.raises(ValueError, match="no data"):
        load_sequences(path)
    path.write_text("1\n2\n")
    with pytest.raises(ValueError, match="column"):
        load_sequences(path)
    path.write_bytes(b"\xff\xfe\x00\x81\x82")
    with pytest.raises(ValueError, match="d.csv"):
        load_sequences(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("1,2\n")
    with pytest.raises(ValueError, match="unsupported"):
        load_sequences(path)


# ---------------------------------------------------------------- load_ucr


def test_load_ucr_univariate():
    pytest.importorskip("aeon")
    X, y = load_ucr("GunPoint")
    assert X.shape == (200, 150) and X.dtype == np.float64
    assert isinstance(y, np.ndarray) and y.shape == (200,)
    assert set(y.tolist()) == {"1", "2"}
    Xtr, ytr = load_ucr("GunPoint", split="train")
    Xte, _ = load_ucr("gunpoint", split="TEST")
    assert Xtr.shape == (50, 150) and Xte.shape == (150, 150)
    np.testing.assert_array_equal(np.concatenate([Xtr, Xte]), X)
    X, y = load_ucr("ItalyPowerDemand", split="train")
    assert X.shape == (67, 24) and y.shape == (67,)


def test_load_ucr_multivariate_and_bunch():
    pytest.importorskip("aeon")
    X, y = load_ucr("BasicMotions", split="train")
    assert X.shape == (40, 6, 100) and X.dtype == np.float64
    bunch = load_ucr("ArrowHead", return_X_y=False)
    assert bunch.data.shape == (211, 251)
    assert bunch.task == "classification"
    assert list(bunch.target_names) == ["0", "1", "2"]


def test_load_ucr_regression():
    pytest.importorskip("aeon")
    bunch = load_ucr("Covid3Month", split="train", return_X_y=False)
    assert bunch.task == "regression" and bunch.target_names is None
    assert bunch.data.shape == (140, 84)
    assert bunch.target.dtype == np.float64


def test_load_ucr_unknown_name():
    pytest.importorskip("aeon")
    with pytest.raises(ValueError, match=r"NoSuchDataset.*GunPoint"):
        load_ucr("NoSuchDataset")


def test_load_ucr_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_ucr("GunPoint", split="valid")


def test_load_ucr_without_aeon_sys_modules(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'sktdi\[data\]'"):
        load_ucr("GunPoint")


def test_load_ucr_without_aeon_import_hook(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "aeon" or name.startswith("aeon."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="load_ucr needs aeon"):
        load_ucr("GunPoint")


@pytest.mark.parametrize("name, n_train, channels, shortest, longest", [
    ("PickupGestureWiimoteZ", 50, None, 29, 361),
    ("JapaneseVowels", 270, 12, 7, 26),
])
def test_load_ucr_unequal_lengths_as_lists(name, n_train, channels, shortest, longest):
    """aeon's list of series, univariate ones as 1-D arrays: the form every estimator
    accepts, and pad_sequences makes one NaN-padded array of it."""
    pytest.importorskip("aeon")
    X, y = load_ucr(name, split="train")
    assert isinstance(X, list) and len(X) == len(y) == n_train
    assert all(x.dtype == np.float64 for x in X)
    if channels is None:
        assert {x.ndim for x in X} == {1}
    else:
        assert {x.shape[0] for x in X} == {channels}
    lengths = [x.shape[-1] for x in X]
    assert min(lengths) == shortest and max(lengths) == longest
    padded = pad_sequences(X)
    assert padded.shape[-1] == longest and np.isnan(padded).any()
    assert len(load_ucr(name)[0]) > n_train  # train and test together
