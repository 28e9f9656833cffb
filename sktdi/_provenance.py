"""What made a result: sktdi's version, the commit of a checkout, the command line, the
versions of the packages it ran on and the machine. Every report records it."""

import os
import platform
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

__all__ = ["PACKAGES", "git_commit", "provenance", "provenance_markdown"]

PACKAGES = ("sktdi", "numpy", "scipy", "scikit-learn", "torch", "joblib", "aeon", "numba",
            "distributed")


def git_commit(path=None):
    """``<sha>`` of the git checkout that holds ``path`` (sktdi's own by default),
    ``<sha>+dirty`` with uncommitted changes to tracked files, or None outside a checkout."""
    root = Path(path) if path is not None else Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, check=True,
                               timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty.strip() else "")


def provenance(argv=None):
    """A dict: ``sktdi``, ``commit`` (None outside a checkout), ``command``, ``date``,
    ``python``, ``versions`` (package -> version or "not installed") and ``machine``.

    Parameters
    ----------
    argv : list of str, default=None
        The command line to record (``sys.argv`` by default).
    """
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    from . import __version__

    argv = sys.argv if argv is None else argv
    return {
        "sktdi": __version__,
        "commit": git_commit(),
        "command": shlex.join(_relative_paths(argv)),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "versions": versions,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def _relative_paths(argv):
    """The command line with every absolute path (``/a/b`` or ``--out=/a/b``) written
    relative to the working directory: a report says what was run, not where the machine
    that ran it keeps its files."""
    def relative(token):
        prefix, _, value = token.rpartition("=") if token.startswith("--") else ("", "", token)
        if not os.path.isabs(value):
            return token
        try:
            value = os.path.relpath(value)
        except ValueError:  # another drive (Windows)
            return token
        return f"{prefix}={value}" if prefix else value

    return [argv[0], *map(relative, argv[1:])] if argv else []


def provenance_markdown(info):
    """The provenance as a Markdown list."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items()
                         if v != "not installed")
    commit = f" (commit `{info['commit']}`)" if info["commit"] else ""
    return "\n".join([
        f"- sktdi {info['sktdi']}{commit}",
        f"- command: `{info['command']}`",
        f"- date: {info['date']}; machine: {info['machine']}; Python {info['python']}",
        f"- versions: {versions}",
    ])
