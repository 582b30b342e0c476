"""Tests for cnnlib.data.paired: one random draw for an image, its mask and its boxes.

References: ``torch.flip``; slices of ``F.pad`` (the offset found from the image, the mask must
be the same slice); an affine warp written in the test from an explicit matrix (rotation,
shear, scale built with cos/sin/tan, the inverse applied to each output pixel centre, nearest
source pixel); ``F.interpolate`` with ``"nearest-exact"`` and a loop for resizing; boxes checked
against masks rasterised from the boxes and transformed with the image (exactly for flips and
crops, within a pixel for resizing and rotation); the image-only transforms of
:mod:`cnnlib.data.augment` with the same seed.
"""

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

from cnnlib.data import augment
from cnnlib.data.paired import (
    Augmented, Compose, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation,
    RandomVerticalFlip,
)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def random_boxes(n, H, W, seed):
    g = gen(seed)
    xy = torch.stack([torch.randint(0, W - 1, (n,), generator=g), torch.randint(0, H - 1, (n,), generator=g)], 1)
    wh = torch.stack([torch.randint(1, W // 2, (n,), generator=g), torch.randint(1, H // 2, (n,), generator=g)], 1)
    return torch.cat([xy, (xy + wh).minimum(torch.tensor([W, H]))], 1).float()  # (n, 4), inside the image


def rasterise(boxes, H, W):
    """(M, H, W) bool: pixel (y, x) is in box m when its centre (x + 0.5, y + 0.5) lies inside."""
    ys, xs = torch.arange(H)[:, None] + 0.5, torch.arange(W)[None, :] + 0.5
    return torch.stack([(xs > x1) & (xs < x2) & (ys > y1) & (ys < y2) for x1, y1, x2, y2 in boxes.tolist()]) \
        if len(boxes) else torch.zeros(0, H, W, dtype=torch.bool)


def mask_box(m):
    """The enclosing box (x1, y1, x2, y2) in pixel edges of a (H, W) mask, or None when empty."""
    rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
    return None if len(rows) == 0 else [cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1]


PAIRS = [  # paired transform, its image-only twin (same arguments)
    (lambda g: RandomHorizontalFlip(0.5, generator=g), lambda g: augment.RandomHorizontalFlip(0.5, generator=g)),
    (lambda g: RandomCrop((9, 7), padding=(1, 2, 3, 0), pad_mode="reflect", generator=g),
     lambda g: augment.RandomCrop((9, 7), padding=(1, 2, 3, 0), pad_mode="reflect", generator=g)),
    (lambda g: RandomAffine(30, (0.1, 0.2), (0.8, 1.2), (-5, 5, 0, 10), generator=g),
     lambda g: augment.RandomAffine(30, (0.1, 0.2), (0.8, 1.2), (-5, 5, 0, 10), generator=g)),
    (lambda g: RandomRotation(45, generator=g), lambda g: augment.RandomRotation(45, generator=g)),
]


@pytest.mark.parametrize("index", range(len(PAIRS)))
@pytest.mark.parametrize("seed", [0, 1])
def test_image_alone_and_with_targets_match_the_image_only_transform(index, seed):
    paired, plain = PAIRS[index]
    x = torch.rand(6, 2, 10, 12, generator=gen(seed))
    expected = plain(gen(seed))(x)
    assert torch.equal(paired(gen(seed))(x), expected)
    out = paired(gen(seed))(x, mask=torch.zeros(6, 10, 12, dtype=torch.long))
    assert isinstance(out, Augmented) and torch.equal(out.image, expected) and out.boxes is None


@pytest.mark.parametrize("cls", [RandomHorizontalFlip, RandomVerticalFlip])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flips_match_torch_flip_and_the_rasterised_boxes(cls, seed):
    x = torch.rand(8, 3, 9, 11, generator=gen(seed))
    mask = torch.randint(0, 5, (8, 9, 11), generator=gen(seed + 10))
    boxes = [random_boxes(4, 9, 11, seed * 10 + i) for i in range(8)]
    labels = [torch.arange(4) + 10 * i for i in range(8)]
    out = cls(0.5, generator=gen(seed))(x, mask=mask, boxes=boxes, labels=labels)
    dim = -1 if cls is RandomHorizontalFlip else -2
    flipped = [torch.equal(out.image[i], x[i].flip(dim)) for i in range(8)]
    assert 0 < sum(flipped) < 8  # both outcomes occur with these seeds
    for i in range(8):
        assert torch.equal(out.image[i], x[i].flip(dim) if flipped[i] else x[i])
        assert torch.equal(out.mask[i], mask[i].flip(dim) if flipped[i] else mask[i]) and out.mask.dtype == torch.long
        moved = rasterise(boxes[i], 9, 11).flip(dim) if flipped[i] else rasterise(boxes[i], 9, 11)
        assert out.boxes[i].tolist() == [mask_box(m) for m in moved] and torch.equal(out.labels[i], labels[i])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_crop_cuts_the_mask_and_boxes_where_it_cuts_the_image(seed, mode):
    H, W, pad = 12, 10, (2, 1, 3, 2)  # (left, right, top, bottom)
    x = torch.rand(1, H, W, generator=gen(seed)) + 1.0  # nothing equals the zero padding
    boxes, labels = random_boxes(6, H, W, seed), torch.arange(6)
    instance = rasterise(boxes, H, W)  # (6, H, W) bool: the boxes as masks
    out = RandomCrop((8, 7), padding=pad, pad_mode=mode, mask_fill=0, generator=gen(seed))(
        x, mask=instance, boxes=boxes, labels=labels)
    xp = F.pad(x[None], pad, mode="constant" if mode == "zeros" else mode)[0]  # (1, H + 5, W + 3)
    offsets = [(t, l) for t in range(H + 5 - 8 + 1) for l in range(W + 3 - 7 + 1)
               if torch.equal(out.image, xp[:, t:t + 8, l:l + 7])]
    assert len(offsets) == 1
    t, l = offsets[0]
    mp = F.pad(instance[None].float(), pad, mode="constant" if mode == "zeros" else mode)[0] > 0.5
    assert out.mask.dtype == torch.bool and torch.equal(out.mask, mp[:, t:t + 8, l:l + 7])
    if mode == "zeros":  # replicate padding stretches objects; their boxes do not follow (documented)
        expected = [(mask_box(m), k) for k, m in enumerate(out.mask) if m.any()]
        assert out.boxes.tolist() == [e[0] for e in expected] and out.labels.tolist() == [e[1] for e in expected]


def affine_by_hand(mask, angle, translate, scale, shear, fill):
    """Nearest warp of a (K, H, W) mask: output pixel centre q reads c + A^-1 (q - c - t)."""
    K, H, W = mask.shape
    a, (sx, sy) = math.radians(angle), (math.tan(math.radians(v)) for v in shear)
    R = torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]], dtype=torch.float64)
    A = scale * R @ torch.tensor([[1.0, 0.0], [sy, 1.0]], dtype=torch.float64) @ torch.tensor(
        [[1.0, sx], [0.0, 1.0]], dtype=torch.float64)
    A_inv, c = torch.linalg.inv(A), torch.tensor([(W - 1) / 2, (H - 1) / 2], dtype=torch.float64)
    out = torch.full_like(mask, fill)
    for y in range(H):
        for x in range(W):
            px, py = (c + A_inv @ (torch.tensor([x, y], dtype=torch.float64) - c - translate)).tolist()
            i, j = round(py), round(px)
            if 0 <= i < H and 0 <= j < W:
                out[:, y, x] = mask[:, i, j]
    return out, A


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_affine_matches_an_explicit_matrix_and_the_rasterised_boxes(seed):
    H, W = 20, 24
    x = torch.rand(3, 3, H, W, generator=gen(seed))
    boxes = [random_boxes(5, H, W, 10 * seed + i) for i in range(3)]
    labels = [torch.arange(5) for _ in range(3)]
    make = lambda: RandomAffine(40, (0.1, 0.1), (0.7, 1.3), (-10, 10, -5, 5), mask_fill=7, generator=gen(seed))  # noqa: E731
    params = make().get_params(3, (H, W))
    instance = torch.stack([rasterise(b, H, W) for b in boxes]).long()  # (3, 5, H, W) as class ids 0/1
    out = make()(x, mask=instance, boxes=boxes, labels=labels)
    assert out.mask.dtype == torch.long
    for i in range(3):
        p = {k: v[i] for k, v in params.items()}
        by_hand, A = affine_by_hand(instance[i], p["angle"].item(), p["translate"], p["scale"].item(),
                                    p["shear"].tolist(), 7)
        assert (out.mask[i] != by_hand).float().mean() < 0.005  # only rounding ties may differ
        centre = torch.tensor([W / 2, H / 2], dtype=torch.float64)
        for k, b in enumerate(boxes[i].double()):
            corners = torch.stack([b[[0, 1]], b[[0, 3]], b[[2, 1]], b[[2, 3]]])  # (4, 2)
            q = centre + p["translate"] + (corners - centre) @ A.T
            lo, hi = q.amin(0).clamp(min=0).minimum(torch.tensor([W, H])), q.amax(0).clamp(min=0).minimum(torch.tensor([W, H]))
            kept = (out.labels[i] == k).nonzero().flatten()
            if (hi - lo).min() <= 0:
                assert len(kept) == 0
                continue
            got = out.boxes[i][kept[0]].double()
            assert torch.allclose(got, torch.cat([lo, hi]).to(got), atol=1e-4)
            drawn = mask_box(out.mask[i, k] == 1)  # the rasterised box, warped with the image
            if drawn is not None:  # the warped pixels lie inside the box (to within a pixel)
                assert drawn[0] >= got[0] - 1 and drawn[1] >= got[1] - 1 and drawn[2] <= got[2] + 1 and drawn[3] <= got[3] + 1


