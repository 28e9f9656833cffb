"""Input validation shared by every estimator: sequences as 2-D or 3-D arrays."""

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, validate_data

__all__ = ["as_3d", "check_sequences", "infer_task", "is_classification_target",
           "validate_sequences"]

# What sktdi computes in: the estimators keep float32 input in float32, spectra use float64.
FLOAT_DTYPES = (np.float64, np.float32)

_CLASSIFICATION_TARGETS = ("binary", "multiclass")


def is_classification_target(y):
    """Whether ``y`` holds class labels (binary or multiclass) rather than values to regress.

    The one answer sktdi gives everywhere (stratified curves, the command line, the task
    spectra): multilabel and multi-output targets are not class labels here; the spectra
    read them as regression targets, one column each.

    Examples
    --------
    >>> from sktdi.model_selection import is_classification_target
    >>> is_classification_target(["a", "b"]), is_classification_target([0.5, 1.7])
    (True, False)
    >>> is_classification_target([[0, 1], [1, 1]])  # multilabel
    False
    """
    return type_of_target(np.asarray(y)) in _CLASSIFICATION_TARGETS


def infer_task(y):
    """``"classification"`` when :func:`is_classification_target`, else ``"regression"``."""
    return "classification" if is_classification_target(y) else "regression"


def _check_not_ragged(X):
    if isinstance(X, (list, tuple)) and len(X) > 0:
        lengths = {np.shape(row) for row in X}
        if len(lengths) > 1:
            raise ValueError(
                "X is ragged: every sequence must have the same shape, got shapes "
                f"{sorted(lengths)[:4]}. Pad or crop the sequences to one length first."
            )


def validate_sequences(estimator, X, y="no_validation", *, reset, dtype=FLOAT_DTYPES,
                       **check_params):
    """``validate_data`` for sequence input, plus the checks that sequences need: the one
    entry point of every estimator and transformer.

    Accepts ``(n_samples, seq_len)`` or ``(n_samples, n_channels, seq_len)``. With
    ``reset=True`` it records ``n_features_in_`` (scikit-learn's ``X.shape[1]``),
    ``n_channels_`` and ``seq_len_``; with ``reset=False`` it checks them.

    Returns what ``validate_data`` returns, with ``X`` always ``(n, C, L)`` of ``dtype``
    (the first of a tuple unless X already has one of them).
    """
    _check_not_ragged(X)
    name = type(estimator).__name__
    if not reset:
        _check_fitted_layout(estimator, X)
    out = validate_data(estimator, X, y, reset=reset, allow_nd=True, dtype=dtype,
                        ensure_min_features=1, **check_params)
    X = out[0] if isinstance(out, tuple) else out
    X3 = _as_channels(X, name)
    if reset:
        estimator._input_ndim = X.ndim
        estimator.n_channels_, estimator.seq_len_ = X3.shape[1:]
    else:
        _check_fitted_layout(estimator, X)  # a list becomes an array only now
        if X3.shape[2] != estimator.seq_len_:
            raise ValueError(
                f"X has sequences of length {X3.shape[2]}, but {name} was fitted on "
                f"sequences of length {estimator.seq_len_}."
            )
    return (X3, *out[1:]) if isinstance(out, tuple) else X3


def check_sequences(X, *, dtype=np.float64, min_length=1, name="X"):
    """Check a sequence array outside an estimator (the functions of
    :mod:`sktdi.spectral`): the same rules and messages as :func:`validate_sequences`.

    Returns
    -------
    X3 : ndarray of shape (n_samples, n_channels, seq_len)
    """
    _check_not_ragged(X)
    X = check_array(X, allow_nd=True, dtype=dtype, ensure_2d=False, input_name=name)
    X3 = _as_channels(X, name)
    if X3.shape[-1] < min_length:
        raise ValueError(
            f"Sequences of length {X3.shape[-1]} (n_features = {X3.shape[-1]}) are too "
            f"short: this needs at least {min_length} time steps."
        )
    return X3


def _as_channels(X, name):
    """``(n, L)`` or ``(n, C, L)``, checked, as ``(n, C, L)``."""
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{name} expects 2-D input (n_samples, seq_len) or 3-D input "
            f"(n_samples, n_channels, seq_len); got a {X.ndim}-D array of shape {X.shape}."
        )
    if X.ndim == 3 and 0 in X.shape[1:]:
        raise ValueError(
            f"{name} got zero-length sequences or zero channels: X has shape {X.shape}."
        )
    return as_3d(X)


def _check_fitted_layout(estimator, X):
    """At predict time: the layout (2-D or 3-D) and the shape seen at fit."""
    ndim = getattr(X, "ndim", None)
    fitted_ndim = getattr(estimator, "_input_ndim", ndim)
    if ndim in (2, 3) and ndim != fitted_ndim:
        raise ValueError(
            f"X is {ndim}-D but {type(estimator).__name__} was fitted on {fitted_ndim}-D "
            "input; use the same layout at fit and predict time."
        )
    check_fitted_shape(estimator, X)


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
