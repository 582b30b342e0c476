"""Grade a whole class at once: ``python -m coursegrader.grade ASSIGNMENT [--jobs N]``.

``nbgrader autograde`` grades one submission after the other. Here the slow part, running each
notebook in its sandbox, is spread over every core (or over a ``dask.distributed`` cluster for
classes larger than one machine), and nbgrader itself still writes every score:

1. **In parallel**, one task per student: the student's submission is graded by nbgrader in a
   scratch copy of the course (``nbgrader_config.py``, the source folder and a copy of the
   gradebook, nothing else), with ``SandboxedExecute.cache_dir`` set. Its sandbox result (the
   outputs of the cells, or why the notebook stopped) is kept in the cache, under a key made of
   the student, the notebook as nbgrader sanitised it (the instructor's test cells put back) and
   the limits. The scratch course and its gradebook are thrown away. As root each task's sandbox
   runs as its own user (``--first-uid`` onwards), so the per-user process limit of one student
   does not count another's processes.
2. **Serially**, the ordinary ``nbgrader autograde`` of the course, with the same cache: it
   sanitises each submission again, finds its result, and records the scores in ``gradebook.db``
   as it always does. A submission whose task failed (a machine problem) is simply run there.

A task is a plain function of paths and strings (:func:`grade_in_scratch`), so any executor runs
it: a local process pool by default, or a dask ``Client`` (``--scheduler tcp://host:8786``, with
the course folder on a file system every worker sees and this project installed on each).
A per-student problem (a notebook that stops, a file that is not a notebook) is that student's
result and never stops the others. The summary table lists every student with their score,
time and the reason of any problem.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

FIRST_UID = 60000  # as root, student k of a run is sandboxed as uid FIRST_UID + k


@dataclasses.dataclass(frozen=True)
class Task:
    """What one worker needs to run the sandbox of one submission (plain data: it travels to workers)."""

    course: str  # the course root (read: config, source, gradebook snapshot, the submission)
    gradebook: str  # a snapshot of gradebook.db taken before the run
    assignment: str
    student: str
    cache: str  # the folder where SandboxedExecute keeps results
    uid: int
    nbgrader_args: tuple[str, ...] = ()  # e.g. ("--SandboxedExecute.notebook_timeout=600",)


@dataclasses.dataclass(frozen=True)
class TaskResult:
    student: str
    seconds: float
    returncode: int
    log: str  # the end of nbgrader's log in the scratch course


def grade_in_scratch(task: Task) -> TaskResult:
    """Phase 1 for one student: nbgrader autograde in a scratch course, to fill the result cache."""
    start = time.monotonic()
    course = Path(task.course)
    with tempfile.TemporaryDirectory(prefix=f"coursegrader-{task.student}-") as tmp:
        scratch = Path(tmp)
        shutil.copy(course / "nbgrader_config.py", scratch / "nbgrader_config.py")
        shutil.copy(task.gradebook, scratch / "gradebook.db")
        source = course / "solutions" / task.assignment
        shutil.copytree(source, scratch / "solutions" / task.assignment)
        shutil.copytree(course / "submitted" / task.student / task.assignment,
                        scratch / "submitted" / task.student / task.assignment)
        args = [sys.executable, "-m", "nbgrader", "autograde", task.assignment, "--student", task.student,
                "--create", "--force", f"--SandboxedExecute.cache_dir={task.cache}",
                f"--SandboxedExecute.uid={task.uid}", *task.nbgrader_args]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        run = subprocess.run(args, cwd=scratch, env=env, capture_output=True, text=True, timeout=3600)
    return TaskResult(task.student, time.monotonic() - start, run.returncode, (run.stdout + run.stderr)[-3000:])


def submitted_students(course: Path, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())


def run_tasks(tasks: list[Task], jobs: int, scheduler: str | None = None,
              progress: Callable[[Iterable], Iterable] | None = None) -> list[TaskResult]:
    """Run phase 1: on ``jobs`` local processes, or on the dask cluster at ``scheduler``.

    ``scheduler="local"`` starts a dask ``LocalCluster`` of ``jobs`` single-threaded workers.
    """
    progress = progress or (lambda it: it)
    if scheduler is None:
        # Each task waits on its nbgrader process: threads are enough to keep `jobs` of them running.
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(grade_in_scratch, t) for t in tasks]
            return [f.result() for f in progress(concurrent.futures.as_completed(futures))]
    from dask.distributed import Client, LocalCluster, as_completed  # only when asked for

    if scheduler == "local":
        with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            futures = client.map(grade_in_scratch, tasks, pure=False)
            return [f.result() for f in progress(as_completed(futures))]
    with Client(scheduler) as client:
        futures = client.map(grade_in_scratch, tasks, pure=False)
        return [f.result() for f in progress(as_completed(futures))]


def summary(course: Path, assignment: str, students: list[str], phase1: dict[str, TaskResult]) -> list[dict]:
    """One row per student: the score nbgrader recorded, the time of its sandbox run, and problems."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    rows = []
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=_course_id(course)) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's lazy loading of the scores, harmless
        for student in students:
            row = {"student": student, "score": None, "max_score": None, "seconds": None, "problem": ""}
            task = phase1.get(student)
            if task is not None:
                row["seconds"] = round(task.seconds, 1)
            try:
                sub = gb.find_submission(assignment, student)
                row["score"], row["max_score"] = float(sub.score), float(sub.max_score)
                problems = ["needs manual grading"] if sub.needs_manual_grade else []
                if any(nb.flagged for nb in sub.notebooks):
                    problems.append("flagged for review (see the WARNING lines)")
                row["problem"] = "; ".join(problems)
            except MissingEntry:
                row["problem"] = "not graded"
            if task is not None and task.returncode != 0:
                reason = [line for line in task.log.splitlines() if "WARNING" in line and "score 0" in line
                          or "ERROR" in line]
                row["problem"] = "; ".join(filter(None, [row["problem"], (reason or ["nbgrader failed"])[0].strip()[:160]]))
            elif task is not None:
                stopped = [line for line in task.log.splitlines() if "the cells from there on score 0" in line]
                if stopped:
                    row["problem"] = "; ".join(filter(None, [row["problem"], stopped[0].split("WARNING]")[-1].strip()[:160]]))
            rows.append(row)
    return rows


