"""Step functions for :func:`cnnlib.train.fit`: what one batch of a task computes.

A step is any callable ``step(model, batch, ctx) -> dict[str, Tensor]``. The tasks of later
chapters bring their own (YOLO's is :class:`cnnlib.detection.detector.YOLOStep`); the ones here
are the generic ones.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["classification_step", "regression_step"]


def classification_step(loss_fn: Callable | None = None) -> Callable:
    """A step for ``(x, y)`` batches with integer labels: the loss and the argmax accuracy.

    Args:
        loss_fn (Callable | None): ``loss_fn(logits, y)``; default ``nn.CrossEntropyLoss()``.

    Returns:
        Callable: ``step(model, (x, y), ctx) -> {"loss": ..., "acc": ...}``.

    Example:
        >>> model = nn.Linear(2, 3)
        >>> _ = nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)  # every logit 0
        >>> out = classification_step()(model, (torch.ones(4, 2), torch.tensor([0, 1, 2, 0])), None)
        >>> round(out["loss"].item(), 4), out["acc"].item()  # ln 3; argmax picks class 0
        (1.0986, 0.5)
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        x, y = batch[0], batch[1]
        logits = model(x)
        return {"loss": loss_fn(logits, y), "acc": (logits.argmax(dim=1) == y).float().mean()}

    return step


def regression_step(loss_fn: Callable | None = None) -> Callable:
    """A step for ``(x, target)`` batches: ``loss_fn(model(x), target)`` (default mean squared error).

    Example:
        >>> out = regression_step()(nn.Identity(), (torch.ones(2, 3), torch.zeros(2, 3)), None)
        >>> out["loss"].item()
        1.0
    """
    loss_fn = loss_fn or nn.MSELoss()

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        return {"loss": loss_fn(model(batch[0]), batch[1])}

    return step
