"""Timing a function the way the book's speed tables do: the median of many calls, in milliseconds.

``torch.utils.benchmark.Timer`` does the careful part: it warms up, synchronises CUDA before
reading the clock, runs the call in blocks long enough for the clock's resolution, and fixes the
number of CPU threads. The median of the blocks is robust to a call disturbed by another process.
Figures measured this way are shown, never asserted exactly: they depend on the machine.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable

import torch
from torch.utils import benchmark

from cnnlib._checks import check_float, check_int

__all__ = ["median_ms", "describe_machine"]


def median_ms(fn: Callable[..., object], *args: object, min_run_time: float = 0.2, num_threads: int = 1,
              min_calls: int = 1, **kwargs: object) -> float:
    """Median milliseconds per call of ``fn(*args, **kwargs)``, by ``torch.utils.benchmark``.

    Args:
        fn (Callable): the function to time; ``args`` and ``kwargs`` are passed to it unchanged.
        min_run_time (float): seconds to keep calling it (``Timer.blocked_autorange``).
        num_threads (int): CPU threads torch may use while timing (``Timer``'s default, 1, makes
            figures comparable across machines; ``torch.get_num_threads()`` measures the machine).
        min_calls (int): call a slow ``fn`` one at a time until at least this many times are in,
            so that one disturbed call is never the median.

    Returns:
        float: the median time per call in milliseconds.

    Raises:
        TypeError: if ``fn`` is not callable, or a setting has the wrong type.
        ValueError: for a non-positive ``min_run_time``, ``num_threads`` or ``min_calls``.

    Example:
        >>> x = torch.randn(64, 64)
        >>> 0 < median_ms(torch.matmul, x, x, min_run_time=0.01) < 1000
        True
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_float(min_run_time, "min_run_time", 0.0)
    check_int(num_threads, "num_threads")
    check_int(min_calls, "min_calls")
    timer = benchmark.Timer("fn(*args, **kwargs)", globals={"fn": fn, "args": args, "kwargs": kwargs},
                            num_threads=num_threads)
    times = list(timer.blocked_autorange(min_run_time=min_run_time).times)  # seconds per call, per block
    while len(times) < min_calls:
        times += timer.timeit(1).times
    return statistics.median(times) * 1e3


def describe_machine(device: str | torch.device = "cpu") -> str:
    """A one-line description of the machine timings come from: the GPU, or the CPU and its threads.

    Args:
        device (str | torch.device): ``"cpu"`` or a CUDA device.

    Returns:
        str: e.g. ``"NVIDIA H100 80GB HBM3"`` or ``"AMD EPYC 7B13, 2 cores, 2 torch threads"``.

    Raises:
        ValueError: for a CUDA device when CUDA is not available.

    Example:
        >>> "torch threads" in describe_machine("cpu")
        True
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device is {device} but no CUDA device is visible")
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
