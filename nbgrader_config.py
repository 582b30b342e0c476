"""nbgrader configuration of the course. The course root is this repository.

Source notebooks (with solutions and hidden tests) live in ``solutions/<assignment>/``; the
student release generated from them in ``exercises/<assignment>/``. Submissions go to
``submitted/<student>/<assignment>/``; ``nbgrader autograde`` writes ``autograded/`` and the
gradebook ``gradebook.db``, and ``nbgrader generate_feedback`` writes ``feedback/`` (all
git-ignored). The instructor guide (book/appendices/instructor-guide.md) walks through the loop;
tests/grading/ checks it with the real nbgrader.
"""

import os
import re
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import (ClearHiddenTests, DeduplicateIds, Execute, GetGrades, NbGraderPreprocessor,
                                    SaveAutoGrades)

from coursegrader.preprocessor import DeduplicateGradeIds, SandboxedExecute, StderrIsNotAnError
from coursegrader.review import FlagForReview

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cnn-book"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# Run the notebooks on the "python3" kernel of the environment nbgrader runs in (.venv), even
# when nbgrader is started without `make` and another "python3" kernel is installed for the user
# (JUPYTER_PATH is searched before the user's kernels). nbgrader also runs `alembic` from PATH
# when it creates gradebook.db: find this environment's.
def _put_first(variable: str, folder: Path) -> None:
    others = [p for p in os.environ.get(variable, "").split(os.pathsep) if p and p != str(folder)]
    os.environ[variable] = os.pathsep.join([str(folder), *others])


_env = Path(sys.prefix)
if (_env / "share" / "jupyter" / "kernels" / "python3" / "kernel.json").is_file():
    _put_first("JUPYTER_PATH", _env / "share" / "jupyter")
if (_env / "bin" / "alembic").is_file():
    _put_first("PATH", _env / "bin")

# What a student sees in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell execution limit while autograding (the default of 30 s is too tight for a slow laptop
# running the hidden tests of a loop-based convolution; the solution needs about 1 s per cell).
c.Execute.timeout = 180
c.SandboxedExecute.timeout = 180

# Every submission runs in a bubblewrap sandbox (coursegrader/sandbox.py; the instructor guide's
# "Sandbox" section): SandboxedExecute takes the place of nbgrader's Execute, so the steps after
# it, which write the gradebook, run where no student code ran. Limits per notebook besides the
# per-cell one: c.SandboxedExecute.notebook_timeout (s), memory_bytes (per process), processes,
# output_bytes (per cell). COURSEGRADER_UNSANDBOXED=yes (`make autograde ... UNSANDBOXED=yes`)
# grades with nbgrader's own Execute instead: students' code then runs as you, in the course root.
#
# Right after execution, StderrIsNotAnError turns stderr output into ordinary output: nbgrader
# would score 0 a test cell in which an answer logged a debug line. And DeduplicateGradeIds
# replaces nbgrader's DeduplicateIds, which stops the whole notebook when a student has
# copy-pasted a cell with its nbgrader metadata (coursegrader/preprocessor.py says why).
#
# After the scores are saved, FlagForReview reads the student's own code in this process (no
# student code runs here) and flags the notebook in the gradebook when it uses what an honest
# answer does not need: cnnlib, PyTorch's internals, the kernels to be written, exec, files...
# (coursegrader/review.py; the flag never changes a score). Per assignment, the kernels are
# c.FlagForReview.forbidden = {"01-convolution": ["conv2d", ...], ...}.
_execute = Execute if os.environ.get("COURSEGRADER_UNSANDBOXED", "") == "yes" else SandboxedExecute
_steps = Autograde.class_traits()["autograde_preprocessors"].default()
assert Execute in _steps and SaveAutoGrades in _steps, "nbgrader's Autograde steps have changed"
_after = {Execute: (_execute, StderrIsNotAnError), SaveAutoGrades: (SaveAutoGrades, FlagForReview)}
c.Autograde.autograde_preprocessors = [s for step in _steps for s in _after.get(step, (step,))]
_sanitize = Autograde.class_traits()["sanitize_preprocessors"].default()
assert DeduplicateIds in _sanitize, "nbgrader's Autograde no longer runs DeduplicateIds"
c.Autograde.sanitize_preprocessors = [DeduplicateGradeIds if step is DeduplicateIds else step for step in _sanitize]

# A student who deletes a test cell gets it back, and it is graded.
c.OverwriteCells.add_missing_cells = True


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """Keep the hidden tests out of the tracebacks shown in feedback.

    ClearHiddenTests removes the hidden tests from a cell's source, but an error raised in a
    test cell keeps IPython's traceback, which quotes the lines around the failing one: the
    hidden test code itself. This replaces each traceback entry that belongs to a test cell with
    hidden tests (the entry names the cell's execution count, or quotes one of its hidden lines)
    by a one-line note. The error's type and message, and the frames in the student's own code,
    stay. Must run before ClearHiddenTests, which it needs the markers of.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or "BEGIN HIDDEN TESTS" not in cell.source:
            return cell, resources
        block = cell.source.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
        hidden = [line.strip() for line in block.splitlines() if len(line.strip()) >= 8]
        own = re.compile(rf"\b(?:Cell|Input) In ?\[{cell.get('execution_count')}\]")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            kept = []
            for entry in output.get("traceback", []):
                text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", entry)
                if own.search(text) or any(line in text for line in hidden):
                    entry = "(in this test cell; its hidden tests are not shown)"
                kept.append(entry)
            output["traceback"] = kept
        return cell, resources


# Feedback HTML must not reveal the hidden tests (nbgrader 0.9's default list is only
# [GetGrades, CSSHTMLHeaderPreprocessor]: hidden tests would be shown).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestTracebacks, ClearHiddenTests,
                                    CSSHTMLHeaderPreprocessor]

# `nbgrader zip_collect <assignment>` reads downloaded/<assignment>/archive/ (files or .zip
# archives from a learning platform) and files them under submitted/. Expected file names:
# <student-id>_<notebook>.ipynb, e.g. alice_convolution.ipynb; adapt the pattern to your platform.
c.FileNameCollectorPlugin.named_regexp = r".*[/\\](?P<student_id>[^_/\\]+)_(?P<file_id>[^/\\]+\.ipynb)$"
