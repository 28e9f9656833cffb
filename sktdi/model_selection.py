"""Sample-efficiency curves: score against training-set size for several estimators.

:func:`sklearn.model_selection.learning_curve` trains on prefixes of the training folds,
which are not stratified: at small training sizes a prefix can miss classes and the fit
fails (a NaN score). :func:`sample_efficiency_curve` orders the training pool so that every
prefix is as stratified as possible (:func:`stratified_nested_order`), so the subsets are
nested, every class appears once the size reaches the number of classes, and all
estimators see the same subsets and the same held-out set.
"""

import numbers
import os
import time
import warnings
from collections.abc import Mapping

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, indexable
from sklearn.utils.parallel import Parallel, delayed  # carries warning filters and config

from ._compat import _num_samples, _safe_indexing
from ._validation import is_classification_target

__all__ = [
    "compare_with_baselines", "data_efficiency", "is_classification_target", "rank_models",
    "sample_efficiency_curve", "stratified_nested_order", "summarize_curves",
]

_SEED_MAX = np.iinfo(np.int32).max


# ---------------------------------------------------------------------- ordering
def stratified_nested_order(y, random_state=None, min_per_class=1):
    """Order samples so that every prefix of the order is as stratified as possible.

    The first ``n_classes`` samples are one of each class (largest classes first), and so
    are the next ``n_classes`` for every further round up to ``min_per_class`` (a class
    with fewer samples gives what it has). After that, each next sample comes from the
    class furthest below its share: the class that
    maximizes ``(m + 1) * n_c / n - count_c``, where ``m`` samples are already placed,
    ``count_c`` of them of class ``c`` (``n_c`` samples of ``n``). Within a class the
    samples are taken in a random order; ties between classes are broken at random.
    Taking the first ``m`` samples of the order gives nested training subsets (the
    subset of size 16 is contained in the one of size 64) that:

    - contain every class once ``m >= n_classes``;
    - never over-represent a class: ``count_c < m * n_c / n + 1`` in every prefix;
    - keep every class within 1 of its share, ``|count_c - m * n_c / n| < 1``, except
      where one-of-each-class forces otherwise: with very rare classes, a large class
      lags behind at the smallest sizes until it has caught up.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the order within each class and the tie-breaks.
    min_per_class : int, default=1
        Rounds of one sample of every class at the start: every prefix of at least
        ``min_per_class * n_classes`` samples holds ``min_per_class`` of every class (of
        those that have as many).

    Returns
    -------
    order : ndarray of shape (n_samples,)
        A permutation of ``range(n_samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi.model_selection import stratified_nested_order
    >>> y = np.array([0] * 6 + [1] * 3 + [2] * 3)
    >>> order = stratified_nested_order(y, random_state=0)
    >>> sorted(y[order[:3]].tolist())
    [0, 1, 2]
    >>> np.bincount(y[order[:8]]).tolist()
    [4, 2, 2]
    >>> order = stratified_nested_order(y, random_state=0, min_per_class=2)
    >>> np.bincount(y[order[:6]]).tolist()
    [2, 2, 2]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D class labels; got an array of shape {y.shape}.")
    if not isinstance(min_per_class, numbers.Integral) or min_per_class < 1:
        raise ValueError(f"min_per_class must be a positive int; got {min_per_class!r}.")
    rng = check_random_state(random_state)
    n = y.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.ravel()
    counts = counts.astype(np.int64)
    n_classes = counts.size
    shuffled = rng.permutation(n)
    members = [shuffled[codes[shuffled] == c] for c in range(n_classes)]

    # Class of every position: rounds of one of each (largest first), then the largest
    # deficit. Deficits are scaled by n to stay exact integers: (m + 1) * n_c - count_c * n.
    class_seq = np.empty(n, dtype=np.intp)
    taken = np.zeros(n_classes, dtype=np.int64)
    placed = 0
    for round_ in range(min_per_class):
        available = np.flatnonzero(counts > round_)
        if available.size == 0:
            break
        ranks = np.lexsort((rng.permutation(available.size), -counts[available]))
        class_seq[placed:placed + available.size] = available[ranks]
        taken[available] += 1
        placed += available.size
    exhausted = np.iinfo(np.int64).min
    for m in range(placed, n):
        deficit = (m + 1) * counts - taken * n
        deficit[taken == counts] = exhausted
        best = np.flatnonzero(deficit == deficit.max())
        c = best[0] if best.size == 1 else best[rng.randint(best.size)]
        class_seq[m] = c
        taken[c] += 1

    order = np.empty(n, dtype=np.intp)
    for c in range(n_classes):
        order[class_seq == c] = members[c]
    return order


# ---------------------------------------------------------------- validation
def _check_estimators(estimators):
    if isinstance(estimators, Mapping):
        pairs = list(estimators.items())
    else:
        try:
            pairs = [tuple(pair) for pair in estimators]
        except TypeError as exc:
            raise TypeError(
                "estimators must be a dict name -> estimator or a list of (name, estimator) "
                f"pairs; got {type(estimators).__name__}."
            ) from exc
    if not pairs:
        raise ValueError("estimators is empty: pass at least one estimator.")
    names = []
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(f"estimators must be (name, estimator) pairs; got {pair!r}.")
        name, est = pair
        if not isinstance(name, str):
            raise TypeError(f"estimator names must be strings; got {name!r}.")
        if not hasattr(est, "fit"):
            raise TypeError(f"estimator {name!r} has no fit method: {est!r}.")
        names.append(name)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"estimator names must be unique; repeated: {duplicates}.")
    return pairs


def _check_train_sizes(train_sizes, n_pool, min_size, floor=0):
    """``{absolute size: requested size}``, sorted by size and unique in the absolute size
    (the first request wins); ``min_size`` is the number of classes, and fractions are
    raised to at least ``floor`` samples."""
    if isinstance(train_sizes, numbers.Number):
        train_sizes = [train_sizes]
    sizes = np.asarray(train_sizes, dtype=object).ravel()
    if sizes.size == 0:
        raise ValueError("train_sizes is empty: pass at least one training size.")
    absolute, requested = [], []
    for size in sizes:
        if isinstance(size, bool | np.bool_) or not isinstance(size, numbers.Real):
            raise TypeError(
                "train_sizes must hold ints (numbers of samples) or floats in (0, 1] "
                f"(fractions of the training pool); got {size!r}."
            )
        if isinstance(size, numbers.Integral):
            if size <= 0:
                raise ValueError(f"train_sizes must be positive; got {int(size)}.")
            absolute.append(int(size))
            requested.append(int(size))
        else:
            if not 0.0 < size <= 1.0:
                raise ValueError(
                    "fractional train_sizes must lie in (0, 1] (fractions of the training "
                    f"pool of {n_pool} samples); got {float(size)!r}. Use ints for "
                    "numbers of samples."
                )
            absolute.append(min(n_pool, max(int(np.floor(size * n_pool + 1e-9)), floor)))
            requested.append(float(size))
    labels = {}
    for size, request in sorted(zip(absolute, requested, strict=True)):
        labels.setdefault(int(size), request)
    absolute = np.array(sorted(labels))
    if absolute[0] <= 0:
        raise ValueError(
            f"train_sizes must be positive; a fraction of the training pool of {n_pool} "
            f"samples rounds down to {absolute[0]} samples."
        )
    if absolute[-1] > n_pool:
        raise ValueError(
            f"train_sizes {absolute[absolute > n_pool].tolist()} are larger than the "
            f"training pool of {n_pool} samples."
        )
    if absolute[0] < min_size:
        raise ValueError(
            f"train_sizes {absolute[absolute < min_size].tolist()} are below the number of "
            f"classes ({min_size}): a classifier needs at least one sample of every class."
        )
    return labels


def _uses_torch(estimator):
    """Whether ``estimator`` (or an estimator nested in it) is an sktdi estimator."""
    candidates = [estimator]
    if hasattr(estimator, "get_params"):
        candidates += list(estimator.get_params(deep=True).values())
    return any(
        isinstance(obj, BaseEstimator) and type(obj).__module__.split(".")[0] == "sktdi"
        for obj in candidates
    )


# ---------------------------------------------------------------------- fitting
def _fit_and_score(key, estimator, scoring, X, y, train_idx, X_eval, y_eval, test_idx,
                   torch_threads):
    """Fit a clone on ``X[train_idx]`` and score it on the held-out set (one job).

    Returns ``(key, result)``, so that results arriving out of order can be matched.
    """
    previous_threads = None
    if torch_threads is not None and _uses_torch(estimator):
        import torch

        previous_threads = torch.get_num_threads()
        torch.set_num_threads(torch_threads)
    try:
        X_fit, y_fit = _safe_indexing(X, train_idx), _safe_indexing(y, train_idx)
        if test_idx is not None:
            X_eval, y_eval = _safe_indexing(X_eval, test_idx), _safe_indexing(y_eval, test_idx)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            estimator.fit(X_fit, y_fit)
        fit_time = time.perf_counter() - start
        for warning in caught:  # the others pass on, as they would have
            if not issubclass(warning.category, ConvergenceWarning):
                warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                       warning.lineno)
        scorer = check_scoring(estimator, scoring=scoring)
        start = time.perf_counter()
        score = float(scorer(estimator, X_eval, y_eval))
        score_time = time.perf_counter() - start
    finally:
        if previous_threads is not None:
            import torch

            torch.set_num_threads(previous_threads)
    alignment = getattr(estimator, "spectral_alignment_", None)
    if alignment is None:
        alignment_init = alignment_trained = np.nan
    else:
        alignment_init = float(alignment["init"])
        alignment_trained = float(alignment["trained"])
    n_iter = getattr(estimator, "n_iter_", None)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return key, {
        "score": score, "fit_time": fit_time, "score_time": score_time,
        "n_test": int(_num_samples(X_eval)),
        "alignment_init": alignment_init, "alignment_trained": alignment_trained,
        "n_iter": np.nan if n_iter is None else float(np.max(n_iter)),
        "converged": converged,
    }


def _want_dataframe(return_dataframe):
    if return_dataframe == "auto":
        try:
            import pandas  # noqa: F401
        except ImportError:
            return False
        return True
    if isinstance(return_dataframe, bool):
        return return_dataframe
    raise ValueError(f"return_dataframe must be True, False or 'auto'; got {return_dataframe!r}.")


def _to_dataframe(records, columns):
    import pandas as pd

    return pd.DataFrame.from_records(records, columns=columns)


def _normalize_skip(skip):
    if skip is None:
        return frozenset()
    try:
        return frozenset((str(name), int(size), int(rep)) for name, size, rep in skip)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "skip must be a collection of (estimator name, train_size, repeat) tuples."
        ) from exc


RECORD_COLUMNS = (
    "estimator", "size", "train_size", "repeat", "score", "fit_time", "score_time", "n_test",
    "alignment_init", "alignment_trained", "n_iter", "converged",
)


def sample_efficiency_curve(estimators, X, y, train_sizes, *, n_repeats=3, test_size=0.25,
                            X_test=None, y_test=None, scoring=None, n_jobs=None,
                            random_state=None, verbose=0, on_result=None, skip=None,
                            torch_threads="auto", min_per_class=1, return_dataframe="auto"):
    """Held-out score against training-set size for several estimators on the same subsets.

    For every repeat, a held-out test set is split off (stratified for classification
    targets) unless ``X_test`` and ``y_test`` are given, and the rest, the training pool,
    is ordered with :func:`stratified_nested_order` (a plain shuffle for other targets).
    A clone of every estimator is then fitted on the first ``train_size`` samples of the
    pool for every size, and scored on the held-out set. The subsets are nested, contain
    every class once the size reaches the number of classes, and are the same for all
    estimators; unlike :func:`sklearn.model_selection.learning_curve`, tiny sizes do not
    miss classes.

    Parameters
    ----------
    estimators : dict or list of (str, estimator) tuples
        Named estimators, cloned for every fit. Set their ``random_state`` for
        reproducible fits.
    X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        Samples (any shape the estimators accept; indexed along the first axis).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets. Binary and multiclass targets (:func:`~sklearn.utils.multiclass.type_of_target`)
        are stratified; other targets are split and ordered at random.
    train_sizes : int, float or array-like of int or float
        Training sizes: ints are numbers of samples; floats in (0, 1] are fractions of the
        training pool (rounded down, and raised to ``min_per_class`` samples of every
        class). Deduplicated and sorted. Must be positive, at most the pool size and, for
        classifiers on a classification target, at least the number of classes.
    n_repeats : int, default=3
        Number of repeats, each with its own split and order.
    test_size : float or int, default=0.25
        Size of the held-out set (see :func:`~sklearn.model_selection.train_test_split`).
        Ignored when ``X_test`` is given.
    X_test, y_test : array-like, default=None
        A fixed held-out set. The whole of ``X`` is then the training pool, reordered in
        every repeat.
    scoring : str, callable or None, default=None
        Scorer (see :func:`~sklearn.metrics.check_scoring`); ``None`` uses each
        estimator's ``score`` method.
    n_jobs : int or None, default=None
        Jobs run in parallel over (estimator, size, repeat), through joblib (so
        ``joblib.parallel_config(backend="dask")`` runs them on a Dask cluster).
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and orders of all repeats.
    verbose : int, default=0
        Print a line for every finished fit when positive.
    on_result : callable, default=None
        Called with every record in the calling process as soon as it arrives (in
        completion order), e.g. to write results as they come.
    skip : collection of (str, int, int) tuples, default=None
        ``(estimator name, train_size, repeat)`` to leave out, e.g. those already done
        when resuming; they are neither fitted nor returned. Splits and orders do not
        change, so resumed results match an uninterrupted run.
    torch_threads : int or "auto", default="auto"
        Torch threads of every fit of an sktdi estimator, set in the worker that runs it.
        ``"auto"`` gives each of ``n_workers`` parallel jobs ``os.cpu_count() //
        n_workers`` threads (no oversubscription) and leaves torch alone with one job.
        Torch's CPU training sums in an order that depends on the thread count, so fits
        with different thread counts can differ in the last bits; fix ``torch_threads``
        (1 is the efficient choice for many small fits) for results that are bitwise
        identical whatever ``n_jobs``, on one machine (another CPU rounds otherwise).
    min_per_class : int, default=1
        Every training subset of at least ``min_per_class * n_classes`` samples holds
        ``min_per_class`` of every class (:func:`stratified_nested_order`), and fractional
        sizes are raised to that many samples: ``min_per_class=2`` with sizes ``0.1,
        0.3, 1.0`` is the protocol of the public-panel benchmark.
    return_dataframe : bool or "auto", default="auto"
        Return a :class:`pandas.DataFrame`; ``"auto"`` does when pandas is installed.

    Returns
    -------
    records : list of dict or pandas.DataFrame
        One record per fit, sorted by estimator (in the given order), ``train_size`` and
        ``repeat``, with the keys ``estimator``, ``size`` (the size as requested: a number
        of samples, or a fraction), ``train_size`` (the number of samples), ``repeat``,
        ``score``,
        ``fit_time``, ``score_time``, ``n_test``, ``alignment_init`` and
        ``alignment_trained`` (the ``spectral_alignment_`` losses of TDI estimators,
        NaN for others).

    See Also
    --------
    summarize_curves : Mean and spread over repeats.
    data_efficiency : Smallest training size that reaches a target score.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktdi.model_selection import sample_efficiency_curve
    >>> X, y = load_iris(return_X_y=True)
    >>> records = sample_efficiency_curve(
    ...     {"logreg": LogisticRegression()}, X, y, train_sizes=[3, 12, 48],
    ...     n_repeats=2, random_state=0, return_dataframe=False)
    >>> [(r["train_size"], r["repeat"]) for r in records]
    [(3, 0), (3, 1), (12, 0), (12, 1), (48, 0), (48, 1)]
    >>> all(0.0 <= r["score"] <= 1.0 for r in records)
    True
    """
    pairs = _check_estimators(estimators)
    as_dataframe = _want_dataframe(return_dataframe)
    _check_curve_options(n_repeats, torch_threads, on_result, min_per_class, X_test, y_test)
    X, y = indexable(X, y)
    y_arr = np.asarray(y)
    for _, est in pairs:
        check_scoring(est, scoring=scoring)  # fail before any fitting
    skip = _normalize_skip(skip)
    if X_test is not None:
        X_test, y_test = indexable(X_test, y_test)
        if _num_samples(X_test) == 0:
            raise ValueError("X_test is empty.")

    stratify = is_classification_target(y_arr)
    n_classes = len(np.unique(y_arr)) if stratify else 0
    splits = _draw_splits(check_random_state(random_state), n_repeats, y_arr, stratify,
                          test_size, X_test is not None, min_per_class)
    min_size = n_classes if (stratify and any(is_classifier(e) for _, e in pairs)) else 1
    requested = _check_train_sizes(train_sizes, len(splits[0][0]), min_size,
                                   floor=min_per_class * n_classes if stratify else 0)
    tasks = [(i, name, size, r) for i, (name, _) in enumerate(pairs) for size in requested
             for r in range(n_repeats) if (name, size, r) not in skip]
    n_workers = min(effective_n_jobs(n_jobs), max(len(tasks), 1))
    if torch_threads == "auto":
        torch_threads = max(1, (os.cpu_count() or 1) // n_workers) if n_workers > 1 else None

    def jobs():
        X_eval, y_eval = (X, y) if X_test is None else (X_test, y_test)
        for key in tasks:
            i, _name, size, r = key
            ordered_pool, test = splits[r]
            yield delayed(_fit_and_score)(
                key, clone(pairs[i][1]), scoring, X, y, ordered_pool[:size], X_eval, y_eval,
                test, torch_threads,
            )

    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs())
    records = _collect_records(results, len(tasks), requested, verbose, on_result)
    return _to_dataframe(records, RECORD_COLUMNS) if as_dataframe else records


def _check_curve_options(n_repeats, torch_threads, on_result, min_per_class, X_test, y_test):
    """The options of :func:`sample_efficiency_curve` that scikit-learn does not check."""
    if not isinstance(n_repeats, numbers.Integral) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive int; got {n_repeats!r}.")
    if torch_threads != "auto" and not (
            isinstance(torch_threads, numbers.Integral) and torch_threads >= 1):
        raise ValueError(f"torch_threads must be 'auto' or a positive int; got {torch_threads!r}.")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"on_result must be callable; got {on_result!r}.")
    if not isinstance(min_per_class, numbers.Integral) or min_per_class < 1:
        raise ValueError(f"min_per_class must be a positive int; got {min_per_class!r}.")
    if (X_test is None) != (y_test is None):
        raise ValueError("pass both X_test and y_test, or neither.")


def _draw_splits(rng, n_repeats, y, stratify, test_size, external_test, min_per_class):
    """Per repeat: ``(pool indices in training order, test indices or None)``, drawn in a
    fixed sequence (so that skipping fits changes nothing)."""
    splits = []
    for _ in range(n_repeats):
        split_seed, order_seed = rng.randint(_SEED_MAX, size=2)
        if external_test:
            pool, test = np.arange(len(y)), None
        else:
            pool, test = train_test_split(np.arange(len(y)), test_size=test_size,
                                          random_state=split_seed,
                                          stratify=y if stratify else None)
            pool, test = np.sort(pool), np.sort(test)
        if stratify:
            order = stratified_nested_order(y[pool], random_state=order_seed,
                                            min_per_class=min_per_class)
        else:
            order = check_random_state(order_seed).permutation(len(pool))
        splits.append((pool[order], test))
    return splits


def _collect_records(results, n_tasks, requested, verbose, on_result):
    """Records of the finished fits, reported as they arrive, returned in estimator, size
    and repeat order."""
    records = []
    for done, ((i, name, size, r), result) in enumerate(results, start=1):
        record = {"estimator": name, "size": requested[size], "train_size": size, "repeat": r,
                  **result}
        record = {col: record[col] for col in RECORD_COLUMNS}
        records.append((i, record))
        if verbose > 0:
            print(f"[sample_efficiency_curve] {done}/{n_tasks} {name} train_size={size} "
                  f"repeat={r}: score={record['score']:.4f} "
                  f"(fit {record['fit_time']:.2f}s, score {record['score_time']:.2f}s)",
                  flush=True)
        if on_result is not None:
            on_result(dict(record))
    records.sort(key=lambda item: (item[0], item[1]["train_size"], item[1]["repeat"]))
    return [record for _, record in records]


# -------------------------------------------------------------------- summaries
def _as_records(records):
    if hasattr(records, "to_dict"):  # a DataFrame
        return records.to_dict("records")
    return list(records)


def summarize_curves(records, *, return_dataframe="auto", by="train_size"):
    """Mean, spread and count of the score per estimator and training size.

    The one aggregation of curves in sktdi: the tables of ``sktdi curves`` and the bands of
    :func:`sktdi.plotting.plot_sample_efficiency` both come from it.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        The output of :func:`sample_efficiency_curve` (needs the keys ``estimator``, the
        ``by`` column and ``score``).
    return_dataframe : bool or "auto", default="auto"
        Return a :class:`pandas.DataFrame`; ``"auto"`` does when pandas is installed.
    by : str, default="train_size"
        Column that holds the size (another one, such as the requested fraction of a
        multi-problem run, can be named).

    Returns
    -------
    summary : list of dict or pandas.DataFrame
        One row per (estimator, size), estimators in order of first appearance and sizes
        ascending, with ``mean``, ``std`` (the sample standard deviation, ``ddof=1``; NaN
        for a single score), ``min``, ``max`` and ``count`` of the finite scores over
        repeats, and ``n_failed``, the NaN scores (failed fits) left out.

    Examples
    --------
    >>> from sktdi.model_selection import summarize_curves
    >>> records = [{"estimator": "a", "train_size": 10, "score": s} for s in (0.5, 0.75)]
    >>> row = summarize_curves(records, return_dataframe=False)[0]
    >>> row["mean"], round(row["std"], 4), row["count"], row["n_failed"]
    (0.625, 0.1768, 2, 0)
    """
    as_dataframe = _want_dataframe(return_dataframe)
    groups = {}
    for record in _as_records(records):
        key = (record["estimator"], float(record[by]))
        groups.setdefault(key, []).append(float(record["score"]))
    first_seen = {}
    for name, _ in groups:
        first_seen.setdefault(name, len(first_seen))
    rows = []
    for (name, size) in sorted(groups, key=lambda k: (first_seen[k[0]], k[1])):
        scores = np.asarray(groups[(name, size)])
        finite = scores[np.isfinite(scores)]
        rows.append({
            "estimator": name, "train_size": int(size) if size.is_integer() else size,
            "mean": float(finite.mean()) if finite.size else np.nan,
            "std": float(finite.std(ddof=1)) if finite.size > 1 else np.nan,
            "min": float(finite.min()) if finite.size else np.nan,
            "max": float(finite.max()) if finite.size else np.nan,
            "count": int(finite.size), "n_failed": int(scores.size - finite.size),
        })
    if as_dataframe:
        return _to_dataframe(
            rows, ["estimator", "train_size", "mean", "std", "min", "max", "count", "n_failed"]
        )
    return rows


def _problem_means(records, by):
    """(problem, size) -> estimator -> mean finite score; problems from a ``dataset`` key."""
    means = {}
    for record in _as_records(records):
        score = float(record["score"])
        if not np.isfinite(score):
            continue
        key = (record.get("dataset", ""), float(record[by]))
        means.setdefault(key, {}).setdefault(record["estimator"], []).append(score)
    return {key: {name: float(np.mean(v)) for name, v in cell.items()}
            for key, cell in means.items()}


def rank_models(records, *, by="train_size"):
    """Mean score and mean rank of every estimator per size, over problems.

    Within every problem (the ``dataset`` key of the records; one problem when absent)
    and size, estimators are ranked by their mean score over repeats (1 = best; ties
    share the mean of their ranks); ranks and scores are then averaged over problems.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        Records of :func:`sample_efficiency_curve`, with a ``dataset`` key for several
        problems.
    by : str, default="train_size"
        Column that holds the size.

    Returns
    -------
    rows : list of dict
        ``size``, ``estimator``, ``mean_score``, ``mean_rank``, ``n_problems``; sizes
        ascending, estimators in order of first appearance.

    Examples
    --------
    >>> from sktdi.model_selection import rank_models
    >>> records = [{"dataset": d, "estimator": e, "train_size": 10, "score": s}
    ...            for d, scores in [("A", (0.9, 0.8)), ("B", (0.6, 0.7))]
    ...            for e, s in zip(("ssm", "ridge"), scores)]
    >>> [(r["estimator"], r["mean_score"], r["mean_rank"]) for r in rank_models(records)]
    [('ssm', 0.75, 1.5), ('ridge', 0.75, 1.5)]
    """
    from scipy.stats import rankdata

    means = _problem_means(records, by)
    order = list(dict.fromkeys(r["estimator"] for r in _as_records(records)))
    rows = []
    for size in sorted({size for _, size in means}):
        cells = [cell for (_, s), cell in means.items() if s == size]
        for name in order:
            present = [cell for cell in cells if name in cell]
            if not present:
                continue
            ranks = [rankdata([-cell[m] for m in cell])[list(cell).index(name)]
                     for cell in present]
            rows.append({"size": int(size) if float(size).is_integer() else size,
                         "estimator": name,
                         "mean_score": float(np.mean([cell[name] for cell in present])),
                         "mean_rank": float(np.mean(ranks)), "n_problems": len(present)})
    return rows


def compare_with_baselines(records, baselines, *, by="train_size", tie=0.005):
    """Wins, ties and losses of every estimator against every baseline, per size.

    On every problem (``dataset`` key) and size, an estimator *wins* against a baseline
    when its mean score over repeats is higher by more than ``tie``, *loses* when it is
    lower by more than ``tie``, and *ties* otherwise; the mean gap is reported too.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
    baselines : sequence of str
        Names of the estimators to compare against.
    by : str, default="train_size"
    tie : float, default=0.005
        Score differences up to this count as ties (half a point of accuracy).

    Returns
    -------
    rows : list of dict
        ``size``, ``estimator``, ``baseline``, ``wins``, ``ties``, ``losses`` and
        ``mean_gap`` (estimator minus baseline), for every estimator that is not the
        baseline itself.

    Examples
    --------
    >>> from sktdi.model_selection import compare_with_baselines
    >>> records = [{"dataset": d, "estimator": e, "train_size": 10, "score": s}
    ...            for d, scores in [("A", (0.9, 0.8)), ("B", (0.7, 0.7))]
    ...            for e, s in zip(("ssm", "ridge"), scores)]
    >>> row = compare_with_baselines(records, ["ridge"])[0]
    >>> row["wins"], row["ties"], row["losses"], round(row["mean_gap"], 3)
    (1, 1, 0, 0.05)
    """
    means = _problem_means(records, by)
    order = list(dict.fromkeys(r["estimator"] for r in _as_records(records)))
    rows = []
    for size in sorted({size for _, size in means}):
        cells = [cell for (_, s), cell in means.items() if s == size]
        for baseline in baselines:
            for name in order:
                if name == baseline:
                    continue
                gaps = np.array([cell[name] - cell[baseline] for cell in cells
                                 if name in cell and baseline in cell])
                if gaps.size == 0:
                    continue
                rows.append({
                    "size": int(size) if float(size).is_integer() else size,
                    "estimator": name, "baseline": baseline,
                    "wins": int(np.sum(gaps > tie)), "ties": int(np.sum(np.abs(gaps) <= tie)),
                    "losses": int(np.sum(gaps < -tie)), "mean_gap": float(gaps.mean()),
                })
    return rows


def data_efficiency(records, target_score):
    """Smallest training size whose mean score reaches ``target_score``, per estimator.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        The output of :func:`sample_efficiency_curve`.
    target_score : float
        Score to reach (mean over repeats, ``>=``).

    Returns
    -------
    sizes : dict
        Estimator name -> smallest ``train_size`` (int) whose mean score is at least
        ``target_score``, or ``None`` if no size reaches it; estimators in order of first
        appearance.

    Examples
    --------
    >>> from sktdi.model_selection import data_efficiency
    >>> records = [
    ...     {"estimator": "a", "train_size": 10, "score": 0.6},
    ...     {"estimator": "a", "train_size": 20, "score": 0.9},
    ...     {"estimator": "b", "train_size": 10, "score": 0.5},
    ... ]
    >>> data_efficiency(records, 0.8)
    {'a': 20, 'b': None}
    """
    summary = summarize_curves(records, return_dataframe=False)
    result = {}
    for row in summary:
        result.setdefault(row["estimator"], None)
        if result[row["estimator"]] is None and row["mean"] >= target_score:
            result[row["estimator"]] = row["train_size"]
    return result
