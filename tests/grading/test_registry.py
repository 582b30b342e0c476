"""Fast checks of the assignment registry and of the nbgrader source notebooks (no nbgrader run).

Reference: the rules of the developers' guide for graded notebooks (one graded function per
solution cell, a markdown task before it, a test cell after it with hidden tests, every other
cell locked, kernel ``python3``, one text of the forbidden-kernel guard ``class Forbid`` in every
hidden test), the graded signatures of the course specification (copied into
``assignments.py``; the questions the book adds beyond it are listed there apart, as
``questions``, and checked the same way), and nbgrader's cell metadata format (schema 3).
"""

from __future__ import annotations

import ast
import copy
import re

import nbformat
import pytest

from tests.grading.assignments import ASSIGNMENTS, Assignment
from tests.grading.harness import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, RESERVED_IDS, ROOT,
                                   apply_mutant, grade_id, is_solution, is_test, strip_markers)


def by_name(a) -> str:
    return a.name


def source_notebook(a: Assignment):
    return nbformat.read(ROOT / "solutions" / a.name / a.notebook, as_version=4)


def test_every_assignment_folder_is_registered():
    folders = {p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:1].isdigit()}
    registered = {a.name for a in ASSIGNMENTS}
    assert folders == registered, (
        f"solutions/ has {sorted(folders)}, tests/grading/assignments.py registers {sorted(registered)}: "
        "add an Assignment entry (with its mutants) for each assignment")


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=by_name)
def test_notebook_follows_the_graded_notebook_rules(a: Assignment):
    nb = source_notebook(a)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    ids = [grade_id(c) for c in nb.cells]
    assert None not in ids, "every cell needs nbgrader metadata (locked, if students do not write in it)"
    assert len(set(ids)) == len(ids), "grade_ids must be unique"
    for i, cell in enumerate(nb.cells):
        meta, gid = cell.metadata["nbgrader"], ids[i]
        assert meta.get("schema_version") == 3, gid
        if is_solution(cell):
            assert cell.cell_type == "code" and not meta.get("grade"), f"{gid}: solution cells are code, not graded"
            assert BEGIN_SOLUTION in cell.source and END_SOLUTION in cell.source, f"{gid}: solution markers missing"
            assert i > 0 and nb.cells[i - 1].cell_type == "markdown", f"{gid}: explain the task in markdown before it"
            after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            assert after is not None and is_test(after), f"{gid}: a test cell must follow it"
        else:
            assert meta.get("locked"), f"{gid}: cells students do not write in must be locked"
        if is_test(cell):
            assert meta.get("points", 0) > 0, f"{gid}: a test cell must carry points"
            assert cell.source.count(BEGIN_HIDDEN) == 1 and END_HIDDEN in cell.source, f"{gid}: hidden tests missing"
            visible = cell.source.split(BEGIN_HIDDEN)[0]
            assert re.search(r"\bassert\b|raise ", visible), f"{gid}: the visible part should test something"
            assert not re.search(r"^\s*(import|from)\s+cnnlib", cell.source, re.M), (
                f"{gid}: tests compare with PyTorch, never with cnnlib (students can import it)")
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{gid}: commit without outputs"
    points = sum(c.metadata["nbgrader"].get("points", 0) for c in nb.cells if is_test(c))
    assert points == a.total_points


def found_signature(node: ast.FunctionDef | ast.ClassDef) -> str:
    """``name(args)`` of a function, or of a class's constructor (``__init__`` without ``self``)."""
    if isinstance(node, ast.FunctionDef):
        return f"{node.name}({ast.unparse(node.args)})"
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return f"{node.name}()"
    args = copy.deepcopy(init.args)
    args.args = args.args[1:]  # drop self
    return f"{node.name}({ast.unparse(args)})"


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=by_name)
def test_graded_functions_keep_the_signatures_of_the_course_spec(a: Assignment):
    nb = source_notebook(a)
    cells = {grade_id(c): c for c in nb.cells if is_solution(c)}
    spec, added = {gid for gid, _ in a.functions}, {gid for gid, _ in a.questions}
    assert not spec & added, f"{sorted(spec & added)}: a function of the course spec is not an added question"
    assert set(cells) == spec | added, "one solution cell per graded function (course spec and added questions)"
    for gid, signature in a.graded:
        tree = ast.parse(strip_markers(cells[gid].source))
        defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert len(defs) == 1, f"{gid}: one graded function per solution cell, found {[d.name for d in defs]}"
        where = "the course spec" if gid in spec else "the registry (an added question)"
        assert found_signature(defs[0]) == signature, (
            f"{gid}: {where} has {signature}, the notebook has {found_signature(defs[0])}")


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=by_name)
def test_mutants_apply_and_cover_every_graded_function(a: Assignment):
    nb = source_notebook(a)
    sources = {grade_id(c): c.source for c in nb.cells if is_solution(c)}
    tests = {grade_id(c) for c in nb.cells if is_test(c)}
    ids = [m.id for m in a.mutants]
    assert len(set(ids)) == len(ids), "mutant ids must be unique (each is a student id)"
    for m in a.mutants:
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", m.id) and m.id not in RESERVED_IDS, f"bad student id {m.id!r}"
        assert m.cell in sources, f"mutant {m.id}: {m.cell} is not a solution cell"
        assert m.loses and set(m.loses) <= tests, f"mutant {m.id}: {set(m.loses) - tests} are not test cells"
        mutated = apply_mutant(sources[m.cell], m)  # raises unless every replacement applies exactly once
        assert mutated != sources[m.cell]
        ast.parse(strip_markers(mutated))
    uncovered = set(sources) - {m.cell for m in a.mutants}
    assert not uncovered, f"graded functions without a mutant: {sorted(uncovered)}"


def test_every_copy_of_the_forbidden_kernel_guard_is_the_same():
    """The hidden tests paste ``class Forbid`` into each cell (students' kernels see no shared file):
    the copies must not drift apart, so a fix to one is a fix to all."""
    copies = {}
    for a in ASSIGNMENTS:
        for cell in source_notebook(a).cells:
            if cell.cell_type != "code" or "class Forbid" not in cell.source:
                continue
            tree = ast.parse(cell.source)
            found = [ast.get_source_segment(cell.source, n) for n in ast.walk(tree)
                     if isinstance(n, ast.ClassDef) and n.name == "Forbid"]
            assert len(found) == 1, f"{a.name}/{grade_id(cell)}: expected one class Forbid, found {len(found)}"
            copies[f"{a.name}/{grade_id(cell)}"] = found[0]
    assert copies, "no hidden test defines class Forbid"
    variants = {}
    for where, source in copies.items():
        variants.setdefault(source, []).append(where)
    assert len(variants) == 1, "class Forbid differs between hidden-test cells: " + "; ".join(
        f"variant {i} in {places[:3]}{' ...' if len(places) > 3 else ''}" for i, places in enumerate(variants.values()))
