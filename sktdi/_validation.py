"""Input validation shared by every estimator: sequences as 2-D or 3-D arrays, or lists.

Inside sktdi, validated sequences are one float array ``(n, C, L)``: ``L`` is the longest
sequence's length and every shorter sequence is followed by NaN (its padding), the same in
every channel. Padding never reaches a valid output (the SSM is causal) and every pooling
and spectrum reads each sequence over its own steps
(:func:`sktdi.core.padding.sequence_lengths`).
"""

import difflib
import inspect
from abc import ABCMeta

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_X_y, validate_data

from ._warnings import SequenceLayoutWarning, warn

__all__ = ["MISSING", "ParameterCheckingMeta", "as_3d", "check_sequences", "infer_task",
           "is_classification_target", "pad_sequences", "validate_sequences"]

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
    with np.errstate(invalid="ignore"):  # it casts to int to test integrality: 1e80 cannot
        return type_of_target(np.asarray(y)) in _CLASSIFICATION_TARGETS


def infer_task(y):
    """``"classification"`` when :func:`is_classification_target`, else ``"regression"``."""
    return "classification" if is_classification_target(y) else "regression"


MISSING = ("error", "impute")


def _as_list_of_sequences(X):
    """``X`` as a list when it is a collection of sequences (a list, a tuple, or a 1-D
    object array of arrays, aeon's layout for unequal lengths); ``None`` otherwise."""
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1:
        return list(X)
    if isinstance(X, (list, tuple)):
        return list(X)
    return None


def _one_shape(sequences):
    """Whether every element has one shape (then ``np.asarray`` reads them as an array)."""
    try:
        return len({np.shape(item) for item in sequences}) <= 1
    except ValueError:  # an element that is itself ragged
        return False


def pad_sequences(X, *, name="X"):
    """A list of sequences of unequal lengths as one array, right-padded with NaN.

    The one place where sktdi reads aeon's layout for unequal lengths: a list of
    ``(n_channels, length_i)`` arrays, or of 1-D arrays for univariate sequences. Other
    input (arrays, DataFrames, lists of sequences of one shape) is returned unchanged.

    Parameters
    ----------
    X : array-like or list of array-like
    name : str, default="X"
        How error messages call ``X``.

    Returns
    -------
    X_padded : ndarray of shape (n_samples, max_length) or (n_samples, n_channels, max_length)
        float64, NaN after the end of every sequence (or ``X`` itself, see above).

    Raises
    ------
    ValueError
        For a list mixing 1-D and 2-D sequences or channel counts, an empty sequence, or
        values that are not numbers; the message names the first offending sequence.

    Examples
    --------
    >>> from sktdi.datasets import pad_sequences
    >>> pad_sequences([[1.0, 2.0, 3.0], [4.0, 5.0]])
    array([[ 1.,  2.,  3.],
           [ 4.,  5., nan]])
    """
    sequences = _as_list_of_sequences(X)
    if sequences is None or _one_shape(sequences):
        return X
    arrays = []
    for i, item in enumerate(sequences):
        try:
            array = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Sequence {i} of {name} could not be read as numbers: "
                             f"{exc}.") from None
        if array.ndim not in (1, 2):
            raise ValueError(f"Sequence {i} of {name} has shape {array.shape}: every "
                             "sequence must be 1-D (length,) or 2-D (n_channels, length).")
        if array.shape[-1] == 0:
            raise ValueError(f"Sequence {i} of {name} is empty (length 0).")
        arrays.append(array)
    ndims = {array.ndim for array in arrays}
    if len(ndims) > 1:
        raise ValueError(f"{name} mixes 1-D and 2-D sequences (sequence 0 is "
                         f"{arrays[0].ndim}-D); use one form for all of them.")
    if 2 in ndims:
        channels = [array.shape[0] for array in arrays]
        odd = next((i for i, c in enumerate(channels) if c != channels[0]), None)
        if odd is not None:
            raise ValueError(f"{name} mixes channel counts: sequence 0 has {channels[0]} "
                             f"channels, sequence {odd} has {channels[odd]}.")
    arrays = [np.atleast_2d(array) for array in arrays]  # (C, L_i)
    padded = np.full((len(arrays), arrays[0].shape[0], max(a.shape[1] for a in arrays)),
                     np.nan)
    for row, array in zip(padded, arrays, strict=True):
        row[:, :array.shape[1]] = array
    return padded[:, 0] if 1 in ndims else padded


