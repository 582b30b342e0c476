"""The training step of a segmentation network for :func:`cnnlib.train.fit`.

A batch is ``(images (N, C, H, W), masks (N, H, W))``; the model returns logits ``(N, K, H, W)``.
The step computes the chosen loss and two metrics of the batch: pixel accuracy and IoU (of the
foreground for two classes, the mean IoU otherwise). The engine averages them over the batches
of an epoch, weighted by batch size, so ``iou`` in the history is a mean of batch IoUs, close to
but not the dataset IoU of :func:`~cnnlib.segmentation.metrics.iou_per_class` over the whole set.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib._checks import check_choice, check_int
from cnnlib.segmentation.losses import dice_loss
from cnnlib.segmentation.metrics import iou_per_class, pixel_accuracy

__all__ = ["segmentation_step", "SEGMENTATION_LOSSES"]

#: The losses :func:`segmentation_step` accepts.
SEGMENTATION_LOSSES = ("ce", "weighted_ce", "dice", "ce+dice")


def _masks(mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Masks as int64 ``(N, H, W)``; a channel axis of 1 and whole-number floats are accepted."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"a segmentation batch is (images, masks) with masks a Tensor[N, H, W], "
                        f"got {type(mask).__name__}")
    if mask.dim() == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]                                   # (N, 1, H, W) -> (N, H, W)
    if mask.dim() != 3 or mask.shape[0] != x.shape[0] or mask.shape[1:] != x.shape[2:]:
        raise ValueError(f"masks must have shape (N, H, W) = ({x.shape[0]}, {x.shape[2]}, {x.shape[3]}) "
                         f"for images {tuple(x.shape)}, got {tuple(mask.shape)}")
    if mask.is_floating_point() and not torch.equal(mask, mask.round()):
        raise ValueError("floating-point masks must hold whole class labels (0., 1., ...)")
    return mask.long()


def segmentation_step(loss: str = "ce", weight: torch.Tensor | None = None, num_classes: int | None = None,
                      ignore_index: int | None = None, dice_eps: float = 1.0) -> Callable:
    """A step for ``(images, masks)`` batches: a per-pixel loss, pixel accuracy and IoU.

    Losses: ``"ce"`` is ``F.cross_entropy(logits, masks)``, the mean over pixels;
    ``"weighted_ce"`` is the same with ``weight=weight`` (compute it once over the training masks
    with :func:`~cnnlib.segmentation.losses.class_weights`); ``"dice"`` is
    :func:`~cnnlib.segmentation.losses.dice_loss`; ``"ce+dice"`` is their sum (cross-entropy
    weighted by ``weight`` if given). ``iou`` is the IoU of class 1 for two classes (a batch with
    class 1 in neither the masks nor the prediction counts as 1: nothing to find, nothing found),
    and the mean IoU over the classes that occur otherwise.

    Args:
        loss (str): one of :data:`SEGMENTATION_LOSSES`.
        weight (Tensor[K] | None): class weights; required by ``"weighted_ce"``, optional for
            ``"ce+dice"``, refused by the others. Moved to the logits' device and dtype.
        num_classes (int | None): ``K``; checked against the model's output channels if given.
        ignore_index (int | None): mask label left out of the loss and the metrics.
        dice_eps (float): the Dice loss's smoothing.

    Returns:
        Callable: ``step(model, (x, masks), ctx) -> {"loss", "pixel_acc", "iou"}``.

    Raises:
        ValueError: for an unknown ``loss``, a missing or unexpected ``weight``, and in the step
            for masks of another shape or logits with another number of classes.
        TypeError: for a batch that is not ``(images, masks)``.

    Example:
        >>> model = nn.Conv2d(3, 2, 1)
        >>> out = segmentation_step("ce+dice")(model, (torch.rand(2, 3, 8, 8), torch.randint(0, 2, (2, 8, 8))), None)
        >>> sorted(out), out["loss"].requires_grad
        (['iou', 'loss', 'pixel_acc'], True)
    """
    check_choice(loss, "loss", SEGMENTATION_LOSSES)
    if loss == "weighted_ce" and weight is None:
        raise ValueError("loss='weighted_ce' needs weight (Tensor[K]), e.g. class_weights(train_masks, K, 'median')")
    if weight is not None:
        if loss in ("ce", "dice"):
            raise ValueError(f"weight is used by loss='weighted_ce' or 'ce+dice', not loss={loss!r}")
        if not isinstance(weight, torch.Tensor) or weight.dim() != 1:
            raise ValueError(f"weight must be a Tensor[K] of class weights, got "
                             f"{tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__}")
    if num_classes is not None:
        check_int(num_classes, "num_classes", 2)
    ce_index = -100 if ignore_index is None else ignore_index  # F.cross_entropy's default: ignore nothing real

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], torch.Tensor)):
            raise TypeError(f"a segmentation batch is (images, masks), got {type(batch).__name__}")
        x = batch[0]
        if x.dim() != 4:
            raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}")
        mask = _masks(batch[1], x)
        logits = model(x)                                                   # (N, K, H, W)
        K = logits.shape[1]
        if (num_classes is not None and K != num_classes) or K < 2 or logits.shape[2:] != mask.shape[1:]:
            raise ValueError(f"the model must return logits (N, K, H, W) = (N, {num_classes or 'K >= 2'}, "
                             f"{mask.shape[1]}, {mask.shape[2]}), got {tuple(logits.shape)}")
        w = None if weight is None else weight.to(logits.device, logits.dtype)
        if w is not None and len(w) != K:
            raise ValueError(f"weight must have one entry per class ({K}), got {len(w)}")
        terms = []
        if loss != "dice":
            terms.append(F.cross_entropy(logits, mask, weight=w, ignore_index=ce_index))
        if loss in ("dice", "ce+dice"):
            terms.append(dice_loss(logits, mask, eps=dice_eps, ignore_index=ignore_index))
        with torch.no_grad():
            pred = logits.argmax(dim=1)                                     # (N, H, W)
            acc = pixel_accuracy(pred, mask, ignore_index)
            iou = iou_per_class(pred, mask, K, ignore_index=ignore_index)   # (K,)
            iou = torch.nan_to_num(iou[1], nan=1.0) if K == 2 else iou.nanmean()
        return {"loss": sum(terms), "pixel_acc": acc, "iou": iou}

    return step
