"""Checks and helpers shared by the modules of :mod:`cnnlib.interpret` (private).

``_images`` is the package's one image check; the other modules import it from here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode; restore every submodule's own ``training`` flag afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _check_model(model: object, layers: Sequence[object] = ()) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    for layer in layers:
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be an nn.Module inside model, got {type(layer).__name__}")
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a submodule of model {type(model).__name__}")


def _images(x: object, name: str = "x", allow_single: bool = True, detach: bool = True) -> tuple[torch.Tensor, bool]:
    """``(x as (N, C, H, W), whether x was one (C, H, W) image)``, detached unless ``detach=False``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    dims = (3, 4) if allow_single else (4,)
    if x.dim() not in dims or not x.is_floating_point():
        shapes = "(C, H, W) or (N, C, H, W)" if allow_single else "(N, C, H, W)"
        raise ValueError(f"{name} must be a floating-point tensor of shape {shapes}, "
                         f"got {x.dtype} {tuple(x.shape)}")
    xb = x[None] if x.dim() == 3 else x
    return (xb.detach() if detach else xb), x.dim() == 3