def test_a_quarter_turn_is_rot90_for_the_mask_and_the_boxes():
    x, mask = torch.rand(2, 6, 6), torch.randint(0, 9, (6, 6), dtype=torch.uint8)
    boxes = torch.tensor([[0.0, 1.0, 2.0, 4.0], [3.0, 0.0, 6.0, 2.0]])
    out = RandomRotation((90, 90))(x, mask=mask, boxes=boxes)
    assert torch.equal(out.mask, torch.rot90(mask)) and out.mask.dtype == torch.uint8
    assert torch.allclose(out.boxes, torch.tensor([[mask_box(m) for m in torch.rot90(rasterise(boxes, 6, 6), 1, (1, 2))]],
                                                  dtype=torch.float32)[0], atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_resized_crop_matches_interpolate_and_the_rasterised_boxes(seed):
    x = torch.rand(3, 16, 16, generator=gen(seed))
    boxes = random_boxes(6, 16, 16, seed)
    whole = RandomResizedCrop((8, 12), scale=(1, 1), ratio=(1, 1), generator=gen(seed))  # the whole image
    mask = torch.randint(0, 4, (16, 16), generator=gen(seed))
    out = whole(x, mask=mask, boxes=boxes)
    assert torch.allclose(out.image, F.interpolate(x[None], size=(8, 12), mode="bilinear", align_corners=False)[0])
    rows, cols = [math.floor((o + 0.5) * 16 / 8) for o in range(8)], [math.floor((o + 0.5) * 16 / 12) for o in range(12)]
    assert torch.equal(out.mask, mask[rows][:, cols])  # the nearest pixel centre, by hand
    assert torch.allclose(out.boxes, boxes * torch.tensor([12 / 16, 8 / 16, 12 / 16, 8 / 16]))
    aug = RandomResizedCrop(10, scale=(0.2, 0.6), generator=gen(seed))
    out = aug(x, mask=rasterise(boxes, 16, 16), boxes=boxes, labels=torch.arange(6))
    for box, k in zip(out.boxes.tolist(), out.labels.tolist()):
        drawn = mask_box(out.mask[k])
        if drawn is not None:  # nearest-exact resampling moves an edge by at most half an output pixel... plus rounding
            assert all(abs(a - b) <= 1 for a, b in zip(drawn, box))
    assert all(not out.mask[k].any() or k in out.labels.tolist() for k in range(6))  # no visible box dropped


def test_compose_threads_the_targets_and_pickles_with_its_generators():
    aug = Compose([RandomHorizontalFlip(generator=gen(0)), RandomCrop(12, padding=2, generator=gen(1)),
                   augment.ColorShift(brightness=0.1, generator=gen(2)), RandomRotation(20, generator=gen(3))])
    copy = pickle.loads(pickle.dumps(aug))
    x, mask, boxes = torch.rand(3, 14, 14), torch.randint(0, 3, (14, 14)), random_boxes(4, 14, 14, 0)
    a, b = aug(x, mask=mask, boxes=boxes, labels=torch.arange(4)), copy(x, mask=mask, boxes=boxes, labels=torch.arange(4))
    assert a.image.shape == (3, 12, 12) and a.mask.shape == (12, 12) and len(a.boxes) == len(a.labels)
    assert all(torch.equal(u, v) for u, v in zip(a, b))  # the same draws after the round trip


def test_empty_boxes_and_bad_arguments():
    x = torch.rand(1, 8, 8)
    out = RandomAffine(30, generator=gen(0))(x, boxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assert out.boxes.shape == (0, 4) and out.labels.shape == (0,)
    out = RandomHorizontalFlip(1.0)(x, boxes=torch.tensor([[0, 0, 3, 3]]))  # integer boxes upcast
    assert out.boxes.dtype == torch.float32 and out.labels is None and out.mask is None
    with pytest.raises(TypeError, match="labels need boxes"):
        RandomHorizontalFlip()(x, labels=torch.tensor([1]))
    with pytest.raises(ValueError, match=r"boxes must be Tensor\[M, 4\]"):
        RandomHorizontalFlip()(x, boxes=torch.zeros(3))
    with pytest.raises(ValueError, match="x1 <= x2"):
        RandomHorizontalFlip()(x, boxes=torch.tensor([[3.0, 0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"labels must be Tensor\[M=1\]"):
        RandomHorizontalFlip()(x, boxes=torch.zeros(1, 4), labels=torch.zeros(2))
    with pytest.raises(ValueError, match=r"mask must have shape \(H, W\) or \(K, H, W\) with the image's H, W = \(8, 8\)"):
        RandomCrop(4)(x, mask=torch.zeros(7, 8))
    with pytest.raises(TypeError, match="lists of 2 tensors"):
        RandomCrop(4)(torch.rand(2, 1, 8, 8), boxes=torch.zeros(1, 4))
    with pytest.raises(TypeError, match="mask_fill must be a number"):
        RandomAffine(mask_fill="background")
    with pytest.raises(ValueError, match="scale must give a range"):
        RandomResizedCrop(4, scale=(0.5, 2.0))
