"""The colour baseline for the roads: a pixel is road if it is grey-ish and of middle brightness.

Before training a network, try the obvious rule: asphalt is grey and neither dark nor bright.
:func:`fit_colour_rule` tunes the three thresholds of such a rule (:class:`ColourRule`) on
training tiles of :mod:`cnnlib.data.roads` to the best road IoU, and
:func:`colour_rule_baseline` applies it. It reaches a road IoU of about 0.27 on held-out tiles,
because fallow fields, roofs and shadows are grey too and dirt roads are not: the measure of how
much a segmentation network must learn beyond colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnnlib._checks import check_tensor

__all__ = ["ColourRule", "fit_colour_rule", "colour_rule_baseline"]


@dataclass(frozen=True)
class ColourRule:
    """The colour baseline: a pixel is road if it is grey-ish and of middle brightness.

    A pixel with RGB ``(r, g, b)`` has brightness ``(r + g + b) / 3`` and chroma
    ``max(r, g, b) - min(r, g, b)`` (0 for a grey); it is road when
    ``chroma <= max_chroma`` and ``min_value <= brightness <= max_value``.
    """

    max_chroma: float
    min_value: float
    max_value: float


_BINS = 64  # histogram bins per feature when the rule is tuned


def _features(images: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Chroma and brightness ``(N, H, W)`` of images ``(N, 3, H, W)``."""
    check_tensor(images, name, 4, "(N, 3, H, W)")
    if images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"{name} must be float RGB images (N, 3, H, W) in [0, 1], "
                         f"got {images.dtype} {tuple(images.shape)}")
    return images.amax(1) - images.amin(1), images.mean(1)


def fit_colour_rule(images: torch.Tensor, masks: torch.Tensor) -> ColourRule:
    """Tune the three thresholds of a :class:`ColourRule` for the best foreground IoU.

    Every rule on a 64-bin grid of chroma and brightness is scored at once from two 2-D
    histograms (road pixels and background pixels) and their cumulative sums.

    Args:
        images (Tensor[N, 3, H, W]): training tiles, float RGB in [0, 1].
        masks (Tensor[N, H, W]): their masks, road = 1.

    Returns:
        ColourRule: the thresholds with the highest IoU ``TP / (TP + FP + FN)`` on these tiles.

    Raises:
        ValueError: for mismatched shapes or masks without any road pixel.

    Example:
        >>> from cnnlib.data.roads import roads_tensors
        >>> images, masks = roads_tensors(20, seed=0)
        >>> rule = fit_colour_rule(images, masks)
        >>> 0 <= rule.min_value <= rule.max_value <= 1, type(rule.max_chroma).__name__
        (True, 'float')
    """
    chroma, value = _features(images, "images")
    check_tensor(masks, "masks", 3, "(N, H, W)")
    if masks.shape != chroma.shape:
        raise ValueError(f"masks must have shape {tuple(chroma.shape)} to match images, got {tuple(masks.shape)}")
    road = masks.reshape(-1) == 1
    if not road.any():
        raise ValueError("masks hold no road pixel: nothing to tune the rule on")
    c = (chroma.reshape(-1).clamp(0, 1) * _BINS).long().clamp(max=_BINS - 1)
    v = (value.reshape(-1).clamp(0, 1) * _BINS).long().clamp(max=_BINS - 1)
    cell = (c * _BINS + v).cpu()
    hist = [torch.bincount(cell[k], minlength=_BINS * _BINS).reshape(_BINS, _BINS).double()
            for k in (road.cpu(), ~road.cpu())]  # (chroma bin, value bin) counts
    # pixels with chroma bin <= i and value bin < j: cumulative over chroma, then over value
    cum = [torch.nn.functional.pad(h.cumsum(0).cumsum(1), (1, 0)) for h in hist]  # (B, B + 1)
    tp = cum[0][:, None, 1:] - cum[0][:, :-1, None]  # (i, lo, hi): value bins lo .. hi
    fp = cum[1][:, None, 1:] - cum[1][:, :-1, None]
    iou = tp / (road.sum().item() + fp).clamp(min=1)
    iou = torch.where(torch.ones(_BINS, _BINS).triu().bool(), iou, torch.zeros(()))  # lo <= hi
    i, lo, hi = (int(k) for k in np.unravel_index(int(iou.argmax()), iou.shape))
    return ColourRule(max_chroma=(i + 1) / _BINS, min_value=lo / _BINS, max_value=(hi + 1) / _BINS)


def colour_rule_baseline(images: torch.Tensor, rule: ColourRule) -> torch.Tensor:
    """Road masks predicted by a colour rule alone: grey-ish, mid-brightness pixels are road.

    Args:
        images (Tensor[N, 3, H, W]): float RGB in [0, 1].
        rule (ColourRule): the thresholds, e.g. from :func:`fit_colour_rule` on a training split.

    Returns:
        Tensor[N, H, W]: int64, 1 where the rule says road, on the device of ``images``.

    Raises:
        TypeError: if ``rule`` is not a ColourRule. ValueError: for images of another shape.

    Example:
        >>> x = torch.tensor([0.5, 0.5, 0.5, 0.2, 0.6, 0.2]).reshape(2, 3, 1, 1)  # grey, green
        >>> colour_rule_baseline(x, ColourRule(0.1, 0.3, 0.7)).flatten().tolist()
        [1, 0]
    """
    chroma, value = _features(images, "images")
    if not isinstance(rule, ColourRule):
        raise TypeError(f"rule must be a ColourRule, got {type(rule).__name__}")
    road = (chroma <= rule.max_chroma) & (value >= rule.min_value) & (value <= rule.max_value)
    return road.long()
