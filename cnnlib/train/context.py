"""What a step function receives besides the model and the batch, and how batches reach the device."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["StepContext", "to_device", "batch_size"]


def to_device(batch, device: torch.device):
    """Move every tensor in a (nested) tuple, list or dict to ``device``; other values stay.

    Example:
        >>> b = to_device((torch.zeros(2), [{"boxes": torch.ones(1, 4)}], "id"), torch.device("cpu"))
        >>> type(b).__name__, b[1][0]["boxes"].shape, b[2]
        ('tuple', torch.Size([1, 4]), 'id')
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=device.type == "cuda" and batch.device.type == "cpu")
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def batch_size(batch) -> int:
    """The number of examples in a batch: the length of its first tensor (searched depth-first).

    Example:
        >>> batch_size((torch.zeros(5, 3), torch.zeros(5)))
        5
    """
    if isinstance(batch, torch.Tensor):
        return len(batch) if batch.dim() else 1
    values = batch.values() if isinstance(batch, Mapping) else batch if isinstance(batch, (tuple, list)) else ()
    for value in values:
        if isinstance(value, (torch.Tensor, tuple, list, Mapping)):
            return batch_size(value)
    raise TypeError(f"cannot tell the batch size of a {type(batch).__name__}: it holds no tensor")


@dataclass
class StepContext:
    """What a step may need besides the model and the batch.

    Attributes:
        training (bool): ``True`` in training steps (gradients on, model in train mode).
        device (torch.device): where the model and the batch are.
        epoch (int): the current epoch, from 1 (0 in :func:`evaluate`).
        step (int): optimiser steps taken so far in this run (training batches done).
        optimizer (Optimizer | None): the optimiser of an automatically optimised step.
        clip_grad_norm (float | None): gradient-norm bound applied by :meth:`optimize`.
    """

    training: bool
    device: torch.device
    epoch: int = 0
    step: int = 0
    optimizer: torch.optim.Optimizer | None = None
    clip_grad_norm: float | None = None
    scaler: torch.amp.GradScaler | None = None
    amp: torch.dtype | None = None
    grad_norms: dict[str, torch.Tensor] = field(default_factory=dict)
    average: "WeightAverage | None" = None  # cnnlib.train.averaging

    def optimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer | None = None, name: str = "") -> None:
        """Zero the gradients, back-propagate ``loss``, clip, and step ``optimizer``.

        Gradients are clipped to ``clip_grad_norm`` over the optimiser's parameters (their norm
        before clipping is reported as ``grad_norm`` or ``grad_norm_<name>``); with float16
        mixed precision the loss is scaled by a ``GradScaler`` first. A manual step calls this
        once per optimiser (``ctx.optimize(loss_d, opt_d, "d")``).
        """
        optimizer = optimizer or self.optimizer
        if optimizer is None:
            raise ValueError("optimize needs an optimizer: pass it, or give fit one")
        if not self.training:
            raise RuntimeError("optimize called in a validation step (check ctx.training first)")
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False) if self.amp is not None else nullcontext():
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        if self.clip_grad_norm is not None:
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            norm = nn.utils.clip_grad_norm_(params, self.clip_grad_norm)
            self.grad_norms["grad_norm" + (f"_{name}" if name else "")] = norm.detach()
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()


