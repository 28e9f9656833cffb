"""Test-session settings shared by the unit tests and the doctests."""

import os

import torch

# `python -m sktdi` runs the command line on import: not a module to collect doctests from.
collect_ignore = ["sktdi/__main__.py"]

# Under pytest-xdist every worker is its own process: one torch thread each keeps the
# workers from oversubscribing the cores (which slows torch down by an order of magnitude).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
