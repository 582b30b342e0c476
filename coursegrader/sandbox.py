"""Run one notebook in a bubblewrap sandbox: what the student's code can see, touch and use.

Threat model (issue 13): a submission is code written by someone who wants marks they did not
earn, or to hurt others. Run as the instructor in the course root, it could read the solutions
and the hidden tests, rewrite the gradebook or a classmate's submission, reach the network, and
leave a process behind. Here each notebook runs in a fresh `bubblewrap
<https://github.com/containers/bubblewrap>`_ sandbox:

* its own mount, PID, network, IPC and UTS namespaces: no network at all, no other process
  visible, and when the sandbox ends (or is killed) every process in it ends;
* a root file system made of read-only binds of what Python needs (``/usr``, ``/lib*``, a few
  files of ``/etc``, this environment's ``sys.prefix`` and ``sys.base_prefix``, the source
  folders of ``cnnlib`` and ``coursegrader``) and size-limited tmpfs folders: ``/tmp``,
  ``/dev/shm`` and the work folder ``/home/student``, which holds a copy of the one notebook;
  nothing else of the machine (no course root, gradebook, solutions or other students);
* a non-root user (uid 65534, ``nobody``) with no capabilities and ``no_new_privs``;
* limits: per-cell and whole-notebook wall clock, address space per process, processes,
  file size, output bytes per cell (:class:`Limits`).

One file of the host is writable from inside: the results file the runner
(:mod:`coursegrader.run_notebook`) appends each executed cell to, capped by the file-size limit.

Two ways of dropping to the sandbox user. Run by root (CI, a grading server), ``bwrap`` uses its
privileges to set up the namespaces without a user namespace, and ``setpriv`` starts the runner
as uid 65534, which is then 65534 for the kernel too, so the process limit holds (the kernel does
not apply RLIMIT_NPROC to root, and a user namespace would map 65534 back to root). Run by
anyone else (an instructor's laptop), ``bwrap --unshare-all --uid 65534`` maps the instructor to
65534 in a user namespace.

``python -m coursegrader.sandbox`` checks that the sandbox works on this machine.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
                "`sudo dnf install bubblewrap`), or grade WITHOUT a sandbox, running every student's code "
                "as you, with your files: `make autograde A=<assignment> UNSANDBOXED=yes`.")
WORK = "/home/student"  # the work folder inside: the kernel's current folder and HOME
SANDBOX = "/sandbox"  # holds the notebook the runner reads (read only) and RESULTS
RESULTS = "/sandbox/results.jsonl"  # the only file of the host the sandbox can write
ETC_FILES = ("passwd", "group", "nsswitch.conf", "hosts", "localtime", "ld.so.cache", "ld.so.conf")
PASSED_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NBGRADER_EXECUTION", "LANG")
LIBRARIES = ("cnnlib", "coursegrader")  # imported by the notebooks (and the runner) from source


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one notebook may use. Memory is per process (RLIMIT_AS), not for the whole sandbox."""

    wall_s: float = 900.0  # the whole notebook, kernel start included; enforced from outside
    cell_timeout_s: int = 180  # one cell; the kernel is interrupted and the next cell runs
    memory_bytes: int = 8 << 30  # address space of each process (torch alone maps about 1.5 GiB)
    processes: int = 512  # processes and threads (torch starts one thread per core)
    file_bytes: int = 64 << 20  # largest file written; also caps the results file
    output_bytes: int = 1 << 20  # outputs of one cell, as JSON
    tmpfs_bytes: int = 256 << 20  # each of /tmp, /dev/shm and the work folder (they are memory)
    uid: int = 65534  # the user inside the sandbox (nobody)


@dataclasses.dataclass
class Result:
    """What came back from the sandbox: the outputs of each code cell that ran, and why it stopped.

    ``failure`` is None when the notebook ran to its end; otherwise it says why it did not (the
    wall clock, a kernel that died, ...). ``started`` is False when the sandbox or the kernel could
    not start (a problem of the machine, not of the submission): no student code ran.
    """

    cells: dict[int, dict]  # cell index -> {"execution_count": int | None, "outputs": [...]}
    language_info: dict | None
    failure: str | None
    started: bool
    seconds: float
    startup_seconds: float | None  # from starting bwrap to the kernel's first answer
    log: str  # the end of the sandbox's stdout and stderr


def bwrap() -> str | None:
    return shutil.which("bwrap")


def _library_folders() -> list[Path]:
    folders = []
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(Path(os.path.abspath(p)) for p in spec.submodule_search_locations)
    return folders


