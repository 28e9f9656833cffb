"""scikit-learn's estimator checks over every estimator of the toolkit."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktdi import (
    SpectralInitializer,
    SSMClassifier,
    SSMFeatureClassifier,
    SSMFeatureRegressor,
    SSMRegressor,
)

ESTIMATORS = [
    SSMClassifier(random_state=0),
    SSMRegressor(random_state=0),
    SSMClassifier(init="tdi", random_state=0),
    SSMRegressor(init="tdi", random_state=0),
    SpectralInitializer(random_state=0),
    # small banks keep the checks quick; the code paths are those of the defaults
    SSMFeatureClassifier(d_model=16, random_state=0),
    SSMFeatureRegressor(d_model=16, random_state=0),
    SSMFeatureClassifier(init="auto", d_model=16, random_state=0),
    SSMFeatureRegressor(init="S4D-Lin", d_model=16, random_state=0),
]


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
    if isinstance(estimator, SSMClassifier | SSMRegressor):
        return {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS_ARE_NOT_REPEATS}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
