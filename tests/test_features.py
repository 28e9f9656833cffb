"""The training-free feature map (sktdi.core.features) against independent computations."""

import numpy as np
import pytest
import torch

import sktdi.core.features as features_module
from sktdi.core import (
    SSMFeatureMap,
    input_views,
    make_params,
    pooled_statistics,
)
from sktdi.core.features import (
    LEVEL_WEIGHT,
    bias_levels,
    bias_sample_size,
    level_and_scale,
    weighted_quantile_midpoints,
)
from sktdi.spectral import ssm_kernel


def longest_run_reference(mask):
    best = run = 0
    for value in mask:
        run = run + 1 if value else 0
        best = max(best, run)
    return best


def test_pooled_statistics_match_their_definitions():
    rng = np.random.RandomState(0)
    y = rng.normal(size=(3, 4, 50)).cumsum(-1)  # (B, H, L): runs of positive values
    biases = rng.normal(size=(4, 2))
    stats = ("ppv", "lspv", "max", "min", "last", "mean", "power")
    got = pooled_statistics(torch.as_tensor(y), torch.as_tensor(biases), stats).numpy()
    above = y[:, :, None, :] > biases[None, :, :, None]  # (B, H, q, L)
    lspv = np.array([[[longest_run_reference(above[b, h, j]) for j in range(2)]
                      for h in range(4)] for b in range(3)])
    expected = np.hstack([
        above.mean(-1).reshape(3, -1), lspv.reshape(3, -1) / 50, y.max(-1), y.min(-1),
        y[..., -1], y.mean(-1), (y**2).mean(-1),
    ])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_thresholds_keep_clear_of_values_that_differ_by_rounding():
    """Two outputs one float32 unit apart are one value: the threshold does not fall between
    them (their midpoint rounds onto one of them), and stays clear of every value."""
    one_up = np.nextafter(np.float32(1.0), np.float32(2.0))
    values = torch.tensor([[0.0, 1.0, one_up, 2.0, 3.0]])
    levels = torch.tensor([[0.3, 0.5]])
    got = weighted_quantile_midpoints(values, torch.ones(5), levels).numpy()[0]
    np.testing.assert_allclose(got, [1.5, 1.5])
    gaps = np.abs(got[:, None] - values.numpy()[0]).min(axis=1)
    assert np.all(gaps >= 4 * np.finfo(np.float32).eps * 3.0)


def test_weighted_quantile_midpoints_follow_the_weighted_cdf():
    values = torch.tensor([[5.0, 1.0, 3.0, 3.0, 9.0]])
    weights = torch.tensor([1.0, 1.0, 2.0, 0.0, 1.0])  # cdf over 1, 3, 5, 9: 1, 3, 4, 5 of 5
    levels = torch.tensor([[0.1, 0.5, 0.7, 0.95]])
    # quantiles 1, 3, 3 (cdf 0.6 reaches 0.5 and 0.7 falls between 3 and 5 -> 5), 9
    got = weighted_quantile_midpoints(values, weights, levels)
    np.testing.assert_allclose(got.numpy()[:, :3], [[2.0, 4.0, 7.0]])
    # above the largest value: eight rounding units above it, not on it
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(got.numpy()[0, 3], 9.0 + 8 * eps * 9.0, rtol=eps)
    # integer weights count like repeated values
    repeated = torch.tensor([[5.0, 1.0, 3.0, 3.0, 9.0]])
    np.testing.assert_allclose(
        weighted_quantile_midpoints(repeated, torch.ones(5), levels).numpy(),
        weighted_quantile_midpoints(torch.tensor([[5.0, 1.0, 3.0, 3.0, 9.0, 9.0]]),
                                    torch.tensor([1.0, 1.0, 1.0, 1.0, 0.5, 0.5]),
                                    levels).numpy())


def test_equal_weights_take_the_ranks_as_the_weighted_cdf_would():
    """Equal weights skip the sort's order (ranks stand for the cumulative weights); a
    copy of a value with weight 0 sends the same rows through the weighted path."""
    gen = torch.Generator().manual_seed(4)
    values = torch.randn(6, 300, generator=gen)
    levels = torch.rand(6, 5, generator=gen)
    equal = weighted_quantile_midpoints(values, torch.full((300,), 0.25), levels)
    with_copy = torch.cat([values, values[:, :1]], dim=1)
    weights = torch.cat([torch.full((300,), 0.25), torch.zeros(1)])
    torch.testing.assert_close(
        equal, weighted_quantile_midpoints(with_copy, weights, levels), rtol=0, atol=0)


