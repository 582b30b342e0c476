"""Runs one notebook to its end with nbclient, INSIDE the sandbox (:mod:`coursegrader.sandbox`).

``python -m coursegrader.run_notebook NOTEBOOK RESULTS [limits]`` sets its own resource limits
(which the kernel it starts inherits), copies NOTEBOOK into the current (work) folder, starts the
notebook's kernel there, executes every code cell as nbgrader's ``Execute`` would (errors do not
stop the run; a cell that runs past ``--cell-timeout`` is interrupted and gets a
``CellTimeoutError``), and appends one JSON line per event to RESULTS, so that the grader knows
how far the notebook got even when the sandbox is killed::

    {"event": "started"}                                   limits set, before the kernel starts
    {"event": "kernel-ready", "language_info": {...}}      the kernel answered; no cell has run
    {"event": "cell", "index": 3, "execution_count": 2, "outputs": [...]}   one per code cell
    {"event": "done"}  or  {"event": "failed", "reason": "..."}

The student's code runs in the kernel with the same user id as this runner, so it could write
to RESULTS too: the grader takes nothing from RESULTS but outputs and execution counts of cells
it sent (never sources or metadata), clipped again to the same limits. Judging outputs the
student controls is what the verdict check outside the sandbox is for (issue 13).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

TRUNCATED = "\n[output truncated: the cell printed more than {limit} bytes; {more} bytes more were dropped]\n"
TIMEOUT_ERROR = {  # what nbgrader's Execute writes for a cell that times out
    "ename": "CellTimeoutError",
    "evalue": "",
    "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"],
}


def _size(output: dict) -> int:
    return len(json.dumps(output, ensure_ascii=False).encode())


def clip_output(output: dict, budget: int) -> tuple[dict | None, int]:
    """``output`` cut to at most about ``budget`` bytes: ``(clipped or None when dropped, bytes dropped)``.

    A stream keeps its first bytes; an error always stays (it decides the cell's score), with its
    message and traceback cut; any other output over the budget is dropped.
    """
    size = _size(output)
    if size <= budget:
        return output, 0
    kind = output.get("output_type")
    if kind == "stream":
        text = str(output.get("text", "")).encode()[: max(budget - 100, 0)].decode(errors="ignore")
        return {**output, "text": text}, size - budget
    if kind == "error":
        keep = max(budget // 4, 200)
        traceback = [str(line)[:keep] for line in output.get("traceback", [])[:20]]
        return {**output, "evalue": str(output.get("evalue", ""))[:keep], "traceback": traceback}, size - keep
    return None, size


def clip_outputs(outputs: list[dict], limit: int) -> list[dict]:
    """A cell's outputs cut to ``limit`` bytes in all (JSON), with a note on stdout saying so.

    The note goes to stdout: nbgrader scores 0 a test cell that wrote to stderr.
    """
    kept, used, dropped = [], 0, 0
    for output in outputs:
        clipped, lost = clip_output(output, max(limit - used, 0))
        dropped += lost
        if clipped is not None:
            kept.append(clipped)
            used += _size(clipped)
    if dropped:
        kept.append(truncation_note(limit, dropped))
    return kept


def truncation_note(limit: int, dropped: int) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": TRUNCATED.format(limit=limit, more=dropped)}


def set_limits(memory: int, processes: int, file_size: int) -> None:
    """Resource limits of this process and of everything it starts (the kernel, its children).

    Memory is the address space of EACH process (RLIMIT_AS), processes the number of processes
    and threads of this user (RLIMIT_NPROC; inside a user namespace, of this sandbox), file size
    the largest file any of them writes (RLIMIT_FSIZE). No core dumps.
    """
    for which, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, processes),
                         (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_CORE, 0)):
        if value > 0 or which == resource.RLIMIT_CORE:
            resource.setrlimit(which, (value, value))


def _report(results, **event) -> None:
    event["t"] = time.monotonic()
    results.write(json.dumps(event, ensure_ascii=False) + "\n")
    results.flush()


def execute(notebook: Path, results, cell_timeout: int, output_bytes: int) -> int:
    """Execute ``notebook`` in the current folder, reporting to ``results``; 0 when it ran to its end."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class ReportingClient(NotebookClient):
        """nbclient as nbgrader's Execute configures it, reporting each code cell as it ends."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.used: dict[int, int] = {}  # bytes of output kept so far, per cell
            self.dropped: dict[int, int] = {}  # bytes of output dropped, per cell
            self.on_cell_executed = self.report

        def output(self, outs, msg, display_id, cell_index):
            # Clip what comes past the limit as it arrives: a cell printing without end must not
            # fill this process's memory before it ends.
            out = super().output(outs, msg, display_id, cell_index)
            if out is None or not outs or outs[-1] is not out:
                return out
            clipped, lost = clip_output(out, output_bytes - self.used.get(cell_index, 0))
            self.dropped[cell_index] = self.dropped.get(cell_index, 0) + lost
            if clipped is None:
                outs.pop()
                return None
            outs[-1] = out = nbformat.from_dict(clipped)
            self.used[cell_index] = self.used.get(cell_index, 0) + _size(clipped)
            return out

        def report(self, cell, cell_index, execute_reply):
            # As nbgrader's Execute.on_cell_executed: an error reply with no error output (a
            # timeout) gets one, so that the cell scores 0 and the student sees why.
            content = execute_reply["content"]
            if content["status"] == "error" and not any(
                    o.output_type == "error" and o.ename == content["ename"] for o in cell.outputs):
                cell.outputs.append(nbformat.v4.new_output(
                    "error", ename=content["ename"], evalue=content["evalue"],
                    traceback=content["traceback"] or ["ERROR: an error occurred while showtraceback was disabled"]))
            outputs = clip_outputs([dict(o) for o in cell.outputs], output_bytes)
            if self.dropped.get(cell_index) and not outputs[-1].get("text", "").startswith("\n[output truncated"):
                outputs.append(truncation_note(output_bytes, self.dropped[cell_index]))
            _report(results, event="cell", index=cell_index, execution_count=cell.get("execution_count"),
                    outputs=outputs)

    nb = nbformat.read(notebook, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    runtime = Path(os.environ.get("JUPYTER_RUNTIME_DIR", "/tmp/jupyter-runtime"))
    runtime.mkdir(parents=True, exist_ok=True)
    # ZMQ over Unix sockets in /tmp: no TCP port, not even on the sandbox's own loopback.
    km = AsyncKernelManager(kernel_name=kernel, transport="ipc", ip=str(runtime / "kernel"))
    client = ReportingClient(nb, km=km, timeout=cell_timeout, allow_errors=True, interrupt_on_timeout=True,
                             raise_on_iopub_timeout=True, error_on_timeout=TIMEOUT_ERROR,
                             resources={"metadata": {"path": os.getcwd()}})
    try:
        with client.setup_kernel(cleanup_kc=False):
            info = client.wait_for_reply(client.kc.kernel_info()) or {}
            language_info = info.get("content", {}).get("language_info")
            _report(results, event="kernel-ready", language_info=language_info)
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
    except DeadKernelError:
        _report(results, event="failed", reason="the kernel died (it crashed, was killed, or ran out of memory)")
        return 1
    except CellTimeoutError:  # the interrupt after the cell's time limit did not stop the kernel
        _report(results, event="failed", reason=f"a cell ran for more than {cell_timeout} s, the limit per cell, "
                                                "and its kernel did not stop when interrupted")
        return 1
    except Exception as exc:  # noqa: BLE001 (any other failure is reported, not raised: the grader reads RESULTS)
        _report(results, event="failed", reason=f"{type(exc).__name__}: {str(exc)[:500]}")
        return 1
    _report(results, event="done")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path, help="the notebook to run (read only)")
    parser.add_argument("results", type=Path, help="the file the events are appended to")
    parser.add_argument("--cell-timeout", type=int, default=180, help="seconds per cell")
    parser.add_argument("--memory", type=int, default=0, help="bytes of address space per process (0: no limit)")
    parser.add_argument("--processes", type=int, default=0, help="processes and threads (0: no limit)")
    parser.add_argument("--file-size", type=int, default=0, help="bytes per file written (0: no limit)")
    parser.add_argument("--output-bytes", type=int, default=1 << 20, help="bytes of outputs per cell")
    args = parser.parse_args(argv)
    with args.results.open("a", encoding="utf-8") as results:
        set_limits(args.memory, args.processes, args.file_size)
        _report(results, event="started")
        shutil.copy(args.notebook, Path.cwd() / args.notebook.name)  # the student's copy, in the work folder
        return execute(args.notebook, results, args.cell_timeout, args.output_bytes)


if __name__ == "__main__":
    # No clean shutdown of the kernel (about 1 s): every event is written, and the sandbox, whose
    # PID namespace ends with this process, takes the kernel and all it started with it.
    os._exit(main())
