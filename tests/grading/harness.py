"""Runs the real nbgrader on a throw-away copy of the course (used by test_grading.py).

``Course`` copies ``nbgrader_config.py`` and ``solutions/`` into a temporary folder, generates
the release there with ``nbgrader generate_assignment``, writes submissions into
``submitted/<student>/<assignment>/``, runs ``nbgrader autograde`` once for all of them, and
reads the scores back from the gradebook with nbgrader's own API.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from tests.grading.assignments import Assignment, Mutant

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``course``; the kernel is this interpreter's env."""
    # nbgrader runs `alembic` from PATH to set up the gradebook: put this env's bin/ first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                          text=True, timeout=900, env=env)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


class Course:
    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.a = root, assignment
        shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(ROOT / "solutions" / assignment.name, root / "solutions" / assignment.name)
        result = nbgrader(root, "generate_assignment", assignment.name, "--force")
        if result.returncode != 0:
            raise RuntimeError(f"generate_assignment failed:\n{result.stdout}\n{result.stderr}")
        self.source = nbformat.read(root / "solutions" / assignment.name / assignment.notebook, as_version=4)
        self.release = nbformat.read(self.release_path, as_version=4)
        self.log = ""

    @property
    def release_path(self) -> Path:
        return self.root / "exercises" / self.a.name / self.a.notebook

    def solution_source(self, cell_id: str, mutant: Mutant | None = None) -> str:
        source = next(c.source for c in self.source.cells if grade_id(c) == cell_id)
        if mutant is not None:
            for old, new in mutant.replace:
                if old not in source:
                    raise ValueError(f"mutant {mutant.id}: {old!r} not found in solution cell {cell_id}")
                source = source.replace(old, new)
        return strip_markers(source)

    def filled(self, mutant: Mutant | None = None, replace_all: str | None = None):
        """The release notebook with every solution cell filled in (one of them mutated)."""
        nb = copy.deepcopy(self.release)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                gid = grade_id(cell)
                if replace_all is not None:
                    cell.source = replace_all
                else:
                    cell.source = self.solution_source(gid, mutant if mutant and mutant.cell == gid else None)
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
        result = nbgrader(self.root, "autograde", self.a.name, "--create", "--force")
        self.log = result.stdout + result.stderr
        return result

    def scores(self, student: str) -> dict[str, tuple[float, float]]:
        """``{grade_id: (score, max_score)}`` of the student's autograded test cells."""
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            nb = gb.find_submission_notebook(self.a.notebook_id, self.a.name, student)
            return {g.name: (g.score, g.max_score) for g in nb.grades if g.max_score > 0 and g.cell.cell_type == "code"
                    and g.auto_score is not None}

    def has_submission(self, student: str) -> bool:
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            try:
                gb.find_submission_notebook(self.a.notebook_id, self.a.name, student)
                return True
            except MissingEntry:
                return False
