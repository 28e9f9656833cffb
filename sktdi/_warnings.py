"""Warnings that point at the user's line, not at sktdi's: the first frame of the call
stack outside sktdi and scikit-learn (whose ``fit`` wrappers sit between)."""

import os
import sys
import warnings

import sklearn

__all__ = ["SequenceLayoutWarning", "warn"]

_INTERNAL = (os.path.dirname(os.path.abspath(__file__)),
             os.path.dirname(os.path.abspath(sklearn.__file__)))


class SequenceLayoutWarning(UserWarning):
    """An array whose axes look swapped: ``(n_samples, seq_len, n_channels)`` read as
    ``(n_samples, n_channels, seq_len)``."""


def warn(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first caller outside sktdi and
    scikit-learn."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
