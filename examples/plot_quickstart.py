"""
Quick start: an SSM classifier in a scikit-learn pipeline
=========================================================

:class:`~sktdi.SSMClassifier` is an ordinary scikit-learn estimator, so it goes into a
:class:`~sklearn.pipeline.Pipeline` and its hyperparameters, the initialization ``init``
included, can be tuned by :class:`~sklearn.model_selection.GridSearchCV`.

The data are scikit-learn's 8x8 digits read row by row as length-64 sequences
(:func:`sktdi.datasets.load_digits_sequences`), which ship with scikit-learn and need no
download. The grid compares two named initializations from the S4D family with
task-dependent initialization (``init="tdi"``), which fits the first SSM layer's power
spectrum to the task's before training.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktdi import SSMClassifier
from sktdi.datasets import load_digits_sequences

# ``SKTDI_EXAMPLES_QUICK=1`` shrinks everything so that the script runs in seconds.
QUICK = os.environ.get("SKTDI_EXAMPLES_QUICK", "0") == "1"
# A capped number of epochs is part of this demo: do not warn about it on every fit.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# Data
# ----
# One sequence per row: ``X`` has shape ``(n_samples, seq_len)``. Multivariate data
# would be 3-D, ``(n_samples, n_channels, seq_len)``.
X, y = load_digits_sequences()
if QUICK:
    X, _, y, _ = train_test_split(X, y, train_size=300, stratify=y, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
print(f"train {X_train.shape}, test {X_test.shape}, {len(np.unique(y))} classes")

# %%
# A pipeline and a grid over the initialization
# ---------------------------------------------
# The SSM's size is set by ``d_model`` (channels ``H``) and ``n_states`` (states ``N``
# per channel); the other hyperparameters follow
# :class:`~sklearn.neural_network.MLPClassifier`.
size = {"d_model": 8, "n_states": 8, "max_iter": 3} if QUICK else {
    "d_model": 32, "n_states": 32, "max_iter": 10}
pipe = make_pipeline(StandardScaler(), SSMClassifier(random_state=0, **size))
grid = {"ssmclassifier__init": ["S4D-Lin", "S4D-Inv", "tdi"]}
search = GridSearchCV(pipe, grid, cv=2 if QUICK else 3)
search.fit(X_train, y_train)

for init, mean, std in zip(grid["ssmclassifier__init"],
                           search.cv_results_["mean_test_score"],
                           search.cv_results_["std_test_score"], strict=True):
    print(f"{init:8s} cross-validated accuracy {mean:.3f} +/- {std:.3f}")
print("best:", search.best_params_)
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Cross-validated scores and the confusion matrix on the test set
# ---------------------------------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
axes[0].bar(grid["ssmclassifier__init"], search.cv_results_["mean_test_score"],
            yerr=search.cv_results_["std_test_score"], color=["C0", "C1", "C2"], capsize=4)
axes[0].set_ylabel("cross-validated accuracy")
axes[0].set_title("init")
ConfusionMatrixDisplay.from_estimator(search.best_estimator_, X_test, y_test, ax=axes[1],
                                      colorbar=False)
axes[1].set_title(f"best pipeline ({search.best_params_['ssmclassifier__init']})")
plt.show()

# %%
# The fitted classifier keeps the first SSM layer at initialization (``params_init_``)
# and after training (``params_``), both :class:`~sktdi.SSMParams`; see
# :ref:`sphx_glr_auto_examples_plot_spectra_before_after.py` for what to do with them.
clf = search.best_estimator_[-1]
print(clf.params_init_.A.shape, clf.n_iter_, "epochs")
