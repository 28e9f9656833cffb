"""Filter with a bank of SSM channels, then pool over time: the one model both estimator
families fit.

:class:`SSMBank` is the first layer: every channel ``h`` of a diagonal SSM reads one
input *view* (a channel of the input or its first difference: channel ``h`` reads view
``h * V // H``, so the views share the channels in contiguous blocks), scaled by a weight
and shifted by a bias of its own, and filters it causally. :class:`PooledStatistics` pools
every channel's output over time (:mod:`sktdi.core.pooling`) against biases of its own,
and can pool the first difference of the channels that read the difference views as
channels of their own: a filter commutes with differencing, so these are the same
filters' outputs on the second difference of the input, which is never filtered itself.
:class:`SSMFeatures` chains the bank, any deeper SSM blocks and the pooling.

The training-free estimators fit the pooling's biases and never move anything else
(:class:`~sktdi.core.features.SSMFeatureMap` runs the module without gradients); the
trained estimators start from that same module and move all of it by gradient descent.

The bank keeps the SSM's parameters in float64 and discretizes in float64, then filters
in the activations' dtype (float32 by default): where the modes sit is decided at full
precision, whatever precision the sequences are filtered in.
"""

import contextlib
import threading

import torch
from torch import nn

from .conv import Workspace, encoded_conv, encoded_operators
from .network import DiagonalSSM
from .pooling import PER_BIAS, STATISTICS, pooled_statistics

__all__ = ["PooledStatistics", "SSMBank", "SSMFeatures", "difference_channels",
           "view_blocks"]

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}
# Bytes of one block's outputs in SSMFeatures' forward pass on the CPU (a block holds one
# sequence at least): 16 MiB, 2**22 float32 values. The C library maps larger tensors
# afresh at every allocation, and the process faults them in page by page: whole batches
# of OSULeaf (160 x 256 x 427 outputs) made 1.1 million page faults per default trained
# fit, 2.1 of its 6.7 s; in blocks, 0.2 to 0.4 million (how many depends on what the
# process allocated before: the library's thresholds move with it) and 5.3 s.
_BLOCK_BYTES = 2**24
# What reusing_operators() holds, per thread and per bank (id): the transforms of one
# fitted model may run in threads, and no thread may see another's buffers.
_REUSE = threading.local()


class _Reuse:
    """One thread's chunk operators (by sequence length) and buffers for one bank."""

    def __init__(self, outputs):
        self.operators = {}
        self.workspace = Workspace()
        self.outputs = outputs


