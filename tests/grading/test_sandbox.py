"""The grading sandbox (coursegrader/): what a submission's code can see, touch and use.

Reference: the kernel's own view from inside the sandbox (``os``, ``socket``, ``resource``,
``/proc``), printed by probe cells, and the host's view afterwards (its files, its processes); for
the end-to-end check, the real nbgrader on a temporary course (``harness.Course``) and its
gradebook. A sandboxed notebook takes about 2 s to start, so each probe notebook checks many
things at once. Without a working ``bwrap`` the checks that need one skip, unless
``CNNLIB_REQUIRE_SANDBOX=1`` (as in .ci/run).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from coursegrader import sandbox
from coursegrader.preprocessor import SandboxedExecute
from coursegrader.run_notebook import clip_outputs
from tests.grading.assignments import CONVOLUTION
from tests.grading.harness import ROOT, SOLUTION, Course, grade_id, sandbox_problem, sandbox_required

PROBE = "PROBE "  # a probe cell prints PROBE {json}


@pytest.fixture(scope="module")
def sandboxed() -> None:
    problem = sandbox_problem()
    if problem is not None:
        if sandbox_required():
            pytest.fail(f"CNNLIB_REQUIRE_SANDBOX is set, but {problem}")
        pytest.skip(f"no working bubblewrap sandbox here ({problem}); .ci/run installs one")


def notebook(*sources: str):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run(tmp_path: Path, nb, **limits) -> sandbox.Result:
    path = tmp_path / "submitted" / "alice" / "probe.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return sandbox.run_notebook(path, sandbox.Limits(**limits))


def printed(result: sandbox.Result, index: int) -> str:
    return "".join(o.get("text", "") for o in result.cells[index]["outputs"] if o.get("output_type") == "stream")


def probe(result: sandbox.Result, index: int) -> dict:
    lines = [line for line in printed(result, index).splitlines() if line.startswith(PROBE)]
    assert lines, f"cell {index} printed no probe: {result.cells.get(index)}\n{result.failure}\n{result.log}"
    return json.loads(lines[-1][len(PROBE):])


def processes_with(marker: str) -> list[int]:
    """Host processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


# -- without a sandbox: the output clipping and the marking of cells that did not run ----------

def test_outputs_are_clipped_to_the_byte_limit_and_errors_kept():
    big = {"output_type": "stream", "name": "stdout", "text": "x" * 100_000}
    error = {"output_type": "error", "ename": "ValueError", "evalue": "e" * 50_000, "traceback": ["t" * 50_000]}
    kept = clip_outputs([big, error, {"output_type": "display_data", "data": {"text/plain": "y" * 50_000},
                                      "metadata": {}}], 10_000)
    assert len(json.dumps(kept)) < 2 * 10_000
    assert [o["output_type"] for o in kept] == ["stream", "error", "stream"]  # the error stays: it scores 0
    assert kept[-1]["text"].startswith("\n[output truncated") and kept[-1]["name"] == "stdout"
    small = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    assert clip_outputs(small, 10_000) == small


def test_cells_after_a_stopped_one_are_marked_with_the_reason():
    nb = notebook("a = 1", "", "while True: pass", "print(a)")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("text"))
    reported = {0: {"execution_count": 1, "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"},
                                                     {"output_type": "bogus"}, "not an output"]}}
    SandboxedExecute().merge(nb, reported, "the notebook ran for more than 9 s")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].outputs == [nbformat.v4.new_output("stream", name="stdout", text="1\n")]  # invalid ones dropped
    assert code[1].outputs == []  # an empty cell never runs
    assert code[2].outputs[0].ename == "NotebookStopped" and "more than 9 s" in code[2].outputs[0].evalue
    assert code[3].outputs[0].ename == "NotRun" and "more than 9 s" in code[3].outputs[0].evalue
    nbformat.validate(nb)


# -- a notebook in the sandbox ------------------------------------------------------------------

WRITE_LOOP = '''
found["written"] = {{}}
for path in {writes!r}:
    try:
        with open(path, "a") as f:
            f.write("written by the sandbox\\n")
        found["written"][path] = "written"
    except OSError as exc:
        found["written"][path] = type(exc).__name__
print("{probe}" + json.dumps(found))
'''