def _read_padding(X3, missing, name,
                  advice="Pass missing='impute' to interpolate missing values."):
    """Padding and missing values of ``(n, C, L)`` sequences, checked.

    Trailing NaN (steps after a sequence's last observed value, in every channel) are
    padding; a NaN followed by an observed value is missing. ``missing="error"`` raises on
    the first missing value, ``"impute"`` interpolates it linearly within its channel
    (holding the nearest value at either end); ``advice`` ends the error's message (what
    the caller can do about it). Columns of padding only are cut off.
    Returns sequences whose only NaN are their padding, the same in every channel.
    """
    nan = np.isnan(X3)
    if not nan.any():
        return X3
    observed = (~nan).any(axis=1)  # (n, L): steps with some channel observed
    lengths = X3.shape[-1] - np.argmax(observed[:, ::-1], axis=1)
    lengths[~observed.any(axis=1)] = 0
    if np.any(lengths == 0):
        raise ValueError(f"Sequence {int(np.argmin(lengths))} of {name} is empty: it holds "
                         "only NaN (a sequence needs at least one observed step).")
    inside = nan & (np.arange(X3.shape[-1]) < lengths[:, None])[:, None, :]  # (n, C, L)
    if inside.any():
        if missing != "impute":
            i, c, t = np.argwhere(inside)[0]
            raise ValueError(
                f"{name} contains NaN inside sequence {i} (channel {c}, step {t}), before "
                f"its last observed step {lengths[i] - 1}: a missing value, not padding "
                f"(only NaN after the last observed step are padding). {advice}"
            )
        X3 = _impute(X3, inside, lengths, name)
    return X3[..., :lengths.max()]


def _impute(X3, inside, lengths, name):
    """Linear interpolation of the missing values, channel by channel, within each
    sequence's own length."""
    X3 = X3.copy()
    for i, c in zip(*np.nonzero(inside.any(axis=-1)), strict=True):
        values = X3[i, c, :lengths[i]]
        known = np.flatnonzero(~np.isnan(values))
        if known.size == 0:
            raise ValueError(
                f"Channel {c} of sequence {i} of {name} holds no observed value within the "
                "sequence: there is nothing to interpolate from."
            )
        gaps = np.flatnonzero(np.isnan(values))
        values[gaps] = np.interp(gaps, known, values[known])
    return X3


def validate_sequences(estimator, X, y="no_validation", *, reset, dtype=FLOAT_DTYPES,
                       **check_params):
    """``validate_data`` for sequence input, plus the checks that sequences need: the one
    entry point of every estimator and transformer.

    Accepts ``(n_samples, seq_len)`` or ``(n_samples, n_channels, seq_len)`` arrays, right
    padded with NaN where sequences are shorter, and lists of sequences of any lengths
    (:func:`pad_sequences`). The estimator's ``missing`` parameter (``"error"`` when it has
    none) says what a NaN inside a sequence is. With ``reset=True`` it records
    ``n_features_in_`` (scikit-learn's ``X.shape[1]``: the padded length of a 2-D array and
    of a list of 1-D sequences, the channel count of a 3-D array and of a list of 2-D
    sequences), ``n_channels_`` and ``seq_len_`` (the longest sequence); with
    ``reset=False`` it checks the channels, and the width of a 2-D array.

    Returns what ``validate_data`` returns, with ``X`` always ``(n, C, L)`` of ``dtype``
    (the first of a tuple unless X already has one of them), ``L`` the longest sequence's
    length and NaN after the end of every shorter one.
    """
    name = type(estimator).__name__
    missing = getattr(estimator, "missing", "error")
    if not (isinstance(y, str) and y == "no_validation"):
        _check_targets_present(y)
    X = _from_nested_frame(X)
    is_list = _as_list_of_sequences(X) is not None
    X = pad_sequences(X)
    ndim = getattr(X, "ndim", None)  # None for what validate_data converts (DataFrames...)
    if not reset and (is_list or ndim in (2, 3) and ndim != estimator._input_ndim):
        # Only a 2-D array after a 2-D fit has scikit-learn's fixed width (its features);
        # lists and the other layout carry sequences of any length, in the fitted channels
        options = {"allow_nd": True, "dtype": dtype, "ensure_all_finite": "allow-nan"}
        if isinstance(y, str) and y == "no_validation":
            X, out = check_array(X, input_name="X", **options, **check_params), ()
        else:  # partial_fit
            X, y = check_X_y(X, y, **options, **check_params)
            out = (y,)
        X3 = _as_channels(X, name)
        _check_fitted_channels(estimator, X3)
        X3 = _read_padding(X3, missing, "X")
        return (X3, *out) if out else X3
    if not reset:
        check_fitted_shape(estimator, X)
    out = validate_data(estimator, X, y, reset=reset, allow_nd=True, dtype=dtype,
                        ensure_min_features=1, ensure_all_finite="allow-nan", **check_params)
    X = out[0] if isinstance(out, tuple) else out
    X3 = _read_padding(_as_channels(X, name), missing, "X")
    if reset:
        estimator._input_ndim = X.ndim
        estimator.n_channels_, estimator.seq_len_ = X3.shape[1:]
        if X.ndim == 3:
            _warn_if_channels_last(X.shape, name)
    else:  # an array-like without ndim (converted only now) in the other layout
        _check_fitted_channels(estimator, X3)
    return (X3, *out[1:]) if isinstance(out, tuple) else X3


