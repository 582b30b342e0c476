"""A static scan of a submission's own code: what a grader should look at by hand.

The hidden tests catch a forbidden kernel called the usual ways, but code that runs in the
student's kernel can always get round a check made in that kernel (the kernel under another name,
``torch.ops.aten.*``, a mode popped off the stack, a patched assertion). So the grader also reads
the code, in its own process, where no student code runs: :func:`scan` parses each cell the
student wrote (answers and added cells; the instructor's cells are put back by nbgrader anyway)
with :mod:`ast` and lists every construct an honest answer to these assignments does not need:

* the book's library ``cnnlib`` (it has reference versions of every graded function);
* PyTorch's internals: ``torch.ops.aten``, ``torch._C``, ``torch._VF``, function and dispatch
  modes, ``DisableTorchFunction``, ``__torch_function__``, Tensor subclasses;
* changes to how the notebook runs: IPython input or AST transformers, ``sys.setprofile`` /
  ``settrace``, frame and module tables, ``builtins``;
* code built at run time: ``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``;
* the system: files, processes, sockets, ``ctypes``, signals;
* replacing an attribute of a library (``torch.testing.assert_close = ...``);
* the names of the kernels the assignment asks students to write themselves (per assignment,
  :data:`FORBIDDEN`), as attributes, names or strings (``getattr(F, "conv2d")``).

A finding never changes a score (an honest student may trip one, e.g. by opening a file to
debug); :class:`FlagForReview` flags the notebook in the gradebook (Formgrader shows the flag),
logs the reasons with the student's name, and ``coursegrader.grade`` lists them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict

LIBRARY = {"cnnlib"}
INTERNALS = {"aten", "_C", "_VF", "_nn", "_convolution", "_refs", "_prims", "_decomp", "DisableTorchFunction",
             "DisableTorchFunctionSubclass", "TorchFunctionMode", "TorchDispatchMode", "_pop_mode", "_push_mode",
             "_pop_torch_function_stack", "_pop_torch_dispatch_mode", "_get_current_dispatch_mode",
             "__torch_function__", "__torch_dispatch__", "_disabled_torch_function_impl", "_python_dispatch",
             "_pop_mode_temporarily", "_get_current_dispatch_mode_stack", "_len_torch_dispatch_stack"}
# Attributes (anywhere in a dotted name) and bare names that change or inspect how the notebook runs.
INTERPRETER = {"setprofile", "settrace", "_getframe", "f_globals", "f_locals", "f_back", "input_transformers_cleanup",
               "input_transformers_post", "ast_transformers", "register_magic_function", "get_referrers",
               "__code__", "__globals__", "__closure__", "__builtins__", "__dict__", "get_ipython", "InteractiveShell",
               "vars", "globals", "locals"}
DYNAMIC_NAMES = {"exec", "eval", "compile", "__import__"}  # bare names only: model.eval() is honest
SYSTEM_REASON = "touches files, processes or the network"
DYNAMIC_REASON = "runs code built at run time"
INTERPRETER_REASON = "changes or inspects how the notebook runs"
MODULES = {  # a module, imported or used, and why it is flagged
    **dict.fromkeys(("subprocess", "socket", "ctypes", "signal", "shutil", "multiprocessing", "urllib", "requests",
                     "http"), SYSTEM_REASON),
    **dict.fromkeys(("importlib", "runpy", "marshal", "types"), DYNAMIC_REASON),
    **dict.fromkeys(("builtins", "inspect", "gc"), INTERPRETER_REASON),
}
OS_HARMLESS = {"path", "environ", "getpid", "cpu_count", "sep", "linesep"}
LIBRARIES = {"torch", "F", "nn", "np", "numpy", "math", "sys", "builtins", "IPython", "operator", "functools"}
_CONV = ["conv1d", "conv2d", "conv3d", "convolution", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
         "unfold", "fold", "Unfold", "Fold", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "cudnn_convolution",
         "mkldnn_convolution", "slow_conv2d", "thnn_conv2d", "im2col", "col2im"]
_PAD = ["pad", "constant_pad_nd", "reflection_pad2d", "replication_pad2d", "ZeroPad2d", "ReflectionPad2d",
        "ReplicationPad2d", "ConstantPad2d"]
_POOL = ["max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d",
         "MaxPool2d", "AvgPool2d", "max_pool2d_with_indices_backward", "avg_pool2d_backward", "lp_pool2d"]
_AUTOGRAD = ["backward", "grad", "autograd", "requires_grad_", "vjp", "jacobian", "functional_call"]
# The kernels each assignment asks students to write themselves (the hidden tests forbid them too).
FORBIDDEN: dict[str, list[str]] = {
    "01-convolution": _CONV + _PAD + _POOL + _AUTOGRAD,
    "04-segmentation": ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "convolution"],
    "05-faces-style": ["cdist"],
}
_MAGIC = re.compile(r"^\s*[%!]")


def _dotted(node: ast.AST) -> list[str]:
    """The parts of a dotted name (``torch.ops.aten.convolution``), or [] for other expressions."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return parts[::-1] if parts else []


