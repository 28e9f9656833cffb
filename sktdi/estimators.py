"""scikit-learn estimators that train a diagonal SSM with torch: `SSMClassifier`, `SSMRegressor`.

The structure follows ``sklearn.neural_network.MLPClassifier``: a shared base class holds
the hyperparameters, the training loop (mini-batch Adam, early stopping, ``partial_fit``,
``warm_start``) and the prediction code; the two subclasses add the loss and the target
handling.
"""

import copy
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted

from ._compat import HasMethods, Interval, StrOptions, _check_sample_weight, _fit_context
from ._validation import MISSING, validate_sequences
from .core import (
    INIT_NAMES,
    DiagonalSSM,
    SSMNetwork,
    count_aliased_modes,
    input_views,
    parse_pooling,
    view_standardization,
)
from .core.features import scale_or_one
from .core.padding import padding_and_lengths
from .initializer import align_deeper_layers, initial_layer_params
from .readout import RidgeReadout
from .selection import (
    auto_candidates,
    duplicate_groups,
    leave_one_out_errors,
    select_candidate,
)
from .spectral import model_power_spectrum, spectral_matching_loss

__all__ = ["SSMClassifier", "SSMRegressor"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_SEED_MAX = np.iinfo(np.int32).max
# Base initialization of init="auto" in the trained estimators (their default).
_AUTO_BASE = "S4D-Lin"
# Bytes that the activations of one forward pass at predict time may take (float64; about
# four (B, H, L) tensors are alive at once): the batch holds as many sequences as fit.
_PREDICT_BYTES = 2**28
_LIVE_ACTIVATIONS = 4


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


class _BaseSSM(BaseEstimator, metaclass=ABCMeta):
    """Shared hyperparameters, training loop and prediction of the SSM estimators."""

    _parameter_constraints: dict = {
        "init": [StrOptions({*INIT_NAMES, "tdi", "auto"}), HasMethods(["fit", "base_params"])],
        "align_layers": [StrOptions({"first", "all"})],
        "n_states": [Interval(Integral, 2, None, closed="left")],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "init_options": [dict, None],
        "discretization": [StrOptions({"zoh", "bilinear"})],
        "pooling": [str, tuple, list],
        "differences": ["boolean"],
        "head_init": [StrOptions({"random", "ridge"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "ssm_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "dtype": [StrOptions(set(_DTYPES))],
        "missing": [StrOptions(set(MISSING))],
    }

    def __init__(
        self, init="S4D-Lin", *, n_states=64, d_model=64, n_layers=1, align_layers="first",
        init_options=None,
        discretization="zoh", pooling="mean+max+last", differences=True, head_init="ridge",
        dropout=0.0, alpha=1e-4, batch_size="auto",
        learning_rate_init=3e-3, ssm_learning_rate=1e-3, max_iter=200, shuffle=True,
        random_state=None, tol=1e-3, verbose=False, warm_start=False, early_stopping=False,
        validation_fraction=0.1, n_iter_no_change=10, device="auto", dtype="float32",
        missing="error",
    ):
        self.init = init
        self.n_states = n_states
        self.d_model = d_model
        self.n_layers = n_layers
        self.align_layers = align_layers
        self.init_options = init_options
        self.discretization = discretization
        self.pooling = pooling
        self.differences = differences
        self.head_init = head_init
        self.dropout = dropout
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.ssm_learning_rate = ssm_learning_rate
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.dtype = dtype
        self.missing = missing

    # ----------------------------------------------------------------- subclass hooks
    @abstractmethod
    def _validate_targets(self, y, reset, sample_weight=None):
        """Validated targets as a float or int NumPy array ready for the loss."""

    @abstractmethod
    def _n_outputs(self):
        """Size of the network's output layer."""

    @abstractmethod
    def _loss(self, output, target):
        """Loss of every sample of a batch (torch, shape ``(batch,)``)."""

    @abstractmethod
    def _score_validation(self, X3, y_encoded):
        """Validation score (higher is better) for early stopping."""

    @abstractmethod
    def _target_tensor(self, y):
        """Targets as a torch tensor on the training device."""

    # ----------------------------------------------------------------- building
    def _check_architecture(self):
        if self.n_states % 2:
            raise ValueError(
                f"n_states must be even (conjugate pairs of modes), got {self.n_states}."
            )
        parse_pooling(self.pooling)

    def _views(self, X3):
        """What the network reads: the channels, standardized with the training data's mean
        and scale, and, with ``differences``, their first differences
        (:func:`sktdi.core.input_views`)."""
        return input_views((X3 - self._input_mean[:, None]) / self._input_scale[:, None],
                           self.differences)

    def _initial_network(self, init, X3, U, y, rng, sample_weight=None):
        """The network at initialization for ``init``: ``(model, layer params, initializers)``."""
        layer_params, initializers = initial_layer_params(
            init, X3, y, rng, n_layers=self.n_layers, d_model=self.d_model,
            n_states=self.n_states, discretization=self.discretization,
            differences=self.differences, init_options=self.init_options,
            task="classification" if self._is_classifier() else "regression",
            sample_weight=sample_weight)
        torch_dtype = _DTYPES[self.dtype]
        seed = rng.randint(_SEED_MAX)
        # Default torch initializers (encoder, head, norms) draw from the global generator:
        # fork it so that fitting neither depends on nor disturbs the user's global state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers = [DiagonalSSM.from_params(p, torch_dtype) for p in layer_params]
            model = SSMNetwork(
                layers, n_inputs=U.shape[1], n_outputs=self._n_outputs(),
                dropout=self.dropout, pooling=self.pooling,
            )
        model = model.to(dtype=torch_dtype, device=self.device_)
        if (initializers and not initializers[0].fallback_ and self.align_layers == "all"
                and self.n_layers > 1):
            initializers += align_deeper_layers(model, initializers[0], U, y, rng)
        return model, layer_params, initializers

    def _linear_probe(self, model, U, y, sample_weight, groups):
        """Ridge readout of the pooled features of ``model``: ``(scaler, ridge)``."""
        features = self._forward_numpy(U, model=model, head=False)
        classes = np.arange(self._n_outputs()) if self._is_classifier() else None
        return RidgeReadout(classification=self._is_classifier()).fit(
            features, y, sample_weight, groups, classes)

    def _build_model(self, X3, y, sample_weight):
        if sample_weight is not None:  # a weight of 0 is an absent row for TDI and the probe
            keep = sample_weight > 0
            X3, y, sample_weight = X3[keep], y[keep], sample_weight[keep]
        # Inputs on the scale of the training data, not their own: counts in the tens of
        # thousands (Covid3Month) made every Adam step of the head move the output by
        # tens of standard deviations (test R^2 of -100 and below).
        # (One scale per input channel, shared by its difference view: their ratio, which
        # the encoder's initial weights see, stays the data's own.)
        self._input_mean, self._input_scale = view_standardization(X3, sample_weight)
        U = self._views(X3)
        groups = duplicate_groups(X3, y)
        auto = isinstance(self.init, str) and self.init == "auto"
        if auto:
            # Every candidate gets the same random draws: they differ only in the SSM.
            seed = self._random_state.randint(_SEED_MAX)
            fits = {}
            for label, init in auto_candidates(_AUTO_BASE, keep_base=0.0).items():
                network = self._initial_network(init, X3, U, y, np.random.RandomState(seed),
                                                sample_weight)
                fits[label] = (*network, self._linear_probe(network[0], U, y, sample_weight,
                                                            groups))
            self.init_scores_ = {label: fit[3].best_score_ for label, fit in fits.items()}
            errors = {label: leave_one_out_errors(fit[3])[0] for label, fit in fits.items()}
            weights = leave_one_out_errors(fits[_AUTO_BASE][3])[1]
            self.init_selected_ = select_candidate(self.init_scores_, _AUTO_BASE, errors=errors,
                                                   sample_weight=weights)
            model, layer_params, initializers, probe = fits[self.init_selected_]
        else:
            model, layer_params, initializers = self._initial_network(
                self.init, X3, U, y, self._random_state, sample_weight)
            self.init_scores_ = None
            self.init_selected_ = self.init if isinstance(self.init, str) else (
                "SpectralInitializer")
            probe = (self._linear_probe(model, U, y, sample_weight, groups)
                     if self.head_init == "ridge" else None)
        if self.head_init == "ridge":
            _set_head_from_ridge(model.head, probe,
                                 binary=self._is_classifier() and self._n_outputs() == 2)
        self.model_ = model
        self.initializer_ = initializers[0] if initializers else None
        self.layer_initializers_ = initializers
        self.params_init_ = layer_params[0]
        self.n_aliased_modes_ = sum(count_aliased_modes(layer.to_params())
                                    for layer in self.model_.ssm_layers())
        self.loss_curve_ = []
        self.t_ = 0
        self.n_iter_ = 0
        self._no_improvement_count = 0
        self.best_loss_ = np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._optimizer = None

    def _spectral_alignment(self):
        """Matching loss of the first layer against the TDI task spectrum, before and after."""
        if getattr(self, "initializer_", None) is None or self.initializer_.fallback_:
            return None
        S_trained = model_power_spectrum(self.params_, self.seq_len_)
        return {
            "init": self.initializer_.loss_,  # params_init_ is the initializer's params_
            "trained": spectral_matching_loss(S_trained, self.initializer_.task_spectrum_),
        }

    def _is_classifier(self):
        return isinstance(self, ClassifierMixin)

    def _make_optimizer(self):
        ssm_lr = self.ssm_learning_rate or self.learning_rate_init
        groups = self.model_.parameter_groups(self.learning_rate_init, ssm_lr, self.alpha)
        return torch.optim.AdamW(groups)

    # ----------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight=None, incremental=False):
        if incremental and self.early_stopping:
            # as scikit-learn's SGD estimators: one epoch per call has no held-out score
            raise ValueError("early_stopping should be False with partial_fit; it holds "
                             "out a validation split within one fit call.")
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        if first_pass:
            self._check_architecture()
            self.device_ = resolve_device(self.device)
        X3, y = validate_sequences(
            self, X, y, reset=first_pass, **self._target_check_params()
        )
        sample_weight = self._validate_sample_weight(sample_weight, X3)
        y = self._validate_targets(y, reset=first_pass, sample_weight=sample_weight)
        if X3.size and np.nanmax(np.abs(X3)) > torch.finfo(_DTYPES[self.dtype]).max:
            raise ValueError(f"X has values too large for dtype={self.dtype!r} (they would "
                             "overflow to inf); rescale X or use dtype='float64'.")
        if first_pass:
            self._random_state = check_random_state(self.random_state)
        # split first: TDI and the linear probe must not see the validation rows
        if self.early_stopping:
            X3, X_val, y, y_val, sample_weight = self._validation_split(X3, y, sample_weight)
        else:
            X_val = y_val = None
        if first_pass:
            self._build_model(X3, y, sample_weight)
        if self._optimizer is None or not incremental:
            self._optimizer = self._make_optimizer()
        n_epochs = 1 if incremental else self.max_iter
        U_val = None if X_val is None else self._views(X_val)
        U = self._views(X3)
        try:
            self._train(U, y, sample_weight, U_val, y_val, n_epochs, incremental)
        finally:  # also after a non-finite loss: the restored model is a fitted one
            self.params_ = self.model_.ssm_layers()[0].to_params()
            self.spectral_alignment_ = self._spectral_alignment()
            self._after_training(U, sample_weight, incremental)
        return self

    def _after_training(self, U, sample_weight, incremental):
        """What a fit records from the trained network (nothing for the classifier)."""

    @staticmethod
    def _validate_sample_weight(sample_weight, X3):
        """Non-negative finite weights, not all zero (or None); a weight ``k`` counts like
        ``k`` copies of the row (the loss scales them to mean 1 per epoch)."""
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X3, dtype=np.float64,
                                    ensure_non_negative=True)  # also: not all zero

    def _validation_split(self, X3, y, sample_weight):
        stratify = y if self._is_classifier() else None
        X_train, X_val, y_train, y_val, *weights = train_test_split(
            X3, y, *([] if sample_weight is None else [sample_weight]),
            random_state=self._random_state, test_size=self.validation_fraction,
            stratify=stratify,
        )
        return X_train, X_val, y_train, y_val, (weights[0] if weights else None)

    def _batch_size(self, n_samples):
        size = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        return min(size, n_samples)

    def _train(self, X3, y, sample_weight, X_val, y_val, n_epochs, incremental):
        X_t, y_t, w_t = self._training_tensors(X3, y, sample_weight)
        batch_size = self._batch_size(y_t.shape[0])
        best_state = None
        seed = self._random_state.randint(_SEED_MAX)
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # dropout draws from a seeded fork
            torch.manual_seed(seed)
            for _ in range(n_epochs):
                start = time.perf_counter()
                loss = self._run_epoch(X_t, y_t, w_t, batch_size)
                self._record_epoch(loss, y_t.shape[0], start)
                improved = self._update_no_improvement(X_val, y_val)
                if improved and self.early_stopping:
                    best_state = copy.deepcopy(self.model_.state_dict())
                if incremental or self._no_longer_improving():
                    break
            else:
                warnings.warn(
                    f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning, stacklevel=3,
                )
        if best_state is not None:
            self.model_.load_state_dict(best_state)

    def _training_tensors(self, X3, y, sample_weight):
        """``(X, lengths)``, ``y`` and the weights on the training device, moved once, not
        per batch; ``lengths`` is None unless some sequences are padded."""
        dtype = _DTYPES[self.dtype]
        X3, lengths = padding_and_lengths(X3)
        X_t = (torch.tensor(X3, dtype=dtype, device=self.device_),
               None if lengths is None else torch.as_tensor(lengths, device=self.device_))
        # Mean-1 weights: a batch's loss is sum(w * loss) / batch size, so unit weights give
        # the plain mean and a batch of zero weights gives 0, not 0 / 0.
        w_t = (None if sample_weight is None else torch.tensor(
            sample_weight / sample_weight.mean(), dtype=dtype, device=self.device_))
        return X_t, self._target_tensor(y), w_t

    def _run_epoch(self, X_t, y_t, w_t, batch_size):
        """One pass over the (shuffled) batches; the mean loss. Restores the parameters of
        the epoch's start and raises on a non-finite loss or unstable parameters."""
        n_samples = y_t.shape[0]
        self.model_.train()
        order = self._random_state.permutation(n_samples) if self.shuffle else np.arange(
            n_samples)
        order = torch.as_tensor(order, device=self.device_)
        epoch_loss = 0.0
        last_good = self._finite_snapshot()
        for begin in range(0, n_samples, batch_size):
            index = order[begin:begin + batch_size]
            X_batch, lengths = X_t
            batch = _cut_to_longest(X_batch[index], None if lengths is None else lengths[index])
            batch_loss = self._step(batch, y_t[index], None if w_t is None else w_t[index])
            if not np.isfinite(batch_loss):
                self._restore_after_overflow(last_good, f"loss {batch_loss}")
            epoch_loss += batch_loss * len(index)
        if not self.model_.is_valid():
            self._restore_after_overflow(last_good, "non-finite or unstable parameters")
        return epoch_loss / n_samples

    def _record_epoch(self, loss, n_samples, start):
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_ = loss
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}, "
                  f"time = {time.perf_counter() - start:.2f}s")

    def _no_longer_improving(self):
        """Whether the stopping rule of ``tol`` and ``n_iter_no_change`` fires."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.verbose:
            what = "Validation score" if self.early_stopping else "Training loss"
            print(f"{what} did not improve more than tol={self.tol} for "
                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
        return True

    def _finite_snapshot(self):
        """Copy of the parameters at the start of an epoch, to restore after an overflow."""
        return {name: value.detach().clone() for name, value in self.model_.state_dict().items()}

    def _restore_after_overflow(self, snapshot, what):
        # Documented behaviour: restore the last good parameters, then raise. A fitted
        # estimator never holds NaN, and partial_fit/warm_start can go on at a lower rate.
        self.model_.load_state_dict(snapshot)
        self._optimizer = None  # its moment estimates saw the non-finite gradients
        restored = (f"the parameters from the end of iteration {self.n_iter_}" if self.n_iter_
                    else "the initial parameters")
        raise FloatingPointError(
            f"Training met {what} in iteration {self.n_iter_ + 1}; {restored} were "
            "restored. Lower learning_rate_init or ssm_learning_rate, or scale the input."
        )

    def _step(self, X_batch, y_batch, w_batch=None):
        self._optimizer.zero_grad(set_to_none=True)
        losses = self._loss(self.model_(*X_batch), y_batch)  # (batch,)
        loss = losses.mean() if w_batch is None else (w_batch * losses).mean()
        loss.backward()
        self._optimizer.step()
        return float(loss.detach())

    def _update_no_improvement(self, X_val, y_val):
        if self.early_stopping and X_val is not None:
            score = self._score_validation(X_val, y_val)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_ + self.tol
            self.best_validation_score_ = max(self.best_validation_score_, score)
        else:
            improved = self.loss_ < self.best_loss_ - self.tol
        self.best_loss_ = min(self.best_loss_, self.loss_)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
        return improved

    # ----------------------------------------------------------------- prediction
    def _forward_numpy(self, U, model=None, head=True):
        """Network outputs (or, without ``head``, the pooled features the head reads) for
        ``(n, V, L)`` NumPy views, in batches, as float64 NumPy.

        Inference runs in float64 whatever the training dtype: float32 kernels (FFT,
        matrix products) round differently for different batch sizes, and predictions must
        not depend on which other rows are predicted alongside.
        """
        model = self.model_ if model is None else model
        parameter = next(model.parameters())
        model = model if parameter.dtype == torch.float64 else copy.deepcopy(model).double()
        model.eval()
        device = parameter.device
        outputs = []
        rows = _predict_batch_rows(model, U.shape[-1])
        U, lengths = padding_and_lengths(U)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=device)
        with torch.no_grad():
            for begin in range(0, U.shape[0], rows):
                block = slice(begin, begin + rows)
                batch = _cut_to_longest(
                    torch.tensor(U[block], dtype=torch.float64, device=device),
                    None if lengths is None else lengths[block])
                outputs.append((model(*batch) if head else model.features(*batch))
                               .cpu().numpy())
        return np.concatenate(outputs, axis=0)

    def _validated_outputs(self, X):
        check_is_fitted(self, "model_")
        return self._forward_numpy(self._views(validate_sequences(self, X, reset=False)))

    # ----------------------------------------------------------------- persistence
    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            # Store the network on the CPU so that a model fitted on a GPU loads anywhere.
            state = dict(state)
            state["model_"] = copy.deepcopy(self.model_).cpu()
            state["_optimizer"] = None
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        device = state.get("device_")
        if "model_" in state and device is not None and device.type == "cuda":
            if torch.cuda.is_available():
                self.model_.to(device)
            else:
                self.device_ = torch.device("cpu")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.missing == "impute"  # padding is not missing
        return tags


_SHARED_PARAMS_DOC = """
    init : str or SpectralInitializer, default="S4D-Lin"
        Initialization of the SSM layers: a base name (``"S4D-Lin"``, ``"S4D-Inv"``,
        ``"S4D-LegS"``, ``"S4D-Real"``, ``"LRU"``, ``"scaled"``); ``"tdi"`` to align the
        first layer with the task's power spectrum by a default
        :class:`~sktdi.SpectralInitializer` fitted on the training data inside ``fit``
        (once, also under ``partial_fit``); or a ``SpectralInitializer`` whose settings are
        used (it is cloned; its ``n_states``, ``d_model``, ``discretization`` and
        ``differences`` are set to this estimator's); or ``"auto"``, which builds the
        initial network with ``"S4D-Lin"`` and with TDI of every spectrum kind, fits a ridge
        readout to each one's pooled features (a linear probe) and keeps ``"S4D-Lin"``
        unless a TDI network's leave-one-out errors are lower by more than 2.5 standard
        errors of the paired difference (``init_scores_`` holds the evidence).
    n_states : int, default=64
        States per channel ``N`` (even: ``N // 2`` conjugate pairs are stored).
    d_model : int, default=64
        Channels ``H`` of every SSM layer.
    n_layers : int, default=1
        Number of SSM blocks. Deeper networks add a GLU channel mix, a residual connection
        and LayerNorm to every block.
    align_layers : {"first", "all"}, default="first"
        With TDI, align only the first SSM layer with the input's task spectrum (as in the
        paper), or also every later layer with the task spectrum of the activations that
        reach it at initialization.
    init_options : dict, default=None
        Extra keyword arguments of :func:`sktdi.core.make_params` (``dt_min``, ``dt_max``,
        ``alpha`` of ``"scaled"``, ``r_min``/``r_max``/``max_phase`` of ``"LRU"``,
        ``aliasing``).
    discretization : {"zoh", "bilinear"}, default="zoh"
        Discretization of the continuous SSM.
    pooling : str, default="mean+max+last"
        Pooling over time before the linear head: ``"mean"``, ``"max"``, ``"last"``, or
        several joined by ``+``, whose outputs are concatenated. The maximum and the last
        step keep what a mean over time loses: how strong an event was and, through the
        decay of the modes, when it happened.
    differences : bool, default=True
        Also feed the first difference of every input channel to the encoder (the input
        views of :func:`sktdi.core.input_views`; TDI estimates its spectrum on them too).
        It removes the level and keeps the shape; with two views the encoder no longer
        folds into the first layer's products, so an epoch costs about 3 to 4 times more.
    head_init : {"random", "ridge"}, default="ridge"
        How the linear head starts: torch's default random initialization, or the
        leave-one-out ridge solution on the pooled features of the initial network (a
        linear probe, which training then fine-tunes).
    dropout : float, default=0.0
        Dropout after each SSM activation.
    alpha : float, default=1e-4
        Decoupled (AdamW) weight decay of the non-SSM parameters.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate_init : float, default=3e-3
        Adam learning rate of the encoder, output vector ``C``, skip ``D`` and head.
    ssm_learning_rate : float or None, default=1e-3
        Learning rate of the frequency-placing parameters (``dt``, ``A``, ``B``), which
        also get no weight decay (the S4 convention). ``None`` uses ``learning_rate_init``.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the SSM initialization, the torch initializers, dropout, shuffling and the
        validation split. The same integer gives identical results on the CPU.
    tol : float, default=1e-3
        Improvement below ``tol`` for ``n_iter_no_change`` epochs stops training. With the
        ridge head the training loss starts low and creeps down for hundreds of epochs at
        ``1e-4``; ``1e-3`` stopped every fit of the panel's selection runs in 70 epochs on
        average, without a ``ConvergenceWarning`` (``benchmarks/results/panel.md``).
    verbose : bool, default=False
        Print the loss and time of every epoch.
    warm_start : bool, default=False
        Continue from the previous fit instead of re-initializing.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score stops
        improving; the best parameters are restored. Not allowed with ``partial_fit``.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience in epochs.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network. float32 is twice as fast on the CPU and is what the
        S4 code bases train in; float64 is there where exactness matters.
    missing : {"error", "impute"}, default="error"
        What a NaN inside a sequence (one followed by observed values) is: an error naming
        the sequence and step, or a missing value to interpolate linearly within its
        channel. NaN after a sequence's last observed step are always its padding (see
        :ref:`input-layout`).
"""

_SHARED_ATTRS_DOC = """
    model_ : torch.nn.Module
        The trained :class:`sktdi.core.SSMNetwork`.
    params_init_ : SSMParams
        First SSM layer at initialization.
    params_ : SSMParams
        First SSM layer after training.
    initializer_ : SpectralInitializer
        The fitted initializer of the first layer (TDI only; ``initializer_.fallback_`` says
        whether it kept the base because the sequences had no spectrum to match).
    layer_initializers_ : list of SpectralInitializer
        One per aligned layer (TDI only).
    spectral_alignment_ : dict or None
        TDI only (None after a fallback): ``{"init": loss, "trained": loss}``, the spectral
        matching loss of the first layer against ``initializer_.task_spectrum_`` at
        initialization and after training, i.e. whether the alignment survives training.
    init_selected_ : str
        The initialization used: ``init`` itself, ``"SpectralInitializer"``, or with
        ``init="auto"`` the chosen candidate (``"S4D-Lin"``, ``"tdi:discriminative"``, ...).
    init_scores_ : dict or None
        ``init="auto"`` only: candidate -> leave-one-out score of the linear probe on its
        initial network (minus the mean squared error; higher is better).
    n_aliased_modes_ : int
        Modes of the initialization whose ``dt |Im A|`` exceeds ``pi`` (all layers).
    n_features_in_ : int
        ``X.shape[1]`` at fit, as scikit-learn reads it: the (padded) sequence length for a
        2-D array and for a list of 1-D sequences; the channel count for a 3-D array and for
        a list of ``(n_channels, length)`` sequences.
    n_channels_ : int
        Input channels (1 for 2-D input).
    seq_len_ : int
        Sequence length seen at fit.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    loss_ : float
        Mean training loss of the last epoch.
    loss_curve_ : list of float
        Mean training loss of every epoch.
    best_loss_ : float
        Lowest epoch loss.
    validation_scores_ : list of float or None
        Validation scores of every epoch (early stopping only).
    best_validation_score_ : float or None
        Best validation score (early stopping only).
    device_ : torch.device
        Device the model was trained on.
"""

_NOTES_DOC = """
    Notes
    -----
    **Non-finite training.** If a mini-batch loss or a parameter becomes NaN or infinite
    (a learning rate far too high, badly scaled input), training stops: the parameters
    from the end of the last complete epoch are restored and ``FloatingPointError`` is
    raised. The estimator stays fitted with those finite parameters, so ``predict`` still
    works and ``partial_fit`` / ``warm_start`` can continue at a lower learning rate.
    ``Re A < 0`` and ``dt > 0`` hold through any update because they are stored as
    logarithms. Input whose values overflow the training ``dtype`` is a ``ValueError``.

    **Determinism.** On the CPU the same integer ``random_state`` gives bitwise identical
    predictions across runs and processes. On CUDA some kernels (the scatter-add in the
    backward pass of the kernel's Toeplitz indexing) are not bitwise deterministic;
    results then agree to rounding only.
"""


class SSMClassifier(ClassifierMixin, _BaseSSM):
    __doc__ = f"""Sequence classifier built on a diagonal state space model.

    An input encoder maps each time step to ``d_model`` channels, ``n_layers`` diagonal
    SSM blocks filter them, outputs are pooled over time and a linear head gives class
    logits, trained with cross-entropy by Adam.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.{_SHARED_ATTRS_DOC}{_NOTES_DOC}
    See Also
    --------
    SSMRegressor : The regression counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMClassifier
    >>> rng = np.random.RandomState(0)
    >>> t = np.arange(64)
    >>> X = rng.normal(size=(40, 64)) + np.sin(0.5 * t) * np.repeat([0, 2], 20)[:, None]
    >>> y = np.repeat([0, 1], 20)
    >>> clf = SSMClassifier(d_model=8, n_states=8, max_iter=50, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    def _target_check_params(self):
        return {"multi_output": False}

    def _validate_targets(self, y, reset, sample_weight=None):
        check_classification_targets(y)
        if reset:
            if not hasattr(self, "_partial_classes"):
                classes = unique_labels(y)
            else:
                classes = self._partial_classes
            if len(classes) < 2:
                raise ValueError(
                    "SSMClassifier needs samples of at least 2 classes; got 1 class "
                    f"({classes[0]!r})."
                )
            self._label_encoder = LabelEncoder().fit(classes)
            self.classes_ = self._label_encoder.classes_
        unseen = np.setdiff1d(unique_labels(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} not seen in the first fit "
                f"(classes_ = {self.classes_.tolist()})."
            )
        return self._label_encoder.transform(y)

    def _n_outputs(self):
        return len(self.classes_)

    def _target_tensor(self, y):
        return torch.as_tensor(y, dtype=torch.long, device=self.device_)

    def _loss(self, output, target):
        return torch.nn.functional.cross_entropy(output, target, reduction="none")

    def _score_validation(self, X3, y_encoded):
        return accuracy_score(y_encoded, self._forward_numpy(X3).argmax(axis=1))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, TDI and the ridge head (the
            early-stopping score is unweighted).

        Returns
        -------
        self : SSMClassifier
            The fitted estimator.
        """
        self.__dict__.pop("_partial_classes", None)
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``X``, ``y``, initializing the model on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever be seen; required on the first call unless ``y``
            already holds every class.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : SSMClassifier
        """
        if not hasattr(self, "model_"):
            if classes is not None:
                self._partial_classes = unique_labels(classes)
            self.__dict__.pop("_optimizer", None)
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network's outputs).

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Sequences with the channel count seen by ``fit``, of any lengths (a list, a
            NaN-padded or a 3-D array; a 2-D array has the width seen by ``fit``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits = self._validated_outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Sequences with the channel count seen by ``fit``, of any lengths (a list, a
            NaN-padded or a 3-D array; a 2-D array has the width seen by ``fit``).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Sequences with the channel count seen by ``fit``, of any lengths (a list, a
            NaN-padded or a 3-D array; a 2-D array has the width seen by ``fit``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        outputs = self._validated_outputs(X)
        return self.classes_[outputs.argmax(axis=1)]


class SSMRegressor(RegressorMixin, _BaseSSM):
    __doc__ = f"""Sequence regressor built on a diagonal state space model.

    Same network as :class:`SSMClassifier` with a linear head of ``n_outputs_`` values,
    trained on the squared error. Targets are standardized internally (mean 0, variance 1
    per output) so one learning rate suits any target scale; predictions are returned in
    the original units.

    Parameters
    ----------{_SHARED_PARAMS_DOC}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    feature_range_ : tuple of ndarray
        Smallest and largest pooled feature of the trained network on the training rows
        (over every ``partial_fit`` call); ``predict`` clips to it, so that a sequence unlike
        the training ones is not extrapolated.{_SHARED_ATTRS_DOC}{_NOTES_DOC}
    See Also
    --------
    SSMClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sktdi import SSMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(50, 32))
    >>> y = X[:, -8:].mean(axis=1)
    >>> reg = SSMRegressor(d_model=8, n_states=8, max_iter=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def _target_check_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_targets(self, y, reset, sample_weight=None):
        y = np.asarray(y, dtype=np.float64)
        if reset:
            self._target_1d = y.ndim == 1
            y2 = y.reshape(len(y), -1)
            self.n_outputs_ = y2.shape[1]
            # weighted like the loss: a weight k counts like k copies of the row
            self._y_mean = np.average(y2, axis=0, weights=sample_weight)
            scale = np.sqrt(np.average((y2 - self._y_mean) ** 2, axis=0,
                                       weights=sample_weight))
            self._y_scale = scale_or_one(scale, self._y_mean)
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} outputs, but SSMRegressor was fitted with "
                f"{self.n_outputs_}."
            )
        return (y2 - self._y_mean) / self._y_scale

    def _n_outputs(self):
        return self.n_outputs_

    def _target_tensor(self, y):
        return torch.as_tensor(y, dtype=_DTYPES[self.dtype], device=self.device_)

    def _loss(self, output, target):
        return torch.nn.functional.mse_loss(output, target, reduction="none").mean(dim=1)

    def _score_validation(self, X3, y_scaled):
        return r2_score(y_scaled, self._forward_numpy(X3))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Training sequences; of unequal lengths as a list of sequences or right-padded
            with NaN (:ref:`input-layout`).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, the target standardization, TDI
            and the ridge head (the early-stopping score is unweighted).

        Returns
        -------
        self : SSMRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over ``X``, ``y``, initializing the model on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : SSMRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets, in the units of the training targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, seq_len) or (n_samples, n_channels, seq_len)
            Sequences with the channel count seen by ``fit``, of any lengths (a list, a
            NaN-padded or a 3-D array; a 2-D array has the width seen by ``fit``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``fit`` got a 1-D ``y``.
        """
        check_is_fitted(self, "model_")
        U = self._views(validate_sequences(self, X, reset=False))
        features = np.clip(self._forward_numpy(U, head=False), *self.feature_range_)
        weight, bias = (p.detach().cpu().double().numpy() for p in
                        (self.model_.head.weight, self.model_.head.bias))
        y = (features @ weight.T + bias) * self._y_scale + self._y_mean
        return y[:, 0] if self._target_1d else y

    def _after_training(self, U, sample_weight, incremental):
        # A regression's output is unbounded: pooled features far outside the training
        # range (a sequence unlike the training ones) would be extrapolated without limit
        # (Covid3Month: test R^2 of -7,000 at 42 training sequences). predict clips the
        # features to the range the trained network gave on the training rows.
        rows = U if sample_weight is None else U[sample_weight > 0]
        features = self._forward_numpy(rows, head=False)
        low, high = features.min(axis=0), features.max(axis=0)
        if incremental and hasattr(self, "feature_range_"):  # partial_fit: every batch seen
            low = np.minimum(low, self.feature_range_[0])
            high = np.maximum(high, self.feature_range_[1])
        self.feature_range_ = (low, high)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _cut_to_longest(X, lengths):
    """The network's inputs ``(X, lengths)``, ``X`` cut after the longest of ``lengths``
    (the steps after it are padding in every row); ``lengths=None``: ``X`` as it is."""
    if lengths is None:
        return X, None
    return X[..., :int(lengths.max())], lengths


def _predict_batch_rows(model, seq_len):
    """Sequences per forward pass at predict time, so that the activations stay within
    ``_PREDICT_BYTES`` (1,024 rows of length 16,384 and 64 channels were 8.6 GB for one
    activation)."""
    d_model = model.encoder.out_features
    per_row = 8 * _LIVE_ACTIVATIONS * d_model * seq_len
    return max(1, _PREDICT_BYTES // per_row)


def _set_head_from_ridge(head, readout, binary):
    """Copy a ridge readout on standardized features into a linear ``head`` on raw ones
    (the standardization folded into its weights and bias). A binary classifier's one
    score ``s`` becomes the two logits ``(-s / 2, s / 2)``."""
    coef = np.atleast_2d(readout.coef_) / readout.scale_  # (outputs, features)
    intercept = np.atleast_1d(readout.intercept_) - coef @ readout.mean_
    if binary and coef.shape[0] == 1:
        coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-1, 1]) * intercept / 2
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(coef, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(intercept, dtype=head.bias.dtype))
