"""Grading a class in parallel (coursegrader.grade) against nbgrader's own serial run.

Reference: the same submissions graded by plain ``nbgrader autograde`` (one after the other, in a
copy of the course); both gradebooks are read with nbgrader's API. A toy assignment keeps each
notebook to a kernel start and a few lines, so the checks are about the grading, not the work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursegrader import grade as parallel
from tests.grading.harness import ROOT, sandbox_problem, sandbox_required

pytestmark = pytest.mark.slow

ASSIGNMENT, NOTEBOOK = "toy", "toy.ipynb"


def _cell(kind: str, source: str, grade_id: str, points: float = 0, solution: bool = False, grade: bool = False):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": not solution,
                                 "schema_version": 3, **({"points": points} if grade else {})}
    return cell


def toy_source():
    return nbformat.v4.new_notebook(cells=[
        _cell("markdown", "# A toy assignment", "intro"),
        _cell("code", "import os, time", "setup"),
        _cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION", "add", solution=True),
        _cell("code", "assert add(1, 2) == 3, f'add(1, 2) should be 3, got {add(1, 2)}'\n"
                      "### BEGIN HIDDEN TESTS\nassert add(-5, 7) == 2\n### END HIDDEN TESTS", "test_add", 2, grade=True),
        _cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double", solution=True),
        _cell("code", "assert double(4) == 8\n### BEGIN HIDDEN TESTS\nassert double(-3) == -6\n### END HIDDEN TESTS",
              "test_double", 1, grade=True),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def answered(add: str = "return a + b", double: str = "return 2 * x", extra: str | None = None):
    nb = toy_source()
    for cell in nb.cells:
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid == "add":
            cell.source = f"def add(a, b):\n    {add}"
        elif gid == "double":
            cell.source = f"def double(x):\n    {double}"
        elif "HIDDEN" in cell.source:
            cell.source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
    if extra is not None:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nb


SUBMISSIONS = {
    "right": answered(extra="print('uid', os.getuid())"),
    "wrong-add": answered(add="return a - b", extra="print('uid', os.getuid())"),
    "raises": answered(add="raise RuntimeError('not done')", double="raise RuntimeError('not done')"),
    "logs": answered(add="import logging; logging.warning('debug'); return a + b"),
    "sleeps": answered(double="time.sleep(120); return 2 * x"),
}
TIMEOUT_ARGS = ("--SandboxedExecute.notebook_timeout=20",)


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory) -> Path:
    """A course with the toy assignment released and every submission of SUBMISSIONS (plus a broken file)."""
    if sandbox_problem() is not None:
        if sandbox_required():
            raise RuntimeError(f"CNNLIB_REQUIRE_SANDBOX is set, but {sandbox_problem()}")
        pytest.skip(f"parallel grading runs sandboxes: {sandbox_problem()}")
    course = tmp_path_factory.mktemp("toy-course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(toy_source(), course / "solutions" / ASSIGNMENT / NOTEBOOK)
    result = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    for student, nb in SUBMISSIONS.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    (course / "submitted" / "not-a-notebook" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "not-a-notebook" / ASSIGNMENT / NOTEBOOK).write_text("{ not json")
    return course


def scores(course: Path) -> dict[str, dict[str, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="cnn-book") as gb:
        return {sub.student.id: {g.name: float(g.score) for nb in sub.notebooks for g in nb.grades}
                for sub in gb.find_assignment(ASSIGNMENT).submissions}


@pytest.fixture(scope="module")
def both(toy_course, tmp_path_factory):
    """The course graded serially by nbgrader and, in a copy, in parallel by coursegrader.grade."""
    serial = tmp_path_factory.mktemp("serial") / "course"
    shutil.copytree(toy_course, serial)
    nbgrader(serial, "autograde", ASSIGNMENT, "--create", *TIMEOUT_ARGS)
    fast = tmp_path_factory.mktemp("parallel") / "course"
    shutil.copytree(toy_course, fast)
    seen = []
    code, log, rows = parallel.grade(fast, ASSIGNMENT, jobs=2, nbgrader_args=TIMEOUT_ARGS,
                                     progress=lambda it: (seen.append(x) or x for x in it))
    return serial, fast, code, rows, seen, log


def test_parallel_grading_records_the_same_scores_as_nbgrader(both):
    serial, fast, code, rows, seen, log = both
    expected = scores(serial)
    assert expected["right"] == {"test_add": 2, "test_double": 1}, expected["right"]
    assert expected["wrong-add"]["test_add"] == 0 and expected["sleeps"]["test_double"] == 0, expected
    assert scores(fast) == expected
    assert code != 0, "the unreadable submission must make the run exit non-zero, as nbgrader does"


def test_each_notebook_ran_once_in_parallel_and_was_not_run_again(both):
    serial, fast, code, rows, seen, log = both
    assert len(seen) == len(SUBMISSIONS) + 1, "the progress callback saw every phase-1 task"
    assert "in the sandbox in" not in log, f"nbgrader ran a notebook again instead of using the parallel run:\n{log[-2000:]}"
    taken = {s for s in SUBMISSIONS if f"of {s} taken from the parallel run" in log}
    assert taken == set(SUBMISSIONS), f"results not taken from the parallel run: {set(SUBMISSIONS) - taken}"
    autograded = fast / "autograded"
    for student in SUBMISSIONS:
        assert (autograded / student / ASSIGNMENT / NOTEBOOK).is_file(), student
    hidden = nbformat.read(autograded / "right" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert any("-5, 7" in c.source for c in hidden.cells), "the graded notebook has the instructor's hidden tests back"


def test_summary_lists_every_student_with_score_and_problem(both):
    serial, fast, code, rows, seen, log = both
    by = {r["student"]: r for r in rows}
    assert set(by) == set(SUBMISSIONS) | {"not-a-notebook"}
    assert by["right"]["score"] == 3 and by["right"]["max_score"] == 3
    assert "flagged for review" in by["right"]["problem"], "its added cell calls os.getuid(): the review flags it"
    assert by["logs"]["score"] == 3 and not by["logs"]["problem"], "a logging line must cost nothing and flag nothing"
    assert "timed out" in by["sleeps"]["problem"] or "wall" in by["sleeps"]["problem"] or by["sleeps"]["problem"], by["sleeps"]
    assert by["not-a-notebook"]["problem"], by["not-a-notebook"]
    table = parallel.format_table(rows)
    assert all(student in table for student in by)


@pytest.mark.skipif(os.geteuid() != 0, reason="one user per sandbox needs root (a user namespace maps them all)")
def test_each_sandbox_runs_as_its_own_user_as_root(both):
    serial, fast, code, rows, seen, log = both
    uids = {}
    for student in ("right", "wrong-add"):
        nb = nbformat.read(fast / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        uids[student] = int(printed.split("uid ", 1)[1].split()[0])
    assert len(set(uids.values())) == 2 and all(u >= parallel.FIRST_UID for u in uids.values()), uids


def test_dask_local_cluster_runs_the_same_tasks(toy_course, tmp_path):
    pytest.importorskip("dask.distributed")
    course = tmp_path / "course"
    shutil.copytree(toy_course, course)
    code, _, rows = parallel.grade(course, ASSIGNMENT, jobs=2, students=["right", "wrong-add"], scheduler="local")
    assert code == 0
    assert {r["student"]: r["score"] for r in rows} == {"right": 3, "wrong-add": 1}


def test_command_line_refuses_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        parallel.main(["toy", "--jobs", "0"])
    assert "--jobs must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parallel.main(["toy", "stray"])
    assert "unrecognised arguments" in capsys.readouterr().err


def test_cached_result_round_trips():
    from coursegrader.preprocessor import result_from_json, result_to_json
    from coursegrader.sandbox import Result

    r = Result(cells={3: {"execution_count": 1, "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}]}},
               language_info={"name": "python"}, failure=None, started=True, seconds=1.5, startup_seconds=0.5, log="")
    assert result_from_json(result_to_json(r)) == r
    assert json.loads(result_to_json(r))["cells"]["3"]["execution_count"] == 1