def check_sequences(X, *, dtype=np.float64, min_length=1, name="X"):
    """Check sequences outside an estimator (the functions of :mod:`sktdi.spectral`): the
    same forms, rules and messages as :func:`validate_sequences`; a NaN inside a sequence
    is an error.

    Returns
    -------
    X3 : ndarray of shape (n_samples, n_channels, seq_len)
        NaN after the end of sequences shorter than ``seq_len`` (the longest).
    """
    X = pad_sequences(X, name=name)
    X = check_array(X, allow_nd=True, dtype=dtype, ensure_2d=False,
                    ensure_all_finite="allow-nan", input_name=name)
    X3 = _read_padding(_as_channels(X, name), "error", name)
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


def _check_fitted_channels(estimator, X3):
    fitted = getattr(estimator, "n_channels_", X3.shape[1])
    if X3.shape[1] != fitted:
        raise ValueError(f"X has sequences of {X3.shape[1]} channels (a 2-D array or a list "
                         f"of 1-D arrays holds one), but {type(estimator).__name__} was "
                         f"fitted on {fitted} channels.{_swap_hint(X3.shape, fitted)}")


def _swap_hint(shape, channels):
    """A hint that a 3-D array may have its channels last, when its last axis would fit."""
    if len(shape) == 3 and shape[2] == channels:
        return (" If X is (n_samples, seq_len, n_channels) (tslearn's and Keras' layout), "
                "pass X.transpose(0, 2, 1): sktdi reads (n_samples, n_channels, seq_len).")
    return ""


# Channels beyond this multiple of the steps make a 3-D array look transposed.
_CHANNELS_PER_STEP = 4


def _warn_if_channels_last(shape, name):  # noqa: ARG001 - the warning names no estimator
    """Warn when a 3-D training array has many more channels than steps: most likely a
    ``(n_samples, seq_len, n_channels)`` array read as ``(n, n_channels, seq_len)``."""
    n, channels, steps = shape
    if channels > _CHANNELS_PER_STEP * steps:
        warn(f"X of shape {shape} is read as {n} sequences of {channels} channels and "
             f"{steps} steps (sktdi's and aeon's layout, (n_samples, n_channels, seq_len)). "
             f"If it is (n_samples, seq_len, n_channels), as tslearn and Keras lay it out, "
             f"pass X.transpose(0, 2, 1).", SequenceLayoutWarning)


# The largest magnitude whose square is finite in float64: standardizing, the spectra and
# the readout's squared errors all square the values they are given.
_LARGEST_SQUARABLE = float(np.sqrt(np.finfo(np.float64).max))


