"""Argument and input checks shared by :mod:`cnnlib.models` (private).

Constructors validate their arguments with these helpers before building a single layer, and
every network checks its input at the top of ``forward`` (before any layer runs), so a wrong
configuration or a too-small image fails with a message that names the argument, says what was
expected and shows what came, instead of a shape error deep inside a convolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

#: One spatial operation for :func:`min_input_size`: ``(kernel, stride, padding, dilation)``.
SpatialOp = tuple[int, int, int, int]


def check_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(value: object, name: str, low: float, high: float | None = None,
                low_inclusive: bool = False) -> float:
    """Return ``value`` as a float if ``low < value`` (or ``<=``) and ``value < high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    ok_low = value >= low if low_inclusive else value > low
    ok_high = high is None or value < high
    if not (ok_low and ok_high and math.isfinite(value)):
        lo = "[" if low_inclusive else "("
        hi = f"{high})" if high is not None else "inf)"
        raise ValueError(f"{name} must be in {lo}{low}, {hi}, got {value!r}")
    return float(value)


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_int_list(values: object, name: str, minimum: int = 1) -> tuple[int, ...]:
    """Return a non-empty sequence of ints ``>= minimum`` as a tuple."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of ints, got {values!r}")
    return tuple(check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(values))


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``floor((n + 2p - d(k - 1) - 1) / s) + 1``: the output size of a conv or pool (floor mode)."""
    return (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def min_input_size(ops: Sequence[SpatialOp]) -> int:
    """The smallest input size for which every op in the chain has an output of size >= 1.

    Walks the chain backwards: an op with output size ``m`` needs an input of at least
    ``(m - 1) s + d (k - 1) + 1 - 2p`` (and at least 1), since the output size is
    non-decreasing in the input size.

    Example:
        >>> min_input_size([(2, 2, 0, 1)] * 5)  # five 2x2 max pools, as in VGG
        32
    """
    need = 1
    for k, s, p, d in reversed(ops):
        need = max(1, (need - 1) * s + d * (k - 1) + 1 - 2 * p)
    return need


def check_4d(x: object, model: str, channels: str = "C") -> None:
    """Check that ``x`` is a 4-D tensor ``(N, C, H, W)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model} expects a torch.Tensor of shape (N, {channels}, H, W), "
                        f"got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{model} expects input of shape (N, {channels}, H, W) (4 dims), "
                         f"got shape {tuple(x.shape)}")


def check_images(x: object, model: str, in_channels: int, min_size: int,
                 exact_size: int | None = None) -> None:
    """Check a batch of images ``(N, C, H, W)`` before a network runs any layer.

    Raises:
        TypeError: if ``x`` is not a tensor.
        ValueError: if ``x`` is not 4-D, has the wrong number of channels, or is smaller than
            ``min_size`` (or not exactly ``exact_size``) in height or width.
    """
    check_4d(x, model, str(in_channels))
    _, C, H, W = x.shape
    if C != in_channels:
        raise ValueError(f"{model} expects {in_channels} input channels, got {C} "
                         f"(input shape {tuple(x.shape)})")
    if exact_size is not None and (H, W) != (exact_size, exact_size):
        raise ValueError(f"{model} needs input of size exactly {exact_size}x{exact_size}, got {H}x{W}")
    if H < min_size or W < min_size:
        raise ValueError(f"{model} needs input of at least {min_size}x{min_size} (its downsampling "
                         f"would leave an empty feature map), got {H}x{W}")
