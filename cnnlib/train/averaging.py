"""Polyak averaging of the weights during training (an exponential moving average)."""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["WeightAverage"]


class WeightAverage:
    """An exponential moving average of a model's weights and buffers (Polyak averaging).

    After every optimiser step ``t`` (from 1), each floating-point tensor ``e`` of the copy moves
    towards the model's ``m``: ``e <- d e + (1 - d) m`` with ``d = min(decay, (1 + t) / (10 + t))``,
    so the first steps, whose weights are far from good, fade quickly (the warm-up of
    TensorFlow's ``ExponentialMovingAverage(num_updates=...)``); integer buffers are copied. The
    averaged weights are usually better than the last ones of a noisy run (YOLOv5 and timm
    evaluate them). Used by :func:`fit` with ``ema_decay``.

    Example:
        >>> net = nn.Linear(1, 1, bias=False)
        >>> avg = WeightAverage(net, decay=0.5)
        >>> _ = net.weight.data.add_(1.0)
        >>> w0 = avg.module.weight.item(); avg.update(net)  # d = min(0.5, 2 / 11)
        >>> round(avg.module.weight.item() - w0, 4)  # moved (1 - d) of the way
        0.8182
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay!r}")
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.decay, self.updates = decay, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for avg, now in zip(self.module.state_dict().values(), model.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.lerp_(now.to(avg.dtype), 1 - d)
            else:
                avg.copy_(now)
