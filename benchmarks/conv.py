"""Time the convolution paths of chapter 1 on the same input: naive loops, im2col + GEMM, FFT,
and torch.nn.functional.conv2d, on the CPU and, when one is present, on a CUDA GPU.

Every case convolves N = 8 random float32 images with C_out = 16 random kernels, stride 1 and
"same" zero padding. Before timing, each path's output is compared with F.conv2d's. Times are
medians of torch.utils.benchmark's blocked_autorange, with all of torch's CPU threads; on CUDA
the timer synchronises the device. The naive loop (one Python iteration per output pixel) stays
on inputs small enough to finish in well under a second per call.

Writes benchmarks/results/conv-<device>.md (the table printed here; the book's appendix "GPU
notes" includes it) and conv-<device>.json: a list of flat records, one per (case, method), with
``case`` like "3x3, 32x32", ``method`` in naive/im2col/fft/torch (torch = F.conv2d, the name
``cnnlib.ops.conv2d`` uses), ``ms``, ``ratio`` (to torch) and ``max_abs_error`` (to F.conv2d);
chapter 1's "From loops to the GPU" reads it. Usage, from the repository root:

    .venv/bin/python benchmarks/conv.py            # all devices present; writes results/
    .venv/bin/python benchmarks/conv.py --quick    # two small cases, short runs, writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnlib.bench import describe_machine, median_ms
from cnnlib.ops import conv2d_fft, conv2d_im2col, conv2d_naive

PATHS = {  # method name (as cnnlib.ops.conv2d's) -> (column title, function(x, w, padding))
    "naive": ("naive", lambda x, w, p: conv2d_naive(x, w, padding=p)),
    "im2col": ("im2col", lambda x, w, p: conv2d_im2col(x, w, padding=p)),
    "fft": ("FFT", lambda x, w, p: conv2d_fft(x, w, padding=p)),
    "torch": ("F.conv2d", lambda x, w, p: F.conv2d(x, w, padding=p)),
}
N, C_OUT = 8, 16
CASES = ((3, 3, 32), (7, 3, 32), (3, 16, 64), (7, 16, 64), (15, 16, 64))  # (kernel, C_in, H = W)
QUICK_CASES = CASES[:2]


def run(device: str, quick: bool) -> list[dict]:
    """Check and time every path on every case; one flat record per (case, method)."""
    records = []
    gen = torch.Generator().manual_seed(0)
    for k, c_in, size in QUICK_CASES if quick else CASES:
        x = torch.randn(N, c_in, size, size, generator=gen).to(device)
        w = torch.randn(C_OUT, c_in, k, k, generator=gen).to(device) / (c_in * k * k) ** 0.5
        p = k // 2
        ref = F.conv2d(x, w, padding=p)
        case = {"case": f"{k}x{k}, {size}x{size}", "kernel": k, "N": N, "C_in": c_in, "H": size, "W": size,
                "C_out": C_OUT}
        times = {}
        for method, (_, fn) in PATHS.items():
            error = (fn(x, w, p) - ref).abs().max().item()
            if error > 1e-3:
                raise RuntimeError(f"{method} differs from F.conv2d by {error:.1e} on {case}")
            times[method] = median_ms(fn, x, w, p, min_run_time=0.05 if quick else 0.5,
                                      num_threads=torch.get_num_threads())
            records.append({**case, "method": method, "ms": times[method], "max_abs_error": error})
        for r in records[-len(PATHS):]:
            r["ratio"] = r["ms"] / times["torch"]
    return records


def markdown(meta: dict, records: list[dict]) -> str:
    """The results as a short paragraph and a markdown table, one row per case."""
    lines = [
        f"Measured on `{meta['device']}` ({meta['hardware']}), torch {meta['torch_version']}, float32, "
        f"{meta['date']}. Median time per call; in brackets the time relative to `F.conv2d`. "
        f"N = {N} images, C_out = {C_OUT} filters, stride 1, \"same\" zero padding.",
        "",
        "| kernel | input N×C_in×H×W | " + " | ".join(title for title, _ in PATHS.values()) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in PATHS) + " |",
    ]
    for i in range(0, len(records), len(PATHS)):
        group = records[i:i + len(PATHS)]
        r = group[0]
        cells = [f"{g['ms']:.2f} ms ({g['ratio']:.1f}×)" for g in group]
        lines.append(f"| {r['kernel']}×{r['kernel']} | {r['N']}×{r['C_in']}×{r['H']}×{r['W']} | "
                     + " | ".join(cells) + " |")
    worst = max(r["max_abs_error"] for r in records)
    lines += ["", f"Largest difference from `F.conv2d` over all cells: {worst:.1e}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small cases, short timings, write nothing")
    parser.add_argument("--device", choices=("cpu", "cuda"), action="append",
                        help="device to time (repeatable); default: cpu, and cuda when present")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results",
                        help="folder for conv-<device>.md/.json (default: benchmarks/results)")
    args = parser.parse_args()
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is visible")
        meta = {"device": device, "hardware": describe_machine(device), "torch_version": torch.__version__,
                "threads": torch.get_num_threads(), "date": datetime.date.today().isoformat()}
        records = [{**r, **meta} for r in run(device, args.quick)]
        table = markdown(meta, records)
        print(table)
        if not args.quick:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"conv-{device}.md").write_text(table, encoding="utf-8")
            (args.out / f"conv-{device}.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
