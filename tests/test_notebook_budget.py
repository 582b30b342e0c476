"""The notebook time budget of conftest.py: over its budget, a notebook fails the run only where
CNNLIB_ENFORCE_BUDGETS=1 (the reference machine); elsewhere it is reported.

Reference: an inner pytest run (a subprocess with nbval) on notebooks written by the test, one
sleeping longer than its ``cnnlib.budget_s`` metadata and one well inside the default 60 s, with
and without ``CNNLIB_ENFORCE_BUDGETS`` set.
"""

import os

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_notebook(path: Path, source: str, budget: float | None) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if budget is not None:
        nb.metadata["cnnlib"] = {"budget_s": budget}
    nbformat.write(nb, path)


def run_pytest(folder: Path, *names: str, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CNNLIB_ENFORCE_BUDGETS")}
    if ci:
        env["CNNLIB_ENFORCE_BUDGETS"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                           *names], cwd=folder, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_over_budget_notebook_fails_the_run_where_enforced_only_and_fast_one_passes(tmp_path):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(1.5)", budget=0.5)
    write_notebook(tmp_path / "fast.ipynb", "x = 1 + 1", budget=None)
    slow = run_pytest(tmp_path, "slow.ipynb", ci=True)
    assert slow.returncode == 1, slow.stdout[-2000:]
    assert "slow.ipynb  OVER BUDGET" in slow.stdout
    assert "notebook over its time budget: slow.ipynb" in slow.stdout
    laptop = run_pytest(tmp_path, "slow.ipynb", ci=False)  # a slower machine: reported, not failed
    assert laptop.returncode == 0, laptop.stdout[-2000:]
    assert "slow.ipynb  OVER BUDGET" in laptop.stdout and "reported, not enforced" in laptop.stdout
    fast = run_pytest(tmp_path, "fast.ipynb", ci=True)
    assert fast.returncode == 0, fast.stdout[-2000:]
    assert "/    60 s  fast.ipynb" in fast.stdout


@pytest.mark.slow
def test_notebook_kernels_start_workers_with_spawn_and_print_plain_progress(tmp_path):
    """As on macOS and Windows: a Dataset class defined in a notebook cannot be used by workers."""
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    write_notebook(tmp_path / "spawn.ipynb", "import multiprocessing, os\n"
                   "assert multiprocessing.get_start_method() == 'spawn', multiprocessing.get_start_method()\n"
                   "assert os.environ['CNNLIB_PROGRESS'] == 'plain'", budget=None)
    result = run_pytest(tmp_path, "spawn.ipynb", ci=False)
    assert result.returncode == 0, result.stdout[-2000:]
