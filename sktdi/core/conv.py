"""Convolution: applying a diagonal SSM's kernel to sequences, causally.

Two ways: :func:`fft_conv` convolves with a materialised kernel (H, L) through the FFT;
:func:`chunked_ssm_conv` and :func:`chunked_ssm_conv_encoded` never build the kernel but
cut the sequence into chunks, convolve inside each chunk by Toeplitz matrix products and
carry what earlier chunks leave behind as the SSM's states, scanned over the chunks. The
kernel itself comes from :mod:`sktdi.core.kernel`.

Activations are ``(B, H, L)`` (batch, channels, time).
"""

import numba
import torch

from .kernel import vandermonde_kernel

__all__ = ["Workspace", "chunked_ssm_conv", "chunked_ssm_conv_encoded", "encoded_conv",
           "encoded_operators", "fft_conv"]


class Workspace:
    """Buffers that filtering without a gradient reuses from one block of sequences to the
    next: one tensor per name, made again only when its shape, dtype or device changes.

    Every block needs the same few tensors of several MiB. Allocated afresh, the C library
    can hand such memory back to the system when it is freed, and the next block faults it
    in again, page by page, so that times depend on the state of the heap: in one process,
    ad hoc, OSULeaf's fit + predict made 20,000 to 60,000 page faults and took 0.40 s at 1
    thread; with the buffers reused, at most 2,000 and 0.32 s.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, like):
        """A tensor of ``shape`` in ``like``'s dtype and device; its values are undefined."""
        buffer = self._buffers.get(name)
        if (buffer is None or buffer.shape != torch.Size(shape) or buffer.dtype != like.dtype
                or buffer.device != like.device):
            buffer = self._buffers[name] = like.new_empty(shape)
        return buffer


class _FFTConv(torch.autograd.Function):
    """Causal FFT convolution with a hand-written backward pass.

    Autograd's own backward of ``irfft(rfft(u) * rfft(K))`` runs a full complex FFT for
    ``rfft``'s gradient and keeps the complex spectrum of ``u`` (twice the memory of
    ``u``) alive until the backward pass. Here only ``u`` (which the caller holds anyway)
    and the kernel's spectrum are saved, and the backward pass is one real FFT of the
    incoming gradient, one inverse real FFT, and one real FFT to recompute ``rfft(u)``:
    ``grad_u = corr(grad_y, K)`` and ``grad_K = sum_b corr(grad_y, u)``, both as products
    of spectra with conjugates.
    """

    @staticmethod
    def forward(ctx, u, K):
        L = u.shape[-1]
        n_fft = 2 * L  # zero padding makes the circular convolution a linear one
        K_f = torch.fft.rfft(K, n=n_fft)  # (H, L + 1)
        y = torch.fft.irfft(torch.fft.rfft(u, n=n_fft) * K_f, n=n_fft)[..., :L]  # (B, H, L)
        ctx.save_for_backward(u, K_f)
        return y.contiguous()  # frees the 2L-long buffer instead of holding it as a view

    @staticmethod
    def backward(ctx, grad_y):
        u, K_f = ctx.saved_tensors
        L = u.shape[-1]
        n_fft = 2 * L
        G = torch.fft.rfft(grad_y, n=n_fft)  # (B, H, L + 1)
        grad_u = grad_K = None
        if ctx.needs_input_grad[0]:
            grad_u = torch.fft.irfft(G * K_f.conj(), n=n_fft)[..., :L].contiguous()
        if ctx.needs_input_grad[1]:
            cross = (G * torch.fft.rfft(u, n=n_fft).conj()).sum(dim=0)  # (H, L + 1)
            grad_K = torch.fft.irfft(cross, n=n_fft)[..., :L]
        return grad_u, grad_K


def fft_conv(u, K):
    """Causal convolution ``y[..., h, :] = (K[h] * u[..., h, :])[:L]`` through the FFT.

    ``u`` is ``(B, H, L)`` and ``K`` is ``(H, L)``; zero padding to ``2 L`` makes the
    circular convolution of the FFT a linear one. Differentiable in both arguments, with
    a backward pass that costs three real FFTs and keeps no complex ``(B, H, L)`` tensor
    between the passes.
    """
    if u.dim() != 3 or K.dim() != 2:
        raise ValueError(f"fft_conv expects u (B, H, L) and K (H, L); got {tuple(u.shape)} "
                         f"and {tuple(K.shape)}.")
    return _FFTConv.apply(u, K)


