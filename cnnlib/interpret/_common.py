"""Checks and helpers shared by the modules of :mod:`cnnlib.interpret` (private).

``_images`` is the package's image check (the shared :func:`cnnlib._checks.as_image_batch`, detached).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from cnnlib._checks import as_image_batch


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
    xb, single = as_image_batch(x, name, allow_single)
    return (xb.detach() if detach else xb), single
