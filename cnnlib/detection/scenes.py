"""Detection data in memory: a data set of ``(image, target)`` pairs as stacked tensors.

The detection sections draw their scenes once and train and evaluate on tensors; this is the one
function that turns any of the accepted forms into ``(images, boxes, labels)``.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from cnnlib._checks import check_int
from cnnlib.progress import progress as _progress

__all__ = ["scene_tensors"]


def _pack(items: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A chunk of ``(image, target)`` items as four tensors: a worker process sends each tensor
    through a file descriptor, and thousands of small ones would exhaust them."""
    boxes = [t["boxes"] for _, t in items]
    return (torch.stack([image for image, _ in items]), torch.cat(boxes).reshape(-1, 4),
            torch.cat([t["labels"] for _, t in items]), torch.tensor([len(b) for b in boxes]))


def _unpack(chunk: tuple) -> list:
    """The ``(image, {"boxes", "labels"})`` items of a chunk made by :func:`_pack`."""
    images, boxes, labels, counts = chunk
    return [(image, {"boxes": b, "labels": lab})
            for image, b, lab in zip(images, boxes.split(counts.tolist()), labels.split(counts.tolist()))]


def scene_tensors(data, name: str = "data", progress: bool = False, workers: int = 0,
                  ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Images ``(N, 3, H, W)`` with per-image boxes and labels, from a detection data set.

    Args:
        data: a data set of ``(image, {"boxes": Tensor[M, 4], "labels": Tensor[M]})`` pairs
            (e.g. :class:`~cnnlib.data.shapes.ShapesDataset`, drawn item by item), or an
            ``(images, boxes, labels)`` triple, returned as it is.
        name (str): how error messages call ``data``.
        progress (bool): show progress while drawing (a bar, or one line in the book).
        workers (int): processes that draw items in parallel (a ``DataLoader``'s
            ``num_workers``); 0 draws them in this process. Items come back in order, so the
            result does not depend on ``workers``.

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
        check_int(workers, "workers", minimum=0)
        try:
            n = len(data)
            if workers and n:
                # chunks of items, a few per worker, so the bar moves and the workers stay busy
                loader = DataLoader(data, batch_size=max(1, math.ceil(n / (8 * workers))), num_workers=workers,
                                    collate_fn=_pack)
                drawn = (item for chunk in loader for item in _unpack(chunk))
            else:
                drawn = (data[i] for i in range(n))
            items = list(_progress(drawn, desc=f"drawing {name}", enabled=progress, total=n))
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
