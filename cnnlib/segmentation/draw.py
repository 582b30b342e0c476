"""Pictures of segmentations: label maps blended over images, and image / target / prediction grids.

:func:`overlay_mask` is plain numpy (no plotting library); :func:`draw_masks` imports matplotlib
inside the function, so importing :mod:`cnnlib.segmentation` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cnnlib._checks import check_float
from cnnlib.viz import to_hwc
from cnnlib.segmentation.metrics import mean_iou

__all__ = ["overlay_mask", "draw_masks"]

#: matplotlib's "tab10" colours (RGB in [0, 1]); class ``k >= 1`` is drawn in ``_TAB10[k % 10]``.
_TAB10 = np.array([[0.122, 0.467, 0.706], [1.0, 0.498, 0.055], [0.173, 0.627, 0.173], [0.839, 0.153, 0.157],
                   [0.58, 0.404, 0.741], [0.549, 0.337, 0.294], [0.89, 0.467, 0.761], [0.498, 0.498, 0.498],
                   [0.737, 0.741, 0.133], [0.09, 0.745, 0.812]])


def _label_map(mask: Any, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A label map as an int64 numpy array ``(H, W)`` (a leading axis of 1 is dropped)."""
    arr = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or (shape is not None and arr.shape != shape):
        want = f"{shape}" if shape is not None else "(H, W)"
        raise ValueError(f"{name} must be a label map of shape {want}, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def overlay_mask(image: torch.Tensor | np.ndarray, mask: torch.Tensor | np.ndarray,
                 colors: Sequence[Sequence[float] | None] | None = None, alpha: float = 0.5,
                 ignore_index: int | None = None) -> np.ndarray:
    """Blend a label map over an image: ``(1 - alpha) image + alpha colour`` where a class has a colour.

    Args:
        image (Tensor[C, H, W] | Tensor[H, W] | ndarray): uint8, or float in ``[0, 1]`` (clipped);
            ``C`` is 1 or 3; grey images become RGB.
        mask (Tensor[H, W] | ndarray): integer class labels.
        colors (Sequence | None): an RGB triple in ``[0, 1]`` per class (``None``: left
            uncoloured); default class 0 (background) uncoloured and class ``k`` in tab10's
            colour ``k % 10``.
        alpha (float): opacity of the colours in ``[0, 1]``.
        ignore_index (int | None): a label left uncoloured (e.g. 255 for void).

    Returns:
        ndarray: ``(H, W, 3)`` float64 RGB in ``[0, 1]``.

    Raises:
        TypeError / ValueError: for a bad image or mask, a mask of another size, a label without
            an entry in ``colors``, or ``alpha`` outside ``[0, 1]``.

    Example:
        >>> out = overlay_mask(torch.zeros(1, 2, 2), torch.tensor([[0, 1], [1, 0]]), colors=[None, (1., 0., 0.)])
        >>> out[0, 1].tolist(), out[0, 0].tolist()  # half red over black; background untouched
        ([0.5, 0.0, 0.0], [0.0, 0.0, 0.0])
    """
    check_float(alpha, "alpha", 0.0, 1.0, low_inclusive=True, high_inclusive=True)
    img = to_hwc(image)
    img = img / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)                  # grey -> (H, W, 3)
    img = img[..., :3]                                              # drop an alpha channel
    labels = _label_map(mask, "mask", img.shape[:2])
    out = img.copy()
    for k in np.unique(labels).tolist():
        if k == ignore_index:
            continue
        if colors is None:
            colour = None if k == 0 else _TAB10[k % 10]
        elif 0 <= k < len(colors):
            colour = colors[k]
        else:
            raise ValueError(f"colors has {len(colors)} entries, but mask holds label {k}")
        if colour is not None:
            hit = labels == k
            out[hit] = (1 - alpha) * img[hit] + alpha * np.asarray(colour, dtype=np.float64)[:3]
    return np.clip(out, 0.0, 1.0)


def draw_masks(images: torch.Tensor | Sequence, masks: torch.Tensor | Sequence, preds: Any = None,
               colors: Sequence[Sequence[float] | None] | None = None, alpha: float = 0.5,
               ignore_index: int | None = None, max_images: int = 8, size: float = 2.2) -> Any:
    """A grid with one row per image: the image, the target overlaid, and the prediction overlaid.

    The prediction's title gives the image's mean IoU against the target (classes present in
    either, :func:`~cnnlib.segmentation.metrics.mean_iou`).

    Args:
        images (Tensor[N, C, H, W] | Sequence): the images (see :func:`overlay_mask`).
        masks (Tensor[N, H, W] | Sequence): target label maps.
        preds (Tensor[N, H, W] | Tensor[N, K, H, W] | Sequence | None): predicted labels, or
            logits (argmax over ``K``); ``None``: two columns only.
        colors, alpha, ignore_index: as in :func:`overlay_mask`.
        max_images (int): draw at most this many rows.
        size (float): inches per panel.

    Returns:
        matplotlib Figure: the figure, ``min(N, max_images)`` rows by 2 or 3 columns.

    Raises:
        ValueError: for different numbers of images, masks and predictions, or bad inputs
            (see :func:`overlay_mask`).

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> fig = draw_masks(torch.rand(2, 3, 8, 8), torch.randint(0, 2, (2, 8, 8)), torch.randn(2, 2, 8, 8))
        >>> len(fig.axes), fig.axes[1].get_title()
        (6, 'target')
    """
    import matplotlib.pyplot as plt

    if isinstance(preds, torch.Tensor) and preds.dim() == 4:
        preds = preds.argmax(dim=1)                                   # logits (N, K, H, W) -> labels (N, H, W)
    n = len(images)
    for seq, name in ((masks, "masks"), (preds, "preds")):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{name} must have one entry per image ({n}), got {len(seq)}")
    rows, cols = min(n, max_images), 2 if preds is None else 3
    if rows == 0:
        raise ValueError("images is empty")
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i in range(rows):
        target = _label_map(masks[i], "masks[i]")
        base = overlay_mask(images[i], target, colors, alpha=0.0)      # the image itself, as RGB
        panels = [(base, "image"), (overlay_mask(images[i], target, colors, alpha, ignore_index), "target")]
        if preds is not None:
            pred = _label_map(preds[i], "preds[i]", target.shape)
            labelled = target if ignore_index is None else target[target != ignore_index]
            K = int(max(pred.max(), labelled.max(initial=0))) + 1      # every label that occurs
            iou = mean_iou(torch.from_numpy(pred), torch.from_numpy(target), K, ignore_index=ignore_index).item()
            panels.append((overlay_mask(images[i], pred, colors, alpha, ignore_index), f"prediction, IoU {iou:.2f}"))
        for ax, (picture, title) in zip(axes[i], panels):
            ax.imshow(picture, vmin=0, vmax=1)
            ax.set_title(title if i == 0 or title.startswith("prediction") else "", fontsize=9)
            ax.set_axis_off()
    fig.tight_layout()
    return fig