def _environment_binds() -> list[Path]:
    """Host folders bound read-only at the same path: Python, this environment, the libraries.

    The paths as Python names them, not resolved: the kernel spec and the editable install of
    ``cnnlib`` name them so (bwrap follows the links of the source).
    """
    roots = [Path("/usr")]
    for path in (Path(os.path.abspath(sys.base_prefix)), Path(os.path.abspath(sys.prefix)), *_library_folders()):
        if not any(path == r or r in path.parents for r in roots):
            roots.append(path)
    return roots


def _parents(paths: list[Path]) -> list[Path]:
    """Every folder above ``paths``, outermost first (to be created readable by the sandbox's user)."""
    out: list[Path] = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/") and parent not in out and not any(parent == p or p in parent.parents for p in paths):
                out.append(parent)
    return out


def command(program: list[str], limits: Limits, read_only: dict[str, Path] | None = None,
            writable: dict[str, Path] | None = None, userns: bool | None = None, info_fd: int | None = None) -> list[str]:
    """The bwrap command line that runs ``program`` (argv) in the sandbox, as the sandbox user.

    ``read_only`` and ``writable`` map paths inside ``/sandbox`` to the host files bound there.
    ``userns`` (default: unless run by root) chooses how the user is dropped (module docstring).
    bwrap writes the host pid of the sandbox's first process (its PID 1) to ``info_fd``.
    """
    userns = os.geteuid() != 0 if userns is None else userns
    tool = bwrap()
    if tool is None:
        raise SandboxUnavailable(f"the grading sandbox needs bwrap, which is not installed. {INSTALL_HINT}")
    if userns:
        cmd = [tool, "--unshare-all", "--unshare-user", "--uid", str(limits.uid), "--gid", str(limits.uid)]
        if _supports("--disable-userns"):
            cmd.append("--disable-userns")
    else:
        cmd = [tool, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    tmpfs = ["--perms", "1777", "--size", str(limits.tmpfs_bytes), "--tmpfs"]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    cmd += ["--die-with-parent", "--new-session", "--clearenv", *tmpfs, "/tmp"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    folder = ["--perms", "0755", "--dir"]  # created by hand: bwrap run by root makes folders it creates 0700
    cmd += [*folder, "/etc"]
    for name in ETC_FILES:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev", *tmpfs, "/dev/shm"]
    binds = _environment_binds()
    for parent in _parents(binds):
        cmd += [*folder, str(parent)]
    for path in binds:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += [*folder, str(Path(WORK).parent), *tmpfs, WORK, *folder, SANDBOX]
    for flag, files in (("--ro-bind", read_only or {}), ("--bind", writable or {})):
        for inside, host in files.items():
            cmd += [flag, str(host), inside]
    cmd += ["--remount-ro", "/"]  # bwrap's root folder; in a user namespace it belongs to the sandbox's user
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": WORK, "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
           "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime", "MPLCONFIGDIR": "/tmp/matplotlib",
           "MALLOC_ARENA_MAX": "2"}  # glibc reserves 64 MiB of address space per arena, up to 8 per core
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", WORK]
    if not userns:
        cmd += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={limits.uid}", f"--regid={limits.uid}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return cmd + program


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (bwrap missing or not working)."""


def _supports(option: str) -> bool:
    if option not in _SUPPORTED:
        help_text = subprocess.run([bwrap() or "bwrap", "--help"], capture_output=True, text=True).stdout
        _SUPPORTED[option] = option in help_text
    return _SUPPORTED[option]


_SUPPORTED: dict[str, bool] = {}


def _first_pid(info: int, timeout: float) -> int | None:
    """The host pid of the sandbox's PID 1, from bwrap's ``--info-fd`` (None if it never says)."""
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and select.select([info], [], [], deadline - time.monotonic())[0]:
        chunk = os.read(info, 4096)
        if not chunk:
            return None
        data += chunk
        try:
            pid = json.loads(data).get("child-pid")
            return pid if isinstance(pid, int) else None
        except ValueError:
            continue
    return None


def _kill(process: subprocess.Popen, first: int | None) -> None:
    """End the sandbox and wait until nothing of it runs.

    Killing its PID 1 makes the kernel kill every process of the PID namespace, and bwrap, which
    waits for that PID 1, exits only once they are all gone. Killing bwrap first would return
    while they still die.
    """
    if first is not None:
        try:
            os.kill(first, signal.SIGKILL)
            process.wait(timeout=30)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    os.killpg(process.pid, signal.SIGKILL)  # not reaped yet, so this process group is still bwrap's
    process.wait()


def _read_events(path: Path, limit: int) -> list[dict]:
    """The events of the results file (at most ``limit`` bytes of it); a cut last line is ignored."""
    with path.open("rb") as f:
        data = f.read(limit)
    events = []
    for line in data.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _tail(path: Path, size: int = 4000) -> str:
    with path.open("rb") as f:
        f.seek(max(path.stat().st_size - size, 0))
        return f.read().decode(errors="replace")


def run_notebook(notebook: Path, limits: Limits = Limits(), userns: bool | None = None) -> Result:
    """Execute ``notebook`` (a file, which is copied) in a fresh sandbox and collect its cells.

    Never raises because of what the notebook does: a notebook that runs past ``limits.wall_s``
    is killed with every process of its sandbox, and :class:`Result` says so. Raises
    :class:`SandboxUnavailable` when bwrap is missing.
    """
    userns = os.geteuid() != 0 if userns is None else userns
    with tempfile.TemporaryDirectory(prefix="coursegrader-") as tmp:
        tmp = Path(tmp)
        submission, results, log = tmp / notebook.name, tmp / "results.jsonl", tmp / "sandbox.log"
        shutil.copyfile(notebook, submission)
        results.touch()
        if not userns:  # the sandbox user (a real uid here) must be able to read the one and write the other
            os.chown(results, limits.uid, limits.uid)
            os.chmod(tmp, 0o711)
            os.chmod(submission, 0o644)
        inside = f"{SANDBOX}/{notebook.name}"
        runner = [sys.executable, "-m", "coursegrader.run_notebook", inside, RESULTS, "--cell-timeout", str(limits.cell_timeout_s),
                       "--memory", str(limits.memory_bytes), "--processes", str(limits.processes),
                       "--file-size", str(limits.file_bytes), "--output-bytes", str(limits.output_bytes)]
        info, info_w = os.pipe()
        cmd = command(runner, limits, read_only={inside: submission}, writable={RESULTS: results}, userns=userns,
                      info_fd=info_w)
        start = time.monotonic()
        with log.open("wb") as out:
            process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True, pass_fds=(info_w,))
            os.close(info_w)
            timed_out = False
            try:
                first = _first_pid(info, limits.wall_s)
                process.wait(timeout=max(limits.wall_s - (time.monotonic() - start), 0))
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                os.close(info)
                if process.returncode is None:
                    _kill(process, first)
        seconds = time.monotonic() - start
        events = _read_events(results, limits.file_bytes)
        return _result(events, timed_out, limits, start, seconds, _tail(log))


def _result(events: list[dict], timed_out: bool, limits: Limits, start: float, seconds: float, log: str) -> Result:
    """Read the runner's events (see :mod:`coursegrader.run_notebook`); malformed ones are ignored."""
    cells, language_info, startup, failure, done = {}, None, None, None, False
    for event in events:
        kind = event.get("event")
        if kind == "kernel-ready" and startup is None:
            info, t = event.get("language_info"), event.get("t")
            language_info = info if isinstance(info, dict) else None
            startup = t - start if isinstance(t, (int, float)) else seconds  # CLOCK_MONOTONIC is the host's
        elif kind == "cell" and isinstance(event.get("index"), int) and isinstance(event.get("outputs"), list):
            count = event.get("execution_count")
            cells[event["index"]] = {"execution_count": count if isinstance(count, int) else None,
                                     "outputs": event["outputs"]}
        elif kind == "failed" and failure is None:
            failure = str(event.get("reason", "the notebook runner failed"))[:1000]
        elif kind == "done":
            done = True
    if timed_out:
        failure = f"the notebook ran for more than {limits.wall_s:g} s, the limit per notebook, and was stopped"
    elif not done and failure is None:
        failure = "its sandbox ended before the notebook did (the runner was killed, or a limit was reached)"
    return Result(cells, language_info, failure, startup is not None, seconds, startup, log)


def check(limits: Limits = Limits()) -> str | None:
    """None when a sandboxed Python starts here and runs as a non-root user; otherwise what is wrong."""
    if bwrap() is None:
        return f"the grading sandbox needs bwrap, which is not installed. {INSTALL_HINT}"
    cmd = command([sys.executable, "-c", "import os, coursegrader; print(os.getuid())"], limits)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or result.stdout.strip() != str(limits.uid):
        return (f"bwrap does not work on this machine ({(result.stderr or result.stdout).strip()[-500:]}); "
                f"it needs user namespaces, or root. {INSTALL_HINT}")
    return None


if __name__ == "__main__":
    problem = check()
    print(problem or f"the grading sandbox works here ({bwrap()}, {'as root' if os.geteuid() == 0 else 'user namespace'})")
    sys.exit(1 if problem else 0)
