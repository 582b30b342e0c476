"""Pictures of detections: boxes with labels and scores on an image, precision-recall curves.

matplotlib is imported inside the functions, so importing :mod:`cnnlib.detection` stays light
and model code never pulls in plotting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from cnnlib.detection.boxes import validate_boxes
from cnnlib.viz import to_hwc

__all__ = ["draw_boxes", "plot_pr_curve"]


def draw_boxes(
    image: torch.Tensor | np.ndarray,
    boxes: torch.Tensor,
    labels: torch.Tensor | Sequence[int] | None = None,
    scores: torch.Tensor | Sequence[float] | None = None,
    class_names: Sequence[str] | None = None,
    ax: Any = None,
    linewidth: float = 2.0,
    captions: bool = True,
) -> Any:
    """Show an image with its boxes, one colour per class, captioned ``name score``.

    Pixel ``(i, j)`` is drawn as the unit square ``[j, j + 1) x [i, i + 1)``, so a box's
    coordinates are pixel edges: ``(0, 0, W, H)`` outlines the whole image.

    Args:
        image (Tensor[C, H, W] | Tensor[H, W] | ndarray): uint8, or float in ``[0, 1]``
            (clipped); ``C`` is 1 or 3.
        boxes (Tensor[K, 4]): boxes in ``(x1, y1, x2, y2)`` format, pixels.
        labels (Tensor[K] | None): integer class of each box (colour and caption).
        scores (Tensor[K] | None): score of each box, printed with two decimals.
        class_names (Sequence[str] | None): name of each class index; default the index.
        ax (matplotlib Axes | None): where to draw; default a new figure.
        linewidth (float): box line width.
        captions (bool): write ``name score`` above each box (``False``: coloured outlines only).

    Returns:
        matplotlib Axes: the axes drawn on.

    Raises:
        TypeError, ValueError: for a bad image, bad boxes (the message names the box), or
            labels/scores whose length is not ``K``.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = draw_boxes(torch.zeros(3, 32, 32, dtype=torch.uint8), torch.tensor([[4., 4, 20, 12]]),
        ...                 labels=torch.tensor([1]), scores=torch.tensor([0.93]), class_names=["disc", "square"])
        >>> len(ax.patches), ax.texts[0].get_text()
        (1, 'square 0.93')
    """
    import matplotlib.patches as mpatches
    import matplotlib.pyplot as plt

    arr = to_hwc(image)
    b = validate_boxes(boxes).detach().cpu()
    K = b.shape[0]
    labels = None if labels is None else torch.as_tensor(labels).reshape(-1).tolist()
    scores = None if scores is None else torch.as_tensor(scores).reshape(-1).tolist()
    for values, name in ((labels, "labels"), (scores, "scores")):
        if values is not None and len(values) != K:
            raise ValueError(f"{name} must have one entry per box ({K}), got {len(values)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    H, W = arr.shape[:2]
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255 if arr.dtype == np.uint8 else 1,
              extent=(0, W, H, 0))  # pixel edges at integers, like the box coordinates
    colours = plt.get_cmap("tab10")
    for k, (x1, y1, x2, y2) in enumerate(b.tolist()):
        label = int(labels[k]) if labels is not None else None
        colour = colours((label if label is not None else 0) % 10)
        ax.add_patch(mpatches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=linewidth))
        words = []
        if label is not None:
            named = class_names is not None and 0 <= label < len(class_names)
            words.append(class_names[label] if named else str(label))
        if scores is not None:
            words.append(f"{scores[k]:.2f}")
        if words and captions:
            ax.text(x1, y1, " ".join(words), color="white", fontsize=8, va="bottom",
                    bbox={"facecolor": colour, "edgecolor": "none", "pad": 1, "alpha": 0.8})
    ax.set_axis_off()
    return ax


def plot_pr_curve(
    precision: torch.Tensor,
    recall: torch.Tensor,
    ax: Any = None,
    label: str | None = None,
    envelope: bool = True,
) -> Any:
    """Plot a precision-recall curve and (optionally) its upper envelope, the area AP measures.

    Args:
        precision (Tensor[D]): precision after each detection (e.g. from
            :func:`~cnnlib.detection.metrics.precision_recall_curve`).
        recall (Tensor[D]): recall after each detection.
        ax (matplotlib Axes | None): where to draw; default a new figure.
        label (str | None): legend entry of the raw curve; the envelope's says its area
            (all-point AP).
        envelope (bool): also draw the envelope ``max precision at recall >= r`` as a shaded step.

    Returns:
        matplotlib Axes: the axes drawn on.

    Raises:
        ValueError: if the curves differ in length.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = plot_pr_curve(torch.tensor([1.0, 0.5, 2 / 3]), torch.tensor([0.5, 0.5, 1.0]))
        >>> ax.get_legend().get_texts()[1].get_text()
        'envelope, AP = 0.833'
    """
    import matplotlib.pyplot as plt

    from cnnlib.detection.metrics import ap_from_curve

    p = torch.as_tensor(precision, dtype=torch.float64).reshape(-1).cpu().numpy()
    r = torch.as_tensor(recall, dtype=torch.float64).reshape(-1).cpu().numpy()
    if p.shape != r.shape:
        raise ValueError(f"precision and recall must have the same length, got {p.shape[0]} and {r.shape[0]}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.2))
    ax.plot(r, p, marker=".", lw=1, label=label or "precision-recall")
    if envelope:
        mrec = np.concatenate(([0.0], r, [1.0]))
        mpre = np.maximum.accumulate(np.concatenate(([0.0], p, [0.0]))[::-1])[::-1]
        ap = ap_from_curve(torch.from_numpy(p), torch.from_numpy(r), "all")
        ax.step(mrec, mpre, where="pre", color="C1", label=f"envelope, AP = {ap:.3f}")
        ax.fill_between(mrec, mpre, step="pre", color="C1", alpha=0.15)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.05))
    ax.legend(loc="lower left")
    return ax
