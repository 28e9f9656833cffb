"""Test-session settings shared by the unit tests and the doctests."""

import os

import numpy as np
import pytest
import torch

# `python -m sktdi` runs the command line on import: not a module to collect doctests from.
collect_ignore = ["sktdi/__main__.py"]

# Under pytest-xdist every worker is its own process: one torch thread each keeps the
# workers from oversubscribing the cores (which slows torch down by an order of magnitude).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def assert_features_close():
    """Compare pooled statistics computed along two paths (other batches, blocks, or float
    precision), to what another path's rounding allows: the counted statistics (``ppv``,
    ``lspv``) may move by one step of ``1 / n_steps`` where an output lies within rounding
    of a bias, in at most 0.1% of the entries; the others agree to float32 precision."""

    def check(actual, expected, names, n_steps):
        actual, expected = np.asarray(actual), np.asarray(expected)
        counted = np.array(["ppv" in name or "lspv" in name for name in names])
        moved = actual[:, counted] != expected[:, counted]
        assert moved.mean() <= 1e-3, f"{moved.mean():.2%} of the counts moved"
        assert np.all(np.abs(actual - expected)[:, counted] <= 1 / n_steps + 1e-6)
        np.testing.assert_allclose(actual[:, ~counted], expected[:, ~counted], rtol=1e-4,
                                   atol=1e-5)

    return check
