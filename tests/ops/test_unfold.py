"""Tests for cnnlib.ops.unfold: im2col and col2im.

Reference: ``torch.nn.functional.unfold`` and ``torch.nn.functional.fold`` (on an input padded by
``F.pad`` for the non-zero padding modes), the adjoint identity
``<im2col(x), c> == <x, col2im(c)>``, and a hand-computed 4x4 case.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import col2im, im2col

# kernel, stride, padding, dilation: odd/even/non-square kernels, stride larger than the kernel
CASES = [
    ((3, 3), 1, 0, 1), ((3, 2), 2, 1, 2), ((2, 2), 3, 1, 1), ((4, 3), (1, 2), (2, 0), (2, 1)),
    ((1, 1), 2, 0, 1), ((5, 5), 1, 2, 1),
]
TORCH_MODE = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_im2col_matches_unfold_and_col2im_matches_fold(case, seed):
    k, s, p, d = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen)
    cols = im2col(x, k, s, p, d)
    ref = F.unfold(x, k, dilation=d, padding=p, stride=s)
    assert torch.equal(cols, ref)
    c = torch.randn(ref.shape, dtype=torch.float64, generator=gen)
    back = col2im(c, (9, 8), k, s, p, d)
    assert (back - F.fold(c, (9, 8), k, dilation=d, padding=p, stride=s)).abs().max().item() <= 1e-12


@pytest.mark.parametrize("mode", list(TORCH_MODE))
def test_im2col_with_padding_modes_matches_unfold_of_padded_input(mode):
    x = torch.randn(2, 2, 6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    for k, s, p, d in itertools.product((2, 3), (1, 2), ((1, 2), (2, 1)), (1, 2)):
        ref = F.unfold(F.pad(x, (p[1], p[1], p[0], p[0]), mode=TORCH_MODE[mode]), k, dilation=d, stride=s)
        assert torch.equal(im2col(x, k, s, p, d, mode), ref), (k, s, p, d)


def test_col2im_is_the_adjoint_of_im2col():
    gen = torch.Generator().manual_seed(2)
    for k, s, p, d in CASES:
        x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen)
        cols = im2col(x, k, s, p, d)
        c = torch.randn(cols.shape, dtype=torch.float64, generator=gen)
        lhs = (cols * c).sum()
        rhs = (x * col2im(c, (9, 8), k, s, p, d)).sum()
        assert abs(lhs.item() - rhs.item()) <= 1e-10


def test_hand_computed_columns():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    cols = im2col(x, 2, stride=2)  # the four 2x2 blocks, one per column
    assert cols[0].T.tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    counts = col2im(im2col(torch.ones(1, 1, 4, 4), 3), (4, 4), 3)  # how many 3x3 windows cover each pixel
    assert counts[0, 0].tolist() == [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]


def test_channel_major_row_order():
    """Row c*kH*kW + m*kW + n is channel c at kernel offset (m, n)."""
    x = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    cols = im2col(x, (2, 3))  # (1, 2*6, 4*3)
    assert torch.equal(cols[0, 1 * 6 + 1 * 3 + 2].view(4, 3), x[0, 1, 1:5, 2:5])


def test_empty_batch():
    cols = im2col(torch.randn(0, 3, 6, 6), 3, padding=1)
    assert cols.shape == (0, 27, 36)
    assert col2im(cols, (6, 6), 3, padding=1).shape == (0, 3, 6, 6)


def test_errors_name_the_argument():
    x = torch.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        im2col(x[0], 3)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints, got 2.5"):
        im2col(x, 2.5)
    with pytest.raises(ValueError, match="does not fit"):
        im2col(x, 6)
    with pytest.raises(ValueError, match=r"padding_mode must be one of"):
        im2col(x, 3, padding_mode="constant")
    message = r"cols must have shape \(N, C\*9, 9\) for output_size \(5, 5\).* got \(1, 18, 8\)"
    with pytest.raises(ValueError, match=message):
        col2im(torch.randn(1, 18, 8), (5, 5), 3)
    with pytest.raises(ValueError, match=r"cols must have shape \(N, C\*kH\*kW, L\) \(3 dims\), got shape \(18, 9\)"):
        col2im(torch.randn(18, 9), (5, 5), 3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_unfold_and_fold():
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).cuda()
    cols = im2col(x, (3, 2), 2, 1, 2)
    assert cols.device.type == "cuda"
    assert torch.equal(cols, F.unfold(x, (3, 2), dilation=2, padding=1, stride=2))
    ref = F.fold(cols, (9, 8), (3, 2), dilation=2, padding=1, stride=2)
    assert torch.allclose(col2im(cols, (9, 8), (3, 2), 2, 1, 2), ref)
