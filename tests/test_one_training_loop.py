"""Every section trains through cnnlib.train.fit: no notebook writes its own training loop.

Reference: the notebooks' source, read as a reader would. A loop that calls an optimiser's
``step()`` is a training loop; only a section that teaches the loop itself may write one, and it
is listed here with the reason.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEACHES_THE_LOOP = {
    # gradient descent on one kernel, written out: the first time the book trains anything
    "book/01-convolution/02-convolution-and-correlation.ipynb",
}
STEP_CALL = re.compile(r"\b\w*(optim\w*|opt)\.step\(\)")


def notebooks():
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", notebooks())
def test_no_notebook_writes_its_own_training_loop(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    loops = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and STEP_CALL.search(cell.source)
             and re.search(r"^\s*(for|while)\b", cell.source, re.MULTILINE)]
    if path in TEACHES_THE_LOOP:
        assert loops, f"{path} no longer writes its loop: remove it from TEACHES_THE_LOOP"
    else:
        assert not loops, (f"{path}, cells {loops}: a training loop written in the notebook; give a step "
                           "function to cnnlib.train.fit instead")


def test_the_check_finds_a_loop():
    cell = "for x, y in loader:\n    loss = f(x, y)\n    optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
    assert STEP_CALL.search(cell) and re.search(r"^\s*(for|while)\b", cell, re.MULTILINE)
    assert not STEP_CALL.search("history = fit(model, loader, optimizer=optimizer)")
