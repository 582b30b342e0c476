"""Tests for cnnlib.detection.metrics: precision-recall, AP (all-point and 101-point), COCO mAP.

Reference: ``pycocotools.cocoeval.COCOeval`` (bbox) on the same random predictions (several
seeds, with misses, duplicates, wrong classes, score ties, images without ground truth, a class
without ground truth and an image over maxDets), equal to 1e-6, handed over by
:func:`cnnlib.detection.coco_eval` (checked by hand cases in test_cocoeval.py); hand-computed
precision-recall curves and APs; COCO's matching rules case by case.
"""

import contextlib
import io
import math
import random

import numpy as np
import pytest
import torch
from pycocotools.cocoeval import COCOeval

from cnnlib.detection import (
    COCO_IOU_THRESHOLDS, ap_from_curve, average_precision, coco_eval, mean_average_precision,
    precision_recall_curve,
)


def random_scene(seed, n_images=8, n_classes=3, dtype=torch.float64):
    """Ground truth and predictions of a mediocre detector: hits at many IoUs, misses, duplicates."""
    rng = random.Random(seed)
    preds, targets = [], []
    for i in range(n_images):
        gt, gl = [], []
        for _ in range(rng.choice([0, 0, 1, 3, 5])):
            x, y, w, h = rng.uniform(0, 80), rng.uniform(0, 80), rng.uniform(4, 30), rng.uniform(4, 30)
            gt.append([x, y, x + w, y + h])
            gl.append(rng.randrange(n_classes))
        pb, ps, pl = [], [], []
        for box, label in zip(gt, gl):
            for _ in range(rng.choice([0, 1, 1, 2])):  # a miss, a hit, or a duplicate
                j = rng.uniform(0, 0.35) * (box[2] - box[0])
                pb.append([box[0] + j, box[1] + rng.uniform(-1, 1) * j, box[2] + j, box[3]])
                ps.append(round(rng.random(), 2))  # two decimals: ties within and across images
                pl.append(label if rng.random() < 0.85 else rng.randrange(n_classes + 1))  # class 3: no GT
        for _ in range(rng.randrange(4)):  # false positives anywhere
            x, y = rng.uniform(0, 90), rng.uniform(0, 90)
            pb.append([x, y, x + rng.uniform(2, 20), y + rng.uniform(2, 20)])
            ps.append(round(rng.random(), 2))
            pl.append(rng.randrange(n_classes + 1))
        targets.append({"boxes": torch.tensor(gt, dtype=dtype).view(-1, 4), "labels": torch.tensor(gl, dtype=torch.long)})
        preds.append({"boxes": torch.tensor(pb, dtype=dtype).view(-1, 4), "scores": torch.tensor(ps, dtype=dtype),
                      "labels": torch.tensor(pl, dtype=torch.long)})
    return preds, targets


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("seed", range(6))
def test_map_equals_pycocotools(seed, dtype):
    preds, targets = random_scene(seed, dtype=dtype)
    E = coco_eval(preds, targets)
    r = mean_average_precision(preds, targets)
    assert r["classes"] == sorted(E.params.catIds)
    assert abs(r["map"] - E.stats[0]) <= 1e-6
    assert abs(r["map_50"] - E.stats[1]) <= 1e-6
    assert abs(r["map_75"] - E.stats[2]) <= 1e-6
    assert abs(r["mar"] - E.stats[8]) <= 1e-6
    assert torch.allclose(r["precision"], torch.from_numpy(E.eval["precision"][:, :, :, 0, 2]), atol=1e-6, rtol=0)
    assert torch.allclose(r["recall"], torch.from_numpy(E.eval["recall"][:, :, 0, 2]), atol=1e-6, rtol=0)
    assert 0 < r["map"] < r["map_50"] < 1  # a mediocre detector: the test is not vacuous
    assert math.isnan(r["per_class"][3]["ap"]) if 3 in r["per_class"] and r["per_class"][3]["num_gt"] == 0 else True


def test_map_with_more_detections_than_max_dets():
    preds, targets = random_scene(11)
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(150, 2, generator=g, dtype=torch.float64) * 80
    extra = torch.cat([xy, xy + 5], dim=1)  # 150 detections of class 0 in image 0, most of them FPs
    p = preds[0]
    preds[0] = {"boxes": torch.cat([p["boxes"], extra]), "scores": torch.cat([p["scores"], torch.rand(150, generator=g, dtype=torch.float64)]),
                "labels": torch.cat([p["labels"], torch.zeros(150, dtype=torch.long)])}
    E = coco_eval(preds, targets)
    r = mean_average_precision(preds, targets)
    assert abs(r["map"] - E.stats[0]) <= 1e-6 and abs(r["mar"] - E.stats[8]) <= 1e-6
    unlimited = mean_average_precision(preds, targets, max_detections=None)
    assert unlimited["per_class"][0]["num_detections"] > r["per_class"][0]["num_detections"]


