"""Tests for cnnlib.style.random_net: RandomTextureNet (Ustyuzhaninov et al. 2017).

Reference: each branch recomputed with ``F.pad(mode="reflect")`` + ``F.conv2d`` + ReLU on the
module's own weights; the seeding promise (same seed, same weights); ``feature_maps`` of
cnnlib.interpret reading the branches by name; the gradient reaching the input only.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.interpret import feature_maps
from cnnlib.style import RandomTextureNet


def test_branches_are_reflect_padded_convolutions_with_relu():
    net = RandomTextureNet(kernel_sizes=(3, 7), channels=5, seed=2)
    x = torch.rand(2, 3, 12, 10)
    out = net(x)
    assert out.shape == (2, 10, 12, 10)
    parts = []
    for k in (3, 7):
        w = net.branches[f"k{k}"][0].weight
        parts.append(F.relu(F.conv2d(F.pad(x, (k // 2,) * 4, mode="reflect"), w)))
    assert torch.allclose(out, torch.cat(parts, dim=1), atol=1e-6)


def test_seeded_weights_and_scales():
    a, b, c = RandomTextureNet(seed=0), RandomTextureNet(seed=0), RandomTextureNet(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.branches.k3[0].weight, c.branches.k3[0].weight)
    w = a.branches.k11[0].weight
    assert w.shape == (32, 3, 11, 11) and w.abs().max() <= (6 / (3 * 121)) ** 0.5
    assert not any(p.requires_grad for p in a.parameters())


def test_features_by_name_and_gradient_to_the_image_only():
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=4)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    feats = feature_maps(net, x, ["branches.k3", "branches.k5"], detach=False)
    assert torch.equal(torch.cat(list(feats.values()), 1), net(x))
    feats["branches.k5"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_errors():
    with pytest.raises(ValueError, match="kernel_sizes must be distinct odd sizes"):
        RandomTextureNet(kernel_sizes=(3, 4))
    with pytest.raises(ValueError, match="RandomTextureNet expects 3 input channels, got 1"):
        RandomTextureNet()(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"needs input larger than 5x5 \(reflection padding of its 11x11 kernels\), got 5x16"):
        RandomTextureNet()(torch.rand(1, 3, 5, 16))
