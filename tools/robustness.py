"""Measure every figure a notebook asserts over seeds, CPU code paths and thread counts.

A figure asserted in a notebook (``assert test_acc >= 0.97``) must hold on any reader's machine,
not only on the one where the page was written. This tool re-runs a notebook under a matrix of

- **seeds**: every training seed in the notebook is shifted by an offset (0, 1, 2, ...). The tool
  rewrites, in a copy of the notebook, the argument of ``seed_everything(...)`` and
  ``manual_seed(...)`` and every ``seed=...`` keyword, except those of the calls that build a
  data set (``ShapesDataset``, ``kmeans_anchors``, ...: the data stay the data);
- **CPU code paths**: the machine's own kernels, and a second set: the AVX2 kernels forced with
  ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` on a machine with AVX-512 (the kernels of a
  laptop without it), or, where the machine's own path already *is* AVX2 (as on the CI
  machines), the generic kernels: ATen's non-vectorised ones with oneDNN and MKL capped at AVX
  (``ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX MKL_ENABLE_INSTRUCTIONS=AVX``). Either
  way two different sets of kernels, with different rounding, are compared;
- **threads**: 2 (the CI machine) and 1 (``OMP_NUM_THREADS``).

The default matrix has 5 runs (see :func:`default_matrix`); ``--full`` runs every combination.
Every ``assert`` of the notebook is rewritten to record the values it compares instead of
raising, so that one failing check does not hide the others, and the run goes on after it. The
result is one table per notebook: each asserted comparison and the values it compared in every
run. Output written to stderr is reported too (the book's pages must not show any).

Usage::

    .venv/bin/python tools/robustness.py book/02-architectures/01-lenet.ipynb [more notebooks]
        [--seeds 0 1 2] [--full] [--jobs 2] [--json runs.jsonl] [--markdown table.md]
    .venv/bin/python tools/robustness.py --report runs.jsonl --markdown table.md

``make robustness NB=...`` does both and keeps the results in ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# Calls whose ``seed=`` builds the data, not the training run: left alone.
DATA_CALLS = {"ShapesDataset", "single_object_scenes", "window_crops", "kmeans_anchors", "mnist_split",
              "make_dna_dataset", "load", "shapes_dataset", "RoadsDataset", "roads_tensors", "make_roads_tile",
              "FacesDataset", "faces_tensors", "render_faces"}
SEED_CALLS = {"seed_everything", "manual_seed"}
RECORDER = "__robustness_record__"
# CPython 3.11's ast.parse is not thread-safe ("AST constructor recursion depth mismatch" when two
# runs rewrite their notebooks at once in the thread pool of --jobs 2): one rewrite at a time.
_REWRITE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Config:
    seed: int
    path: str  # "native", "avx2" or "generic"
    threads: int

    @property
    def label(self) -> str:
        return f"seed+{self.seed} {self.path} {self.threads}t"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS"):
            env.pop(k, None)
        if self.path == "avx2":
            env.update(ATEN_CPU_CAPABILITY="avx2", ONEDNN_MAX_CPU_ISA="AVX2")
        elif self.path == "generic":
            env.update(ATEN_CPU_CAPABILITY="default", ONEDNN_MAX_CPU_ISA="AVX", MKL_ENABLE_INSTRUCTIONS="AVX")
        env.update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads))
        # Threads that wait sleep instead of spinning: the same numbers, but a run with 2 threads
        # no longer slows down tenfold when something else needs a core.
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        env["CNNLIB_PROGRESS"] = "plain"  # as in the book's pages
        return env


def native_capability() -> str:
    import torch

    return torch.backends.cpu.get_cpu_capability()


def default_matrix(seeds: list[int], full: bool = False) -> list[Config]:
    """The runs of one notebook.

    Default (5 runs): the first seed on the machine's own kernels with 2 threads (the CI
    machine's setting); every other seed on the machine's kernels with 1 thread; the first two
    seeds on the second code path with 1 thread. Every seed, both code paths and both thread
    counts are covered; a change of kernels is seen on its own (same seed, same threads), and
    the runs with 1 thread go two at a time, one per core. ``full``: every combination
    (``2 x 2 x len(seeds)`` runs).
    """
    second = "generic" if native_capability() == "AVX2" else "avx2"
    if full:
        return [Config(s, p, t) for t in (2, 1) for p in ("native", second) for s in seeds]
    configs = [Config(seeds[0], "native", 2)] + [Config(s, "native", 1) for s in seeds[1:]]
    return configs + [Config(s, second, 1) for s in seeds[:2]]


# -- rewriting a notebook ------------------------------------------------------------------------

def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


class _Rewrite(ast.NodeTransformer):
    """Shift training seeds by ``offset`` and turn asserts into recording calls."""

    def __init__(self, cell: int, offset: int):
        self.cell, self.offset, self.count = cell, offset, 0

    def _shift(self, node: ast.expr) -> ast.expr:
        return ast.BinOp(left=node, op=ast.Add(), right=ast.Constant(self.offset)) if self.offset else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = _name(node.func)
        if name in SEED_CALLS and node.args:
            node.args[0] = self._shift(node.args[0])
        if name not in DATA_CALLS:
            for kw in node.keywords:
                if kw.arg == "seed":
                    kw.value = self._shift(kw.value)
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.generic_visit(node)
        test = node.test
        parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
        calls = []
        for k, part in enumerate(parts):
            operands = [part.left, *part.comparators] if isinstance(part, ast.Compare) else []
            source = ast.unparse(part)
            # record(cell, assert index, part index, source, lambda: part, lambda: [operands])
            calls.append(ast.Call(
                func=ast.Name(RECORDER, ast.Load()),
                args=[ast.Constant(self.cell), ast.Constant(self.count), ast.Constant(k), ast.Constant(source),
                      ast.Lambda(_no_args(), part), ast.Lambda(_no_args(), ast.List(operands, ast.Load()))],
                keywords=[]))
        self.count += 1
        return [ast.Expr(c) for c in calls]


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


RECORDER_SOURCE = '''
import json as _json, math as _math
_RECORD_FILE = __PATH__
def _as_float(v):
    try:
        if hasattr(v, "numel") and v.numel() == 1:
            v = v.item()
        elif hasattr(v, "size") and getattr(v, "size", 2) == 1 and hasattr(v, "item"):
            v = v.item()
        if isinstance(v, bool):
            return None
        if isinstance(v, (int, float)):
            return float(v)
    except Exception:
        pass
    return None
def __robustness_record__(cell, index, part, source, test, operands):
    try:
        ok = bool(test())
    except Exception as error:
        ok, values = False, [repr(error)[:200]]
    else:
        try:
            values = [_as_float(v) for v in operands()]
        except Exception:
            values = []
    with open(_RECORD_FILE, "a") as f:
        f.write(_json.dumps({"cell": cell, "assert": index, "part": part, "source": source,
                             "ok": ok, "values": values}) + "\\n")
'''


def rewrite(nb: nbformat.NotebookNode, offset: int, record_file: Path) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose seeds are shifted and whose asserts record instead of raising."""
    from IPython.core.inputtransformer2 import TransformerManager

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    manager = TransformerManager()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        python = manager.transform_cell(cell.source)  # %magics -> get_ipython() calls
        tree = ast.parse(python)
        body = tree.body
        last_expr = body[-1] if body and isinstance(body[-1], ast.Expr) else None
        tree = ast.fix_missing_locations(_Rewrite(index, offset).visit(tree))
        cell.source = ast.unparse(tree)
        if last_expr is None or tree.body[-1] is not last_expr:
            cell.source += "\n;"  # no stray display of the last recording call
        cell.outputs = []
    setup = nbformat.v4.new_code_cell(RECORDER_SOURCE.replace("__PATH__", repr(str(record_file))))
    nb.cells.insert(0, setup)
    return nb


