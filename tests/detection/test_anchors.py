"""Tests for cnnlib.detection.anchors: anchor shapes, grid anchors, shape IoU, assignment, k-means,
Faster R-CNN's anchor labels.

Reference: loops over Python floats written in this file (shape IoU, best anchor, anchor
centres), planted clusters of box shapes whose centres are known, and Lloyd's fixed-point
property (every anchor is the mean shape of the boxes closest to it) checked by a loop; anchor
labels by a loop over the IoU matrix.
"""

import math
import random

import pytest
import torch

from cnnlib.detection import anchor_shapes, assign_anchors, box_iou, grid_anchors, kmeans_anchors, label_anchors, wh_iou


def wh_iou_loop(a, b):
    inter = min(a[0], b[0]) * min(a[1], b[1])
    return inter / (a[0] * a[1] + b[0] * b[1] - inter)


def planted(seed, centres=((10, 30), (30, 10), (60, 60)), n=60, noise=0.08):
    rng = random.Random(seed)
    return [[w * math.exp(rng.gauss(0, noise)), h * math.exp(rng.gauss(0, noise))]
            for w, h in centres for _ in range(n)]


def test_anchor_shapes_keep_area_and_ratio():
    out = anchor_shapes([16, 32], [0.5, 1.0, 2.0])
    assert out.shape == (6, 2)
    for (w, h), (s, r) in zip(out.tolist(), [(s, r) for s in (16, 32) for r in (0.5, 1.0, 2.0)]):
        assert math.isclose(w * h, s * s, rel_tol=1e-6) and math.isclose(h / w, r, rel_tol=1e-6)


def test_grid_anchors_against_loop():
    wh = torch.tensor([[4.0, 2.0], [3.0, 6.0]])
    out = grid_anchors((2, 3), wh, stride=8)
    ref = [[(j + 0.5) * 8 - w / 2, (i + 0.5) * 8 - h / 2, (j + 0.5) * 8 + w / 2, (i + 0.5) * 8 + h / 2]
           for i in range(2) for j in range(3) for w, h in wh.tolist()]
    assert out.tolist() == ref


def test_grid_anchor_order_matches_a_head_output():
    # a head output (N, A, S_y, S_x) permuted to (N, S_y, S_x, A) and flattened lines up with grid_anchors
    A, sy, sx = 2, 3, 4
    anchors = grid_anchors((sy, sx), torch.tensor([[2.0, 2.0], [4.0, 4.0]]), stride=10)
    index = torch.arange(A * sy * sx).view(1, A, sy, sx).permute(0, 2, 3, 1).reshape(-1)
    a, i, j = index // (sy * sx), index % (sy * sx) // sx, index % sx
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    assert torch.equal(centres[:, 0], (j + 0.5) * 10) and torch.equal(centres[:, 1], (i + 0.5) * 10)
    assert torch.equal(anchors[:, 2] - anchors[:, 0], 2.0 * (a + 1))


@pytest.mark.parametrize("seed", range(3))
def test_wh_iou_and_assignment_against_loop(seed):
    rng = random.Random(seed)
    boxes = [[rng.uniform(1, 50), rng.uniform(1, 50)] for _ in range(30)]
    anchors = [[rng.uniform(1, 50), rng.uniform(1, 50)] for _ in range(5)]
    out = wh_iou(torch.tensor(boxes, dtype=torch.float64), torch.tensor(anchors, dtype=torch.float64))
    ref = [[wh_iou_loop(b, a) for a in anchors] for b in boxes]
    assert torch.allclose(out, torch.tensor(ref, dtype=torch.float64), atol=1e-12)
    best = [max(range(5), key=lambda k: (ref[n][k], -k)) for n in range(30)]
    assert assign_anchors(torch.tensor(boxes), torch.tensor(anchors)).tolist() == best


def test_assignment_ties_go_to_the_lower_anchor_and_empty_input():
    anchors = torch.tensor([[2.0, 8.0], [8.0, 2.0]])  # both have IoU 8 / 24 with a 4x4 box
    assert assign_anchors(torch.tensor([[4.0, 4.0]]), anchors).tolist() == [0]
    assert assign_anchors(torch.zeros(0, 2), anchors).shape == (0,)