def test_bias_sample_shares_a_budget_within_bounds_per_channel():
    sizes = [bias_sample_size(h) for h in (1, 32, 64, 128, 256, 1024)]
    assert sizes == [8192, 8192, 8192, 4096, 2048, 2048]


def test_bias_levels_cover_the_range_without_repeats():
    levels = bias_levels(64, 5)
    assert levels.shape == (64, 5) and levels.min() >= 0.1 and levels.max() <= 0.9
    assert len({tuple(row) for row in np.round(levels, 12)}) == 64


def test_input_views_append_first_differences():
    X = np.array([[[1.0, 4.0, 2.0]]])
    np.testing.assert_array_equal(input_views(X, True), [[[1.0, 4.0, 2.0], [0.0, 3.0, -2.0]]])
    np.testing.assert_array_equal(input_views(X, 1), input_views(X, True))
    assert input_views(X, False) is X and input_views(X, 0) is X


def test_input_views_of_second_differences_are_those_of_first_differences():
    """differences=2 filters the same views as 1 (its second difference is read from the
    outputs); any other value is refused."""
    X = np.array([[[1.0, 4.0, 2.0, np.nan]], [[0.0, 1.0, 3.0, 6.0]]])
    np.testing.assert_array_equal(input_views(X, 2), input_views(X, 1))
    with pytest.raises(ValueError, match="differences"):
        SSMFeatureMap(make_params("S4D-Lin", 2, 4, random_state=0), differences=3)


def test_feature_map_equals_convolution_with_the_kernel():
    """Outputs of the map are the causal convolution with ssm_kernel plus D u."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(6, 2, 40))
    params = make_params("S4D-LegS", 4, 8, random_state=0, dt_min=0.05, dt_max=0.5)
    bank = SSMFeatureMap(params, differences=True, statistics=("mean", "last", "max"))
    features = bank.fit_transform(X)
    views = (input_views(X, True) - bank.view_mean_[:, None]) / bank.view_scale_[:, None]
    K = ssm_kernel(params, 40)
    routes = [h * 4 // 4 for h in range(4)]  # channel h reads view h * V // H
    y = np.stack([[np.convolve(views[n, routes[h]], K[h])[:40] + params.D[h]
                   * views[n, routes[h]] for h in range(4)] for n in range(6)])
    expected = np.hstack([y.mean(-1), y[..., -1], y.max(-1)])
    np.testing.assert_allclose(features, expected, rtol=2e-4, atol=2e-5)  # float32 filtering


def test_feature_map_pools_the_differenced_outputs_of_the_difference_channels():
    """differences=2: after the H channels' statistics, those of the first differences of
    the H // 2 channels that read the difference views (0 at the first step), under the
    names dssm{h}."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(6, 2, 40))
    params = make_params("S4D-LegS", 4, 8, random_state=0, dt_min=0.05, dt_max=0.5)
    bank = SSMFeatureMap(params, differences=2, statistics=("mean", "last", "max"))
    features = bank.fit_transform(X)
    assert bank.n_pooled == 6 and features.shape == (6, 18)
    assert bank.feature_names()[:7] == [f"ssm{h}_mean" for h in range(4)] + [
        "dssm2_mean", "dssm3_mean", "ssm0_last"]
    views = (input_views(X, 2) - bank.view_mean_[:, None]) / bank.view_scale_[:, None]
    K = ssm_kernel(params, 40)
    routes = [h * 4 // 4 for h in range(4)]  # channel h reads view h * V // H
    y = np.stack([[np.convolve(views[n, routes[h]], K[h])[:40] + params.D[h]
                   * views[n, routes[h]] for h in range(4)] for n in range(6)])
    y = np.concatenate([y, np.diff(y[:, 2:], axis=-1, prepend=y[:, 2:, :1])], axis=1)
    expected = np.hstack([y.mean(-1), y[..., -1], y.max(-1)])
    np.testing.assert_allclose(features, expected, rtol=2e-4, atol=2e-5)  # float32 filtering


def test_bias_sample_of_differenced_channels_is_their_first_difference_at_the_sampled_steps(
        monkeypatch):
    """differences=2: the biases of the differenced channels are read from the first
    differences of the outputs (0 at the first step) at the steps the outputs' own sample
    reads, every stride-th one (a stride above 1 here)."""
    monkeypatch.setattr(features_module, "_BIAS_SAMPLE_TOTAL", 60)
    monkeypatch.setattr(features_module, "_BIAS_SAMPLE_PER_CHANNEL", (10, 10))
    read = {}
    original = features_module.weighted_quantile_midpoints

    def capturing(values, weights, levels):
        read["values"] = values.clone()
        return original(values, weights, levels)

    monkeypatch.setattr(features_module, "weighted_quantile_midpoints", capturing)
    X = np.random.RandomState(3).normal(size=(5, 1, 30))
    bank = SSMFeatureMap(make_params("S4D-LegS", 4, 8, random_state=0), differences=2).fit(X)
    stride = -(-5 * 30 // bias_sample_size(bank.n_pooled))
    assert stride == 15
    with torch.no_grad():
        y = bank.module_.bank(torch.as_tensor(bank.views(X), dtype=torch.float32))
    changes = torch.diff(y[:, 2:], dim=-1, prepend=y[:, 2:, :1])  # channels 2, 3
    expected = torch.cat([y[..., ::stride], changes[..., ::stride]], dim=1)  # (5, 6, 2)
    torch.testing.assert_close(read["values"], expected.transpose(0, 1).reshape(6, -1),
                               rtol=1e-5, atol=1e-5)  # float32 filtering, block by block


def test_feature_map_rows_do_not_depend_on_their_batch(monkeypatch, assert_features_close):
    """A row's features do not depend on the other rows of its batch, to rounding (which
    another row position, block size or thread count changes)."""
    rng = np.random.RandomState(2)
    X = rng.normal(size=(23, 1, 70))
    bank = SSMFeatureMap(make_params("S4D-LegS", 16, 16, random_state=0))
    full = bank.fit_transform(X)
    names = bank.feature_names()
    np.testing.assert_array_equal(bank.transform(X), full)  # the same blocks: same path
    assert_features_close(bank.transform(X[5:6]), full[5:6], names, 70)
    assert_features_close(bank.transform(X[::-1]), full[::-1], names, 70)
    # several batches (small blocks) give the same rows as one
    monkeypatch.setattr(features_module, "_COUNTER_ELEMENTS", 16 * 5 * 3)
    assert_features_close(bank.transform(X), full, names, 70)


def test_weights_count_like_repeated_sequences():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(8, 1, 30))
    weights = np.array([0, 1, 2, 3, 0, 1, 1, 2])
    params = make_params("S4D-Lin", 8, 8, random_state=0)
    weighted = SSMFeatureMap(params).fit(X, weights)
    repeated = SSMFeatureMap(params).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.view_mean_, repeated.view_mean_)
    np.testing.assert_allclose(weighted.view_scale_, repeated.view_scale_)
    np.testing.assert_allclose(weighted.biases_, repeated.biases_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weights", [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0],
                                     [0, 1, 1, 1, 1, 1], [1, 0, 2, 1, 0, 1]])
