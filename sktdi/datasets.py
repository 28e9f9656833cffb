"""Datasets: bundled sequences and synthetic tasks with a known spectral structure.

* :func:`load_digits_sequences` -- scikit-learn's digits as length-64 sequences (offline).
* :func:`make_spectral_task` -- synthetic classification/regression tasks whose label
  information lives in known frequency bands, to check spectral initialisation.
* :func:`load_ucr` -- UCR/UEA archive problems through aeon (``pip install 'sktdi[data]'``).
* :func:`load_sequences` -- a user's own sequences from ``.npz``, ``.npy`` or ``.csv``.

Layout everywhere: ``(n_samples, seq_len)`` for univariate and
``(n_samples, n_channels, seq_len)`` for multivariate data.
"""

import numbers
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
from scipy import signal
from sklearn.datasets import load_digits
from sklearn.utils import Bunch, check_random_state

from ._validation import pad_sequences
from ._warnings import warn

__all__ = ["load_digits_sequences", "make_spectral_task", "load_ucr", "load_sequences",
           "pad_sequences"]

# Number of sinusoids that make up one narrow-band component / one regression template.
_N_SINES = 3
_TASKS = ("classification", "regression")
_BACKGROUNDS = ("white", "ar", "pink")
_PHASES = ("random", "fixed")


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


# --------------------------------------------------------------------------------------
# Synthetic spectral tasks
# --------------------------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_bands(bands):
    try:
        arr = np.asarray(bands, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"bands must be a sequence of (low, high) pairs in cycles per sample, got {bands!r}."
        ) from exc
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(
            f"bands must be a non-empty sequence of (low, high) pairs, got {bands!r}."
        )
    for low, high in arr:
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 0.5:
            raise ValueError(
                f"band ({low}, {high}) lies outside [0, 0.5]: frequencies are in cycles per "
                "sample and must not exceed the Nyquist frequency 0.5."
            )
        if low >= high:
            raise ValueError(f"band ({low}, {high}) needs low < high.")
    return arr


def _background(kind, ar_coef, shape, rng):
    """Unit-variance stationary noise of the given colour, shape ``(..., seq_len)``."""
    seq_len = shape[-1]
    white = rng.standard_normal(shape)
    if kind == "white":
        return white
    if kind == "ar":
        # AR(1) x[t] = a x[t-1] + e[t], started from its stationary distribution and
        # scaled by sqrt(1 - a^2) so that every x[t] has unit variance.
        a = ar_coef
        x_prev = rng.standard_normal(shape[:-1]) / np.sqrt(1.0 - a**2)
        zi = (a * x_prev)[..., None]
        out, _ = signal.lfilter([1.0], [1.0, -a], white, axis=-1, zi=zi)
        return out * np.sqrt(1.0 - a**2)
    # pink: shape white noise by 1/sqrt(f) in the rFFT domain (power ~ 1/f, no DC), which
    # is a circular convolution with g = irfft(h); dividing by ||g|| gives unit variance.
    freqs = np.fft.rfftfreq(seq_len)
    h = np.zeros_like(freqs)
    h[1:] = 1.0 / np.sqrt(freqs[1:])
    g = np.fft.irfft(h, n=seq_len)
    out = np.fft.irfft(np.fft.rfft(white, axis=-1) * h, n=seq_len, axis=-1)
    return out / np.sqrt(np.sum(g**2))


def _band_component(n, seq_len, band, phase, rng):
    """``n`` narrow-band waveforms in ``band``, each with unit RMS over time.

    ``phase="random"``: frequencies and phases are drawn per sample (zero-mean process).
    ``phase="fixed"``: one waveform (frequencies and phases drawn once) repeated ``n`` times.
    """
    t = np.arange(seq_len)
    rows = n if phase == "random" else 1
    freqs = rng.uniform(band[0], band[1], size=(rows, _N_SINES, 1))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(rows, _N_SINES, 1))
    s = np.cos(2.0 * np.pi * freqs * t + phases).sum(axis=1)
    rms = np.sqrt(np.mean(s**2, axis=-1, keepdims=True))
    s = s / np.where(rms > 0, rms, 1.0)
    return np.broadcast_to(s, (n, seq_len))


def _bandpass_impulse_response(band, seq_len):
    """Impulse response (length ``seq_len``) of a 2nd-order Butterworth band-pass filter."""
    low, high = max(float(band[0]), 1e-3), min(float(band[1]), 0.499)
    b, a = signal.butter(2, [2 * low, 2 * high], btype="bandpass")  # Nyquist = 0.5 cycles
    impulse = np.zeros(seq_len)
    impulse[0] = 1.0
    return signal.lfilter(b, a, impulse)


