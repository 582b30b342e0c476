"""Time the convolution paths of chapter 1 on the same input: naive loops, im2col + GEMM, FFT
and torch.nn.functional.conv2d, on the CPU and, when present, on a CUDA GPU.

Writes one markdown table (and a JSON file with the raw figures) per device into
benchmarks/results/: conv-cpu.md, conv-cuda.md. Run with `make benchmark`, or
`python benchmarks/conv.py --quick` for a fast smoke run (results are then not written).
Timings are medians of torch.utils.benchmark's blocked_autorange; on CUDA the Timer synchronises.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from torch.utils import benchmark

from cnnlib.ops import conv2d

METHODS = ("naive", "im2col", "fft", "torch")
# (name, N, C_in, H=W, C_out, k): small enough for the naive loops, plus a large-kernel case.
CASES = (
    ("3x3, 32x32", 8, 16, 32, 32, 3),
    ("3x3, 64x64", 8, 16, 64, 32, 3),
    ("7x7, 64x64", 8, 16, 64, 32, 7),
    ("15x15, 64x64", 4, 8, 64, 8, 15),
)


def median_ms(method: str, x: torch.Tensor, w: torch.Tensor, padding: int, min_run_time: float) -> float:
    timer = benchmark.Timer("conv2d(x, w, padding=p, method=m)",
                            globals={"conv2d": conv2d, "x": x, "w": w, "p": padding, "m": method})
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def run(device: str, quick: bool) -> list[dict]:
    rows = []
    gen = torch.Generator().manual_seed(0)
    for name, n, c_in, size, c_out, k in CASES[:1] if quick else CASES:
        x = torch.randn(n, c_in, size, size, generator=gen).to(device)
        w = torch.randn(c_out, c_in, k, k, generator=gen).to(device)
        times = {m: median_ms(m, x, w, k // 2, 0.05 if quick else 0.5) for m in METHODS}
        for m in METHODS:
            rows.append({"case": name, "method": m, "ms": times[m], "ratio": times[m] / times["torch"]})
    return rows


def markdown(device: str, rows: list[dict]) -> str:
    if device == "cuda":
        hardware = torch.cuda.get_device_name()
    else:
        hardware = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    lines = [f"Device: `{device}` ({hardware}); torch {torch.__version__}. Median time per call in ms; "
             "ratio = time / time of F.conv2d.", "",
             "| case | method | ms | x F.conv2d |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {r['case']} | {r['method']} | {r['ms']:.2f} | {r['ratio']:.1f} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case, short timings, nothing written")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        rows = run(device, args.quick)
        table = markdown(device, rows)
        print(table)
        if not args.quick:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"conv-{device}.md").write_text(table)
            (args.out / f"conv-{device}.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
