"""scikit-learn's estimator checks over every estimator of the toolkit."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktdi import SpectralInitializer, SSMClassifier, SSMRegressor

ESTIMATORS = [
    SSMClassifier(random_state=0),
    SSMRegressor(random_state=0),
    SSMClassifier(init="tdi", random_state=0),
    SSMRegressor(init="tdi", random_state=0),
    SpectralInitializer(random_state=0),
]

# These checks fit on 2- or 3-step sequences (make_blobs data with 2 or 3 features). A task
# spectrum needs at least 4 time steps, and SpectralInitializer raises a ValueError that
# says so, by design. The properties these checks cover (pickling, idempotent fits,
# subset and order invariance, NaN errors, dtypes, ...) are tested on long sequences in
# tests/test_initializer.py::test_initializer_behaves_like_a_transformer.
_TOO_SHORT = (
    "fits on sequences of 2-3 steps; a task spectrum needs >= 4 steps, so "
    "SpectralInitializer raises ValueError by design"
)
SHORT_SEQUENCE_CHECKS = (
    "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_estimators_nan_inf",
    "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in", "check_pipeline_consistency",
    "check_readonly_memmap_input", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_n_iter", "check_transformer_preserve_dtypes",
)


# Integer weights are not the same fit as repeated rows for mini-batch training: the
# repeated data make more and different batches per epoch (and another shuffling), so the
# optimizer path differs. MLPClassifier and SGDClassifier are in the same position. That
# unit weights change nothing, and zero weights act like dropped rows on a full-batch fit,
# is tested in tests/test_reliability.py.
_WEIGHTS_ARE_NOT_REPEATS = (
    "mini-batch Adam: weighting a row by k is not the same optimization path as repeating "
    "it k times (batch count and composition differ)"
)


def expected_failed_checks(estimator):
    if isinstance(estimator, SpectralInitializer):
        return dict.fromkeys(SHORT_SEQUENCE_CHECKS, _TOO_SHORT)
    return {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS_ARE_NOT_REPEATS}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