def chunked_ssm_conv(u, c, log_a, chunk=64, D=None):
    """The SSM's causal convolution ``y = K * u`` by chunks, in matrix products.

    ``K[h, l] = 2 Re sum_n c[h, n] a[h, n]**l`` is never convolved through the FFT. The
    sequence is cut into chunks of ``T = chunk`` steps; inside a chunk the convolution is a
    ``(T, T)`` Toeplitz matrix product, and what earlier chunks leave behind travels as the
    ``N2`` complex states of the recurrence ``x_t = a x_{t-1} + u_t``::

        y[cT + tau] = sum_{s <= tau} K[tau - s] u[cT + s] + 2 Re sum_n c_n a_n**(tau+1) P_c[n]
        P_{c+1} = a**T P_c + sum_tau a**(T-1-tau) u[cT + tau]

    ``2 B H L (T + 4 N2)`` flops, all in batched matrix products (which a CPU runs tens of
    times faster per flop than an FFT), plus a scan over ``L / T`` chunks on
    ``(B, H, N2)`` states. Exact up to rounding. Differentiable in every argument; the
    backward pass recomputes the states instead of storing them, so that nothing the size
    of ``u`` is kept between the passes but ``u`` itself.

    Parameters
    ----------
    u : real tensor (B, H, L)
    c : complex tensor (H, N2)
        ``C * Bbar``.
    log_a : complex tensor (H, N2)
        ``log(Abar)``.
    chunk : int
        Chunk length ``T`` (shortened to ``L`` for short sequences).
    D : real tensor (H,), optional
        Skip term: ``y + D u``, folded into the diagonal of the Toeplitz products.

    Returns
    -------
    y : real tensor (B, H, L)

    Examples
    --------
    The same output as the FFT convolution with the materialised kernel:

    >>> import torch
    >>> from sktdi.core import chunked_ssm_conv, fft_conv, vandermonde_kernel
    >>> gen = torch.Generator().manual_seed(0)
    >>> c = torch.randn(3, 4, dtype=torch.complex128, generator=gen)
    >>> log_a = torch.complex(-torch.rand(3, 4, dtype=torch.float64, generator=gen),
    ...                       torch.randn(3, 4, dtype=torch.float64, generator=gen))
    >>> u = torch.randn(2, 3, 100, dtype=torch.float64, generator=gen)
    >>> y = chunked_ssm_conv(u, c, log_a, chunk=16)
    >>> y.shape
    torch.Size([2, 3, 100])
    >>> torch.allclose(y, fft_conv(u, vandermonde_kernel(c, log_a, 100)))
    True
    """
    _, toeplitz, into_state, a_T, out_of_state = _chunk_operators(c, log_a, u.shape[-1],
                                                                  chunk, D)
    return _ChunkedConv.apply(u, toeplitz, into_state, a_T, out_of_state)


def chunked_ssm_conv_encoded(x, weight, bias, c, log_a, chunk=64, D=None, out=None):
    """:func:`chunked_ssm_conv` of ``u = weight x + bias`` for one input channel.

    ``x`` is the raw ``(B, 1, L)`` input of a linear encoder ``weight`` (H, 1), ``bias``
    (H,). The encoder is folded into the chunk operators (``weight`` scales them, ``bias``
    adds their row sums), so the chunk products act on ``x`` itself: one large matrix
    product instead of ``H`` small ones, no ``(B, H, L)`` copy of ``u``, and no gradient
    with respect to the data. Returns ``(B, H, L)``, written into ``out`` when given (a
    ``(B, H, L)`` tensor or a slice of channels of one, as a bank of several inputs
    fills its output without a concatenation); ``out`` is for computations without a
    gradient.

    It is :func:`encoded_conv` with the operators of :func:`encoded_operators`; blocks of
    sequences filtered by fixed parameters can build those once and share them.
    """
    operators = encoded_operators(weight, bias, c, log_a, x.shape[-1], chunk, D)
    return encoded_conv(x, operators, out)


