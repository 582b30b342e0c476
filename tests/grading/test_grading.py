"""Grading checks: the real nbgrader loop on every assignment of ``assignments.ASSIGNMENTS``.

Reference: nbgrader 0.9 itself (generate_assignment, autograde, generate_feedback, export, the
Validate button's validator) run on a temporary copy of the course (``harness.grade_all``), and
its gradebook read through ``nbgrader.api.Gradebook``. For each assignment: the solution scores
full marks; the untouched release scores 0 on every autograded cell; every mutant (a plausible
wrong answer) loses the points of the cells it names; broken submissions each get their own clear
result in the same run without disturbing the others; feedback hides the hidden tests; export
writes every student's score; ``exercises/`` is what generate_assignment makes of ``solutions/``.
"""

from __future__ import annotations

import csv
import html
import re
import sys
from pathlib import Path

import nbformat
import pytest

from tests.grading.assignments import ASSIGNMENTS
from tests.grading.harness import (KERNEL_PROBE, ROOT, SOLUTION, UNTOUCHED, Course, hidden_blocks, is_solution,
                                   is_test)

pytestmark = pytest.mark.slow

MUTANTS = [(a, m) for a in ASSIGNMENTS for m in a.mutants]


def by_name(a) -> str:
    return a.name


@pytest.fixture(params=ASSIGNMENTS, ids=by_name)
def course(request, graded) -> Course:
    return graded(request.param)


