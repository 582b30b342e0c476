"""Focal loss (RetinaNet): down-weight the many easy background examples of a one-stage detector.

A one-stage detector scores every anchor at every location, so almost all of its examples are
background (seed 004: "class imbalance: background regions more common than others"). Summed
cross-entropy is then dominated by easy negatives that are already classified well. Lin et al.,
*Focal Loss for Dense Object Detection* (ICCV 2017, eq. 5) multiply the cross-entropy by
``(1 - p_t)^gamma``, which vanishes for well-classified examples, and balance the classes with
``alpha_t``:

.. math:: FL(p_t) = -\\alpha_t (1 - p_t)^\\gamma \\log p_t,

where ``p = sigmoid(x)``, ``p_t = p`` for a positive (target 1) and ``1 - p`` for a negative, and
``alpha_t = alpha`` for positives, ``1 - alpha`` for negatives. With ``gamma = 0`` and no alpha it
is binary cross-entropy. The paper's defaults are ``alpha = 0.25``, ``gamma = 2``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_float

__all__ = ["sigmoid_focal_loss"]

_REDUCTIONS = ("none", "mean", "sum")


def sigmoid_focal_loss(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
) -> torch.Tensor:
    """RetinaNet's focal loss on logits, one binary problem per element (as torchvision's).

    The cross-entropy part is computed from the logits with
    ``F.binary_cross_entropy_with_logits`` (numerically stable for large ``|x|``).

    Args:
        inputs (Tensor[*]): logits ``x`` (any shape), floating point.
        targets (Tensor[*]): same shape, 1 for positives and 0 for negatives (soft targets in
            ``[0, 1]`` are allowed: ``p_t`` and ``alpha_t`` then interpolate).
        alpha (float | None): weight of the positives in ``[0, 1]``; ``None`` or ``-1``: no
            weighting (``alpha_t = 1``).
        gamma (float): focusing parameter ``>= 0``; 0 gives (alpha-weighted) cross-entropy.
        reduction (str): ``"none"`` (per element), ``"mean"`` or ``"sum"``.

    Returns:
        Tensor: the loss per element (shape of ``inputs``) or its mean / sum (a scalar).

    Raises:
        TypeError: for non-tensors or non-floating-point logits.
        ValueError: for different shapes or devices, or ``alpha``, ``gamma``, ``reduction`` out
            of range.

    Example:
        >>> x, t = torch.tensor([3.0, -3.0, 0.0]), torch.tensor([1.0, 0.0, 1.0])
        >>> sigmoid_focal_loss(x, t, alpha=None, gamma=0.0).tolist() == F.binary_cross_entropy_with_logits(
        ...     x, t, reduction="none").tolist()
        True
        >>> [round(v, 5) for v in sigmoid_focal_loss(x, t).tolist()]  # easy examples count ~1000x less
        [3e-05, 8e-05, 0.04332]
    """
    for t, name in ((inputs, "inputs"), (targets, "targets")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not inputs.is_floating_point():
        raise TypeError(f"inputs must be floating-point logits, got dtype {inputs.dtype}")
    if targets.shape != inputs.shape:
        raise ValueError(f"targets must have the shape of inputs {tuple(inputs.shape)}, got {tuple(targets.shape)}")
    if targets.device != inputs.device:
        raise ValueError(f"targets must be on the device of inputs ({inputs.device}), got {targets.device}")
    if alpha == -1:
        alpha = None
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1):
        raise ValueError(f"alpha must be in [0, 1], or None / -1 for no weighting, got {alpha!r}")
    check_float(gamma, "gamma", 0.0, low_inclusive=True)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    targets = targets.to(inputs.dtype)
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")  # -log p_t
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma  # the modulating factor (1 - p_t)^gamma
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss  # alpha_t
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