def make_spectral_task(
    n_samples=512,
    seq_len=256,
    *,
    task="classification",
    n_classes=2,
    bands=((0.30, 0.35),),
    background="ar",
    ar_coef=0.9,
    snr=1.0,
    phase="random",
    n_channels=1,
    shuffle=True,
    random_state=None,
):
    """Synthetic sequence task whose label information sits in known frequency bands.

    Every sequence is a unit-variance stationary background plus narrow-band components.
    A *narrow-band component* in band ``(low, high)`` is a sum of three sinusoids whose
    frequencies are drawn uniformly in the band, scaled to a fixed RMS (standard deviation)
    over the sequence. With ``phase="random"`` frequencies and phases are drawn anew for
    every sample, so the component has zero mean: classes differ in *power* only and the
    difference is invisible to a linear model or to the cross-spectrum of ``X`` with ``y``.
    With ``phase="fixed"`` the frequencies and phases are drawn once per task (per class,
    or per band for regression), so every sample carries the same waveform and the class
    mean is non-zero.

    **Classification**: classes ``0 .. n_classes - 1``, balanced (sizes differ by at most
    one). Class 0 is background only. Class ``k >= 1`` adds a narrow-band component in band
    ``bands[(k - 1) % len(bands)]`` with standard deviation ``snr * (1 + (k - 1) //
    len(bands))``: when there are more signal classes than bands, each further pass over the
    bands raises the amplitude, so classes sharing a band differ in power.

    **Regression**: ``X`` is background plus one narrow-band component per band, each with
    standard deviation ``snr * u`` where ``u ~ Uniform(0.5, 1.5)`` per sample and band. The
    target is a linear band-pass functional of channel 0: the last output of a causal
    band-pass filter (a 2nd-order Butterworth band-pass per band, summed)::

        y = (band_pass(X0)[-1]) / std(band_pass(X0)[-1])

    ``std`` is taken over the generated samples, so ``y`` has unit variance and is exactly
    linear in ``X`` (no intercept). The cross-spectrum of ``X`` with ``y`` peaks in the
    bands, and a diagonal SSM read at its last step (``pooling="last"``) can represent the
    target exactly, provided its modes sit in the bands.

    **Multichannel**: every channel gets its own independent background; the class or
    target signal is placed in channel 0 only (channels ``1..`` are pure distractors).

    Parameters
    ----------
    n_samples : int, default=512
        Number of sequences.
    seq_len : int, default=256
        Length of every sequence (at least 2).
    task : {"classification", "regression"}, default="classification"
        Kind of target.
    n_classes : int, default=2
        Number of classes (at least 2, at most ``n_samples``). Ignored for regression.
    bands : sequence of (low, high), default=((0.30, 0.35),)
        Frequency bands in cycles per sample, ``0 <= low < high <= 0.5``.
    background : {"white", "ar", "pink"}, default="ar"
        Unit-variance background: white Gaussian noise, a stationary AR(1) process with
        coefficient ``ar_coef`` (``scipy.signal.lfilter``), or pink (1/f power) noise made
        by shaping white noise in the rFFT domain (no DC component).
    ar_coef : float, default=0.9
        AR(1) coefficient, in ``(-1, 1)``; positive values give more low-frequency power.
    snr : float, default=1.0
        Standard deviation of the signal components relative to the (unit) background.
    phase : {"random", "fixed"}, default="random"
        Whether component phases (and frequencies) are drawn per sample or once per task.
    n_channels : int, default=1
        Number of channels; the output is 3-D when it is larger than 1.
    shuffle : bool, default=True
        Shuffle the samples (otherwise classification samples are ordered by class). Has no
        effect for regression, whose samples are i.i.d. already.
    random_state : int, RandomState instance or None, default=None
        Seed, used through :func:`sklearn.utils.check_random_state` only.

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        float64 sequences; 2-D when ``n_channels == 1``.
    y : ndarray of shape (n_samples,)
        int64 class labels, or float64 targets for regression.

    Examples
    --------
    >>> from sktdi.datasets import make_spectral_task
    >>> X, y = make_spectral_task(60, 128, n_classes=3, random_state=0)
    >>> X.shape, X.dtype, sorted(set(y.tolist()))
    ((60, 128), dtype('float64'), [0, 1, 2])
    >>> X, y = make_spectral_task(40, 64, task="regression", n_channels=2, random_state=0)
    >>> X.shape, round(float(y.std()), 6)
    ((40, 2, 64), 1.0)
    """
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
    if background not in _BACKGROUNDS:
        raise ValueError(f"background must be one of {_BACKGROUNDS}, got {background!r}.")
    if phase not in _PHASES:
        raise ValueError(f"phase must be one of {_PHASES}, got {phase!r}.")
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
    if not _is_int(seq_len) or seq_len < 2:
        raise ValueError(f"seq_len must be an integer >= 2, got {seq_len!r}.")
    if not _is_int(n_channels) or n_channels < 1:
        raise ValueError(f"n_channels must be an integer >= 1, got {n_channels!r}.")
    if task == "classification":
        if not _is_int(n_classes) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
        if n_samples < n_classes:
            raise ValueError(
                f"n_samples ({n_samples}) must be at least n_classes ({n_classes})."
            )
    if not isinstance(snr, numbers.Real) or not np.isfinite(snr) or snr < 0:
        raise ValueError(f"snr must be a finite number >= 0, got {snr!r}.")
    if not isinstance(ar_coef, numbers.Real) or not -1.0 < ar_coef < 1.0:
        raise ValueError(f"ar_coef must lie in the open interval (-1, 1), got {ar_coef!r}.")
    band_arr = _check_bands(bands)
    n_bands = len(band_arr)
    rng = check_random_state(random_state)

    X = _background(background, float(ar_coef), (n_samples, n_channels, seq_len), rng)

    if task == "classification":
        counts = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
        y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
        start = counts[0]
        for k in range(1, n_classes):
            band = band_arr[(k - 1) % n_bands]
            amplitude = snr * (1 + (k - 1) // n_bands)
            comp = _band_component(counts[k], seq_len, band, phase, rng)
            X[start : start + counts[k], 0, :] += amplitude * comp
            start += counts[k]
        if shuffle:
            order = rng.permutation(n_samples)
            X, y = X[order], y[order]
    else:
        for band in band_arr:
            scale = snr * rng.uniform(0.5, 1.5, size=(n_samples, 1))
            X[:, 0, :] += scale * _band_component(n_samples, seq_len, band, phase, rng)
        w = sum(_bandpass_impulse_response(band, seq_len)[::-1] for band in band_arr)
        y = X[:, 0, :] @ w
        std = y.std()
        y = y / std if std > 0 else y

    if n_channels == 1:
        X = X[:, 0, :]
    return np.ascontiguousarray(X, dtype=np.float64), y


# --------------------------------------------------------------------------------------
# UCR / UEA archive through aeon
# --------------------------------------------------------------------------------------

_AEON_MISSING = "load_ucr needs aeon: pip install 'sktdi[data]'"


def _bundled_ucr_names(aeon_datasets):
    """Problems whose ``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` ship inside aeon."""
    data_dir = Path(aeon_datasets.__file__).parent / "data"
    if not data_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in data_dir.iterdir()
        if (p / f"{p.name}_TRAIN.ts").is_file() and (p / f"{p.name}_TEST.ts").is_file()
    )


