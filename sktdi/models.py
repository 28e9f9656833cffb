"""Models by name: sktdi's estimators, the baselines a user would try instead, any estimator.

``sktdi curves --models`` and :func:`make_models` read the same specifications, so a
command line and a Python study compare the same things:

* an SSM estimator by its initialization: a named one (``S4D-Lin``, ...), ``tdi``,
  ``tdi:KIND`` (``KIND`` a task spectrum) or ``auto``: :class:`~sktdi.SSMClassifier` /
  :class:`~sktdi.SSMRegressor`;
* the training-free estimators: ``features`` (their defaults) or ``features:INIT`` with
  ``INIT`` any of the initializations above: :class:`~sktdi.SSMFeatureClassifier` /
  :class:`~sktdi.SSMFeatureRegressor`;
* named baselines: ``ridge`` (:class:`~sklearn.linear_model.RidgeClassifierCV` /
  :class:`~sklearn.linear_model.RidgeCV` on the standardized raw values), aeon's
  ``minirocket`` (``MiniRocketClassifier`` / ``MiniRocketRegressor``), ``multirocket``
  (``MultiRocket*``), ``hydra`` (``Hydra*``), ``mrhydra`` (``MultiRocketHydra*``) and
  ``quant`` (``QUANT*``; all ``pip install 'sktdi[data]'``), ``mlp``
  (:class:`~sklearn.neural_network.MLPClassifier` /
  :class:`~sklearn.neural_network.MLPRegressor` on the standardized raw values). They
  need sequences of one length: shorter sequences are zero-padded after their end to
  the longest training sequence (as aeon's ``Padder`` does), longer ones cut to it;
* any estimator as ``module:Class``, optionally followed by its parameters as a JSON
  object: ``sklearn.ensemble:RandomForestClassifier{"n_estimators": 200}``.

Every specification may carry a label, ``LABEL=SPEC``; the label defaults to the
specification itself.
"""

import importlib
import json
import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import as_3d, pad_sequences

__all__ = ["BASELINE_NAMES", "is_baseline", "make_models", "parse_model_list"]

BASELINE_NAMES = ("ridge", "minirocket", "multirocket", "hydra", "mrhydra", "quant", "mlp")
# aeon's estimators behind the named baselines: (module, classifier, regressor).
_AEON_BASELINES = {
    "minirocket": ("convolution_based", "MiniRocketClassifier", "MiniRocketRegressor"),
    "multirocket": ("convolution_based", "MultiRocketClassifier", "MultiRocketRegressor"),
    "hydra": ("convolution_based", "HydraClassifier", "HydraRegressor"),
    "mrhydra": ("convolution_based", "MultiRocketHydraClassifier",
                "MultiRocketHydraRegressor"),
    "quant": ("interval_based", "QUANTClassifier", "QUANTRegressor"),
}
# What the training-free estimators take of ssm_params: the bank, not its training.
_BANK_PARAMS = ("n_states", "d_model", "random_state")
_AEON_MISSING = "the {name} baseline needs aeon: pip install 'sktdi[data]'"
_LABEL = re.compile(r"^(?P<label>[^=:{}]+)=(?P<spec>.+)$")


def parse_model_list(text):
    """Split a comma-separated list of specifications; commas inside ``{...}`` (JSON
    parameters) or quotes do not split.

    Examples
    --------
    >>> from sktdi.models import parse_model_list
    >>> parse_model_list('S4D-Lin, ridge, rf=sklearn.ensemble:RandomForestClassifier{"max_depth": 3, "n_estimators": 10}')
    ['S4D-Lin', 'ridge', 'rf=sklearn.ensemble:RandomForestClassifier{"max_depth": 3, "n_estimators": 10}']
    """  # noqa: E501
    items, current, depth, quote = [], [], 0, None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def is_baseline(estimator):
    """Whether ``estimator`` is a baseline, i.e. none of sktdi's estimators (reports draw
    baselines apart and measure every model's gap to the best of them).

    Examples
    --------
    >>> from sklearn.linear_model import RidgeClassifierCV
    >>> from sktdi import SSMFeatureClassifier
    >>> from sktdi.models import is_baseline
    >>> is_baseline(RidgeClassifierCV()), is_baseline(SSMFeatureClassifier())
    (True, False)
    """
    return type(estimator).__module__.split(".")[0] != "sktdi"