WRITES = '''
import json, os
found = {{"uid": os.getuid(), "root": sorted(os.listdir("/"))}}
''' + WRITE_LOOP

ISOLATION = '''
import json, os, socket, sys
secrets = {secrets!r}
found = {{"uid": os.getresuid(), "gid": os.getresgid()}}
# The user as the host sees it: the outer id that the sandbox's uid maps to.
for line in open("/proc/self/uid_map"):
    inner, outer, count = map(int, line.split())
    if inner <= os.getuid() < inner + count:
        found["host_uid"] = outer + os.getuid() - inner
found["read"] = {{}}
for path in secrets:
    try:
        found["read"][path] = open(path, "rb").read(20).decode(errors="replace")
    except OSError as exc:
        found["read"][path] = type(exc).__name__
found["listed"] = {{p: sorted(os.listdir(p)) if os.path.isdir(p) else None for p in {listed!r}}}
found["processes"] = [open(f"/proc/{{pid}}/cmdline", "rb").read().decode(errors="replace")
                      for pid in os.listdir("/proc") if pid.isdigit()]
found["network"] = {{}}
for address in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection(address, timeout=3).close()
        found["network"][str(address)] = "connected"
    except OSError as exc:
        found["network"][str(address)] = type(exc).__name__
''' + WRITE_LOOP

LIMITS = '''
import json, mmap, os, subprocess, sys, time, resource
found = {{}}
# A detached process that would outlive the notebook: it must be gone when the sandbox ends.
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {marker}"], start_new_session=True)
time.sleep(0.5)
found["child_alive_inside"] = child.poll() is None
try:
    hog = bytearray({hog})
    found["hog"] = "allocated"
except MemoryError:
    found["hog"] = "MemoryError"
try:
    shared = mmap.mmap(-1, {hog})
    found["shared_hog"] = "allocated"
except OSError as exc:
    found["shared_hog"] = type(exc).__name__
try:
    open("/tmp/huge", "wb").write(b"0" * {huge_file})
    found["huge_file"] = "written"
except OSError as exc:
    found["huge_file"] = type(exc).__name__
print("{probe}" + json.dumps(found))
'''

FORK_BOMB = '''
import json, os, time
forked = 0
try:
    while forked < 2000:
        if os.fork() == 0:
            time.sleep(60)  # the children stay: the sandbox must end them
            os._exit(0)
        forked += 1
    stopped = "not stopped"
except OSError as exc:
    stopped = type(exc).__name__
print("{probe}" + json.dumps({{"forked": forked, "stopped": stopped}}))
'''


@pytest.fixture(scope="module")
def isolation(sandboxed, tmp_path_factory):
    """One sandboxed probe notebook, graded from a course with secrets next to it."""
    course = tmp_path_factory.mktemp("course")
    secrets = {course / "gradebook.db": "SQLite gradebook", course / "nbgrader_config.py": "c = get_config()",
               course / "solutions" / "01" / "nb.ipynb": "the solution",
               course / "submitted" / "bob" / "01" / "nb.ipynb": "bob's work"}
    for path, text in secrets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    in_repo = [ROOT / "nbgrader_config.py", ROOT / "solutions" / CONVOLUTION.name / CONVOLUTION.notebook, ROOT / "README.md"]
    writes = ["/tmp/ok", "ok-in-work-folder", "/probe", "/usr/probe", "/etc/passwd", f"{sys.prefix}/probe",
              str(ROOT / "cnnlib" / "probe.py"), str(ROOT / "probe"), str(course / "gradebook.db"),
              f"/sandbox/probe.ipynb"]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    source = ISOLATION.format(secrets=[str(p) for p in [*secrets, *in_repo]],
                              listed=["/", str(ROOT), str(course), str(Path.home())],
                              port=listener.getsockname()[1], writes=writes, probe=PROBE)
    before = {p: p.read_bytes() for p in secrets}
    try:
        result = run(course, notebook(source))
        try:
            listener.accept()
            reached = True
        except BlockingIOError:
            reached = False
    finally:
        listener.close()
    after = {p: p.read_bytes() for p in secrets}
    return {"result": result, "found": probe(result, 0), "secrets": [str(p) for p in secrets], "in_repo": in_repo,
            "course": course, "reached": reached, "unchanged": before == after, "writes": writes}


