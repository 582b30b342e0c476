"""Tests for cnnlib.generative.causality: dependency maps, the causal window, the blind spot.

Reference: the input gradient by autograd written in the test (``tests/generative/reference.py``),
the window as a loop over pixels with Python's tuple order (raster order), and a dependency map
drawn by hand.
"""

import pytest
import torch
from torch import nn

from cnnlib.generative import PixelCNN, blind_spot, causal_window, receptive_dependencies
from tests.generative.reference import input_gradient


@pytest.mark.parametrize("channel", [None, 0, 2])
def test_dependencies_equal_the_autograd_map(channel):
    torch.manual_seed(0)
    net = PixelCNN(3, 12, 2, 5, 3, num_classes=2)
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(8) % 2
    deps = receptive_dependencies(net, (3, 7, 6), 4, 2, channel=channel, labels=labels, trials=8, generator=gen)
    x = torch.rand((8, 3, 7, 6), generator=torch.Generator().manual_seed(0))   # the same random images
    expected = input_gradient(net, x, 4, 2, channel=channel, labels=labels).ne(0).any(0)
    assert deps.dtype == torch.bool and deps.shape == (3, 7, 6)
    assert torch.equal(deps, expected)
    if channel == 0:
        assert not deps[:, 4, 2].any()
    if channel == 2:
        assert deps[:2, 4, 2].all() and not deps[2, 4, 2]


def test_model_modes_restored_and_no_parameter_gradients():
    net = nn.Sequential(nn.Dropout(0.5), PixelCNN(channels=4, num_layers=1))
    net.train()
    net[1].eval()
    receptive_dependencies(net, (1, 4, 4), 1, 1)
    assert net.training and net[0].training and not net[1].training
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("H,W,i,j,r", [(5, 5, 2, 2, 1), (6, 4, 0, 0, 3), (6, 4, 5, 3, 2), (3, 7, 1, 6, 0),
                                       (8, 8, 7, 0, 10)])
def test_causal_window_equals_a_loop(H, W, i, j, r):
    expected = [[(a, b) < (i, j) and i - a <= r and abs(b - j) <= r for b in range(W)] for a in range(H)]
    assert causal_window((H, W), i, j, r).tolist() == expected


def test_blind_spot_by_hand():
    deps = torch.tensor([[1, 1, 1, 0, 0],
                         [1, 1, 1, 1, 0],
                         [1, 1, 0, 0, 0],
                         [0, 0, 0, 0, 0]], dtype=torch.bool)
    spot = blind_spot(deps, 2, 2, 2)
    assert spot.nonzero().tolist() == [[0, 3], [0, 4], [1, 4]]
    assert blind_spot(deps[None].expand(3, 4, 5), 2, 2, 2).nonzero().tolist() == [[0, 3], [0, 4], [1, 4]]
    assert not blind_spot(deps, 2, 2, 1).any()                             # a radius-1 window is all read
    colours = torch.zeros(2, 4, 5, dtype=torch.bool)
    colours[1] = deps                                                      # read through another colour counts
    assert torch.equal(blind_spot(colours, 2, 2, 2), spot)


@pytest.mark.parametrize("call,error,match", [
    (lambda: causal_window((4, 4), 4, 0, 1), ValueError, "i must be <= 3, got 4"),
    (lambda: causal_window((4, 4), 0, -1, 1), ValueError, "j must be >= 0, got -1"),
    (lambda: causal_window((4, 4), 0, 0, -1), ValueError, "radius must be >= 0"),
    (lambda: causal_window((4, 4, 1), 0, 0, 1), ValueError, r"shape must be \(H, W\)"),
    (lambda: blind_spot(torch.zeros(4, 4), 0, 0, 1), TypeError, "dependencies must be a bool"),
    (lambda: blind_spot(torch.zeros(1, 1, 4, 4, dtype=torch.bool), 0, 0, 1), ValueError, r"\(C, H, W\)"),
    (lambda: receptive_dependencies(PixelCNN(channels=4), (1, 4), 0, 0), ValueError, r"shape must be \(C, H, W\)"),
    (lambda: receptive_dependencies(PixelCNN(channels=4), (1, 4, 4), 0, 0, channel=1), ValueError,
     "channel must be <= 0"),
    (lambda: receptive_dependencies(PixelCNN(channels=4), (1, 4, 4), 0, 0, trials=0), ValueError,
     "trials must be >= 1"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
