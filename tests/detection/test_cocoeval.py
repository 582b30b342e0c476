"""Tests for cnnlib.detection.cocoeval: handing detections to pycocotools.

Reference: hand-computed cases. A perfect detector scores 1 everywhere; a box whose IoU with the
ground truth is exactly 0.6 (worked out by hand) counts at IoU 0.5..0.6 and not above, so its
COCO AP@[.5:.95] is 3/10; a wrong class scores 0; xyxy -> xywh conversion shows in the areas.
"""

import pytest
import torch

from cnnlib.detection import coco_eval


def _one(boxes, labels, scores=None):
    d = {"boxes": torch.tensor(boxes, dtype=torch.float32).view(-1, 4), "labels": torch.tensor(labels)}
    if scores is not None:
        d["scores"] = torch.tensor(scores)
    return d


def test_perfect_detections_score_one():
    targets = [_one([[0, 0, 10, 10], [20, 20, 40, 30]], [0, 1]), _one([[5, 5, 15, 25]], [1])]
    preds = [_one([[0, 0, 10, 10], [20, 20, 40, 30]], [0, 1], [0.9, 0.8]), _one([[5, 5, 15, 25]], [1], [0.7])]
    E = coco_eval(preds, targets)
    assert E.stats[:3].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert E.eval["precision"].shape[2] == 2  # one column per class seen


def test_iou_exactly_0_6_counts_up_to_0_6():
    # ground truth 10x10, detection shifted right by 2.5: intersection 7.5*10 = 75, union 125, IoU 0.6
    targets = [_one([[0, 0, 10, 10]], [0])]
    preds = [_one([[2.5, 0, 12.5, 10]], [0], [0.9])]
    E = coco_eval(preds, targets)
    assert E.stats[1] == pytest.approx(1.0) and E.stats[2] == pytest.approx(0.0)  # AP@0.5, AP@0.75
    assert E.stats[0] == pytest.approx(3 / 10)  # hits at 0.50, 0.55, 0.60 of the ten thresholds
    E = coco_eval(preds, targets, iou_thresholds=[0.6, 0.61])
    table = E.eval["precision"][:, :, 0, 0, 2]  # (T, 101) at area "all", maxDets 100
    assert table[0].min() == pytest.approx(1.0) and table[1].max() == 0.0


def test_wrong_class_scores_zero_and_boxes_become_xywh():
    targets = [_one([[2, 4, 12, 8]], [0])]
    preds = [_one([[2, 4, 12, 8]], [1], [0.9])]
    E = coco_eval(preds, targets)
    assert E.stats[0] == 0.0
    ann = E.cocoGt.anns[1]
    assert ann["bbox"] == [2.0, 4.0, 10.0, 4.0] and ann["area"] == 40.0 and ann["image_id"] == 1


def test_errors():
    t = [_one([[0, 0, 1, 1]], [0])]
    with pytest.raises(ValueError, match="one entry per image each, got 0 and 1"):
        coco_eval([], t)
    with pytest.raises(ValueError, match=r"preds\[0\] must be a dict with keys .*missing \['scores'\]"):
        coco_eval(t, t)
    with pytest.raises(TypeError, match="targets must be a list of dicts"):
        coco_eval([], "boxes")
    with pytest.raises(ValueError, match="no detection"):
        coco_eval([_one([], [], [])], t)