# -- running ----------------------------------------------------------------------------------------

@dataclass
class Run:
    notebook: str
    config: Config
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    code: str = ""  # hash of the notebook's code when it ran


def code_hash(nb: nbformat.NotebookNode) -> str:
    """A short hash of a notebook's code cells: runs of different versions are not mixed."""
    text = "\n\x00".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run_one(path: Path, config: Config, timeout: int = 3600) -> Run:
    nb = nbformat.read(path, as_version=4)
    run = Run(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path), config, code=code_hash(nb))
    with tempfile.TemporaryDirectory() as tmp:
        record_file = Path(tmp) / "records.jsonl"
        record_file.touch()
        with _REWRITE_LOCK:
            copy = rewrite(nb, config.seed, record_file)
        start = time.perf_counter()
        client = NotebookClient(copy, timeout=timeout, kernel_name="python3", allow_errors=True,
                                record_timing=False, resources={"metadata": {"path": str(path.parent)}})
        client.execute(env=config.env())  # the kernel's environment: code path and threads
        run.seconds = time.perf_counter() - start
        for index, cell in enumerate(copy.cells[1:]):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    run.errors.append(f"cell {index}: {out.get('ename')}: {out.get('evalue')}"[:300])
                elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                    # the book's pages must not show stderr: report it (tests/test_browser.py fails on it)
                    run.errors.append(f"cell {index} wrote to stderr: {out.get('text', '')}"[:300])
        run.records = [json.loads(line) for line in record_file.read_text().splitlines() if line.strip()]
        if config.seed == 0:  # with shifted seeds a printed value may differ by design
            run.records += checked_outputs(nb, copy)
    return run