@pytest.mark.slow
def test_the_course_and_the_machine_are_invisible(isolation):
    found, course = isolation["found"], isolation["course"]
    readable = {p: v for p, v in found["read"].items() if v not in ("FileNotFoundError", "PermissionError")}
    assert not readable, f"the sandbox read {readable}"
    assert found["listed"][str(course)] is None, "the course root exists inside the sandbox"
    assert set(found["listed"][str(ROOT)]) <= {".venv", "cnnlib", "coursegrader"}, found["listed"][str(ROOT)]
    home = Path.home()  # only the way to a bound folder (Python lives in ~/.pyenv on some machines)
    towards = {p.relative_to(home).parts[0] for p in map(Path, (sys.prefix, sys.base_prefix, ROOT)) if p.is_relative_to(home)}
    assert set(found["listed"][str(home)] or ()) <= towards, found["listed"][str(home)]
    assert set(found["listed"]["/"]) <= {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev",
                                         "tmp", "home", "sandbox", *Path(sys.base_prefix).parts[1:2],
                                         *Path(sys.prefix).parts[1:2], *ROOT.parts[1:2]}, found["listed"]["/"]


@pytest.mark.slow
def test_no_other_process_is_visible(isolation):
    processes = isolation["found"]["processes"]
    assert processes and len(processes) < 10, processes  # bwrap, the runner, the kernel
    assert not [p for p in processes if "pytest" in p or "nbgrader" in p], processes


@pytest.mark.slow
def test_no_network_not_even_the_hosts_loopback(isolation):
    assert set(isolation["found"]["network"].values()) <= {"ConnectionRefusedError", "OSError", "TimeoutError"}, \
        isolation["found"]["network"]
    assert "connected" not in isolation["found"]["network"].values()
    assert not isolation["reached"], "a connection from the sandbox reached the test's listening socket"


@pytest.mark.slow
def test_the_student_is_not_root_inside_nor_for_the_host(isolation):
    found = isolation["found"]
    assert set(found["uid"]) == {65534} and set(found["gid"]) == {65534}, found
    assert found["host_uid"] != 0, "the sandbox's user is root for the host (a user namespace mapped to root)"


@pytest.mark.slow
def test_only_the_work_folder_and_tmp_are_writable(isolation):
    written = isolation["found"]["written"]
    assert written.pop("/tmp/ok") == "written" and written.pop("ok-in-work-folder") == "written"
    assert set(written.values()) <= {"PermissionError", "OSError", "FileNotFoundError"}, written
    assert isolation["unchanged"], "a file of the course changed"
    for path in isolation["writes"][2:]:
        if Path(path).exists():
            assert b"written by the sandbox" not in Path(path).read_bytes(), path


@pytest.mark.slow
def test_limits_memory_file_size_and_nothing_left_running(sandboxed, tmp_path):
    marker = f"coursegrader-probe-{uuid.uuid4().hex}"
    limits = dict(memory_bytes=2 << 30, file_bytes=16 << 20, output_bytes=64 << 10)
    source = LIMITS.format(marker=marker, hog=3 << 30, huge_file=32 << 20, probe=PROBE)
    result = run(tmp_path, notebook(source, 'print("x" * (50 << 20))', 'print("still alive")'), **limits)
    assert result.failure is None, f"{result.failure}\n{result.log}"
    found = probe(result, 0)
    assert found["child_alive_inside"], "the detached process did not start: the check below would prove nothing"
    assert found["hog"] == "MemoryError" and found["shared_hog"] == "OSError", found
    assert found["huge_file"] == "OSError", found  # RLIMIT_FSIZE (or the size of /tmp)
    assert len(json.dumps(result.cells[1]["outputs"])) < 2 * limits["output_bytes"], "the 50 MiB print was not cut"
    assert "output truncated" in printed(result, 1)
    assert printed(result, 2) == "still alive\n"
    assert not processes_with(marker), "a process started in the sandbox is still running"


@pytest.mark.slow
def test_a_fork_bomb_is_stopped_at_the_process_limit(sandboxed, tmp_path):
    result = run(tmp_path, notebook(FORK_BOMB.format(probe=PROBE), 'print("still alive")'), processes=64)
    found = probe(result, 0)
    assert found["stopped"] == "BlockingIOError" and found["forked"] < 64, found
    assert printed(result, 1) == "still alive\n"


