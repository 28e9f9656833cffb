"""The spectral functions against their definitions (docs/theory.rst), in float64."""

import numpy as np
import pytest
from scipy.linalg import sqrtm, toeplitz
from scipy.signal import lfilter

from sktdi.core import make_params
from sktdi.datasets import make_spectral_task
from sktdi.spectral import (
    frequency_grid,
    induced_kernel_spectrum,
    model_power_spectrum,
    shrink_spectrum,
    spectral_matching_loss,
    ssm_kernel,
    task_power_spectrum,
)


def ar1(n, L, coef, seed=0):
    return lfilter([1.0], [1.0, -coef], np.random.RandomState(seed).normal(size=(n, L)), axis=1)


# ------------------------------------------------------------------------ task spectra
def test_input_spectrum_is_the_mean_periodogram():
    X = ar1(50, 64, 0.7)
    Xc = X - X.mean(axis=0)
    expected = np.mean(np.abs(np.fft.rfft(Xc, axis=1)) ** 2, axis=0) / 64
    np.testing.assert_allclose(task_power_spectrum(X, kind="input"), expected, rtol=1e-12)


def test_cross_spectrum_definition_for_classes_and_regression():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 32)), rng.randint(0, 3, size=40)
    U = np.fft.rfft(X - X.mean(axis=0), axis=1)
    onehot = np.eye(3)[y]
    expected = sum(np.abs(np.mean((onehot[:, c] - onehot[:, c].mean())[:, None]
                                  * np.conj(U), axis=0)) ** 2 for c in range(3)) / 32
    np.testing.assert_allclose(task_power_spectrum(X, y, "cross"), expected, rtol=1e-12)
    t = rng.normal(size=40)
    expected_reg = np.abs(np.mean((t - t.mean())[:, None] * np.conj(U), axis=0)) ** 2 / 32
    np.testing.assert_allclose(task_power_spectrum(X, t, "cross"), expected_reg, rtol=1e-12)


@pytest.mark.parametrize("counts", [(30, 30), (5, 9, 6)])
def test_discriminative_is_a_fisher_ratio_of_log_power_above_its_noise_floor(counts):
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(size=(len(y), 16)) * (1 + y[:, None])  # classes differ in power
    # every sequence loses its own mean; the DC bin is then empty and left out
    logp = np.log(np.abs(np.fft.rfft(X - X.mean(axis=1, keepdims=True), axis=1)) ** 2 / 16)
    means = np.array([logp[y == c].mean(axis=0) for c in range(len(counts))])
    between = np.mean((means[y] - logp.mean(axis=0)) ** 2, axis=0)
    within = np.mean((logp - means[y]) ** 2, axis=0)
    K, n = len(counts), len(y)
    expected = np.clip(between / within - (K - 1) / (n - K), 0, None)
    got = task_power_spectrum(X, y, "discriminative")
    assert got[0] == 0
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-6)


def test_discriminative_noise_floor_is_removed():
    """With labels independent of the sequences the uncorrected ratio averages about
    (K - 1) / (n - K) = 1/6; after the correction most bins are 0 and the mean a fraction
    of that (what clipping noise at 0 leaves)."""
    rng = np.random.RandomState(1)
    spectra = np.array([task_power_spectrum(rng.normal(size=(14, 64)), np.repeat([0, 1], 7),
                                            "discriminative") for _ in range(40)])
    assert (spectra == 0).mean() > 0.5 and spectra.mean() < (1 / 6) / 3


def test_kinds_find_the_signal_band():
    # random-phase band power: visible to "discriminative", averaged away by "cross"
    X, y = make_spectral_task(400, 128, bands=((0.30, 0.35),), snr=0.5, random_state=0)
    freqs = frequency_grid(128) / (2 * np.pi)
    band = (freqs >= 0.30) & (freqs <= 0.35)
    disc = task_power_spectrum(X, y, "discriminative")
    assert disc[band].mean() > 5 * disc[~band].mean()
    cross = task_power_spectrum(X, y, "cross")
    assert cross[band].mean() < 3 * cross[~band].mean()
    # a linear band-pass target: "cross" (what "auto" picks for regression) finds it
    Xr, yr = make_spectral_task(400, 128, task="regression", bands=((0.30, 0.35),),
                                random_state=0)
    auto = task_power_spectrum(Xr, yr)
    assert auto[band].mean() > 5 * auto[~band].mean()


