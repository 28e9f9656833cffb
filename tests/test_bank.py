"""The one model of both families (sktdi.core.bank, sktdi.core.pooling): the bank's
filtering and gradients against a direct computation, and the counts' smooth forms."""

import threading

import numpy as np
import pytest
import torch

from sktdi.core import SSMBank, fft_conv, make_params, pooled_statistics, vandermonde_kernel
from sktdi.core import bank as bank_module
from sktdi.core import pooling as pooling_module
from sktdi.core.bank import PooledStatistics, SSMFeatures
from sktdi.core.conv import Workspace
from sktdi.core.pooling import (
    DEFAULT_STATISTICS,
    _blockwise_backward,
    _compiled_backward,
    _count_runs,
    _SmoothCounts,
    _threshold_counts,
    first_difference,
)

GEN = torch.Generator().manual_seed(0)


@pytest.fixture(autouse=True)
def _draws_of_their_own():
    """Every test draws from ``GEN`` seeded afresh, so its data does not depend on which
    tests ran before it in the process (pytest-xdist shares them out differently from run
    to run)."""
    GEN.manual_seed(0)


def _direct(bank, views):
    """Every channel's view, scaled and shifted, convolved with its kernel (+ D u):
    (B, H, L), by FFT with the materialised kernel."""
    c, log_a = bank.ssm.discrete()
    H, L = bank.n_channels, views.shape[-1]
    K = vandermonde_kernel(c, log_a, L)  # (H, L)
    route = torch.tensor([h * bank.n_views // H for h in range(H)])
    u = bank.in_weight[:, None] * views[:, route] + bank.in_bias[:, None]  # (B, H, L)
    return fft_conv(u, K) + bank.ssm.D[:, None] * u


@pytest.mark.parametrize("n_views", [1, 2, 3])
def test_bank_outputs_and_gradients_equal_the_direct_convolution(n_views):
    bank = SSMBank(make_params("S4D-LegS", 6, 8, random_state=0), n_views,
                   dtype=torch.float64)
    with torch.no_grad():
        bank.in_weight.uniform_(0.5, 1.5, generator=GEN)
        bank.in_bias.normal_(generator=GEN)
        bank.ssm.D.normal_(generator=GEN)
    views = torch.randn(3, n_views, 150, dtype=torch.float64, generator=GEN)
    chunked, direct = bank(views), _direct(bank, views)
    torch.testing.assert_close(chunked, direct, rtol=1e-9, atol=1e-10)
    weights = torch.randn(chunked.shape, dtype=torch.float64, generator=GEN)
    params = list(bank.parameters())
    got = torch.autograd.grad((chunked * weights).sum(), params)
    want = torch.autograd.grad((direct * weights).sum(), params)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("L", [40, 128, 150])
def test_bank_outputs_are_the_same_with_and_without_gradients(L):
    """Without a gradient the views' outputs are written into one tensor (one chunk, whole
    chunks only, and a shorter last chunk); with one they are concatenated."""
    bank = SSMBank(make_params("S4D-LegS", 6, 8, random_state=0), 2)
    views = torch.randn(3, 2, L, generator=GEN)
    with torch.no_grad():
        written = bank(views)
    concatenated = bank(views)
    assert concatenated.requires_grad and not written.requires_grad
    # two float32 paths: equal to float32 rounding, which another CPU does differently
    torch.testing.assert_close(written, concatenated.detach(), rtol=1e-5, atol=1e-5)


def test_reused_buffers_give_the_same_outputs():
    """Within reusing_operators(outputs=True) one output buffer and the products' buffers
    serve every call (new ones when the length changes): each call's outputs are those
    of a bank that allocates afresh, and the next call overwrites them."""
    bank = SSMBank(make_params("S4D-LegS", 6, 8, random_state=0), 2)
    blocks = [torch.randn(3, 2, L, generator=GEN) for L in (150, 150, 70)]
    with torch.no_grad():
        fresh = [bank(views) for views in blocks]
        with bank.reusing_operators(outputs=True):
            reused = [bank(views) for views in blocks]
            torch.testing.assert_close(reused[-1], fresh[-1])
            torch.testing.assert_close(reused[1], fresh[1])
    assert reused[0].data_ptr() == reused[1].data_ptr() != reused[2].data_ptr()
    workspace = Workspace()
    like = torch.zeros(1)
    first = workspace.get("a", (2, 3), like)
    assert workspace.get("a", (2, 3), like) is first
    assert workspace.get("a", (3, 2), like).shape == (3, 2)
    assert workspace.get("a", (3, 2), like.double()).dtype == torch.float64


def test_differenced_outputs_are_the_filters_on_the_next_difference():
    """The first difference of a channel's outputs is that channel's filter applied to
    the difference of its input (taken as 0 before the start), from the second step on:
    the second difference's features of a bank that filters only the first."""
    H, L = 6, 90
    bank = SSMBank(make_params("S4D-LegS", H, 8, random_state=0), 2, dtype=torch.float64)
    with torch.no_grad():
        bank.in_weight.uniform_(0.5, 1.5, generator=GEN)
        bank.in_bias.normal_(generator=GEN)
        bank.ssm.D.normal_(generator=GEN)
    views = torch.randn(4, 2, L, dtype=torch.float64, generator=GEN)
    changes = first_difference(bank(views))  # (B, H, L)
    assert (changes[..., 0] == 0).all()
    c, log_a = bank.ssm.discrete()
    K = vandermonde_kernel(c, log_a, L)  # (H, L)
    route = torch.tensor([h * 2 // H for h in range(H)])
    u = bank.in_weight[:, None] * views[:, route] + bank.in_bias[:, None]
    du = torch.diff(u, dim=-1, prepend=torch.zeros_like(u[..., :1]))
    direct = fft_conv(du, K) + bank.ssm.D[:, None] * du  # (B, H, L)
    torch.testing.assert_close(changes[..., 1:], direct[..., 1:], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("stored", ["steps first", "channels first"])
def test_differenced_channels_pool_as_stored_ones(padded, stored):
    """The counting kernel differences the last E channels as it reads the steps: the
    statistics of stored differences (the path with a gradient, and the smooth forms'
    gradients), for outputs stored either way and sequences of unequal lengths."""
    H, E, L = 7, 3, 40
    statistics = ("ppv", "lspv", "max", "min", "last")
    y = torch.randn(5, L, H, generator=GEN).cumsum(1).transpose(1, 2)  # (B, H, L) view
    if stored == "channels first":
        y = y.contiguous()
    lengths = torch.tensor([40, 1, 2, 17, 33]) if padded else None
    pooling = PooledStatistics(statistics, H, 4, differenced=E)
    with torch.no_grad():
        pooling.biases.normal_(generator=GEN)
        pooling.widths.fill_(0.5)
        counted = pooling(y, lengths)  # (B, (H + E) * 11)
    stored_outputs = torch.cat([y, first_difference(y[:, H - E:])], dim=1)
    with torch.no_grad():
        expected = pooled_statistics(stored_outputs, pooling.biases, statistics, lengths)
    torch.testing.assert_close(counted, expected, rtol=0, atol=0)
    assert counted.shape == (5, pooling.n_features) == (5, (H + E) * (2 * 4 + 3))
    weights = torch.randn(counted.shape, generator=GEN)
    leaf, other = y.clone().requires_grad_(), y.clone().requires_grad_()
    with_gradient = pooling(leaf, lengths)
    torch.testing.assert_close(with_gradient.detach(), counted, rtol=0, atol=0)
    (with_gradient * weights).sum().backward()
    stored_leaf = torch.cat([other, first_difference(other[:, H - E:])], dim=1)
    (pooled_statistics(stored_leaf, pooling.biases, statistics, lengths, pooling.widths)
     * weights).sum().backward()
    torch.testing.assert_close(leaf.grad, other.grad)
    assert leaf.grad[:, H - E:].abs().sum() > 0
    with pytest.raises(ValueError, match="differenced"):
        PooledStatistics(statistics, H, 4, differenced=H + 1)


def test_forward_in_blocks_gives_the_features_and_gradients_of_one_pass(monkeypatch):
    """On the CPU the forward pass filters blocks of sequences (each cut after its longest
    sequence) that reuse the chunk operators: the features and gradients of one pass."""
    H = 6
    module = SSMFeatures(SSMBank(make_params("S4D-LegS", H, 8, random_state=0), 2,
                                 dtype=torch.float64),
                         PooledStatistics(("ppv", "lspv", "max", "min", "last", "mean"), H, 3,
                                          dtype=torch.float64))
    with torch.no_grad():
        module.pooling.biases.normal_(generator=GEN)
        module.pooling.widths.fill_(0.3)
    lengths = torch.tensor([50, 20, 35, 50, 3, 44, 10])
    views = torch.randn(7, 2, 50, dtype=torch.float64, generator=GEN)
    views = views.masked_fill(torch.arange(50) >= lengths[:, None, None], 0.0)
    weights = torch.randn(7, module.pooling.n_features, dtype=torch.float64, generator=GEN)
    params = list(module.parameters())

    def features_and_gradients():
        features = module(views, lengths)
        return features, torch.autograd.grad((features * weights).sum(), params)

    whole, whole_grads = features_and_gradients()
    calls = []
    forward = module.bank.forward
    monkeypatch.setattr(module.bank, "forward", lambda v: calls.append(v.shape) or forward(v))
    monkeypatch.setattr(bank_module, "_BLOCK_BYTES", H * 50 * 3 * 8)  # 3 sequences a block
    blocks, block_grads = features_and_gradients()
    assert calls == [(3, 2, 50), (3, 2, 50), (1, 2, 10)]
    torch.testing.assert_close(blocks, whole, rtol=1e-10, atol=1e-12)
    for got, want in zip(block_grads, whole_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-11)


def test_reuse_is_per_thread_and_per_gradient_mode():
    """Threads filtering with one bank each get their own buffers, and operators cached
    without a gradient are not served to a call with one."""
    bank = SSMBank(make_params("S4D-LegS", 6, 8, random_state=0), 2)
    blocks = [torch.randn(4, 2, 90, generator=GEN) for _ in range(8)]
    with torch.no_grad():
        want = [bank(views) for views in blocks]
    got = {}

    def filter_all(thread):
        with torch.no_grad(), bank.reusing_operators(outputs=True):
            for rounds in range(20):
                for i, views in enumerate(blocks):
                    got[thread, rounds, i] = bank(views).clone()

    threads = [threading.Thread(target=filter_all, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 2 * 20 * len(blocks)
    for (_, _, i), outputs in got.items():
        torch.testing.assert_close(outputs, want[i])
    with bank.reusing_operators():
        with torch.no_grad():
            bank(blocks[0])
        assert bank(blocks[0]).requires_grad


def _smooth_forms(y, biases, widths):
    """The smooth ppv (a sum of logistics) and lspv (over the longest run and its two
    bounding steps), computed directly: (B, H, q) each, and the hard counts."""
    above = y[..., None] > biases  # (L, B, H, q)
    soft = torch.sigmoid((y[..., None] - biases) / widths[:, None])
    L = y.shape[0]
    longest = torch.zeros(above.shape[1:], dtype=torch.long)
    end = torch.zeros(above.shape[1:], dtype=torch.long)
    run = torch.zeros_like(longest)
    for t in range(L):
        run = (run + 1) * above[t]
        end = torch.where(run > longest, t, end)
        longest = torch.maximum(longest, run)
    t = torch.arange(L)[:, None, None, None]
    peak = y.argmax(0)[..., None]
    lo = torch.where(longest > 0, end - longest, peak)
    hi = torch.where(longest > 0, end + 1, peak)
    window = (t >= lo) & (t <= hi)
    return soft.sum(0), (soft * window).sum(0), above.sum(0), longest


def test_counts_take_the_gradients_of_their_smooth_forms():
    """Values: the counts. Gradients: those of the smooth forms, for the outputs and the
    biases alike, and the forms tend to the counts as their width shrinks."""
    y = torch.randn(40, 3, 4, dtype=torch.float64, generator=GEN, requires_grad=True)
    biases = torch.randn(4, 2, dtype=torch.float64, generator=GEN, requires_grad=True)
    widths = torch.full((4,), 0.3, dtype=torch.float64)
    count, longest = _SmoothCounts.apply(y.permute(1, 2, 0), biases, widths, True)  # (B, H, L)
    soft_count, soft_longest, hard_count, hard_longest = _smooth_forms(y, biases, widths)
    torch.testing.assert_close(count, hard_count.double())
    torch.testing.assert_close(longest, hard_longest.double())
    g1, g2 = (torch.randn(count.shape, dtype=torch.float64, generator=GEN) for _ in range(2))
    got = torch.autograd.grad((count * g1 + longest * g2).sum(), (y, biases))
    want = torch.autograd.grad((soft_count * g1 + soft_longest * g2).sum(), (y, biases))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
    # a width far below every distance from a bias (whatever the draws)
    narrow = torch.full((4,), float((y[..., None] - biases).detach().abs().min()) / 40,
                        dtype=torch.float64)
    soft_count, soft_longest, *_ = _smooth_forms(y.detach(), biases.detach(), narrow)
    assert (soft_count - hard_count).abs().max() < 1e-2
    assert (soft_longest - hard_longest).abs().max() < 1e-2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("longest_runs", [True, False])
@pytest.mark.parametrize("spread", [1.0, 200.0])
def test_compiled_backward_equals_the_blockwise_one(dtype, longest_runs, spread):
    """The CPU's compiled kernel and the tensor operations used elsewhere give the same
    gradients, padding (``-inf``) included, and the same run ends as the step loop; also
    where biases lie hundreds of widths apart (``spread``), so that the kernel takes every
    step's and bias's own exponential on most channels (a channel whose biases happen to
    lie closer keeps the shared one)."""
    y = spread * torch.randn(6, 5, 70, generator=GEN, dtype=dtype)
    y[2, :, 50:] = -torch.inf  # a shorter sequence
    y[3, 1] = 0.25  # a constant channel above and below some biases
    biases = spread * torch.randn(5, 3, generator=GEN, dtype=dtype)
    widths = torch.rand(5, generator=GEN, dtype=dtype) * 0.5 + 0.05
    if spread > 1:  # some slopes must still be felt: a step within a width of a bias
        y[0, :, 0] = biases[:, 0] + widths / 2
    count, longest, end = _threshold_counts(y, biases, True, track_ends=True)
    hard_count, hard_longest = _smooth_forms(y.permute(2, 0, 1), biases, widths)[2:]
    torch.testing.assert_close(count.long(), hard_count)
    torch.testing.assert_close(longest.long(), hard_longest)
    run = best = want_end = torch.zeros(count.shape, dtype=torch.long)
    for t in range(y.shape[-1]):  # the first longest run's last step
        run = (run + 1) * (y[..., t, None] > biases)
        want_end = torch.where(run > best, t, want_end)
        best = torch.maximum(best, run)
    torch.testing.assert_close(end.long(), want_end)
    grad_count, grad_longest = (torch.randn(count.shape, generator=GEN, dtype=dtype)
                                for _ in range(2))
    window = None
    if longest_runs:
        peak = y.argmax(-1)[..., None].expand(-1, -1, 3)
        found = longest > 0
        window = (torch.where(found, end - longest, peak),  # the step before the run
                  torch.where(found, end + 1, peak))
    compiled = _compiled_backward(y, biases, widths, grad_count, grad_longest, window)
    blockwise = _blockwise_backward(y, biases, widths, grad_count, grad_longest, window)
    # Both against the sums in float64. A bias's gradient adds hundreds of terms of either
    # sign, which float32 sums to a precision relative to the terms' magnitudes, not to
    # the result (relative to the result, a test at 1e-5 failed on 0.3 to 3% of draws).
    wide = [t.double() for t in (y, biases, widths, grad_count, grad_longest)]
    exact = _blockwise_backward(*wide, window)
    magnitude = _blockwise_backward(*wide[:3], wide[3].abs(), wide[4].abs(), window)
    for got, other, want, size in zip(compiled, blockwise, exact, magnitude, strict=True):
        assert got.dtype == other.dtype == dtype and torch.isfinite(got).all()
        tolerance = {}  # float64: assert_close's own
        if dtype == torch.float32:
            tolerance = {"rtol": 1e-5, "atol": 1e-4 * float(size.abs().max())}
        for path in (got, other):
            torch.testing.assert_close(path.double(), want, **tolerance)


@pytest.mark.parametrize("mode", ["count", "longest", "ends"])
@pytest.mark.parametrize("types", [(np.float32, np.int16), (np.float64, np.int32)])
def test_counting_kernel_of_every_mode_counts_every_sequence_own_steps(mode, types):
    """Each mode's compiled kernel gives the steps above every bias, (with longest runs)
    the longest run of them, (with ends) the step that ends the first longest run and the
    first steps of the extremes, and the extremes, over every sequence's own steps, its
    last channels also differenced (0 at the first step): what a plain loop over the
    steps gives."""
    rng = np.random.default_rng(0)
    dtype, counter = types  # the outputs' and the counters' types
    values = rng.standard_normal((4, 30, 5)).astype(dtype)  # (B, L, H0), steps first
    values[1, 3:9, 0] = 2.0  # a long run above the biases
    lengths = np.array([30, 7, 1, 22])
    biases = rng.standard_normal((3, 7)).astype(dtype)  # (q, H0 + E)
    longest_runs, track_ends = mode != "count", mode == "ends"
    values[0, 10, 1] = values[0, :, 1].max()  # a tie: the first maximizer's step counts
    count, longest, end, maxima, minima, at_max, at_min = _count_runs(
        values, biases, lengths, longest_runs, track_ends, np.zeros(1, counter), 2)
    assert count.dtype == longest.dtype == counter and maxima.dtype == dtype
    for b, L in enumerate(lengths):
        steps = values[b, :L]
        changes = np.diff(steps[:, 3:], axis=0, prepend=steps[:1, 3:])
        rows = np.concatenate([steps, changes], axis=1)  # (L, H0 + E)
        above = rows[:, None, :] > biases  # (L, q, H)
        np.testing.assert_array_equal(count[b], above.sum(0))
        np.testing.assert_array_equal(maxima[b], rows.max(0))
        np.testing.assert_array_equal(minima[b], rows.min(0))
        run = best = ends = np.zeros(above.shape[1:], dtype=int)
        for t in range(L):
            run = (run + 1) * above[t]
            ends = np.where(run > best, t, ends)
            best = np.maximum(best, run)
        if longest_runs:
            np.testing.assert_array_equal(longest[b], best)
        if track_ends:
            np.testing.assert_array_equal(end[b], ends)
            np.testing.assert_array_equal(at_max[b], rows.argmax(0))
            np.testing.assert_array_equal(at_min[b], rows.argmin(0))
    assert longest_runs or not longest.any()
    assert track_ends or not (end.any() or at_max.any() or at_min.any())


def test_pooled_statistics_are_the_same_with_and_without_gradients():
    """The training path computes the training-free features bit for bit."""
    y = torch.randn(5, 4, 30, generator=GEN)  # (B, H, L)
    biases = torch.randn(4, 3, generator=GEN)
    widths = torch.full((4,), 0.2)
    statistics = ("ppv", "lspv", "max", "min", "last", "mean", "power")
    plain = pooled_statistics(y, biases, statistics)
    trained = pooled_statistics(y.requires_grad_(), biases, statistics, widths=widths)
    np.testing.assert_array_equal(trained.detach().numpy(), plain.numpy())
    trained.sum().backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


@pytest.mark.parametrize("transposed_rows", [1, 2, 100])
def test_outputs_stored_steps_first_pool_as_contiguous_ones(monkeypatch, transposed_rows):
    """Without a gradient, the CPU bank stores its outputs steps first (what the counting
    kernel reads in place); pooled from that layout or from a contiguous copy (moved steps
    first ``transposed_rows`` sequences at a time), the counts, extremes and last steps are
    the same, padding included, and the means agree."""
    monkeypatch.setattr(pooling_module, "_TRANSPOSED_ELEMENTS", transposed_rows * 40 * 6)
    bank = SSMBank(make_params("S4D-LegS", 6, 8, random_state=0), 2)
    views = torch.randn(5, 2, 40, generator=GEN)
    with torch.no_grad():
        y = bank(views)  # (B, H, L)
    assert y.shape == (5, 6, 40) and y.transpose(1, 2).is_contiguous()
    biases = torch.randn(6, 3, generator=GEN)
    lengths = torch.tensor([40, 12, 40, 1, 33])
    exact = ("ppv", "lspv", "max", "min", "last")
    for steps in (None, lengths):
        np.testing.assert_array_equal(pooled_statistics(y, biases, exact, steps).numpy(),
                                      pooled_statistics(y.contiguous(), biases, exact,
                                                        steps).numpy())
        torch.testing.assert_close(
            pooled_statistics(y, biases, ("mean", "power"), steps),
            pooled_statistics(y.contiguous(), biases, ("mean", "power"), steps))


def test_extremes_and_last_pass_their_gradient_to_the_step_they_read():
    """max, min and last take the gradients that autograd gives amax, amin and gather on
    every sequence's own steps (values without ties), padding included."""
    y = torch.randn(4, 3, 20, generator=GEN, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([20, 12, 1, 5])
    got = pooled_statistics(y, torch.zeros(3, 1, dtype=torch.float64), ("last", "min", "max"),
                            lengths)
    padding = (torch.arange(20) >= lengths[:, None])[:, None, :]  # (B, 1, L)
    last = (lengths - 1).view(-1, 1, 1).expand(-1, 3, 1)
    want = torch.cat([y.gather(-1, last)[..., 0], y.masked_fill(padding, torch.inf).amin(-1),
                      y.masked_fill(padding, -torch.inf).amax(-1)], dim=1)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    weights = torch.randn(got.shape, generator=GEN, dtype=torch.float64)
    (grad,) = torch.autograd.grad((got * weights).sum(), y)
    (expected,) = torch.autograd.grad((want * weights).sum(), y)
    torch.testing.assert_close(grad, expected)
    assert grad[1, :, 12:].abs().sum() == 0 and grad[2, :, 0].abs().min() > 0


@pytest.mark.parametrize("statistics", [("ppv", "lspv", "max", "min", "last", "mean", "power"),
                                        ("max", "min", "last")])
def test_padded_statistics_read_every_sequence_alone_with_or_without_gradients(statistics):
    """Without a gradient one compiled pass skips the padding (counts, runs, extremes);
    with one, the padding is masked. Both give the statistics of every sequence alone."""
    y = torch.randn(5, 4, 30, generator=GEN)  # (B, H, L)
    lengths = torch.tensor([30, 12, 1, 29, 7])
    biases = torch.randn(4, 3, generator=GEN)
    widths = torch.full((4,), 0.2)
    plain = pooled_statistics(y, biases, statistics, lengths)
    trained = pooled_statistics(y.clone().requires_grad_(), biases, statistics, lengths,
                                widths)
    np.testing.assert_array_equal(trained.detach().numpy(), plain.numpy())
    for b, steps in enumerate(lengths.tolist()):
        alone = pooled_statistics(y[b:b + 1, :, :steps], biases, statistics)[0]
        np.testing.assert_allclose(plain[b].numpy(), alone.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_path_reads_the_compiled_pass_as_torch_reductions(monkeypatch, dtype):
    """With a gradient on the CPU, the counts, the runs and the extremes with their steps
    come from one compiled pass (_counts_and_steps). Values and gradients (of the outputs,
    the biases and the widths' smooth forms) are those of torch's reductions, padding,
    differenced channels and a constant channel (ties everywhere) included."""
    y = torch.randn(5, 6, 40, generator=GEN, dtype=dtype)  # (B, H, L)
    y[1, 2] = 0.5  # every step a maximizer and a minimizer
    lengths = torch.tensor([40, 12, 1, 33, 40])
    biases = torch.randn(8, 3, generator=GEN, dtype=dtype)  # H + E = 8 pooled channels
    widths = torch.full((8,), 0.3, dtype=dtype)
    weights = torch.randn(5, 8 * 3 * 2 + 8 * 3, generator=GEN, dtype=dtype)

    def values_and_gradients():
        outputs, thresholds = (y.clone().requires_grad_(), biases.clone().requires_grad_())
        got = pooled_statistics(outputs, thresholds, DEFAULT_STATISTICS, lengths, widths,
                                differenced=2)
        return (got.detach(), *torch.autograd.grad((got * weights).sum(),
                                                   (outputs, thresholds)))

    compiled = values_and_gradients()
    monkeypatch.setattr(pooling_module, "_counts_and_steps", lambda *args: None)
    reduced = values_and_gradients()
    for got, want in zip(compiled, reduced, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