def encoded_conv(x, operators, out=None, workspace=None):
    """:func:`chunked_ssm_conv_encoded` of ``x`` (B, 1, L) with ready ``operators``
    (:func:`encoded_operators` for ``L`` steps): ``(B, H, L)``, into ``out`` when given;
    with ``out``, the intermediate products may go into the buffers of a
    :class:`Workspace`."""
    batch, _, L = x.shape
    T, own, into, a_T, out_of_state = operators
    n_chunks = -(-L // T)
    # Chunks ordered (C, B): the products then come out in the scan's order, contiguous.
    x = _pad_to_chunks(x[:, 0], n_chunks * T).reshape(batch, n_chunks, T).transpose(0, 1)
    x = torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)  # (C, B, T + 1)
    H = own.shape[1] // T

    def product(name, operator):  # (C, B, T + 1) @ (T + 1, H m) -> (C, B, H, m)
        buffer = None
        if workspace is not None and out is not None:
            buffer = workspace.get(name, (n_chunks, batch, operator.shape[1]), x)
        return torch.matmul(x, operator, out=buffer).view(n_chunks, batch, H, -1)

    return _finish_chunks(product("own", own), product("entering", into), a_T, out_of_state,
                          L, out, workspace)


def encoded_operators(weight, bias, c, log_a, L, chunk=64, D=None):
    """The operators of :func:`chunked_ssm_conv_encoded` for sequences of ``L`` steps:
    ``(T, own (T + 1, H T), into (T + 1, H 2 N2), a**T, out_of_state)``, where ``[x, 1]``
    times ``own`` gives a chunk's own outputs and times ``into`` its inputs to the states
    (both as two products, so that neither needs a split in the forward pass or a
    concatenation backward)."""
    T, toeplitz, into_state, a_T, out_of_state = _chunk_operators(c, log_a, L, chunk, D)
    weights = toeplitz if into_state is None else torch.cat([toeplitz, into_state], dim=1)
    # [x, 1] @ [weight * weights; bias * row sums]
    operator = torch.cat([weight[:, 0, None, None] * weights,
                          bias[:, None, None] * weights.sum(-1, keepdim=True)], dim=-1)
    own, into = operator.split([T, operator.shape[1] - T], dim=1)  # (H, T | 2 N2, T + 1)
    return T, own.reshape(-1, T + 1).T, into.reshape(-1, T + 1).T, a_T, out_of_state


def _pad_to_chunks(u, length):
    # zeros at the end change nothing before them (causality)
    return u if u.shape[-1] == length else torch.nn.functional.pad(u, (0, length - u.shape[-1]))


def _chunk_operators(c, log_a, L, chunk, D=None):
    """Chunk length ``T`` and the operators of :class:`_ChunkedConv`: ``toeplitz``
    (H, T, T), ``into_state`` (H, 2 N2, T), ``a**T`` (H, N2) and ``out_of_state``
    (H, 2 N2, T); the last three are ``None`` when one chunk covers ``L``."""
    T = min(chunk, L)
    tau = torch.arange(T, device=c.device)
    lag = tau[:, None] - tau[None, :]  # (T, T)
    K = vandermonde_kernel(c, log_a, T)  # (H, T)
    if D is not None:  # y + D u is the kernel K + D at lag 0
        K = torch.cat([K[:, :1] + D[:, None], K[:, 1:]], dim=1)
    toeplitz = K[:, lag.clamp(min=0)] * (lag >= 0).to(K.dtype)  # (H, T, T)
    if T == L:
        return T, toeplitz, None, None, None
    # a**tau (H, N2, T), from its modulus and angle: torch's complex exp is not vectorized
    # on the CPU (six times slower here, and the largest cost of building the operators)
    tau = tau.to(K.dtype)
    powers = torch.polar(torch.exp(log_a.real[..., None] * tau), log_a.imag[..., None] * tau)
    into_state = powers.flip(-1)  # a**(T-1-tau)
    out_of_state = c[..., None] * powers * torch.exp(log_a)[..., None]  # c a**(tau+1)
    # y gets 2 Re(c a**(tau+1) P) = 2 Re(q) Re(P) - 2 Im(q) Im(P)
    return (T, toeplitz, _interleave(into_state.real, into_state.imag), torch.exp(T * log_a),
            _interleave(2 * out_of_state.real, -2 * out_of_state.imag))


def _interleave(real, imag):
    """``(H, N2, T)`` real and imaginary parts -> ``(H, 2 N2, T)`` as re, im, re, im, ..."""
    return torch.stack([real, imag], dim=2).reshape(real.shape[0], -1, real.shape[-1])


