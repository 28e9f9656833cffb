"""scikit-learn's estimator checks over every estimator of the toolkit."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktdi import SSMClassifier, SSMRegressor

ESTIMATORS = [
    SSMClassifier(random_state=0),
    SSMRegressor(random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
