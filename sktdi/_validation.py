"""Input validation shared by every estimator: sequences as 2-D or 3-D arrays."""

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["validate_sequences", "as_3d"]


def _check_not_ragged(X):
    if isinstance(X, (list, tuple)) and len(X) > 0:
        lengths = {np.shape(row) for row in X}
        if len(lengths) > 1:
            raise ValueError(
                "X is ragged: every sequence must have the same shape, got shapes "
                f"{sorted(lengths)[:4]}. Pad or crop the sequences to one length first."
            )


def validate_sequences(estimator, X, y="no_validation", *, reset, **check_params):
    """``validate_data`` for sequence input, plus the checks that sequences need.

    Accepts ``(n_samples, seq_len)`` or ``(n_samples, n_channels, seq_len)``. With
    ``reset=True`` it records ``n_features_in_`` (scikit-learn's ``X.shape[1]``),
    ``n_channels_`` and ``seq_len_``; with ``reset=False`` it checks them.

    Returns what ``validate_data`` returns, with ``X`` always ``(n, C, L)``.
    """
    _check_not_ragged(X)
    name = type(estimator).__name__
    ndim = getattr(X, "ndim", None)
    if not reset and ndim in (2, 3) and ndim != getattr(estimator, "_input_ndim", ndim):
        raise ValueError(
            f"X is {ndim}-D but {name} was fitted on {estimator._input_ndim}-D input; "
            "use the same layout at fit and predict time."
        )
    if not reset:
        check_fitted_shape(estimator, X)
    out = validate_data(
        estimator, X, y, reset=reset, allow_nd=True, dtype=(np.float64, np.float32),
        ensure_min_features=1, **check_params,
    )
    X = out[0] if isinstance(out, tuple) else out
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} expects 2-D input (n_samples, seq_len) or 3-D input "
            f"(n_samples, n_channels, seq_len); got a {X.ndim}-D array of shape {X.shape}."
        )
    if X.ndim == 3 and 0 in X.shape[1:]:
        raise ValueError(
            f"{name} got zero-length sequences or zero channels: X has shape {X.shape}."
        )
    X3 = as_3d(X)
    if reset:
        estimator._input_ndim = X.ndim
        estimator.n_channels_, estimator.seq_len_ = X3.shape[1:]
    else:
        if X.ndim != estimator._input_ndim:
            raise ValueError(
                f"X is {X.ndim}-D but {name} was fitted on {estimator._input_ndim}-D input; "
                "use the same layout at fit and predict time."
            )
        if X3.shape[2] != estimator.seq_len_:
            raise ValueError(
                f"X has sequences of length {X3.shape[2]}, but {name} was fitted on "
                f"sequences of length {estimator.seq_len_}."
            )
    return (X3, *out[1:]) if isinstance(out, tuple) else X3


def check_fitted_shape(estimator, X):
    """Say which sequence length or channel count differs from fit, in scikit-learn's
    "X has n features" message (``n_features_in_`` is the length for 2-D input and the
    channel count for 3-D input)."""
    name = type(estimator).__name__
    ndim = getattr(X, "ndim", None)
    expected = getattr(estimator, "n_features_in_", None)
    if ndim not in (2, 3) or expected is None or X.shape[1] == expected:
        return
    what = "sequences of length" if ndim == 2 else "channels:"
    raise ValueError(
        f"X has {X.shape[1]} features, but {name} is expecting {expected} features as input "
        f"({what} {X.shape[1]} at predict time, {expected} at fit)."
    )


def as_3d(X):
    """View ``(n, L)`` as ``(n, 1, L)``; leave ``(n, C, L)`` alone."""
    return X[:, None, :] if X.ndim == 2 else X
