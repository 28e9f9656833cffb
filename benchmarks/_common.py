"""Plumbing shared by the benchmarks: provenance (commit, command, versions, machine) and
atomic result files. Not part of the package."""

import csv
import os
import sys
from pathlib import Path

from sktdi._provenance import provenance as _provenance
from sktdi._provenance import provenance_markdown

RESULTS = Path(__file__).resolve().parent / "results"
__all__ = ["RESULTS", "provenance", "provenance_markdown", "read_csv", "write_atomically",
           "write_csv"]


def provenance():
    """What made a result (:func:`sktdi._provenance.provenance`), plus torch's threads."""
    import torch

    info = _provenance(["python", *sys.argv])
    info["commit"] = info["commit"] or "unknown"
    info["machine"] += f", torch threads {torch.get_num_threads()}"
    return info


def write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_csv(path, rows, columns):
    """Write dict rows (missing keys empty) to a CSV file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def read_csv(path):
    """Rows of a CSV file as dicts of strings ([] when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
