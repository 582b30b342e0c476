"""Tests for cnnlib.metric_learning.embedder: the face-embedding CNN.

Reference: the same layers built by hand from torch.nn with the module's weights copied in;
shapes and the input checks.
"""

import pytest
import torch
from torch import nn

from cnnlib.metric_learning import FaceEmbedder


def test_matches_the_same_layers_built_by_hand():
    torch.manual_seed(0)
    net = FaceEmbedder(widths=(4, 6), dim=5, pooled=2, mean=0.5, std=0.25).eval()
    hand = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 5), nn.BatchNorm1d(5)).eval()
    ours = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear, nn.BatchNorm1d))]
    theirs = [m for m in hand.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear, nn.BatchNorm1d))]
    assert [type(m) for m in ours] == [type(m) for m in theirs]
    for a, b in zip(ours, theirs):
        b.load_state_dict(a.state_dict())
        if isinstance(b, (nn.BatchNorm1d, nn.BatchNorm2d)):  # non-trivial running statistics
            b.running_mean.uniform_(-0.5, 0.5), b.running_var.uniform_(0.5, 2.0)
            a.running_mean.copy_(b.running_mean), a.running_var.copy_(b.running_var)
    x = torch.rand(3, 3, 12, 12)
    assert torch.allclose(net(x), hand((x - 0.5) / 0.25), atol=1e-6)


@pytest.mark.parametrize("size", [16, 48, 53])
def test_shapes_for_any_size_above_the_minimum(size):
    assert FaceEmbedder(dim=7).eval()(torch.rand(2, 3, size, size)).shape == (2, 7)


def test_gradients_reach_the_first_layer():
    net = FaceEmbedder(dim=4)
    net(torch.rand(4, 3, 32, 32)).square().sum().backward()
    assert net.features[0][0].weight.grad.abs().sum() > 0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="input channels"):
        FaceEmbedder()(torch.rand(2, 1, 48, 48))
    with pytest.raises(ValueError, match="at least 16x16"):
        FaceEmbedder()(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="dim"):
        FaceEmbedder(dim=0)
