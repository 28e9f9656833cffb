"""Numerics of the SSM core: initializations against their formulas, kernel, convolution."""

import numpy as np
import pytest
import torch

from sktdi import SSMParams
from sktdi.core import (
    INIT_NAMES,
    DiagonalSSM,
    SSMBlock,
    chunked_ssm_conv,
    chunked_ssm_conv_encoded,
    closed_form_response,
    count_aliased_modes,
    discretize,
    fft_conv,
    make_params,
    power_spectrum,
    vandermonde_kernel,
)
from sktdi.core.conv import _copy_from_chunks
from sktdi.spectral import _discrete, frequency_response, model_power_spectrum, ssm_kernel

N_STATES = 16
N2 = N_STATES // 2


def recurrence_kernel(params, L):
    """Impulse response of x[k+1] = Abar x[k] + Bbar u[k], y[k] = 2 Re(C x) (pre-update)."""
    Abar, Bbar = params.discretize()
    x = np.zeros_like(Abar)
    K = np.zeros((params.n_channels, L))
    for k in range(L):
        u = 1.0 if k == 0 else 0.0
        x = Abar * x + Bbar * u  # state after seeing u[k]
        K[:, k] = 2 * np.real(np.sum(params.C * x, axis=1))
    return K


# ---------------------------------------------------------------- initializations
def test_s4d_lin_formula():
    p = make_params("S4D-Lin", 3, N_STATES, random_state=0)
    np.testing.assert_array_equal(p.A, np.tile(-0.5 + 1j * np.pi * np.arange(N2), (3, 1)))
    np.testing.assert_array_equal(p.B, np.ones((3, N2)))


def test_s4d_inv_formula():
    p = make_params("S4D-Inv", 2, N_STATES, random_state=0)
    n = np.arange(N2)
    expected = -0.5 + 1j * (N_STATES / np.pi) * (N_STATES / (2 * n + 1) - 1)
    np.testing.assert_allclose(p.A[1], expected)


def test_s4d_real_formula():
    p = make_params("S4D-Real", 2, N_STATES, random_state=0)
    np.testing.assert_array_equal(p.A[0], -(np.arange(N2) + 1.0))


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_scaled_multiplies_imaginary_parts(scale):
    p = make_params("scaled", 2, N_STATES, random_state=0, frequency_scale=scale)
    lin = make_params("S4D-Lin", 2, N_STATES, random_state=0)
    np.testing.assert_allclose(p.A.imag, scale * lin.A.imag)
    np.testing.assert_array_equal(p.A.real, lin.A.real)


def test_alpha_of_scaled_is_a_deprecated_name_of_frequency_scale():
    with pytest.warns(FutureWarning, match="frequency_scale"):
        old = make_params("scaled", 2, N_STATES, random_state=0, alpha=3.0)
    new = make_params("scaled", 2, N_STATES, random_state=0, frequency_scale=3.0)
    np.testing.assert_array_equal(old.A, new.A)


def test_s4d_legs_is_the_normal_part_of_hippo_legs():
    n = N_STATES
    q = np.arange(n, dtype=float)
    # HiPPO-LegS written from its definition, then its normal part A + P P^T.
    A = -np.array([[np.sqrt((2 * i + 1) * (2 * j + 1)) if i > j else (i + 1 if i == j else 0)
                    for j in range(n)] for i in range(n)])
    P = np.sqrt(q + 0.5)
    eig = np.linalg.eigvals(A + np.outer(P, P))
    p = make_params("S4D-LegS", 2, n, random_state=0)
    np.testing.assert_allclose(p.A.real, -0.5, atol=1e-10)
    kept = np.sort(p.A[0].imag)
    np.testing.assert_allclose(kept, np.sort(eig.imag[eig.imag > 0]), rtol=1e-8)
    # The projected B is the LegS B (sqrt(2q+1)) in the eigenbasis: norms agree, with the
    # conjugate partners' halves counted twice.
    np.testing.assert_allclose(2 * np.sum(np.abs(p.B[0]) ** 2), np.sum(2 * q + 1), rtol=1e-8)


