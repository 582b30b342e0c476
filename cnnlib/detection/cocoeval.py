"""The reference evaluation: the same detections scored by ``pycocotools``' ``COCOeval``.

:func:`~cnnlib.detection.mean_average_precision` re-implements COCO's evaluation so it can be
read; :func:`coco_eval` hands the same predictions to the official code (Lin et al., 2014), so a
chapter or a test can check the two agree. The predictions and targets are in the format of
:func:`~cnnlib.detection.mean_average_precision` (one dict per image, xyxy boxes, labels
``0 .. K-1``); here they become COCO's dicts: boxes ``[x, y, w, h]`` in float64, image ids
``1 .. N`` in list order, category id = label.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["coco_eval"]


def _rows(items: object, name: str, keys: tuple[str, ...]) -> list[dict]:
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise TypeError(f"{name} must be a list of dicts (one per image), got {type(items).__name__}")
    for i, d in enumerate(items):
        missing = [k for k in keys if not isinstance(d, dict) or k not in d]
        if missing:
            raise ValueError(f"{name}[{i}] must be a dict with keys {keys}, missing {missing}")
    return list(items)


def coco_eval(preds: Sequence[dict], targets: Sequence[dict],
              iou_thresholds: Sequence[float] | None = None):
    """Evaluate detections with ``pycocotools`` (bbox); return the ``COCOeval`` after ``summarize()``.

    Args:
        preds (list[dict]): per image, ``boxes`` (Tensor[D, 4], xyxy), ``scores`` (Tensor[D]) and
            ``labels`` (Tensor[D], int).
        targets (list[dict]): per image, ``boxes`` (Tensor[G, 4], xyxy) and ``labels``
            (Tensor[G], int).
        iou_thresholds (Sequence[float] | None): replaces COCO's ``0.5:0.05:0.95`` when given.

    Returns:
        pycocotools.cocoeval.COCOeval: ``.stats[:3]`` are mAP@[.5:.95], mAP@0.5 and mAP@0.75;
        ``.eval["precision"]`` the ``(T, 101, K, areas, maxDets)`` precision table.

    Raises:
        TypeError: if ``preds`` or ``targets`` is not a list of dicts.
        ValueError: for a missing key, lists of different lengths, or no detection at all
            (``pycocotools`` cannot load an empty result list).

    Example:
        >>> gt = [{"boxes": torch.tensor([[0., 0, 10, 10]]), "labels": torch.tensor([0])}]
        >>> hit = [{"boxes": torch.tensor([[0., 0, 10, 10]]), "scores": torch.tensor([0.9]),
        ...         "labels": torch.tensor([0])}]
        >>> coco_eval(hit, gt).stats[:3].round(6).tolist()  # a perfect detection
        [1.0, 1.0, 1.0]
    """
    from pycocotools.coco import COCO  # imported when called: reading cnnlib needs no pycocotools
    from pycocotools.cocoeval import COCOeval

    preds = _rows(preds, "preds", ("boxes", "scores", "labels"))
    targets = _rows(targets, "targets", ("boxes", "labels"))
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must have one entry per image each, "
                         f"got {len(preds)} and {len(targets)}")
    images, annotations, results = [], [], []
    for i, (p, t) in enumerate(zip(preds, targets), start=1):
        images.append({"id": i})
        gt_boxes = torch.as_tensor(t["boxes"]).double().tolist()  # COCO's own arithmetic is float64
        for (x1, y1, x2, y2), label in zip(gt_boxes, torch.as_tensor(t["labels"]).tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(label),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                "iscrowd": 0})
        boxes, scores = torch.as_tensor(p["boxes"]).double().tolist(), torch.as_tensor(p["scores"]).double().tolist()
        for (x1, y1, x2, y2), score, label in zip(boxes, scores, torch.as_tensor(p["labels"]).tolist()):
            results.append({"image_id": i, "category_id": int(label), "score": score,
                            "bbox": [x1, y1, x2 - x1, y2 - y1]})
    if not results:
        raise ValueError("preds hold no detection: pycocotools cannot evaluate an empty result list")
    labels = sorted({a["category_id"] for a in annotations} | {r["category_id"] for r in results})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": k, "name": str(k)} for k in labels]}
        truth.createIndex()
        E = COCOeval(truth, truth.loadRes(results), "bbox")
        if iou_thresholds is not None:
            E.params.iouThrs = np.asarray(list(iou_thresholds), dtype=np.float64)
        E.evaluate()
        E.accumulate()
        E.summarize()
    return E
