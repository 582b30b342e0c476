"""Tests for cnnlib.data.augment.

References: ``torch.flip``; slices of ``F.pad`` (every offset tried, the output must be exactly
one of them); ``torch.rot90``; a loop written in the test that maps each output pixel to its
source by the affine formula and interpolates by hand (bilinear and nearest, zeros outside);
``numpy.cov`` + ``numpy.linalg.eigh`` for the colour principal components; sample statistics
of the colour shifts against their distributions; hand slicing for five/ten crops; and two runs
of a seeded ``DataLoader`` with worker processes.
"""

import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from cnnlib.data import AugmentedDataset, mnist_loaders
from cnnlib.data.augment import (
    ColorShift, Compose, PCAColorShift, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomRotation, affine,
    center_crop, five_crop, ten_crop,
)


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------ flips
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_flip_matches_torch_flip_per_image(dtype):
    x = torch.rand(400, 2, 3, 5, generator=gen(0), dtype=dtype)
    assert torch.equal(RandomHorizontalFlip(1.0)(x), torch.flip(x, [-1]))
    assert torch.equal(RandomHorizontalFlip(0.0)(x), x)
    assert torch.equal(RandomHorizontalFlip(1.0)(x[0]), torch.flip(x[0], [-1]))
    out = RandomHorizontalFlip(0.3, generator=gen(1))(x)
    flipped = (out == torch.flip(x, [-1])).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert torch.all(flipped ^ kept) and out.dtype == dtype  # each image whole, one way or the other
    assert 0.22 < flipped.float().mean() < 0.38  # p = 0.3: the standard error is 0.023


# ------------------------------------------------------------------------------------ crops
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_crop_is_a_slice_of_the_padded_image_at_a_uniform_offset(mode):
    x = torch.rand(600, 1, 6, 5, generator=gen(0))
    pad = (2, 1, 3, 0)  # left, right, top, bottom
    ref = F.pad(x, pad, mode={"zeros": "constant"}.get(mode, mode), **({"value": -1.0} if mode == "zeros" else {}))
    out = RandomCrop((5, 4), padding=pad, pad_mode=mode, fill=-1.0, generator=gen(3))(x)
    assert out.shape == (600, 1, 5, 4)
    hits = torch.zeros(ref.shape[-2] - 4, ref.shape[-1] - 3, dtype=torch.long)  # 5 x 5 possible offsets
    for i in range(len(x)):
        matches = [(t, l) for t in range(hits.shape[0]) for l in range(hits.shape[1])
                   if torch.equal(out[i], ref[i, :, t:t + 5, l:l + 4])]
        assert len(matches) == 1
        hits[matches[0]] += 1
    assert hits.min() > 8 and hits.max() < 45  # 24 expected per offset


def test_crop_without_padding_and_of_one_image():
    x = torch.rand(3, 7, 9, generator=gen(0))
    out = RandomCrop(7, generator=gen(0))(x)
    assert any(torch.equal(out, x[:, :, l:l + 7]) for l in range(3))
    assert torch.equal(RandomCrop((7, 9))(x), x)


# -------------------------------------------------------------------------- rotation, shear
@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotation_by_quarter_turns_matches_rot90(size, interpolation):
    x = torch.rand(3, 2, size, size, generator=gen(size))
    for degrees, k in ((90, 1), (180, 2), (-90, -1), (270, 3), (0, 0)):
        out = RandomRotation((degrees, degrees), interpolation=interpolation)(x)
        assert (out - torch.rot90(x, k, (-2, -1))).abs().max() < 1e-5


