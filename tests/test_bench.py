"""Tests for cnnlib.bench: median_ms and describe_machine.

Reference: ``time.sleep`` of a known length (the median of sleeping 20 ms lies between 20 ms and
a generous upper bound), and a counter written in the test for how often ``fn`` is called.
"""

import time

import pytest
import torch

from cnnlib.bench import describe_machine, median_ms


def test_median_ms_measures_a_known_sleep():
    t = median_ms(time.sleep, 0.02, min_run_time=0.1)
    assert 19.0 <= t < 200.0


def test_median_ms_passes_arguments_and_calls_enough_times():
    calls = []

    def fn(a, b=0):
        calls.append((a, b))

    median_ms(fn, 1, b=2, min_run_time=0.001, min_calls=5)
    assert len(calls) >= 5 and set(calls) == {(1, 2)}


def test_errors_and_machine():
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        median_ms(3)
    with pytest.raises(ValueError, match=r"min_run_time must be in \(0.0, inf\), got 0"):
        median_ms(print, min_run_time=0)
    with pytest.raises(ValueError, match="min_calls must be >= 1, got 0"):
        median_ms(print, min_calls=0)
    assert "cores" in describe_machine("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            describe_machine("cuda")