def test_welch_smoothing_and_channels():
    X = ar1(30, 128, 0.9)
    welch = task_power_spectrum(X, kind="input", method="welch", nperseg=32)
    raw = task_power_spectrum(X, kind="input")
    assert welch.shape == raw.shape == (65,)
    # AR(0.9): both estimates put most power at low frequencies; Welch is smoother
    assert welch[:8].sum() > welch[-8:].sum() * 10
    assert np.abs(np.diff(np.log(welch))).mean() < np.abs(np.diff(np.log(raw))).mean()
    smooth = task_power_spectrum(X, kind="input", smoothing=5)
    assert np.abs(np.diff(smooth)).sum() < np.abs(np.diff(raw)).sum()
    X3 = np.stack([X, 2 * X], axis=1)
    per = task_power_spectrum(X3, kind="input", per_channel=True)
    np.testing.assert_allclose(per[1], 4 * per[0])
    np.testing.assert_allclose(task_power_spectrum(X3, kind="input"), per.sum(axis=0))


def test_shrinkage_mixes_spectra_as_densities():
    S, prior = np.array([2.0, 0.0, 0.0]), np.array([0.0, 3.0, 4.0])
    np.testing.assert_allclose(shrink_spectrum(S, prior, 0.0), S)
    np.testing.assert_allclose(shrink_spectrum(S, prior, 1.0), prior / 7 * 2)
    shrunk = shrink_spectrum(S, prior, 0.3)
    # the prior's share of the mass is the shrinkage
    assert shrunk.sum() == pytest.approx(2.0) and shrunk[1:].sum() / 2 == pytest.approx(0.3)
    with pytest.raises(ValueError, match="shrinkage"):
        shrink_spectrum(S, prior, 1.5)
    with pytest.raises(ValueError, match="non-negative"):
        shrink_spectrum(-S, prior, 0.5)


@pytest.mark.parametrize("X, y, kind, match", [
    (np.full((5, 16), np.nan), None, "input", "NaN"),
    (np.ones((5, 3)), None, "input", "at least 4"),
    (np.ones((5, 16)), None, "power", "Unknown spectrum kind"),
    (np.ones((5, 16)), None, "cross", "needs y"),
    (np.ones((5, 16)), None, "discriminative", "needs y"),
    (np.ones((5, 16)), np.zeros(5), "discriminative", "one class"),
    (np.ones((5, 16)), np.zeros(4), "cross", "4 entries"),
    (np.ones(16), None, "input", "2-D"),
    (np.full((5, 16), "a"), None, "input", "could not convert"),
])
def test_task_spectrum_errors(X, y, kind, match):
    with pytest.raises((ValueError, TypeError), match=match):
        task_power_spectrum(X, y, kind)


def test_matching_loss_definition():
    a, b = np.array([1.0, 2.0, 2.0]), np.array([0.0, 3.0, 4.0])
    expected = np.sum((a / 3 - b / 5) ** 2)
    assert spectral_matching_loss(a, b) == pytest.approx(expected, rel=1e-14)
    assert spectral_matching_loss(a, 7 * a) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="different grids"):
        spectral_matching_loss(a, b[:2])
    with pytest.raises(ValueError, match="zero"):
        spectral_matching_loss(a, 0 * b)
    with pytest.raises(ValueError, match="finite"):
        spectral_matching_loss(a, np.array([0.0, np.inf, 1.0]))


@pytest.mark.parametrize("scale", [1e160, 1e-180])
def test_matching_loss_is_free_of_the_spectra_scale(scale):
    """A task spectrum carries the targets' squared units: targets of 1e80 give spectra of
    1e160, whose squares in a norm overflow (1e-180 underflow) unless the loss scales
    them first."""
    a, b = np.array([1.0, 2.0, 2.0]), np.array([0.0, 3.0, 4.0])
    assert spectral_matching_loss(a, scale * b) == pytest.approx(
        spectral_matching_loss(a, b), rel=1e-14)
    assert spectral_matching_loss(scale * a, b / scale) == pytest.approx(
        spectral_matching_loss(a, b), rel=1e-14)


