"""Tests for cnnlib.detection.boxes: formats, area, IoU, validation, clipping.

Reference: a pairwise IoU loop and a complete-IoU (CIoU) formula over Python floats written in this
file (float64 arithmetic), hand-computed boxes and areas, and the format definitions written out per coordinate.
"""

import math
import random

import pytest
import torch

from cnnlib.detection import (
    BOX_FORMATS, box_area, box_ciou, box_convert, box_iou, clip_boxes_to_image, validate_boxes, xywh_to_xyxy,
    xyxy_to_xywh,
)
from tests.detection.reference import ciou_loop, iou_loop


def random_boxes(n, seed, integer=False, size=50.0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        w, h = rng.uniform(0, size / 2), rng.uniform(0, size / 2)
        if rng.random() < 0.1:
            w = 0.0  # some zero-area boxes
        box = [x, y, x + w, y + h]
        out.append([float(round(v)) for v in box] if integer else box)
    return out


def test_hand_computed_iou():
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 0, 3, 2], [0, 0, 2, 2], [2, 2, 4, 4], [0.5, 0.5, 1.5, 1.5], [-1, -1, 3, 3]])
    expected = [[2 / 6, 1.0, 0.0, 1 / 4, 4 / 16]]  # half overlap, same, touching corner, inside, around
    assert torch.allclose(box_iou(a, b), torch.tensor(expected))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(5))
def test_iou_matches_loop(seed, dtype):
    l1, l2 = random_boxes(13, seed), random_boxes(7, seed + 100)
    out = box_iou(torch.tensor(l1, dtype=dtype), torch.tensor(l2, dtype=dtype))
    ref = torch.tensor([[iou_loop(a, b) for b in l2] for a in l1], dtype=torch.float64)
    assert out.shape == (13, 7) and out.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert (out.double() - ref).abs().max().item() <= tol
    assert torch.allclose(box_iou(torch.tensor(l2, dtype=dtype), torch.tensor(l1, dtype=dtype)), out.T)


def test_integer_boxes_are_upcast_and_exact():
    a, b = torch.tensor([[0, 0, 2, 1]]), torch.tensor([[0, 0, 1, 1], [0, 0, 4, 1]])
    out = box_iou(a, b)
    assert out.dtype == torch.float32
    assert out.tolist() == [[0.5, 0.5]]  # built to be exactly 1/2
    assert box_area(torch.tensor([[0, 0, 3, 4]], dtype=torch.int32)).tolist() == [12.0]


def test_zero_area_boxes_have_iou_zero_without_nan():
    pts = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 5]])
    out = box_iou(pts, torch.cat([pts, torch.tensor([[0.0, 0, 2, 2]])]))
    assert not torch.isnan(out).any()
    assert out.eq(0).all()


def test_empty_inputs():
    e, b = torch.zeros(0, 4), torch.tensor([[0.0, 0, 1, 1]])
    assert box_iou(e, b).shape == (0, 1) and box_iou(b, e).shape == (1, 0) and box_iou(e, e).shape == (0, 0)
    assert box_area(e).shape == (0,)
    assert box_convert(e, "xyxy", "cxcywh").shape == (0, 4)
    assert clip_boxes_to_image(e, (5, 5)).shape == (0, 4)
    assert validate_boxes(torch.zeros(0, 4, dtype=torch.long)).dtype == torch.float32


def test_box_area_by_hand():
    assert box_area(torch.tensor([[0.0, 0, 2, 3], [1, 1, 1, 5], [-2, -2, 2, 2]])).tolist() == [6.0, 0.0, 16.0]


def test_formats_written_out():
    xyxy = torch.tensor([[10.0, 20, 30, 60], [0, 0, 0, 0]])
    assert box_convert(xyxy, "xyxy", "xywh").tolist() == [[10, 20, 20, 40], [0, 0, 0, 0]]
    assert box_convert(xyxy, "xyxy", "cxcywh").tolist() == [[20, 40, 20, 40], [0, 0, 0, 0]]
    assert box_convert(torch.tensor([[10.0, 20, 20, 40]]), "xywh", "cxcywh").tolist() == [[20, 40, 20, 40]]
    assert xywh_to_xyxy(torch.tensor([[5.0, 5, 4, 2]])).tolist() == [[3, 4, 7, 6]]  # centre format
    assert xyxy_to_xywh(torch.tensor([[3.0, 4, 7, 6]])).tolist() == [[5, 5, 4, 2]]
    assert box_convert(torch.tensor([[1, 2, 3, 4]]), "xyxy", "xyxy").dtype == torch.float32


@pytest.mark.parametrize("seed", range(3))
def test_every_format_round_trips(seed):
    xyxy = torch.tensor(random_boxes(20, seed), dtype=torch.float64)
    for a in BOX_FORMATS:
        for b in BOX_FORMATS:
            there = box_convert(box_convert(xyxy, "xyxy", a), a, b)
            back = box_convert(there, b, "xyxy")
            assert torch.allclose(back, xyxy, atol=1e-12), (a, b)
    assert torch.allclose(xywh_to_xyxy(xyxy_to_xywh(xyxy)), xyxy, atol=1e-12)