def reference_affine(image, angle, translate, scale, shear, interpolation, fill=0.0):
    """Each output pixel q reads the input at p = c + A^-1 (q - c - t); interpolated by hand."""
    C, H, W = image.shape
    a, sx, sy = math.radians(angle), math.tan(math.radians(shear[0])), math.tan(math.radians(shear[1]))
    R = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    A = scale * R @ np.array([[1, 0], [sy, 1]]) @ np.array([[1, sx], [0, 1]])
    A_inv, c = np.linalg.inv(A), np.array([(W - 1) / 2, (H - 1) / 2])
    img, out = image.double().numpy(), np.zeros((C, H, W))

    def pixel(yy, xx):
        return img[:, yy, xx] if 0 <= yy < H and 0 <= xx < W else np.zeros(C)

    for i in range(H):
        for j in range(W):
            px, py = c + A_inv @ (np.array([j, i]) - c - np.asarray(translate))
            if interpolation == "nearest":
                xi, yi = int(np.rint(px)), int(np.rint(py))
                inside = 0 <= yi < H and 0 <= xi < W
                out[:, i, j] = pixel(yi, xi) if inside else fill
                continue
            x0, y0 = math.floor(px), math.floor(py)
            fx, fy = px - x0, py - y0
            weights = {(y0, x0): (1 - fy) * (1 - fx), (y0, x0 + 1): (1 - fy) * fx,
                       (y0 + 1, x0): fy * (1 - fx), (y0 + 1, x0 + 1): fy * fx}
            out[:, i, j] = sum(wt * pixel(yy, xx) for (yy, xx), wt in weights.items())
            out[:, i, j] += fill * sum(wt for (yy, xx), wt in weights.items() if not (0 <= yy < H and 0 <= xx < W))
    return torch.from_numpy(out)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_affine_matches_a_loop_over_output_pixels(seed, interpolation):
    g = np.random.default_rng(seed)
    x = torch.rand(2, 2, 5, 7, generator=gen(seed), dtype=torch.float64)
    params = [dict(angle=g.uniform(-180, 180), translate=tuple(g.uniform(-2, 2, 2)), scale=g.uniform(0.7, 1.4),
                   shear=tuple(g.uniform(-30, 30, 2))) for _ in range(2)]
    batched = {k: torch.tensor([p[k] for p in params], dtype=torch.float64) for k in params[0]}
    fill = 0.5 if seed == 2 else 0.0
    out = affine(x, **batched, interpolation=interpolation, fill=fill)
    for n, p in enumerate(params):
        ref = reference_affine(x[n], **p, interpolation=interpolation, fill=fill)
        assert (out[n] - ref).abs().max() < 1e-9
    one = affine(x[0].float(), **params[0], interpolation=interpolation, fill=fill)  # float32, one image
    assert one.dtype == torch.float32 and (one - out[0]).abs().max() < 1e-5


def test_random_affine_uses_the_parameters_it_draws():
    aug = RandomAffine(degrees=(-20, 40), translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-5, 5, 10, 15), generator=gen(7))
    x = torch.rand(500, 1, 10, 20, generator=gen(0))
    out = aug(x)
    p = RandomAffine(degrees=(-20, 40), translate=(0.1, 0.2), scale=(0.8, 1.2), shear=(-5, 5, 10, 15),
                     generator=gen(7)).get_params(500, (10, 20))
    assert torch.equal(out, affine(x, **p))
    for name, lo, hi in (("angle", -20, 40), ("scale", 0.8, 1.2)):
        assert lo <= p[name].min() and p[name].max() <= hi and p[name].max() - p[name].min() > 0.9 * (hi - lo)
    assert p["translate"][:, 0].abs().max() <= 2 and p["translate"][:, 1].abs().max() <= 2  # 0.1 * 20, 0.2 * 10
    assert -5 <= p["shear"][:, 0].min() and p["shear"][:, 0].max() <= 5 and 10 <= p["shear"][:, 1].min()
    only_x = RandomAffine(shear=8, generator=gen(0)).get_params(100, (5, 5))
    assert torch.equal(only_x["shear"][:, 1], torch.zeros(100)) and only_x["shear"][:, 0].abs().max() <= 8


