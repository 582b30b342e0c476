"""nbgrader configuration of the course. The course root is this repository.

Source notebooks (with solutions and hidden tests) live in ``solutions/<assignment>/``; the
student release generated from them in ``exercises/<assignment>/``. Submissions go to
``submitted/<student>/<assignment>/``; ``nbgrader autograde`` writes ``autograded/``, and
``nbgrader generate_feedback`` writes ``feedback/`` (all three are git-ignored).
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cnn-book"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# What a student sees in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell execution limit while autograding (the default of 30 s is too tight for a laptop
# running the hidden tests of a loop-based convolution).
c.Execute.timeout = 180

# A student who deletes a test cell gets it back, and it is graded.
c.OverwriteCells.add_missing_cells = True

# Feedback HTML must not reveal the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# `nbgrader zip_collect <assignment>` reads downloaded/<assignment>/archive/ (files or .zip
# archives from a learning platform) and files them under submitted/. Expected file names:
# <student-id>_<notebook>.ipynb, e.g. alice_convolution.ipynb; adapt the pattern to your platform.
c.FileNameCollectorPlugin.named_regexp = r".*[/\\](?P<student_id>[^_/\\]+)_(?P<file_id>[^/\\]+\.ipynb)$"