def view_blocks(n_channels, n_views):
    """``[(view, first channel, end channel), ...]``: the contiguous block of channels
    that reads every view (channel ``h`` reads view ``h * V // H``)."""
    first = [h * n_views // n_channels for h in range(n_channels)]
    return [(v, first.index(v), n_channels - first[::-1].index(v))
            for v in sorted(set(first))]


def difference_channels(n_channels):
    """How many channels read the difference views: the trailing ``H // 2``.

    The views are the input channels then their first differences (``V = 2 C``), and
    channel ``h`` reads view ``h * V // H``, a difference view exactly when ``2 h >= H``.
    """
    return n_channels // 2


class SSMBank(nn.Module):
    """Views ``(B, V, L)`` -> outputs ``(B, H, L)``: every channel filters its view.

    Parameters
    ----------
    params : SSMParams
        The bank's SSM layer, ``H`` channels.
    n_views : int
        Input views ``V``.
    dtype : torch.dtype, default=torch.float32
        Precision of the filtering (and of ``in_weight``, ``in_bias``).
    """

    def __init__(self, params, n_views, dtype=torch.float32):
        super().__init__()
        self.ssm = DiagonalSSM.from_params(params, torch.float64)
        self.n_views = int(n_views)
        H = params.n_channels
        self.in_weight = nn.Parameter(torch.ones(H, dtype=dtype))  # (H,)
        self.in_bias = nn.Parameter(torch.zeros(H, dtype=dtype))  # (H,)
        self.blocks = view_blocks(H, self.n_views)

    @property
    def n_channels(self):
        return self.in_weight.shape[0]

    def forward(self, views):  # (B, V, L) -> (B, H, L)
        """Causal filtering by chunks in matrix products
        (:func:`~sktdi.core.conv.chunked_ssm_conv_encoded`). Without a gradient, on the
        CPU, the outputs are a transposed view of ``(B, L, H)`` storage, not contiguous:
        ``reshape`` them, not ``view``."""
        if torch.is_grad_enabled():  # out-of-place: a faster backward pass
            outputs = [encoded_conv(views[:, v:v + 1], operators) for (v, _, _), operators
                       in zip(self.blocks, self._operators(views), strict=True)]
            return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)
        # On the CPU, stored steps first (B, L, H) and returned as a (B, H, L) view: the
        # counting kernel reads every step's channels contiguous, and transposing them
        # took it three times as long as the counting (1,460 steps, 256 channels);
        # writing the chunks in that order costs less than half of that.
        batch, _, L = views.shape
        steps_first = views.device.type == "cpu"
        shape = (batch, L, self.n_channels) if steps_first else (batch, self.n_channels, L)
        reuse = self._reuse()
        workspace = None if reuse is None else reuse.workspace
        out = (workspace.get("output", shape, views) if reuse is not None and reuse.outputs
               else views.new_empty(shape))
        if steps_first:
            out = out.transpose(1, 2)  # (B, H, L)
        for (v, start, stop), operators in zip(self.blocks, self._operators(views), strict=True):
            # every view fills its channels: no concatenation
            encoded_conv(views[:, v:v + 1], operators, out=out[:, start:stop],
                         workspace=workspace)
        return out

    def _reuse(self):
        """This thread's :class:`_Reuse` of this bank; None outside
        :meth:`reusing_operators`."""
        return getattr(_REUSE, "banks", {}).get(id(self))

    def _block_arguments(self, dtype):
        """``(view, (weight, bias, c, log_a, chunk, D))`` of every block of channels, the
        discretized modes in ``dtype``'s precision."""
        c, log_a = (t.to(_COMPLEX[dtype]) for t in self.ssm.discrete())  # (H, N2)
        D = self.ssm.D.to(dtype)
        for v, start, stop in self.blocks:  # the channels [start, stop) read view v
            yield v, (self.in_weight[start:stop, None], self.in_bias[start:stop],
                      c[start:stop], log_a[start:stop], self.ssm.chunk, D[start:stop])

    def _operators(self, views):
        """Every block's :func:`~sktdi.core.conv.encoded_operators` for ``views``' length,
        from the cache while :meth:`reusing_operators` holds it.

        The operators of sequences longer than one chunk do not depend on their length,
        so those share one entry; operators made with a gradient (a graph to the
        parameters) and without are kept apart."""
        L = views.shape[-1]
        key = (L if L <= self.ssm.chunk else "longer", views.dtype, views.device,
               torch.is_grad_enabled())
        reuse = self._reuse()
        if reuse is not None and key in reuse.operators:
            return reuse.operators[key]
        operators = [encoded_operators(*arguments[:4], L, *arguments[4:])
                     for _, arguments in self._block_arguments(views.dtype)]
        if reuse is not None:
            reuse.operators[key] = operators
        return operators

    @contextlib.contextmanager
    def reusing_operators(self, outputs=False):
        """Within this context, filtering builds the chunk operators once (once per length
        for sequences of one chunk or less) and reuses them (about 3 ms for 256 channels,
        as long as filtering a block of 16 sequences of 150 steps, 1 thread; with a
        gradient, every block's graph shares them), and filtering without a gradient
        reuses the buffers of its products (:class:`~sktdi.core.conv.Workspace`). The
        parameters must not change meanwhile: it is for a transform's blocks of sequences,
        or the blocks of one forward pass.

        With ``outputs``, every call without a gradient also returns the same output
        buffer, overwritten by the next call: for callers that are done with one block's
        outputs before they filter the next. Entered again while it holds (in the same
        thread), it keeps its cache and buffers, and reuses outputs only if both entries
        ask for it. Every thread has its own.
        """
        banks = _REUSE.__dict__.setdefault("banks", {})
        outer = banks.get(id(self))
        if outer is not None:
            kept = outer.outputs
            outer.outputs = kept and outputs
            try:
                yield self
            finally:
                outer.outputs = kept
            return
        banks[id(self)] = _Reuse(outputs)
        try:
            yield self
        finally:
            del banks[id(self)]


