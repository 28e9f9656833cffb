"""scikit-learn's estimator checks over every public estimator, with no expected failures."""

import numpy as np
import pytest
from sklearn.utils import shuffle
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktdi import (
    SpectralInitializer,
    SSMClassifier,
    SSMFeatureClassifier,
    SSMFeatureRegressor,
    SSMRegressor,
)

# The trained estimators run the checks in float64: check_sample_weight_equivalence
# compares a fit with integer weights against a fit on repeated rows to a relative 1e-7,
# and in float32 the two differ by rounding alone (the row order of the sums); that they
# agree to float32 precision is tested below. Every other check passes in float32 too.
ESTIMATORS = [
    SSMClassifier(random_state=0, dtype="float64"),
    SSMRegressor(random_state=0, dtype="float64"),
    SSMClassifier(init="tdi", random_state=0, dtype="float64"),
    SSMRegressor(init="tdi", random_state=0, dtype="float64"),
    SSMClassifier(init="auto", random_state=0, dtype="float64"),
    SpectralInitializer(random_state=0),
    # small banks keep the checks quick; the code paths are those of the defaults
    SSMFeatureClassifier(d_model=16, random_state=0),
    SSMFeatureRegressor(d_model=16, random_state=0),
    SSMFeatureClassifier(init="auto", d_model=16, random_state=0),
    SSMFeatureRegressor(init="S4D-Lin", d_model=16, random_state=0),
    # missing="impute" declares allow_nan: the checks then feed it NaN as missing values
    SSMFeatureClassifier(d_model=16, random_state=0, missing="impute"),
    SSMClassifier(random_state=0, dtype="float64", missing="impute"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [SSMClassifier(random_state=0),
                                       SSMRegressor(init="tdi", random_state=0)])
def test_float32_weights_equal_repeated_rows_to_float32_precision(estimator):
    """The data of check_sample_weight_equivalence_on_dense_data, in float32: equal up to
    float32 rounding, which the optimizer amplifies over the epochs to a relative 3e-4 at
    most here (in float64 the same fits agree to the check's 1e-7)."""
    rng = np.random.RandomState(42)
    X, y, weights = rng.rand(15, 30), rng.randint(0, 3, size=15), rng.randint(0, 5, size=15)
    repeated = estimator.__class__(**estimator.get_params()).fit(X.repeat(weights, axis=0),
                                                                 y.repeat(weights))
    Xs, ys, ws = shuffle(X, y, weights, random_state=0)
    weighted = estimator.__class__(**estimator.get_params()).fit(Xs, ys, sample_weight=ws)
    method = "predict_proba" if hasattr(estimator, "predict_proba") else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-3, atol=1e-3)