def stopped_in(nb, result: sandbox.Result) -> list[str]:
    """The error names of each code cell once SandboxedExecute has merged ``result`` into ``nb``."""
    SandboxedExecute().merge(nb, result.cells, result.failure)
    return [next((o.ename for o in c.outputs if o.output_type == "error"), "") for c in nb.cells]


@pytest.mark.slow
def test_a_cell_past_its_limit_is_interrupted_and_a_stuck_kernel_stops_the_notebook(sandboxed, tmp_path):
    nb = notebook('print("started")', "import time\ntime.sleep(30)", 'print("after")',
                  "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(600)",
                  'print("never")')
    result = run(tmp_path, nb, cell_timeout_s=3, wall_s=120)
    assert printed(result, 0) == "started\n" and printed(result, 2) == "after\n", result.cells
    assert result.failure and "did not stop when interrupted" in result.failure, result.failure
    errors = stopped_in(nb, result)
    assert errors[1] in ("KeyboardInterrupt", "CellTimeoutError"), errors  # the interrupt, or nbclient's note of it
    assert errors[2:] == ["", "NotebookStopped", "NotRun"], errors


@pytest.mark.slow
def test_a_notebook_past_its_wall_clock_is_killed_and_reported(sandboxed, tmp_path):
    marker = f"coursegrader-probe-{uuid.uuid4().hex}"
    nb = notebook('print("started")',
                  "import signal, subprocess, sys, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                  f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)  # {marker}'])\n"
                  "time.sleep(600)",
                  'print("never")')
    start = time.monotonic()
    result = run(tmp_path, nb, wall_s=10, cell_timeout_s=120)
    assert time.monotonic() - start < 18, "the sandbox was not killed at its wall-clock limit"
    assert result.started and "more than 10 s" in result.failure, result.failure
    assert printed(result, 0) == "started\n"
    assert stopped_in(nb, result) == ["", "NotebookStopped", "NotRun"]
    assert not processes_with(marker), "a process of the killed sandbox is still running"


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="as root the user is dropped without a user namespace; this runs the other way")
def test_the_user_namespace_way_works_too(sandboxed, tmp_path):
    """What an instructor's laptop runs (bwrap --unshare-all --uid 65534), checked here as root."""
    path = tmp_path / "probe.ipynb"
    writes = ["/probe", "/etc/probe", "/sandbox/probe", f"{ROOT}/probe", "/tmp/ok", "ok"]
    nbformat.write(notebook(WRITES.format(writes=writes, probe=PROBE)), path)
    result = sandbox.run_notebook(path, userns=True)
    assert result.failure is None, f"{result.failure}\n{result.log}"
    found = probe(result, 0)
    assert found["uid"] == 65534 and "usr" in found["root"] and str(ROOT).split("/")[1] in found["root"], found
    written = found["written"]
    assert written.pop("/tmp/ok") == "written" and written.pop("ok") == "written"
    assert not (ROOT / "probe").exists(), "a write from inside the sandbox reached the repository"
    if ROOT.is_relative_to("/tmp"):  # a clone under /tmp: inside, /tmp is the sandbox's own in-memory folder
        written.pop(f"{ROOT}/probe")
    assert set(written.values()) <= {"PermissionError", "OSError"}, written


# -- through the real nbgrader -------------------------------------------------------------------

CHEAT = '''
import json, sqlite3
root = {root!r}
tried = {{}}
try:
    db = sqlite3.connect(f"file:{{root}}/gradebook.db?mode=rw", uri=True)
    db.execute("UPDATE grade SET extra_credit = 100")
    db.commit()
    tried["gradebook"] = "written"
except Exception as exc:
    tried["gradebook"] = type(exc).__name__
try:
    source = json.load(open(f"{{root}}/solutions/{assignment}/{notebook}"))
    for cell in source["cells"]:
        if cell["metadata"].get("nbgrader", {{}}).get("solution") and cell["cell_type"] == "code":
            exec("".join(cell["source"]))
    tried["solutions"] = "read"
except Exception as exc:
    tried["solutions"] = type(exc).__name__
for name, path in [("config", f"{{root}}/nbgrader_config.py"),
                   ("classmate", f"{{root}}/submitted/{solution}/{assignment}/{notebook}")]:
    try:
        open(path, "a").write("\\nraise SystemExit('graded by a student')\\n")
        tried[name] = "written"
    except Exception as exc:
        tried[name] = type(exc).__name__
print("{probe}" + json.dumps(tried))
'''