def check_squares_finite(values, name):
    """A ``ValueError`` naming ``name`` when the squares of ``values`` overflow float64
    (NaN, the padding of shorter sequences, is skipped)."""
    values = np.asarray(values)
    if values.size and np.nanmax(np.abs(values)) > _LARGEST_SQUARABLE:
        raise ValueError(f"{name} has values too large to fit (their squares overflow to "
                         f"inf); rescale {name}.")


def _check_targets_present(y):
    """A ``ValueError`` naming ``y`` and the first row whose label or target is missing
    (None or NaN; scikit-learn's message says only "Input contains NaN")."""
    if y is None:
        return
    values = np.asarray(y, dtype=object) if np.asarray(y).dtype == object else np.asarray(y)
    if values.dtype.kind == "f":
        missing = np.isnan(values)
    elif values.dtype == object:
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v))
                            for v in values.ravel()]).reshape(values.shape)
    else:
        return
    if missing.any():
        row = int(np.argwhere(missing)[0][0])
        raise ValueError(f"y contains NaN or None (the label or target of sequence {row} is "
                         "missing): drop those sequences or fill in their labels.")


def _from_nested_frame(X):
    """sktime's nested ``pandas.DataFrame`` (one row per sequence, one column per channel,
    every cell a series or an array) as aeon's list of ``(n_channels, length)`` arrays;
    anything else unchanged."""
    if type(X).__name__ != "DataFrame" or not hasattr(X, "iloc") or X.size == 0:
        return X
    first = X.iloc[0, 0]
    if not hasattr(first, "__len__") or isinstance(first, str):
        return X
    try:
        return [np.stack([np.asarray(cell, dtype=np.float64) for cell in row])
                for row in X.itertuples(index=False)]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "X is a nested DataFrame (sktime's layout) whose cells could not be read as "
            f"sequences of numbers ({exc}); convert it to a list of (n_channels, length) "
            "arrays: [np.stack([np.asarray(cell) for cell in row]) for row in "
            "X.itertuples(index=False)].") from exc


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
    hint = (" A 2-D array keeps the width of the training array; pass sequences of other "
            "lengths as a list, an array right-padded with NaN, or a (n_samples, 1, seq_len) "
            "array." if ndim == 2 else _swap_hint(X.shape, expected))
    raise ValueError(
        f"X has {X.shape[1]} features, but {name} is expecting {expected} features as input "
        f"({what} {X.shape[1]} here, {expected} at fit).{hint}"
    )


def as_3d(X):
    """View ``(n, L)`` as ``(n, 1, L)``; leave ``(n, C, L)`` alone."""
    return X[:, None, :] if X.ndim == 2 else X


# What other libraries call the parameters of sktdi's estimators.
_SYNONYMS = {
    "n_epochs": "max_iter", "epochs": "max_iter", "num_epochs": "max_iter",
    "iterations": "max_iter", "lr": "learning_rate_init", "learning_rate": "learning_rate_init",
    "seed": "random_state", "hidden_size": "d_model", "n_channels": "d_model",
    "d_state": "n_states", "state_size": "n_states", "num_layers": "n_layers",
    "weight_decay": "alpha", "patience": "n_iter_no_change", "pooling": "statistics",
}


class ParameterCheckingMeta(ABCMeta):
    """Refuses an unknown keyword naming the public estimator (not the base class whose
    ``__init__`` it inherits) and the parameter the user most likely meant."""

    @property
    def __signature__(cls):
        """The signature of ``__init__`` (without ``self``), not that of ``__call__``, for
        ``inspect.signature(cls)``."""
        signature = inspect.signature(cls.__init__)
        return signature.replace(parameters=list(signature.parameters.values())[1:])

    def __call__(cls, *args, **kwargs):
        names = [name for name in inspect.signature(cls.__init__).parameters
                 if name != "self"]
        unknown = next((key for key in kwargs if key not in names), None)
        if unknown is not None:
            guess = _SYNONYMS.get(unknown)
            if guess not in names:
                guess = next(iter(difflib.get_close_matches(unknown, names, n=1)), None)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument "
                            f"{unknown!r}{hint} (its parameters: {', '.join(names)})")
        return super().__call__(*args, **kwargs)
