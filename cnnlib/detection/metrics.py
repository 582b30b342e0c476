"""Evaluating detectors: precision-recall curves, average precision (AP) and COCO-style mAP.

A detection is a true positive (TP) when it overlaps a not-yet-matched ground-truth box of its
class with IoU >= the threshold, else a false positive (FP). Going down the detections by score,
recall = TP / #GT and precision = TP / (TP + FP) trace the precision-recall curve; AP summarises
it as the area under its upper envelope (the best precision at any recall at least as high).

Matching follows COCO's ``cocoeval.py`` exactly, so :func:`mean_average_precision` equals
``pycocotools.cocoeval.COCOeval`` (bbox, area "all", maxDets 100) to float rounding:

- per image and class, detections are taken by decreasing score (stable: ties keep their input
  order) and only the first ``max_detections`` count (COCO's maxDets applies per image AND
  category);
- each detection takes, among the ground-truth boxes still unmatched, the one of highest IoU
  provided ``IoU >= threshold`` (ties: the later box); each ground-truth box is matched once;
- detections of all images are then merged by score (stable, images in list order);
- COCO's AP is the mean over 101 recall levels 0, 0.01, ..., 1 of the envelope precision at the
  first point reaching that recall (0 past the last one), averaged over IoU 0.50:0.05:0.95 and
  over the classes that have ground truth.

:func:`average_precision` by default uses all-point interpolation instead (PASCAL VOC 2010 and
later: the exact area under the envelope), the intended and documented difference from COCO's
101-point number; pass ``interpolation="coco"`` for COCO's. (VOC's devkit also matches slightly
differently: it looks only at the single best-overlapping box and needs IoU > 0.5 strictly.)
Crowd annotations and area ranges are not modelled. Everything is computed on the CPU in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cnnlib._checks import check_int
from cnnlib.detection.boxes import box_iou, validate_boxes

__all__ = [
    "COCO_IOU_THRESHOLDS", "precision_recall_curve", "ap_from_curve", "average_precision",
    "mean_average_precision",
]

#: IoU thresholds of COCO's mAP@[.5:.95]: 0.50, 0.55, ..., 0.95 (numpy.linspace, as cocoeval).
COCO_IOU_THRESHOLDS = tuple(np.linspace(0.5, 0.95, 10).tolist())
_RECALL_LEVELS = np.linspace(0.0, 1.0, 101)  # COCO's recThrs


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """COCO's greedy matching; ``ious`` is (D, G) with detections sorted by score -> (T, D) TP.

    Detection ``d`` takes, at each threshold ``t``, the unmatched box with the highest IoU if
    that IoU reaches ``t`` (the last such box on ties, as cocoeval). The thresholds are matched
    side by side: one pass over the detections, each handling all ``T`` thresholds at once.
    """
    D, G = ious.shape
    T = len(thresholds)
    tp = np.zeros((T, D), dtype=bool)
    if G == 0:
        return tp
    need = np.minimum(thresholds, 1 - 1e-10)  # (T,)
    taken = np.zeros((T, G), dtype=bool)
    rows = np.arange(T)
    for d in range(D):
        if ious[d].max() < need.min():
            continue  # no box is close enough at any threshold
        cand = np.where(taken, -np.inf, ious[d])  # (T, G) unmatched boxes only
        m = G - 1 - np.argmax(cand[:, ::-1], axis=1)  # (T,) the last box with the highest IoU
        hit = cand[rows, m] >= need
        taken[rows[hit], m[hit]] = True
        tp[hit, d] = True
        if taken.all():
            break  # every box is matched at every threshold: the rest are false positives
    return tp


def _evaluate(dets: list, gts: list, thresholds: np.ndarray, max_detections: int | None):
    """Match one class over images; ``dets[i] = (boxes, scores)``, ``gts[i] = boxes`` (float64).

    Returns ``(scores (D,), tp (T, D), num_gt)`` with detections merged over images by score.
    """
    all_scores, all_tp, num_gt = [], [], 0
    for (boxes, scores), gt in zip(dets, gts):
        num_gt += gt.shape[0]
        order = torch.sort(scores, descending=True, stable=True).indices[:max_detections]
        ious = box_iou(boxes[order], gt).numpy()  # (D_i, G_i)
        all_scores.append(scores[order].numpy())
        all_tp.append(_match(ious, thresholds))
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    tp = np.concatenate(all_tp, axis=1) if all_tp else np.zeros((len(thresholds), 0), dtype=bool)
    order = np.argsort(-scores, kind="mergesort")  # stable, as cocoeval
    return scores[order], tp[:, order], num_gt


def _curve(tp: np.ndarray, num_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each detection (last axis) from the TP flags."""
    tps = np.cumsum(tp, axis=-1, dtype=np.float64)
    fps = np.cumsum(~tp, axis=-1, dtype=np.float64)
    return tps / np.maximum(tps + fps, 1), tps / max(num_gt, 1)


