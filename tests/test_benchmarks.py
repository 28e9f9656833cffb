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
