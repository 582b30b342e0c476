"""Project-wide pytest hooks: the notebook time budget.

nbval runs each notebook of book/ and solutions/ as a series of test items (one per cell).
These hooks add up the cell times per notebook, print them at the end of the run, and fail the
run when a notebook exceeds its budget: 60 s by default, or the value of the notebook metadata
``{"cnnlib": {"budget_s": 120}}`` for notebooks that train a model (the developers' guide allows
120 s there). The budgets are for 2 CPU cores, the size of the CI machine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

DEFAULT_BUDGET_S = 60.0
_notebook_seconds: dict[str, float] = defaultdict(float)


def notebook_budget(path: Path) -> float:
    """The time budget of one notebook in seconds, from its metadata (default 60 s)."""
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return float(meta.get("cnnlib", {}).get("budget_s", DEFAULT_BUDGET_S))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def _over_budget(rootdir: Path) -> list[tuple[str, float, float]]:
    over = []
    for path, seconds in _notebook_seconds.items():
        budget = notebook_budget(rootdir / path)
        if seconds > budget:
            over.append((path, seconds, budget))
    return over


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _notebook_seconds:
        return
    rootdir = Path(config.rootpath)
    terminalreporter.section("notebook execution times (budget: 60 s, or metadata cnnlib.budget_s)")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        budget = notebook_budget(rootdir / path)
        flag = "  OVER BUDGET" if seconds > budget else ""
        terminalreporter.write_line(f"{seconds:7.1f} s / {budget:5.0f} s  {path}{flag}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    over = _over_budget(Path(session.config.rootpath))
    if over and session.exitstatus == 0:
        for path, seconds, budget in over:
            print(f"\nnotebook over its time budget: {path} took {seconds:.1f} s > {budget:.0f} s")
        session.exitstatus = 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` when no CUDA device is visible."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
