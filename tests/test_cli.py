"""The `sktdi` command line."""

import csv
import subprocess
import sys

import pytest

from sktdi.cli import main

TINY = ["--train-sizes", "8,16", "--repeats", "1", "--max-iter", "2", "--d-model", "4",
        "--n-states", "4", "--n-jobs", "1", "--inits", "S4D-Lin,tdi", "--quiet"]


@pytest.mark.parametrize("command", [["sktdi", "--help"], [sys.executable, "-m", "sktdi",
                                                            "--help"]])
def test_help(command):
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "curves" in result.stdout


def test_curves_writes_four_files_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["curves", *TINY, "--out", str(out)]) == 0
    for name in ("curves.csv", "curves.png", "spectra.png", "summary.md"):
        assert (out / name).stat().st_size > 0
    with (out / "curves.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["estimator"], r["train_size"]) for r in rows} == {
        (init, size) for init in ("S4D-Lin", "tdi") for size in ("8", "16")}
    assert "| tdi |" in (out / "summary.md").read_text()
    # --resume runs only what is missing: here nothing, so the table is unchanged
    assert main(["curves", *TINY, "--out", str(out), "--resume"]) == 0
    with (out / "curves.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)


@pytest.mark.parametrize("args, message", [
    (["--inits", "S5"], "unknown initialization 'S5'"),
    (["--dataset", "nowhere.npz"], "neither 'synthetic'"),
    (["--train-sizes", "a,b"], "--train-sizes"),
    (["--out", "/proc/forbidden"], "cannot write to --out"),
])
def test_curves_errors_exit_with_one_line(args, message, tmp_path, capsys):
    argv = ["curves", *TINY, "--out", str(tmp_path / "x"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_options_without_command_mean_curves(tmp_path):
    assert main([*TINY, "--out", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain" / "summary.md").exists()