@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
def test_lru_ring_and_normalisation(discretization):
    """Orvieto et al.: Abar uniform on the ring, the *discrete* input Bbar scaled by
    sqrt(1 - |Abar|^2) (it used to pass through zero-order hold a second time: a gain of
    0.62 at phase pi)."""
    p = make_params("LRU", 8, 64, random_state=0, r_min=0.5, r_max=0.9, max_phase=np.pi,
                    discretization=discretization)
    Abar, Bbar = p.discretize()
    np.testing.assert_array_equal(p.dt, 1.0)
    assert np.all((np.abs(Abar) >= 0.5 - 1e-12) & (np.abs(Abar) <= 0.9 + 1e-12))
    assert np.all((np.angle(Abar) >= 0) & (np.angle(Abar) <= np.pi))
    np.testing.assert_allclose(Bbar, np.sqrt(1 - np.abs(Abar) ** 2), rtol=1e-12)
    # the same draws whatever the discretization
    other = make_params("LRU", 8, 64, random_state=0, r_min=0.5, r_max=0.9, max_phase=np.pi,
                        discretization="bilinear" if discretization == "zoh" else "zoh")
    np.testing.assert_allclose(other.discretize()[0], Abar, rtol=1e-12)


def test_c_and_dt_distributions():
    p = make_params("S4D-Lin", 256, 64, random_state=0, dt_min=1e-3, dt_max=1e-1)
    assert abs(np.var(p.C.real) - 0.5) < 0.03 and abs(np.var(p.C.imag) - 0.5) < 0.03
    assert p.dt.min() >= 1e-3 and p.dt.max() <= 1e-1
    # log-uniform: the mean of log dt is the midpoint of the log range
    assert abs(np.mean(np.log(p.dt)) - np.log(1e-2)) < 0.3


@pytest.mark.parametrize("name", INIT_NAMES)
def test_every_init_is_valid_and_seeded(name):
    a = make_params(name, 4, N_STATES, random_state=3)
    b = make_params(name, 4, N_STATES, random_state=3)
    c = make_params(name, 4, N_STATES, random_state=4)
    assert a == b and a != c
    assert np.all(a.A.real < 0) and np.all(a.dt > 0)


def test_aliasing_options():
    kept = make_params("S4D-Lin", 16, 64, random_state=0, dt_max=0.2)
    # the one test of the aliasing bound itself: the discrete frequency dt |Im A| above pi
    aliased = kept.dt[:, None] * np.abs(kept.A.imag) > np.pi
    assert count_aliased_modes(kept) == aliased.sum() > 0
    masked = make_params("S4D-Lin", 16, 64, random_state=0, dt_max=0.2, aliasing="mask")
    assert np.all(masked.C[aliased] == 0) and np.all(masked.C[~aliased] == kept.C[~aliased])
    folded = make_params("S4D-Lin", 16, 64, random_state=0, dt_max=0.2, aliasing="fold")
    assert count_aliased_modes(folded) == 0
    # folding keeps the discrete pole: exp(i dt Im A) equals it up to conjugation
    z_kept, z_fold = np.exp(1j * kept.dt[:, None] * kept.A.imag), np.exp(
        1j * folded.dt[:, None] * folded.A.imag)
    assert np.allclose(np.cos(np.angle(z_kept)), np.cos(np.angle(z_fold)))


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "S5"}, "Unknown initialization"),
    ({"n_states": 7}, "even"),
    ({"d_model": 0}, "d_model"),
    ({"aliasing": "wrap"}, "aliasing"),
    ({"dt_min": 0.0}, "dt_min"),
])
def test_make_params_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_params(**{"name": "S4D-Lin", "d_model": 2, "n_states": 8, **kwargs})


