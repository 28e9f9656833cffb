"""Sequences of unequal lengths: NaN padding in NumPy, length masks in torch.

sktdi holds a collection of sequences as one array ``(n, C, L)``: ``L`` is the longest
length, and the steps after the end of a shorter sequence hold NaN in every channel (its
*padding*). Before anything is filtered the padding becomes 0; a causal convolution then
never carries it into a step of the sequence, and every pooling over time reads each
sequence over its own steps only, through its length. Equal-length input holds no NaN
and takes the plain paths (``lengths=None``) unchanged.
"""

import numpy as np
import torch

__all__ = ["distinct_sequences", "fill_padding", "is_padded", "median_length",
           "padding_and_lengths", "resample_sequences", "sequence_lengths", "step_mask"]


def sequence_lengths(X3):
    """Lengths of padded sequences ``(n, C, L)``: the steps before their NaN padding.

    Returns
    -------
    lengths : ndarray of shape (n,), int
    """
    return np.count_nonzero(~np.isnan(X3[:, 0, :]), axis=1)


def is_padded(X3):
    """Whether some sequence of ``(n, C, L)`` is shorter than ``L`` (ends in NaN)."""
    return X3.size > 0 and bool(np.isnan(X3[:, 0, -1]).any())


def distinct_sequences(X3, labels=None):
    """Which rows of ``(n, C, L)`` hold the same sequence (and the same ``labels``).

    Read from the values themselves (the user's data), never from anything computed from
    them: NaN padding counts as padding, so a sequence padded after step 2 differs from
    one holding 0 there, and ``-0.0`` equals ``0.0``.

    Parameters
    ----------
    X3 : ndarray of shape (n, C, L)
    labels : ndarray of shape (n,) or (n, k), default=None
        Integer codes that must agree too (the targets).

    Returns
    -------
    first : ndarray of int
        The first row of every distinct sequence, in increasing order.
    groups : ndarray of shape (n,), int
        The distinct sequence of every row: an index into ``first``.
    """
    rows = np.asarray(X3, dtype=np.float64).reshape(len(X3), -1)
    padding = np.isnan(rows)
    columns = [np.where(padding, 0.0, rows) + 0.0, padding.sum(axis=1)]
    if labels is not None:
        columns.append(np.asarray(labels).reshape(len(rows), -1))
    table = np.ascontiguousarray(np.column_stack(columns), dtype=np.float64)
    # every row as one opaque key of its bytes: np.unique(axis=0) compares rows through a
    # structured dtype of one field per column, 20 times slower (3.5 against 0.15 ms on
    # 200 x 600); equal bytes are equal values here, with -0.0 and NaN written out above
    keys = table.view(np.dtype((np.void, table.itemsize * table.shape[1])))[:, 0]
    _, first, groups = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # number the sequences by their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[groups.ravel()]


def fill_padding(X3, value=0.0):
    """``X3`` with its padding replaced by ``value``: a copy, or ``X3`` itself without any."""
    return np.where(np.isnan(X3), value, X3) if is_padded(X3) else X3


def padding_and_lengths(X3):
    """``(zero-filled X3, lengths)``, with ``lengths=None`` when no sequence is padded."""
    if not is_padded(X3):
        return X3, None
    return fill_padding(X3), sequence_lengths(X3)


def median_length(lengths, weights=None):
    """The median of sequence ``lengths``, as a whole number of steps (rounded down), at
    least 1; a weight ``k`` counts like ``k`` copies of its sequence.

    With equal weights it is ``int(np.median(lengths))``: the mean of the two middle
    lengths of an even number.

    Examples
    --------
    >>> from sktdi.core.padding import median_length
    >>> median_length([10, 30, 20, 40])
    25
    >>> median_length([10, 30, 20, 40], weights=[1, 1, 1, 3])
    35
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    weights = np.ones(len(lengths)) if weights is None else np.asarray(weights, np.float64)
    order = np.argsort(lengths, kind="stable")
    cumulative = np.cumsum(weights[order])
    half = cumulative[-1] / 2
    # the lower and the upper median: where the weight reaches half, and passes it
    lower = np.searchsorted(cumulative, half, side="left")
    upper = min(np.searchsorted(cumulative, half, side="right"), len(order) - 1)
    return max(1, int((lengths[order[lower]] + lengths[order[upper]]) / 2))


def resample_sequences(X3, length):
    """Every sequence of ``(n, C, L)`` over its own steps (before any NaN padding),
    linearly interpolated to ``length`` steps: ``(n, C, length)``, one length for all.

    The first and the last step are kept; step ``j`` reads the sequence at the fraction
    ``j / (length - 1)`` of its own duration (as aeon's ``Resizer`` does). A sequence of
    one step becomes a constant.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.core.padding import resample_sequences
    >>> X3 = np.array([[[0.0, 2.0, 4.0]], [[1.0, 3.0, np.nan]]])
    >>> resample_sequences(X3, 5)
    array([[[0. , 1. , 2. , 3. , 4. ]],
    <BLANKLINE>
           [[1. , 1.5, 2. , 2.5, 3. ]]])
    """
    n, _, L = X3.shape
    own = sequence_lengths(X3) if is_padded(X3) else np.full(n, L)
    filled = fill_padding(X3)
    fraction = np.linspace(0.0, 1.0, length) if length > 1 else np.zeros(1)
    position = fraction * (own[:, None] - 1)  # (n, length), in the sequence's own steps
    left = np.minimum(np.floor(position).astype(np.intp), np.maximum(own[:, None] - 2, 0))
    right = np.minimum(left + 1, own[:, None] - 1)
    weight = (position - left)[:, None, :]  # (n, 1, length)
    start = np.take_along_axis(filled, left[:, None, :], axis=-1)  # (n, C, length)
    end = np.take_along_axis(filled, right[:, None, :], axis=-1)
    return start + weight * (end - start)


def step_mask(lengths, L, device=None):
    """``(B, L)`` boolean tensor: ``True`` at the steps of every sequence, ``False`` at
    its padding."""
    lengths = torch.as_tensor(lengths, device=device)
    return torch.arange(L, device=lengths.device) < lengths[:, None]
