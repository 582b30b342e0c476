"""Grading the course's notebooks without trusting them (issue 13).

:mod:`coursegrader.sandbox` runs one notebook in a bubblewrap sandbox, through the runner
:mod:`coursegrader.run_notebook`; :mod:`coursegrader.preprocessor` plugs it into
``nbgrader autograde`` in place of nbgrader's ``Execute`` (``nbgrader_config.py``);
:mod:`coursegrader.grade` grades a class with many sandboxes at once. The instructor guide
(book/appendices/instructor-guide.md, "Sandbox") says what it guarantees.
"""