def test_custom_thresholds_equal_pycocotools():
    preds, targets = random_scene(3)
    thrs = [0.3, 0.5, 0.62]
    E = coco_eval(preds, targets, iou_thresholds=thrs)
    r = mean_average_precision(preds, targets, iou_thresholds=thrs)
    assert abs(r["map"] - E.stats[0]) <= 1e-6 and abs(r["map_50"] - E.stats[1]) <= 1e-6
    assert math.isnan(r["map_75"])


def test_hand_computed_curve_and_all_point_ap():
    # 3 GT; detections by score: TP, FP, TP, FP, TP  ->  precision 1, 1/2, 2/3, 2/4, 3/5
    gt = torch.tensor([[0.0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]])
    dets = torch.tensor([[0.0, 0, 10, 10], [60, 0, 70, 10], [20, 0, 30, 10], [80, 0, 90, 10], [40, 0, 50, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    p, r, s = precision_recall_curve(dets, scores, gt)
    assert torch.allclose(p, torch.tensor([1, 1 / 2, 2 / 3, 2 / 4, 3 / 5], dtype=torch.float64))
    assert torch.allclose(r, torch.tensor([1 / 3, 1 / 3, 2 / 3, 2 / 3, 1], dtype=torch.float64))
    assert s.tolist() == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    # envelope: 1 on (0, 1/3], 2/3 on (1/3, 2/3], 3/5 on (2/3, 1]
    expected = (1 + 2 / 3 + 3 / 5) / 3
    assert average_precision(dets, scores, gt) == pytest.approx(expected, abs=1e-12)
    # COCO 101-point: recall levels 0..0.33 -> 1 (34 levels), 0.34..0.66 -> 2/3 (33), 0.67..1 -> 3/5 (34)
    coco = (34 * 1 + 33 * 2 / 3 + 34 * 3 / 5) / 101
    assert average_precision(dets, scores, gt, interpolation="coco") == pytest.approx(coco, abs=1e-12)
    assert ap_from_curve(p, r) == pytest.approx(expected, abs=1e-12)


def test_degenerate_cases():
    gt = torch.tensor([[0.0, 0, 10, 10]])
    assert average_precision(gt, torch.tensor([0.5]), gt) == 1.0
    assert average_precision(torch.zeros(0, 4), torch.zeros(0), gt) == 0.0
    assert math.isnan(average_precision(gt, torch.tensor([0.5]), torch.zeros(0, 4)))
    p, r, s = precision_recall_curve(torch.zeros(0, 4), torch.zeros(0), gt)
    assert p.shape == r.shape == s.shape == (0,)
    r = mean_average_precision([{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}],
                               [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}])
    assert math.isnan(r["map"]) and r["classes"] == []
    r = mean_average_precision([], [])
    assert math.isnan(r["map"])


def test_duplicates_are_false_positives_and_each_gt_matches_once():
    gt = torch.tensor([[0.0, 0, 10, 10]])
    dets = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    p, r, _ = precision_recall_curve(dets, torch.tensor([0.9, 0.8]), gt)
    assert p.tolist() == [1.0, 0.5] and r.tolist() == [1.0, 1.0]


def test_iou_exactly_at_the_threshold_is_a_match():
    gt = torch.tensor([[0.0, 0, 2, 1]])
    det = torch.tensor([[0.0, 0, 1, 1]])  # IoU exactly 1/2
    assert average_precision(det, torch.tensor([1.0]), gt, iou_threshold=0.5) == 1.0
    assert average_precision(det, torch.tensor([1.0]), gt, iou_threshold=0.51) == 0.0


def test_greedy_by_score_and_best_unmatched_gt():
    gt = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 12]])
    # the first detection fits GT 0 exactly; the second fits GT 0 better than GT 1 but GT 0 is taken
    dets = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10.5]])
    p, r, _ = precision_recall_curve(dets, torch.tensor([0.9, 0.8]), gt, 0.8)
    assert r.tolist() == [0.5, 1.0]
    # the higher-scored detection takes the GT even though the lower one overlaps it better
    gt1 = torch.tensor([[0.0, 0, 10, 10]])
    dets = torch.tensor([[0.0, 0, 10, 8], [0, 0, 10, 10]])
    p, r, _ = precision_recall_curve(dets, torch.tensor([0.9, 0.8]), gt1, 0.5)
    assert p.tolist() == [1.0, 0.5]