# ---------------------------------------------------------------- SSM-induced kernel
def test_induced_kernel_spectrum_matches_its_definition():
    p = make_params("S4D-Lin", 3, 8, random_state=0)
    X = ar1(200, 24, 0.5)
    empirical, predicted = induced_kernel_spectrum(p, X)
    K = ssm_kernel(p, 24)
    gram = sum(toeplitz(k, np.zeros(24)).T @ toeplitz(k, np.zeros(24)) for k in K)
    Xc = X - X.mean(axis=0)
    root = np.real(sqrtm(Xc.T @ Xc / 200))
    expected = np.sort(np.linalg.eigvalsh(root @ gram @ root))[::-1]
    np.testing.assert_allclose(empirical, expected, atol=1e-9 * expected[0])
    S_u = np.mean(np.abs(np.fft.fft(Xc, axis=1)) ** 2, axis=0) / 24
    H2 = np.sum(np.abs(np.fft.fft(K, axis=1)) ** 2, axis=0)
    np.testing.assert_allclose(predicted, np.sort(H2 * S_u)[::-1], rtol=1e-12)
    # the full grid holds each interior frequency twice; the real-FFT grid once
    np.testing.assert_allclose(H2[: 24 // 2 + 1], model_power_spectrum(p, 24), rtol=1e-10)


def test_theorem_holds_for_short_memory_and_improves_with_L():
    """|H|^2 S_u predicts the kernel's spectrum within a few percent at L = 512."""
    p = make_params("S4D-Lin", 4, 16, random_state=0, dt_min=0.1, dt_max=0.1)
    errors = {}
    for L in (128, 512):
        empirical, predicted = induced_kernel_spectrum(p, ar1(12000, L, 0.5, seed=L))
        errors[L] = np.linalg.norm(empirical - predicted) / np.linalg.norm(predicted)
    assert errors[512] < 0.07
    assert errors[512] < 0.5 * errors[128]


def test_theorem_fails_for_memory_comparable_to_L():
    """A kernel that has not decayed by lag L breaks the circulant approximation."""
    short = make_params("S4D-Lin", 4, 16, random_state=0, dt_min=0.1, dt_max=0.1)
    long = make_params("S4D-Lin", 4, 16, random_state=0, dt_min=1e-3, dt_max=1e-3)
    X = ar1(6000, 256, 0.5)
    gaps = []
    for p in (short, long):
        empirical, predicted = induced_kernel_spectrum(p, X)
        gaps.append(np.linalg.norm(empirical - predicted) / np.linalg.norm(predicted))
    assert gaps[1] > 0.25 and gaps[1] > 2 * gaps[0]


@pytest.mark.parametrize("nperseg", [16, 15])
def test_welch_estimate_interpolates_across_the_nyquist_wrap(nperseg):
    """Welch's two-sided grid is periodic; the bins above its last positive frequency are
    interpolated towards the wrapped -0.5 value, not clamped to the last one."""
    from scipy import signal

    from sktdi.spectral import _periodograms

    t = np.arange(64)
    X = np.cos(np.pi * 0.97 * t)[None, None, :] + 0.1 * np.random.RandomState(0).normal(
        size=(1, 1, 64))  # power just below the Nyquist frequency
    got = _periodograms(X, "welch", nperseg)[0, 0]
    freqs, P = signal.welch(X[0, 0], nperseg=nperseg, detrend=False, return_onesided=False,
                            scaling="density")
    freqs, P = np.fft.fftshift(freqs), np.fft.fftshift(P)
    extended_f = np.concatenate([freqs, freqs[:1] + 1.0])  # -0.5.. wrapped to +0.5..
    extended_P = np.concatenate([P, P[:1]])
    grid = frequency_grid(64) / (2 * np.pi)
    np.testing.assert_allclose(got, np.interp(grid, extended_f, extended_P), rtol=1e-10)
    assert got[-1] > got[-1 - 64 // nperseg]  # the top bin follows the tone, not a clamp
