"""scikit-learn estimators that train an SSM with torch: `SSMClassifier`, `SSMRegressor`.

One model, two ways to fit it. A trained estimator first fits what the training-free
estimator of :mod:`sktdi.feature_estimators` fits, with the same parameters: the same bank
(named, TDI or ``"auto"``), the same pooled statistics and the same ridge readout, which
becomes the network's head (:class:`sktdi.core.SSMNetwork`). At that start its predictions
are the training-free estimator's. Training then moves everything (the SSM, the bank's
input weights and biases, the pooling's thresholds, deeper layers and the head) by Adam on
the readout's own objective: the squared error of the ``+-1`` class codes (or of the
targets) plus the readout's ridge penalty on the head. The counts (``ppv``, ``lspv``) are
trained through their smooth forms (:mod:`sktdi.core.pooling`).

An honest criterion decides what is kept. With ``early_stopping`` (the default) a
stratified ``validation_fraction`` of the distinct training sequences is held out: the
start and every epoch are scored on it, the best state (the start included) is kept, and
it replaces the start only when its per-sequence errors are lower by
``KEEP_SIGNIFICANCE`` standard errors of the paired difference. Without early stopping the
network trains on every row and the criterion is the readout's leave-one-out errors on the
refreshed features. Either way the readout is refitted on all training rows at the end;
when the start is kept, the fitted model *is* the training-free estimator fitted on all
rows. With too few sequences to hold any out, nothing is trained.
"""

import copy
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels

from ._compat import Interval, StrOptions, _fit_context
from ._validation import validate_sequences
from ._warnings import warn
from .core import (
    INIT_NAMES,
    DiagonalSSM,
    SSMBlock,
    SSMFeatureMap,
    SSMNetwork,
    count_aliased_modes,
    make_params,
)
from .core.features import OwnAndResampledFeatureMap, level_and_scale, scale_or_one
from .core.padding import padding_and_lengths
from .feature_estimators import (
    _RESAMPLE_DOC,
    CLIP_FEATURES,
    DEFAULT_STATISTICS,
    _BaseSSMFeatures,
    _indented,
    _SSMClassifierMixin,
    _SSMRegressorMixin,
)
from .feature_estimators import (
    _SHARED_ATTRS_DOC as _FEATURE_ATTRS_DOC,
)
from .feature_estimators import (
    _SHARED_PARAMS_DOC as _FEATURE_PARAMS_DOC,
)
from .initializer import align_deeper_layers
from .readout import leave_one_out_loss
from .selection import duplicate_groups, significantly_lower
from .spectral import model_power_spectrum, spectral_matching_loss