def lost(scores: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {k: v for k, v in scores.items() if v[0] < v[1]}


# -- the solution, the untouched release, the mutants ------------------------------------------

def test_solution_scores_full_marks(course: Course):
    scores = course.scores(SOLUTION)
    assert set(scores) == set(course.test_ids()), f"graded cells {sorted(scores)} != test cells {course.test_ids()}"
    assert not lost(scores), f"the solution lost points in {lost(scores)}\n{course.log[-3000:]}"
    assert sum(v[1] for v in scores.values()) == course.a.total_points
    assert not course.needs_manual_grade(SOLUTION)


def test_grading_runs_on_the_kernel_of_this_environment(course: Course):
    """Even with no JUPYTER_PATH and a decoy user "python3" kernel (harness.nbgrader_env)."""
    nb = course.autograded_notebook(SOLUTION)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"{KERNEL_PROBE}{sys.prefix}\n" in printed, f"the kernel was not this environment's: {printed[-500:]}"


def test_untouched_release_scores_zero_on_every_autograded_cell(course: Course):
    scores = course.scores(UNTOUCHED)
    assert set(scores) == set(course.test_ids()), f"graded cells {sorted(scores)} != test cells {course.test_ids()}"
    scored = {k: v for k, v in scores.items() if v[0] != 0}
    assert not scored, f"the untouched student notebook scored points in {scored}"


@pytest.mark.parametrize("assignment,mutant", MUTANTS, ids=[f"{a.name}:{m.id}" for a, m in MUTANTS])
def test_mutant_loses_points(graded, assignment, mutant):
    course = graded(assignment)
    scores = course.scores(mutant.id)
    kept = {cell: scores[cell] for cell in mutant.loses if scores[cell][0] >= scores[cell][1]}
    assert not kept, (
        f"mutant {mutant.id!r} of {mutant.cell} ({mutant.why}) should lose the points of {list(mutant.loses)}, "
        f"but scored full marks in {kept}")


# -- broken submissions: each graded on its own, in the same run as everyone else ---------------

def test_invalid_json_is_reported_and_scores_zero(course: Course):
    result = course.autograde_result
    assert result.returncode != 0, "autograde should exit non-zero when a submission cannot be read"
    assert "for student 'invalid-json'" in course.log, "autograde's log does not name the unreadable submission"
    scores = course.scores("invalid-json")
    assert scores and all(s == 0 for s, _ in scores.values()), scores
    assert course.needs_manual_grade("invalid-json"), "the unreadable submission should be flagged for a look"
    errors = [line for line in course.log.splitlines() if "There was an error processing assignment '" in line]
    assert all("invalid-json" in line for line in errors), f"other students failed too: {errors}"


def test_deleted_test_cell_is_restored_and_graded(course: Course):
    scores = course.scores("deleted-test-cell")
    assert course.deleted_test in scores
    assert not lost(scores), f"the restored test cell {course.deleted_test} (or another) lost points: {lost(scores)}"
    restored = course.autograded_notebook("deleted-test-cell")
    assert any(c.metadata.get("nbgrader", {}).get("grade_id") == course.deleted_test for c in restored.cells)


def test_deleted_solution_cell_loses_its_own_tests_only(course: Course):
    scores = course.scores("deleted-solution-cell")
    own = course.tests_of(course.deleted_solution)
    assert own and all(scores[t][0] == 0 for t in own), {t: scores[t] for t in own}
    assert sum(s for s, _ in scores.values()) > 0, "the other answers should still score"


def test_code_raising_everywhere_scores_zero(course: Course):
    scores = course.scores("raises-everywhere")
    assert scores and all(s == 0 for s, _ in scores.values()), scores


def test_edited_test_cells_are_put_back(course: Course):
    scores = course.scores("tampered-tests")
    assert set(scores) == set(course.test_ids())
    assert all(s == 0 for s, _ in scores.values()), f"edited test cells were not overwritten: {scores}"


@pytest.mark.parametrize("student,shown", [("warns-everywhere", "a harmless warning"),
                                           ("logs-everywhere", "debug line from")])
def test_warnings_and_logging_in_answers_cost_no_points(course: Course, student: str, shown: str):
    """nbgrader scores 0 a test cell that writes to stderr: the setup cell sends warnings to stdout,
    and StderrIsNotAnError relabels what else reached stderr (a ``logging`` debug line)."""
    scores = course.scores(student)
    assert not lost(scores), f"answers that only warn or log lost points in {lost(scores)}"
    printed = [o.get("text", "") for c in course.autograded_notebook(student).cells
               if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert any(shown in t for t in printed), f"the lines {shown!r} were not shown to the student"


def test_copy_pasted_cells_are_graded_normally(course: Course):
    """A cell pasted with its nbgrader metadata made nbgrader stop on the notebook (DeduplicateGradeIds)."""
    errors = [line for line in course.log.splitlines() if "for student 'duplicated-cells'" in line]
    assert not errors, f"the notebook with pasted cells was not graded: {errors}"
    scores = course.scores("duplicated-cells")
    assert set(scores) == set(course.test_ids())
    assert not lost(scores), f"pasted copies of an answer and a test cost points in {lost(scores)}"


def test_code_that_calls_what_it_should_write_is_flagged_for_review(course: Course):
    """FlagForReview (coursegrader.review) reads each student's code in the grader's process."""
    flagged = course.flagged()
    assert not flagged.get(SOLUTION), "the solution was flagged for review"
    cheats = [m.id for m in course.a.mutants if "cnnlib" in m.id]
    assert cheats, f"{course.a.name} has no mutant that calls cnnlib"
    missed = [m for m in cheats if not flagged.get(m)]
    assert not missed, f"mutants that call cnnlib were not flagged for review: {missed}"
    assert "flagged for review" in course.log + course.shard.log


# -- feedback, export, validate ----------------------------------------------------------------

def _text(path: Path) -> str:
    """The visible text of an HTML page (syntax highlighting splits code into many spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_feedback_hides_the_hidden_tests(course: Course):
    result = course.nbgrader("generate_feedback", course.a.name, "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    visible, hidden = set(), set()
    for cell in course.source.cells:
        for block in hidden_blocks(cell.source):
            hidden |= {line.strip() for line in block.splitlines() if len(line.strip()) >= 20}
        if is_test(cell):
            visible |= {line.strip() for line in cell.source.split("### BEGIN HIDDEN TESTS")[0].splitlines()
                        if len(line.strip()) >= 20}
    hidden -= visible | {line.strip() for c in course.source.cells if is_solution(c) for line in c.source.splitlines()}
    assert hidden, "no hidden tests found in the source notebook"
    pages = sorted((course.root / "feedback").glob(f"*/{course.a.name}/{course.a.notebook_id}.html"))
    graded_here = len(course.a.mutants) - len(course.shard_students) + 2  # the shard's have their own gradebook
    assert len(pages) >= graded_here, f"feedback missing: {len(pages)} pages"
    scrubbed = 0
    for page in pages:
        text = _text(page)
        leaked = sorted(line for line in hidden if line in text)
        assert not leaked, f"{page.relative_to(course.root)} shows hidden test code: {leaked[:3]}"
        scrubbed += "its hidden tests are not shown" in text
    solution_text = _text(course.root / "feedback" / SOLUTION / course.a.name / f"{course.a.notebook_id}.html")
    assert visible and all(line in solution_text for line in visible), "the visible tests should be in the feedback"
    assert scrubbed, "no feedback page had a failing hidden test whose traceback was hidden: the check saw nothing"


def test_export_writes_every_students_score(course: Course):
    result = course.nbgrader("export", "--to", "grades.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader((course.root / "grades.csv").open())}
    totals = course.totals()
    assert set(rows) == set(totals), f"students in grades.csv {sorted(rows)} != gradebook {sorted(totals)}"
    for student, total in totals.items():
        assert float(rows[student]["score"]) == total, (student, rows[student]["score"], total)
        assert float(rows[student]["max_score"]) == course.a.total_points
    assert float(rows[SOLUTION]["score"]) == course.a.total_points
    assert float(rows[UNTOUCHED]["score"]) == 0


def test_validate_passes_the_solution_and_flags_every_test_of_the_release(course: Course, tmp_path):
    """What a student's Validate button runs (nbgrader.validator.Validator; the CLI exits 0 even on failure)."""
    from nbgrader.validator import Validator

    solution, release = tmp_path / "solution.ipynb", tmp_path / "release.ipynb"
    nbformat.write(course.filled(), solution)
    nbformat.write(course.release, release)
    assert Validator().validate(str(solution)) == {}
    failed = Validator().validate(str(release)).get("failed", [])
    n_tests = sum(1 for c in course.release.cells if is_test(c))
    assert len(failed) == n_tests, f"expected all {n_tests} test cells to fail on the release, got {len(failed)}"
    assert all("NotImplementedError" in f["raw_error"] for f in failed)


# -- the committed release ---------------------------------------------------------------------

def test_exercises_are_not_stale(course: Course):
    name = course.a.name
    committed_dir, fresh_dir = ROOT / "exercises" / name, course.root / "exercises" / name
    assert committed_dir.is_dir(), f"exercises/{name} is missing: run `make exercises`"
    files = {p.relative_to(committed_dir) for p in committed_dir.rglob("*") if p.is_file()}
    fresh_files = {p.relative_to(fresh_dir) for p in fresh_dir.rglob("*") if p.is_file()}
    assert files == fresh_files, (
        f"exercises/{name} has {sorted(map(str, files))}, generate_assignment makes {sorted(map(str, fresh_files))}")

    def view(nb):
        return nb.metadata.get("kernelspec"), [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]

    for rel in sorted(files):
        if rel.suffix == ".ipynb":
            committed, fresh = (nbformat.read(d / rel, as_version=4) for d in (committed_dir, fresh_dir))
            same = view(committed) == view(fresh)
        else:
            same = (committed_dir / rel).read_bytes() == (fresh_dir / rel).read_bytes()
        assert same, (f"exercises/{name}/{rel} differs from what `nbgrader generate_assignment` makes of "
                      f"solutions/{name}: run `make exercises` and commit the result")
