"""Runs the real nbgrader on a throw-away copy of the course (used by test_grading.py).

:class:`Course` copies ``nbgrader_config.py`` and one assignment's ``solutions/`` folder into a
temporary folder, generates the release there with ``nbgrader generate_assignment``, writes
submissions into ``submitted/<student>/<assignment>/``, runs ``nbgrader autograde`` once for all of
them, and reads the scores back from the gradebook with nbgrader's own API
(:class:`nbgrader.api.Gradebook`), never from its log.

:func:`grade_all` builds the standard set of submissions of an assignment: the solution, the
untouched release, every mutant of the registry, and the broken submissions of ``BROKEN``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from coursegrader import sandbox
from tests.grading.assignments import Assignment, Mutant

ROOT = Path(__file__).resolve().parents[2]
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
KERNEL_PROBE = "grading-kernel-prefix="

# Students of every graded course besides the mutants (mutant ids must differ from these).
SOLUTION, UNTOUCHED = "solution", "untouched"
BROKEN = ("invalid-json", "deleted-test-cell", "deleted-solution-cell", "raises-everywhere",
          "tampered-tests", "warns-everywhere", "logs-everywhere", "duplicated-cells")
RESERVED_IDS = (SOLUTION, UNTOUCHED, *BROKEN)


@functools.cache
def sandbox_problem() -> str | None:
    """Why submissions cannot be graded in the bubblewrap sandbox here (None: they can).

    Without one the grading checks grade unsandboxed (as ``make autograde UNSANDBOXED=yes``) and
    the sandbox's own checks skip, unless ``CNNLIB_REQUIRE_SANDBOX=1`` (set by .ci/run, which
    installs bubblewrap), which turns the problem into a failure.
    """
    return sandbox.check()


def sandbox_required() -> bool:
    return os.environ.get("CNNLIB_REQUIRE_SANDBOX", "") not in ("", "0")


def nbgrader_env(decoy: Path) -> dict[str, str]:
    """The environment nbgrader runs in: none of the help ``make`` gives it, and a trap.

    This environment's bin/ is not on PATH, and JUPYTER_PATH (searched before every other
    kernel folder) holds a decoy ``python3`` kernel that cannot start, as for a user whose
    JUPYTER_PATH points at other kernels: nbgrader_config.py alone must make nbgrader find this
    environment's kernel and its ``alembic``. Submissions run in the sandbox where it works
    (:func:`sandbox_problem`).
    """
    kernel = decoy / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(decoy / "no-such-python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "decoy", "language": "python"}))
    env_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != env_bin)
    env["JUPYTER_PATH"] = str(decoy)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    if sandbox_problem() is not None:
        if sandbox_required():
            raise RuntimeError(f"CNNLIB_REQUIRE_SANDBOX is set, but {sandbox_problem()}")
        env["COURSEGRADER_UNSANDBOXED"] = "yes"
    return env


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def is_test(cell) -> bool:
    """An autograded test cell: a code grade cell that is not also a solution cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def hidden_blocks(source: str) -> list[str]:
    """The hidden-test regions of a cell source."""
    return [part.split(END_HIDDEN, 1)[0] for part in source.split(BEGIN_HIDDEN)[1:]]


def apply_mutant(source: str, m: Mutant) -> str:
    for old, new in m.replace:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"mutant {m.id}: {old!r} occurs {count} times in solution cell {m.cell} (must be once)")
        source = source.replace(old, new)
    return source


