"""Segmentation losses: soft Dice loss and class weights for (weighted) cross-entropy.

Per-pixel classification is trained with the cross-entropy of every pixel, averaged: that is
``F.cross_entropy(logits (N, K, H, W), target (N, H, W))`` as it stands, and **weighted
cross-entropy** is the same call with ``weight=`` a tensor of ``K`` class weights, so neither is
re-implemented here. When one class covers most pixels (background, or the road-free part of an
aerial photo), the plain mean lets a network score well by predicting background everywhere. Two
remedies:

- weight the rare classes up, with weights from the pixel frequencies (:func:`class_weights`):
  inverse frequency, or the *median frequency balancing* of Eigen & Fergus (ICCV 2015),
  ``w_c = median_freq / freq_c``;
- optimise the overlap itself: the soft Dice loss (Milletari et al., V-Net, 3DV 2016; Sudre et
  al. 2017 for several classes), ``1 - 2 sum(p t) / (sum p + sum t)`` with probabilities ``p``
  in place of the hard prediction, so it is differentiable. Its value does not change with the
  number of background pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_choice, check_float, check_int

__all__ = ["dice_loss", "class_weights"]


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0, ignore_background: bool = False,
              ignore_index: int | None = None) -> torch.Tensor:
    """Soft Dice loss, ``1 - mean_c (2 sum p_c t_c + eps) / (sum p_c + sum t_c + eps)``.

    Multi-class: ``p = softmax(logits)`` over the ``K >= 2`` channels and ``t`` the one-hot
    target; each class's sums run over all pixels of all images in the batch, then the per-class
    Dice values are averaged. Binary (one logit channel, or logits shaped like the target):
    ``p = sigmoid(logits)`` and the Dice of the foreground alone. ``eps`` smooths the ratio
    (Laplace smoothing): a class absent from both the target and the prediction scores about 1
    instead of ``0 / 0``. The denominator is the plain sum (Sudre et al.), not V-Net's sum of squares.

    Args:
        logits (Tensor[N, K, *] | Tensor[N, 1, *] | Tensor[N, *]): raw scores, floating point.
        target (Tensor[N, *]): integer labels in ``[0, K)`` (binary: 0/1, bool or float 0/1).
        eps (float): smoothing ``>= 0`` added to numerator and denominator.
        ignore_background (bool): leave class 0 out of the mean (multi-class only).
        ignore_index (int | None): target label whose pixels are left out of every sum.

    Returns:
        Tensor[]: the loss, differentiable with respect to ``logits``.

    Raises:
        TypeError: for non-tensors, integer logits or floating-point multi-class targets.
        ValueError: for shapes that do not match, labels outside ``[0, K)`` (binary: other than
            0 and 1), ``eps < 0``, or ``ignore_background`` with binary logits.

    Example:
        >>> logits = torch.tensor([[[[9.0, -9.0]], [[-9.0, 9.0]]]])  # (1, 2, 1, 2): confident and right
        >>> round(dice_loss(logits, torch.tensor([[[0, 1]]])).item(), 4)
        0.0
        >>> round(dice_loss(torch.zeros(1, 1, 2), torch.tensor([[[1, 0]]]), eps=0.0).item(), 4)  # p = 1/2
        0.5
    """
    for t, name in ((logits, "logits"), (target, "target")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if target.device != logits.device:
        raise ValueError(f"target must be on the device of logits ({logits.device}), got {target.device}")
    check_float(eps, "eps", 0.0, low_inclusive=True)
    binary = logits.shape == target.shape
    if not binary and not (logits.dim() == target.dim() + 1 and logits.shape[0] == target.shape[0]
                           and logits.shape[2:] == target.shape[1:]):
        raise ValueError(f"logits must have shape (N, K, *) for a target (N, *), or the target's shape, "
                         f"got logits {tuple(logits.shape)} and target {tuple(target.shape)}")
    if not binary and logits.shape[1] == 1:
        logits, binary = logits[:, 0], True
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    if binary:
        if ignore_background:
            raise ValueError("ignore_background needs multi-class logits (N, K, *) with K >= 2; "
                             "binary logits have only the foreground term")
        t = torch.where(valid, target, 0).to(logits.dtype)
        if ((t != 0) & (t != 1)).any():
            raise ValueError("a binary target must hold 0 and 1 only (or ignore_index)")
        p, t = torch.sigmoid(logits)[None], t[None]           # (1, N, *): one class, the foreground
        w = valid[None].to(logits.dtype)
    else:
        if target.is_floating_point() or target.is_complex():
            raise TypeError(f"a multi-class target must hold integer labels, got dtype {target.dtype}")
        K = logits.shape[1]
        labels = target[valid]
        if labels.numel() and (labels.min() < 0 or labels.max() >= K):
            raise ValueError(f"target labels must lie in [0, {K}) for logits with K={K} channels, got "
                             f"values in [{labels.min().item()}, {labels.max().item()}]")
        p = torch.softmax(logits, dim=1).movedim(1, 0)                                       # (K, N, *)
        t = F.one_hot(torch.where(valid, target, 0).long(), K).movedim(-1, 0).to(p.dtype)   # (K, N, *)
        w = valid[None].to(p.dtype)                                                          # (1, N, *)
        if ignore_background:
            p, t = p[1:], t[1:]
    p, t = (p * w).flatten(1), (t * w).flatten(1)                   # (K, N * pixels)
    dice = (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)  # (K,)
    return 1 - dice.mean()


def class_weights(target: torch.Tensor, num_classes: int, method: str = "inverse",
                  ignore_index: int | None = None) -> torch.Tensor:
    """Class weights from pixel frequencies, for ``F.cross_entropy(logits, target, weight=w)``.

    - ``"inverse"``: ``w_c = n / (K n_c)`` with ``n_c`` the pixels of class ``c`` and ``n`` all
      pixels (sklearn's ``compute_class_weight("balanced")``): the weighted pixel count of
      every class is then the same, and the mean weight per pixel is 1.
    - ``"median"``: median frequency balancing (Eigen & Fergus, ICCV 2015), ``w_c =
      median_freq / freq_c`` where ``freq_c`` is the pixels of class ``c`` divided by the pixels
      of the images in which ``c`` appears, and ``median_freq`` is the median of those
      frequencies over the classes that appear (the mean of the middle two for an even count).

    A class with no pixel gets weight 0 (it contributes nothing to the loss either way).

    Args:
        target (Tensor[N, H, W] | Tensor[H, W]): integer labels in ``[0, K)`` (or ``ignore_index``),
            usually the masks of the whole training set.
        num_classes (int): ``K``.
        method (str): ``"inverse"`` or ``"median"``.
        ignore_index (int | None): target label whose pixels are not counted.

    Returns:
        Tensor[K]: weights in the default float dtype, on the device of ``target``.

    Raises:
        TypeError: for a non-tensor or floating-point labels.
        ValueError: for another shape, labels outside ``[0, K)``, or an unknown ``method``.

    Example:
        >>> t = torch.tensor([[0, 0, 0, 1]])  # 3 background pixels, 1 foreground
        >>> class_weights(t, 2)  # 4 / (2 * 3), 4 / (2 * 1)
        tensor([0.6667, 2.0000])
    """
    num_classes = check_int(num_classes, "num_classes")
    check_choice(method, "method", ("inverse", "median"))
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor of shape (N, H, W) or (H, W), got {type(target).__name__}")
    if target.is_floating_point() or target.is_complex():
        raise TypeError(f"target must hold integer class labels, got dtype {target.dtype}")
    if target.dim() not in (2, 3):
        raise ValueError(f"target must have shape (N, H, W) or (H, W), got shape {tuple(target.shape)}")
    t = (target.flatten(1) if target.dim() == 3 else target.reshape(1, -1)).long()   # (N, P)
    valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
    labels = t[valid]
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"target labels must lie in [0, {num_classes}) for num_classes={num_classes}, got "
                         f"values in [{labels.min().item()}, {labels.max().item()}]")
    K = num_classes
    image = torch.arange(t.shape[0], device=t.device)[:, None].expand_as(t)         # (N, P)
    counts = torch.bincount((image * K + t)[valid], minlength=t.shape[0] * K).reshape(-1, K).double()  # (N, K)
    n_c = counts.sum(0)                                                               # (K,)
    present = n_c > 0
    if method == "inverse":
        w = n_c.sum() / (K * n_c.clamp(min=1))
    else:
        pixels_where_present = ((counts > 0) * counts.sum(1, keepdim=True)).sum(0)     # (K,)
        freq = n_c / pixels_where_present.clamp(min=1)
        median = freq[present].quantile(0.5) if present.any() else freq.new_ones(())
        w = median / freq.clamp(min=1e-300)
    return torch.where(present, w, 0.0).to(torch.get_default_dtype())
