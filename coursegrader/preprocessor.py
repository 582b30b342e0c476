"""``SandboxedExecute``: nbgrader's ``Execute`` step of ``nbgrader autograde``, in a sandbox.

nbgrader 0.9 autogrades a submission in two passes of preprocessors: the sanitising pass
(``ClearOutput``, ``OverwriteCells``, ... which put the original test cells back) and the
autograde pass (``Execute``, ..., ``SaveAutoGrades``, which writes the scores to the gradebook).
``nbgrader_config.py`` puts this preprocessor in the place of ``Execute``: it sends the sanitised
notebook to a fresh bubblewrap sandbox (:mod:`coursegrader.sandbox`) and puts the outputs of the
executed cells back, so that the following steps, the gradebook's writers among them, run in the
grader's process, where no student code ran, and read only outputs.

A notebook stopped by a limit (its wall clock, a dead kernel) is graded all the same: the cell it
stopped in and every later code cell get an error output that says why, so their tests score 0
and the feedback shows the reason; the grader's log names the student. A sandbox that cannot
start at all is a problem of the machine, not of the student: that raises, so nbgrader reports
the student as not graded (an ``ERROR`` line, and a non-zero exit) instead of giving 0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from coursegrader.run_notebook import clip_outputs
from coursegrader.sandbox import INSTALL_HINT, Limits, Result, SandboxUnavailable, bwrap, run_notebook

_STREAMS = ("stdout", "stderr")


def _output(raw) -> NotebookNode | None:
    """A valid nbformat output made of ``raw`` (as the sandbox reported it), or None."""
    if not isinstance(raw, dict):
        return None
    kind = raw.get("output_type")
    if kind == "stream" and raw.get("name") in _STREAMS and isinstance(raw.get("text"), str):
        return nbformat.v4.new_output("stream", name=raw["name"], text=raw["text"])
    if kind == "error":
        traceback = raw.get("traceback")
        return nbformat.v4.new_output("error", ename=str(raw.get("ename", "")), evalue=str(raw.get("evalue", "")),
                                      traceback=[str(line) for line in traceback] if isinstance(traceback, list) else [])
    if kind in ("display_data", "execute_result") and isinstance(raw.get("data"), dict):
        data = {k: v for k, v in raw["data"].items() if isinstance(k, str) and isinstance(v, (str, list, dict))}
        metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        out = nbformat.v4.new_output(kind, data=data, metadata=metadata)
        if kind == "execute_result":
            count = raw.get("execution_count")
            out.execution_count = count if isinstance(count, int) else None
        try:
            nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[out])]))
        except nbformat.ValidationError:
            return None
        return out
    return None


def result_to_json(result: Result) -> str:
    return json.dumps(dataclasses.asdict(result))


def result_from_json(text: str) -> Result:
    """A :class:`Result` written by :func:`result_to_json` (cell indices come back as ints)."""
    raw = json.loads(text)
    raw["cells"] = {int(k): v for k, v in raw["cells"].items()}
    return Result(**raw)


def _error(ename: str, message: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class SandboxedExecute(NbGraderPreprocessor):
    """Execute the notebook in a bubblewrap sandbox and keep only the outputs of its cells."""

    timeout = Integer(180, help="Seconds one cell may run; then the kernel is interrupted (as Execute.timeout).").tag(config=True)
    notebook_timeout = Float(900.0, help="Seconds the whole notebook may run, the kernel's start included; "
                                         "then its sandbox is killed.").tag(config=True)
    memory_bytes = Integer(Limits.memory_bytes, help="Address space of each process of the notebook (RLIMIT_AS).").tag(config=True)
    processes = Integer(Limits.processes, help="Processes and threads of the notebook (RLIMIT_NPROC).").tag(config=True)
    output_bytes = Integer(Limits.output_bytes, help="Bytes of output kept per cell; the rest is dropped with a note.").tag(config=True)
    uid = Integer(Limits.uid, help="The user the notebook runs as (when grading as root: a real uid, counted by "
                                   "the process limit).").tag(config=True)
    cache_dir = Unicode("", help="A folder of sandbox results by student and notebook (coursegrader.grade): a "
                                 "notebook found there is not run again.").tag(config=True)

    @property
    def limits(self) -> Limits:
        return Limits(wall_s=self.notebook_timeout, cell_timeout_s=self.timeout, memory_bytes=self.memory_bytes,
                      processes=self.processes, output_bytes=self.output_bytes, uid=self.uid)

    def cache_path(self, nb: NotebookNode, student: str, name: str) -> Path | None:
        """Where the result of this student's sanitised notebook is kept, or None without a cache.

        The key is the notebook exactly as nbgrader hands it over (after it put the instructor's
        test cells back) with the limits other than the user: the same submission graded again
        with other test cells or limits is run again.
        """
        if not self.cache_dir:
            return None
        limits = dataclasses.replace(self.limits, uid=Limits.uid)
        key = hashlib.sha256("\0".join([student, name, repr(limits), nbformat.writes(nb)]).encode()).hexdigest()
        return Path(self.cache_dir) / f"{key}.json"

    def execute(self, nb: NotebookNode, name: str, student: str) -> Result:
        """Run ``nb`` in a sandbox, or take its result from the cache of a parallel run."""
        cached = self.cache_path(nb, student, name)
        if cached is not None and cached.is_file():
            result = result_from_json(cached.read_text())
            self.log.info("Result of %s of %s taken from the parallel run (it ran in %.1f s there)", name, student,
                          result.seconds)
            return result
        with tempfile.TemporaryDirectory(prefix="coursegrader-nb-") as tmp:
            path = Path(tmp) / name
            nbformat.write(nb, path)
            result = run_notebook(path, self.limits)
        if result.started:
            self.log.info("Ran %s of %s in the sandbox in %.1f s (kernel ready after %.1f s)", name, student,
                          result.seconds, result.startup_seconds)
        if cached is not None and result.started:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            partial.write_text(result_to_json(result))
            partial.replace(cached)  # complete or absent, even when two runs write it
        return result

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        if bwrap() is None:
            raise SandboxUnavailable(f"nbgrader_config.py grades in a sandbox, and bwrap is not installed. {INSTALL_HINT} "
                                     "(COURSEGRADER_UNSANDBOXED=yes for nbgrader itself).")
        student = resources.get("nbgrader", {}).get("student", "?")
        name = f"{resources.get('unique_key') or 'notebook'}.ipynb"
        result = self.execute(nb, name, student)
        if not result.started:
            raise RuntimeError(f"the grading sandbox did not start the notebook of {student!r} "
                               f"({result.failure}); its log ends with:\n{result.log[-2000:]}")
        self.merge(nb, result.cells, result.failure)
        if isinstance(result.language_info, dict) and isinstance(result.language_info.get("name"), str):
            nb.metadata["language_info"] = {k: v for k, v in result.language_info.items()  # small values only
                                            if isinstance(k, str) and len(json.dumps(v)) < 200}
        if result.failure:
            self.log.warning("Student %r, %s: %s; the cells from there on score 0", student, name, result.failure)
        return nb, resources

    def merge(self, nb: NotebookNode, cells: dict[int, dict], failure: str | None) -> None:
        """Put the outputs the sandbox reported into ``nb``; mark the cells that did not run."""
        stopped_in = None
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs, cell.execution_count = [], None
            if index in cells:
                raw = clip_outputs([o for o in cells[index]["outputs"] if isinstance(o, dict)], self.output_bytes)
                cell.outputs = [out for out in map(_output, raw) if out is not None]
                cell.execution_count = cells[index]["execution_count"]
            elif failure and cell.source.strip():  # nbclient skips empty cells: those never report
                if stopped_in is None:
                    stopped_in = index
                    cell.outputs = [_error("NotebookStopped", f"{failure}, while this cell was running.")]
                else:
                    cell.outputs = [_error("NotRun", "this cell did not run: the notebook was stopped earlier, in "
                                                     f"the cell marked NotebookStopped ({failure}).")]


class StderrIsNotAnError(NbGraderPreprocessor):
    """Show what student code wrote to stderr as ordinary output, so that it costs no points.

    nbgrader 0.9 scores 0 a test cell with any output on stderr, as if it were an error: one
    ``logging.warning`` debug line (the logging module writes to stderr) inside an answer zeroes
    every test that calls it, however right the answer. Errors stay errors: an exception, a failed
    assertion and a stopped notebook are ``error`` outputs, which this step leaves alone. Runs
    right after the notebook is executed, before the scores are read.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
        return cell, resources


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's ``DeduplicateIds``, mended: a cell copied with its nbgrader metadata no longer stops grading.

    A student who copy-pastes a test or answer cell in JupyterLab copies its metadata too, grade id
    included. nbgrader keeps the last cell of each grade id and empties the metadata of the others
    to ``{}``, a state its own ``OverwriteCells`` step then fails on (``KeyError: 'grade_id'``), so
    the whole notebook scored 0. Here the other copies lose their nbgrader metadata entirely and
    run as ordinary cells; the kept one is overwritten with the instructor's version as usual. A
    cell whose nbgrader metadata has no grade id (hand-edited) is treated the same way.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.get("metadata", {})
        if "nbgrader" in meta and not isinstance(meta["nbgrader"], dict) or (
                isinstance(meta.get("nbgrader"), dict) and not meta["nbgrader"].get("grade_id")):
            self.log.warning("A cell with nbgrader metadata but no grade id runs as an ordinary cell")
            del meta["nbgrader"]
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if meta.get("nbgrader") == {}:
            del meta["nbgrader"]
        return cell, resources