def test_rotation_fills_the_corners_and_keeps_dtype():
    x = torch.ones(1, 9, 9, dtype=torch.float64)
    out = RandomRotation((45, 45), interpolation="nearest", fill=-1.0)(x)
    assert out.dtype == torch.float64 and out[0, 0, 0] == -1 and out[0, 4, 4] == 1
    assert out[0, 0, 4] == 1  # the rotated square's corner reaches the middle of the edge


# ---------------------------------------------------------------------------------- colour
def test_brightness_and_contrast_shifts_have_the_stated_distribution():
    x = torch.rand(4000, 1, 4, 4, generator=gen(0), dtype=torch.float64)
    out = ColorShift(brightness=0.2, generator=gen(1))(x)
    b = (out - x).flatten(1)
    assert torch.allclose(b, b[:, :1].expand_as(b), atol=1e-12)  # one shift per image
    b = b[:, 0]
    assert b.abs().max() <= 0.2 and abs(b.mean()) < 0.01 and abs(b.var() - 0.2**2 / 3) < 0.1 * 0.2**2 / 3
    out = ColorShift(contrast=0.3, generator=gen(2))(x)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    c = ((out - m) / (x - m)).flatten(1)
    assert torch.allclose(out.mean(dim=(1, 2, 3), keepdim=True), m)  # the mean grey level stays
    assert torch.allclose(c, c[:, :1].expand_as(c)) and 0.7 <= c.min() and c.max() <= 1.3
    assert abs(c[:, 0].mean() - 1) < 0.01


def test_channel_shift_tints_each_channel_independently():
    x = torch.rand(3000, 3, 2, 2, generator=gen(0))
    s = (ColorShift(channel_shift=0.1, generator=gen(1))(x) - x).mean(dim=(2, 3))  # (N, 3)
    assert s.abs().max() <= 0.1 + 1e-6 and s.std(0).sub(0.1 / math.sqrt(3)).abs().max() < 0.004
    assert torch.corrcoef(s.T).sub(torch.eye(3)).abs().max() < 0.06
    clamped = ColorShift(brightness=0.5, clamp=(0.0, 1.0), generator=gen(2))(x)
    assert clamped.min() >= 0 and clamped.max() <= 1


def test_pca_colour_shift_follows_the_principal_components():
    g = np.random.default_rng(0)
    grey = g.uniform(0, 1, (64, 1, 8, 8))  # pixels vary mostly along (1, 1, 1): brightness
    rgb = torch.from_numpy(grey + 0.05 * g.standard_normal((64, 3, 8, 8)))
    aug = PCAColorShift.from_images(rgb, std=0.1, generator=gen(0))
    vals, vecs = np.linalg.eigh(np.cov(rgb.permute(1, 0, 2, 3).reshape(3, -1).numpy()))
    assert np.allclose(aug.eigvals.numpy(), vals[::-1]) and np.allclose(np.abs(aug.eigvecs.numpy()), np.abs(vecs[:, ::-1]))
    assert abs(abs(aug.eigvecs[:, 0] @ torch.ones(3, dtype=torch.float64)) / math.sqrt(3) - 1) < 1e-3
    x = torch.rand(5000, 3, 2, 2, generator=gen(1), dtype=torch.float64)
    shift = aug(x) - x
    s = shift[:, :, 0, 0]
    assert torch.allclose(shift, s[:, :, None, None].expand_as(shift))  # one colour per image
    alpha = (s @ aug.eigvecs) / aug.eigvals  # coordinates along the components, divided by lambda
    assert alpha.std(0).sub(0.1).abs().max() < 0.005 and alpha.mean(0).abs().max() < 0.005
    along = (s @ aug.eigvecs[:, 0]).abs() / s.norm(dim=1)
    assert along.median() > 0.99  # the shifts change brightness, the colour this data varies in


