"""tools/robustness.py: seeds shifted, data seeds kept, asserts recorded instead of raised.

Reference: a notebook written by the test, whose expected values are computed by hand, run
through the tool's own rewriting and a real kernel.
"""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import robustness  # noqa: E402


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_rewrite_shifts_training_seeds_only(tmp_path):
    nb = notebook("def ShapesDataset(n, seed):\n    return seed\n"
                  "def seed_everything(s):\n    return s\n"
                  "def loader(seed=0):\n    return seed\n"
                  "a = seed_everything(0)\nb = loader(seed=10)\nc = ShapesDataset(3, seed=7)")
    source = robustness.rewrite(nb, 2, tmp_path / "r.jsonl").cells[1].source
    assert "seed_everything(0 + 2)" in source and "loader(seed=10 + 2)" in source
    assert "ShapesDataset(3, seed=7)" in source  # the data stay the data


@pytest.mark.slow
def test_run_records_every_comparison_and_goes_on_after_a_failure(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook("import torch\nx = torch.Generator().manual_seed(0).initial_seed()",
                            "assert x >= 1 and x < 100, x",  # seed 0 + 1 = 1: passes only when shifted
                            "y = 0.25\nassert y > 0.5",      # fails, and the run goes on
                            "import sys\nprint('to stderr', file=sys.stderr)\nz = 3"), path)
    run = robustness.run_one(path, robustness.Config(1, "native", 1))
    records = {(r["cell"], r["part"]): r for r in run.records}
    assert records[1, 0]["ok"] and records[1, 0]["values"] == [1.0, 1.0]
    assert records[1, 1]["ok"] and records[1, 1]["values"] == [1.0, 100.0]
    assert not records[2, 0]["ok"] and records[2, 0]["values"] == [0.25, 0.5]
    assert any("wrote to stderr: to stderr" in e for e in run.errors), run.errors
    text = robustness.table([run])
    assert "**FAIL**" in text and "0.25 vs 0.5" in text


def test_checked_outputs_are_compared_with_the_committed_ones():
    nb = notebook("print('a')", "# NBVAL_CHECK_OUTPUT\nprint('ok:', True)", "# NBVAL_CHECK_OUTPUT\nprint('x')")
    for cell, text in ((nb.cells[1], "ok: True\n"), (nb.cells[2], "x\n")):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    ran = notebook("", "", "", "")  # the executed copy has the tool's setup cell first
    ran.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok: False\n")]
    ran.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n")]
    records = robustness.checked_outputs(nb, ran)
    assert [(r["cell"], r["ok"]) for r in records] == [(1, False), (2, True)]
    assert records[0]["differs"] == ["'ok: False' != 'ok: True'"]
