"""The `sktdi` command line."""

import csv
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest

from sktdi.cli import main

# Fits here stop after a few epochs on purpose (max_iter is small to keep the suite fast):
# their ConvergenceWarning is expected. Default fits converge (test_estimators.py).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

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


# ---------------------------------------------------------- models, baselines, problems
MODELS_TINY = ["--train-sizes", "8,16", "--repeats", "1", "--max-iter", "2", "--d-model", "4",
               "--n-states", "4", "--n-jobs", "1", "--quiet"]


@pytest.fixture(scope="module")
def problem_files(tmp_path_factory):
    """Two problems as files: one with an official split (NAME_TRAIN/NAME_TEST), one pool."""
    import numpy as np

    from sktdi.datasets import make_spectral_task

    folder = tmp_path_factory.mktemp("problems")
    X, y = make_spectral_task(90, 48, random_state=0)
    np.savez(folder / "band_TRAIN.npz", X=X[:60], y=y[:60])
    np.savez(folder / "band_TEST.npz", X=X[60:], y=y[60:])
    X, y = make_spectral_task(64, 32, bands=((0.05, 0.1),), random_state=1)
    np.savez(folder / "low.npz", X=X, y=y)
    return folder


def _csv_rows(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_models_with_baselines_and_an_official_split(problem_files, tmp_path):
    out = tmp_path / "run"
    spec = ('S4D-Lin,features,ridge,'
            'lr=sklearn.linear_model:LogisticRegression{"C": 0.5, "max_iter": 200}')
    assert main(["curves", *MODELS_TINY, "--dataset", str(problem_files / "band_TRAIN.npz"),
                 "--models", spec, "--train-sizes", "0.25,1.0", "--min-per-class", "2",
                 "--out", str(out)]) == 0
    rows = _csv_rows(out / "curves.csv")
    assert {r["estimator"] for r in rows} == {"S4D-Lin", "features", "ridge", "lr"}
    assert {r["n_test"] for r in rows} == {"30"}  # the official test file, not a re-split
    assert {(r["size"], r["train_size"]) for r in rows} == {("0.25", "15"), ("1.0", "60")}
    summary = (out / "summary.md").read_text()
    assert "Official test split: 30 test sequences" in summary
    assert "## Gap to the best baseline" in summary and "| *ridge* |" in summary
    assert "sktdi 0.1.0" in summary and "command: `sktdi curves" in summary
    efficiency = summary.split("## Data efficiency")[1].splitlines()[4:8]
    assert len(efficiency) == 4 and all(
        line.endswith(("0% |", "25% |", "not reached |")) for line in efficiency), efficiency
    for name in ("curves.png", "spectra.png"):
        assert (out / name).stat().st_size > 0


def test_several_problems_give_an_aggregate_report(problem_files, tmp_path):
    out = tmp_path / "run"
    datasets = f"{problem_files / 'band_TRAIN.npz'},{problem_files / 'low.npz'}"
    assert main(["curves", *MODELS_TINY, "--dataset", datasets, "--models",
                 "S4D-Lin,features,ridge", "--train-sizes", "8,16", "--out", str(out)]) == 0
    rows = _csv_rows(out / "curves.csv")
    assert {r["dataset"] for r in rows} == {"band", "low"}
    for folder in ("band", "low"):
        for name in ("curves.png", "spectra.png", "summary.md"):
            assert (out / folder / name).stat().st_size > 0
    assert "Train and test pooled" in (out / "low" / "summary.md").read_text()
    summary = (out / "summary.md").read_text()
    assert "over 2 problems" in summary and "Mean rank" in summary
    assert "## Mean accuracy over 2 problem(s): band, low" in summary
    assert "### accuracy: wins / ties / losses against ridge" in summary
    assert (out / "curves.png").stat().st_size > 0


def test_inits_and_models_are_one_option(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["curves", *MODELS_TINY, "--inits", "S4D-Lin", "--models", "ridge",
                 "--out", str(out)]) == 2
    assert "not both" in capsys.readouterr().err and not out.exists()


def test_progress_lines_in_logs_and_none_when_quiet(problem_files, tmp_path, capsys):
    argv = ["curves", *[a for a in MODELS_TINY if a != "--quiet"], "--models", "ridge",
            "--dataset", str(problem_files / "low.npz"), "--out", str(tmp_path / "a")]
    assert main(argv) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert len(lines) == 2 and lines[-1].startswith("[2/2 fits,") and "left]" in lines[-1]
    assert main([*argv[:-1], str(tmp_path / "b"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("models, message", [
    ("S4D-Lin,bogus", "unknown model 'bogus'"),
    ("nowhere.module:Thing", "cannot import module 'nowhere.module'"),
    ("sklearn.linear_model:NoSuchModel", "no estimator class 'NoSuchModel'"),
    ('sklearn.linear_model:LogisticRegression{"C": }', "not valid JSON"),
    ('sklearn.linear_model:LogisticRegression[1]', "no estimator class"),
    ("sklearn.linear_model:LogisticRegression{\"nonsense\": 1}", "nonsense"),
    ("tdi:bogus", "the task spectrum after 'tdi:'"),
    ("features:bogus", "after 'features:'"),
    ("a=ridge,a=S4D-Lin", "given twice"),
])
def test_bad_models_exit_with_one_line_and_write_nothing(models, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["curves", *MODELS_TINY, "--models", models, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_minirocket_without_aeon_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)  # import aeon now raises ImportError
    monkeypatch.setitem(sys.modules, "aeon.classification.convolution_based", None)
    out = tmp_path / "run"
    assert main(["curves", *MODELS_TINY, "--models", "minirocket", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'sktdi[data]'" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["--scheduler", "local:0"], "positive number of workers"),
    (["--train-sizes", "0.5,8"], "mixes numbers of sequences and fractions"),
    (["--train-sizes", "1.5"], "fractions in (0, 1]"),
    (["--dataset", "synthetic,synthetic"], "distinct datasets"),
    (["--min-per-class", "0"], "--min-per-class"),
    (["--train-sizes", "1"], "1.0 is the whole pool"),
])
def test_bad_run_options(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["curves", *MODELS_TINY, "--models", "ridge", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_sizes_in_tables_are_percentages_of_the_pool_or_counts():
    """The whole pool is "100%", not "1", when the sizes are fractions."""
    from sktdi.cli import _size_header, _size_text

    assert _size_header([0.1, 0.3, 1.0], fractions=True) == ["10%", "30%", "100%"]
    assert _size_text(1.0, fractions=True) == "100%" and _size_text(16, fractions=False) == "16"



def test_curves_on_an_unequal_length_problem(tmp_path):
    """`sktdi curves --dataset ucr:PickupGestureWiimoteZ`: aeon's list of sequences of 29 to
    361 steps, through the SSM models and both baselines."""
    pytest.importorskip("aeon")
    out = tmp_path / "pickup"
    assert main(["curves", "--dataset", "ucr:PickupGestureWiimoteZ", "--models",
                 "features,S4D-Lin,ridge,minirocket", "--train-sizes", "20",
                 "--repeats", "1", "--max-iter", "2", "--d-model", "8", "--n-states", "8",
                 "--quiet", "--out", str(out)]) == 0
    with (out / "curves.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["estimator"] for r in rows} == {"features", "S4D-Lin", "ridge", "minirocket"}
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    assert (out / "spectra.png").stat().st_size > 0


def _aggregate_inputs(problems):
    import numpy as np

    tasks = {"classification": np.array([0, 1]), "regression": np.array([0.5, 1.7])}
    info = {"sktdi": "0", "commit": "", "command": "sktdi curves", "date": "today",
            "machine": "here", "python": "3", "versions": {}}
    return [SimpleNamespace(name=n, description=n, y=tasks[t], task=t,
                            classification=t == "classification")
            for n, t in problems], info


def test_aggregate_marks_means_over_fewer_problems():
    """A size that one problem lacks (its fractions raised to the per-class minimum fell
    on one size) is averaged over the others, and the report says so."""
    from sktdi.cli import _aggregate_summary

    records = [{"dataset": d, "estimator": e, "size": size, "repeat": 0, "score": score}
               for d, sizes in [("A", (0.1, 1.0)), ("B", (0.1, 0.3, 1.0))]
               for size in sizes for e, score in [("ssm", 0.8), ("ridge", 0.6)]]
    problems, info = _aggregate_inputs([("A", "classification"), ("B", "classification")])
    summary = _aggregate_summary(records, problems, ["ssm", "ridge"], ["ridge"], info)
    row = next(line for line in summary.splitlines() if line.startswith("| ssm |"))
    assert row.split("|")[2:5] == [" 0.800 (1.0) ", " 0.800 (1.0)† ", " 0.800 (1.0) "]
    assert "† over fewer problems" in summary


def test_aggregate_keeps_accuracy_and_r2_apart(tmp_path, monkeypatch):
    """Problems are averaged only with problems of their own metric: one section and one
    panel per metric, and an R^2 far below 0 is cut off the axis with a note."""
    import matplotlib.pyplot as plt

    from sktdi import cli

    scores = {"A": {"ssm": 0.9, "ridge": 0.7}, "B": {"ssm": 0.8, "ridge": 0.6},
              "R": {"ssm": 0.3, "ridge": -40.0}}
    records = [{"dataset": d, "estimator": e, "size": size, "repeat": r, "score": score}
               for d, by_model in scores.items() for e, score in by_model.items()
               for size in (0.1, 1.0) for r in range(2)]
    problems, info = _aggregate_inputs([("A", "classification"), ("B", "classification"),
                                        ("R", "regression")])
    models = {"ssm": None, "ridge": None}
    figures = []
    monkeypatch.setattr(cli, "_save_figure", lambda ax, path: figures.append(ax.figure))
    cli._write_aggregate_outputs(records, problems, (None, models, ["ridge"], None),
                                 SimpleNamespace(quiet=True), info, tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    accuracy = summary.split("## Mean accuracy over 2 problem(s): A, B")[1].split("## Mean R^2")[0]
    assert "| ssm | 0.850 (1.0) | 0.850 (1.0) |" in accuracy  # not pulled down by R
    assert "## Mean R^2 over 1 problem(s): R" in summary
    assert "| *ridge* | -40.000 (2.0) | -40.000 (2.0) |" in summary
    panels = figures[0].axes
    assert [ax.get_ylabel() for ax in panels] == ["mean test accuracy", "mean test R^2"]
    assert panels[1].get_ylim()[0] > -1.1  # cut at R^2 = -1, not at -40
    notes = [t.get_text() for t in panels[1].texts]
    assert any("axis cut at -1" in note and "ridge down to -40" in note for note in notes)
    plt.close(figures[0])


def test_reports_record_paths_relative_to_the_working_directory(tmp_path, monkeypatch):
    """The command in a report says what was run, not where the machine keeps its files."""
    from sktdi._provenance import provenance

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs" / "panel"
    info = provenance(["sktdi", "curves", "--out", str(out), f"--dataset={tmp_path}/a.csv",
                       "--models", "features"])
    assert info["command"] == ("sktdi curves --out runs/panel --dataset=a.csv "
                               "--models features")
    assert str(tmp_path) not in info["command"]


def _ucr_style_csv(path, n=30, length=20, seed=0, label_first=True):
    """The UCR archive's text layout: the class label first, then the sequence."""
    import numpy as np

    rng = np.random.RandomState(seed)
    y = np.arange(n) % 2 + 1
    X = rng.normal(size=(n, length)) + y[:, None]
    rows = np.column_stack([y, X] if label_first else [X, y])
    np.savetxt(path, rows, delimiter=",", fmt="%.6f")
    return X, y


def test_a_label_in_the_first_column_is_read_as_told_and_misreadings_warn(tmp_path,
                                                                           capsys):
    _ucr_style_csv(tmp_path / "shapes_TRAIN.csv")
    _ucr_style_csv(tmp_path / "shapes_TEST.csv", seed=1)
    args = ["curves", *MODELS_TINY, "--models", "ridge", "--train-sizes", "10,20",
            "--dataset", str(tmp_path / "shapes_TRAIN.csv")]
    with pytest.warns(UserWarning, match="looks like a sequence value.*--label-column first"):
        assert main([*args, "--out", str(tmp_path / "last")]) == 0
    summary = (tmp_path / "last" / "summary.md").read_text()
    assert "Task: regression (inferred: 30 distinct non-integer numbers" in summary
    assert main([*args, "--label-column", "first", "--out", str(tmp_path / "first")]) == 0
    summary = (tmp_path / "first" / "summary.md").read_text()
    assert "Task: classification (inferred: 2 distinct integers among 30 labels" in summary
    assert main([*args, "--label-column", "first", "--task", "regression", "--quiet",
                 "--out", str(tmp_path / "forced")]) == 0
    assert "Task: regression (given by --task)" in (
        tmp_path / "forced" / "summary.md").read_text()


def test_curves_record_epochs_and_flag_fits_that_stopped_at_max_iter(tmp_path):
    out = tmp_path / "run"
    assert main(["curves", "--train-sizes", "64", "--repeats", "1", "--max-iter", "1",
                 "--d-model", "8", "--n-states", "4", "--n-jobs", "1", "--quiet",
                 "--models", "S4D-LegS,features", "--out", str(out)]) == 0
    rows = _csv_rows(out / "curves.csv")
    trained = next(r for r in rows if r["estimator"] == "S4D-LegS")
    free = next(r for r in rows if r["estimator"] == "features")
    assert float(trained["n_iter"]) == 1 and trained["converged"] == "False"
    assert free["n_iter"] in ("", "nan") and free["converged"] == "True"
    summary = (out / "summary.md").read_text()
    assert "## Training: epochs run" in summary
    assert "| S4D-LegS | 1.0 | 1 | **1 of 1 stopped at max_iter" in summary


def test_every_curves_option_says_what_it_does(capsys):
    from sktdi.cli import build_parser

    parser = build_parser()
    curves = parser._subparsers._group_actions[0].choices["curves"]
    for action in curves._actions:
        if action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
    with pytest.raises(SystemExit):
        main(["curves", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # as wrapped, unwrapped
    assert "(default: 16,32,64,128,256)" in text and "(default: 3)" in text
    assert "(default: None)" not in text


def test_two_files_of_one_name_are_named_in_the_error(tmp_path, capsys):
    import numpy as np

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        np.savez(tmp_path / folder / "p.npz", X=np.zeros((4, 8)), y=np.arange(4) % 2)
    datasets = f"{tmp_path / 'a' / 'p.npz'},{tmp_path / 'b' / 'p.npz'}"
    assert main(["curves", *MODELS_TINY, "--dataset", datasets, "--out",
                 str(tmp_path / "run")]) == 2
    assert "two problems called 'p'" in capsys.readouterr().err


def test_the_spectra_figure_draws_every_distinct_bank_once(tmp_path, monkeypatch):
    """A trained model that kept its start has its training-free bank: one line, named
    after both; the task spectrum is said to be the discriminative one."""
    from sktdi import cli

    drawn = []
    monkeypatch.setattr(cli, "_save_figure", lambda ax, path: drawn.append(ax))
    assert main(["curves", "--train-sizes", "16", "--repeats", "1", "--d-model", "8",
                 "--n-states", "4", "--n-jobs", "1", "--quiet", "--models",
                 "tdi,features", "--out", str(tmp_path / "run")]) == 0
    spectra = next(ax for ax in drawn if "task spectrum" in ax.get_title())
    labels = [t.get_text() for t in spectra.get_legend().get_texts()]
    assert labels == ["task", "tdi, features"]
    assert spectra.get_title().startswith("discriminative task spectrum of 16")
    assert spectra.get_yscale() == "linear"


def _bad_file(tmp_path, fault):
    """A two-class .npz with one fault: NaN inside sequence 2, inf in sequence 3, a missing
    label of sequence 4, or string labels."""
    import numpy as np

    X = np.random.default_rng(0).normal(size=(30, 24))
    y = np.repeat([0.0, 1.0], 15)
    X[5, 20:] = np.nan  # padding: allowed
    if fault == "nan":
        X[2, 5] = np.nan
    elif fault == "inf":
        X[3, 1] = np.inf
    elif fault == "label":
        y[4] = np.nan
    else:
        y = np.array(list("ab") * 15)
    path = tmp_path / f"{fault}.npz"
    np.savez(path, X=X, y=y)
    return path


@pytest.mark.parametrize("fault, message", [
    ("nan", "'nan.npz': X contains NaN inside sequence 2 (channel 0, step 5)"),
    ("inf", "'inf.npz': X contains inf in sequence 3 (channel 0, step 1)"),
    ("label", "'label.npz': y contains NaN or None (the label or target of sequence 4"),
])
def test_a_faulty_file_is_named_with_its_row_before_anything_is_written(
        fault, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _bad_file(tmp_path, fault)
    out = tmp_path / "run"
    assert main(["curves", *MODELS_TINY, "--models", "ridge", "--dataset", f"{fault}.npz",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert "missing='impute'" not in err  # the command line has no such option
    assert not out.exists()


def test_regression_of_string_labels_names_a_label(tmp_path, capsys):
    path = _bad_file(tmp_path, "strings")
    assert main(["curves", *MODELS_TINY, "--models", "ridge", "--dataset", str(path),
                 "--task", "regression", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--task regression needs numeric targets" in err and "'a'" in err


def test_a_run_that_fails_at_its_first_fit_leaves_the_earlier_results(tmp_path, capsys):
    """The even-n_states rule is checked by the first fit, after the run has begun: the
    earlier run's curves.csv must still be whole, agreeing with its plots and summary."""
    out = tmp_path / "run"
    argv = ["curves", *MODELS_TINY, "--models", "features,ridge", "--out", str(out)]
    assert main(argv) == 0
    before = (out / "curves.csv").read_text()
    assert main([*argv, "--n-states", "3"]) == 2  # the later --n-states wins
    assert "n_states must be even" in capsys.readouterr().err
    assert (out / "curves.csv").read_text() == before
    fresh = tmp_path / "fresh"
    assert main(["curves", *MODELS_TINY, "--models", "features", "--n-states", "3",
                 "--out", str(fresh)]) == 2
    assert not (fresh / "curves.csv").exists()


def test_constant_sequences_run_and_quiet_silences_the_fits_warnings(tmp_path, capsys):
    """On constant sequences (a zero task spectrum) the run ends with its figures, where the
    spectra figure used to fail after every fit; TDI's fallback warns without --quiet and
    is silent with it."""
    import numpy as np

    X = np.repeat(np.linspace(0.0, 1.0, 30)[:, None], 24, axis=1)  # sequence i: a level
    np.savez(tmp_path / "levels.npz", X=X, y=np.repeat([0, 1], 15))
    argv = ["curves", *MODELS_TINY, "--models", "features", "--dataset",
            str(tmp_path / "levels.npz")]
    not_quiet = [a for a in argv if a != "--quiet"]
    with pytest.warns(UserWarning, match="nothing to match"):
        assert main([*not_quiet, "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert [str(w.message) for w in caught] == []
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "b" / "spectra.png").stat().st_size > 0
