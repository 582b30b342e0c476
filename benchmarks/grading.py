"""How much faster is a class graded in parallel? nbgrader's serial autograde against coursegrader.grade.

Builds a throw-away course of one assignment with ``--n`` submissions (the solution, the untouched
release and the registry's mutants, in turn), grades one copy with ``nbgrader autograde`` (one
sandboxed notebook after the other) and another with ``coursegrader.grade --jobs J``, checks that
both gradebooks hold the same scores, and reports both wall times and their ratio.

Writes benchmarks/results/grading-<cpu count>cpu.md and .json. Usage, from the repository root:

    .venv/bin/python benchmarks/grading.py --n 300            # the issue's class size, 01-convolution
    .venv/bin/python benchmarks/grading.py --quick            # 4 submissions, writes nothing
    .venv/bin/python benchmarks/grading.py --assignment 04-segmentation --n 60 --jobs 2

Run it on an otherwise idle machine: each sandbox is one process, and the parallel run is only as
fast as the cores that are free.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursegrader import grade as parallel  # noqa: E402
from tests.grading.assignments import ASSIGNMENTS  # noqa: E402
from tests.grading.harness import Course  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def build(root: Path, name: str, n: int) -> Course:
    a = next(x for x in ASSIGNMENTS if x.name == name)
    course = Course(root, a)
    kinds = [course.filled(), course.release, *(course.filled(m) for m in a.mutants)]
    for k in range(n):
        course.submit(f"s{k:04d}", kinds[k % len(kinds)])
    return course


def totals(root: Path, assignment: str) -> dict[str, float]:
    """Each student's total in the gradebook of the course at ``root``."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="cnn-book") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(assignment).submissions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="01-convolution")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--quick", action="store_true", help="4 submissions; print, write nothing")
    args = parser.parse_args()
    n = 4 if args.quick else args.n
    os.environ["OMP_NUM_THREADS"] = "1"  # one core per notebook, in both runs (inherited by every process)
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        base = build(Path(tmp) / "base", args.assignment, n)
        serial_root, parallel_root = Path(tmp) / "serial", Path(tmp) / "parallel"
        shutil.copytree(base.root, serial_root)
        shutil.copytree(base.root, parallel_root)

        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", args.assignment, "--create"], cwd=serial_root,
                       env={**base.env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
        serial_s = time.monotonic() - start

        start = time.monotonic()
        with open(Path(tmp) / "parallel.log", "w") as log:
            saved = sys.stdout
            sys.stdout = log  # nbgrader's log of phase 2
            try:
                parallel.grade(parallel_root, args.assignment, jobs=args.jobs)
            finally:
                sys.stdout = saved
        parallel_s = time.monotonic() - start

        serial_scores, parallel_scores = totals(serial_root, args.assignment), totals(parallel_root, args.assignment)
        if serial_scores != parallel_scores:
            raise SystemExit(f"the two runs disagree: {serial_scores} != {parallel_scores}")

    record = {"assignment": args.assignment, "submissions": n, "jobs": args.jobs, "cpus": os.cpu_count(),
              "serial_s": round(serial_s, 1), "parallel_s": round(parallel_s, 1),
              "speedup": round(serial_s / parallel_s, 2), "serial_s_per_notebook": round(serial_s / n, 2),
              "machine": f"{platform.machine()}, {platform.processor() or platform.platform()}",
              "date": datetime.date.today().isoformat()}
    table = (f"Grading {n} submissions of {args.assignment} on {os.cpu_count()} CPUs ({record['machine']}, "
             f"{record['date']}):\n\n| run | wall time | per notebook |\n| --- | --- | --- |\n"
             f"| nbgrader autograde (serial, sandboxed) | {serial_s:.0f} s | {serial_s / n:.1f} s |\n"
             f"| coursegrader.grade --jobs {args.jobs} | {parallel_s:.0f} s | {parallel_s / n:.1f} s |\n\n"
             f"Speed-up: {serial_s / parallel_s:.2f}x; both gradebooks hold the same scores.\n")
    print(table)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / f"grading-{os.cpu_count()}cpu"
        stem.with_suffix(".md").write_text(table)
        stem.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