__all__ = ["KEEP_SIGNIFICANCE", "SSMClassifier", "SSMRegressor"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_SEED_MAX = np.iinfo(np.int32).max
# Standard errors by which the trained network's held-out errors must beat the start's
# for training to be kept (the paired test of init="auto").
KEEP_SIGNIFICANCE = 2.0
# Fewest held-out sequences that can decide whether training helps; with fewer, nothing
# is trained and the estimator is the training-free one.
MIN_VALIDATION = 10


def resolve_device(device):
    """Turn the ``device`` hyperparameter into a ``torch.device``, or raise ``ValueError``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"Unsupported device {device!r}; use 'auto', 'cpu' or 'cuda'.")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
    return resolved


class _BaseSSM(_BaseSSMFeatures):
    """The training-free estimators' parameters and start, plus the training of it."""

    _parameter_constraints: dict = {
        **_BaseSSMFeatures._parameter_constraints,
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "align_layers": [StrOptions({"first", "all"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "ssm_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "dtype": [StrOptions(set(_DTYPES))],
    }

    def __init__(
        self, init="tdi", *, base="S4D-LegS", n_states=16, d_model=256, n_layers=1,
        align_layers="first", init_options=None, discretization="zoh", time_scales="auto",
        differences=2, normalize=False, statistics=DEFAULT_STATISTICS, n_biases=5,
        alphas=None, cv=None, dropout=0.0, alpha=0.0, batch_size="auto",
        learning_rate_init=1e-3, ssm_learning_rate=1e-3, max_iter=10, shuffle=True,
        random_state=None, tol=1e-4, verbose=False, warm_start=False, early_stopping=True,
        validation_fraction=0.2, n_iter_no_change=1, device="auto", dtype="float32",
        missing="error", resample="median",
    ):
        super().__init__(
            init, base=base, n_states=n_states, d_model=d_model, init_options=init_options,
            discretization=discretization, time_scales=time_scales, differences=differences,
            normalize=normalize, statistics=statistics, n_biases=n_biases, alphas=alphas,
            cv=cv, resample=resample, random_state=random_state, verbose=verbose,
            missing=missing,
        )
        self.n_layers = n_layers
        self.align_layers = align_layers
        self.dropout = dropout
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.ssm_learning_rate = ssm_learning_rate
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.dtype = dtype

    # ------------------------------------------------------------------ the start
    def _own_feature_map(self):
        return self.n_layers > 1 or self.dtype != "float32"

    def _feature_map(self, params, X3, y, sample_weight, initializer=None):
        """The bank of ``params``, the deeper layers (their base initialization, or with
        ``align_layers="all"`` and TDI, aligned with the activations reaching them) and the
        statistics, in this estimator's precision."""
        dtype = _DTYPES[self.dtype]
        rng = np.random.RandomState(self._seed)
        blocks = []
        for _ in range(self.n_layers - 1):
            layer = make_params(self._deeper_base(), params.n_channels, self.n_states,
                                random_state=rng.randint(_SEED_MAX),
                                discretization=self.discretization,
                                **(self.init_options or {}))
            with torch.random.fork_rng(devices=[]):  # the GLU and LayerNorm draws
                torch.manual_seed(rng.randint(_SEED_MAX))
                blocks.append(SSMBlock(DiagonalSSM.from_params(layer, dtype), self.dropout)
                              .to(dtype))
        feature_map = SSMFeatureMap(params, differences=self.differences,
                                    statistics=tuple(self.statistics), n_biases=self.n_biases,
                                    normalize=self.normalize, blocks=blocks, dtype=self.dtype)
        feature_map.deeper_initializers = []
        first = initializer
        if blocks and self.align_layers == "all" and first is not None and not first.fallback_:
            rows = feature_map._fit_views(X3, sample_weight)[0]
            feature_map.deeper_initializers = align_deeper_layers(
                feature_map.module_, first, feature_map.views(X3[rows]), np.asarray(y)[rows],
                rng)
        return feature_map

    def _deeper_base(self):
        """The named initialization of the layers after the bank."""
        return self.init if isinstance(self.init, str) and self.init in INIT_NAMES else (
            self.base)

    def _fit_candidate(self, init, seed, base_options, X3, y, sample_weight):
        self._seed = seed  # the deeper layers' draws follow the bank's seed
        return super()._fit_candidate(init, seed, base_options, X3, y, sample_weight)

    def _fit_start(self, X3, y, sample_weight=None, classes=None):
        features = super()._fit_start(X3, y, sample_weight, classes)
        self.params_init_ = self.feature_map_.params
        first = [] if self.initializer_ is None else [self.initializer_]
        self.layer_initializers_ = first + getattr(self._trained_map(), "deeper_initializers",
                                                   [])
        self.n_aliased_modes_ = sum(count_aliased_modes(layer.to_params())
                                    for module in self._modules_of_the_bank()
                                    for layer in (module.bank.ssm,
                                                  *(block.ssm for block in module.blocks)))
        return features

    def _trained_map(self):
        """The feature map whose module the network trains: the whole ``feature_map_``, or
        with ``resample`` its half on the sequences' own steps (the resampled half stays
        as fitted, and its features enter the network's head as fixed inputs)."""
        if isinstance(self.feature_map_, OwnAndResampledFeatureMap):
            return self.feature_map_.own
        return self.feature_map_

    def _modules_of_the_bank(self):
        """The torch modules of every feature map of ``feature_map_``."""
        if isinstance(self.feature_map_, OwnAndResampledFeatureMap):
            return [self.feature_map_.own.module_, self.feature_map_.resampled.module_]
        return [self.feature_map_.module_]

    def _fixed_features(self, X3):
        """``(n, k)`` float64 features of ``X3`` that the network reads as they are, after
        its pooled statistics: the level and scale features, then the resampled half's
        features (with ``resample``); None where there are none."""
        trained = self._trained_map()
        parts = [level_and_scale(X3)] if trained.n_levels_ else []
        if trained is not self.feature_map_:
            parts.append(self.feature_map_.resampled_features(X3))
        return np.hstack(parts).astype(np.float64, copy=False) if parts else None

    def _n_fixed_features(self):
        trained = self._trained_map()
        extra = 0 if trained is self.feature_map_ else self.feature_map_.resampled.n_features
        return trained.n_levels_ + extra

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight, incremental=False, classes=None):
        start = time.perf_counter()
        continuing = hasattr(self, "model_") and (incremental or self.warm_start)
        if not continuing:
            self.device_ = resolve_device(self.device)
            self._random_state = check_random_state(self.random_state)
        X3, y, sample_weight = self._validate_training_data(X, y, sample_weight, continuing,
                                                             classes)
        try:
            if incremental:
                self._partial_epoch(X3, y, sample_weight, continuing, classes)
            else:
                self._train_and_keep(X3, y, sample_weight, continuing)
        finally:  # also after a non-finite loss: the restored model is a fitted one
            if hasattr(self, "feature_map_"):
                self.params_ = self.feature_map_.params
                self.spectral_alignment_ = self._spectral_alignment()
            self.fit_time_ = time.perf_counter() - start
        return self

    def _validate_training_data(self, X, y, sample_weight, continuing, classes):
        if not continuing:
            X3, y, sample_weight = self._validate_fit(X, y, sample_weight, classes)
            if classes is not None:  # partial_fit: every class that will ever be seen
                self._check_partial_classes(y, classes)
            return X3, y, sample_weight
        X3, y = validate_sequences(self, X, y, reset=False, **self._target_check_params())
        y = self._validate_continued_targets(y)
        if sample_weight is not None:
            from ._compat import _check_sample_weight

            sample_weight = _check_sample_weight(sample_weight, X3, dtype=np.float64,
                                                 ensure_non_negative=True)
        return X3, y, sample_weight

    def _train_and_keep(self, X3, y, sample_weight, continuing):
        """Fit (or continue from) the start, train it, keep what the criterion says helps,
        and refit the readout on every row."""
        groups = duplicate_groups(X3, y)
        fit_rows, held_out = self._split(y, sample_weight, groups)
        if not continuing:  # with warm_start, the fitted network is the start
            self._fit_start(X3[fit_rows], y[fit_rows], _rows(sample_weight, fit_rows))
            self.model_ = self._network()
            self._set_target_scale(y[fit_rows])
            self._reset_history()
        if held_out is None and self.early_stopping:
            # too few sequences to tell whether training helps: the start, on every row
            self.kept_training_ = False
            return
        fit = (X3[fit_rows], y[fit_rows], _rows(sample_weight, fit_rows), groups[fit_rows])
        check = None if held_out is None else (X3[held_out], y[held_out],
                                               _rows(sample_weight, held_out))
        start_state = copy.deepcopy(self.model_.state_dict())
        # a fresh start's readout is the one its held-out errors need (fitted on the fit
        # rows' features); a continued model's was refitted on every row
        best_state, best_errors, start_errors = self._train(
            fit, check, self.max_iter, start_readout=None if continuing else self.readout_)
        if check is not None:
            weights = np.ones(len(held_out)) if check[2] is None else check[2]
            kept = significantly_lower(best_errors, start_errors, weights, KEEP_SIGNIFICANCE)
            self.model_.load_state_dict(best_state if kept else start_state)
        else:  # no held-out rows: the readout's leave-one-out errors on fresh features
            kept = self._decide_by_leave_one_out(X3, y, sample_weight, groups, best_state,
                                                 start_state)
        self._finish(X3, y, sample_weight, groups, kept,
                     refit_start=not kept and held_out is not None and not continuing)

    def _decide_by_leave_one_out(self, X3, y, sample_weight, groups, trained, start):
        """Whether the readout refitted on the trained network's features has leave-one-out
        errors significantly below the start's (both on every row); loads the winner."""
        errors = {}
        for label, state in (("trained", trained), ("start", start)):
            self.model_.load_state_dict(state)
            readout = self._refit_readout(X3, y, sample_weight, groups)[0]
            errors[label] = readout.loo_errors_
        kept = significantly_lower(errors["trained"], errors["start"], readout.weights_,
                                   KEEP_SIGNIFICANCE)
        self.model_.load_state_dict(trained if kept else start)
        return kept

    def _finish(self, X3, y, sample_weight, groups, kept, refit_start):
        """Refit the readout on every row with the kept network; when the start is kept
        after a split, the whole training-free fit on every row instead."""
        if refit_start:  # the training-free estimator itself
            if self.verbose:
                print(f"[{type(self).__name__}] training did not help on the held-out rows: "
                      "the start, refitted on every row", flush=True)
            features = self._fit_start(X3, y, sample_weight)
            self.model_ = self._network()
        else:
            self.readout_, features = self._refit_readout(X3, y, sample_weight, groups)
        self._trained_map().params = self.model_.features.bank.ssm.to_params()
        self.kept_training_ = bool(kept)
        self.alpha_ = self.readout_.alpha_
        self.model_.set_readout(self.readout_)
        self._record_training_features(features, sample_weight)
        if self.verbose:
            print(f"[{type(self).__name__}] kept the "
                  f"{'trained network' if kept else 'start (the training-free estimator)'}",
                  flush=True)

    def _refit_readout(self, X3, y, sample_weight, groups, alphas=None):
        """``(readout, features)``: the readout fitted on the current network's features of
        ``X3``, its penalty chosen as the start's was, or among ``alphas`` by
        leave-one-out."""
        features = self.feature_map_.transform(X3)
        classes = self.readout_.classes_ if self._classification else None
        return self._fit_readout(self.feature_map_, features, y, sample_weight, groups,
                                 classes, alphas), features

    def _partial_epoch(self, X3, y, sample_weight, continuing, classes):
        """``partial_fit``: the start on the first call, then one epoch on these
        sequences, and the readout refitted on them."""
        if not continuing:
            self._fit_start(X3, y, sample_weight, classes=classes)
            self.model_ = self._network()
            self._reset_history()
            self._set_target_scale(y)
            self.kept_training_ = True
        groups = duplicate_groups(X3, y)
        self._train((X3, y, sample_weight, groups), None, 1, incremental=True)
        self._trained_map().params = self.model_.features.bank.ssm.to_params()
        self.readout_, features = self._refit_readout(X3, y, sample_weight, groups)
        self.alpha_ = self.readout_.alpha_
        self.model_.set_readout(self.readout_)
        previous = getattr(self, "feature_range_", None) if continuing else None
        self._record_training_features(features, sample_weight)
        if previous is not None and hasattr(self, "feature_range_"):  # every batch so far
            self.feature_range_ = (np.minimum(previous[0], self.feature_range_[0]),
                                   np.maximum(previous[1], self.feature_range_[1]))

    def _split(self, y, sample_weight, groups):
        """``(rows to fit, held-out rows or None)``: a stratified ``validation_fraction``
        of the distinct examples of positive weight, every copy of an example on one side;
        None when the held-out part would be too small to decide anything."""
        everything = np.arange(len(y))
        if not self.early_stopping:
            return everything, None
        present = np.ones(len(y), bool) if sample_weight is None else sample_weight > 0
        examples, first = np.unique(np.where(present, groups, -1), return_index=True)
        examples, first = examples[examples >= 0], first[examples >= 0]
        n_held = int(round(self.validation_fraction * len(examples)))
        labels = np.asarray(y)[first] if self._classification else None
        if labels is not None:
            counts = np.unique(labels, return_counts=True)[1]
            n_held = max(n_held, len(counts))
            if counts.min() < 3:  # one held out, two left for TDI's within-class spread
                return everything, None
        if n_held < MIN_VALIDATION or len(examples) - n_held < MIN_VALIDATION:
            return everything, None
        _, held = train_test_split(examples, test_size=n_held, stratify=labels,
                                   random_state=self._random_state.randint(_SEED_MAX))
        held_rows = np.isin(groups, held)
        return everything[~held_rows], everything[held_rows]

    def _network(self):
        """The start as one network: the feature map's module and the readout as head."""
        network = SSMNetwork(self._trained_map().module_, self.readout_.coef_.shape[0],
                             self._n_fixed_features())
        network.set_readout(self.readout_)
        return network.to(device=self.device_).eval()  # the bank's SSM stays in float64

    def _reset_history(self):
        self.loss_curve_, self.validation_scores_ = [], []
        self.n_iter_, self.t_ = 0, 0
        self.best_validation_score_ = None
        self._optimizer = None

    # ------------------------------------------------------------------ training
    def _examples(self, X3, y, sample_weight, groups):
        """The distinct examples as tensors on the training device: ``(views, lengths,
        levels, targets, weights)``, the standardized views, the fixed inputs of the head
        (:meth:`_fixed_features`; None without), the loss's targets (``+-1`` codes or
        targets) and the weights of the copies summed (mean 1). A copy left in would make a
        leave-one-out error a training error."""
        weights = np.ones(len(X3)) if sample_weight is None else sample_weight
        present = weights > 0
        _, first, index = np.unique(np.where(present, groups, -1), return_index=True,
                                    return_inverse=True)
        summed = np.bincount(index.ravel(), weights=weights)
        keep = np.unique(np.where(present, groups, -1)) >= 0
        first, summed = first[keep], summed[keep]
        dtype = _DTYPES[self.dtype]
        views, lengths = padding_and_lengths(self._trained_map().views(X3[first]))
        levels = self._fixed_features(X3[first])
        return (torch.as_tensor(views, dtype=dtype, device=self.device_),
                None if lengths is None else torch.as_tensor(lengths, device=self.device_),
                None if levels is None else torch.as_tensor(levels, dtype=dtype,
                                                            device=self.device_),
                torch.as_tensor(self._loss_targets(np.asarray(y)[first]), dtype=dtype,
                                device=self.device_),
                torch.as_tensor(summed / summed.mean(), dtype=dtype, device=self.device_))

    def _train(self, fit, check, n_epochs, incremental=False, start_readout=None):
        """Adam epochs on the leave-one-out loss of the fit rows ``fit`` (``(X3, y,
        sample_weight, groups)``). With ``check`` (held-out ``(X3, y, sample_weight)``)
        the start and every epoch are scored on it (the start by ``start_readout`` when
        given, the readout already fitted on the fit rows): returns the best state (the
        start counted), its held-out errors and the start's; without, the state of the
        lowest training loss and None twice."""
        network = self.model_
        data = self._examples(*fit)
        if self._optimizer is None or not incremental:
            self._optimizer = torch.optim.Adam(network.parameter_groups(
                self.learning_rate_init, self.ssm_learning_rate or self.learning_rate_init))
            self._anchor = [p.detach().clone() for p in network.features.parameters()]
        best_state = copy.deepcopy(network.state_dict())
        if check is not None:
            best = start = self._held_out_errors(fit, check, start_readout)
            best_loss = self._mean(best, check[2])
            self.validation_scores_.append(-best_loss)
        else:
            best = start = None
            best_loss = self._training_loss(data)
        self.start_loss_ = best_loss
        if self.verbose:
            what = "validation loss" if check is not None else "leave-one-out loss"
            print(f"[{type(self).__name__}] start: {what} {best_loss:.6f}", flush=True)
        seed = self._random_state.randint(_SEED_MAX)
        stalled = 0
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # dropout draws from a seeded fork
            torch.manual_seed(seed)
            for _ in range(n_epochs):
                began = time.perf_counter()
                loss = self._epoch(data)
                self.n_iter_ += 1
                self.t_ += len(data[3])
                self.loss_curve_.append(loss)
                self.loss_ = loss
                if check is not None:
                    errors = self._held_out_errors(fit, check)
                    score = self._mean(errors, check[2])
                    self.validation_scores_.append(-score)
                else:
                    errors, score = None, loss
                improved = score < best_loss - self.tol
                if score < best_loss:
                    best_loss, best = score, errors
                    best_state = copy.deepcopy(network.state_dict())
                stalled = 0 if improved else stalled + 1
                if self.verbose:
                    what = f", validation loss {score:.6f}" if check is not None else ""
                    print(f"Iteration {self.n_iter_}, leave-one-out loss = {loss:.6f}{what}, "
                          f"time = {time.perf_counter() - began:.2f}s", flush=True)
                if incremental or stalled >= self.n_iter_no_change:
                    break
            else:
                warn(f"{type(self).__name__}: maximum iterations ({n_epochs}) reached and "
                     "the loss was still improving; the best state so far is kept. Raise "
                     "max_iter to train longer.", ConvergenceWarning)
        if check is not None:
            self.best_validation_score_ = -best_loss
        return best_state, best, start

    def _batches(self, n):
        """Shuffled mini-batches of about ``batch_size`` examples (all of them, up to 512,
        with ``"auto"``), never fewer than 4 to a batch."""
        size = min(n, 512) if self.batch_size == "auto" else min(n, self.batch_size)
        order = self._random_state.permutation(n) if self.shuffle else np.arange(n)
        count = max(1, min(-(-n // size), n // 4))
        return np.array_split(order, count)

    def _epoch(self, data):
        """One pass over mini-batches; the mean loss. Restores the parameters of the
        epoch's start and raises on a non-finite loss or unstable parameters."""
        views, lengths, levels, targets, weights = data
        network = self.model_
        network.train()
        snapshot = {k: v.detach().clone() for k, v in network.state_dict().items()}
        total = 0.0
        for index in self._batches(len(targets)):
            index = torch.as_tensor(index, device=self.device_)
            batch = (*_cut_to_longest(views[index], None if lengths is None else lengths[index]),
                     None if levels is None else levels[index])
            self._optimizer.zero_grad(set_to_none=True)
            loss = self._objective(network, batch, targets[index], weights[index])
            value = float(loss.detach())
            if not np.isfinite(value):
                self._restore(snapshot, f"loss {value}")
            loss.backward()
            self._optimizer.step()
            total += value * len(index)
        network.eval()
        if not network.is_valid():
            self._restore(snapshot, "non-finite or unstable parameters")
        return total / len(targets)

    def _objective(self, network, batch, targets, weights):
        """The leave-one-out loss of the readout (at the start's penalty) on the batch's
        standardized features, plus ``alpha`` times the squared distance of the
        parameters from the start."""
        features = network.standardized(*batch)
        loss = leave_one_out_loss(features, targets, weights / weights.mean(),
                                  self.readout_.alpha_, self._target_scale_t)
        if self.alpha > 0:
            moved = sum(((p - p0) ** 2).sum() for p, p0 in zip(
                network.features.parameters(), self._anchor, strict=True))
            loss = loss + self.alpha * moved
        return loss

    def _training_loss(self, data):
        """The leave-one-out loss of every training example, without a gradient."""
        views, lengths, levels, targets, weights = data
        network = self.model_
        network.eval()
        with torch.no_grad():
            return float(self._objective(network, (views, lengths, levels), targets, weights))

    def _held_out_errors(self, fit, check, readout=None):
        """Every held-out example's squared error (of the standardized targets) under the
        readout refitted, at the start's penalty, on the fit rows' current features (or
        under ``readout``, one already fitted so)."""
        X3, y, sample_weight, groups = fit
        if readout is None:
            readout = self._refit_readout(X3, y, sample_weight, groups,
                                          alphas=[self.readout_.alpha_])[0]
        X_check, y_check, _ = check
        decision = readout.decision_function(self.feature_map_.transform(X_check))
        decision = decision.reshape(len(y_check), -1)
        scale = self._target_scale_t.double().cpu().numpy()
        return (((decision - self._loss_targets(y_check)) / scale) ** 2).sum(1)

    @staticmethod
    def _mean(errors, sample_weight):
        return float(np.average(errors, weights=sample_weight))

    def _restore(self, snapshot, what):
        # Documented behaviour: restore the last good parameters, then raise. A fitted
        # estimator never holds NaN, and partial_fit/warm_start can go on at a lower rate.
        self.model_.load_state_dict(snapshot)
        self._optimizer = None  # its moment estimates saw the non-finite gradients
        restored = (f"the parameters from the end of iteration {self.n_iter_}" if self.n_iter_
                    else "the initial parameters")
        self._trained_map().params = self.model_.features.bank.ssm.to_params()
        raise FloatingPointError(
            f"Training met {what} in iteration {self.n_iter_ + 1}; {restored} were "
            "restored. Lower learning_rate_init or ssm_learning_rate, or scale the input."
        )

    def _spectral_alignment(self):
        """Matching loss of the bank against the TDI task spectrum, before and after."""
        if getattr(self, "initializer_", None) is None or self.initializer_.fallback_:
            return None
        # on the grid of the task spectrum: the rows the start was fitted on, whose longest
        # sequence can be shorter than the longest of all rows
        S_trained = model_power_spectrum(self._trained_map().params,
                                         self.initializer_.seq_len_)
        return {
            "init": self.initializer_.loss_,
            "trained": spectral_matching_loss(S_trained, self.initializer_.task_spectrum_),
        }

    # ----------------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            # Store the network on the CPU so that a model fitted on a GPU loads anywhere.
            state = dict(state)
            model = copy.deepcopy(self.model_).cpu()
            feature_map = copy.copy(self.feature_map_)
            trained = feature_map
            if isinstance(feature_map, OwnAndResampledFeatureMap):
                trained = feature_map.own = copy.copy(feature_map.own)
            trained.module_ = model.features
            state.update(model_=model, feature_map_=feature_map, _optimizer=None)
            if "_target_scale_t" in state:
                state["_target_scale_t"] = state["_target_scale_t"].cpu()
            state.pop("_anchor", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        device = state.get("device_")
        if "model_" in state and device is not None and device.type == "cuda":
            if torch.cuda.is_available():
                self.model_.to(device)
                if hasattr(self, "_target_scale_t"):
                    self._target_scale_t = self._target_scale_t.to(device)
            else:
                self.device_ = torch.device("cpu")


def _rows(sample_weight, rows):
    return None if sample_weight is None else sample_weight[rows]


def _cut_to_longest(X, lengths):
    """The network's inputs ``(X, lengths)``, ``X`` cut after the longest of ``lengths``
    (the steps after it are padding in every row); ``lengths=None``: ``X`` as it is."""
    if lengths is None:
        return X, None
    return X[..., :int(lengths.max())], lengths


_TRAINED_RESAMPLED_HALF = (
    "In training, the resampled half stays as it was fitted: its features enter the "
    "network's head as fixed inputs, as the level features do, and the half on the "
    "sequences' own steps trains (``spectral_alignment_`` is that half's).")
_CLASSIFIER_RESAMPLE_DOC = _RESAMPLE_DOC.format(
    default='"median"', measured=_indented(
        _TRAINED_RESAMPLED_HALF + " The default of the training-free classifier "
        "(:class:`~sktdi.SSMFeatureClassifier`), where it was chosen, so that the trained "
        "classifier starts from it."))
_REGRESSOR_RESAMPLE_DOC = _RESAMPLE_DOC.format(
    default="None", measured=_indented(
        _TRAINED_RESAMPLED_HALF + " The regressors' default is None, as the training-free "
        "regressor's: the public panel's regression problems are of one length."))

_TRAINING_PARAMS_DOC = """
    n_layers : int, default=1
        SSM layers. The first is the bank; deeper ones are S4 blocks (SSM, GELU, a GLU
        channel mix, a residual connection and LayerNorm) on its ``d_model`` outputs,
        started from ``base`` (or the named ``init``), and the statistics pool the last
        one's outputs.
    align_layers : {"first", "all"}, default="first"
        With TDI, align only the bank with the input's task spectrum (as in the paper), or
        also every deeper layer with the task spectrum of the activations that reach it.
    dropout : float, default=0.0
        Dropout after the activation of every deeper layer (the bank has none: its
        statistics are what the training-free estimator reads).
    alpha : float, default=0.0
        L2 penalty pulling the bank's and deeper layers' parameters towards their start
        (``alpha`` times the squared distance). The head has the readout's own penalty.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(512, n_samples)`` (never fewer than 4
        examples to a batch).
    learning_rate_init : float, default=1e-3
        Adam learning rate of ``C``, ``D``, the bank's input weights and biases, the
        pooling's thresholds, the deeper layers and the head.
    ssm_learning_rate : float or None, default=1e-3
        Learning rate of the frequency-placing parameters (``dt``, ``A``, ``B``); ``None``
        uses ``learning_rate_init``.
    max_iter : int, default=10
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the bank, the deeper layers, the held-out split, shuffling and dropout. The
        same integer gives identical results on the same machine.
    tol : float, default=1e-4
        An epoch improves when it lowers the held-out loss (the training loss without
        ``early_stopping``) by more than ``tol``.
    warm_start : bool, default=False
        Continue training the fitted network instead of starting anew.
    early_stopping : bool, default=True
        Hold out a stratified ``validation_fraction`` of the distinct training sequences,
        score the start and every epoch on them, keep the best state, and keep it instead
        of the start only when its held-out errors are lower by ``KEEP_SIGNIFICANCE``
        standard errors (module docstring); the readout is then refitted on every row.
        ``False`` trains on every row and decides by the readout's leave-one-out errors.
        ``partial_fit`` ignores it (as :class:`~sklearn.neural_network.MLPClassifier`
        does): every call trains one epoch on its sequences.
    validation_fraction : float, default=0.2
        Held-out fraction. With fewer than ``MIN_VALIDATION`` (10) sequences to hold out,
        or fewer than three of some class, nothing is trained.
    n_iter_no_change : int, default=1
        Epochs without improvement before training stops. The default stops at the first
        epoch that does not lower the held-out loss by ``tol``. It was 3: on the public
        panel training was rarely kept either way, and the extra epochs were most of a
        default fit's cost (the user guide's comparison has the figures).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the filtering and of training.
"""

_TRAINED_ATTRS_DOC = """
    model_ : sktdi.core.SSMNetwork
        The network: ``feature_map_.module_`` (bank, deeper layers, statistics) and the
        readout as its head.
    params_init_ : SSMParams
        The bank at the start (the training-free estimator's).
    kept_training_ : bool
        Whether the trained network replaced the start.
    n_aliased_modes_ : int
        Modes of the start whose ``dt |Im A|`` exceeds ``pi`` (all layers).
    layer_initializers_ : list of SpectralInitializer
        With ``align_layers="all"`` and TDI: one per aligned layer.
    spectral_alignment_ : dict or None
        TDI only (None after a fallback): ``{"init": loss, "trained": loss}``, the spectral
        matching loss of the bank against ``initializer_.task_spectrum_`` at the start and
        after training.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    loss_ : float
        Mean training loss of the last epoch.
    loss_curve_ : list of float
        Mean training loss of every epoch.
    start_loss_ : float
        The start's held-out loss (``early_stopping``), or its leave-one-out loss on the
        training rows: what the epochs of ``validation_scores_`` or ``loss_curve_`` are
        measured against.
    validation_scores_ : list of float
        Minus the held-out loss of the start and of every epoch (``early_stopping``).
    best_validation_score_ : float or None
        The best of them.
    device_ : torch.device
"""

_NOTES_DOC = """
    Notes
    -----
    **What is kept.** A fit first fits the training-free estimator's bank, statistics and
    readout on the training rows it does not hold out, then trains; the module docstring
    of :mod:`sktdi.estimators` gives the criterion. ``kept_training_`` says whether
    training was kept; when it was not, the fitted model is the training-free estimator
    fitted on every row (its predictions are that estimator's).

    **Non-finite training.** If a mini-batch loss or a parameter becomes NaN or infinite,
    training stops: the parameters from the end of the last complete epoch are restored
    and ``FloatingPointError`` is raised.

    **Determinism.** On the CPU the same integer ``random_state`` gives identical
    predictions across runs on one machine. On CUDA some kernels are not bitwise
    deterministic; results then agree to rounding only.
"""


class SSMClassifier(_SSMClassifierMixin, _BaseSSM):
    __doc__ = f"""Sequence classifier: the training-free SSM bank and readout, then trained.

    Starts as :class:`SSMFeatureClassifier` with the same parameters (bank, statistics,
    ridge readout of the ``+-1`` class codes as its head), then trains the whole network
    by Adam on the readout's objective and keeps the trained network only where held-out
    sequences say it helps.

    Parameters
    ----------{_FEATURE_PARAMS_DOC}{_TRAINING_PARAMS_DOC}{_CLASSIFIER_RESAMPLE_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_FEATURE_ATTRS_DOC}{_TRAINED_ATTRS_DOC}{_NOTES_DOC}
    See Also
    --------
    SSMFeatureClassifier : The same model, not trained.
    SSMRegressor : The regression counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMClassifier
    >>> rng = np.random.RandomState(0)
    >>> t = np.arange(64)
    >>> X = rng.normal(size=(60, 64)) + np.sin(0.5 * t) * np.repeat([0, 2], 30)[:, None]
    >>> y = np.repeat([0, 1], 30)
    >>> clf = SSMClassifier(d_model=16, max_iter=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    def _set_target_scale(self, y):
        """The loss's scale of every output: 1 for the class codes."""
        self._target_scale_t = torch.ones(self.readout_.coef_.shape[0], device=self.device_,
                                          dtype=_DTYPES[self.dtype])

    def _loss_targets(self, y):
        """``+-1`` codes of the readout's classes (one column for two)."""
        index = np.searchsorted(self.readout_.classes_, y)
        codes = -np.ones((len(y), len(self.readout_.classes_)))
        codes[np.arange(len(y)), index] = 1.0
        return codes[:, 1:] if codes.shape[1] == 2 else codes

    def _check_partial_classes(self, y, classes):
        unseen = np.setdiff1d(unique_labels(y), unique_labels(classes))
        if unseen.size:
            raise ValueError(f"y contains labels {unseen.tolist()} not in classes.")

    def _validate_continued_targets(self, y):
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} not seen in the first fit "
                f"(classes_ = {self.classes_.tolist()})."
            )
        return y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the training-free start, train it, and keep what helps.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in every step (the start, the loss and
            the held-out score); a weight ``k`` counts like ``k`` copies.

        Returns
        -------
        self : SSMClassifier
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``X``, ``y``, fitting the start on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever be seen; required on the first call unless ``y``
            already holds every class.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SSMClassifier
        """
        return self._fit(X, y, sample_weight, incremental=True,
                         classes=None if classes is None else unique_labels(classes))



class SSMRegressor(_SSMRegressorMixin, _BaseSSM):
    __doc__ = f"""Sequence regressor: the training-free SSM bank and readout, then trained.

    Starts as :class:`SSMFeatureRegressor` with the same parameters, then trains the whole
    network on the readout's objective (squared error of the targets, standardized per
    target for the optimizer) and keeps it only where held-out sequences say it helps.

    Parameters
    ----------{_FEATURE_PARAMS_DOC}{_TRAINING_PARAMS_DOC}{_REGRESSOR_RESAMPLE_DOC}
    clip_features : bool, default=True
        Clip every feature to its training range before the readout predicts
        (:class:`SSMFeatureRegressor`).

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    feature_range_ : tuple of ndarray
        Smallest and largest value of every feature of the final network on the training
        rows, which ``predict`` clips to with ``clip_features``.{_FEATURE_ATTRS_DOC}
    {_TRAINED_ATTRS_DOC}{_NOTES_DOC}
    See Also
    --------
    SSMFeatureRegressor : The same model, not trained.
    SSMClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(50, 32))
    >>> y = X[:, -8:].mean(axis=1)
    >>> reg = SSMRegressor(d_model=16, max_iter=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {**_BaseSSM._parameter_constraints,
                                    "clip_features": ["boolean"]}

    def __init__(
        self, init="tdi", *, base="S4D-LegS", n_states=16, d_model=256, n_layers=1,
        align_layers="first", init_options=None, discretization="zoh", time_scales="auto",
        differences=2, normalize="keep-level", statistics=DEFAULT_STATISTICS, n_biases=5,
        alphas=None, cv=None, clip_features=CLIP_FEATURES, dropout=0.0, alpha=0.0,
        batch_size="auto", learning_rate_init=1e-3, ssm_learning_rate=1e-3, max_iter=10,
        shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=1, device="auto",
        dtype="float32", missing="error", resample=None,
    ):
        super().__init__(
            init, base=base, n_states=n_states, d_model=d_model, n_layers=n_layers,
            align_layers=align_layers, init_options=init_options,
            discretization=discretization, time_scales=time_scales, differences=differences,
            normalize=normalize, statistics=statistics, n_biases=n_biases, alphas=alphas,
            cv=cv, dropout=dropout, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, ssm_learning_rate=ssm_learning_rate,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            device=device, dtype=dtype, missing=missing, resample=resample,
        )
        self.clip_features = clip_features

    def _set_target_scale(self, y):
        """The loss's scale of every target: its standard deviation on the rows the start
        was fitted on, so that one learning rate suits any units."""
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        scale = scale_or_one(y2.std(axis=0), y2.mean(axis=0))
        self._target_scale_t = torch.as_tensor(scale, dtype=_DTYPES[self.dtype],
                                               device=self.device_)

    def _loss_targets(self, y):
        """The targets, as a 2-D array."""
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _validate_continued_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        outputs = 1 if y.ndim == 1 else y.shape[1]
        if outputs != self.n_outputs_:
            raise ValueError(f"y has {outputs} outputs, but SSMRegressor was fitted with "
                             f"{self.n_outputs_}.")
        return y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the training-free start, train it, and keep what helps.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in every step; a weight ``k`` counts like
            ``k`` copies.

        Returns
        -------
        self : SSMRegressor
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``X``, ``y``, fitting the start on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : SSMRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)
