"""Tests for cnnlib.generative.gated: the gated PixelCNN is causal and has no blind spot.

Reference: autograd (the gradient of every output pixel with respect to the input), the pixels
reachable through the two stacks' masks composed with Python sets (``tests/generative/reference.py``),
the causal window written as a loop, one gated layer rewritten with ``torch.nn.functional``
(conv2d with hand-written masks, tanh, sigmoid), and conditional models against unconditional
ones whose biases hold the class embedding.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.generative import GatedLayer, GatedPixelCNN, blind_spot, gate
from tests.generative.reference import gated_reach, input_gradient, randomise


@pytest.mark.parametrize("C,Fc,output,levels,K", [
    (1, 8, "bernoulli", 256, None), (1, 8, "categorical", 4, 3), (3, 12, "bernoulli", 256, 2),
    (3, 12, "categorical", 5, None)])
def test_every_output_pixel_ignores_itself_and_later_pixels(C, Fc, output, levels, K):
    torch.manual_seed(0)
    net = randomise(GatedPixelCNN(C, Fc, 3, 3, output, levels, K).double(), seed=4)
    H, W = 5, 4
    x = torch.rand(4, C, H, W, dtype=torch.float64)
    labels = torch.arange(4) % K if K else None
    rows, cols = torch.arange(H)[:, None], torch.arange(W)[None, :]
    for i in range(H):
        for j in range(W):
            after = (rows > i) | ((rows == i) & (cols > j))
            for c in range(C):
                g = input_gradient(net, x, i, j, channel=c, labels=labels).abs().sum(0)   # (C, H, W)
                assert g[:, after].eq(0).all(), f"output ({i}, {j}) colour {c} sees later pixels"
                assert g[c:, i, j].eq(0).all(), "of the pixel itself, only the colours before c may be read"
                if c > 0:
                    assert g[c - 1, i, j] > 0
                if i > 0:
                    assert g[:, i - 1, min(j + 1, W - 1)].sum() > 0, "the pixel up and right should be read"


@pytest.mark.parametrize("k,layers", [(3, 1), (3, 4), (5, 2)])
def test_dependencies_are_exactly_the_causal_window(k, layers):
    torch.manual_seed(0)
    net = GatedPixelCNN(1, 8, layers, k).double()
    radius = layers * (k // 2)
    assert net.receptive_radius == radius
    H, W = 12, 13
    x = torch.rand(4, 1, H, W, dtype=torch.float64)
    for i, j in [(0, 0), (0, 5), (6, 6), (11, 1), (8, 12)]:
        deps = input_gradient(net, x, i, j).abs().sum((0, 1)) > 0
        window = torch.zeros(H, W, dtype=torch.bool)                      # the causal window by a loop
        for a in range(H):
            for b in range(W):
                window[a, b] = (a, b) < (i, j) and i - a <= radius and abs(b - j) <= radius
        expected = torch.zeros(H, W, dtype=torch.bool)
        for a, b in gated_reach(i, j, k, layers, H, W):
            expected[a, b] = True
        assert torch.equal(deps, expected) and torch.equal(deps, window)
        assert not blind_spot(deps, i, j, radius).any()                  # no blind spot


def test_gate_by_hand():
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0]], dtype=torch.float64)         # a = (1, -2), b = (0.5, 3)
    expected = [math.tanh(1) / (1 + math.exp(-0.5)), math.tanh(-2) / (1 + math.exp(-3))]
    torch.testing.assert_close(gate(x)[0], torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0)
    assert gate(torch.zeros(2, 6, 3, 3)).shape == (2, 3, 3, 3)


def layer_reference(layer, v, h, k):
    """One gated layer with F.conv2d and masks written here."""
    t = "A" if layer.first else "B"
    vmask = torch.zeros(k, k, dtype=v.dtype)
    vmask[: k // 2 + (t == "B")] = 1
    hmask = torch.zeros(1, k, dtype=v.dtype)
    hmask[0, : k // 2 + (t == "B")] = 1
    v_f = F.conv2d(v, layer.vertical.weight * vmask, layer.vertical.bias, padding=k // 2)
    h_f = F.conv2d(h, layer.horizontal.weight * hmask, layer.horizontal.bias, padding=(0, k // 2))
    h_f = h_f + F.conv2d(v_f, layer.link.weight, layer.link.bias)
    a, b = h_f.chunk(2, 1)
    out = F.conv2d(torch.tanh(a) * torch.sigmoid(b), layer.residual.weight, layer.residual.bias)
    va, vb = v_f.chunk(2, 1)
    return torch.tanh(va) * torch.sigmoid(vb), out if layer.first else h + out


@pytest.mark.parametrize("first,c_in,k", [(True, 1, 3), (False, 6, 3), (False, 6, 5)])
def test_gated_layer_equals_functional_reference(first, c_in, k):
    torch.manual_seed(0)
    layer = randomise(GatedLayer(c_in, 6, k, first).double(), seed=5)
    v, h = torch.randn(2, c_in, 5, 6, dtype=torch.float64), torch.randn(2, c_in, 5, 6, dtype=torch.float64)
    got, expected = layer(v, h), layer_reference(layer, v, h, k)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_class_bias_enters_every_gate_and_the_head():
    torch.manual_seed(0)
    cond = randomise(GatedPixelCNN(1, 4, 2, 3, num_classes=3).double(), seed=6)
    plain = GatedPixelCNN(1, 4, 2, 3).double()
    plain.load_state_dict({k: v for k, v in cond.state_dict().items() if not k.startswith("embed")})
    x = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    for y in range(3):
        shifted = copy.deepcopy(plain)
        pieces = cond.embed.weight[y].detach().split([8, 8, 8, 8, 4])
        targets = [shifted.layers[0].vertical, shifted.layers[0].horizontal, shifted.layers[1].vertical,
                   shifted.layers[1].horizontal, shifted.head.hidden]
        for layer, piece in zip(targets, pieces):
            layer.bias.data += piece
        torch.testing.assert_close(cond(x, torch.tensor([y, y])), shifted(x), rtol=0, atol=1e-10)
    assert (cond(x, torch.tensor([0, 0])) - cond(x, torch.tensor([2, 2]))).abs().max() > 1e-3


def test_shapes():
    net = GatedPixelCNN(2, 8, 3, 5, "categorical", levels=16)
    assert net(torch.zeros(3, 2, 7, 9)).shape == (3, 2, 16, 7, 9)
    assert net(torch.zeros(1, 2, 1, 1)).shape == (1, 2, 16, 1, 1)


@pytest.mark.parametrize("make,error,match", [
    (lambda: GatedPixelCNN(num_layers=0), ValueError, "num_layers must be >= 1"),
    (lambda: GatedPixelCNN(kernel_size=2), ValueError, "kernel_size must be odd"),
    (lambda: GatedPixelCNN(2, 9), ValueError, "channels must be divisible by in_channels = 2"),
    (lambda: GatedPixelCNN(channels=4)(torch.zeros(1, 1, 4)), ValueError, r"\(4 dims\)"),
    (lambda: GatedPixelCNN(channels=4, num_classes=2)(torch.zeros(1, 1, 4, 4), torch.tensor([2])), ValueError,
     r"labels must be in \[0, 2\)"),
])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
