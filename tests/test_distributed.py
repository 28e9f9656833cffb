"""Beyond one process: a Dask cluster on loopback, and a curve run killed and resumed."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV, learning_curve

from sktdi import SSMRegressor
from sktdi.datasets import make_spectral_task
from sktdi.model_selection import sample_efficiency_curve

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = {"d_model": 4, "n_states": 4, "max_iter": 3, "random_state": 0}


def _torch_threads_scorer(estimator, X, y):
    return torch.get_num_threads()


def _three_studies(X, y):
    """learning_curve, GridSearchCV and sample_efficiency_curve scores (R^2: any change in
    a fit shows), each run through whatever joblib backend is active."""
    model = SSMRegressor(**SMALL)
    curve = learning_curve(model, X, y, train_sizes=[0.5, 1.0], cv=2, n_jobs=2)[2]
    search = GridSearchCV(model, {"learning_rate_init": [1e-3, 1e-2]}, cv=2, n_jobs=2)
    grid = search.fit(X, y).cv_results_["mean_test_score"]
    records = sample_efficiency_curve(
        {"S4D-Lin": model, "tdi": SSMRegressor(init="tdi", **SMALL)}, X, y, [8, 16],
        n_repeats=2, n_jobs=2, random_state=0, torch_threads=1, return_dataframe=False)
    efficiency = sorted((r["estimator"], r["train_size"], r["repeat"], r["score"])
                        for r in records)
    threads = learning_curve(model, X, y, train_sizes=[1.0], cv=2, n_jobs=2,
                             scoring=_torch_threads_scorer)[2]
    return curve, grid, efficiency, threads


def test_dask_cluster_gives_the_same_scores_as_loky():
    distributed = pytest.importorskip("distributed")
    X, y = make_spectral_task(n_samples=48, seq_len=32, task="regression", random_state=0)
    with parallel_config("loky", inner_max_num_threads=1):
        loky = _three_studies(X, y)
    # Nanny-started workers get OMP_NUM_THREADS=1 from Dask's default pre-spawn
    # environment, so torch runs one thread per worker thread: no oversubscription.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster), parallel_config("dask"):
        dask = _three_studies(X, y)
    for from_loky, from_dask in zip(loky[:3], dask[:3], strict=True):
        np.testing.assert_array_equal(from_loky, from_dask)
    assert np.all(loky[3] == 1) and np.all(dask[3] == 1)


# ------------------------------------------------------------------ kill and resume
ARGS = ["curves", "--inits", "S4D-Lin,tdi", "--train-sizes", "8,16,24", "--repeats", "2",
        "--max-iter", "40", "--d-model", "8", "--n-states", "8", "--n-jobs", "1", "--quiet"]


def _run(out, *extra, wait=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "sktdi", *ARGS, "--dataset", str(out.parent / "data.npz"),
               "--out", str(out), *extra]
    if wait:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _table(path):
    return sorted((r["estimator"], r["train_size"], r["repeat"], r["score"], r["n_test"])
                  for r in _rows(path))


def _wait_for_rows(path, count, process, timeout=120):
    """Poll until the run has written ``count`` finished fits (a condition, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(_rows(path)) >= count:
            return
        if process.poll() is not None:
            pytest.fail("the run ended before it could be killed")
        time.sleep(0.02)
    pytest.fail(f"no {count} finished fits in {path} within {timeout}s")


def test_killed_run_resumes_to_the_same_table(tmp_path):
    X, y = make_spectral_task(n_samples=64, seq_len=48, random_state=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    whole = _run(tmp_path / "whole")
    assert whole.returncode == 0

    killed_out = tmp_path / "killed"
    process = _run(killed_out, wait=False)
    _wait_for_rows(killed_out / "curves.csv", 3, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    survived = _rows(killed_out / "curves.csv")  # a complete table, never a torn line
    assert 3 <= len(survived) < 12 and all(row["score"] for row in survived)
    assert not (killed_out / "summary.md").exists()

    _run(killed_out, "--resume")
    assert _table(killed_out / "curves.csv") == _table(tmp_path / "whole" / "curves.csv")
    assert len(_rows(killed_out / "curves.csv")) == 12
    assert sorted(p.name for p in killed_out.iterdir()) == [
        "curves.csv", "curves.png", "spectra.png", "summary.md"]


# ------------------------------------------------------------------ sktdi curves --scheduler
def test_curves_on_a_local_cluster_equal_a_local_run_and_resume(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from sktdi.cli import main

    X, y = make_spectral_task(n_samples=64, seq_len=48, random_state=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    args = ["curves", "--dataset", str(tmp_path / "data.npz"), "--models",
            "S4D-Lin,features,ridge", "--train-sizes", "8,16", "--repeats", "2",
            "--max-iter", "3", "--d-model", "4", "--n-states", "4", "--quiet"]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the cluster's workers run one torch thread each
    try:
        assert main([*args, "--n-jobs", "1", "--out", str(tmp_path / "local")]) == 0
    finally:
        torch.set_num_threads(previous)
    assert main([*args, "--scheduler", "local:2", "--out", str(tmp_path / "cluster")]) == 0
    assert _table(tmp_path / "cluster" / "curves.csv") == _table(tmp_path / "local" /
                                                                  "curves.csv")
    # resumable as a local run: drop half of the fits, resume on the cluster
    rows = _rows(tmp_path / "cluster" / "curves.csv")
    with (tmp_path / "cluster" / "curves.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[::2])
    assert main([*args, "--scheduler", "local:2", "--resume", "--out",
                 str(tmp_path / "cluster")]) == 0
    assert _table(tmp_path / "cluster" / "curves.csv") == _table(tmp_path / "local" /
                                                                  "curves.csv")
