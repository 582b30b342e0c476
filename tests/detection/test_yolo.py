"""Tests for cnnlib.detection.yolo.

Reference: loops written in the test over objects, cells and anchors (the target assignment of
seed 001, YOLOv5's neighbouring cells and the loss of seed 004, term by term; CIoU with Python floats), hand-computed cases, autograd's gradcheck, and
the round trip decode(encode(boxes)) = boxes on shapes scenes.
"""

import math

import numpy as np
import pytest
import torch

from cnnlib.data.shapes import ShapesDataset
from cnnlib.detection.yolo import (
    yolo_boxes, yolo_decode, yolo_encode, yolo_filter_boxes, yolo_loss, yolo_loss_terms, yolo_neighbour_targets,
    yolo_postprocess, yolo_predictors,
)
from tests.detection.reference import ciou_loop, iou_loop

ANCHORS = torch.tensor([[10.0, 10.0], [24.0, 12.0], [14.0, 30.0]])


def encode_loop(boxes, labels, S, anchors, K, H, W):
    """Seed 001's assignment, one object at a time, larger boxes first."""
    A = len(anchors)
    out = torch.zeros(S, S, A, 5 + K, dtype=torch.float64)
    objects = [(float((b[2] - b[0]) * (b[3] - b[1])), n) for n, b in enumerate(boxes.tolist())]
    objects.sort(key=lambda o: -o[0])  # Python's sort is stable: equal areas keep input order
    for _, n in objects:
        x1, y1, x2, y2 = boxes[n].tolist()
        cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        j, i = min(int(cx // (W / S)), S - 1), min(int(cy // (H / S)), S - 1)
        best, best_iou = 0, -1.0
        for a, (aw, ah) in enumerate(anchors.tolist()):
            inter = min(w, aw) * min(h, ah)
            iou = inter / (w * h + aw * ah - inter)
            if iou > best_iou:
                best, best_iou = a, iou
        if out[i, j, best, 0] == 1:
            continue  # the slot is taken by a larger object
        aw, ah = anchors[best].tolist()
        out[i, j, best, :5] = torch.tensor([1, cx / (W / S) - j, cy / (H / S) - i, w / aw, h / ah])
        out[i, j, best, 5 + int(labels[n])] = 1
    return out.reshape(S, S, A * (5 + K))


def loss_loop(pred, target, A, lc=5.0, ln=0.5, objectness="mse", classification="mse"):
    """Seed 004's formula with explicit sums over images, cells and anchors."""
    N, S, _, C = pred.shape
    D = C // A
    total = 0.0
    for n in range(N):
        for i in range(S):
            for j in range(S):
                for a in range(A):
                    p, t = pred[n, i, j, a * D:(a + 1) * D], target[n, i, j, a * D:(a + 1) * D]
                    c = float(p[0])
                    if t[0] == 1:
                        total += lc * ((p[1] - t[1]) ** 2 + (p[2] - t[2]) ** 2)
                        total += lc * ((p[3].sqrt() - t[3].sqrt()) ** 2 + (p[4].sqrt() - t[4].sqrt()) ** 2)
                        total += (1 - c) ** 2 if objectness == "mse" else -math.log(c)
                        if classification == "mse":
                            total += ((p[5:] - t[5:]) ** 2).sum()
                        else:
                            total += -(t[5:] * p[5:].log()).sum()
                    else:
                        total += ln * (c ** 2 if objectness == "mse" else -math.log(1 - c))
    return float(total) / N


def random_pred(N, S, A, K, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(N, S, S, A, 5 + K, generator=g, dtype=dtype) * 0.98 + 0.01
    p[..., 3:5] = p[..., 3:5] * 3  # sizes relative to the anchor, in (0, 3)
    p[..., 5:] = torch.softmax(torch.randn(N, S, S, A, K, generator=g, dtype=dtype), -1)
    return p.reshape(N, S, S, A * (5 + K))


def scenes(n, seed):
    ds = ShapesDataset(n, seed=seed)
    return [ds[i][1] for i in range(n)]


def test_hand_case_one_box():
    # box (20, 4)-(36, 28): centre (28, 16), size 16 x 24 -> cell (row 2, column 3) of an 8x8 grid
    t = yolo_encode(torch.tensor([[20.0, 4.0, 36.0, 28.0]]), torch.tensor([2]), 8, ANCHORS, 3)
    assert t.shape == (8, 8, 3 * 8) and t.dtype == torch.float32
    p = yolo_predictors(t[None], 3)[0]
    # shape IoUs: 100/(384+100-100) = 0.26, 16*12/(384+288-192) = 0.4, 14*24/(384+420-336) = 0.718
    assert p[2, 3, 2].tolist() == pytest.approx([1, 0.5, 0.0, 16 / 14, 24 / 30, 0, 0, 1])
    assert p.abs().sum() == pytest.approx(p[2, 3, 2].abs().sum())  # everything else is zero


def test_encode_matches_the_loop_on_scenes_and_random_boxes():
    for seed, target in enumerate(scenes(40, 3)):
        got = yolo_encode(target["boxes"], target["labels"], 8, ANCHORS, 3)
        want = encode_loop(target["boxes"], target["labels"], 8, ANCHORS, 3, 64, 64)
        torch.testing.assert_close(got.double(), want)
    g = torch.Generator().manual_seed(0)
    for S, (H, W) in ((4, (32, 48)), (7, (56, 56)), (1, (20, 30))):
        xy = torch.rand(12, 2, generator=g, dtype=torch.float64) * torch.tensor([W, H]) * 0.9
        wh = 1 + torch.rand(12, 2, generator=g, dtype=torch.float64) * 20
        boxes = torch.cat((xy, xy + wh), 1)
        boxes = boxes[((boxes[:, :2] + boxes[:, 2:]) / 2 < torch.tensor([W, H])).all(1)]
        labels = torch.randint(0, 4, (len(boxes),), generator=g)
        got = yolo_encode(boxes, labels, S, ANCHORS, 4, (H, W))
        assert got.dtype == torch.float64
        torch.testing.assert_close(got, encode_loop(boxes, labels, S, ANCHORS, 4, H, W))


def test_batch_encoding_is_the_loop_image_by_image():
    # the batch is encoded in one pass over all boxes: objects of different images on the same
    # (cell, anchor) must not collide, and each image must equal the loop on its own boxes
    targets = scenes(30, 5)
    boxes, labels = [t["boxes"] for t in targets], [t["labels"] for t in targets]
    boxes[1], labels[1] = torch.tensor([[0.0, 0.0, 6.0, 6.0]]), torch.tensor([2])  # small box in cell (0, 0)
    boxes[2], labels[2] = torch.tensor([[0.0, 0.0, 7.0, 7.0]]), torch.tensor([1])  # larger, same slot, next image
    batch = yolo_encode(boxes, labels, 8, ANCHORS, 3)
    assert batch.shape == (30, 8, 8, 24)
    for n in range(30):
        torch.testing.assert_close(batch[n].double(), encode_loop(boxes[n], labels[n], 8, ANCHORS, 3, 64, 64))
    assert batch[1, 0, 0, 5 + 2] == 1 and batch[2, 0, 0, 5 + 1] == 1  # both kept, each in its image


def test_collisions_the_larger_box_wins_and_equal_areas_keep_the_first():
    anchors = torch.tensor([[10.0, 10.0]])
    boxes = torch.tensor([[0.0, 0.0, 6.0, 6.0], [0.0, 0.0, 8.0, 8.0]])  # same cell, same anchor
    t = yolo_predictors(yolo_encode(boxes, torch.tensor([0, 1]), 4, anchors, 2, 32)[None], 1)[0]
    assert t[0, 0, 0].tolist() == pytest.approx([1, 0.5, 0.5, 0.8, 0.8, 0, 1])
    same = torch.tensor([[0.0, 0.0, 6.0, 6.0], [1.0, 1.0, 7.0, 7.0]])  # equal areas
    t = yolo_predictors(yolo_encode(same, torch.tensor([1, 0]), 4, anchors, 2, 32)[None], 1)[0]
    assert t[0, 0, 0, 5:].tolist() == [0, 1]  # the first (label 1) wins
    # different anchors in one cell: both kept
    two = yolo_encode(torch.tensor([[0.0, 0.0, 7.0, 7.0], [0.0, 0.0, 7.9, 3.0]]), torch.tensor([0, 1]), 4,
                      torch.tensor([[7.0, 7.0], [8.0, 3.0]]), 2, 32)
    assert yolo_predictors(two[None], 2)[0, 0, 0, :, 0].tolist() == [1, 1]


def test_empty_images_and_batches():
    t = yolo_encode(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 8, ANCHORS, 3)
    assert t.shape == (8, 8, 24) and t.abs().sum() == 0
    batch = yolo_encode([torch.zeros(0, 4), torch.tensor([[1.0, 1, 9, 9]])],
                        [torch.zeros(0, dtype=torch.long), torch.tensor([0])], 8, ANCHORS, 3)
    assert batch.shape == (2, 8, 8, 24) and batch[0].abs().sum() == 0 and batch[1].abs().sum() > 0
    decoded = yolo_decode(batch, ANCHORS)
    assert decoded[0][0].shape == (0, 4) and decoded[0][1].shape == (0,)
    torch.testing.assert_close(decoded[1][0], torch.tensor([[1.0, 1, 9, 9]]))
    ints = yolo_encode(torch.tensor([[1, 1, 9, 9]]), torch.tensor([0]), 8, ANCHORS, 3)  # integer boxes
    assert ints.dtype == torch.float32 and torch.equal(ints, batch[1])


def test_decode_inverts_encode_on_scenes():
    targets = scenes(60, 11)
    for S, anchors in ((8, ANCHORS), (4, ANCHORS[:1]), (16, ANCHORS)):
        enc = yolo_encode([t["boxes"] for t in targets], [t["labels"] for t in targets], S, anchors, 3)
        decoded = yolo_decode(enc, anchors, conf_threshold=0.5)
        lost = 0
        for t, (boxes, scores, labels) in zip(targets, decoded):
            assert (scores == 1).all()
            got = sorted(zip(boxes.tolist(), labels.tolist()))
            want = sorted(zip(t["boxes"].tolist(), t["labels"].tolist()))
            kept = [w for w in want if any(np.allclose(w[0], g[0], atol=1e-4) and w[1] == g[1] for g in got)]
            assert len(kept) == len(got)  # every decoded box is one of the true boxes
            lost += len(want) - len(got)
        if S == 16:
            assert lost == 0  # a fine grid with three anchors keeps everything here
    boxes = torch.tensor([[3.0, 5.0, 20.0, 31.0], [40.0, 2.0, 47.0, 9.5]])
    enc = yolo_encode(boxes, torch.tensor([1, 0]), 5, ANCHORS, 2, (40, 60))  # H != W, S does not divide
    got, _, labels = yolo_decode(enc, ANCHORS, image_size=(40, 60))[0]
    torch.testing.assert_close(got[labels.argsort(descending=True)], boxes)


def test_boxes_of_every_predictor():
    pred = torch.zeros(1, 2, 2, 1 * 6)
    pred[0, 1, 0] = torch.tensor([0.7, 0.25, 0.5, 2.0, 0.5, 1.0])  # row 1, column 0
    conf, boxes, probs = yolo_boxes(pred, torch.tensor([[4.0, 8.0]]), 16)
    assert conf.shape == (1, 2, 2, 1) and boxes.shape == (1, 2, 2, 1, 4) and probs.shape == (1, 2, 2, 1, 1)
    # centre ((0 + 0.25) * 8, (1 + 0.5) * 8) = (2, 12); size (8, 4)
    assert boxes[0, 1, 0, 0].tolist() == [-2.0, 10.0, 6.0, 14.0]


def test_filter_boxes_keeps_scores_strictly_above_the_threshold():
    conf = torch.tensor([[0.9], [0.8], [0.6], [1.0]])
    probs = torch.tensor([[0.2, 0.8], [0.75, 0.25], [1.0, 0.0], [0.3, 0.7]])
    boxes = torch.arange(16.0).reshape(4, 4)
    scores, kept, classes = yolo_filter_boxes(conf, boxes, probs, 0.6)
    # scores 0.72, 0.6 (not > 0.6), 0.6 (not), 0.7
    assert scores.tolist() == pytest.approx([0.72, 0.7]) and classes.tolist() == [1, 1]
    assert torch.equal(kept, boxes[[0, 3]])
    same = yolo_filter_boxes(conf[:, 0], boxes, probs, 0.6)
    assert torch.equal(same[0], scores)
    grid = yolo_filter_boxes(torch.rand(2, 3, 3, 5), torch.rand(2, 3, 3, 5, 4), torch.rand(2, 3, 3, 5, 4), 0.0)
    assert grid[0].shape == (90,) and grid[1].shape == (90, 4)
    with pytest.raises(ValueError, match="class_probs"):
        yolo_filter_boxes(conf, boxes, probs[:3], 0.6)


def test_postprocess_suppresses_per_class_and_sorts():
    anchors = torch.tensor([[16.0, 16.0], [20.0, 20.0]])
    t = yolo_encode([torch.tensor([[0.0, 0.0, 16.0, 16.0], [32.0, 32.0, 48.0, 48.0]])], [torch.tensor([0, 0])],
                    4, anchors, 2)
    p = yolo_predictors(t, 2)
    p[0, 0, 0, 1] = torch.tensor([0.9, 0.5, 0.5, 0.75, 0.75, 1.0, 0.0])  # near-duplicate of box 0 (IoU 0.88)
    p[0, 2, 2, 1] = torch.tensor([0.95, 0.0, 0.0, 0.8, 0.8, 0.0, 1.0])  # same place as box 1, class 1
    t = p.reshape(t.shape)
    boxes, scores, labels = yolo_postprocess(t, anchors, 0.6, 0.5)[0]
    assert scores.tolist() == pytest.approx([1.0, 1.0, 0.95])  # duplicate gone, other class kept
    assert labels.tolist()[2] == 1 and sorted(labels.tolist()[:2]) == [0, 0]
    assert len(yolo_postprocess(t, anchors, 0.6, 0.5, max_detections=2)[0][0]) == 2
    assert len(yolo_postprocess(t, anchors, 0.6, 0.99)[0][0]) == 4  # nothing overlaps that much
    assert len(yolo_postprocess(t, anchors, 0.96, 0.5)[0][0]) == 2


def nms_loop(boxes, scores, iou_threshold):
    """Greedy NMS in Python floats: best score first (lower index on ties), drop IoU > threshold."""
    order = sorted(range(len(scores)), key=lambda k: (-float(scores[k]), k))
    keep = []
    for k in order:
        if all(iou_loop(boxes[k].tolist(), boxes[m].tolist()) <= iou_threshold for m in keep):
            keep.append(k)
    return keep


@pytest.mark.parametrize("conf, iou", [(0.01, 0.5), (0.3, 0.3), (0.05, 0.7)])
def test_postprocess_of_a_batch_is_nms_image_by_image_and_class_by_class(conf, iou):
    # random maps give many overlapping boxes of all classes in every image; the batch goes through
    # one NMS call, the reference runs the loop per image and per class and merges by score
    pred = random_pred(6, 8, 3, 3, seed=7, dtype=torch.float32)
    got = yolo_postprocess(pred, ANCHORS, conf, iou, max_detections=40)
    assert len(got) == 6
    conf_all, boxes_all, probs_all = yolo_boxes(pred, ANCHORS)
    for n, (boxes, scores, labels) in enumerate(got):
        best, classes = (conf_all[n, ..., None] * probs_all[n]).max(-1)
        keep = best > conf
        b, s, c = boxes_all[n][keep], best[keep], classes[keep]
        kept = []
        for cls in range(3):
            members = torch.nonzero(c == cls).flatten()
            kept += [int(members[m]) for m in nms_loop(b[members], s[members], iou)]
        kept = sorted(kept, key=lambda k: (-float(s[k]), k))[:40]
        assert len(kept) == len(scores), (n, len(kept), len(scores))
        torch.testing.assert_close(boxes, b[kept])
        torch.testing.assert_close(scores, s[kept])
        assert labels.tolist() == c[kept].tolist()
        assert (scores[:-1] >= scores[1:]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("variant", [("mse", "mse"), ("bce", "ce")])
def test_loss_matches_the_loop(seed, variant):
    targets = scenes(3, 20 + seed)
    target = yolo_encode([t["boxes"].double() for t in targets], [t["labels"] for t in targets], 4, ANCHORS, 3)
    pred = random_pred(3, 4, 3, 3, seed)
    for lc, ln in ((5.0, 0.5), (1.0, 1.0), (0.0, 2.0)):
        got = yolo_loss(pred, target, lc, ln, num_anchors=3, objectness=variant[0], classification=variant[1])
        assert got.item() == pytest.approx(loss_loop(pred, target, 3, lc, ln, *variant), rel=1e-10)
    f32 = yolo_loss(pred.float(), target.float(), num_anchors=3)
    assert f32.dtype == torch.float32 and f32.item() == pytest.approx(loss_loop(pred, target, 3), rel=1e-5)


def test_each_lambda_scales_only_its_terms_and_dont_care_entries_are_ignored():
    targets = scenes(4, 30)
    target = yolo_encode([t["boxes"].double() for t in targets], [t["labels"] for t in targets], 8, ANCHORS, 3)
    pred = random_pred(4, 8, 3, 3, 5)
    base = yolo_loss_terms(pred, target, 1.0, 1.0, num_anchors=3)
    scaled = yolo_loss_terms(pred, target, 3.0, 0.25, num_anchors=3)
    for k in ("xy", "wh"):
        assert scaled[k].item() == pytest.approx(3 * base[k].item())
    assert scaled["noobj"].item() == pytest.approx(0.25 * base["noobj"].item())
    for k in ("obj", "class"):
        assert scaled[k].item() == base[k].item()
    assert yolo_loss(pred, target, 1.0, 1.0, num_anchors=3).item() == pytest.approx(sum(v.item() for v in base.values()))
    # where the target has no object, only p_c counts: box and class entries are "don't care"
    noobj = yolo_predictors(target, 3)[..., 0] == 0
    other = yolo_predictors(pred.clone(), 3)
    other[..., 1:][noobj] = torch.rand_like(other[..., 1:][noobj])
    assert yolo_loss(other.reshape(pred.shape), target, num_anchors=3).item() == pytest.approx(
        yolo_loss(pred, target, num_anchors=3).item())
    perfect = target.clone()
    assert yolo_loss(perfect, target, num_anchors=3).item() == 0


def test_square_roots_weigh_small_boxes_more():
    anchors = torch.tensor([[8.0, 8.0]])
    small = yolo_encode([torch.tensor([[0.0, 0.0, 4.0, 4.0]])], [torch.tensor([0])], 1, anchors, 1, 16).double()
    large = yolo_encode([torch.tensor([[0.0, 0.0, 16.0, 16.0]])], [torch.tensor([0])], 1, anchors, 1, 16).double()
    errs = []
    for t in (small, large):
        p = t.clone()
        p[..., 3] += 0.25  # the same error in w (relative to one anchor: 2 pixels)
        errs.append(yolo_loss_terms(p, t, 1.0, 1.0)["wh"].item())
    # (sqrt(0.75) - sqrt(0.5))^2 = 0.0253 vs (sqrt(2.25) - sqrt(2))^2 = 0.0074
    assert errs[0] == pytest.approx((math.sqrt(0.75) - math.sqrt(0.5)) ** 2)
    assert errs[1] == pytest.approx((math.sqrt(2.25) - math.sqrt(2)) ** 2)
    assert errs[0] > 3 * errs[1]


def test_loss_gradients():
    targets = scenes(2, 40)
    target = yolo_encode([t["boxes"].double() for t in targets], [t["labels"] for t in targets], 4, ANCHORS, 3)
    small, small_pred = target[:1, :2, :2], random_pred(1, 2, 3, 3, 8).requires_grad_()  # 96 inputs
    assert small[..., 0::8].sum() > 0  # at least one responsible predictor in the crop
    for variant in (("mse", "mse"), ("bce", "ce")):
        assert torch.autograd.gradcheck(
            lambda p: yolo_loss(p, small, num_anchors=3, objectness=variant[0], classification=variant[1]),
            (small_pred,))
    pred = random_pred(2, 4, 3, 3, 9).requires_grad_()
    # the gradient of (C - 1)^2 for a responsible predictor is 2 (C - 1)
    loss = yolo_loss(pred, target, num_anchors=3)
    (grad,) = torch.autograd.grad(loss, pred)
    g, p, t = (yolo_predictors(x, 3) for x in (grad, pred.detach(), target))
    obj = t[..., 0] == 1
    torch.testing.assert_close(g[..., 0][obj], 2 * (p[..., 0][obj] - 1) / 2)
    torch.testing.assert_close(g[..., 0][~obj], 2 * 0.5 * p[..., 0][~obj] / 2)


def test_validation_errors():
    b, l = torch.tensor([[1.0, 1, 9, 9]]), torch.tensor([0])
    with pytest.raises(ValueError, match=r"boxes must be a Tensor\[M, 4\]"):
        yolo_encode(torch.zeros(4), l, 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="labels must be an integer"):
        yolo_encode(b, torch.tensor([0.0]), 8, ANCHORS, 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, num_classes\)"):
        yolo_encode(b, torch.tensor([3]), 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="x2 > x1"):
        yolo_encode(torch.tensor([[5.0, 1, 5, 9]]), l, 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="centres must lie inside"):
        yolo_encode(torch.tensor([[60.0, 1, 70, 9]]), l, 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="anchors must be a Tensor"):
        yolo_encode(b, l, 8, torch.ones(3), 3)
    with pytest.raises(ValueError, match="finite and positive"):
        yolo_encode(b, l, 8, torch.tensor([[1.0, 0.0]]), 3)
    with pytest.raises(ValueError, match="grid_size must be >= 1, got 0"):
        yolo_encode(b, l, 0, ANCHORS, 3)
    with pytest.raises(ValueError, match="image_size"):
        yolo_encode(b, l, 8, ANCHORS, 3, image_size=(64,))
    with pytest.raises(ValueError, match="same length"):
        yolo_encode([b], [l, l], 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="not num_anchors"):
        yolo_decode(torch.zeros(1, 8, 8, 25), ANCHORS)
    with pytest.raises(ValueError, match="YOLO map"):
        yolo_predictors(torch.zeros(8, 24), 3)
    target = yolo_encode([b], [l], 8, ANCHORS, 3)
    with pytest.raises(ValueError, match="one shape"):
        yolo_loss(target, target[:, :4], num_anchors=3)
    with pytest.raises(ValueError, match="must be 0 or 1"):
        yolo_loss(target, target * 0.5, num_anchors=3)
    bad = yolo_predictors(target.clone(), 3)
    bad[..., 3] = -1
    with pytest.raises(ValueError, match="b_w, b_h must be >= 0"):
        yolo_loss(bad.reshape(target.shape), target, num_anchors=3)
    with pytest.raises(ValueError, match="objectness must be one of"):
        yolo_loss(target, target, num_anchors=3, objectness="focal")
    with pytest.raises(ValueError, match="classification must be one of"):
        yolo_loss(target, target, num_anchors=3, classification="bce")
    with pytest.raises(ValueError, match="max_detections"):
        yolo_postprocess(target, ANCHORS, max_detections=0)


@pytest.mark.gpu
def test_follows_the_device_of_its_inputs():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    b, l = torch.tensor([[1.0, 1, 9, 9]], device="cuda"), torch.tensor([0], device="cuda")
    t = yolo_encode(b, l, 8, ANCHORS, 3)
    assert t.device.type == "cuda"
    boxes, scores, labels = yolo_postprocess(t[None], ANCHORS.cuda())[0]
    assert boxes.device.type == "cuda" and yolo_loss(t[None], t[None], num_anchors=3).device.type == "cuda"


def neighbours_loop(target, A):
    """YOLOv5's extra positives, one object and one neighbour at a time (x neighbours first)."""
    N, S, _, C = target.shape
    D = C // A
    t = target.reshape(N, S, S, A, D)
    out = t.clone()
    for n in range(N):
        for dim in (1, 2):  # b_x moves along columns, then b_y along rows
            for i in range(S):
                for j in range(S):
                    for a in range(A):
                        if t[n, i, j, a, 0] != 1:
                            continue
                        b = float(t[n, i, j, a, dim])
                        step = -1 if b < 0.5 else (1 if b > 0.5 else 0)
                        if step == 0:
                            continue
                        ii, jj = (i, j + step) if dim == 1 else (i + step, j)
                        if not (0 <= ii < S and 0 <= jj < S) or out[n, ii, jj, a, 0] == 1:
                            continue
                        out[n, ii, jj, a] = t[n, i, j, a]
                        out[n, ii, jj, a, dim] = b - step
    return out.reshape(target.shape)


def test_neighbour_targets_match_the_loop_and_decode_to_the_true_boxes():
    targets = scenes(12, 70)
    boxes, labels = [t["boxes"].double() for t in targets], [t["labels"] for t in targets]
    enc = yolo_encode(boxes, labels, 8, ANCHORS, 3)
    got = yolo_neighbour_targets(enc, 3)
    # the loop takes left/right neighbours for all objects before up/down ones; so does the function
    assert torch.equal(got, neighbours_loop(enc, 3))
    p = yolo_predictors(got, 3)
    assert (p[..., 0] == 1).sum() > 2 * (yolo_predictors(enc, 3)[..., 0] == 1).sum()  # most objects get 2 more
    assert ((p[..., 1:3] >= -0.5) & (p[..., 1:3] <= 1.5)).all()
    _, decoded, probs = yolo_boxes(got, ANCHORS)
    for n in range(len(targets)):
        pos = p[n, ..., 0] == 1
        for box, cls in zip(decoded[n][pos], probs[n][pos].argmax(-1)):  # each positive is a true box
            match = (boxes[n] - box).abs().amax(-1) < 1e-9
            assert match.any() and (labels[n][match] == cls).any()
    assert torch.equal(enc, yolo_encode(boxes, labels, 8, ANCHORS, 3)), "the input must not change"


def test_neighbour_targets_hand_case_edges_and_taken_slots():
    anchors = torch.tensor([[16., 16.]])
    # centre (4, 28) in cell (row 1, col 0) of a 4x4 grid over 64 px: b = (0.25, 0.75)
    t = yolo_encode([torch.tensor([[0., 20., 8., 36.]])], [torch.tensor([1])], 4, anchors, 2)
    got = yolo_neighbour_targets(t, 1)[0]
    assert got[..., 0].nonzero().tolist() == [[1, 0], [2, 0]]  # no left neighbour outside the grid
    assert got[2, 0].tolist() == pytest.approx([1, 0.25, -0.25, 0.5, 1.0, 0, 1])
    centred = yolo_encode([torch.tensor([[0., 0., 16., 16.]])], [torch.tensor([0])], 4, anchors, 2)
    # centre (8, 8): b = (0.5, 0.5), the middle of its cell: no neighbour is nearer
    assert torch.equal(yolo_neighbour_targets(centred, 1), centred)
    two = yolo_encode([torch.tensor([[16., 16., 30., 30.], [32., 16., 46., 30.]])], [torch.tensor([0, 1])], 4, anchors, 2)
    # object 1's left neighbour is object 0's own cell: taken, so it keeps object 0
    got = yolo_neighbour_targets(two, 1)[0]
    assert got[1, 1, 5:].tolist() == [1, 0] and got[1, 2, 5:].tolist() == [0, 1]
    with pytest.raises(ValueError, match="p_c must be 0 or 1"):
        yolo_neighbour_targets(torch.full((1, 4, 4, 7), 0.5), 1)
    bad = two.clone()
    bad[0, 1, 1, 5:] = 1  # two classes at once
    with pytest.raises(ValueError, match="one-hot"):
        yolo_neighbour_targets(bad, 1)
    with pytest.raises(ValueError, match="Tensor\\[N, S, S"):
        yolo_neighbour_targets(two[0], 1)  # a single map without the batch axis


def test_ciou_box_term_equals_one_minus_ciou_of_the_decoded_boxes():
    targets = scenes(3, 90)
    target = yolo_encode([t["boxes"].double() for t in targets], [t["labels"] for t in targets], 8, ANCHORS, 3)
    pred = random_pred(3, 8, 3, 3, 5)
    terms = yolo_loss_terms(pred, target, 2.0, 0.5, num_anchors=3, box="ciou", anchors=ANCHORS, image_size=64)
    assert sorted(terms) == ["box", "class", "noobj", "obj"]
    seed = yolo_loss_terms(pred, target, 2.0, 0.5, num_anchors=3)
    for name in ("obj", "noobj", "class"):
        assert terms[name].item() == pytest.approx(seed[name].item())
    _, pb, _ = yolo_boxes(pred, ANCHORS)  # pixel boxes of every predictor
    _, tb, _ = yolo_boxes(target, ANCHORS)
    obj = yolo_predictors(target, 3)[..., 0] == 1
    expected = sum(1 - ciou_loop(p, t) for p, t in zip(pb[obj].tolist(), tb[obj].tolist()))
    assert terms["box"].item() == pytest.approx(2.0 * expected / 3, rel=1e-6)  # box_ciou adds eps = 1e-7
    total = yolo_loss(pred, target, 2.0, 0.5, num_anchors=3, box="ciou", anchors=ANCHORS, image_size=64)
    assert total.item() == pytest.approx(sum(v.item() for v in terms.values()))
    with pytest.raises(ValueError, match="needs anchors"):
        yolo_loss_terms(pred, target, num_anchors=3, box="ciou")
    with pytest.raises(ValueError, match="box must be one of"):
        yolo_loss_terms(pred, target, num_anchors=3, box="giou")
