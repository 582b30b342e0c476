"""Does mixed precision make training faster here? Time training steps of the engine in float32
and under ``torch.autocast`` with bfloat16 (CPU and GPU) or float16 (CUDA).

Models: the book's TinyYOLO (width 16, 64x64 scenes, batch 64, channels-last, the detector of
chapter 3), LeNet-5 on 28x28 digits (batch 128) and the small ResNet of chapter 2 (batch 64, 28x28). Each time
is the median of ``--steps`` optimiser steps of :func:`cnnlib.train.fit` after two warm-up steps
(the engine's whole step: forward, loss, backward, AdamW update), with 1 and 2 CPU threads.
The table also says whether the CPU has native bfloat16 instructions (AVX512_BF16 / AMX):
without them, oneDNN emulates bfloat16 and autocast is usually slower, not faster.

Writes benchmarks/results/train-amp-<device>.md and .json. Usage, from the repository root:

    .venv/bin/python benchmarks/train_amp.py             # CPU (and CUDA if present); writes results/
    .venv/bin/python benchmarks/train_amp.py --quick     # 5 steps, writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from cnnlib.detection import TinyYOLO, YOLOStep
from cnnlib.models import LeNet5
from cnnlib.models.resnet import resnet_small
from cnnlib.train import classification_step, fit

RESULTS = Path(__file__).parent / "results"


class Timed:
    """Wraps a step: records the wall time between consecutive calls (one optimiser step each)."""

    def __init__(self, step, sync):
        self.step, self.sync, self.stamps = step, sync, []

    def __call__(self, model, batch, ctx):
        self.sync()
        self.stamps.append(time.perf_counter())
        return self.step(model, batch, ctx)


def cases(device):
    gen = torch.Generator().manual_seed(0)

    def yolo():
        model = TinyYOLO(3, 3, width=16)
        x = torch.rand(64, 3, 64, 64, generator=gen)
        t = YOLOStep(model).encode([torch.tensor([[8.0, 8.0, 30.0, 30.0]])] * 64, [torch.tensor([1])] * 64, 64, 64)
        return model.to(memory_format=torch.channels_last), (x, t), YOLOStep(model, flip=False)

    def lenet():
        return LeNet5(), (torch.rand(128, 1, 28, 28, generator=gen), torch.randint(0, 10, (128,), generator=gen)), classification_step()

    def resnet():
        return (resnet_small(10, in_channels=1), (torch.rand(64, 1, 28, 28, generator=gen),
                torch.randint(0, 10, (64,), generator=gen)), classification_step())

    return {"TinyYOLO w16, 64x64, batch 64": yolo, "LeNet-5, 28x28, batch 128": lenet, "small ResNet, 28x28, batch 64": resnet}


def time_steps(make, device, amp, steps):
    torch.manual_seed(0)
    model, batch, step = make()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    timed = Timed(step, sync)
    model = model.to(device)
    fit(model, [batch] * (steps + 3), step=timed, optimizer=torch.optim.AdamW(model.parameters(), 1e-3),
        amp=amp, device=device, progress=False)
    gaps = [b - a for a, b in zip(timed.stamps[2:], timed.stamps[3:])]
    return 1000 * statistics.median(gaps)


def cpu_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next(line for line in text.splitlines() if line.startswith("flags")).split()
        return {f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")}
    except (OSError, StopIteration):
        return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    steps = 5 if args.quick else args.steps
    records = []
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        threads = (1, 2) if device.type == "cpu" else (torch.get_num_threads(),)
        amps = [None, torch.bfloat16] + ([torch.float16] if device.type == "cuda" else [])
        for name, make in cases(device).items():
            for n in threads:
                torch.set_num_threads(n)
                row = {"device": device.type, "case": name, "threads": n}
                for amp in amps:
                    row[str(amp).replace("torch.", "") if amp else "float32"] = time_steps(make, device, amp, steps)
                row["bfloat16 / float32"] = row["bfloat16"] / row["float32"]
                records.append(row)
                print({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    if args.quick:
        return
    machine = {"cpu": platform.processor() or platform.machine(), "capability": torch.backends.cpu.get_cpu_capability(),
               "flags": cpu_flags(), "torch": torch.__version__, "load_average": os.getloadavg(),
               "date": datetime.date.today().isoformat(), "env": {k: os.environ[k] for k in os.environ
                                                                   if k.startswith(("ATEN_", "ONEDNN_", "MKL_"))}}
    for device in {r["device"] for r in records}:
        rows = [r for r in records if r["device"] == device]
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"train-amp-{device}.json").write_text(json.dumps({"machine": machine, "records": rows}, indent=1))
        cols = [c for c in rows[0] if c not in ("device",)]
        lines = [f"# Training step time, float32 vs autocast ({device})", "",
                 f"Machine: {machine['cpu']}, capability {machine['capability']}, flags {machine['flags']}, "
                 f"torch {machine['torch']}, load average {tuple(round(x, 1) for x in machine['load_average'])}, "
                 f"{machine['date']}. Median milliseconds per optimiser step (`benchmarks/train_amp.py`).", "",
                 "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in rows:
            lines.append("| " + " | ".join(f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
        (RESULTS / f"train-amp-{device}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