@pytest.mark.parametrize("seed", range(4))
def test_kmeans_finds_planted_clusters(seed):
    wh = torch.tensor(planted(seed))
    anchors, mean_iou = kmeans_anchors(wh, 3, seed=seed)
    expected = torch.tensor([[10.0, 30], [30, 10], [60, 60]])  # areas 300, 300, 3600
    got = sorted(anchors.tolist())  # compare as a set: the two equal-area ones may swap
    assert torch.allclose(torch.tensor(got), expected, rtol=0.05)
    areas = (anchors[:, 0] * anchors[:, 1]).tolist()
    assert areas == sorted(areas)
    loop_mean = sum(max(wh_iou_loop(b, a) for a in anchors.tolist()) for b in wh.tolist()) / len(wh)
    assert math.isclose(mean_iou, loop_mean, rel_tol=1e-5) and mean_iou > 0.85


def test_kmeans_result_is_a_lloyd_fixed_point_and_is_seeded():
    wh = torch.tensor(planted(7, centres=((5, 5), (20, 8), (8, 20), (40, 40)), noise=0.3))
    anchors, _ = kmeans_anchors(wh, 4, seed=3)
    boxes, cents = wh.tolist(), anchors.tolist()
    for k, c in enumerate(cents):
        members = [b for b in boxes if max(range(4), key=lambda j: (wh_iou_loop(b, cents[j]), -j)) == k]
        assert members, "no empty cluster at convergence"
        mean = [sum(m[0] for m in members) / len(members), sum(m[1] for m in members) / len(members)]
        assert math.isclose(mean[0], c[0], rel_tol=1e-5) and math.isclose(mean[1], c[1], rel_tol=1e-5)
    again, _ = kmeans_anchors(wh, 4, seed=3)
    assert torch.equal(anchors, again)


def test_kmeans_more_anchors_fit_better_and_k_equals_n():
    wh = torch.tensor(planted(1, noise=0.3))
    ious = [kmeans_anchors(wh, k)[1] for k in (1, 3, 9)]
    assert ious[0] < ious[1] < ious[2]
    few = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 1.0]])
    anchors, mean_iou = kmeans_anchors(few, 3)
    assert mean_iou == pytest.approx(1.0) and sorted(anchors.tolist()) == sorted(few.tolist())
    dup, iou1 = kmeans_anchors(torch.ones(5, 2), 2)  # duplicates: still two anchors, perfect fit
    assert dup.shape == (2, 2) and iou1 == pytest.approx(1.0)


def test_label_anchors_against_loop():
    g = torch.Generator().manual_seed(0)
    anchors = grid_anchors(6, torch.tensor([[8.0, 8.0], [16.0, 8.0]]), stride=8)
    xy = torch.rand(4, 2, generator=g) * 40
    gt = torch.cat([xy, xy + 6 + torch.rand(4, 2, generator=g) * 10], dim=1)
    labels, matched = label_anchors(anchors, gt, 0.5, 0.2)
    iou = box_iou(anchors, gt).tolist()
    for a, row in enumerate(iou):
        best = max(row)
        expect = 1 if best >= 0.5 else (0 if best < 0.2 else -1)
        if any(row[g_] == max(r[g_] for r in iou) > 0 for g_ in range(4)):
            expect = 1  # the best anchor of some ground-truth box
        assert labels[a].item() == expect and row[matched[a]] == best
    assert all(labels[torch.tensor([r[g_] for r in iou]).argmax()] == 1 for g_ in range(4))
    assert label_anchors(anchors, torch.zeros(0, 4))[0].eq(0).all()


def test_errors():
    with pytest.raises(ValueError, match=r"wh\[1\] = \[0.0, 2.0\]: widths and heights must be finite and > 0"):
        kmeans_anchors(torch.tensor([[1.0, 1.0], [0.0, 2.0]]), 1)
    with pytest.raises(ValueError, match=r"k must be in \[1, 2\]"):
        kmeans_anchors(torch.ones(2, 2), 3)
    with pytest.raises(TypeError, match="k must be an int"):
        kmeans_anchors(torch.ones(2, 2), 1.0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        wh_iou(torch.ones(3), torch.ones(1, 2))
    with pytest.raises(ValueError, match="at least one anchor"):
        assign_anchors(torch.ones(1, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="ratios must be"):
        anchor_shapes([16], [])
    with pytest.raises(ValueError, match="stride must be"):
        grid_anchors(3, torch.ones(1, 2), stride=0)
    with pytest.raises(ValueError, match="grid_size must be"):
        grid_anchors((3, 0), torch.ones(1, 2), stride=4)
