"""Every script in ``examples/`` runs to completion in quick mode.

The scripts are sphinx-gallery examples; ``SKTDI_EXAMPLES_QUICK=1`` makes each shrink its
data and epochs so that it finishes in seconds. They run in this process with
:func:`runpy.run_path` (the imports of torch and scikit-learn are paid once) on the
headless Agg backend of matplotlib.
"""

import runpy
import warnings
from pathlib import Path

import pytest

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))


def test_examples_found():
    assert EXAMPLES, f"no example scripts found in {EXAMPLES_DIR}"
    assert (EXAMPLES_DIR / "README.txt").is_file()  # the sphinx-gallery header


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script, monkeypatch, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("SKTDI_EXAMPLES_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # anything a script writes lands in a temporary folder
    monkeypatch.setattr("sys.argv", [str(script)])
    # The tiny quick-mode models are slowed down by an order of magnitude when torch's
    # threads compete for shared cores; one thread is plenty for them.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():  # the scripts' own warning filters stay local
            namespace = runpy.run_path(str(script), run_name="__main__")
    finally:
        torch.set_num_threads(threads)
        plt.close("all")
    assert namespace["QUICK"] is True