# --------------------------------------------------------------------------- crops at test
def test_five_and_ten_crop_match_hand_slicing():
    x = torch.rand(2, 3, 7, 9, generator=gen(0))
    h, w = 3, 4
    by_hand = [x[..., :h, :w], x[..., :h, 9 - w:], x[..., 7 - h:, :w], x[..., 7 - h:, 9 - w:], x[..., 2:2 + h, 2:2 + w]]
    five = five_crop(x, (h, w))
    assert five.shape == (2, 5, 3, h, w)
    for i, crop in enumerate(by_hand):
        assert torch.equal(five[:, i], crop)
        assert torch.equal(five_crop(x[1], (h, w))[i], crop[1])
    ten = ten_crop(x, (h, w))
    mirrored = x.flip(-1)
    assert ten.shape == (2, 10, 3, h, w) and torch.equal(ten[:, :5], five)
    assert torch.equal(ten[:, 5], mirrored[..., :h, :w]) and torch.equal(ten[:, 5], five[:, 1].flip(-1))
    assert torch.equal(ten[:, 9], mirrored[..., 2:2 + h, 2:2 + w])
    assert torch.equal(center_crop(x, (h, w)), by_hand[4]) and torch.equal(five_crop(x, (7, 9))[:, 4], x)


# ----------------------------------------------------------------------------- reproducible
def pipeline(generator=None):
    return Compose([RandomHorizontalFlip(generator=generator), RandomCrop(28, padding=3, generator=generator),
                    RandomAffine(10, translate=(0.05, 0.05), shear=5, generator=generator),
                    ColorShift(brightness=0.1, contrast=0.2, generator=generator)])


def test_same_seed_same_batch_and_different_seeds_differ():
    x = torch.rand(16, 1, 28, 28, generator=gen(0))
    a, b, c = pipeline(gen(5))(x), pipeline(gen(5))(x), pipeline(gen(6))(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(3)
    d = pipeline()(x)
    torch.manual_seed(3)
    assert torch.equal(d, pipeline()(x))  # the global generator, as inside DataLoader workers
    restored = pickle.loads(pickle.dumps(pipeline()))  # picklable, for "spawn" worker processes
    torch.manual_seed(3)
    assert torch.equal(d, restored(x))


def test_dataloader_with_worker_processes_is_reproducible():
    images = torch.rand(1, 1, 28, 28, generator=gen(0)).expand(32, 1, 28, 28)  # one image, 32 times
    dataset = AugmentedDataset(images, torch.arange(32), pipeline())

    def batches(seed):
        loader = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, generator=gen(seed))
        return list(loader)

    run1, run2, other = batches(0), batches(0), batches(1)
    for (x1, y1), (x2, y2) in zip(run1, run2):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(run1[0][0], other[0][0])
    xs = torch.cat([x for x, _ in run1])
    assert len({im.numpy().tobytes() for im in xs}) == 32  # every worker, every image: its own draw
    train1, _, _ = mnist_loaders(batch_size=250, seed=4, num_workers=2, augment=pipeline())
    train2, _, _ = mnist_loaders(batch_size=250, seed=4, num_workers=2, augment=pipeline())
    (a, la), (b, lb) = next(iter(train1)), next(iter(train2))
    assert torch.equal(a, b) and torch.equal(la, lb) and a.shape == (250, 1, 28, 28)
    del train1, train2