def checked_outputs(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[dict]:
    """nbval's checks as records: each ``# NBVAL_CHECK_OUTPUT`` cell's printed text compared with
    the committed one (a printed ``True`` is an assertion too). Only for runs with the notebook's
    own seeds: with shifted seeds, printed values of random inputs differ by design."""
    records = []
    for index, (cell, ran) in enumerate(zip(nb.cells, executed.cells[1:])):
        if cell.cell_type != "code" or "NBVAL_CHECK_OUTPUT" not in cell.source:
            continue
        expected = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        got = "".join(o.get("text", "") for o in ran.get("outputs", []) if o.get("output_type") == "stream")
        differ = [f"{a!r} != {b!r}" for a, b in zip(got.splitlines(), expected.splitlines()) if a != b]
        if len(got.splitlines()) != len(expected.splitlines()):
            differ.append(f"{len(got.splitlines())} lines printed, {len(expected.splitlines())} expected")
        records.append({"cell": index, "assert": "checked output", "part": 0, "ok": not differ,
                        "source": "printed output equals the committed one (NBVAL_CHECK_OUTPUT)",
                        "values": [], "differs": differ[:3]})
    return records


def run_matrix(paths: list[Path], configs: list[Config], jobs: int, json_file: Path | None = None) -> list[Run]:
    """Runs with 2 threads one at a time; runs with 1 thread ``jobs`` at a time.

    Each run is printed, and appended to ``json_file``, as soon as it ends.
    """
    runs = []

    def done(run: Run) -> Run:
        failed = sum(not r["ok"] for r in run.records)
        print(f"{run.seconds:7.1f} s  {run.config.label:24s} {run.notebook}: {len(run.records)} checks, "
              f"{failed} failed, {len(run.errors)} errors", flush=True)
        for e in run.errors:
            print(f"           error: {e}", flush=True)
        if json_file is not None:
            with json_file.open("a") as f:
                f.write(json.dumps({"notebook": run.notebook, "code": run.code, "config": run.config.__dict__,
                                    "seconds": run.seconds, "errors": run.errors, "records": run.records}) + "\n")
        runs.append(run)
        return run

    for path in paths:
        for config in [c for c in configs if c.threads > 1]:
            done(run_one(path, config))
        single = [c for c in configs if c.threads == 1]
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for run in pool.map(lambda c: run_one(path, c), single):
                done(run)
    return runs


def load_runs(json_file: Path) -> list[Run]:
    """The runs stored by ``--json``: for each notebook, the runs of the version measured last
    (the last run of each configuration)."""
    latest: dict[tuple, Run] = {}
    version: dict[str, str] = {}
    for line in json_file.read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            run = Run(d["notebook"], Config(**d["config"]), d["seconds"], d["errors"], d["records"], d.get("code", ""))
            latest[run.notebook, run.config] = run
            version[run.notebook] = run.code
    return [r for r in latest.values() if r.code == version[r.notebook]]


# -- the table ------------------------------------------------------------------------------------

def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:.2e}"
    return f"{v:.4g}"


