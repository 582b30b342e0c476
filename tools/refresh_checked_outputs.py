"""Execute notebooks and keep only the outputs that nbval checks.

Notebooks are committed without outputs, except cells marked ``"keep_output": true`` in their
metadata, whose first line is ``# NBVAL_CHECK_OUTPUT``: nbval compares their fresh output with
the committed one. After changing such a cell, run

    .venv/bin/python tools/refresh_checked_outputs.py book/01-convolution/*.ipynb

to execute the notebooks (in their own folder) and store the new outputs of those cells only.
Every other cell is cleared (no outputs, no execution counts).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def refresh(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    os.environ.setdefault("CNNLIB_PROGRESS", "plain")  # progress lines, as in the book's pages
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)  # widget state would make the page load a widget manager from a CDN
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)  # no timestamps: a refresh changes only real outputs
        if cell.metadata.get("keep_output"):
            pass  # nbval needs the execution count: a cell without one counts as "unrun"
        else:
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{refresh(Path(name)):6.1f} s  {name}")
