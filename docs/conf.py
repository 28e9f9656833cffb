"""Sphinx configuration of the sktdi documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.

The example gallery is generated from ``examples/`` by sphinx-gallery. Its scripts are
*not run* unless ``SKTDI_DOCS_RUN_EXAMPLES=1`` (the pages then show code without outputs
or figures), so that the default build takes seconds; set ``SKTDI_EXAMPLES_QUICK=1`` too
for a fast build with (not meaningful) outputs.
"""

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document the working tree even without an install

import sktdi  # noqa: E402

# -- project ----------------------------------------------------------------------------
project = "sktdi"
author = "the sktdi developers"
copyright = "the sktdi developers"
version = release = sktdi.__version__

# -- extensions -------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
# _generated/ holds fragments that pages include (see "results of the public panel")
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
root_doc = "index"
nitpicky = False

# autodoc / autosummary: stub pages are generated into generated/ at build time.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types

# numpydoc: members are listed by the autosummary templates, not by numpydoc, which
# would otherwise add member tables whose entries have no stub pages.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- sphinx-gallery ---------------------------------------------------------------------
_TRUE = ("1", "true", "yes", "on")
RUN_EXAMPLES = os.environ.get("SKTDI_DOCS_RUN_EXAMPLES", "0").strip().lower() in _TRUE

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": RUN_EXAMPLES,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sktdi",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sktdi": None},
    "remove_config_comments": True,
    "matplotlib_animations": False,
}

# -- results of the public panel ---------------------------------------------------------
# benchmarks.rst shows figures and tables drawn from the committed results file
# (benchmarks/results/panel.csv) by benchmarks/plot_panel.py, here, before Sphinx reads
# the sources. If they cannot be drawn, the page says so instead of failing the build.
GENERATED = Path(__file__).resolve().parent / "_generated"
# a 1x1 transparent PNG, so that the page's image directives find a file
_BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


def _draw_panel_results():
    """Run ``benchmarks/plot_panel.py`` into ``_generated/``, or say why it could not."""
    GENERATED.mkdir(exist_ok=True)
    try:
        spec = importlib.util.spec_from_file_location(
            "plot_panel", ROOT / "benchmarks" / "plot_panel.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["--out", str(GENERATED)])
    except Exception as exc:  # a missing results file or plotting library: say so
        reason = " ".join(f"{type(exc).__name__}: {exc}".replace("`", "'").split())
        (GENERATED / "panel_status.rst").write_text("")
        (GENERATED / "panel_tables.rst").write_text(
            ".. warning::\n\n   The figures and tables of the panel could not be drawn when "
            "this documentation was built (``benchmarks/plot_panel.py`` failed with "
            f"``{reason}``). See ``benchmarks/results/panel.md`` instead.\n")
        for name in ("panel_accuracy.png", "panel_time.png"):  # no figures of an older run
            (GENERATED / name).write_bytes(_BLANK_PNG)


_draw_panel_results()

# -- HTML -------------------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:  # the [docs] extra installs it; fall back to Sphinx's default
    html_theme = "alabaster"
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
    }
html_title = f"sktdi {release}"
html_static_path = ["_static"]
html_css_files = ["sktdi.css"]


# -- autodoc: leave out scikit-learn's generated metadata-routing setters ----------------
def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    """Skip ``set_{method}_request``: scikit-learn generates these on every estimator
    class for metadata routing; their docstrings are scikit-learn's, with references to
    its own user guide and glossary, and they are documented there."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)