def _ap_all_point(precision: np.ndarray, recall: np.ndarray) -> float:
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # the envelope: best precision at >= recall
    i = np.nonzero(mrec[1:] != mrec[:-1])[0]  # where recall steps up
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _ap_101(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """COCO's 101 interpolated precisions (cocoeval's ``q``); AP is their mean."""
    if precision.size == 0:
        return np.zeros(len(_RECALL_LEVELS))
    env = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, _RECALL_LEVELS, side="left")
    return np.where(idx < len(env), env[np.minimum(idx, len(env) - 1)], 0.0)


def ap_from_curve(precision: torch.Tensor, recall: torch.Tensor, interpolation: str = "all") -> float:
    """Average precision from a precision-recall curve (points in detection order).

    Args:
        precision (Tensor[D]): precision after each detection.
        recall (Tensor[D]): recall after each detection (non-decreasing).
        interpolation (str): ``"all"``: all-point, the area under the precision envelope (VOC
            2010+); ``"coco"``: the mean envelope precision at recall 0, 0.01, ..., 1.

    Returns:
        float: AP in ``[0, 1]`` (0 for an empty curve).

    Raises:
        ValueError: for an unknown ``interpolation`` or curves of different lengths.

    Example:
        >>> p, r = torch.tensor([1.0, 0.5, 2 / 3]), torch.tensor([0.5, 0.5, 1.0])
        >>> round(ap_from_curve(p, r), 4), round(ap_from_curve(p, r, "coco"), 4)
        (0.8333, 0.835)
    """
    if interpolation not in ("all", "coco"):
        raise ValueError(f"interpolation must be one of ('all', 'coco'), got {interpolation!r}")
    p = torch.as_tensor(precision, dtype=torch.float64).cpu().numpy().reshape(-1)
    r = torch.as_tensor(recall, dtype=torch.float64).cpu().numpy().reshape(-1)
    if p.shape != r.shape:
        raise ValueError(f"precision and recall must have the same length, got {p.shape[0]} and {r.shape[0]}")
    return _ap_all_point(p, r) if interpolation == "all" else float(_ap_101(p, r).mean())


def _group(boxes, scores, image_ids, gt_boxes, gt_image_ids):
    """Split one class's detections and ground truth by image; images in sorted id order."""
    b = validate_boxes(boxes, "pred_boxes").detach().cpu().double()
    g = validate_boxes(gt_boxes, "gt_boxes").detach().cpu().double()
    if not isinstance(scores, torch.Tensor) or scores.shape != (b.shape[0],):
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"pred_scores must be a Tensor of shape ({b.shape[0]},), got {got}")
    s = scores.detach().cpu().double()
    if bool(torch.isnan(s).any()):
        raise ValueError(f"pred_scores[{int(torch.isnan(s).nonzero()[0, 0])}] is NaN")
    if (image_ids is None) != (gt_image_ids is None):
        raise ValueError("give both pred_image_ids and gt_image_ids, or neither (one image)")
    if image_ids is None:
        return [(b, s)], [g]
    ids = []
    for t, n, name in ((image_ids, b.shape[0], "pred_image_ids"), (gt_image_ids, g.shape[0], "gt_image_ids")):
        t = torch.as_tensor(t)
        if t.shape != (n,) or t.is_floating_point():
            raise ValueError(f"{name} must be an integer Tensor of shape ({n},), got {t.dtype} {tuple(t.shape)}")
        ids.append(t.cpu())
    images = torch.unique(torch.cat(ids)).tolist()
    dets = [(b[ids[0] == i], s[ids[0] == i]) for i in images]
    return dets, [g[ids[1] == i] for i in images]


