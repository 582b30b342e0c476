"""Tests for cnnlib.detection.nms: nms, nms_naive, batched_nms.

Reference: a greedy NMS loop over Python lists written in this file (visit boxes by decreasing
score, ties by lower index; keep a box unless its IoU with a kept box is strictly greater than the
threshold), with its own float64 IoU; boxes built so that their IoU sits exactly on the threshold;
for batched_nms, that loop run class by class.
"""

import importlib
import random

import pytest
import torch

from cnnlib.detection import batched_nms, nms, nms_naive, nms_trace
from tests.detection.reference import iou_loop


def nms_loop(boxes, scores, thr):
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(iou_loop(boxes[i], boxes[k]) <= thr for k in keep):
            keep.append(i)
    return keep


def crowded_boxes(n, seed, integer=True):
    """Many overlapping boxes (integer corners in a 40x40 image), a few of zero area, tied scores."""
    rng = random.Random(seed)
    boxes, scores = [], []
    for _ in range(n):
        x, y = rng.randint(0, 30), rng.randint(0, 30)
        w, h = rng.randint(0, 12), rng.randint(1, 12)
        if integer:
            boxes.append([float(x), float(y), float(x + w), float(y + h)])
        else:
            x1, y1 = x + rng.random(), y + rng.random()
            boxes.append([x1, y1, x1 + w + 1.5 * rng.random(), y1 + h + rng.random()])
        scores.append(round(rng.random(), 1))  # only 11 values: many ties
    return boxes, scores


THRESHOLDS = [0.0, 0.1, 0.25, 1 / 3, 0.5, 0.7, 0.9, 1.0]


@pytest.mark.parametrize("thr", THRESHOLDS)
@pytest.mark.parametrize("seed", range(6))
def test_nms_and_naive_match_the_loop_on_integer_boxes(seed, thr):
    boxes, scores = crowded_boxes(60, seed)
    ref = nms_loop(boxes, scores, thr)
    b, s = torch.tensor(boxes), torch.tensor(scores)
    assert nms(b, s, thr).tolist() == ref
    assert nms_naive(b, s, thr).tolist() == ref


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.75])
@pytest.mark.parametrize("seed", range(4))
def test_nms_matches_the_loop_on_float64_boxes(seed, thr):
    boxes, scores = crowded_boxes(80, seed + 10, integer=False)
    b, s = torch.tensor(boxes, dtype=torch.float64), torch.tensor(scores, dtype=torch.float64)
    ref = nms_loop(boxes, scores, thr)
    assert nms(b, s, thr).tolist() == ref
    assert nms_naive(b, s, thr).tolist() == ref


@pytest.mark.parametrize("fn", [nms, nms_naive])
def test_iou_exactly_at_the_threshold_is_not_suppressed(fn):
    big, small = [0.0, 0, 2, 1], [0.0, 0, 1, 1]  # IoU exactly 1/2
    b = torch.tensor([big, small])
    s = torch.tensor([0.9, 0.8])
    assert fn(b, s, 0.5).tolist() == [0, 1]  # 0.5 > 0.5 is false: both kept
    assert fn(b, s, 0.49).tolist() == [0]
    third = torch.tensor([[0.0, 0, 2, 2], [1, 0, 3, 2]])  # IoU exactly 2/6
    assert fn(third, s, 1 / 3).tolist() == [0, 1]
    assert fn(third, s, 0.333).tolist() == [0]
    assert fn(third.long(), s, 1 / 3).tolist() == [0, 1]  # integer boxes too


@pytest.mark.parametrize("fn", [nms, nms_naive])
def test_chain_keeps_every_other_box(fn):
    # each box overlaps its neighbours with IoU 12/20 > 0.5 and the next but one with 8/24 < 0.5:
    # greedy keeps boxes 0, 2, 4, ...
    boxes = torch.tensor([[4.0 * i, 0, 4 * i + 16, 1] for i in range(9)])
    scores = torch.linspace(1, 0.1, 9)
    assert fn(boxes, scores, 0.5).tolist() == [0, 2, 4, 6, 8]
    assert nms_loop(boxes.tolist(), scores.tolist(), 0.5) == [0, 2, 4, 6, 8]