class _ChunkedConv(torch.autograd.Function):
    """The chunk products and the state scan of :func:`chunked_ssm_conv`, with a hand-written
    backward pass that saves only ``u`` and the small ``(H, ., T)`` operators.

    Autograd of the same expression kept the forward pass's intermediates (the chunk
    outputs, the state inputs, every state, layout copies of ``u``) alive until the
    backward pass; here the backward pass recomputes the states from ``u``, at the cost of
    one more matrix product (ten in all) and scan. Rows of every product are ordered
    (chunk, batch), so that the scan reads and writes whole contiguous ``(H, B, N2)``
    slices, and shifting rows by ``B`` shifts chunks by one.

    Operators, for chunk length ``T`` and ``N2`` complex modes per channel:
    ``toeplitz`` (H, T, T) maps a chunk to its own outputs; ``into_state`` (H, 2 N2, T) to
    its inputs to the states (real and imaginary rows interleaved); ``a_T`` (H, N2) complex
    carries a state over one chunk; ``out_of_state`` (H, 2 N2, T) maps the state entering a
    chunk to the chunk's outputs.
    """

    @staticmethod
    def forward(ctx, u, toeplitz, into_state, a_T, out_of_state):
        ctx.save_for_backward(u, toeplitz, into_state, a_T, out_of_state)
        batch, _, L = u.shape
        T = toeplitz.shape[-1]
        n_chunks = -(-L // T)
        u_rows = _to_rows(u, T)  # (H, C B, T)
        y_rows = torch.bmm(u_rows, toeplitz.transpose(1, 2))  # each chunk's own outputs
        if n_chunks > 1:
            leaving = _leaving_states(u_rows, into_state, a_T, batch)  # (H, C B, 2 N2)
            del u_rows
            # the state leaving chunk c enters chunk c + 1: rows shifted by one chunk
            y_rows[:, batch:].baddbmm_(leaving[:, :-batch], out_of_state)
            del leaving
        return _from_rows(y_rows, batch, L)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        u, toeplitz, into_state, a_T, out_of_state = ctx.saved_tensors
        batch, _, L = u.shape
        T = toeplitz.shape[-1]
        n_chunks = -(-L // T)
        u_rows = _to_rows(u, T)  # (H, C B, T)
        g_rows = _to_rows(grad_y, T)
        grad_toeplitz = torch.bmm(g_rows.transpose(1, 2), u_rows)
        grad_into = grad_a_T = grad_out = grad_entered = None
        if n_chunks > 1:
            leaving = _leaving_states(u_rows, into_state, a_T, batch)  # recomputed
            entered = leaving[:, :-batch]  # states entering chunks 1 .. C-1
            grad_out = torch.bmm(entered.transpose(1, 2), g_rows[:, batch:])
            # gradients of the states entering chunks 1 .. C-1, made total by a reverse
            # scan; the state entering chunk c + 1 is the one chunk c leaves, so these are
            # also the gradients of what chunks 0 .. C-2 put into the states
            grad_entered = torch.bmm(g_rows[:, batch:], out_of_state.transpose(1, 2))
            grad_a_T = _reverse_scan_(_chunks_first(grad_entered, batch),
                                      _chunks_first(entered, batch), a_T[:, None])[:, 0]
            del leaving, entered
            grad_into = torch.bmm(grad_entered.transpose(1, 2), u_rows[:, :-batch])
        # u_rows is no longer needed (and is a fresh copy): the gradient of u takes its place
        grad_u_rows = torch.bmm(g_rows, toeplitz, out=u_rows)
        del g_rows
        if n_chunks > 1:
            grad_u_rows[:, :-batch].baddbmm_(grad_entered, into_state)
        return _from_rows(grad_u_rows, batch, L), grad_toeplitz, grad_into, grad_a_T, grad_out


def _to_rows(u, T):
    """(B, H, L) -> (H, C B, T): chunk rows per channel, ordered (chunk, batch); the last
    chunk is padded with zeros. Always a new tensor, never a view of ``u``."""
    batch, H, L = u.shape
    n_chunks = -(-L // T)
    chunks = _pad_to_chunks(u, n_chunks * T).view(batch, H, n_chunks, T)
    rows = u.new_empty(H, n_chunks, batch, T)
    rows.copy_(chunks.permute(1, 2, 0, 3))
    return rows.view(H, n_chunks * batch, T)


def _from_rows(rows, batch, L):
    """(H, C B, T) -> (B, H, L), the inverse of :func:`_to_rows`."""
    H, n_rows, T = rows.shape
    n_chunks = n_rows // batch
    y = rows.view(H, n_chunks, batch, T).permute(2, 0, 1, 3).reshape(batch, H, n_chunks * T)
    return y if y.shape[-1] == L else y[..., :L].contiguous()


def _leaving_states(u_rows, into_state, a_T, batch):
    """The state leaving every chunk, real (H, C B, 2 N2) with real and imaginary parts
    interleaved, from the chunk rows ``u_rows`` (H, C B, T): their inputs to the states
    in one product, then :func:`_scan_` over the chunks in place."""
    leaving = torch.bmm(u_rows, into_state.transpose(1, 2))  # entering_c: (H, C B, 2 N2)
    chunks = _chunks_first(leaving, batch)  # (C, H, B, N2) complex
    _scan_(chunks, chunks, a_T[:, None])  # in place
    return leaving


def _chunks_first(rows, batch):
    """Real (H, C B, 2 N2) rows -> a complex view (C, H, B, N2), chunks first."""
    H, n_rows, two_n2 = rows.shape
    return _as_complex(rows.view(H, n_rows // batch, batch, two_n2)).transpose(0, 1)


# ------------------------------------------------------------------- the state scan
# One scan and its adjoint, written by hand, serve every chunked path (_ChunkedConv and
# _ScanEntering): recorded by autograd step by step, the scan kept every state twice.
def _scan_(states, entering, a_T):
    """The state leaving every chunk, ``Q_c = a**T Q_{c-1} + entering_c`` (``Q_{-1} = 0``),
    written into ``states``.

    ``states`` and ``entering`` (what each chunk puts into the state) are complex with
    chunks first, (C, ...); ``states`` may be ``entering`` itself, scanned in place.
    ``a_T`` (the state's decay over one chunk) broadcasts against ``states[c]``.
    """
    in_place = states is entering
    if not in_place:
        states[0] = entering[0]
    for c in range(1, states.shape[0]):
        if in_place:  # addcmul_ dispatches faster than out=
            states[c].addcmul_(a_T, states[c - 1])
        else:
            torch.addcmul(entering[c], a_T, states[c - 1], out=states[c])
    return states


def _reverse_scan_(grad, states, a_T):
    """The adjoint of :func:`_scan_`: make the gradients of the states (C, ...) it returned
    total, in place (each state also feeds the next one through ``a**T``), and return the
    gradient of ``a_T`` (its shape). Complex gradients follow torch's convention:
    ``y = a x`` gives ``grad_x = conj(a) grad_y``."""
    a_conj = a_T.conj()
    grad_a_T = torch.zeros_like(a_T)
    for c in range(grad.shape[0] - 1, 0, -1):  # grad of state c is total: pass it to c - 1
        grad_a_T += (grad[c] * states[c - 1].conj()).sum_to_size(a_T.shape)
        grad[c - 1].addcmul_(a_conj, grad[c])
    return grad_a_T


def _as_complex(x):
    """Real (..., 2 N2), real and imaginary parts interleaved -> a complex view (..., N2)."""
    return torch.view_as_complex(x.view(*x.shape[:-1], -1, 2))


class _ScanEntering(torch.autograd.Function):
    """States entering every chunk, ``P_{c+1} = a**T P_c + entering_c`` (``P_0 = 0``), from
    the chunks' inputs to the states: both real (C, B, H, 2 N2), real and imaginary parts
    interleaved; ``a_T`` complex (H, N2).

    :func:`_scan_` forward and :func:`_reverse_scan_` backward, the scan of
    :class:`_ChunkedConv`, saving the states once. Autograd of the scan written step by
    step saved them twice (36.5 against 21.5 MiB kept between the passes of the encoded
    convolution at B = H = N = 64, L = 1,024), for the same speed.
    """

    @staticmethod
    def forward(ctx, entering, a_T):
        states = _entering_states(entering, a_T)
        ctx.save_for_backward(states, a_T)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_states):
        states, a_T = ctx.saved_tensors
        grad_entering = torch.zeros_like(states)  # (C, B, H, 2 N2); the last is unused
        grad_entering[:-1] = grad_states[1:]  # P_0 = 0 takes no gradient
        grad_a_T = _reverse_scan_(_as_complex(grad_entering[:-1]),
                                  _as_complex(states[1:]), a_T)
        return grad_entering, grad_a_T


def _entering_states(entering, a_T, states=None):
    """The forward pass of :class:`_ScanEntering`: the states (C, B, H, 2 N2) entering
    every chunk, written into ``states`` when given."""
    states = torch.empty_like(entering) if states is None else states
    states[0] = 0.0
    # what chunk c puts into the state enters chunk c + 1
    _scan_(_as_complex(states[1:]), _as_complex(entering[:-1]), a_T)
    return states


def _finish_chunks(y, entering, a_T, out_of_state, L, out=None, workspace=None):
    """Scan the states over chunks and add what they give each chunk's outputs.

    ``y`` (C, B, H, T) holds every chunk's own outputs, ``entering`` (C, B, H, 2 N2) its
    inputs to the states, real and imaginary parts interleaved (empty with one chunk).
    Returns (B, H, L).

    With ``out`` (no gradient), ``y`` is added to in place and copied once into ``out``;
    without, the steps are out-of-place tensor operations, whose backward pass is faster.
    """
    n_chunks, batch, H, T = y.shape
    if out is not None:
        return _finish_into(y, entering, a_T, out_of_state, L, out, workspace)
    if n_chunks == 1:
        return y[0, ..., :L]
    states = _ScanEntering.apply(entering, a_T)  # (C, B, H, 2 N2)
    y = y + torch.einsum("cbhm,hmt->cbht", states, out_of_state)
    return y.permute(1, 2, 0, 3).reshape(batch, H, n_chunks * T)[..., :L]  # (B, H, L)


def _finish_into(y, entering, a_T, out_of_state, L, out, workspace=None):
    """:func:`_finish_chunks` written into ``out`` (B, H, L): one copy from the chunk
    layout (no gradient); on the CPU by :func:`_copy_from_chunks`, elsewhere whole chunks
    first, then the last, shorter one."""
    n_chunks, _, H, T = y.shape
    if n_chunks > 1:
        states = None if workspace is None else workspace.get("states", entering.shape,
                                                              entering)
        states = _entering_states(entering, a_T, states)  # (C, B, H, 2 N2)
        # the state entering chunk 0 is zero: only the later chunks receive one, added
        # by one product per channel on strided views of y and the states (no copies;
        # twice as fast as an einsum and an addition)
        later = y[1:].view(-1, H, T).transpose(0, 1)  # (H, (C - 1) B, T)
        entered = states[1:].reshape(-1, H, states.shape[-1]).transpose(0, 1)
        later.baddbmm_(entered, out_of_state)
    if out.device.type == "cpu":
        _copy_from_chunks(y.numpy(), out.transpose(1, 2).numpy())
        return out
    whole = L // T
    if whole:
        out[..., :whole * T].unflatten(-1, (whole, T)).copy_(y[:whole].permute(1, 2, 0, 3))
    if whole * T < L:
        out[..., whole * T:].copy_(y[whole, ..., :L - whole * T])
    return out


# Channels moved together by _copy_from_chunks: each step's row of the output takes
# _TILE adjacent values at once (16 float32, one 64-byte cache line), read from _TILE rows
# of a chunk that stay in the cache.
_TILE = 16


@numba.njit(cache=True, nogil=True)
def _copy_from_chunks(chunks, out):  # pragma: no cover - compiled
    """``out[b, c T + t, h] = chunks[c, b, h, t]`` for every step ``c T + t < L``: the
    chunk layout (C, B, H, T) into ``out`` (B, L, H) of any strides (a channel slice of
    the bank's steps-first outputs, on the CPU).

    A transposition, tile by tile. torch's strided copy reads one value per output
    element from a different row; here every output row gets ``_TILE`` adjacent channels
    from rows of the chunk already in the cache. Fit + predict of the default classifier,
    alternated with torch's copy in one process at 1 thread (ad hoc, medians of 9 and 11
    pairs), took 0.96 and 0.97 times as long on ArrowHead, 0.92 and 0.95 on OSULeaf,
    0.87 and 0.95 on ACSF1 (1,460 steps); tiles of 8 channels, 0.97 to 1.00.
    """
    n_chunks, batch, H, T = chunks.shape
    L = out.shape[1]
    tiled = H - H % _TILE
    for b in range(batch):
        for c in range(n_chunks):
            chunk = chunks[c, b]  # (H, T)
            steps = min(T, L - c * T)
            for first in range(0, tiled, _TILE):
                for t in range(steps):
                    row = out[b, c * T + t]
                    for k in range(_TILE):
                        row[first + k] = chunk[first + k, t]
            for h in range(tiled, H):
                for t in range(steps):
                    out[b, c * T + t, h] = chunk[h, t]
    return out