def precision_recall_curve(
    pred_boxes: torch.Tensor,
    pred_scores: torch.Tensor,
    gt_boxes: torch.Tensor,
    iou_threshold: float = 0.5,
    *,
    pred_image_ids: torch.Tensor | None = None,
    gt_image_ids: torch.Tensor | None = None,
    max_detections: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Precision and recall after each detection of ONE class, detections by decreasing score.

    Args:
        pred_boxes (Tensor[D, 4]): detections in ``(x1, y1, x2, y2)`` format.
        pred_scores (Tensor[D]): their scores (no NaN).
        gt_boxes (Tensor[G, 4]): ground-truth boxes in ``(x1, y1, x2, y2)`` format.
        iou_threshold (float): a match needs ``IoU >= iou_threshold`` (COCO's rule).
        pred_image_ids (Tensor[D] | None): image of each detection; with ``gt_image_ids``.
        gt_image_ids (Tensor[G] | None): image of each ground-truth box; ``None``: one image.
        max_detections (int | None): keep only the best ``max_detections`` per image.

    Returns:
        tuple[Tensor[D'], Tensor[D'], Tensor[D']]: ``(precision, recall, scores)``, float64,
        one entry per detection kept (recall is 0 throughout when there is no ground truth).

    Raises:
        TypeError, ValueError: for bad boxes (the message names the box), a NaN score, or
            mismatched lengths.

    Example:
        >>> gt = torch.tensor([[0., 0, 10, 10], [20, 20, 30, 30]])
        >>> dets = torch.tensor([[0., 0, 10, 10], [50, 50, 60, 60], [21, 21, 30, 30]])
        >>> p, r, _ = precision_recall_curve(dets, torch.tensor([0.9, 0.8, 0.7]), gt)
        >>> [round(v, 3) for v in p.tolist()], r.tolist()
        ([1.0, 0.5, 0.667], [0.5, 0.5, 1.0])
    """
    dets, gts = _group(pred_boxes, pred_scores, pred_image_ids, gt_boxes, gt_image_ids)
    scores, tp, num_gt = _evaluate(dets, gts, np.array([float(iou_threshold)]), max_detections)
    precision, recall = _curve(tp[0], num_gt)
    return torch.from_numpy(precision), torch.from_numpy(recall), torch.from_numpy(scores.copy())


def average_precision(
    pred_boxes: torch.Tensor,
    pred_scores: torch.Tensor,
    gt_boxes: torch.Tensor,
    iou_threshold: float = 0.5,
    *,
    pred_image_ids: torch.Tensor | None = None,
    gt_image_ids: torch.Tensor | None = None,
    interpolation: str = "all",
    max_detections: int | None = None,
) -> float:
    """Average precision of ONE class: all-point interpolated (VOC 2010+) by default.

    Arguments as :func:`precision_recall_curve`; ``interpolation`` as :func:`ap_from_curve`.

    Returns:
        float: AP in ``[0, 1]``; ``nan`` when there is no ground-truth box (AP is undefined;
        COCO marks such a class -1 and leaves it out of the mean).

    Raises:
        TypeError, ValueError: as :func:`precision_recall_curve` and :func:`ap_from_curve`.

    Example:
        >>> gt = torch.tensor([[0., 0, 10, 10], [20, 20, 30, 30]])
        >>> dets = torch.tensor([[0., 0, 10, 10], [50, 50, 60, 60], [21, 21, 30, 30]])
        >>> round(average_precision(dets, torch.tensor([0.9, 0.8, 0.7]), gt), 4)  # 0.5*1 + 0.5*2/3
        0.8333
    """
    if interpolation not in ("all", "coco"):
        raise ValueError(f"interpolation must be one of ('all', 'coco'), got {interpolation!r}")
    p, r, _ = precision_recall_curve(pred_boxes, pred_scores, gt_boxes, iou_threshold, pred_image_ids=pred_image_ids,
                                     gt_image_ids=gt_image_ids, max_detections=max_detections)
    if validate_boxes(gt_boxes, "gt_boxes").shape[0] == 0:
        return float("nan")
    return ap_from_curve(p, r, interpolation)


def _check_list(items: object, name: str, keys: Sequence[str]) -> list[dict]:
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{name} must be a list of dicts (one per image), got {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or any(k not in item for k in keys):
            raise ValueError(f"{name}[{i}] must be a dict with keys {tuple(keys)}, got {item!r:.80}")
        n = validate_boxes(item["boxes"], f"{name}[{i}]['boxes']").shape[0]
        for k in keys[1:]:
            v = item[k]
            if not isinstance(v, torch.Tensor) or v.shape != (n,):
                raise ValueError(f"{name}[{i}]['{k}'] must be a Tensor of shape ({n},), got {v!r:.80}")
        if item["labels"].is_floating_point():
            raise TypeError(f"{name}[{i}]['labels'] must hold integer class labels, got {item['labels'].dtype}")
        if "scores" in keys and bool(torch.isnan(item["scores"]).any()):
            raise ValueError(f"{name}[{i}]['scores'][{int(torch.isnan(item['scores']).nonzero()[0, 0])}] is NaN")
    return list(items)


def mean_average_precision(
    preds: Sequence[dict],
    targets: Sequence[dict],
    iou_thresholds: Sequence[float] = COCO_IOU_THRESHOLDS,
    max_detections: int | None = 100,
) -> dict:
    """COCO-style mAP over classes and IoU thresholds; equals pycocotools' ``COCOeval`` (bbox).

    Args:
        preds (list[dict]): one dict per image with ``"boxes"`` (Tensor[D_i, 4], xyxy),
            ``"scores"`` (Tensor[D_i]) and ``"labels"`` (int Tensor[D_i]).
        targets (list[dict]): one dict per image (same order) with ``"boxes"`` (Tensor[G_i, 4],
            xyxy) and ``"labels"`` (int Tensor[G_i]); images without ground truth are allowed.
        iou_thresholds (Sequence[float]): default COCO's 0.50:0.05:0.95.
        max_detections (int | None): per image and class, as COCO's maxDets (default 100).

    Returns:
        dict: ``"map"`` (COCO AP@[.5:.95], 101-point), ``"map_50"``, ``"map_75"`` (101-point at
        IoU 0.5 / 0.75; ``nan`` if that threshold is not in ``iou_thresholds``), ``"map_50_voc"``
        (all-point AP at 0.5, VOC 2010+ style), ``"mar"`` (recall after all kept detections,
        COCO's AR@maxDets); ``"classes"`` (labels seen in preds or targets), ``"per_class"``
        (label -> dict with ``"ap"``, ``"ap_50"``, ``"ap_75"``, ``"ap_50_voc"``,
        ``"ap_per_threshold"``, ``"num_gt"``, ``"num_detections"``; APs ``nan`` without ground
        truth), ``"curves"`` (label -> ``"scores"`` Tensor[D], ``"precision"`` and ``"recall"``
        Tensor[T, D]), ``"precision"`` (Tensor[T, 101, K], cocoeval's ``eval["precision"]``
        layout, -1 for classes without ground truth), ``"recall"`` (Tensor[T, K]) and
        ``"iou_thresholds"``. Means are over the classes with ground truth (``nan`` if none).

    Raises:
        TypeError, ValueError: for lists of different lengths, missing keys, bad boxes (the
            message names the image and box), NaN scores, or thresholds outside ``[0, 1]``.

    Example:
        >>> preds = [{"boxes": torch.tensor([[0., 0, 10, 10]]), "scores": torch.tensor([0.9]),
        ...           "labels": torch.tensor([0])}]
        >>> targets = [{"boxes": torch.tensor([[0., 0, 10, 9]]), "labels": torch.tensor([0])}]
        >>> r = mean_average_precision(preds, targets)  # IoU 0.9: a hit at 0.5, ..., 0.9 only
        >>> round(r["map"], 4), r["map_50"], r["map_75"]
        (0.9, 1.0, 1.0)
    """
    preds = _check_list(preds, "preds", ("boxes", "scores", "labels"))
    targets = _check_list(targets, "targets", ("boxes", "labels"))
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must have one entry per image each, got {len(preds)} and {len(targets)}")
    thr = np.asarray(list(iou_thresholds), dtype=np.float64).reshape(-1)
    if thr.size == 0 or not np.all((thr >= 0) & (thr <= 1)):
        raise ValueError(f"iou_thresholds must be a non-empty list of numbers in [0, 1], got {list(iou_thresholds)!r}")
    if max_detections is not None:
        check_int(max_detections, "max_detections")

    def cpu(item, key):
        return item[key].detach().cpu().double() if key != "labels" else item[key].detach().cpu().long()

    P = [(cpu(p, "boxes"), cpu(p, "scores"), cpu(p, "labels")) for p in preds]
    G = [(cpu(t, "boxes"), cpu(t, "labels")) for t in targets]
    seen = [l for *_, l in P] + [l for _, l in G] + [torch.zeros(0, dtype=torch.long)]
    classes = sorted(set(torch.cat(seen).tolist()))
    T, K = len(thr), len(classes)
    i50, i75 = (np.flatnonzero(np.isclose(thr, v, rtol=0, atol=1e-12)) for v in (0.5, 0.75))
    precision, recall = -np.ones((T, len(_RECALL_LEVELS), K)), -np.ones((T, K))
    per_class, curves = {}, {}
    for k, c in enumerate(classes):
        dets = [(b[l == c], s[l == c]) for b, s, l in P]
        gts = [b[l == c] for b, l in G]
        scores, tp, num_gt = _evaluate(dets, gts, thr, max_detections)
        prec, rec = _curve(tp, num_gt)  # (T, D) each
        curves[c] = {"scores": torch.from_numpy(scores.copy()), "precision": torch.from_numpy(prec),
                     "recall": torch.from_numpy(rec)}
        nan = float("nan")
        info = {"ap": nan, "ap_50": nan, "ap_75": nan, "ap_50_voc": nan, "ap_per_threshold": [nan] * T,
                "num_gt": num_gt, "num_detections": int(scores.shape[0])}
        if num_gt > 0:
            q = np.stack([_ap_101(prec[t], rec[t]) for t in range(T)])  # (T, 101)
            precision[:, :, k] = q
            recall[:, k] = rec[:, -1] if rec.shape[1] else 0.0
            ap_t = q.mean(axis=1)  # (T,)
            info.update(ap=float(ap_t.mean()), ap_per_threshold=ap_t.tolist())
            if i50.size:
                info.update(ap_50=float(ap_t[i50[0]]), ap_50_voc=_ap_all_point(prec[i50[0]], rec[i50[0]]))
            if i75.size:
                info.update(ap_75=float(ap_t[i75[0]]))
        per_class[c] = info
    valid = [c for c in classes if per_class[c]["num_gt"] > 0]

    def mean(key):
        values = [per_class[c][key] for c in valid]
        return float(np.mean(values)) if values else float("nan")

    return {
        "map": mean("ap"), "map_50": mean("ap_50"), "map_75": mean("ap_75"), "map_50_voc": mean("ap_50_voc"),
        "mar": float(recall[recall > -1].mean()) if valid else float("nan"),
        "classes": classes, "per_class": per_class, "curves": curves,
        "precision": torch.from_numpy(precision), "recall": torch.from_numpy(recall),
        "iou_thresholds": thr.tolist(),
    }