@pytest.mark.parametrize("change, match", [
    ({"A": -np.full((2, 3), 0.5) * -1}, "Re A < 0"),
    ({"dt": np.array([0.1, 0.0])}, "dt must be positive"),
    ({"B": np.ones((2, 4))}, "shape of A"),
    ({"D": np.zeros(3)}, "D must have shape"),
    ({"C": np.full((2, 3), np.nan)}, "NaN"),
    ({"discretization": "euler"}, "discretization"),
])
def test_ssm_params_validation(change, match):
    good = {"A": np.full((2, 3), -0.5 + 1j), "B": np.ones((2, 3)), "C": np.ones((2, 3)),
            "dt": np.full(2, 0.1), "D": np.zeros(2)}
    with pytest.raises(ValueError, match=match):
        SSMParams(**{**good, **change})


# ---------------------------------------------------------------- kernel numerics
@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
def test_discretization_formulas(discretization):
    """SSMParams.discretize (a call of the torch discretize) against the formulas."""
    p = make_params("S4D-Inv", 3, N_STATES, random_state=0, discretization=discretization)
    dtA = p.dt[:, None] * p.A
    if discretization == "zoh":
        Abar, Bbar = np.exp(dtA), (np.exp(dtA) - 1) / p.A * p.B
    else:
        Abar, Bbar = (1 + dtA / 2) / (1 - dtA / 2), p.dt[:, None] * p.B / (1 - dtA / 2)
    got_Abar, got_Bbar = p.discretize()
    # exp(dtA) - 1 loses digits to cancellation (|dtA| >= 7.6e-3 here): 1e-11 is 100
    # rounding units of the result, whichever exp the machine computes
    np.testing.assert_allclose(got_Abar, Abar, rtol=1e-11)
    np.testing.assert_allclose(got_Bbar, Bbar, rtol=1e-11)


@pytest.mark.parametrize("name", INIT_NAMES)
@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
def test_kernel_equals_explicit_recurrence(name, discretization):
    p = make_params(name, 3, N_STATES, random_state=0, discretization=discretization)
    np.testing.assert_allclose(ssm_kernel(p, 200), recurrence_kernel(p, 200), atol=1e-10,
                               rtol=0)


def test_chunked_kernel_equals_single_block():
    p = make_params("S4D-Inv", 4, N_STATES, random_state=1)
    A, B, C = (torch.from_numpy(x) for x in (p.A, p.B, p.C))
    log_Abar, Bbar = discretize(A, B, torch.from_numpy(p.dt))
    whole = vandermonde_kernel(C * Bbar, log_Abar, 300)
    chunked = vandermonde_kernel(C * Bbar, log_Abar, 300, max_elements=4 * N2 * 7)
    torch.testing.assert_close(whole, chunked, rtol=0, atol=1e-13)


def test_kernel_gradient_matches_finite_differences():
    torch.manual_seed(0)
    c = torch.randn(2, 3, dtype=torch.complex128)
    lam = torch.complex(-torch.rand(2, 3, dtype=torch.float64) - 0.05,
                        torch.randn(2, 3, dtype=torch.float64))
    parts = [t.clone().requires_grad_() for t in (c.real, c.imag, lam.real, lam.imag)]

    def kernel(c_re, c_im, lam_re, lam_im):
        return vandermonde_kernel(torch.complex(c_re, c_im), torch.complex(lam_re, lam_im),
                                  37, max_elements=2 * 3 * 5)

    assert torch.autograd.gradcheck(kernel, parts)


def test_fft_conv_equals_direct_convolution():
    rng = np.random.default_rng(0)
    u, K = rng.normal(size=(5, 3, 50)), rng.normal(size=(3, 50))
    y = fft_conv(torch.from_numpy(u), torch.from_numpy(K)).numpy()
    direct = np.array([[np.convolve(u[b, h], K[h])[:50] for h in range(3)] for b in range(5)])
    np.testing.assert_allclose(y, direct, atol=1e-12)