def _course_id(course: Path) -> str:
    text = (course / "nbgrader_config.py").read_text()
    marker = 'c.CourseDirectory.course_id = "'
    return text.split(marker, 1)[1].split('"', 1)[0] if marker in text else ""


def format_table(rows: list[dict]) -> str:
    lines = [f"{'student':<24} {'score':>13} {'sandbox s':>9}  problem"]
    for r in rows:
        score = "-" if r["score"] is None else f"{r['score']:g} / {r['max_score']:g}"
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lines.append(f"{r['student']:<24} {score:>13} {seconds:>9}  {r['problem']}")
    return "\n".join(lines)


def grade(course: Path, assignment: str, jobs: int, students: list[str] | None = None, force: bool = False,
          scheduler: str | None = None, first_uid: int = FIRST_UID, nbgrader_args: tuple[str, ...] = (),
          progress: Callable[[Iterable], Iterable] | None = None) -> tuple[int, str, list[dict]]:
    """Both phases for ``assignment`` of the course at ``course``.

    Returns nbgrader's exit status and log (of phase 2, also written to stdout) and the summary rows.
    """
    course = course.resolve()
    everyone = submitted_students(course, assignment)
    chosen = [s for s in everyone if students is None or s in students]
    if not force:  # nbgrader skips those already graded unless --force: so does phase 1
        chosen = [s for s in chosen if not (course / "autograded" / s / assignment).exists()]
    if not (course / "gradebook.db").is_file():
        raise FileNotFoundError(f"{course / 'gradebook.db'} is missing: run `nbgrader generate_assignment "
                                f"{assignment}` first (make autograde does)")
    with tempfile.TemporaryDirectory(prefix="coursegrader-run-") as tmp:
        snapshot, cache = Path(tmp) / "gradebook.db", Path(tmp) / "cache"
        shutil.copy(course / "gradebook.db", snapshot)
        cache.mkdir()
        uid = (lambda k: first_uid + k) if os.geteuid() == 0 else (lambda k: 65534)
        tasks = [Task(str(course), str(snapshot), assignment, s, str(cache), uid(k), nbgrader_args)
                 for k, s in enumerate(chosen)]
        phase1 = {r.student: r for r in run_tasks(tasks, jobs, scheduler, progress)} if tasks else {}
        args = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--create",
                f"--SandboxedExecute.cache_dir={cache}", *nbgrader_args, *(["--force"] if force else [])]
        # nbgrader's --student takes one student (or one glob pattern): one run for each chosen student.
        runs = [args] if students is None else [[*args, "--student", s] for s in students]
        returncode, log = 0, []
        for a in runs:  # nbgrader's log goes on to the caller as it comes, and is kept
            with subprocess.Popen(a, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
                for line in run.stdout:
                    sys.stdout.write(line)
                    log.append(line)
            returncode = max(returncode, run.returncode)
    return returncode, "".join(log), summary(course, assignment, [s for s in everyone if students is None or s in students], phase1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Other options (--SandboxedExecute.notebook_timeout=600, ...) go to nbgrader.")
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run at once (default: all cores)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--force", action="store_true", help="grade again those already graded")
    parser.add_argument("--scheduler", help="'local' for a dask LocalCluster, or the address of a dask scheduler")
    parser.add_argument("--first-uid", type=int, default=FIRST_UID, help="as root: the uid of the first sandbox")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="the course root (default: here)")
    args, extra = parser.parse_known_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    unknown = [a for a in extra if not a.startswith("--") or "=" not in a]
    if unknown:
        parser.error(f"unrecognised arguments {unknown} (nbgrader options are passed as --Class.trait=value)")
    from tqdm.auto import tqdm

    interactive = sys.stderr.isatty()
    count = len(submitted_students(args.course, args.assignment))
    progress = (lambda it: tqdm(it, total=count, desc=f"{args.assignment}: sandboxes", unit="notebook")) \
        if interactive else None
    start = time.monotonic()
    code, _, rows = grade(args.course, args.assignment, args.jobs, args.student, args.force, args.scheduler,
                       args.first_uid, tuple(extra), progress)
    print(format_table(rows))
    print(f"{len(rows)} submissions of {args.assignment}, {args.jobs} at once, in {time.monotonic() - start:.0f} s; "
          f"{sum(1 for r in rows if r['problem'])} with a problem (listed above).")
    return code


if __name__ == "__main__":
    sys.exit(main())