def test_fixed_point_needs_one_round_per_link_of_a_chain():
    boxes = torch.tensor([[4.0 * i, 0, 4 * i + 16, 1] for i in range(9)])
    perm = torch.tensor([3, 0, 8, 5, 1, 7, 2, 6, 4])  # shuffle the boxes: pairs come back in boxes' indices
    t = nms_trace(boxes[perm], torch.linspace(1, 0.1, 9)[perm], 0.5)
    pairs = sorted((int(perm[i]), int(perm[j])) for i, j in t.pairs.tolist())
    assert pairs == [(i, i + 1) for i in range(8)]  # neighbours overlap, the higher score first
    assert perm[t.keep].tolist() == [0, 2, 4, 6, 8]
    assert t.rounds == 9  # the worst case the docstring states: a chain of 9 boxes, 9 rounds


def test_order_is_by_score_and_ties_by_index():
    boxes = torch.tensor([[0.0, 0, 1, 1], [10, 10, 11, 11], [20, 20, 21, 21], [30, 30, 31, 31]])
    scores = torch.tensor([0.5, 0.9, 0.5, 0.9])
    for fn in (nms, nms_naive):
        assert fn(boxes, scores, 0.5).tolist() == [1, 3, 0, 2]


def test_zero_area_boxes_are_kept_and_never_suppress():
    boxes = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 2, 2]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    for fn in (nms, nms_naive):
        assert fn(boxes, scores, 0.0).tolist() == [0, 1, 2]  # IoU 0 is not > 0


def test_naive_score_threshold_discards_low_scores_first():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]])
    scores = torch.tensor([0.55, 0.9, 0.6, 0.61])
    # seed 001: drop p_c <= 0.6 (boxes 0 and 2), then NMS on what is left
    assert nms_naive(boxes, scores, 0.5, score_threshold=0.6).tolist() == [1, 3]
    assert nms_naive(boxes, scores, 0.5, score_threshold=0.95).tolist() == []
    assert nms_naive(boxes, scores, 0.5).tolist() == [1, 3, 2]


def test_empty_and_single_inputs():
    e = torch.zeros(0, 4)
    for fn in (nms, nms_naive):
        out = fn(e, torch.zeros(0), 0.5)
        assert out.dtype == torch.long and out.shape == (0,)
        assert fn(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([0.3]), 0.5).tolist() == [0]
    out = batched_nms(e, torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert out.dtype == torch.long and out.shape == (0,)


@pytest.mark.parametrize("thr", [0.0, 0.3, 0.5, 0.8])
@pytest.mark.parametrize("seed", range(5))
def test_batched_nms_matches_per_class_loop(seed, thr):
    boxes, scores = crowded_boxes(70, seed + 50)
    rng = random.Random(seed)
    labels = [rng.randint(0, 3) for _ in boxes]
    ref = []
    for c in set(labels):
        idx = [i for i in range(len(boxes)) if labels[i] == c]
        ref += [idx[k] for k in nms_loop([boxes[i] for i in idx], [scores[i] for i in idx], thr)]
    ref.sort(key=lambda i: (-scores[i], i))
    out = batched_nms(torch.tensor(boxes), torch.tensor(scores), torch.tensor(labels), thr)
    assert out.tolist() == ref


def test_batched_nms_with_negative_coordinates():
    # offsets use the full span of the coordinates, so negative boxes cannot meet another class
    boxes = torch.tensor([[-100.0, -100, 10, 10], [-99, -99, 10, 10], [-100, -100, 10, 10]])
    out = batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1]), 0.5)
    assert out.tolist() == [0, 2]