class Course:
    """A temporary nbgrader course holding one assignment of the registry."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.a = root, assignment
        self.env = nbgrader_env(root / "decoy-jupyter-data")
        shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(ROOT / "solutions" / assignment.name, root / "solutions" / assignment.name)
        result = self.nbgrader("generate_assignment", assignment.name, "--force")
        if result.returncode != 0:
            raise RuntimeError(f"generate_assignment failed:\n{result.stdout}\n{result.stderr}")
        self.source = nbformat.read(root / "solutions" / assignment.name / assignment.notebook, as_version=4)
        self.release = nbformat.read(self.release_path, as_version=4)
        self.autograde_result: subprocess.CompletedProcess | None = None
        self.deleted_test: str | None = None  # set by grade_all: the cells its broken submissions deleted
        self.deleted_solution: str | None = None
        self.shard: Course | None = None  # set by grade_all: the copy that graded some of the mutants
        self.shard_students: set[str] = set()

    def nbgrader(self, *args: str) -> subprocess.CompletedProcess:
        """``python -m nbgrader ARGS`` in the course folder, with this interpreter."""
        return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root, capture_output=True,
                              text=True, timeout=900, env=self.env)

    def copy_to(self, root: Path) -> Course:
        """A shard: this course (release and gradebook) copied to ``root``, with no submissions yet."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback",
                                                                        "decoy-jupyter-data"))
        shard = copy.copy(self)
        shard.root, shard.env = root, nbgrader_env(root / "decoy-jupyter-data")
        shard.shard, shard.shard_students = None, set()
        return shard

    def where(self, student: str) -> Course:
        """The course (this one or its shard) that graded ``student``."""
        return self.shard if self.shard is not None and student in self.shard_students else self

    @property
    def release_path(self) -> Path:
        return self.root / "exercises" / self.a.name / self.a.notebook

    @property
    def log(self) -> str:
        r = self.autograde_result
        return "" if r is None else r.stdout + r.stderr

    # -- the source notebook ----------------------------------------------------------------
    def solution_ids(self) -> list[str]:
        return [grade_id(c) for c in self.source.cells if is_solution(c) and c.cell_type == "code"]

    def test_ids(self) -> list[str]:
        return [grade_id(c) for c in self.source.cells if is_test(c)]

    def tests_of(self, solution_id: str) -> list[str]:
        """The test cells between a solution cell and the next solution cell."""
        if solution_id not in self.solution_ids():
            raise ValueError(f"{solution_id} is not a solution cell")
        found, out = False, []
        for cell in self.source.cells:
            if is_solution(cell) and cell.cell_type == "code":
                if found:
                    break
                found = grade_id(cell) == solution_id
            elif found and is_test(cell):
                out.append(grade_id(cell))
        return out

    def solution_source(self, cell_id: str, m: Mutant | None = None) -> str:
        source = next(c.source for c in self.source.cells if grade_id(c) == cell_id)
        return strip_markers(apply_mutant(source, m) if m is not None else source)

    # -- submissions -------------------------------------------------------------------------
    def filled(self, m: Mutant | None = None, transform=None):
        """The release with every solution cell answered by the solution (``m`` mutates one of them).

        ``transform(grade_id, source) -> source`` rewrites each filled-in answer.
        """
        nb = copy.deepcopy(self.release)
        for cell in nb.cells:
            if is_solution(cell) and cell.cell_type == "code":
                gid = grade_id(cell)
                source = self.solution_source(gid, m if m is not None and m.cell == gid else None)
                cell.source = transform(gid, source) if transform else source
        return nb

    def submit(self, student: str, nb=None, raw: str | None = None) -> None:
        folder = self.root / "submitted" / student / self.a.name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / self.a.notebook
        if raw is not None:
            target.write_text(raw)
        else:
            nbformat.write(nb, target)

    def autograde(self) -> subprocess.CompletedProcess:
        """Autograde every submission, the shard's at the same time as this course's."""
        if self.shard is None:
            self.autograde_result = self.nbgrader("autograde", self.a.name, "--create", "--force")
            return self.autograde_result
        args = [sys.executable, "-m", "nbgrader", "autograde", self.a.name, "--create", "--force"]
        courses, runs = (self, self.shard), []
        for c in courses:  # logs to files: a full pipe would stall a run while the other is waited for
            out, err = (open(c.root / f"autograde.{kind}", "w+") for kind in ("out", "err"))
            runs.append((subprocess.Popen(args, cwd=c.root, env={**c.env, "OMP_NUM_THREADS": "1"}, text=True,
                                          stdout=out, stderr=err), out, err))
        for c, (run, out, err) in zip(courses, runs):
            try:
                run.wait(timeout=900)
            finally:
                run.kill()
                run.wait()
            with out, err:
                out.seek(0), err.seek(0)
                c.autograde_result = subprocess.CompletedProcess(args, run.returncode, out.read(), err.read())
        return self.autograde_result

    # -- the gradebook -----------------------------------------------------------------------
    def gradebook(self) -> Gradebook:
        return Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", course_id="cnn-book")

    def scores(self, student: str) -> dict[str, tuple[float, float]]:
        """``{grade_id: (score, max_score)}`` of every autograded test cell of the student's notebook."""
        if self.where(student) is not self:
            return self.shard.scores(student)
        with self.gradebook() as gb:
            nb = gb.find_submission_notebook(self.a.notebook_id, self.a.name, student)
            return {g.name: (float(g.score), float(g.max_score)) for g in nb.grades if g.cell.cell_type == "code"
                    and g.max_score > 0}

    def flagged(self) -> dict[str, bool]:
        """Whether each student's notebook is flagged for review, in this course and its shard."""
        out = {} if self.shard is None else self.shard.flagged()
        with self.gradebook() as gb:
            for sub in gb.find_assignment(self.a.name).submissions:
                out[sub.student.id] = any(nb.flagged for nb in sub.notebooks)
        return out

    def needs_manual_grade(self, student: str) -> bool:
        if self.where(student) is not self:
            return self.shard.needs_manual_grade(student)
        with self.gradebook() as gb:
            return gb.find_submission_notebook(self.a.notebook_id, self.a.name, student).needs_manual_grade

    def totals(self) -> dict[str, float]:
        """Each student's total score on the assignment (in this course, not its shard)."""
        with self.gradebook() as gb:
            return {s.student.id: float(s.score) for s in gb.find_assignment(self.a.name).submissions}

    def autograded_notebook(self, student: str):
        return nbformat.read(self.where(student).root / "autograded" / student / self.a.name / self.a.notebook, as_version=4)


