"""Input checks shared by the modules of :mod:`cnnlib.metric_learning` (private).

They build on :mod:`cnnlib._checks`: embeddings are floating-point ``(N, D)`` rows, labels one
integer per row, and two tensors used together share their dtype and device.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_like, check_tensor


def embeddings(x: object, name: str = "embeddings", allow_single: bool = False) -> torch.Tensor:
    """``x`` as floating-point rows ``(N, D)``; with ``allow_single`` a vector ``(D,)`` becomes ``(1, D)``."""
    if allow_single and isinstance(x, torch.Tensor) and x.dim() == 1:
        x = x[None]
    check_tensor(x, name, 2, "(N, D)" if not allow_single else "(N, D) or (D,)")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def paired(a: torch.Tensor, b: torch.Tensor, a_name: str, b_name: str, same_rows: bool = True) -> None:
    """Check that ``a`` and ``b`` have the same width ``D`` (and rows), dtype and device."""
    if a.shape[1] != b.shape[1] or (same_rows and a.shape[0] != b.shape[0]):
        want = f"{tuple(a.shape)}" if same_rows else f"(M, {a.shape[1]})"
        raise ValueError(f"{b_name} must have shape {want} to match {a_name}, got {tuple(b.shape)}")
    check_like(b, b_name, a, a_name)


def labels(y: object, n: int, name: str = "labels") -> torch.Tensor:
    """``y`` as an integer tensor ``(n,)`` (bool and float labels are refused)."""
    check_tensor(y, name, 1, f"({n},)")
    if y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
        raise TypeError(f"{name} must be an integer tensor, got {y.dtype}")
    if len(y) != n:
        raise ValueError(f"{name} must have one entry per embedding ({n}), got {len(y)}")
    return y
