"""Tests for cnnlib.models.attention: SqueezeExcitation, ChannelAttention, SpatialAttention, CBAM.

Reference: the papers' equations written in the test with ``torch.nn.functional`` from the
modules' own weights (SE: ``x * sigmoid(W2 relu(W1 mean(x)))``; CBAM: ``M_c`` from the shared MLP
on average- and max-pooled descriptors, ``M_s`` from a 7x7 convolution of the channel mean and
max); parameter counts by hand.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import CBAM, ChannelAttention, SpatialAttention, SqueezeExcitation


def mlp(v, seq):
    return F.conv2d(F.relu(F.conv2d(v, seq[0].weight, seq[0].bias)), seq[2].weight, seq[2].bias)


@pytest.mark.parametrize("seed", [0, 1])
def test_squeeze_excitation_matches_the_equation(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    se = SqueezeExcitation(12, 3).double()
    x = torch.randn(2, 12, 5, 6, generator=gen, dtype=torch.float64)
    s = x.mean(dim=(2, 3), keepdim=True)
    ref = x * torch.sigmoid(F.conv2d(F.relu(F.conv2d(s, se.fc1.weight, se.fc1.bias)), se.fc2.weight, se.fc2.bias))
    torch.testing.assert_close(se(x), ref)
    assert sum(p.numel() for p in se.parameters()) == 2 * 12 * 3 + 3 + 12
    scale = se.scale(x)
    assert scale.shape == (2, 12, 1, 1) and (scale > 0).all() and (scale < 1).all()


def test_squeeze_excitation_activation_is_configurable():
    se = SqueezeExcitation(8, 2, activation=torch.nn.SiLU)
    assert isinstance(se.activation, torch.nn.SiLU)


@pytest.mark.parametrize("seed", [0, 1])
def test_cbam_matches_the_equations(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cbam = CBAM(16, reduction=4).double()
    x = torch.randn(3, 16, 6, 7, generator=gen, dtype=torch.float64)
    shared = cbam.channel.mlp
    mc = torch.sigmoid(mlp(x.mean((2, 3), keepdim=True), shared) + mlp(x.amax((2, 3), keepdim=True), shared))
    x1 = x * mc
    desc = torch.cat([x1.mean(1, keepdim=True), x1.amax(1, keepdim=True)], 1)
    ms = torch.sigmoid(F.conv2d(desc, cbam.spatial.conv.weight, padding=3))
    torch.testing.assert_close(cbam(x), x1 * ms)
    torch.testing.assert_close(cbam.channel(x), mc)
    assert cbam.spatial(x1).shape == (3, 1, 6, 7)


def test_cbam_parameter_count():
    c, r = 32, 8
    assert sum(p.numel() for p in CBAM(c, r).parameters()) == (c * (c // r) + c // r) + (c // r * c + c) + 2 * 7 * 7
    assert ChannelAttention(8, reduction=16).mlp[0].out_channels == 1  # at least one hidden unit


def test_errors():
    with pytest.raises(ValueError, match="squeeze_channels must be >= 1, got 0"):
        SqueezeExcitation(8, 0)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        SpatialAttention(6)
    with pytest.raises(ValueError, match="reduction must be >= 1, got 0"):
        CBAM(8, reduction=0)
    with pytest.raises(ValueError, match="ChannelAttention expects 8 input channels, got 4"):
        CBAM(8)(torch.zeros(1, 4, 3, 3))
    with pytest.raises(ValueError, match=r"SpatialAttention expects input of shape \(N, C, H, W\)"):
        SpatialAttention()(torch.zeros(4, 3, 3))
    with pytest.raises(TypeError, match="SqueezeExcitation expects a torch.Tensor"):
        SqueezeExcitation(8, 2)([1.0])
