"""scikit-learn's private helpers that sktdi relies on, imported in this one place.

They are not part of scikit-learn's public API and have moved between releases; a release
that moves one again breaks this import only. The tested range is in ``pyproject.toml``.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, _num_samples

__all__ = ["HasMethods", "Interval", "StrOptions", "_check_sample_weight", "_fit_context",
           "_num_samples", "_safe_indexing"]