class PooledStatistics(nn.Module):
    """Outputs ``(B, H, L)`` -> features ``(B, F)``: the pooled statistics, with trainable
    biases and the smooth forms' widths (:func:`~sktdi.core.pooling.pooled_statistics`).

    Parameters
    ----------
    statistics : tuple of str
    n_channels : int
        ``H``, the outputs' channels.
    n_biases : int
    dtype : torch.dtype, default=torch.float32
    differenced : int, default=0
        Also pool the first difference of the last ``E = differenced`` channels, as
        channels ``H`` to ``H + E - 1`` with biases and widths of their own.
    """

    def __init__(self, statistics, n_channels, n_biases, dtype=torch.float32, differenced=0):
        super().__init__()
        unknown = sorted(set(statistics) - set(STATISTICS))
        if unknown or not statistics:
            raise ValueError(f"statistics must be a non-empty selection of {STATISTICS}; "
                             f"got {tuple(statistics)}.")
        if not 0 <= differenced <= n_channels:
            raise ValueError(f"differenced must be within [0, n_channels={n_channels}]; "
                             f"got {differenced}.")
        self.statistics = tuple(statistics)
        self.differenced = int(differenced)
        pooled = n_channels + self.differenced
        self.biases = nn.Parameter(torch.zeros(pooled, n_biases, dtype=dtype))
        self.register_buffer("widths", torch.ones(pooled, dtype=dtype))

    @property
    def n_features(self):
        H, q = self.biases.shape
        return sum(H * q if name in PER_BIAS else H for name in self.statistics)

    def forward(self, y, lengths=None):  # (B, H, L), (B,) -> (B, F)
        return pooled_statistics(y, self.biases, self.statistics, lengths, self.widths,
                                 self.differenced)


class SSMFeatures(nn.Module):
    """The bank, deeper SSM blocks, and the pooled statistics of the last one's outputs.

    Parameters
    ----------
    bank : SSMBank
    pooling : PooledStatistics
    blocks : sequence of SSMBlock, default=()
        Deeper layers (``(B, H, L)`` -> ``(B, H, L)``), after the bank.
    """

    def __init__(self, bank, pooling, blocks=()):
        super().__init__()
        self.bank = bank
        self.blocks = nn.ModuleList(blocks)
        self.pooling = pooling

    def outputs(self, views):  # (B, V, L) -> (B, H, L)
        """What the pooling reads: the last layer's outputs."""
        z = self.bank(views)
        for block in self.blocks:
            z = block(z)
        return z

    def forward(self, views, lengths=None):  # (B, V, L), (B,) -> (B, F)
        """The pooled features; on the CPU in blocks of sequences whose outputs take about
        ``_BLOCK_BYTES`` (one sequence at least), which reuse the bank's chunk operators
        (with or without a gradient): the same features, from tensors small enough for
        the C library to keep for reuse (``_BLOCK_BYTES``)."""
        n, _, L = views.shape
        rows = max(1, _BLOCK_BYTES // (self.bank.n_channels * L * views.element_size()))
        if views.device.type != "cpu" or rows >= n:
            return self.pooling(self.outputs(views), lengths)
        features = []
        with self.bank.reusing_operators():
            for start in range(0, n, rows):
                block, block_lengths = views[start:start + rows], None
                if lengths is not None:  # cut after the block's longest sequence
                    block_lengths = lengths[start:start + rows]
                    block = block[..., :int(block_lengths.max())]
                features.append(self.pooling(self.outputs(block), block_lengths))
        return torch.cat(features)
