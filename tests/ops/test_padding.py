"""Tests for cnnlib.ops.padding.pad2d.

Reference: ``torch.nn.functional.pad`` (modes constant/reflect/replicate/circular) and the three
8x8 padded images of seed 004, typed in from the lecture slides.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import pad2d

MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}

SEED_004_IMAGE = [[5, 0, 8, 7, 8, 1], [1, 9, 5, 0, 7, 7], [6, 0, 2, 4, 6, 6],
                  [9, 7, 6, 6, 8, 4], [8, 3, 8, 5, 1, 3], [7, 2, 7, 0, 1, 0]]
SEED_004_PADDED = {
    "replicate": [[5, 5, 0, 8, 7, 8, 1, 1], [5, 5, 0, 8, 7, 8, 1, 1], [1, 1, 9, 5, 0, 7, 7, 7],
                  [6, 6, 0, 2, 4, 6, 6, 6], [9, 9, 7, 6, 6, 8, 4, 4], [8, 8, 3, 8, 5, 1, 3, 3],
                  [7, 7, 2, 7, 0, 1, 0, 0], [7, 7, 2, 7, 0, 1, 0, 0]],
    "reflect": [[9, 1, 9, 5, 0, 7, 7, 7], [0, 5, 0, 8, 7, 8, 1, 8], [9, 1, 9, 5, 0, 7, 7, 7],
                [0, 6, 0, 2, 4, 6, 6, 6], [7, 9, 7, 6, 6, 8, 4, 8], [3, 8, 3, 8, 5, 1, 3, 1],
                [2, 7, 2, 7, 0, 1, 0, 1], [3, 8, 3, 8, 5, 1, 3, 1]],
    "circular": [[0, 7, 2, 7, 0, 1, 0, 7], [1, 5, 0, 8, 7, 8, 1, 5], [7, 1, 9, 5, 0, 7, 7, 1],
                 [6, 6, 0, 2, 4, 6, 6, 6], [4, 9, 7, 6, 6, 8, 4, 9], [3, 8, 3, 8, 5, 1, 3, 8],
                 [0, 7, 2, 7, 0, 1, 0, 7], [1, 5, 0, 8, 7, 8, 1, 5]],
}


@pytest.mark.parametrize("mode", ["replicate", "reflect", "circular"])
def test_seed_004_padded_images(mode):
    image = torch.tensor(SEED_004_IMAGE).view(1, 1, 6, 6)  # integer image: the dtype is kept
    out = pad2d(image, 1, mode)
    assert out.dtype == torch.int64
    assert out[0, 0].tolist() == SEED_004_PADDED[mode]


def test_seed_004_zero_padding_keeps_the_image_inside_a_frame():
    out = pad2d(torch.tensor(SEED_004_IMAGE).view(1, 1, 6, 6), 1)[0, 0]
    assert out[1:7, 1:7].tolist() == SEED_004_IMAGE
    assert out[0].abs().sum() == out[-1].abs().sum() == out[:, 0].abs().sum() == out[:, -1].abs().sum() == 0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", [0, 1, (2, 1), (0, 3, 2, 1), (4, 0, 1, 4), (5, 5, 4, 4)])
def test_matches_f_pad(padding, mode, dtype):
    """Every padding form of F.pad, up to the largest reflect padding (size - 1) of a 5x6 image."""
    x = torch.randn(2, 3, 5, 6, dtype=dtype, generator=torch.Generator().manual_seed(0))
    # F.pad's (left, right) pads the width only; its non-constant modes need all four numbers
    four = (padding,) * 4 if isinstance(padding, int) else tuple(padding) + (0, 0) * (len(padding) == 2)
    ref = F.pad(x, four, mode=TORCH_MODE[mode])
    out = pad2d(x, padding, mode)
    assert out.dtype == dtype and torch.equal(out, ref)


@pytest.mark.parametrize("mode", ["replicate", "circular", "zeros"])
def test_padding_as_large_as_the_image(mode):
    x = torch.randn(1, 2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.equal(pad2d(x, (4, 4, 3, 3), mode), F.pad(x, (4, 4, 3, 3), mode=TORCH_MODE[mode]))


def test_zeros_mode_fill_value():
    x = torch.ones(1, 1, 2, 2)
    out = pad2d(x, 1, value=float("-inf"))
    assert torch.equal(out, F.pad(x, (1, 1, 1, 1), value=float("-inf")))


@pytest.mark.parametrize("mode", MODES)
def test_empty_batch(mode):
    out = pad2d(torch.randn(0, 3, 4, 5), (1, 2, 3, 1), mode)
    assert out.shape == (0, 3, 8, 8) and out.dtype == torch.float32


def test_errors_name_the_argument():
    x = torch.randn(1, 1, 3, 4)
    with pytest.raises(ValueError, match=r"reflect padding \(3 before, 0 after\) must be smaller than the height 3"):
        pad2d(x, (0, 0, 3, 0), "reflect")
    with pytest.raises(ValueError, match=r"reflect padding \(1 before, 4 after\) must be smaller than the width 4"):
        pad2d(x, (1, 4), "reflect")
    with pytest.raises(ValueError, match=r"circular padding \(0 before, 5 after\) must be at most the width 4"):
        pad2d(x, (0, 5, 0, 0), "circular")
    modes = r"\('zeros', 'reflect', 'replicate', 'circular'\)"
    with pytest.raises(ValueError, match=rf"mode must be one of {modes}, got 'mirror'"):
        pad2d(x, 1, "mirror")
    with pytest.raises(ValueError, match=r"padding amounts must be >= 0, got -1"):
        pad2d(x, -1)
    forms = r"an int, \(left, right\) or \(left, right, top, bottom\)"
    with pytest.raises(TypeError, match=rf"padding must be {forms}, got \(1, 2, 3\)"):
        pad2d(x, (1, 2, 3))
    with pytest.raises(TypeError, match=r"padding amounts must be ints, got \(1.0, 2\)"):
        pad2d(x, (1.0, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) \(4 dims\), got shape \(3, 3\)"):
        pad2d(torch.randn(3, 3), 1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", MODES)
def test_cuda_matches_f_pad(mode):
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).cuda()
    out = pad2d(x, (2, 1, 3, 2), mode)
    assert out.device.type == "cuda"
    assert torch.equal(out, F.pad(x, (2, 1, 3, 2), mode=TORCH_MODE[mode]))
