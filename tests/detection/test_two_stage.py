"""Tests for cnnlib.detection.two_stage: box deltas, the RPN head, RoI pooling and RoIAlign.

Reference: loops over regions, bins and cells written in this file following torchvision's C++
kernels (``roi_pool_kernel.cpp``: rounded corners, floor/ceil bins, empty bins 0;
``roi_align_kernel.cpp``: bilinear_interpolate with its border rule); ``F.max_pool2d`` and
``F.avg_pool2d`` for regions that cover the whole map; R-CNN's delta formulas by hand;
decode(encode(x)) = x; autograd gradcheck.
"""

import math
import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.detection import box_iou, grid_anchors
from cnnlib.detection.two_stage import DELTA_CLAMP, RegionProposalNetwork, decode_boxes, encode_boxes, roi_align, roi_pool


def c_round(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def roi_pool_loop(f, rois, PH, PW, scale):
    N, C, H, W = f.shape
    out = torch.zeros(len(rois), C, PH, PW, dtype=f.dtype)
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1, x2, y2 = (c_round(v * scale) for v in (x1, y1, x2, y2))
        rw, rh = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
        for ph in range(PH):
            hs = min(max(math.floor(ph * rh / PH) + y1, 0), H)
            he = min(max(math.ceil((ph + 1) * rh / PH) + y1, 0), H)
            for pw in range(PW):
                ws = min(max(math.floor(pw * rw / PW) + x1, 0), W)
                we = min(max(math.ceil((pw + 1) * rw / PW) + x1, 0), W)
                if he > hs and we > ws:
                    out[k, :, ph, pw] = f[int(b), :, hs:he, ws:we].amax(dim=(1, 2))
    return out


def bilinear(fm, y, x):
    """torchvision's bilinear_interpolate for one (C, H, W) map."""
    C, H, W = fm.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return torch.zeros(C, dtype=fm.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= H - 1:
        yh = yl = H - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= W - 1:
        xh = xl = W - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return hy * hx * fm[:, yl, xl] + hy * lx * fm[:, yl, xh] + ly * hx * fm[:, yh, xl] + ly * lx * fm[:, yh, xh]


def roi_align_loop(f, rois, PH, PW, scale, sr, aligned):
    out = torch.zeros(len(rois), f.shape[1], PH, PW, dtype=f.dtype)
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        x1, y1, x2, y2 = x1 * scale - off, y1 * scale - off, x2 * scale - off, y2 * scale - off
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / PH, rw / PW
        for ph in range(PH):
            for pw in range(PW):
                acc = 0
                for iy in range(sr):
                    for ix in range(sr):
                        acc = acc + bilinear(f[int(b)], y1 + ph * bh + (iy + 0.5) * bh / sr, x1 + pw * bw + (ix + 0.5) * bw / sr)
                out[k, :, ph, pw] = acc / (sr * sr)
    return out


def random_rois(n, N, H, W, scale, seed):
    rng = random.Random(seed)
    rois = []
    for _ in range(n):
        x1, y1 = rng.uniform(-3, W / scale), rng.uniform(-3, H / scale)  # some stick out of the map
        rois.append([rng.randrange(N), x1, y1, x1 + rng.uniform(0, W / scale), y1 + rng.uniform(0, H / scale)])
    return torch.tensor(rois, dtype=torch.float64)


@pytest.mark.parametrize("output_size", [(2, 2), (3, 5), (7, 7)])
@pytest.mark.parametrize("seed", range(3))
def test_roi_pool_matches_loop(seed, output_size):
    f = torch.randn(2, 3, 9, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    for scale in (1.0, 0.5):
        rois = random_rois(12, 2, 9, 11, scale, seed)
        out = roi_pool(f, rois, output_size, scale)
        assert torch.equal(out, roi_pool_loop(f, rois, *output_size, scale))


def test_roi_pool_over_the_whole_map_is_max_pooling():
    f = torch.randn(2, 4, 8, 12, generator=torch.Generator().manual_seed(0))
    rois = torch.tensor([[0.0, 0, 0, 11, 7], [1, 0, 0, 11, 7]])
    assert torch.equal(roi_pool(f, rois, (4, 6)), F.max_pool2d(f, 2))


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sr", [1, 2, 3])
@pytest.mark.parametrize("seed", range(2))
def test_roi_align_matches_loop(seed, sr, aligned):
    f = torch.randn(2, 3, 7, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    for scale in (1.0, 0.25):
        rois = random_rois(10, 2, 7, 9, scale, seed + 7)
        out = roi_align(f, rois, (3, 4), scale, sr, aligned)
        ref = roi_align_loop(f, rois, 3, 4, scale, sr, aligned)
        assert (out - ref).abs().max().item() < 1e-12


def test_roi_align_over_the_whole_map_is_average_pooling():
    f = torch.randn(1, 2, 8, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = roi_align(f, torch.tensor([[0.0, 0, 0, 10, 8]], dtype=torch.float64), (4, 5), sampling_ratio=2)
    assert torch.allclose(out, F.avg_pool2d(f, 2), atol=1e-12)  # samples land on pixel centres


def test_roi_align_gradcheck():
    f = torch.randn(1, 2, 5, 6, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(0))
    rois = torch.tensor([[0.0, 0.3, 0.7, 4.2, 3.9], [0, -0.5, 1, 2, 5.5]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: roi_align(x, rois, 2, sampling_ratio=2), (f,))


def test_empty_rois_and_errors():
    f = torch.randn(1, 3, 4, 4)
    assert roi_pool(f, torch.zeros(0, 5), 2).shape == (0, 3, 2, 2)
    assert roi_align(f, torch.zeros(0, 5), 2).shape == (0, 3, 2, 2)
    with pytest.raises(ValueError, match=r"rois\[:, 0\] must hold batch indices in \[0, 0\]"):
        roi_pool(f, torch.tensor([[1.0, 0, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match=r"rois\[:, 1:\]\[0\].*x2 < x1"):
        roi_align(f, torch.tensor([[0.0, 3, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="Tensor\\[K, 5\\]"):
        roi_align(f, torch.zeros(2, 4), 2)
    with pytest.raises(ValueError, match="sampling_ratio"):
        roi_align(f, torch.zeros(0, 5), 2, sampling_ratio=0)


def test_encode_by_hand_and_decode_inverts_it():
    anchors = torch.tensor([[0.0, 0, 4, 4]])  # centre (2, 2), size 4 x 4
    boxes = torch.tensor([[2.0, 0, 6, 8]])  # centre (4, 4), size 4 x 8
    assert torch.allclose(encode_boxes(boxes, anchors), torch.tensor([[0.5, 0.5, 0.0, math.log(2)]]))
    assert torch.allclose(encode_boxes(boxes, anchors, (10, 10, 5, 5)), torch.tensor([[5.0, 5.0, 0.0, 5 * math.log(2)]]))
    assert torch.equal(decode_boxes(torch.zeros(1, 4), anchors), anchors)


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
@pytest.mark.parametrize("seed", range(3))
def test_decode_of_encode_is_identity(seed, weights):
    g = torch.Generator().manual_seed(seed)
    def boxes(n):
        xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 100
        return torch.cat([xy, xy + 1 + torch.rand(n, 2, generator=g, dtype=torch.float64) * 50], dim=1)
    b, a = boxes(40), boxes(40)
    assert torch.allclose(decode_boxes(encode_boxes(b, a, weights), a, weights), b, atol=1e-10)
    d = torch.randn(40, 4, generator=g, dtype=torch.float64)
    assert torch.allclose(encode_boxes(decode_boxes(d, a, weights), a, weights), d, atol=1e-10)


def test_decode_clamps_huge_sizes_and_errors():
    out = decode_boxes(torch.tensor([[0.0, 0, 100, 100]]), torch.tensor([[0.0, 0, 1, 1]]))
    assert torch.isfinite(out).all() and out[0, 2] - out[0, 0] == pytest.approx(math.exp(DELTA_CLAMP), rel=1e-5)
    with pytest.raises(ValueError, match=r"anchors\[1\] = \[5.0, 5.0, 5.0, 9.0\] has zero width or height"):
        encode_boxes(torch.ones(2, 4) * torch.tensor([0, 0, 1, 1]), torch.tensor([[0.0, 0, 1, 1], [5, 5, 5, 9]]))
    with pytest.raises(ValueError, match="same shape"):
        encode_boxes(torch.zeros(2, 4), torch.zeros(3, 4))


def test_rpn_output_order_matches_grid_anchors():
    torch.manual_seed(0)
    rpn = RegionProposalNetwork(4, num_anchors=3, mid_channels=6)
    x = torch.randn(2, 4, 5, 7)
    obj, deltas = rpn(x)
    raw_obj = rpn.objectness(F.relu(rpn.conv(x)))  # (N, A, H, W)
    raw_d = rpn.deltas(F.relu(rpn.conv(x)))  # (N, 4A, H, W)
    n, i, j, a = 1, 3, 5, 2
    flat = (i * 7 + j) * 3 + a  # row, column, anchor: grid_anchors' order
    assert obj[n, flat] == raw_obj[n, a, i, j]
    assert torch.equal(deltas[n, flat], raw_d[n, 4 * a:4 * a + 4, i, j])


def test_rpn_proposals_are_clipped_sorted_and_suppressed():
    torch.manual_seed(0)
    rpn = RegionProposalNetwork(8, num_anchors=2)
    nn_init = torch.nn.init
    nn_init.normal_(rpn.deltas.weight, std=0.3)
    nn_init.normal_(rpn.objectness.weight, std=1.0)
    anchors = grid_anchors((6, 6), torch.tensor([[10.0, 10.0], [20.0, 12.0]]), stride=8)
    props = rpn.propose(torch.randn(2, 8, 6, 6), anchors, (48, 48), pre_nms_top_n=50, post_nms_top_n=20, nms_threshold=0.5)
    assert len(props) == 2
    for boxes, scores in props:
        assert 0 < len(boxes) <= 20 and boxes.min() >= 0 and boxes.max() <= 48
        assert torch.all(scores[:-1] >= scores[1:])
        iou = box_iou(boxes, boxes) - torch.eye(len(boxes))
        assert iou.max() <= 0.5
    with pytest.raises(ValueError, match=r"anchors must have shape \(72, 4\)"):
        rpn.propose(torch.randn(1, 8, 6, 6), anchors[:10], (48, 48))


@pytest.mark.gpu
def test_roi_ops_on_cuda_match_cpu():
    f = torch.randn(2, 3, 9, 11)
    rois = random_rois(8, 2, 9, 11, 1.0, 0).float()
    assert torch.allclose(roi_pool(f.cuda(), rois.cuda(), 3).cpu(), roi_pool(f, rois, 3))
    assert torch.allclose(roi_align(f.cuda(), rois.cuda(), 3).cpu(), roi_align(f, rois, 3), atol=1e-5)