def test_image_ids_keep_matches_inside_an_image():
    boxes = torch.tensor([[0.0, 0, 10, 10]])
    ids = dict(pred_image_ids=torch.tensor([1]), gt_image_ids=torch.tensor([2]))
    assert average_precision(boxes, torch.tensor([0.9]), boxes, **ids) == 0.0
    ids = dict(pred_image_ids=torch.tensor([5, 7]), gt_image_ids=torch.tensor([7, 5]))
    two = torch.tensor([[0.0, 0, 10, 10], [50, 50, 60, 60]])
    assert average_precision(two, torch.tensor([0.9, 0.8]), two.flip(0), **ids) == 1.0


def test_all_point_and_coco_interpolation_differ_as_documented():
    preds, targets = random_scene(2)
    r = mean_average_precision(preds, targets)
    c = r["classes"][0]
    curve = r["curves"][c]
    voc = ap_from_curve(curve["precision"][0], curve["recall"][0], "all")
    assert voc == pytest.approx(r["per_class"][c]["ap_50_voc"], abs=1e-12)
    assert ap_from_curve(curve["precision"][0], curve["recall"][0], "coco") == pytest.approx(r["per_class"][c]["ap_50"], abs=1e-12)
    assert abs(r["map_50_voc"] - r["map_50"]) < 0.02  # close, not equal: the intended difference


def test_thresholds_constant_matches_cocoeval():
    with contextlib.redirect_stdout(io.StringIO()):
        E = COCOeval(iouType="bbox")
    assert np.array_equal(np.asarray(COCO_IOU_THRESHOLDS), E.params.iouThrs)


def test_errors_name_the_bad_input():
    ok = {"boxes": torch.zeros(1, 4), "scores": torch.ones(1), "labels": torch.zeros(1, dtype=torch.long)}
    tgt = {"boxes": torch.zeros(1, 4), "labels": torch.zeros(1, dtype=torch.long)}
    with pytest.raises(ValueError, match=r"preds\[0\]\['boxes'\]\[1\] = \[5.0, 0.0, 1.0, 1.0\] has x2 < x1"):
        mean_average_precision([{**ok, "boxes": torch.tensor([[0.0, 0, 1, 1], [5, 0, 1, 1]]),
                                 "scores": torch.ones(2), "labels": torch.zeros(2, dtype=torch.long)}], [tgt])
    with pytest.raises(ValueError, match=r"preds\[0\]\['scores'\]\[0\] is NaN"):
        mean_average_precision([{**ok, "scores": torch.tensor([float("nan")])}], [tgt])
    with pytest.raises(ValueError, match="one entry per image"):
        mean_average_precision([ok, ok], [tgt])
    with pytest.raises(ValueError, match=r"targets\[0\] must be a dict with keys \('boxes', 'labels'\)"):
        mean_average_precision([ok], [{"boxes": torch.zeros(1, 4)}])
    with pytest.raises(ValueError, match=r"preds\[0\]\['labels'\] must be a Tensor of shape \(1,\)"):
        mean_average_precision([{**ok, "labels": torch.zeros(2, dtype=torch.long)}], [tgt])
    with pytest.raises(ValueError, match="iou_thresholds"):
        mean_average_precision([ok], [tgt], iou_thresholds=[1.5])
    with pytest.raises(ValueError, match=r"pred_scores\[1\] is NaN"):
        average_precision(torch.zeros(2, 4), torch.tensor([0.0, float("nan")]), torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"gt_boxes\[0\].*y2 < y1"):
        average_precision(torch.zeros(1, 4), torch.ones(1), torch.tensor([[0.0, 3, 1, 1]]))
    with pytest.raises(ValueError, match="interpolation must be one of"):
        average_precision(torch.zeros(1, 4), torch.ones(1), torch.zeros(1, 4), interpolation="11")
    with pytest.raises(ValueError, match="give both"):
        average_precision(torch.zeros(1, 4), torch.ones(1), torch.zeros(1, 4), pred_image_ids=torch.zeros(1))


def test_equal_iou_ties_go_to_the_later_gt_as_in_cocoeval():
    gt = torch.tensor([[0.0, 0, 10, 10], [2, 0, 12, 10]])
    dets = torch.tensor([[1.0, 0, 11, 10], [-1, 0, 9, 10]])  # det 0: IoU 90/110 with both; det 1 fits only GT 0
    scores = torch.tensor([0.9, 0.8])
    p, r, _ = precision_recall_curve(dets, scores, gt, 0.6)
    assert r.tolist() == [0.5, 1.0]  # det 0 took GT 1, so det 1 could take GT 0
    preds = [{"boxes": dets, "scores": scores, "labels": torch.zeros(2, dtype=torch.long)}]
    targets = [{"boxes": gt, "labels": torch.zeros(2, dtype=torch.long)}]
    E = coco_eval(preds, targets)
    assert abs(mean_average_precision(preds, targets)["map"] - E.stats[0]) <= 1e-6
    assert E.eval["recall"][2, 0, 0, 2] == 1.0  # cocoeval agrees: recall 1 at IoU 0.6