def _delete_cell(nb, predicate) -> str:
    cell = next(c for c in nb.cells if predicate(c))
    nb.cells.remove(cell)
    return grade_id(cell)


def _warn_first(gid: str, source: str) -> str:
    """Make an answer warn when it is called (a warning as the first line of its function body)."""
    lines = source.splitlines()
    body = next((i for i, line in enumerate(lines) if line.startswith((" ", "\t")) and line.strip()), None)
    if body is None:
        return 'import warnings; warnings.warn("a harmless warning")\n' + source
    indent = lines[body][: len(lines[body]) - len(lines[body].lstrip())]
    lines.insert(body, f'{indent}import warnings; warnings.warn("a harmless warning from {gid}")')
    return "\n".join(lines)


def _log_first(gid: str, source: str) -> str:
    """Make an answer log a debug line (to stderr, through the logging module) when it is called."""
    lines = source.splitlines()
    body = next((i for i, line in enumerate(lines) if line.startswith((" ", "\t")) and line.strip()), None)
    if body is None:
        return f'import logging; logging.warning("debug line from {gid}")\n' + source
    indent = lines[body][: len(lines[body]) - len(lines[body].lstrip())]
    lines.insert(body, f'{indent}import logging; logging.warning("debug line from {gid}")')
    return "\n".join(lines)


def _duplicate_cells(nb) -> None:
    """Copy-paste, as JupyterLab does (metadata kept, new cell id), the first answer and the first test cell."""
    for predicate in (lambda c: is_solution(c) and c.cell_type == "code", is_test):
        index = next(i for i, c in enumerate(nb.cells) if predicate(c))
        twin = copy.deepcopy(nb.cells[index])
        twin.id = f"pasted-{index}"
        nb.cells.insert(index + 1, twin)


def grade_all(root: Path, a: Assignment) -> Course:
    """A course with every standard submission of ``a`` graded in ONE ``nbgrader autograde`` run."""
    course = Course(root, a)
    solution = course.filled()
    # A cell the student added: it prints the environment of the kernel nbgrader ran the notebook in.
    solution.cells.append(nbformat.v4.new_code_cell(f'import sys\nprint("{KERNEL_PROBE}" + sys.prefix)'))
    course.submit(SOLUTION, solution)
    course.submit(UNTOUCHED, course.release)
    course.shard = course.copy_to(root.with_name(root.name + "-shard"))
    # Half the notebooks each: the shard takes mutants until it has as many as this course will hold.
    in_shard = (len(a.mutants) + 2 + len(BROKEN) + 1) // 2
    for i, m in enumerate(a.mutants):
        target = course.shard if i < in_shard else course
        target.submit(m.id, course.filled(m))
        if target is course.shard:
            course.shard_students.add(m.id)

    course.submit("invalid-json", raw='{"cells": [ this is not json')
    nb = course.filled()
    course.deleted_test = _delete_cell(nb, is_test)
    course.submit("deleted-test-cell", nb)
    nb = course.filled()
    course.deleted_solution = _delete_cell(nb, lambda c: is_solution(c) and c.cell_type == "code")
    course.submit("deleted-solution-cell", nb)
    course.submit("raises-everywhere", course.filled(transform=lambda gid, s: 'raise RuntimeError("not done")'))
    tampered = copy.deepcopy(course.release)  # unanswered, with every test cell replaced
    for cell in tampered.cells:
        if is_test(cell):
            cell.source = 'print("all tests passed")'
    course.submit("tampered-tests", tampered)
    course.submit("warns-everywhere", course.filled(transform=_warn_first))
    course.submit("logs-everywhere", course.filled(transform=_log_first))
    nb = course.filled()
    _duplicate_cells(nb)
    course.submit("duplicated-cells", nb)

    course.autograde()
    return course