def table(runs: list[Run], varying_only: bool = True) -> str:
    """One markdown table per notebook: every asserted comparison whose values vary between runs."""
    lines = []
    by_nb: dict[str, list[Run]] = {}
    for r in runs:
        by_nb.setdefault(r.notebook, []).append(r)
    for nb, nb_runs in by_nb.items():
        configs = [r.config.label for r in nb_runs]
        keys: dict[tuple, str] = {}
        for r in nb_runs:
            for rec in r.records:
                keys.setdefault((rec["cell"], rec["assert"], rec["part"]), rec["source"])
        rows = []
        for key, source in sorted(keys.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
            per_run, oks = [], []
            for r in nb_runs:
                recs = [x for x in r.records if (x["cell"], x["assert"], x["part"]) == key]
                oks.append(all(x["ok"] for x in recs) if recs else None)
                per_run.append(recs)
            shown = [_summarise(recs) for recs in per_run]
            measured = [o for o in oks if o is not None]  # runs that made this comparison
            if varying_only and len({s for s in shown if s != "—"}) <= 1 and all(measured):
                continue
            verdict = "pass" if all(measured) else "**FAIL**"
            src = source if len(source) <= 90 else source[:87] + "..."
            rows.append(f"| {key[0]} | `{src.replace('|', '/')}` | " + " | ".join(shown) + f" | {verdict} |")
        times = " · ".join(f"{r.config.label}: {r.seconds:.0f} s" for r in nb_runs)
        lines += [f"### `{nb}`", "", f"Run times: {times}.", ""]
        errors = sorted({e for r in nb_runs for e in r.errors}
                        | {f"cell {x['cell']}: printed {d}" for r in nb_runs for x in r.records for d in x.get("differs", [])})
        if errors:
            lines += ["Errors: " + "; ".join(f"`{e}`" for e in errors), ""]
        if rows:
            lines += ["| cell | asserted | " + " | ".join(configs) + " | all runs |",
                      "|---|---|" + "---|" * len(configs) + "---|", *rows, ""]
        else:
            lines += ["Every asserted comparison gave the same values in every run.", ""]
    return "\n".join(lines)


def _summarise(recs: list[dict]) -> str:
    """The operands of a comparison: the measured figure, and what it was compared with when that
    is not a constant (``0.172 vs 0.105``); a range over the records of a loop."""
    if not recs:
        return "—"
    columns = []
    for k in range(max(len(x["values"]) for x in recs)):
        vals = [x["values"][k] for x in recs if len(x["values"]) > k and isinstance(x["values"][k], float)]
        columns.append(vals)
    if not columns or not columns[0]:
        return "ok" if all(x["ok"] for x in recs) else "fail"

    def show(vals: list[float]) -> str:
        return _fmt(vals[0]) if min(vals) == max(vals) else f"{_fmt(min(vals))}…{_fmt(max(vals))}"

    text = show(columns[0])
    others = [show(c) for c in columns[1:] if c]
    return text + "".join(f" vs {o}" for o in others)


HEADER = """# Robustness of the figures the notebooks assert

Written by `tools/robustness.py --report benchmarks/results/robustness.jsonl` (refresh one notebook
with `make robustness NB=<notebook>`). Each notebook was re-run under a matrix of training seeds
(`seed+k`: every training seed of the notebook shifted by k; the data sets stay the same), CPU
code paths (`native`: the machine's own kernels; `generic`: ATen's non-vectorised kernels with
oneDNN and MKL capped at AVX, so that a second set of kernels with different rounding is always
compared; `avx2` where the machine has AVX-512) and thread counts (`1t`, `2t`). Each row is one
comparison of an `assert` of the notebook (cell numbers count from 0); each column gives the
compared values in one run (`a vs b`; a range where the assert sits in a loop). Only comparisons
whose values differ between runs, or fail in one, are listed. The asserted thresholds sit below
the worst value seen, with a margin; the text of each section quotes the measured range.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="run nothing: print (and --markdown) the tables of the runs stored in JSON")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs with 1 thread executed at once")
    parser.add_argument("--json", type=Path, help="append the raw runs to this JSON-lines file")
    parser.add_argument("--markdown", type=Path, help="write the tables to this file")
    parser.add_argument("--full", action="store_true", help="every seed x code path x thread count")
    parser.add_argument("--quick", action="store_true", help="one run: seed offset 0, generic path, 2 threads")
    parser.add_argument("--configs", nargs="+", help="explicit runs as SEED:PATH:THREADS, e.g. 1:native:2")
    args = parser.parse_args(argv)
    if args.report:
        text = HEADER + "\n" + table(sorted(load_runs(args.report), key=lambda r: r.notebook))
        notes = args.report.with_name("robustness-notes.md")  # what was changed after the runs
        if notes.exists():
            text += "\n" + notes.read_text()
        if args.markdown:
            args.markdown.write_text(text + "\n")
        print(text)
        return 0
    if not args.notebooks:
        parser.error("name at least one notebook (or --report JSON)")
    if args.configs:
        configs = [Config(int(s), p, int(t)) for s, p, t in (c.split(":") for c in args.configs)]
    elif args.quick:
        configs = [Config(0, "generic", 2)]
    else:
        configs = default_matrix(args.seeds, full=args.full)
    print(f"machine: {native_capability()} native; runs: " + ", ".join(c.label for c in configs), flush=True)
    runs = run_matrix([p.resolve() for p in args.notebooks], configs, args.jobs, args.json)
    text = table(runs)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    print(text)
    return 0 if all(rec["ok"] for r in runs for rec in r.records) and not any(r.errors for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