def make_models(specs, task, ssm_params=None):
    """Estimators for specifications, in order: ``{label: estimator}``.

    Parameters
    ----------
    specs : str or list of str
        Specifications (module docstring); a string is split by :func:`parse_model_list`.
    task : {"classification", "regression"}
        Which of the classifier or regressor every name means.
    ssm_params : dict, default=None
        Parameters of the trained SSM estimators (``n_states``, ``max_iter``, ...). The
        training-free estimators take the bank's (``n_states``, ``d_model``) and
        ``random_state``, which MiniRocket and the MLP take too.

    Returns
    -------
    models : dict of str to estimator
        Unfitted estimators, in the order of ``specs``.

    Raises
    ------
    ValueError
        For an unknown name, a class that does not import or is no estimator,
        parameters that are not a JSON object, or a repeated label.
    ImportError
        For an aeon baseline without aeon.

    Examples
    --------
    >>> from sktdi.models import make_models
    >>> models = make_models("S4D-Lin,features:auto,ridge", "classification",
    ...                      ssm_params={"max_iter": 50, "random_state": 0})
    >>> {label: type(model).__name__ for label, model in models.items()}
    {'S4D-Lin': 'SSMClassifier', 'features:auto': 'SSMFeatureClassifier', 'ridge': 'Pipeline'}
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if isinstance(specs, str):
        specs = parse_model_list(specs)
    if not specs:
        raise ValueError("no model given: name at least one (e.g. 'S4D-Lin,ridge').")
    ssm_params = dict(ssm_params or {})
    models = {}
    for item in specs:
        match = _LABEL.match(item)
        label, spec = (match["label"].strip(), match["spec"].strip()) if match else (item, item)
        if label in models:
            raise ValueError(f"model label {label!r} is given twice; name them apart with "
                             "LABEL=SPEC.")
        models[label] = make_estimator(spec, task, ssm_params)
    return models


def make_estimator(spec, task, ssm_params):
    """One estimator for one specification (no label); see :func:`make_models`."""
    classification = task == "classification"
    seed = ssm_params.get("random_state")
    if spec in BASELINE_NAMES:
        return _baseline(spec, classification, seed)
    init = _ssm_init(spec)
    if init is not None:
        from .estimators import SSMClassifier, SSMRegressor

        return (SSMClassifier if classification else SSMRegressor)(init=init, **ssm_params)
    if spec == "features" or spec.startswith("features:"):
        from .feature_estimators import SSMFeatureClassifier, SSMFeatureRegressor

        cls = SSMFeatureClassifier if classification else SSMFeatureRegressor
        init = "tdi" if spec == "features" else _ssm_init(spec[len("features:"):])
        if init is None:
            raise ValueError(f"unknown model {spec!r}: after 'features:' name an "
                             f"initialization ({_init_names()}).")
        bank = {name: ssm_params[name] for name in _BANK_PARAMS if name in ssm_params}
        return cls(init=init, **bank)
    if ":" in spec:
        return _imported_estimator(spec)
    raise ValueError(f"unknown model {spec!r}; use an initialization ({_init_names()}), "
                     f"features[:INIT], a baseline ({', '.join(BASELINE_NAMES)}) or "
                     "module:Class.")


def _init_names():
    from .core import INIT_NAMES

    return ", ".join([*INIT_NAMES, "tdi", "tdi:KIND", "auto"])


def _ssm_init(spec):
    """The ``init`` value of an SSM specification, or None when it is not one."""
    from .core import INIT_NAMES
    from .spectral import SPECTRUM_KINDS

    if spec in INIT_NAMES or spec in ("tdi", "auto"):
        return spec
    if spec.startswith("tdi:"):
        kind = spec[len("tdi:"):]
        if kind not in SPECTRUM_KINDS:
            raise ValueError(f"unknown model {spec!r}: the task spectrum after 'tdi:' must be "
                             f"one of {', '.join(SPECTRUM_KINDS)}.")
        return spec  # the estimators read "tdi:KIND" themselves
    return None


class _EqualLength(TransformerMixin, BaseEstimator):
    """Sequences of any lengths as one ``(n, C, L)`` array of the training length ``L``.

    For the baselines that need one length (ridge on the raw values, aeon's MiniRocket):
    ``fit`` records the longest training sequence; ``transform`` pads shorter sequences
    with zeros after their end (as aeon's ``Padder`` does) and cuts longer ones to ``L``
    (which ``Padder`` refuses).
    Equal-length input of the training length passes unchanged (as 3-D). Accepts every
    form the sktdi estimators accept (:func:`sktdi.datasets.pad_sequences`).

    Attributes
    ----------
    length_ : int
        The longest training sequence.

    Examples
    --------
    >>> from sktdi.models import _EqualLength
    >>> _EqualLength().fit([[1.0, 2.0, 3.0], [4.0]]).transform([[5.0, 6.0]])
    array([[[5., 6., 0.]]])
    """

    def fit(self, X, y=None):
        """Record the longest training sequence."""
        self.length_ = _as_padded_3d(X).shape[-1]
        return self

    def transform(self, X):
        """Pad with zeros or cut every sequence to ``length_``: (n, C, length_)."""
        check_is_fitted(self, "length_")
        X3 = np.nan_to_num(_as_padded_3d(X), nan=0.0)[..., :self.length_]
        return np.pad(X3, ((0, 0), (0, 0), (0, self.length_ - X3.shape[-1])))


def _as_padded_3d(X):
    return as_3d(np.asarray(pad_sequences(X), dtype=np.float64))


def _raw_values():
    """Sequences of one length flattened to one row per sequence, as pipeline steps."""
    from sklearn.preprocessing import FunctionTransformer

    return _EqualLength(), FunctionTransformer(_flatten)


def _flatten(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def _baseline(name, classification, seed):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "ridge":
        from sklearn.linear_model import RidgeClassifierCV, RidgeCV

        from .selection import DEFAULT_ALPHAS

        ridge = (RidgeClassifierCV if classification else RidgeCV)(
            alphas=np.asarray(DEFAULT_ALPHAS))
        return make_pipeline(*_raw_values(), StandardScaler(), ridge)
    if name == "mlp":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        mlp = (MLPClassifier if classification else MLPRegressor)(max_iter=500,
                                                                   random_state=seed)
        return make_pipeline(*_raw_values(), StandardScaler(), mlp)
    module, classifier, regressor = _AEON_BASELINES[name]
    try:
        package = importlib.import_module(
            f"aeon.{'classification' if classification else 'regression'}.{module}")
    except ImportError as exc:
        raise ImportError(_AEON_MISSING.format(name=name)) from exc
    estimator = getattr(package, classifier if classification else regressor)
    # aeon's estimators need one length: unequal lengths are zero-padded to the longest
    return make_pipeline(_EqualLength(), estimator(random_state=seed))


def _imported_estimator(spec):
    """``module:Class`` or ``module:Class{json}`` -> an instance."""
    target, _, params_text = spec.partition("{")
    module_name, _, class_name = target.partition(":")
    params = {}
    if params_text:
        try:
            params = json.loads("{" + params_text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"model {spec!r}: the parameters are not valid JSON ({exc.msg} "
                             f"at character {exc.pos}).") from exc
        if not isinstance(params, dict):
            raise ValueError(f"model {spec!r}: the parameters must be a JSON object.")
    try:
        module = importlib.import_module(module_name.strip())
    except ImportError as exc:
        raise ValueError(f"model {spec!r}: cannot import module {module_name.strip()!r} "
                         f"({exc}).") from exc
    cls = getattr(module, class_name.strip(), None)
    if cls is None or not hasattr(cls, "fit"):
        raise ValueError(f"model {spec!r}: {module_name.strip()!r} has no estimator class "
                         f"{class_name.strip()!r}.")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"model {spec!r}: {exc}.") from exc
