"""Shared argument checks for :mod:`cnnlib.ops` (private)."""

from __future__ import annotations

import torch

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def pair(value: int | tuple[int, int] | list[int], name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``(a, b)`` from an int or a pair, checking type and lower bound."""
    if isinstance(value, (tuple, list)):
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
        raise ValueError(f"{name} must have shape {shape_doc} ({ndim} dims), got {tuple(x.shape)}")
    return x


def check_mode(mode: str) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    return mode