def load_ucr(name, *, split=None, return_X_y=True):
    """Load a UCR/UEA time series problem through aeon, in sktdi's array layout.

    Needs the optional dependency aeon (``pip install 'sktdi[data]'``). aeon ships a few
    problems inside its package, which load offline; with aeon 1.6 these are ACSF1,
    ArrowHead, BasicMotions (multivariate), CardanoSentiment (regression, multivariate),
    Covid3Month (regression), Covid3Month_disc, GunPoint, ItalyPowerDemand, JapaneseVowels
    (multivariate, unequal lengths), OSULeaf, PickupGestureWiimoteZ (unequal lengths) and
    UnitTest. Other names are passed on to aeon, which reads its local cache or downloads
    them from the archive when a network is available.

    Classification problems are loaded with ``aeon.datasets.load_classification``;
    regression problems (e.g. Covid3Month) with ``aeon.datasets.load_regression``, in
    which case ``y`` holds float targets. Problems whose series have unequal lengths come
    as aeon gives them, a list with one array per series, which every sktdi estimator
    accepts (:func:`pad_sequences` makes it one NaN-padded array).

    Parameters
    ----------
    name : str
        Problem name, e.g. ``"GunPoint"`` (bundled names also match case-insensitively).
    split : {None, "train", "test"}, default=None
        Which partition; ``None`` concatenates train and test (train first).
    return_X_y : bool, default=True
        Return ``(X, y)``; otherwise a :class:`~sklearn.utils.Bunch` with ``data``,
        ``target``, ``target_names`` (class labels, ``None`` for regression), ``task``,
        ``name`` and ``split``.

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len), or list
        float64; univariate problems are squeezed to 2-D. Unequal lengths give a list of
        ``(n_channels, length_i)`` arrays, or of 1-D arrays for a univariate problem.
    y : ndarray of shape (n_samples,)
        Class labels as aeon gives them (strings), or float64 regression targets.

    Raises
    ------
    ImportError
        If aeon is not installed.
    ValueError
        If ``split`` is invalid, or the problem is unknown or cannot be loaded (e.g.
        offline); the message lists the bundled problems.

    Examples
    --------
    >>> from sktdi.datasets import load_ucr
    >>> X, y = load_ucr("GunPoint", split="train")  # needs: pip install 'sktdi[data]'
    >>> X.shape, y.shape
    ((50, 150), (50,))
    >>> X, y = load_ucr("PickupGestureWiimoteZ", split="train")  # unequal lengths
    >>> type(X).__name__, len(X), X[0].ndim, min(len(x) for x in X), max(len(x) for x in X)
    ('list', 50, 1, 29, 361)
    """
    if split is not None and (
        not isinstance(split, str) or split.lower() not in ("train", "test")
    ):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}.")
    split = None if split is None else split.lower()
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}.")
    try:
        import aeon.datasets as aeon_datasets
    except ImportError as exc:
        raise ImportError(_AEON_MISSING) from exc

    bundled = _bundled_ucr_names(aeon_datasets)
    canonical = {b.lower(): b for b in bundled}.get(name.lower(), name)

    def _fail(exc):
        return ValueError(
            f"UCR/UEA problem {name!r} could not be loaded ({type(exc).__name__}: {exc}). "
            "Check the name; without a network only the problems bundled with aeon load: "
            f"{', '.join(bundled)}."
        )

    task = "classification"
    try:
        X, y, meta = aeon_datasets.load_classification(
            canonical, split=split, return_metadata=True, load_equal_length=False
        )
    except ValueError as exc_cls:
        # aeon refuses regression problems in load_classification; try load_regression.
        try:
            X, y, meta = aeon_datasets.load_regression(
                canonical, split=split, return_metadata=True, load_equal_length=False
            )
            task = "regression"
        except (ValueError, OSError, KeyError, RuntimeError) as exc_reg:
            raise _fail(exc_cls) from exc_reg
    except (OSError, KeyError, RuntimeError) as exc:
        raise _fail(exc) from exc

    X = _as_sktdi_layout(X)
    y = np.asarray(y, dtype=np.float64) if task == "regression" else np.asarray(y)
    if return_X_y:
        return X, y
    target_names = None
    if task == "classification":
        target_names = np.asarray(meta.get("class_values") or np.unique(y))
    return Bunch(
        data=X, target=y, target_names=target_names, task=task, name=canonical, split=split
    )