def test_validate_names_the_bad_box():
    with pytest.raises(ValueError, match=r"boxes\[1\] = \[3.0, 0.0, 1.0, 1.0\] has x2 < x1"):
        validate_boxes(torch.tensor([[0.0, 0, 1, 1], [3, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"gt\[2\] = \[0.0, 5.0, 1.0, 4.0\] has y2 < y1"):
        validate_boxes(torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [0, 5, 1, 4]]), "gt")
    with pytest.raises(ValueError, match=r"boxes\[0\] = \[nan, .*NaN or infinite"):
        validate_boxes(torch.tensor([[float("nan"), 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"boxes2\[0\].*NaN or infinite"):
        box_iou(torch.zeros(1, 4), torch.tensor([[0, 0, float("inf"), 1]]))
    with pytest.raises(ValueError, match=r"boxes1\[0\].*x2 < x1"):
        box_iou(torch.tensor([[2.0, 0, 1, 1]]), torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"boxes\[0\].*x2 < x1"):
        box_area(torch.tensor([[2.0, 0, 1, 1]]))


def test_shape_type_and_format_errors():
    with pytest.raises(ValueError, match=r"shape \(N, 4\), got shape \(4,\)"):
        box_iou(torch.zeros(4), torch.zeros(1, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        box_area([[0, 0, 1, 1]])
    with pytest.raises(TypeError, match="real numbers"):
        box_area(torch.zeros(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"in_fmt must be one of \('xyxy', 'xywh', 'cxcywh'\), got 'xy'"):
        box_convert(torch.zeros(1, 4), "xy", "xyxy")
    with pytest.raises(ValueError, match="out_fmt"):
        box_convert(torch.zeros(1, 4), "xyxy", "XYXY")
    with pytest.raises(ValueError, match="size must be"):
        clip_boxes_to_image(torch.zeros(1, 4), (5,))
    with pytest.raises(ValueError, match="non-negative"):
        clip_boxes_to_image(torch.zeros(1, 4), (5, -1))


def test_clip_boxes_to_image():
    boxes = torch.tensor([[-5.0, 2, 8, 30], [12, 25, 15, 40], [1, 1, 2, 2]])
    out = clip_boxes_to_image(boxes, (20, 10))  # H = 20, W = 10
    assert out.tolist() == [[0, 2, 8, 20], [10, 20, 10, 20], [1, 1, 2, 2]]
    assert box_area(out).tolist() == [144.0, 0.0, 1.0]


def test_half_precision_is_upcast():
    b = torch.tensor([[0.0, 0, 300, 300]], dtype=torch.float16)
    assert box_area(b).dtype == torch.float32 and box_area(b).item() == 90000.0  # would overflow float16


@pytest.mark.gpu
def test_iou_on_cuda_matches_cpu():
    a, b = torch.tensor(random_boxes(50, 0)), torch.tensor(random_boxes(40, 1))
    out = box_iou(a.cuda(), b.cuda())
    assert out.device.type == "cuda"
    assert torch.allclose(out.cpu(), box_iou(a, b), atol=1e-6)


def test_ciou_by_hand_and_against_the_loop():
    a = torch.tensor([[0., 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 4, 2]], dtype=torch.float64)
    b = torch.tensor([[0., 0, 2, 2], [1, 0, 3, 2], [3, 0, 5, 2], [1, 0, 3, 2]], dtype=torch.float64)
    got = box_ciou(a, b).tolist()
    assert got[0] == pytest.approx(1.0)  # identical boxes
    assert got[1] == pytest.approx(1 / 3 - 1 / 13)  # same shape, centres 1 apart, enclosing box 3 x 2
    assert got[2] == pytest.approx(0 - 9 / 29)  # disjoint: IoU 0, centres 3 apart, enclosing 5 x 2
    v = 4 / math.pi ** 2 * (math.atan(1.0) - math.atan(2.0)) ** 2  # 4x2 against 2x2: aspect term
    assert got[3] == pytest.approx(0.5 - 0 - v / (1 - 0.5 + v) * v)  # same centre, IoU 4/8
    boxes1 = [[x1, y1, x1 + w, y1 + h] for x1, y1, _, _ in random_boxes(40, 7) for w, h in [(3.0, 5.0)]]
    boxes2 = [[x, y, x + w + 0.5, y + h + 0.5] for x, y, w, h in
              [(b[0], b[1], b[2] - b[0], b[3] - b[1]) for b in random_boxes(40, 8)]]
    got = box_ciou(torch.tensor(boxes1, dtype=torch.float64), torch.tensor(boxes2, dtype=torch.float64))
    expected = [ciou_loop(p, q) for p, q in zip(boxes1, boxes2)]
    assert got.tolist() == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert ((got > -1.5) & (got <= 1)).all()


def test_ciou_pulls_disjoint_boxes_together_and_checks_shapes():
    pred = torch.tensor([[10., 0, 12, 2]], requires_grad=True)
    (1 - box_ciou(pred, torch.tensor([[0., 0, 2, 2]]))).sum().backward()
    # 1 - IoU alone has no gradient here; CIoU's centre term moves the box left, towards the other
    assert pred.grad[0, 0] + pred.grad[0, 2] > 0 and pred.grad[0, 1] + pred.grad[0, 3] == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="aligned pairs"):
        box_ciou(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="Tensor"):
        box_ciou([[0, 0, 1, 1]], torch.zeros(1, 4))
