"""Tests for cnnlib.ops.receptive_field.

Reference: the input pixels that one output unit of a real ``nn.Sequential`` depends on, found by
back-propagating from that unit and taking the extent of the non-zero input gradient (weights
set to 1, so nothing cancels); plus the lecture's hand counts (three 3x3 convolutions see 7x7).
"""

import math

import pytest
import torch
from torch import nn

from cnnlib.ops import RF, receptive_field


def build(spec):
    """Layers from (kind, kernel, stride, dilation, padding); average pooling for "pool"."""
    layers = []
    for kind, f, s, d, p in spec:
        if kind == "conv":
            conv = nn.Conv2d(1, 1, f, s, p, d).double()
            nn.init.ones_(conv.weight)
            nn.init.zeros_(conv.bias)
            layers.append(conv)
        else:
            assert d == 1
            layers.append(nn.AvgPool2d(f, s, p))
    return nn.Sequential(*layers)


def gradient_rows(net, size=72):
    """Rows of the input that the centre output unit depends on, and that unit's index."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = net(x)
    u = out.shape[-1] // 2
    out[0, 0, u, u].backward()
    rows = x.grad[0, 0].abs().sum(dim=1).nonzero().flatten()
    return int(rows.min()), int(rows.max()), u


SPECS = [
    [("conv", 3, 1, 1, 1)] * 3,
    [("conv", 5, 2, 1, 2), ("conv", 3, 1, 2, 2), ("pool", 2, 2, 1, 0), ("conv", 3, 1, 1, 1)],
    [("conv", 7, 2, 1, 3), ("pool", 3, 2, 1, 1), ("conv", 3, 1, 1, 1), ("conv", 3, 1, 3, 3)],
    [("conv", 4, 1, 1, 0), ("conv", 2, 2, 1, 0), ("conv", 3, 1, 2, 1)],  # even kernels: fractional centres
    [("pool", 2, 2, 1, 0)] * 3 + [("conv", 1, 1, 1, 0)],
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(f"{k}{f}s{st}d{d}p{p}" for k, f, st, d, p in s))
def test_matches_the_gradient_of_one_output_unit(spec):
    first, last, u = gradient_rows(build(spec))
    rf = receptive_field([(f, s, d, p) for _, f, s, d, p in spec])[-1]
    assert rf.size == last - first + 1
    assert rf.jump == math.prod(s for _, _, s, _, _ in spec)
    centre = rf.start + u * rf.jump  # unit u sees start + u*jump +- (size - 1)/2
    assert (centre - (rf.size - 1) / 2, centre + (rf.size - 1) / 2) == (first, last)


def test_every_layer_of_a_stack():
    spec = SPECS[1]
    records = receptive_field([(f, s, d, p) for _, f, s, d, p in spec])
    for depth in range(1, len(spec) + 1):
        first, last, _ = gradient_rows(build(spec[:depth]))
        assert records[depth - 1].size == last - first + 1


def test_hand_counts():
    assert [rf.size for rf in receptive_field([(3,)] * 3)] == [3, 5, 7]  # three 3x3 convolutions
    assert [rf.size for rf in receptive_field([(3, 1, d, d) for d in (1, 2, 4, 8)])] == [3, 7, 15, 31]
    assert receptive_field([(2, 2)] * 3)[-1] == RF(size=8, jump=8, start=3.5)


def test_input_forms_and_errors():
    assert receptive_field([{"kernel_size": 3}, {"kernel_size": 2, "stride": 2}]) == receptive_field([(3,), (2, 2)])
    assert receptive_field([]) == []
    with pytest.raises(ValueError, match=r"layer 1: stride must be >= 1, got 0"):
        receptive_field([(3,), (3, 0)])
    with pytest.raises(ValueError, match=r"layer 0: expected keys kernel_size\[, stride, dilation, padding\]"):
        receptive_field([{"kernel": 3}])
    with pytest.raises(TypeError, match="layer 0 must be a dict or a tuple"):
        receptive_field([3])
    with pytest.raises(TypeError, match="layers must be a sequence of layer descriptions, got str"):
        receptive_field("3x3")