def _as_sktdi_layout(X):
    """aeon's collection (a 3-D array, or a list of ``(C, L_i)`` arrays for unequal
    lengths) in float64, univariate series squeezed to 1-D."""
    if isinstance(X, np.ndarray) or len({x.shape for x in X}) == 1:
        X = np.asarray(X, dtype=np.float64)
        return X[:, 0, :] if X.ndim == 3 and X.shape[1] == 1 else X
    X = [np.asarray(x, dtype=np.float64) for x in X]
    return [x[0] for x in X] if X[0].shape[0] == 1 else X


# --------------------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------------------

_READ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile)


def _check_X(X, path):
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"{path}: X must hold numbers, got an array of dtype {X.dtype}."
        )
    if X.ndim not in (2, 3):
        raise ValueError(
            f"{path}: X must be 2-D (n_samples, seq_len) or 3-D "
            f"(n_samples, n_channels, seq_len), got shape {X.shape}."
        )
    return np.asarray(X, dtype=np.float64)


def _check_y(y, X, path):
    y = np.asarray(y)
    if y.dtype.kind not in "biufUS":
        raise ValueError(f"{path}: y must hold numbers or strings, got dtype {y.dtype}.")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{path}: y must be 1-D with one label per sequence: X has {X.shape[0]} "
            f"sequences but y has shape {y.shape}."
        )
    return y


def _labels_from_strings(col):
    """Numeric labels when every entry parses as a number (int when all integral)."""
    try:
        values = col.astype(np.float64)
    except ValueError:
        return col
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return values


