"""Tests for cnnlib.ops.sizes and cnnlib.ops.padding.

Reference: the output shape of ``torch.nn.functional.conv2d`` itself, ``torch.nn.functional.pad``,
parameter counts of real ``nn.Linear``/``nn.Conv2d`` layers, seed 000's worked example
(27,000,100 and 7,600) and seed 004's padded 6x6 image.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.ops import (
    conv_output_size, count_params_conv, count_params_dense, full_padding, pad2d, same_padding,
)


def test_output_size_matches_f_conv2d_over_a_grid():
    for n, f, p, s, d in itertools.product((5, 8, 13), (1, 2, 3, 4), (0, 1, 2), (1, 2, 3), (1, 2)):
        if n + 2 * p < d * (f - 1) + 1:
            with pytest.raises(ValueError, match="does not fit"):
                conv_output_size(n, f, p, s, d)
            continue
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p, dilation=d)
        assert conv_output_size(n, f, p, s, d) == out.shape[-1], (n, f, p, s, d)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_same_and_full_padding_match_pytorch():
    for f, d in itertools.product((1, 2, 3, 4, 5), (1, 2)):
        before, after = same_padding(f, d)
        x = torch.randn(1, 1, 9, 9)
        w = torch.randn(1, 1, f, f)
        ref = F.conv2d(x, w, padding="same", dilation=d)
        mine = F.conv2d(F.pad(x, (before, after, before, after)), w, dilation=d)
        assert torch.allclose(mine, ref, atol=1e-5), (f, d)
        assert conv_output_size(9, f, full_padding(f, d), 1, d) == 9 + d * (f - 1)


def test_parameter_counts_seed_000_and_real_layers():
    assert count_params_dense(300 * 300 * 3, 100) == 27_000_100
    assert count_params_conv(5, 3, 100) == 7_600
    for (i, u), bias in itertools.product(((10, 4), (784, 128)), (True, False)):
        assert count_params_dense(i, u, bias) == sum(p.numel() for p in nn.Linear(i, u, bias=bias).parameters())
    for f, c, n in ((3, 1, 8), ((5, 3), 16, 32)):
        assert count_params_conv(f, c, n) == sum(p.numel() for p in nn.Conv2d(c, n, f).parameters())


def test_size_errors():
    with pytest.raises(TypeError, match="n must be an int"):
        conv_output_size(5.0, 3)
    with pytest.raises(ValueError, match="s must be >= 1"):
        conv_output_size(5, 3, s=0)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), (0, 3, 2, 1), (3, 3, 3, 3)])
def test_pad2d_matches_f_pad(mode, padding):
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    four = (padding,) * 4 if isinstance(padding, int) else padding if len(padding) == 4 else (padding[1],) * 2 + (padding[0],) * 2
    ref = F.pad(x, four, mode="constant" if mode == "zeros" else mode)
    assert torch.equal(pad2d(x, padding, mode), ref)


def test_pad2d_seed_004_replicate_corner_and_reflect_row():
    image = torch.tensor([[5, 0, 8, 7, 8, 1], [1, 9, 5, 0, 7, 7], [6, 0, 2, 4, 6, 6],
                          [9, 7, 6, 6, 8, 4], [8, 3, 8, 5, 1, 3], [7, 2, 7, 0, 1, 0]]).view(1, 1, 6, 6)
    rep = pad2d(image, 1, "replicate")[0, 0]
    assert rep[0].tolist() == [5, 5, 0, 8, 7, 8, 1, 1]
    refl = pad2d(image, 1, "reflect")[0, 0]
    assert refl[0].tolist() == [9, 1, 9, 5, 0, 7, 7, 7]  # reflected row 1, mirrored at the edges
    circ = pad2d(image, 1, "circular")[0, 0]
    assert circ[0].tolist() == [0, 7, 2, 7, 0, 1, 0, 7]  # the last row wraps to the top


def test_pad2d_errors():
    x = torch.randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match="reflect padding of 3 must be smaller than the height size 3"):
        pad2d(x, (0, 0, 3, 0), "reflect")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        pad2d(x, 1, "symmetric")
    with pytest.raises(ValueError, match="non-negative"):
        pad2d(x, -1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        pad2d(torch.randn(3, 3), 1)
