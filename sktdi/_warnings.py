"""Warnings that point at the user's line, not at sktdi's: the first frame of the call
stack outside sktdi and scikit-learn (whose ``fit`` wrappers sit between)."""

import contextlib
import os
import sys
import warnings

import sklearn

__all__ = ["SequenceLayoutWarning", "each_once", "warn"]

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


@contextlib.contextmanager
def each_once():
    """Pass on the warnings raised inside once each (distinct category and message), when
    the block ends (also by an error), through the caller's filters: a filter set inside
    (``"once"``) would override a user's ``"ignore"``."""
    raised = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            raised = caught
            yield
    finally:
        seen = set()
        for record in raised:
            if (record.category, str(record.message)) not in seen:
                seen.add((record.category, str(record.message)))
                warnings.warn_explicit(record.message, record.category, record.filename,
                                       record.lineno)
