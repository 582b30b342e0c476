"""Argument checks shared by :mod:`cnnlib.ops` (private).

Every public function validates its inputs at the boundary with these helpers, so error messages
read the same everywhere: they name the argument, say what was expected and show what came.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def check_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def pair(value: int | Sequence[int], name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``(a, b)`` from an int or a pair of ints, each ``>= minimum``."""
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        a, b = value
    else:
        a = b = value
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(a), int(b)


def check_tensor(x: object, name: str, ndim: int, shape_doc: str) -> torch.Tensor:
    """Check that ``x`` is a tensor with ``ndim`` dimensions; ``shape_doc`` names them."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_doc}, got {type(x).__name__}")
    if x.dim() != ndim:
        raise ValueError(f"{name} must have shape {shape_doc} ({ndim} dims), got shape {tuple(x.shape)}")
    return x


def check_like(t: torch.Tensor, name: str, ref: torch.Tensor, ref_name: str = "x") -> None:
    """Check that ``t`` has the dtype and device of ``ref`` (no function here moves data)."""
    if t.dtype != ref.dtype:
        raise TypeError(f"{name} must have the dtype of {ref_name} ({ref.dtype}), got {t.dtype}")
    if t.device != ref.device:
        raise ValueError(f"{name} must be on the device of {ref_name} ({ref.device}), got {t.device}")


def check_bias(bias: object, shape: tuple[int, ...], ref: torch.Tensor) -> None:
    """Check that ``bias`` is ``None`` or a tensor of ``shape`` like ``ref``."""
    if bias is None:
        return
    if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != shape:
        got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        raise ValueError(f"bias must be None or a Tensor of shape {shape}, got {got}")
    check_like(bias, "bias", ref)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value
