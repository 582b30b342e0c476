"""Detection data in memory: a data set of ``(image, target)`` pairs as stacked tensors.

The detection sections draw their scenes once and train and evaluate on tensors; this is the one
function that turns any of the accepted forms into ``(images, boxes, labels)``.
"""

from __future__ import annotations

import torch

from cnnlib.progress import progress as _progress

__all__ = ["scene_tensors"]


def scene_tensors(data, name: str = "data", progress: bool = False,
                  ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Images ``(N, 3, H, W)`` with per-image boxes and labels, from a detection data set.

    Args:
        data: a data set of ``(image, {"boxes": Tensor[M, 4], "labels": Tensor[M]})`` pairs
            (e.g. :class:`~cnnlib.data.shapes.ShapesDataset`, drawn item by item), or an
            ``(images, boxes, labels)`` triple, returned as it is.
        name (str): how error messages call ``data``.
        progress (bool): show progress while drawing (a bar, or one line in the book).

    Returns:
        tuple: ``images Tensor[N, 3, H, W]``, a list of ``N`` boxes ``Tensor[M_i, 4]`` (xyxy)
        and a list of ``N`` labels ``Tensor[M_i]``.

    Raises:
        TypeError: for anything else; ValueError: for an empty set or mismatched lengths.

    Example:
        >>> from cnnlib.data.shapes import ShapesDataset
        >>> images, boxes, labels = scene_tensors(ShapesDataset(3))
        >>> images.shape, len(boxes), boxes[0].shape[1]
        (torch.Size([3, 3, 64, 64]), 3, 4)
    """
    if isinstance(data, (tuple, list)) and len(data) == 3 and isinstance(data[0], torch.Tensor):
        images, boxes, labels = data
        boxes, labels = list(boxes), list(labels)
    else:
        try:
            n = len(data)
            items = [data[i] for i in _progress(range(n), desc=f"drawing {name}", enabled=progress)]
        except TypeError as err:
            raise TypeError(f"{name} must be a data set of (image, target dict) pairs or an "
                            f"(images, boxes, labels) triple, got {type(data).__name__}") from err
        if not items:
            raise ValueError(f"{name} is empty")
        images = torch.stack([image for image, _ in items])
        boxes, labels = [t["boxes"] for _, t in items], [t["labels"] for _, t in items]
    if images.dim() != 4 or images.shape[1] != 3 or len(images) == 0 or len(boxes) != len(images) or len(labels) != len(images):
        raise ValueError(f"{name}: need images (N, 3, H, W), N >= 1, with N boxes and N label tensors, "
                         f"got images {tuple(images.shape)}, {len(boxes)} boxes, {len(labels)} labels")
    return images, boxes, labels
