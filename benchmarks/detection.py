"""Time non-max suppression: the vectorised cnnlib.detection.nms against the teaching loop
nms_naive, on 1,000 and 10,000 random boxes, on the CPU and, when one is present, on a CUDA GPU.

The boxes are random squares-ish boxes in a 1024 x 1024 image (centres uniform, sides uniform in
16..128 pixels, independent width and height) with uniform random scores, IoU threshold 0.5: at
10,000 boxes every box overlaps many others, as the raw output of a dense detector does. Before
timing, both functions must return the same indices (the script stops otherwise). Times are
medians of torch.utils.benchmark's blocked_autorange (at least three calls) with all of torch's CPU
threads; on CUDA the timer synchronises the device.

Writes benchmarks/results/detection-<device>.md (the table printed here) and
detection-<device>.json: a list of flat records, one per (case, method), with ``case`` like
"10000 boxes", ``method`` in nms/nms_naive, ``ms``, ``ratio`` (to nms), ``kept`` (boxes kept),
``pairs`` (overlapping pairs above the threshold) and ``rounds`` (fixed-point rounds of nms), and
the machine, including its load average when the run started and ended (the machine may be shared).
Usage, from the repository root:

    .venv/bin/python benchmarks/detection.py            # all devices present; writes results/
    .venv/bin/python benchmarks/detection.py --quick    # 1,000 boxes only, short runs, writes nothing
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path

import torch

from cnnlib.bench import describe_machine, median_ms
from cnnlib.detection import nms, nms_naive, nms_trace

METHODS = {"nms": nms, "nms_naive": nms_naive}
SIZES = (1_000, 10_000)
IMAGE, MIN_SIDE, MAX_SIDE, IOU_THRESHOLD = 1024.0, 16.0, 128.0, 0.5


def random_boxes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random xyxy boxes in a 1024 x 1024 image and uniform scores (float32)."""
    gen = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=gen) * IMAGE
    size = MIN_SIDE + torch.rand(n, 2, generator=gen) * (MAX_SIDE - MIN_SIDE)
    return torch.cat([centre - size / 2, centre + size / 2], dim=1), torch.rand(n, generator=gen)


def run(device: str, quick: bool) -> list[dict]:
    """Check and time both methods on every size; one flat record per (case, method)."""
    records = []
    for n in SIZES[:1] if quick else SIZES:
        boxes, scores = (t.to(device) for t in random_boxes(n, seed=n))
        kept = {name: fn(boxes, scores, IOU_THRESHOLD) for name, fn in METHODS.items()}
        if not torch.equal(kept["nms"], kept["nms_naive"]):
            raise RuntimeError(f"nms and nms_naive disagree on {n} boxes")
        trace = nms_trace(boxes, scores, IOU_THRESHOLD)
        case = {"case": f"{n} boxes", "N": n, "kept": int(kept["nms"].numel()),
                "pairs": int(trace.pairs.shape[0]), "rounds": trace.rounds, "iou_threshold": IOU_THRESHOLD}
        # at least three calls, so one disturbed call is not the median
        times = {name: median_ms(fn, boxes, scores, IOU_THRESHOLD, min_run_time=0.1 if quick else 1.0,
                                 num_threads=torch.get_num_threads(), min_calls=3)
                 for name, fn in METHODS.items()}
        for name in METHODS:
            records.append({**case, "method": name, "ms": times[name], "ratio": times[name] / times["nms"]})
    return records


def markdown(meta: dict, records: list[dict]) -> str:
    """The results as a short paragraph and a markdown table, one row per case."""
    busy = meta["load_average"] > (os.cpu_count() or 1) / 2  # the run's own load shows only in the end value
    lines = [
        f"Measured on `{meta['device']}` ({meta['hardware']}), torch {meta['torch_version']}, float32, "
        f"{meta['date']}; load average {meta['load_average']:.1f} when the run started and "
        f"{meta['load_average_end']:.1f} when it ended"
        + (" (other processes were using the machine, so times are pessimistic)" if busy else "")
        + ". Median time per call; in brackets the time relative to `nms`. Random boxes in a 1024×1024 "
        f"image, sides 16-128 px, IoU threshold {IOU_THRESHOLD}; both functions return the same indices.",
        "",
        "| boxes | kept | overlapping pairs | rounds | `nms` (vectorised) | `nms_naive` (loop) | speed-up |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for i in range(0, len(records), len(METHODS)):
        fast, slow = records[i:i + len(METHODS)]
        lines.append(f"| {fast['N']:,} | {fast['kept']:,} | {fast['pairs']:,} | {fast['rounds']} | "
                     f"{fast['ms']:.1f} ms (1.0×) | {slow['ms']:.1f} ms ({slow['ratio']:.1f}×) | {slow['ratio']:.1f}× |")
    lines += ["", "`rounds` is the number of fixed-point rounds `nms` needed (the longest chain of suppressions "
              "plus one); `nms_naive` makes one Python iteration per kept box."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 boxes only, short timings, write nothing")
    parser.add_argument("--device", choices=("cpu", "cuda"), action="append",
                        help="device to time (repeatable); default: cpu, and cuda when present")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results",
                        help="folder for detection-<device>.md/.json (default: benchmarks/results)")
    args = parser.parse_args()
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is visible")
        meta = {"device": device, "hardware": describe_machine(device), "torch_version": torch.__version__,
                "threads": torch.get_num_threads(), "date": datetime.date.today().isoformat(),
                "load_average": os.getloadavg()[0]}
        results = run(device, args.quick)
        meta["load_average_end"] = os.getloadavg()[0]
        records = [{**r, **meta} for r in results]
        table = markdown(meta, records)
        print(table)
        if not args.quick:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"detection-{device}.md").write_text(table, encoding="utf-8")
            (args.out / f"detection-{device}.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
