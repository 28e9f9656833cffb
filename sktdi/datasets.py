"""Datasets: bundled sequences and synthetic tasks with a known spectral structure."""

import numpy as np
from sklearn.datasets import load_digits

__all__ = ["load_digits_sequences"]


def load_digits_sequences():
    """scikit-learn's 8x8 digits read row by row as length-64 sequences in ``[0, 1]``.

    Always available offline (the data ship with scikit-learn).

    Returns
    -------
    X : ndarray of shape (1797, 64)
    y : ndarray of shape (1797,)

    Examples
    --------
    >>> from sktdi.datasets import load_digits_sequences
    >>> X, y = load_digits_sequences()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
    """
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float64), y
