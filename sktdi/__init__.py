"""sktdi: scikit-learn estimators for state space models with task-dependent initialization.

Train small diagonal SSMs on sequences (``SSMClassifier``, ``SSMRegressor``) and align their
frequency response with the power spectrum of the task before training
(``SpectralInitializer``, ``init="tdi"``).
"""

from .core import SSMParams
from .estimators import SSMClassifier, SSMRegressor
from .initializer import SpectralInitializer

__version__ = "0.1.0"

__all__ = [
    "SSMClassifier", "SSMParams", "SSMRegressor", "SpectralInitializer", "__version__",
]