def _warn_if_values(y, path, label_column):
    """Warn when a CSV's label column looks like a column of sequence values."""
    if y.dtype.kind != "f" or len(y) < 10 or np.unique(y).size < len(y):
        return
    other = "first" if label_column == "last" else "last"
    warn(f"{path}: the {label_column} column, read as the label, holds {len(y)} distinct "
         f"non-integer values in {len(y)} rows: it looks like a sequence value, and the "
         f"problem will be read as regression. If the label is in the {other} column (the "
         f"UCR archive's text files put it first), pass label_column={other!r} "
         f"(sktdi curves --label-column {other}).")


def load_sequences(path, *, label_column="last"):
    """Load a user's own sequences from a ``.npz``, ``.npy`` or ``.csv`` file.

    * ``.npz``: arrays ``X`` (required) and ``y`` (optional; ``None`` when absent), as
      written by ``numpy.savez(path, X=X, y=y)``. Saved without pickling.
    * ``.npy``: a single array ``X``; returns ``(X, None)``.
    * ``.csv``: comma-separated, no header, one univariate sequence per row with the label
      in the **last** column, or with ``label_column="first"`` in the first (the UCR
      archive's text format). Labels are returned as int64 when all are integral
      numbers, float64 when all are numbers, and as strings otherwise. A ``UserWarning``
      says so when the label column holds as many distinct non-integer numbers as there
      are rows: it looks like a sequence value, not a label.

    ``X`` must be numeric and 2-D ``(n_samples, seq_len)`` or 3-D
    ``(n_samples, n_channels, seq_len)``; it is returned as float64.

    Parameters
    ----------
    path : str or path-like
        File to read; the format follows from the suffix.
    label_column : {"last", "first"}, default="last"
        Where the label of a ``.csv`` row is.

    Returns
    -------
    X : ndarray of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
    y : ndarray of shape (n_samples,) or None

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the suffix is not supported, the file cannot be parsed, an ``.npz`` lacks ``X``,
        ``X`` is not numeric or has the wrong number of dimensions, or the number of labels
        differs from the number of sequences.

    Examples
    --------
    >>> import os, tempfile
    >>> from sktdi.datasets import load_sequences
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.csv")
    >>> _ = open(path, "w").write("0.1,0.2,0.3,1\\n0.4,0.5,0.6,0\\n")
    >>> X, y = load_sequences(path)
    >>> X.shape, y.tolist()
    ((2, 3), [1, 0])
    """
    if label_column not in ("first", "last"):
        raise ValueError(f"label_column must be 'first' or 'last', got {label_column!r}.")
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".npy", ".csv"):
        raise ValueError(
            f"{path}: unsupported file type {suffix or '(no suffix)'!r}; "
            "use .npz (X, y), .npy (X) or .csv (label in the last column)."
        )

    if suffix == ".csv":
        try:
            with warnings.catch_warnings():  # an empty file is reported below instead
                warnings.simplefilter("ignore", UserWarning)
                raw = np.loadtxt(path, delimiter=",", dtype=str, ndmin=2)
        except _READ_ERRORS as exc:
            raise ValueError(f"{path}: could not read the CSV file ({exc}).") from exc
        if raw.size == 0:
            raise ValueError(f"{path}: the CSV file holds no data.")
        if raw.shape[1] < 2:
            raise ValueError(
                f"{path}: each row needs at least one value and a label ({label_column} "
                f"column), got {raw.shape[1]} column(s)."
            )
        raw = np.char.strip(raw)
        values, labels = (raw[:, 1:], raw[:, 0]) if label_column == "first" else (
            raw[:, :-1], raw[:, -1])
        try:
            X = values.astype(np.float64)
        except ValueError as exc:
            raise ValueError(
                f"{path}: non-numeric value in the sequence columns ({exc}); the file "
                f"must have no header and the label in the {label_column} column."
            ) from exc
        y = _labels_from_strings(labels)
        _warn_if_values(y, path, label_column)
        return X, y

    try:
        loaded = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ValueError(f"{path}: could not read the {suffix} file ({exc}).") from exc

    if suffix == ".npy":
        if not isinstance(loaded, np.ndarray):
            raise ValueError(f"{path}: expected a single array in the .npy file.")
        return _check_X(loaded, path), None

    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive holding arrays X and y.")
    with loaded:
        if "X" not in loaded.files:
            raise ValueError(f"{path}: the .npz archive has no array 'X' (found {loaded.files}).")
        try:
            X = loaded["X"]
            y = loaded["y"] if "y" in loaded.files else None
        except _READ_ERRORS as exc:
            raise ValueError(f"{path}: could not read the .npz archive ({exc}).") from exc
    X = _check_X(X, path)
    if y is not None:
        y = _check_y(y, X, path)
    return X, y
