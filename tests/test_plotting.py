"""Tests of sktdi.plotting (matplotlib, Agg backend)."""

import builtins
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sktdi.core import make_params  # noqa: E402
from sktdi.plotting import (  # noqa: E402
    plot_frequency_response,
    plot_induced_kernel,
    plot_sample_efficiency,
    plot_spectra,
)

F = 33  # L = 64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def spectra():
    task = np.exp(-np.linspace(0, 4, F))
    task[5] = 0.0  # a zero bin must not break the log axis
    return task, {
        "S4D-Lin (init)": np.ones(F),
        "S4D-Lin (trained)": task + 0.1,
        "TDI (init)": task[::-1] + 0.01,
        "other": np.linspace(1, 2, F),
    }


def _records(estimators=("a", "b", "c"), sizes=(10, 100, 1000, 5000), repeats=3):
    rng = np.random.RandomState(0)
    return [
        {"estimator": e, "train_size": n, "repeat": r, "score": 0.5 + 0.1 * k + rng.rand() / 10}
        for k, e in enumerate(estimators) for n in sizes for r in range(repeats)
    ]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ----------------------------------------------------------------------- plot_spectra
def test_plot_spectra_lines_labels_and_styles(spectra):
    task, models = spectra
    ax = plot_spectra(task, models, title="t")
    assert len(ax.get_lines()) == 1 + len(models)
    assert _legend(ax) == ["task", "S4D-Lin (init)", "S4D-Lin (trained)", "TDI (init)",
                           "other"]
    assert ax.get_xlabel() == "frequency (cycles per sample)"
    assert ax.get_ylabel() == "normalized power"
    assert ax.get_yscale() == "log"
    assert ax.get_xlim() == (0, 0.5)
    assert ax.get_title() == "t"
    lines = {line.get_label(): line for line in ax.get_lines()}
    init, trained = lines["S4D-Lin (init)"], lines["S4D-Lin (trained)"]
    assert init.get_color() == trained.get_color() != lines["TDI (init)"].get_color()
    assert init.get_linestyle() == "--" and trained.get_linestyle() == "-"
    # Unit L2 norm, zeros raised to a positive floor on the log axis.
    assert np.isclose(np.linalg.norm(lines["other"].get_ydata()), 1.0)
    assert np.all(lines["task"].get_ydata() > 0)
    assert ax.get_ylim()[0] > 0


@pytest.mark.parametrize("scale", [1e160, 1e-180])
def test_plot_spectra_normalizes_spectra_of_any_units(spectra, scale):
    """A task spectrum carries the targets' squared units (1e160 for targets of 1e80):
    normalized, it draws as the unit-scaled one does."""
    task, models = spectra
    unit = plot_spectra(task, models, log=False)
    scaled = plot_spectra(scale * task, {k: v / scale for k, v in models.items()}, log=False)
    for a, b in zip(unit.get_lines(), scaled.get_lines(), strict=True):
        np.testing.assert_allclose(b.get_ydata(), a.get_ydata(), rtol=1e-12)


def test_plot_spectra_radians_linear_unnormalized(spectra):
    task, _ = spectra
    ax = plot_spectra(task, units="radians", normalize=False, log=False)
    assert len(ax.get_lines()) == 1
    assert ax.get_xlabel() == "frequency (radians per sample)"
    assert np.isclose(ax.get_xlim()[1], np.pi)
    assert ax.get_ylabel() == "power" and ax.get_yscale() == "linear"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), task)


def test_plot_spectra_uses_given_axes(spectra):
    fig, given = plt.subplots()
    assert plot_spectra(spectra[0], ax=given) is given


def test_plot_spectra_validation(spectra):
    task, _ = spectra
    with pytest.raises(ValueError, match="'m' has 5 bins but task_spectrum has 33"):
        plot_spectra(task, {"m": np.ones(5)})
    with pytest.raises(ValueError, match="Unknown units 'hz'"):
        plot_spectra(task, units="hz")
    with pytest.raises(ValueError, match="must be 1-D"):
        plot_spectra(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        plot_spectra(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="identically zero"):
        plot_spectra(np.zeros(F))
    with pytest.raises(TypeError, match="dict"):
        plot_spectra(task, [np.ones(F)])


# ------------------------------------------------------------- plot_sample_efficiency
def test_plot_sample_efficiency_lines_bands_ticks():
    records = _records()
    ax = plot_sample_efficiency(records, target=0.9, title="eff")
    assert len(ax.get_lines()) == 4  # three estimators and the target line
    assert _legend(ax) == ["a", "b", "c", "target (0.9)"]
    assert len(ax.collections) == 3  # one band per estimator
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "training-set size (sequences)"
    assert ax.get_ylabel() == "score"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "100", "1000", "5000"]
    line = ax.get_lines()[0]
    # drawn a few percent aside of the sizes, so that equal curves stay apart
    np.testing.assert_allclose(line.get_xdata(), [10, 100, 1000, 5000], rtol=0.02)
    shifts = [ax.get_lines()[i].get_xdata()[0] for i in range(3)]
    assert len(set(shifts)) == 3
    assert len({ax.get_lines()[i].get_marker() for i in range(3)}) == 3
    scores = [r["score"] for r in records if r["estimator"] == "a" and r["train_size"] == 10]
    assert np.isclose(line.get_ydata()[0], np.mean(scores))
    target = ax.get_lines()[-1]
    assert target.get_linestyle() == ":" and set(target.get_ydata()) == {0.9}  # not dashed