def scan(source: str, forbidden: Iterable[str] = ()) -> list[str]:
    r"""The reasons to look at ``source`` (one cell of the student's code) by hand, one per line and kind.

    Lines that are IPython magics or shell escapes (``%timeit``, ``!ls``) are skipped; code that
    is not Python is itself a finding.

    >>> scan("def f(model, x):\n    model.eval()\n    return x + 1")
    []
    >>> scan("import torch\ny = torch.ops.aten.convolution")
    ["line 2: reaches into PyTorch's internals (torch.ops.aten.convolution)"]
    >>> scan("from torch.nn.functional import conv2d", forbidden=["conv2d"])
    ['line 1: names a kernel this assignment asks you to write (torch.nn.functional.conv2d)']
    """
    forbidden = set(forbidden)
    code = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"line {exc.lineno}: not valid Python ({exc.msg})"]
    found: dict[tuple[int, str], str] = {}

    def note(node: ast.AST, reason: str, what: str) -> None:
        line = getattr(node, "lineno", 0)
        found.setdefault((line, reason), f"line {line}: {reason} ({what})")

    def check(node: ast.AST, parts: list[str], module: bool = False) -> None:
        """A dotted name (or an imported module path when ``module``)."""
        what = ".".join(parts)
        if any(p in LIBRARY for p in parts):
            note(node, "uses the book's library", what)
        if any(p in INTERNALS for p in parts):
            note(node, "reaches into PyTorch's internals", what)
        if any(p in INTERPRETER for p in parts) or parts[:2] == ["sys", "modules"]:
            note(node, INTERPRETER_REASON, what)
        if any(p in ("FunctionType", "CodeType") for p in parts):
            note(node, DYNAMIC_REASON, what)
        if parts and parts[0] in MODULES:
            note(node, MODULES[parts[0]], what)
        if parts and parts[0] == "os" and (len(parts) < 2 and not module or len(parts) >= 2 and parts[1] not in OS_HARMLESS):
            note(node, SYSTEM_REASON, what)
        named = parts if module else parts[1:] if parts and parts[0] != "self" else []  # not the student's own attributes
        if any(p in forbidden for p in named):
            note(node, "names a kernel this assignment asks you to write", what)

    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(node, alias.name.split("."), module=True)
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "").split(".")
            for alias in node.names:
                check(node, [*base, alias.name], module=True)
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            parts = _dotted(node)
            check(node, parts if parts else ["<expr>", node.attr])
        elif isinstance(node, ast.Name) and id(node) not in inner:
            if node.id in LIBRARY:
                note(node, "uses the book's library", node.id)
            if node.id in DYNAMIC_NAMES:
                note(node, DYNAMIC_REASON, node.id)
            if node.id in INTERPRETER:
                note(node, INTERPRETER_REASON, node.id)
            if node.id == "open":
                note(node, SYSTEM_REASON, node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", node.value))
            if words & (LIBRARY | INTERNALS) or node.value in forbidden:
                note(node, "names a module or kernel in a string", repr(node.value[:60]))
        elif isinstance(node, ast.ClassDef):
            bases = [".".join(_dotted(b)) for b in node.bases]
            if any(b.split(".")[-1] in ("Tensor", "TorchFunctionMode", "TorchDispatchMode") for b in bases):
                note(node, "defines a subclass of a PyTorch class that changes how operations run", node.name)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                parts = _dotted(target) if isinstance(target, ast.Attribute) else []
                if len(parts) >= 2 and parts[0] in LIBRARIES:
                    note(node, "replaces an attribute of a library", ".".join(parts))
        if isinstance(node, ast.Call) and _dotted(node.func)[-1:] in (["setattr"], ["delattr"]) and node.args:
            owner = _dotted(node.args[0])
            if owner and owner[0] in LIBRARIES:
                note(node, "replaces an attribute of a library", f"setattr({'.'.join(owner)}, ...)")
    return [found[k] for k in sorted(found)]


def student_cells(nb) -> list[tuple[int, str]]:
    """(index, source) of the code cells the student wrote: the answers and any added cell."""
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and (utils.is_solution(c) or not c.get("metadata", {}).get("nbgrader", {}).get("grade_id"))]


def review(nb, assignment: str, forbidden: dict[str, list[str]] | None = None) -> list[str]:
    """Every finding of :func:`scan` in the student's cells of ``nb``, each prefixed with its cell."""
    names = (FORBIDDEN if forbidden is None else forbidden).get(assignment, [])
    return [f"cell {i + 1}, {reason}" for i, source in student_cells(nb) for reason in scan(source, names)]


class FlagForReview(NbGraderPreprocessor):
    """After the scores are saved: flag in the gradebook a notebook whose code :func:`review` finds suspicious."""

    forbidden = Dict(FORBIDDEN, help="Per assignment, the names of kernels students must write themselves.").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        findings = review(nb, info["assignment"], self.forbidden)
        if findings:
            self.log.warning("Student %r, %s: flagged for review: %s", info["student"], info["notebook"],
                             "; ".join(findings[:10]) + (f"; and {len(findings) - 10} more" if len(findings) > 10 else ""))
            with Gradebook(info["db_url"]) as gb:
                submitted = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
                submitted.flagged = True
                gb.db.commit()
        return nb, resources