def test_nan_scores_and_bad_boxes_are_named():
    b = torch.tensor([[0.0, 0, 1, 1], [0, 0, 2, 2], [1, 1, 3, 3]])
    for fn in (nms, nms_naive):
        with pytest.raises(ValueError, match=r"scores\[1\] is NaN"):
            fn(b, torch.tensor([0.5, float("nan"), 0.2]), 0.5)
        with pytest.raises(ValueError, match=r"boxes\[2\] = \[3.0, 1.0, 1.0, 3.0\] has x2 < x1"):
            fn(torch.tensor([[0.0, 0, 1, 1], [0, 0, 2, 2], [3, 1, 1, 3]]), torch.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"scores\[0\] is NaN"):
        batched_nms(b, torch.tensor([float("nan"), 0, 0]), torch.zeros(3, dtype=torch.long), 0.5)


def test_argument_errors():
    b = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"scores must have shape \(N,\) = \(3,\)"):
        nms(b, torch.ones(2), 0.5)
    with pytest.raises(TypeError, match="scores must be a torch.Tensor"):
        nms(b, [1, 2, 3], 0.5)
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0.0, 1.0\], got 1.5"):
        nms(b, torch.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0.0, 1.0\], got nan"):
        nms(b, torch.ones(3), float("nan"))
    with pytest.raises(TypeError, match="idxs must hold integer"):
        batched_nms(b, torch.ones(3), torch.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"idxs must be a Tensor of shape \(N,\) = \(3,\)"):
        batched_nms(b, torch.ones(3), torch.ones(2, dtype=torch.long), 0.5)
    with pytest.raises(TypeError, match="score_threshold"):
        nms_naive(b, torch.ones(3), 0.5, score_threshold="0.6")


@pytest.mark.parametrize("chunk", [1, 7, 100, 1 << 20])
def test_blocks_of_the_iou_matrix_give_the_same_answer(monkeypatch, chunk):
    # _CHUNK_ELEMENTS bounds the block of IoU rows computed at once; from 1 row per block to all
    nms_module = importlib.import_module("cnnlib.detection.nms")  # the attribute is the function
    monkeypatch.setattr(nms_module, "_CHUNK_ELEMENTS", chunk)
    boxes, scores = crowded_boxes(120, 3)
    assert nms(torch.tensor(boxes), torch.tensor(scores), 0.4).tolist() == nms_loop(boxes, scores, 0.4)


def test_many_boxes_vectorised_equals_loop():
    g = torch.Generator().manual_seed(0)
    xy = torch.randint(0, 200, (800, 2), generator=g).float()
    boxes = torch.cat([xy, xy + torch.randint(1, 40, (800, 2), generator=g)], dim=1)
    scores = torch.rand(800, generator=g)
    assert torch.equal(nms(boxes, scores, 0.5), nms_naive(boxes, scores, 0.5))


def test_clusters_spread_along_x_equal_the_loop():
    # many small clusters far apart along x (the shape of a batch in one batched_nms call): each
    # block of the sweep is short, and pairs across blocks and clusters must still be found
    g = torch.Generator().manual_seed(1)
    centres = torch.arange(300).float().repeat_interleave(8) * 30  # 300 clusters of 8 boxes, 30 px apart
    x1 = centres + torch.randint(0, 12, (2400,), generator=g)
    y1 = torch.randint(0, 12, (2400,), generator=g).float()
    boxes = torch.stack([x1, y1, x1 + torch.randint(4, 24, (2400,), generator=g), y1 + 10], dim=1)
    scores = torch.rand(2400, generator=g)
    for thr in (0.3, 0.6):
        assert torch.equal(nms(boxes, scores, thr), nms_naive(boxes, scores, thr))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    boxes, scores = crowded_boxes(200, 0)
    b, s = torch.tensor(boxes), torch.tensor(scores)
    out = nms(b.cuda(), s.cuda(), 0.5)
    assert out.device.type == "cuda"
    assert out.cpu().tolist() == nms(b, s, 0.5).tolist() == nms_naive(b.cuda(), s.cuda(), 0.5).cpu().tolist()
    labels = torch.arange(200) % 3
    assert batched_nms(b.cuda(), s.cuda(), labels.cuda(), 0.5).cpu().tolist() == batched_nms(b, s, labels, 0.5).tolist()