def test_plot_sample_efficiency_dataframe_and_options():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_records(estimators=("x", "y"))).rename(columns={"score": "acc"})
    ax = plot_sample_efficiency(frame, metric="acc", spread=None, log_x=False)
    assert len(ax.get_lines()) == 2 and len(ax.collections) == 0
    assert ax.get_xscale() == "linear" and ax.get_ylabel() == "acc"
    ax = plot_sample_efficiency(frame, metric="acc", spread="minmax")
    assert len(ax.collections) == 2


def test_plot_sample_efficiency_validation():
    with pytest.raises(ValueError, match="empty"):
        plot_sample_efficiency([])
    with pytest.raises(ValueError, match=r"lack the column\(s\) \['score'\]"):
        plot_sample_efficiency([{"estimator": "a", "train_size": 10, "repeat": 0}])
    with pytest.raises(ValueError, match="Unknown spread 'iqr'"):
        plot_sample_efficiency(_records(), spread="iqr")
    with pytest.raises(ValueError, match="train_size must be positive"):
        plot_sample_efficiency([{"estimator": "a", "train_size": 0, "score": 1.0}])


# ---------------------------------------------------------------- plot_induced_kernel
def test_plot_induced_kernel():
    p = 1.0 / np.arange(1, 65) ** 2
    e = p * 1.2
    e[-3:] = -1e-17  # round-off eigenvalues are not drawn
    ax = plot_induced_kernel(e, p, n_modes=40)
    assert len(ax.get_lines()) == 2 and len(_legend(ax)) == 2
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel().startswith("mode index") and ax.get_ylabel() == "eigenvalue"
    assert ax.get_lines()[0].get_xdata()[0] == 1 and len(ax.get_lines()[0].get_xdata()) == 40
    gap = np.linalg.norm(e - p) / np.linalg.norm(p)
    assert f"{gap:.3f}" in ax.texts[0].get_text()
    with pytest.raises(ValueError, match="empirical has 3 eigenvalues but predicted has 4"):
        plot_induced_kernel(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="n_modes"):
        plot_induced_kernel(p, p, n_modes=0)


# ------------------------------------------------------------ plot_frequency_response
def test_plot_frequency_response():
    params = make_params("S4D-Lin", d_model=5, n_states=8, random_state=0)
    ax = plot_frequency_response(params, 64)
    assert len(ax.get_lines()) == 1 and len(ax.get_lines()[0].get_xdata()) == 33
    assert ax.get_xlabel() == "frequency (cycles per sample)" and ax.get_yscale() == "log"
    ax = plot_frequency_response(params, 64, per_channel=True, max_channels=3,
                                 units="radians")
    assert len(ax.get_lines()) == 3
    assert ax.get_legend().get_title().get_text() == "first 3 of 5 channels"
    assert ax.get_xlabel() == "frequency (radians per sample)"
    with pytest.raises(ValueError, match="Unknown units"):
        plot_frequency_response(params, 64, units="Hz")
    with pytest.raises(ValueError, match="max_channels"):
        plot_frequency_response(params, 64, max_channels=0)


# ----------------------------------------------------------------- saving, ImportError
def test_figures_save_to_png(tmp_path, spectra):
    axes = [plot_spectra(*spectra), plot_sample_efficiency(_records(), target=0.7),
            plot_induced_kernel(np.arange(8.0, 0, -1), np.arange(8.0, 0, -1))]
    for k, ax in enumerate(axes):
        path = tmp_path / f"fig{k}.png"
        ax.figure.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("how", ["sys.modules", "__import__"])
def test_missing_matplotlib_raises_helpful_import_error(monkeypatch, spectra, how):
    if how == "sys.modules":
        monkeypatch.setitem(sys.modules, "matplotlib", None)
        monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    else:
        real_import = builtins.__import__

        def fake_import(name, *args, **kwargs):
            if name == "matplotlib" or name.startswith("matplotlib."):
                raise ImportError(f"No module named {name!r}")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake_import)
    message = r"sktdi.plotting needs matplotlib: pip install 'sktdi\[plots\]'"
    with pytest.raises(ImportError, match=message):
        plot_spectra(spectra[0])
    with pytest.raises(ImportError, match=message):
        plot_sample_efficiency(_records())


def test_plot_init_scores_marks_the_choice():
    from sktdi import SSMFeatureClassifier
    from sktdi.datasets import make_spectral_task
    from sktdi.plotting import plot_init_scores

    X, y = make_spectral_task(40, 64, random_state=0)
    clf = SSMFeatureClassifier(init="auto", d_model=16, random_state=0).fit(X, y)
    ax = plot_init_scores(clf)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(clf.init_scores_)
    widths = {label: bar.get_width() for label, bar in zip(labels, ax.patches, strict=True)}
    assert widths == pytest.approx(clf.init_scores_)
    assert clf.init_selected_ in ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="init='auto'"):
        plot_init_scores(SSMFeatureClassifier(d_model=16, random_state=0).fit(X, y))