# ----------------------------------------------------------------------------------- errors
def test_bad_arguments_raise_clear_errors():
    x = torch.rand(1, 8, 8)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\], got 1.5"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="crop size \\(9, 9\\) is larger than the padded image \\(8, 8\\)"):
        RandomCrop(9)(x)
    with pytest.raises(ValueError, match="crop size \\(9, 3\\) is larger than the image \\(8, 8\\)"):
        five_crop(x, (9, 3))
    for bad in (0, -2, (3,)):
        with pytest.raises(ValueError, match="size must be"):
            RandomCrop(bad)
    with pytest.raises(TypeError, match="size must be an int or a pair of ints, got 2.5"):
        RandomCrop(2.5)
    with pytest.raises(ValueError, match="padding must be an int >= 0"):
        RandomCrop(4, padding=-1)
    with pytest.raises(ValueError, match="pad_mode must be one of"):
        RandomCrop(4, pad_mode="mirror")
    with pytest.raises(ValueError, match="degrees must be >= 0"):
        RandomRotation(-10)
    with pytest.raises(ValueError, match="degrees must give a range lo <= hi"):
        RandomAffine((10, -10))
    with pytest.raises(ValueError, match="shear must give a range"):
        RandomAffine(shear=95)
    with pytest.raises(ValueError, match="scale must be None or a range"):
        RandomAffine(scale=0.5)
    with pytest.raises(ValueError, match="translate must be None or a pair"):
        RandomAffine(translate=(0.5, 2))
    with pytest.raises(ValueError, match="interpolation must be"):
        affine(x, 10.0, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"angle must have shape \(\) or \(1,\)"):
        affine(x, torch.zeros(3))
    for bad in (torch.rand(8, 8), torch.rand(1, 1, 1, 8, 8), torch.ones(1, 8, 8, dtype=torch.uint8)):
        with pytest.raises(ValueError, match=r"x must be a floating-point tensor of shape \(C, H, W\) or \(N, C, H, W\)"):
            RandomHorizontalFlip()(bad)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        RandomCrop(4)(np.zeros((1, 8, 8)))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        RandomHorizontalFlip(generator=0)
    with pytest.raises(ValueError, match=r"contrast must be in \[0.0, 1.0\]"):
        ColorShift(contrast=1.5)
    with pytest.raises(ValueError, match="x must have 3 channels"):
        PCAColorShift(torch.ones(3), torch.eye(3))(x)
    with pytest.raises(ValueError, match=r"eigvecs must be a Tensor\[3, 3\]"):
        PCAColorShift(torch.ones(3), torch.eye(2))
    with pytest.raises(TypeError, match="transforms must be a sequence of callables"):
        Compose([RandomHorizontalFlip(), 3])


def test_empty_batches_pass_through():
    empty = torch.zeros(0, 1, 8, 8)
    for t in (RandomHorizontalFlip(), RandomCrop(6, padding=1), RandomRotation(10), ColorShift(0.1, 0.1)):
        assert t(empty).shape[0] == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    x = torch.rand(4, 3, 16, 16, generator=gen(0))
    for make in (lambda: pipeline(gen(1)), lambda: PCAColorShift(torch.rand(3), torch.eye(3), generator=gen(1))):
        cpu, cuda = make()(x), make()(x.cuda())
        assert cuda.device.type == "cuda" and (cuda.cpu() - cpu).abs().max() < 1e-5


# -- pickling with a generator (spawned DataLoader workers) ---------------------------------------
# Reference: the same transform, unpickled, draws what the original draws next.

@pytest.mark.parametrize("make", [
    lambda g: RandomHorizontalFlip(generator=g),
    lambda g: RandomCrop(6, padding=1, generator=g),
    lambda g: RandomAffine(degrees=20, translate=(0.1, 0.1), generator=g),
    lambda g: ColorShift(brightness=0.2, contrast=0.2, generator=g),
])
def test_transform_with_generator_pickles_in_the_same_state(make):
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    t = make(torch.Generator().manual_seed(7))
    t(x)  # advance the generator past its seed
    copy = pickle.loads(pickle.dumps(t))
    assert isinstance(copy.generator, torch.Generator) and copy.generator is not t.generator
    assert torch.equal(copy(x), t(x))


def test_transform_with_generator_works_in_spawned_workers():
    same = torch.rand(1, 1, 12, 12).expand(16, 1, 12, 12).clone()
    data = AugmentedDataset(same, torch.zeros(16, dtype=torch.long),
                            RandomAffine(degrees=15, generator=torch.Generator().manual_seed(0)))
    loader = DataLoader(data, batch_size=8, num_workers=2, multiprocessing_context="spawn")
    first, second = (batch[0] for batch in loader)
    assert torch.equal(first, second)  # the generator is copied into both workers in one state