def test_fit_transform_is_fit_then_transform(weights):
    """Filtering once (the training rows' outputs kept, as a view where the rows of
    positive weight are a run, else a copy) fits what a separate fit does."""
    X = np.random.RandomState(4).normal(size=(6, 1, 30))
    params = make_params("S4D-LegS", 8, 8, random_state=0)
    both = SSMFeatureMap(params)
    features = both.fit_transform(X, np.asarray(weights, float))
    apart = SSMFeatureMap(params).fit(X, np.asarray(weights, float))
    np.testing.assert_allclose(both.biases_, apart.biases_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features, apart.transform(X), rtol=1e-4, atol=1e-5)


def test_feature_names_and_counts():
    bank = SSMFeatureMap(make_params("S4D-Lin", 3, 4, random_state=0), n_biases=2,
                         statistics=("ppv", "max"))
    names = bank.feature_names()
    assert bank.n_features == len(names) == 3 * 2 + 3
    assert names[:3] == ["ssm0_ppv0", "ssm0_ppv1", "ssm1_ppv0"] and names[-1] == "ssm2_max"


@pytest.mark.parametrize("level", [1.0, 0.1, 7.77, 123.456])
def test_constant_view_is_left_unscaled(level):
    """Whatever constant: the mean of 0.1 or 7.77 over many steps is not exact, and its
    rounding residue, taken for a spread, multiplied any change of the channel by 1e15."""
    X = np.full((20, 1, 50), level)
    bank = SSMFeatureMap(make_params("S4D-Lin", 4, 4, random_state=0)).fit(X)
    np.testing.assert_array_equal(bank.view_scale_, [1.0, 1.0])
    assert np.isfinite(bank.transform(X)).all()
    moved = bank.transform(X + 0.01) - bank.transform(X)
    linear = [not ("ppv" in name or "lspv" in name) for name in bank.feature_names()]
    assert np.abs(moved[:, linear]).max() < 1.0  # a change of 0.01 stays small (max, ...)
    normalized = input_views(X, differences=False, normalize=True)
    assert np.abs(normalized).max() < 1e-9  # a constant sequence normalizes to 0


