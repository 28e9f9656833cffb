"""sktdi: scikit-learn estimators for state space models with task-dependent initialization.

Train small diagonal SSMs on sequences (``SSMClassifier``, ``SSMRegressor``), or use a fixed
SSM filter bank with a ridge readout without training (``SSMFeatureClassifier``,
``SSMFeatureRegressor``); align the SSM's frequency response with the power spectrum of
the task first (``SpectralInitializer``, ``init="tdi"``), or let the training data choose
(``init="auto"``).
"""

from .core import SSMParams
from .estimators import SSMClassifier, SSMRegressor
from .feature_estimators import SSMFeatureClassifier, SSMFeatureRegressor
from .initializer import SpectralInitializer

__version__ = "0.1.0"

__all__ = [
    "SSMClassifier", "SSMFeatureClassifier", "SSMFeatureRegressor", "SSMParams",
    "SSMRegressor", "SpectralInitializer", "__version__",
]
