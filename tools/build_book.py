"""Build the executed book (``make book``) and say in one line per notebook what failed.

Runs ``jupyter-book build . --keep-going``. Notebooks are executed through the execution cache
(``_build/.jupyter_cache``): only notebooks whose code changed since their last successful run
are executed again, and ``make test`` fills the same cache, so a build after the tests executes
nothing. A notebook that fails does not stop the build: every other page is written, and the
failing page shows the outputs up to the failing cell. At the end, each failure is summarised as

    book/02-architectures/12-looking-inside.ipynb, cell 29: AssertionError: canvas accuracy 0.41
    (full traceback: _build/html/reports/book/02-architectures/12-looking-inside.err.log)

and the command exits with status 1, so that ``make book`` fails loudly but usefully.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
FAILED = re.compile(r"^(?P<path>\S+\.(?:ipynb|md)): WARNING: Executing notebook failed")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failing_cell(path: Path, report: str) -> tuple[int | None, str]:
    """The index of the failing cell of ``path`` and the error's last line, from a report."""
    report = ANSI.sub("", report)
    cell = None
    match = re.search(r"executing the following cell:\n-+\n(.*?)\n-+\n", report, re.S)
    if match:
        source = match.group(1).strip()
        nb = nbformat.read(path, as_version=4)
        for index, c in enumerate(nb.cells):
            if c.cell_type == "code" and c.source.strip() == source:
                cell = index
                break
    errors = [line for line in report.strip().splitlines()
              if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*", line)]
    return cell, (errors[-1].strip() if errors else "see the report")


def summarise(log: str, root: Path = ROOT) -> list[str]:
    """One line per notebook whose execution failed in the build whose output is ``log``."""
    lines = []
    for raw in ANSI.sub("", log).splitlines():
        match = FAILED.match(raw.strip())
        if not match:
            continue
        path = Path(match.group("path"))
        rel = path.relative_to(root) if path.is_absolute() else path
        report_path = root / "_build" / "html" / "reports" / rel.with_suffix(".err.log")
        report = report_path.read_text(errors="replace") if report_path.exists() else ""
        cell, error = failing_cell(root / rel, report) if report else (None, "no report written")
        where = f"cell {cell}" if cell is not None else "a cell"
        lines.append(f"{rel}, {where}: {error}\n    (full traceback: {report_path.relative_to(root)})")
    return lines


def main() -> int:
    # Extra arguments go to jupyter-book, e.g. --all to re-read every page: the notebook tests
    # refresh the execution cache without changing a notebook, which Sphinx alone would not notice.
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--keep-going", *sys.argv[1:]]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1)
    log = []
    for line in process.stdout:
        sys.stdout.write(line)
        log.append(line)
    status = process.wait()
    failures = summarise("".join(log))
    if failures:
        print(f"\nThe book was built, but {len(failures)} notebook(s) failed to execute:", file=sys.stderr)
        for line in failures:
            print(line, file=sys.stderr)
        return 1
    if status != 0:
        print(f"\njupyter-book build failed (exit status {status}); see the messages above.", file=sys.stderr)
        return status
    print(f"\nOpen {ROOT / '_build' / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