@pytest.mark.parametrize("statistics", [(), ("ppv", "median")])
def test_unknown_statistics_are_refused(statistics):
    with pytest.raises(ValueError, match="statistics"):
        SSMFeatureMap(make_params("S4D-Lin", 2, 4, random_state=0), statistics=statistics)




def test_keep_level_appends_each_channels_level_and_scale_to_the_normalized_features():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 2, 40)) * rng.uniform(0.1, 100, size=(12, 2, 1)) + 5.0
    X[3, :, 25:] = np.nan  # a shorter sequence: its own 25 steps only
    params = make_params("S4D-LegS", 4, 8, random_state=0)
    kept = SSMFeatureMap(params, normalize="keep-level").fit(X)
    plain = SSMFeatureMap(params, normalize=True).fit(X)
    F = kept.transform(X)
    assert kept.n_levels_ == 4 and F.shape == (12, plain.n_features + 4) == (12, kept.n_features)
    np.testing.assert_array_equal(F[:, :plain.n_features], plain.transform(X))
    own = X[3, 0, :25]
    np.testing.assert_allclose(F[3, plain.n_features], np.log(own.std()), rtol=1e-6)
    np.testing.assert_allclose(F[3, plain.n_features + 2],
                               np.arcsinh(own.mean() / own.std()), rtol=1e-6)
    assert kept.feature_names()[-4:] == ["x0_log_std", "x1_log_std", "x0_mean_per_std",
                                         "x1_mean_per_std"]
    np.testing.assert_array_equal(kept.feature_weights_,
                                  [1.0] * plain.n_features + [LEVEL_WEIGHT] * 4)
    assert plain.feature_weights_ is None and plain.n_levels_ == 0


@pytest.mark.parametrize("normalize", [False, "keep-level"])
def test_feature_weights_give_the_differenced_outputs_statistics_their_weight(normalize):
    """The difference weight reaches exactly the statistics named ``dssm``, the level
    weight the level and scale features; weights of 1 everywhere are None."""
    X = np.random.RandomState(2).normal(size=(10, 2, 30))
    params = make_params("S4D-LegS", 6, 8, random_state=0)
    bank = SSMFeatureMap(params, differences=2, normalize=normalize).fit(X)
    names = bank.feature_names()
    weights = bank.feature_weights(0.5)
    assert weights.shape == (bank.n_features,) == (len(names),)
    differenced = np.array([name.startswith("dssm") for name in names])
    level = np.array([name.startswith("x") for name in names])
    assert differenced.sum() == 3 * (2 * bank.n_biases + 3)  # 3 differenced channels
    np.testing.assert_array_equal(weights[differenced], 0.5)
    np.testing.assert_array_equal(weights[level], LEVEL_WEIGHT)
    np.testing.assert_array_equal(weights[~differenced & ~level], 1.0)
    if normalize is False:
        assert bank.feature_weights(1.0) is None and bank.feature_weights_ is None
    assert SSMFeatureMap(params, differences=1).fit(X).feature_weights(0.5) is None
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="difference_weight"):
            bank.feature_weights(bad)


def test_level_and_scale_shift_with_the_units_and_keep_the_shape():
    X = np.random.RandomState(1).normal(size=(5, 3, 30)) + 2.0
    scaled = level_and_scale(1000.0 * X)
    np.testing.assert_allclose(scaled[:, :3], level_and_scale(X)[:, :3] + np.log(1000.0))
    np.testing.assert_allclose(scaled[:, 3:], level_and_scale(X)[:, 3:])
    assert np.isfinite(level_and_scale(np.full((2, 1, 10), 3.0))).all()  # constant channel


@pytest.mark.parametrize("normalize", ["keep_level", "yes", 2, None])
def test_unknown_normalize_is_refused(normalize):
    with pytest.raises(ValueError, match="normalize must be True, False or 'keep-level'"):
        SSMFeatureMap(make_params("S4D-Lin", 2, 4, random_state=0), normalize=normalize)
