"""Tests for cnnlib.ops.sizes: output sizes, "same"/"full" padding, parameter counts.

Reference: the output shapes of ``torch.nn.functional.conv2d`` itself over a grid of
(n, f, p, s, d), PyTorch's ``padding="same"``, ``sum(p.numel())`` of real ``nn.Linear`` and
``nn.Conv2d`` layers, the weight shapes ``locally_connected2d``/``tiled_conv2d`` accept, and seed
000's worked example (27,000,100 and 7,600 parameters). The smallest input of a chain of
convolutions is found by brute force, running ``F.conv2d`` on growing inputs on the meta device.
"""

import itertools
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.ops import (
    conv_output_size, count_params_conv, count_params_dense, count_params_local, count_params_tiled,
    full_padding, locally_connected2d, min_input_size, same_padding, tiled_conv2d,
)


def test_output_size_matches_f_conv2d_over_a_grid():
    for n, f, p, s, d in itertools.product((1, 2, 5, 8, 13), (1, 2, 3, 4, 5), (0, 1, 2), (1, 2, 3), (1, 2)):
        if n + 2 * p < d * (f - 1) + 1:  # F.conv2d refuses these too
            with pytest.raises(ValueError, match="does not fit"):
                conv_output_size(n, f, p, s, d)
            continue
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p, dilation=d)
        assert conv_output_size(n, f, p, s, d) == out.shape[-1], (n, f, p, s, d)


def test_hand_computed_sizes():
    assert conv_output_size(6, 3) == 4  # seed 004: 6x6 image, 3x3 filter, valid
    assert conv_output_size(5, 3) == 3  # seed 003: 5x5 image, 3x3 kernel
    assert conv_output_size(7, 3, s=2) == 3
    assert conv_output_size(32, 5, p=2) == 32


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_matches_pytorch_same():
    x = torch.randn(1, 1, 9, 10, generator=torch.Generator().manual_seed(0))
    for f, d in itertools.product((1, 2, 3, 4, 5, 6), (1, 2, 3)):
        w = torch.randn(1, 1, f, f, generator=torch.Generator().manual_seed(f))
        before, after = same_padding(f, d)
        ref = F.conv2d(x, w, padding="same", dilation=d)
        mine = F.conv2d(F.pad(x, (before, after, before, after)), w, dilation=d)
        assert mine.shape == ref.shape == x.shape
        assert torch.allclose(mine, ref, atol=1e-5), (f, d)


def test_full_padding_gives_every_overlap():
    for f, d in itertools.product((1, 2, 3, 5), (1, 2)):
        assert conv_output_size(9, f, full_padding(f, d), 1, d) == 9 + d * (f - 1)
    assert full_padding(3) == 2


def test_seed_000_parameter_counts():
    assert count_params_dense(300 * 300 * 3, 100) == 27_000_100  # (300*300*3 + 1) * 100
    assert count_params_conv(5, 3, 100) == 7_600  # 5*5*3*100 + 100


def test_counts_match_real_layers():
    for (i, u), bias in itertools.product(((10, 4), (784, 128), (1, 1)), (True, False)):
        assert count_params_dense(i, u, bias) == sum(p.numel() for p in nn.Linear(i, u, bias=bias).parameters())
    for (f, c, n), bias in itertools.product(((3, 1, 8), ((5, 3), 16, 32), (1, 4, 2)), (True, False)):
        layer = nn.Conv2d(c, n, f, bias=bias)
        assert count_params_conv(f, c, n, bias) == sum(p.numel() for p in layer.parameters())


def test_local_and_tiled_counts_match_the_weights_the_layers_accept():
    x = torch.randn(1, 3, 9, 8)
    w, b = torch.randn(7, 7, 4, 3, 3, 2), torch.randn(4, 7, 7)  # output 7x7 of a 3x2 kernel
    assert locally_connected2d(x, w, b).shape == (1, 4, 7, 7)
    assert count_params_local((3, 2), 3, 4, 7) == w.numel() + b.numel()
    assert count_params_local((3, 2), 3, 4, (7, 7), bias=False) == w.numel()
    t, tb = torch.randn(2, 3, 4, 3, 3, 2), torch.randn(4)
    assert tiled_conv2d(x, t, tb).shape == (1, 4, 7, 7)
    assert count_params_tiled((3, 2), 3, 4, (2, 3)) == t.numel() + tb.numel()
    assert count_params_tiled(5, 3, 100, 1) == count_params_conv(5, 3, 100)


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="n must be an int, got float 5.0"):
        conv_output_size(5.0, 3)
    with pytest.raises(TypeError, match="f must be an int, got bool True"):
        conv_output_size(5, True)
    with pytest.raises(ValueError, match="s must be >= 1, got 0"):
        conv_output_size(5, 3, s=0)
    with pytest.raises(ValueError, match="p must be >= 0, got -1"):
        conv_output_size(5, 3, p=-1)
    with pytest.raises(ValueError, match=r"kernel spanning 5 pixels \(f=3, d=2\) does not fit in input of size 3"):
        conv_output_size(3, 3, d=2)
    with pytest.raises(ValueError, match="units must be >= 1, got 0"):
        count_params_dense(10, 0)
    with pytest.raises(ValueError, match=r"f must be an int or a pair of ints, got \(3, 3, 3\)"):
        count_params_conv((3, 3, 3), 1, 1)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        count_params_local(3, 1, 1, 0)


def _runs(n, ops):
    x = torch.zeros(1, 1, n, n, device="meta")  # the meta device runs PyTorch's shape checks only
    try:
        for k, s, p, d in ops:
            x = F.conv2d(x, torch.zeros(1, 1, k, k, device="meta"), stride=s, padding=p, dilation=d)
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_min_input_size_is_the_smallest_size_pytorch_accepts(seed):
    rng = random.Random(seed)
    ops = []
    for _ in range(rng.randint(1, 5)):
        k, d = rng.choice([1, 2, 3, 5, 7, 11]), rng.choice([1, 1, 2])
        ops.append((k, rng.choice([1, 2, 3, 4]), rng.randint(0, (k - 1) * d // 2), d))
    brute = next(n for n in range(1, 400) if _runs(n, ops))
    assert min_input_size(ops) == brute
    assert all(_runs(n, ops) for n in range(brute, brute + 5))  # and every larger size works


def test_min_input_size_hand_cases():
    assert min_input_size([]) == 1
    assert min_input_size([(2, 2, 0, 1)] * 5) == 32           # VGG: five 2x2 pools
    assert min_input_size([(3, 2, 1, 1)] * 10) == 1           # padded stride-2 convs never empty a map
    assert min_input_size([(5, 1, 0, 1), (5, 1, 0, 1)]) == 9  # two valid 5x5 convolutions
