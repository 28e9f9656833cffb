"""The panel benchmark's verdict (benchmarks/bench_panel.py): its targets read means of
scores, so a gap on a target's line must count as on it, whatever the rounding."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_paired  # noqa: E402
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


def test_reference_figures_are_means_over_each_role_confirmation_first(tmp_path):
    from _common import write_csv

    rows = [{"problem": "P", "seed": seed, "role": "selection" if seed < 3 else "confirmation",
             "fraction": fraction, "n_train": 1, "score": score}
            for seed, fraction, score in [(0, 0.1, 0.5), (1, 0.1, 0.7), (3, 0.1, 0.9),
                                          (4, 0.1, 0.8), (0, 1.0, 1.0), (1, 1.0, 0.9),
                                          (3, 1.0, 0.6), (4, 1.0, 0.7)]]
    path = tmp_path / "reference.csv"
    write_csv(path, rows, ["problem", "seed", "role", "fraction", "n_train", "score"])
    figures = bench_panel.reference_figures(path)
    assert list(figures["P"]) == [(3, 4), (0, 1)]
    assert figures["P"][(3, 4)][0.1] == pytest.approx(0.85)
    assert figures["P"][(0, 1)][1.0] == pytest.approx(0.95)
    assert set(figures["P"][(0, 1)]) == {0.1, 1.0}  # no fit at 30% in this file


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


def test_paired_comparison_tells_a_real_gap_from_noise():
    """bench_paired.py: a model that errs on 40 of 200 test sequences against one that
    errs on 5 of them differ beyond doubt; two models wrong on different but equally many
    sequences do not, and the interval of their difference spans zero."""
    import numpy as np

    y = np.zeros(200, dtype=int)
    ours = y.copy()
    ours[:5] = 1
    worse = y.copy()
    worse[100:140] = 1
    assert bench_paired.paired_test("classification", y, ours, worse) < 1e-6
    low, high = bench_paired.bootstrap_interval("classification", y, ours, worse, 2000, 0)
    assert high < 0  # the peer's accuracy minus ours
    other = y.copy()
    other[50:55] = 1
    assert bench_paired.paired_test("classification", y, ours, other) > 0.99  # 5 against 5
    low, high = bench_paired.bootstrap_interval("classification", y, ours, other, 2000, 0)
    assert low < 0 < high


def test_paired_regression_test_is_a_t_test_on_squared_errors():
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(0)
    y = rng.standard_normal(40)
    ours, theirs = y + 0.5 * rng.standard_normal(40), y + 0.6 * rng.standard_normal(40)
    differences = (theirs - y) ** 2 - (ours - y) ** 2  # the t statistic, written out
    t = differences.mean() / (differences.std(ddof=1) / np.sqrt(len(y)))
    expected = 2 * stats.t.sf(abs(t), df=len(y) - 1)
    assert np.isclose(bench_paired.paired_test("regression", y, ours, theirs), expected)
    assert bench_paired.paired_test("regression", y, ours, ours) == 1.0
