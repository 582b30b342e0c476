"""Grading checks: the real nbgrader loop on every assignment of ``assignments.ASSIGNMENTS``.

Reference: nbgrader itself (generate_assignment, autograde, generate_feedback, export) run on a
temporary copy of the course, and its gradebook read through ``nbgrader.api.Gradebook``. For
each assignment: the solution scores full marks; the untouched release scores 0 on every
autograded cell; every mutant (a plausible wrong answer) loses the points of the cells it names;
broken submissions are graded on their own without stopping the others; feedback hides the
hidden tests; ``exercises/`` is what generate_assignment makes from ``solutions/`` today.
"""

from __future__ import annotations

import csv

import nbformat
import pytest

from tests.grading.assignments import ASSIGNMENTS, Assignment
from tests.grading.harness import ROOT, Course, grade_id, nbgrader

pytestmark = pytest.mark.slow

MUTANTS = [(a, m) for a in ASSIGNMENTS for m in a.mutants]


@pytest.fixture(scope="module", params=ASSIGNMENTS, ids=lambda a: a.name)
def graded(request, tmp_path_factory) -> Course:
    """One course per assignment, with all submissions autograded in ONE nbgrader run."""
    a: Assignment = request.param
    course = Course(tmp_path_factory.mktemp(a.name), a)
    course.submit("solution", course.filled())
    course.submit("untouched", course.release)
    for m in a.mutants:
        course.submit(m.id, course.filled(m))
    # Broken submissions.
    course.submit("broken-json", raw='{"cells": [ this is not json')
    deleted_test = course.filled()
    first_test = next(c for c in deleted_test.cells if c.metadata.get("nbgrader", {}).get("grade"))
    deleted_test.cells.remove(first_test)
    course.submit("deleted-test-cell", deleted_test)
    deleted_solution = course.filled()
    first_solution = next(c for c in deleted_solution.cells if c.metadata.get("nbgrader", {}).get("solution"))
    deleted_solution.cells.remove(first_solution)
    course.submit("deleted-solution-cell", deleted_solution)
    course.submit("raises-everywhere", course.filled(replace_all='raise RuntimeError("not done")'))
    course.deleted = (grade_id(first_test), grade_id(first_solution))
    course.autograde()
    return course


def test_solution_scores_full_marks(graded: Course):
    scores = graded.scores("solution")
    lost = {k: v for k, v in scores.items() if v[0] != v[1]}
    assert not lost, f"the solution lost points in {lost}\n{graded.log[-3000:]}"
    assert sum(v[1] for v in scores.values()) == graded.a.total_points


def test_untouched_release_scores_zero_everywhere(graded: Course):
    scores = graded.scores("untouched")
    assert scores, "no autograded cells found"
    scored = {k: v for k, v in scores.items() if v[0] != 0}
    assert not scored, f"the untouched student notebook scored points in {scored}"


@pytest.mark.parametrize("assignment,mutant", MUTANTS, ids=lambda x: getattr(x, "id", None) or x.name)
def test_mutant_loses_points(graded: Course, assignment, mutant):
    if graded.a is not assignment:
        pytest.skip("mutant of another assignment")
    scores = graded.scores(mutant.id)
    for cell in mutant.loses:
        score, max_score = scores[cell]
        assert score < max_score, (
            f"mutant {mutant.id!r} ({mutant.why}) should lose the points of {cell} but scored {score}/{max_score}"
        )


def test_broken_submissions_are_graded_alone(graded: Course):
    log = graded.log
    # Invalid JSON: nbgrader reports that student and moves on; nothing is recorded for it.
    assert "broken-json" in log, "autograde's log does not mention the invalid submission"
    assert not graded.has_submission("broken-json") or all(
        s == 0 for s, _ in graded.scores("broken-json").values())
    # A deleted test cell is restored from the gradebook and graded: full marks here.
    restored = graded.scores("deleted-test-cell")
    test_id, solution_id = graded.deleted
    assert restored[test_id][0] == restored[test_id][1], f"deleted test cell {test_id} was not restored: {restored[test_id]}"
    # A deleted solution cell fails its tests only.
    partial = graded.scores("deleted-solution-cell")
    assert partial[f"test_{solution_id}"][0] == 0
    assert sum(s for s, _ in partial.values()) > 0
    # Code that raises everywhere scores zero everywhere.
    assert all(s == 0 for s, _ in graded.scores("raises-everywhere").values())
    # ... and the others in the same run were still graded.
    assert sum(s for s, _ in graded.scores("solution").values()) == graded.a.total_points


def test_feedback_hides_hidden_tests_and_export_writes_csv(graded: Course):
    result = nbgrader(graded.root, "generate_feedback", graded.a.name, "--student", "solution", "--force")
    assert result.returncode == 0, result.stderr[-2000:]
    html = (graded.root / "feedback" / "solution" / graded.a.name / f"{graded.a.notebook_id}.html").read_text()
    assert "visible tests passed" in html
    assert "BEGIN HIDDEN TESTS" not in html and "manual_seed(1" not in html.split("torch.manual_seed(0)")[-1]
    result = nbgrader(graded.root, "export", "--to", "grades.csv")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader((graded.root / "grades.csv").open())}
    assert float(rows["solution"]["score"]) == graded.a.total_points
    assert float(rows["untouched"]["score"]) == 0


def test_exercises_are_not_stale(graded: Course):
    committed_path = ROOT / "exercises" / graded.a.name / graded.a.notebook
    assert committed_path.exists(), f"{committed_path} is missing: run `make exercises`"
    committed = nbformat.read(committed_path, as_version=4)
    fresh = graded.release

    def view(nb):
        return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]

    assert view(committed) == view(fresh), (
        f"exercises/{graded.a.name} differs from what `nbgrader generate_assignment` makes of "
        f"solutions/{graded.a.name}: run `make exercises` and commit the result"
    )


def test_validate_button_passes_the_solution_and_flags_the_release(graded: Course, tmp_path):
    """What a student's Validate button runs (nbgrader.validator.Validator, not the CLI's exit code)."""
    from nbgrader.validator import Validator

    solution, release = tmp_path / "solution.ipynb", tmp_path / "release.ipynb"
    nbformat.write(graded.filled(), solution)
    nbformat.write(graded.release, release)
    assert Validator().validate(str(solution)) == {}
    failed = Validator().validate(str(release)).get("failed", [])
    n_tests = sum(1 for c in graded.release.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert len(failed) == n_tests, f"expected every one of the {n_tests} test cells to fail on the release, got {len(failed)}"
    assert "NotImplementedError" in failed[0]["raw_error"]
