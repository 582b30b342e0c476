"""Tests for cnnlib.ops.local, cnnlib.ops.receptive_field and cnnlib.ops.filters.

Reference: a loop over output positions written in the test (locally connected), ordinary
``F.conv2d`` (tiled with t = 1), the extent of the non-zero input gradient of one output unit of
a real ``nn.Sequential`` (receptive field), and the formulas/tables of the lecture notes.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.ops import (
    EDGE_KERNELS, edge_kernel, gabor_bank, gabor_kernel, locally_connected2d, receptive_field, tiled_conv2d,
)


def local_loop(x, w, b, s):
    Ho, Wo, Co = w.shape[:3]
    kH, kW = w.shape[-2:]
    out = torch.zeros(x.shape[0], Co, Ho, Wo, dtype=x.dtype)
    for j in range(Ho):
        for k in range(Wo):
            patch = x[:, :, j * s:j * s + kH, k * s:k * s + kW]
            for i in range(Co):
                out[:, i, j, k] = (patch * w[j, k, i]).sum(dim=(1, 2, 3)) + (b[i, j, k] if b is not None else 0)
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_locally_connected_matches_a_loop(stride):
    gen = torch.Generator().manual_seed(stride)
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64, generator=gen)
    Ho, Wo = (8 - 3) // stride + 1, (7 - 2) // stride + 1
    w = torch.randn(Ho, Wo, 4, 3, 3, 2, dtype=torch.float64, generator=gen)
    b = torch.randn(4, Ho, Wo, dtype=torch.float64, generator=gen)
    assert torch.allclose(locally_connected2d(x, w, b, stride), local_loop(x, w, b, stride))


def test_tiled_reduces_to_conv_and_to_locally_connected():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64, generator=gen)
    k = torch.randn(4, 3, 3, 3, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    assert torch.allclose(tiled_conv2d(x, k.view(1, 1, 4, 3, 3, 3), b), F.conv2d(x, k, b))
    w = torch.randn(5, 5, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    assert torch.allclose(tiled_conv2d(x, w), locally_connected2d(x, w))
    t2 = torch.randn(2, 2, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    out = tiled_conv2d(x, t2)
    assert torch.allclose(out[:, :, 3, 1], F.conv2d(x, t2[1, 1])[:, :, 3, 1])  # (3 % 2, 1 % 2)


def test_local_errors():
    with pytest.raises(ValueError, match="expected \\(5, 5, C_out, 3, 3, 3\\)"):
        locally_connected2d(torch.randn(1, 3, 7, 7), torch.randn(4, 4, 2, 3, 3, 3))


def gradient_extent(layers, size=64):
    net = nn.Sequential(*layers).double()
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 1.0)
            nn.init.zeros_(m.bias)
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    centre = out.shape[-1] // 2
    out[0, 0, centre, centre].backward()
    rows = x.grad[0, 0].abs().sum(dim=1).nonzero().flatten()
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize("spec", [
    [(3, 1, 1, 1)] * 3,
    [(5, 2, 1, 2), (3, 1, 2, 2), (2, 2, 1, 0), (3, 1, 1, 1)],
    [(7, 2, 1, 3), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 3, 3)],
])
def test_receptive_field_matches_gradient_extent(spec):
    layers = []
    for f, s, d, p in spec:
        layers.append(nn.Conv2d(1, 1, f, s, p, d))
    rf = receptive_field(spec)
    assert rf[-1].size == gradient_extent(layers)
    assert rf[-1].jump == math.prod(s for _, s, _, _ in spec)


def test_receptive_field_input_forms_and_errors():
    assert receptive_field([{"kernel_size": 3}, {"kernel_size": 2, "stride": 2}]) == receptive_field([(3,), (2, 2)])
    with pytest.raises(ValueError, match="layer 1: stride must be an int >= 1"):
        receptive_field([(3,), (3, 0)])
    with pytest.raises(TypeError, match="sequence of layer descriptions"):
        receptive_field("3x3")


def test_edge_kernels_from_the_notes():
    assert EDGE_KERNELS["vertical"].tolist() == [[1, 0, -1]] * 3
    assert EDGE_KERNELS["sobel_x"][:, 0].tolist() == [1, 2, 1]
    assert EDGE_KERNELS["scharr_x"][:, 0].tolist() == [3, 10, 3]
    assert torch.equal(EDGE_KERNELS["scharr_y"], EDGE_KERNELS["scharr_x"].T)
    for k in EDGE_KERNELS.values():
        assert k.sum() == 0  # no response on flat regions
    with pytest.raises(ValueError, match="choose one of"):
        edge_kernel("prewitt")


def test_gabor_formula_and_bank():
    g = gabor_kernel(9, sigma=2.0, theta=math.pi / 2, lambd=4.0, psi=0.0, gamma=1.0, dtype=torch.float64)
    y, x = 1, 3  # offsets from the centre; with theta = pi/2, x' = y and y' = -x
    expected = math.exp(-(y**2 + x**2) / 8.0) * math.cos(2 * math.pi * y / 4.0)
    assert g[4 + y, 4 + x].item() == pytest.approx(expected)
    bank = gabor_bank(4, size=11, lambdas=(4.0, 8.0))
    assert bank.shape == (8, 1, 11, 11)
    assert torch.allclose(bank[1, 0], gabor_kernel(11, 2.5, math.pi / 4, 4.0))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        gabor_kernel(5, 0.0, 0.0, 4.0)
