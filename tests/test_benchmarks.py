"""The panel benchmark's verdict (benchmarks/bench_panel.py): its targets read means of
scores, so a gap on a target's line must count as on it, whatever the rounding."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_panel  # noqa: E402


def _mean(scores):  # left to right in IEEE doubles: the same rounding on every machine
    return (scores[0] + scores[1] + scores[2]) / 3


def test_a_gap_exactly_on_the_line_holds_and_one_test_sequence_more_behind_does_not():
    theirs = _mean([39 / 50, 40 / 50, 42 / 50])  # three seeds' accuracies: 121 of 150
    ours = _mean([37 / 50, 39 / 50, 39 / 50])  # 115 of 150: 4 points behind
    assert ours - theirs < -0.04  # as computed, a rounding below the line
    assert bench_panel.at_least(ours - theirs, -0.04)
    fewer = _mean([37 / 50, 39 / 50, 38 / 50])  # one test sequence less
    assert not bench_panel.at_least(fewer - theirs, -0.04)


def test_every_timed_model_starts_at_one_torch_thread_even_after_minirocket():
    """Whatever torch's threads were before the round, and whatever MiniRocket leaves
    behind (after its transform torch read 2 threads), every sktdi model is timed at 1
    torch thread."""
    import numpy as np
    import torch

    seen = {}

    class Recording:
        def __init__(self, name):
            self.name = name

        def fit(self, X, y):
            seen[self.name] = torch.get_num_threads()
            return self

        def score(self, X, y):
            return 1.0

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 1, 20)), np.repeat([0, 1], 4)
    factories = bench_panel.model_factories("classification")
    factories.update({m: (lambda seed, m=m: Recording(m)) for m in ("SSMFeature", "SSM")})
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        bench_panel._timed_round(factories, 0, (X, y, X, y))
    finally:
        torch.set_num_threads(before)
    assert seen == {"SSMFeature": 1, "SSM": 1}
