"""The graded courses, shared by all grading checks of the session.

Building one (generate_assignment plus ONE autograde run over every submission of the
assignment) takes about a minute, so each assignment is built once, on first use, and every
check of that assignment reads the same gradebook.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.grading.assignments import Assignment
from tests.grading.harness import Course, grade_all


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> Callable[[Assignment], Course]:
    """``graded(assignment)``: its course with every standard submission autograded."""
    built: dict[str, Course | Exception] = {}

    def get(a: Assignment) -> Course:
        if a.name not in built:
            try:
                built[a.name] = grade_all(tmp_path_factory.mktemp(a.name), a)
            except Exception as exc:  # build once; report the same failure to every check
                built[a.name] = exc
        result = built[a.name]
        if isinstance(result, Exception):
            raise RuntimeError(f"could not build the graded course of {a.name}") from result
        return result

    return get