@pytest.mark.parametrize("L", [1, 7, 32])
def test_fft_conv_gradient_matches_finite_differences(L):
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(2, 3, L, dtype=torch.float64, generator=gen, requires_grad=True)
    K = torch.randn(3, L, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(fft_conv, (u, K))


@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
@pytest.mark.parametrize("L, chunk", [(1, 4), (5, 4), (16, 4), (37, 8), (200, 64)])
def test_chunked_conv_equals_fft_conv_of_the_kernel(L, chunk, discretization):
    layer = DiagonalSSM.from_params(make_params("S4D-Lin", 3, 8, random_state=0,
                                                discretization=discretization),
                                    dtype=torch.float64)
    A, B, C, dt = layer.continuous()
    log_a, Bbar = discretize(A, B, dt, discretization)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(2, 3, L, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.randn(2, 3, L, dtype=torch.float64, generator=gen)
    by_fft = fft_conv(u, vandermonde_kernel(C * Bbar, log_a, L))
    by_chunks = chunked_ssm_conv(u, C * Bbar, log_a, chunk=chunk)
    torch.testing.assert_close(by_chunks, by_fft, rtol=1e-10, atol=1e-12)
    inputs = (u, *layer.ssm_parameters(), layer.C)
    expected = torch.autograd.grad(by_fft, inputs, g, retain_graph=True)
    for got, want in zip(torch.autograd.grad(by_chunks, inputs, g), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


def _random_modes(gen, H=3, N2=2):
    """Stable random ``(c, log_a, D)`` of ``H`` channels with ``N2`` modes, all requiring
    gradients (float64, for gradcheck)."""
    c = torch.randn(H, N2, dtype=torch.complex128, generator=gen, requires_grad=True)
    log_a = torch.complex(-torch.rand(H, N2, dtype=torch.float64, generator=gen) - 0.05,
                          torch.randn(H, N2, dtype=torch.float64, generator=gen))
    D = torch.randn(H, dtype=torch.float64, generator=gen, requires_grad=True)
    return c, log_a.requires_grad_(True), D


@pytest.mark.parametrize("L, chunk", [(5, 5), (13, 4), (24, 8)])
def test_chunked_conv_gradient_matches_finite_differences(L, chunk):
    # every input of the hand-written backward, the complex ones and the skip D included
    gen = torch.Generator().manual_seed(3)
    u = torch.randn(2, 3, L, dtype=torch.float64, generator=gen, requires_grad=True)
    c, log_a, D = _random_modes(gen)
    assert torch.autograd.gradcheck(
        lambda u, c, log_a, D: chunked_ssm_conv(u, c, log_a, chunk, D), (u, c, log_a, D))


@pytest.mark.parametrize("L", [1, 5, 64, 150])
def test_encoded_chunked_conv_equals_conv_of_the_encoded_input(L):
    layer = DiagonalSSM.from_params(make_params("S4D-Inv", 4, 8, random_state=1),
                                    dtype=torch.float64)
    c, log_a = layer.discrete()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 1, L, dtype=torch.float64, generator=gen)
    weight = torch.randn(4, 1, dtype=torch.float64, generator=gen, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.randn(3, 4, L, dtype=torch.float64, generator=gen)
    plain = chunked_ssm_conv(weight[None] * x + bias[None, :, None], c, log_a, 16)
    folded = chunked_ssm_conv_encoded(x, weight, bias, c, log_a, 16)
    torch.testing.assert_close(folded, plain, rtol=1e-10, atol=1e-12)
    inputs = (weight, bias, *layer.ssm_parameters(), layer.C)
    expected = torch.autograd.grad(plain, inputs, g, retain_graph=True)
    for got, want in zip(torch.autograd.grad(folded, inputs, g), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("L, chunk", [(5, 5), (13, 4)])
def test_encoded_chunked_conv_gradient_matches_finite_differences(L, chunk):
    # the state scan's hand-written backward (_ScanEntering) through the encoded path
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, L, dtype=torch.float64, generator=gen)
    weight = torch.randn(3, 1, dtype=torch.float64, generator=gen, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, generator=gen, requires_grad=True)
    c, log_a, D = _random_modes(gen)
    assert torch.autograd.gradcheck(
        lambda w, b, c, log_a, D: chunked_ssm_conv_encoded(x, w, b, c, log_a, chunk, D),
        (weight, bias, c, log_a, D))


def test_fft_conv_gradient_equals_autograd_of_the_plain_formula():
    gen = torch.Generator().manual_seed(1)
    u = torch.randn(4, 3, 40, dtype=torch.float64, generator=gen, requires_grad=True)
    K = torch.randn(3, 40, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.randn(4, 3, 40, dtype=torch.float64, generator=gen)
    plain = torch.fft.irfft(torch.fft.rfft(u, n=80) * torch.fft.rfft(K, n=80), n=80)[..., :40]
    expected = torch.autograd.grad(plain, (u, K), g)
    got = torch.autograd.grad(fft_conv(u, K), (u, K), g)
    for e, o in zip(expected, got, strict=True):
        torch.testing.assert_close(o, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", INIT_NAMES)
@pytest.mark.parametrize("L", [1, 2, 63, 256])
def test_closed_form_frequency_response_equals_rfft_of_kernel(name, L):
    p = make_params(name, 3, N_STATES, random_state=0)
    np.testing.assert_allclose(frequency_response(p, L), np.fft.rfft(ssm_kernel(p, L)),
                               atol=1e-10 * max(1.0, np.abs(ssm_kernel(p, L)).sum()))


def test_model_power_spectrum_sums_channels():
    p = make_params("S4D-Lin", 3, N_STATES, random_state=0)
    per = model_power_spectrum(p, 64, per_channel=True)
    assert per.shape == (3, 33)
    np.testing.assert_allclose(model_power_spectrum(p, 64), per.sum(axis=0))


@pytest.mark.parametrize("name", ["S4D-Lin", "S4D-LegS", "S4D-Real"])
@pytest.mark.parametrize("L", [1, 2, 63, 1460])
def test_power_spectrum_without_gradient_equals_the_closed_form(name, L):
    """The compiled loop (no gradient, CPU) and the differentiable closed form are the
    same sums, rounded differently; float32 modes give a float32 spectrum."""
    p = make_params(name, 5, N_STATES, random_state=0, dt_min=0.01, dt_max=0.5)
    c, log_a, L = _discrete(p, L)
    a = torch.exp(log_a)
    expected = closed_form_response(c, a, L).abs() ** 2
    compiled = power_spectrum(c, a, L, per_channel=True)
    torch.testing.assert_close(compiled, expected, rtol=1e-10, atol=1e-12 * float(
        expected.max()))
    torch.testing.assert_close(power_spectrum(c, a, L), compiled.sum(dim=0))
    single = power_spectrum(c.to(torch.complex64), a.to(torch.complex64), L)
    assert single.dtype == torch.float32
    assert power_spectrum(c.to(torch.complex64), a, L).dtype == torch.float64  # promoted
    conjugate_view = a.conj().resolve_conj().conj()  # a's values, the conjugate bit set
    assert conjugate_view.is_conj()
    torch.testing.assert_close(power_spectrum(c, conjugate_view, L), compiled.sum(dim=0))
    torch.testing.assert_close(single, expected.sum(dim=0).float(), rtol=1e-4, atol=0.0)


def test_power_spectrum_keeps_the_gradient_of_parameters_that_ask_for_it():
    p = make_params("S4D-Lin", 3, N_STATES, random_state=0)
    c, log_a, L = _discrete(p, 40)
    log_a = log_a.clone().requires_grad_(True)
    S = power_spectrum(c, torch.exp(log_a), L)
    S.sum().backward()
    assert log_a.grad is not None and torch.isfinite(log_a.grad).all()
    with torch.no_grad():
        torch.testing.assert_close(S.detach(), power_spectrum(c, torch.exp(log_a), L),
                                   rtol=1e-10, atol=1e-12 * float(S.max()))


def test_bilinear_and_zoh_agree_as_dt_goes_to_zero():
    errors = []
    for dt in (1e-1, 1e-2, 1e-3):
        zoh = make_params("S4D-Lin", 2, N_STATES, random_state=0, dt_min=dt, dt_max=dt)
        bil = zoh.copy()
        bil.discretization = "bilinear"
        # compare the kernels per unit time (K / dt), over a fixed physical horizon
        L = int(round(0.5 / dt))
        k_zoh, k_bil = ssm_kernel(zoh, L) / dt, ssm_kernel(bil, L) / dt
        errors.append(np.abs(k_zoh - k_bil).max() / np.abs(k_zoh).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


# ---------------------------------------------------------------- the torch layer
@pytest.mark.parametrize("discretization", ["zoh", "bilinear"])
def test_layer_round_trip_and_forward(discretization):
    p = make_params("S4D-LegS", 3, N_STATES, random_state=0, discretization=discretization)
    layer = DiagonalSSM.from_params(p, dtype=torch.float64)
    back = layer.to_params()
    for name in ("A", "B", "C", "dt", "D"):
        np.testing.assert_allclose(getattr(back, name), getattr(p, name), rtol=1e-12)
    rng = np.random.default_rng(0)
    u = rng.normal(size=(4, 3, 40))
    y = layer(torch.from_numpy(u)).detach().numpy()
    K = recurrence_kernel(p, 40)
    direct = np.array([[np.convolve(u[b, h], K[h])[:40] + p.D[h] * u[b, h]
                        for h in range(3)] for b in range(4)])
    np.testing.assert_allclose(y, direct, atol=1e-10)


def test_long_kernel_memory_is_bounded(monkeypatch):
    """L = 65,536 with H = 64, N = 64: the whole (H, N2, L) Vandermonde block would be
    1 GiB in complex128; forward and backward build it in chunks of at most
    DEFAULT_CHUNK_ELEMENTS (2**22) elements."""
    import sktdi.core.kernel as kernel

    largest = []
    block = kernel._vandermonde_block
    monkeypatch.setattr(kernel, "_vandermonde_block", lambda *a: (
        largest.append(a[0].numel() * a[2].numel()), block(*a))[1])
    layer = DiagonalSSM.from_params(make_params("S4D-Lin", 64, 64, random_state=0))
    K = layer.kernel(65536)
    assert K.shape == (64, 65536) and torch.isfinite(K).all()
    K.sum().backward()
    assert torch.isfinite(layer.A_im.grad).all()
    assert len(largest) > 2 and max(largest) <= kernel.DEFAULT_CHUNK_ELEMENTS
    assert 64 * 32 * 65536 > 30 * kernel.DEFAULT_CHUNK_ELEMENTS  # the bound did the work


def test_channel_mix_is_the_linear_map_and_glu_at_every_step():
    block = SSMBlock(DiagonalSSM(4, 8)).double()
    y = torch.randn(3, 4, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    by_linear = torch.nn.functional.glu(block.mix(y.transpose(1, 2)), dim=-1).transpose(1, 2)
    torch.testing.assert_close(block.channel_mix(y), by_linear, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("L", [1, 29, 32, 61])
def test_chunk_layout_copies_into_a_channel_slice_of_steps_first_outputs(L):
    # 37 channels: two whole tiles of the compiled copy and a remainder; the last chunk
    # cut to L; the neighbouring channels and later steps untouched
    T, H, batch = 16, 37, 3
    n_chunks = -(-L // T)
    gen = torch.Generator().manual_seed(7)
    chunks = torch.randn(n_chunks, batch, H, T, generator=gen)
    storage = torch.full((batch, L + 3, H + 5), torch.nan)
    out = storage.transpose(1, 2)[:, 2:2 + H, :L]  # (B, H, L): a slice, steps first
    _copy_from_chunks(chunks.numpy(), out.transpose(1, 2).numpy())
    expected = chunks.permute(1, 2, 0, 3).reshape(batch, H, n_chunks * T)[..., :L]
    assert torch.equal(out, expected)
    assert storage[..., :2].isnan().all() and storage[..., 2 + H:].isnan().all()
    assert storage[:, L:].isnan().all()
