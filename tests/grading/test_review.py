"""The static review of submissions (coursegrader.review): what it flags, and what it leaves alone.

References: the honest solutions of every assignment (nothing to flag), the registry's mutants
that call a forbidden kernel or the book's library (each flagged), and a corpus of cheats written
here, one per way round the in-kernel checks that issue 13 lists (each flagged with its reason).
"""

from __future__ import annotations

import nbformat
import pytest

from coursegrader.review import FORBIDDEN, review, scan
from tests.grading.assignments import ASSIGNMENTS
from tests.grading.harness import ROOT, apply_mutant, grade_id, strip_markers


def _solution(a):
    return nbformat.read(ROOT / "solutions" / a.name / a.notebook, as_version=4)


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=lambda a: a.name)
def test_honest_solutions_are_not_flagged(a):
    assert review(_solution(a), a.name) == []


CHEATING = [m for a in ASSIGNMENTS for m in a.mutants
            if any(word in m.id for word in ("cnnlib", "calls-", "imports", "uses-autograd", "unit-images", "runs-conv"))]


@pytest.mark.parametrize("mutant", CHEATING, ids=lambda m: m.id)
def test_mutants_that_call_what_they_should_write_are_flagged(mutant):
    a = next(a for a in ASSIGNMENTS if mutant in a.mutants)
    source = next(c.source for c in _solution(a).cells if grade_id(c) == mutant.cell)
    findings = scan(strip_markers(apply_mutant(source, mutant)), FORBIDDEN.get(a.name, []))
    assert findings, f"{mutant.id} ({mutant.why}) was not flagged"
    if "cnnlib" in mutant.id:
        assert any("uses the book's library" in f for f in findings), findings


# (code, the reason it must be flagged for, forbidden names of the assignment)
CHEATS = [
    ("import torch\ntorch.testing.assert_close = lambda *a, **k: None", "replaces an attribute of a library", []),
    ("import torch\ntorch.equal = lambda a, b: True", "replaces an attribute of a library", []),
    ("import torch\ntorch.Tensor.item = lambda self: 3", "replaces an attribute of a library", []),
    ("import torch\nsetattr(torch.testing, 'assert_close', print)", "replaces an attribute of a library", []),
    ("import torch\nvars(torch)['equal'] = max", "changes or inspects how the notebook runs", []),
    ("import torch\ntorch.__dict__['equal'] = max", "changes or inspects how the notebook runs", []),
    ("import torch\nclass Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True",
     "defines a subclass of a PyTorch class", []),
    ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
     "changes or inspects how the notebook runs", []),
    ("ip = get_ipython()\nip.ast_transformers.append(object())", "changes or inspects how the notebook runs", []),
    ("import sys\nsys.setprofile(None)", "changes or inspects how the notebook runs", []),
    ("import sys\nsys.modules['cnn' + 'lib']", "changes or inspects how the notebook runs", []),
    ("import torch\ny = torch.ops.aten.convolution(x, w, b, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)",
     "reaches into PyTorch's internals", []),
    ("import torch\ncols = torch._C._nn.im2col(x, (3, 3), (1, 1), (0, 0), (1, 1))", "reaches into PyTorch's internals", []),
    ("import torch\ny = torch._convolution(x, w, b, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)",
     "reaches into PyTorch's internals", []),
    ("import torch\nwith torch._C.DisableTorchFunction():\n    pass", "reaches into PyTorch's internals", []),
    ("import torch\ntorch._C._pop_torch_function_stack()", "reaches into PyTorch's internals", []),
    ("from torch.utils._python_dispatch import _pop_mode_temporarily\nwith _pop_mode_temporarily():\n    pass",
     "reaches into PyTorch's internals", []),
    ("from torch.overrides import TorchFunctionMode\nclass Quiet(TorchFunctionMode):\n    pass",
     "reaches into PyTorch's internals", []),
    ("import importlib\nm = importlib.import_module('numpy')", "runs code built at run time", []),
    ("m = __import__('cnn' + 'lib')", "runs code built at run time", []),
    ("exec(compile('x = 1', '<student>', 'exec'))", "runs code built at run time", []),
    ("import base64\nexec(base64.b64decode(b'eD0x'))", "runs code built at run time", []),
    ("text = open('/course/solutions/01-convolution/convolution.ipynb').read()",
     "touches files, processes or the network", []),
    ("import subprocess\nsubprocess.run(['ls'])", "touches files, processes or the network", []),
    ("import os\nos.system('kill -9 1')", "touches files, processes or the network", []),
    ("import socket", "touches files, processes or the network", []),
    ("from cnnlib.ops import conv2d as mine", "uses the book's library", []),
    ("import torch.nn.functional as F\nconv = getattr(F, 'conv2d')", "names a module or kernel in a string", ["conv2d"]),
    ("from torch.nn.functional import pad as p", "names a kernel this assignment asks you to write", FORBIDDEN["01-convolution"]),
    ("import torch\ny = torch.nn.functional.conv2d(x, w)", "names a kernel this assignment asks you to write",
     FORBIDDEN["01-convolution"]),
    ("y = x.unfold(2, 3, 1)", "names a kernel this assignment asks you to write", FORBIDDEN["01-convolution"]),
    ("def f(:\n    pass", "not valid Python", []),
]


@pytest.mark.parametrize("code,reason,forbidden", CHEATS, ids=[c[0].splitlines()[-1][:50] for c in CHEATS])
def test_each_way_round_the_checks_is_flagged(code, reason, forbidden):
    findings = scan(code, forbidden)
    assert any(reason in f for f in findings), f"expected a finding '{reason}' in {findings}"


HONEST = [
    "def f(model, x):\n    model.eval()\n    with torch.no_grad():\n        return model(x)",
    "%timeit f(x)\ny = f(x)",
    "import numpy as np\ndef conv(x, w):\n    return np.einsum('ij,ij->', x, w)",
    "import logging\nlogging.warning('debug %s', 3)\nprint('shape', x.shape)",
    "class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.pad = 1\n"
    "    def forward(self, x):\n        return x[:, :, self.pad:-self.pad]",
    "pad = 2\nout = torch.zeros(3 + 2 * pad)",
    "raise ValueError(f'pad must be a non-negative int, got {pad!r}')",
]


@pytest.mark.parametrize("code", HONEST, ids=range(len(HONEST)))
def test_honest_code_is_not_flagged(code):
    assert scan(code, FORBIDDEN["01-convolution"]) == []


def test_only_the_students_cells_are_read():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import torch._C  # the instructor's setup may do anything"),
        nbformat.v4.new_code_cell("def f(x):\n    return x"),
        nbformat.v4.new_code_cell("import subprocess"),
    ])
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "setup", "locked": True, "grade": False, "solution": False}
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "f", "locked": False, "grade": False, "solution": True}
    assert review(nb, "01-convolution") == ["cell 3, line 1: touches files, processes or the network (subprocess)"]
