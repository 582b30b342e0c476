"""Project-wide pytest hooks: notebook time budgets, one execution per notebook, run report.

nbval runs each notebook of book/ and solutions/ as a series of test items (one per cell).

- **Budgets.** These hooks add up the cell times per notebook and print them at the end of the
  run with each notebook's budget: 60 s by default, or the value of the notebook metadata
  ``{"cnnlib": {"budget_s": 120}}`` for notebooks that train a model. The budgets are for the
  reference machine (2 CPU cores), so a notebook over its budget fails the run only where
  ``CNNLIB_ENFORCE_BUDGETS=1`` says the run is on that machine. Elsewhere, CI included (its
  machines have been measured up to twice as slow as the reference), a notebook over its budget
  is reported in the summary and in one warning line, never failed.
- **One execution serves the tests and the book.** When every cell of a book notebook passed,
  the executed notebook (nbval's outputs) is stored in the book's execution cache
  (``_build/.jupyter_cache``, the one ``jupyter-book build`` reads with
  ``execute_notebooks: cache``), so building the book after ``make test`` re-executes nothing.
- **Progress lines, not widgets.** Kernels started by the tests print plain progress lines
  (``CNNLIB_PROGRESS=plain``, :mod:`cnnlib.progress`), as the book's pages do.
- **Worker processes are spawned.** Kernels started by the tests start ``DataLoader`` workers
  with the *spawn* method, the default on macOS and Windows (an IPython start-up file in a
  private ``IPYTHONDIR``), so a notebook that only works with Linux's *fork* fails here.
- **Browser tests last.** Tests marked ``browser`` run after everything else, on the book that the
  notebook runs have just cached.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

DEFAULT_BUDGET_S = 60.0
ROOT = Path(__file__).resolve().parent
CACHE = ROOT / "_build" / ".jupyter_cache"
_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()
_notebook_items: dict[str, list] = defaultdict(list)
_START = time.time()


def budgets_enforced() -> bool:
    """Budgets fail the run on the reference machine only (CNNLIB_ENFORCE_BUDGETS=1)."""
    return os.environ.get("CNNLIB_ENFORCE_BUDGETS", "").strip().lower() not in ("", "0", "false", "no")


def notebook_budget(path: Path) -> float:
    """The time budget of one notebook in seconds, from its metadata (default 60 s)."""
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return float(meta.get("cnnlib", {}).get("budget_s", DEFAULT_BUDGET_S))


SPAWN_STARTUP = """\
# Written by the test harness (conftest.py): start worker processes as macOS and Windows do.
import multiprocessing
multiprocessing.set_start_method("spawn", force=True)
"""


def pytest_configure(config: pytest.Config) -> None:
    # Both are inherited by the kernels nbval starts.
    os.environ["CNNLIB_PROGRESS"] = "plain"
    ipython_dir = Path(tempfile.mkdtemp(prefix="cnnlib-ipython-"))
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-spawn.py").write_text(SPAWN_STARTUP)
    os.environ["IPYTHONDIR"] = str(ipython_dir)
    config.add_cleanup(lambda: shutil.rmtree(ipython_dir, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu`` tests without CUDA; run ``browser`` tests last; remember each notebook's cells."""
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
    items.sort(key=lambda item: "browser" in item.keywords)  # stable: everything else keeps its order
    for item in items:
        path = item.nodeid.split("::")[0]
        if path.endswith(".ipynb"):
            _notebook_items[path].append(item)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration
        if report.failed:
            _notebook_failed.add(path)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    path = item.nodeid.split("::")[0]
    cells = _notebook_items.get(path)
    if not cells or item is not cells[-1] or path in _notebook_failed:
        return
    if not path.startswith("book/"):
        return
    try:
        cache_executed_notebook(Path(item.config.rootpath) / path, cells, _notebook_seconds[path])
    except Exception as error:  # the cache only saves time: never fail a test over it
        print(f"\n(could not cache the executed {path} for the book: {error!r})")


def cache_executed_notebook(path: Path, cells: list, seconds: float) -> None:
    """Store a notebook executed by nbval in the book's execution cache (jupyter-cache).

    ``cells`` are nbval's items of the notebook, in order; each holds the notebook cell it ran
    (``item.cell``) and the outputs it received (``item.test_outputs``). The cache matches a
    notebook by the hash of its code and kernel, exactly as ``jupyter-book build`` will.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    import nbformat

    ran = {id(item.cell): item for item in cells if getattr(item, "cell", None) is not None}
    nb = cells[0].parent.nb
    executed = copy.deepcopy(nb)
    count = 0
    for original, cell in zip(nb.cells, executed.cells):
        if cell.cell_type != "code":
            continue
        item = ran.get(id(original))
        if item is None or item.test_outputs is None:
            raise ValueError(f"cell {original.get('id', '?')} was not run")
        count += 1
        cell.execution_count = count
        outputs = []
        for out in item.test_outputs:
            out = copy.deepcopy(out)
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
            if out.get("output_type") in ("display_data", "execute_result"):
                out.setdefault("metadata", {})
            outputs.append(out)
        cell.outputs = outputs
    executed.metadata.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3",
                                                   "codemirror_mode": {"name": "ipython", "version": 3}})
    executed.metadata.pop("widgets", None)
    nbformat.validate(executed)
    cache = get_cache(str(CACHE))
    cache.cache_notebook_bundle(CacheBundleIn(executed, str(path), data={"execution_seconds": seconds}),
                                check_validity=False, overwrite=True)


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
    enforced = "enforced" if budgets_enforced() else "reported, not enforced (CNNLIB_ENFORCE_BUDGETS=1 enforces)"
    terminalreporter.section(f"notebook execution times (budget: 60 s, or metadata cnnlib.budget_s; {enforced})")
    total = 0.0
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        budget = notebook_budget(rootdir / path)
        flag = "  OVER BUDGET" if seconds > budget else ""
        terminalreporter.write_line(f"{seconds:7.1f} s / {budget:5.0f} s  {path}{flag}")
        total += seconds
    terminalreporter.write_line(f"{total:7.1f} s in {len(_notebook_seconds)} notebooks "
                                f"(wall clock of the whole run: {time.time() - _START:.0f} s)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    over = _over_budget(Path(session.config.rootpath))
    for path, seconds, budget in over:
        print(f"\nnotebook over its time budget: {path} took {seconds:.1f} s > {budget:.0f} s")
    if over and budgets_enforced() and session.exitstatus == 0:
        session.exitstatus = 1