@pytest.fixture(scope="module")
def nbgraded(sandboxed, tmp_path_factory) -> dict:
    """01-convolution graded by the real nbgrader: the solution, a cheat, a notebook whose kernel dies."""
    course = Course(tmp_path_factory.mktemp("nbgrader") / "course", CONVOLUTION)
    course.submit(SOLUTION, course.filled())
    cheat = nbformat.v4.new_code_cell(CHEAT.format(root=str(course.root), assignment=CONVOLUTION.name,
                                                   notebook=CONVOLUTION.notebook, solution=SOLUTION, probe=PROBE))
    nb = course.filled(transform=lambda gid, source: "raise NotImplementedError()")  # no answer of its own
    nb.cells.insert(1, cheat)
    course.submit("cheat", nb)
    crash = course.filled()
    at = next(i for i, c in enumerate(crash.cells) if grade_id(c) == CRASH_BEFORE)
    crash.cells.insert(at, nbformat.v4.new_code_cell("import os\nos._exit(1)  # the kernel dies here"))
    course.submit("crash", crash)
    files = {p: p.read_bytes() for p in [course.root / "nbgrader_config.py",
                                         course.root / "submitted" / SOLUTION / CONVOLUTION.name / CONVOLUTION.notebook]}
    course.autograde()
    return {"course": course, "files": files}


CRASH_BEFORE = "test_conv2d_forward"


@pytest.mark.slow
def test_nbgrader_runs_the_notebooks_in_the_sandbox_and_the_solution_scores_full_marks(nbgraded):
    course = nbgraded["course"]
    assert course.autograde_result.returncode == 0, course.log[-3000:]
    assert course.log.count("in the sandbox in") == 3, "autograde did not run every notebook in the sandbox"
    scores = course.scores(SOLUTION)
    assert all(score == top for score, top in scores.values()), scores


@pytest.mark.slow
def test_a_cheat_reads_and_writes_nothing_of_the_course(nbgraded):
    course = nbgraded["course"]
    printed_ = "".join(o.get("text", "") for c in course.autograded_notebook("cheat").cells
                       if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    tried = json.loads(next(line for line in printed_.splitlines() if line.startswith(PROBE))[len(PROBE):])
    assert set(tried) == {"gradebook", "solutions", "config", "classmate"}, tried
    assert set(tried.values()) <= {"OperationalError", "FileNotFoundError", "PermissionError"}, tried
    scores = course.scores("cheat")
    assert all(score == 0 for score, _ in scores.values()), f"the cheat scored {scores}"
    with course.gradebook() as gb:
        extra = [g.extra_credit for s in gb.find_assignment(CONVOLUTION.name).submissions
                 for n in s.notebooks for g in n.grades if g.extra_credit]
    assert not extra, f"extra credit appeared in the gradebook: {extra}"
    changed = [str(p) for p, data in nbgraded["files"].items() if p.read_bytes() != data]
    assert not changed, f"the cheat changed {changed}"


@pytest.mark.slow
def test_a_notebook_whose_kernel_dies_is_graded_up_to_there_with_the_reason(nbgraded):
    course = nbgraded["course"]
    scores, order = course.scores("crash"), course.test_ids()
    before, after = order[: order.index(CRASH_BEFORE)], order[order.index(CRASH_BEFORE):]
    assert before and all(scores[t][0] == scores[t][1] for t in before), {t: scores[t] for t in before}
    assert all(scores[t][0] == 0 for t in after), {t: scores[t] for t in after}
    errors = [o for c in course.autograded_notebook("crash").cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors[0].ename == "NotebookStopped" and "kernel died" in errors[0].evalue, errors[0]
    assert {e.ename for e in errors[1:]} == {"NotRun"}
    assert any("WARNING" in line and "'crash'" in line for line in course.log.splitlines()), course.log[-2000:]
