"""Tests for cnnlib.models.layers: Conv2dNormActivation and init_weights.

Reference: the same computation written with ``F.conv2d``, ``F.batch_norm`` and the activation;
parameter counts by hand (``k^2 c_in c_out / groups`` weights, ``2 c_out`` batch-norm parameters);
for init_weights, the standard deviations of torchvision's scheme computed by hand (He fan-out
``sqrt(2 / (C_out k^2))``, 0.01, ``1/sqrt(3 out_features)``) and the exact constants.
"""

import math


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.models import Conv2dNormActivation, init_weights


@pytest.mark.parametrize("c_in,c_out,k,s,g", [(3, 8, 3, 1, 1), (8, 8, 3, 2, 8), (4, 6, 5, 2, 2), (5, 7, 1, 1, 1)])
def test_matches_functional_and_counts(c_in, c_out, k, s, g):
    gen = torch.Generator().manual_seed(k + s + g)
    unit = Conv2dNormActivation(c_in, c_out, k, s, groups=g, activation=nn.ReLU6).eval()
    with torch.no_grad():
        for t in (unit[1].running_mean, unit[1].running_var, unit[1].weight, unit[1].bias):
            t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
    x = torch.randn(2, c_in, 9, 10, generator=gen)
    conv, bn = unit[0], unit[1]
    ref = F.conv2d(x, conv.weight, None, s, (k - 1) // 2, groups=g)
    ref = F.hardtanh(F.batch_norm(ref, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps), 0, 6)
    torch.testing.assert_close(unit(x), ref)
    assert unit(x).shape[-2:] == ((9 - 1) // s + 1, (10 - 1) // s + 1)
    assert sum(p.numel() for p in unit.parameters()) == k * k * c_in * c_out // g + 2 * c_out
    assert conv.bias is None


def test_linear_unit_has_no_activation():
    assert len(Conv2dNormActivation(4, 4, 1, activation=None)) == 2


def test_errors():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        Conv2dNormActivation(4, 4, 2)
    with pytest.raises(ValueError, match="groups must divide c_in and c_out, got groups=3"):
        Conv2dNormActivation(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="c_out must be >= 1, got 0"):
        Conv2dNormActivation(4, 0)


def _net():
    return nn.Sequential(nn.Conv2d(16, 64, 3), nn.BatchNorm2d(64), Conv2dNormActivation(64, 32, 3), nn.Flatten(),
                         nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 100))


@pytest.mark.parametrize("linear", ["normal", "uniform", None])
@pytest.mark.parametrize("seed", [0, 1])
def test_init_weights_follows_torchvisions_scheme(linear, seed):
    torch.manual_seed(seed)
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():  # start from garbage, so that every value must be written
            p.fill_(7.0)
    if linear is None:
        net[4].load_state_dict({"weight": before["4.weight"], "bias": before["4.bias"]})
    init_weights(net, linear)
    for conv in (net[0], net[2][0]):  # He, fan-out: std sqrt(2 / (C_out * kH * kW))
        C_out, _, kH, kW = conv.weight.shape
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (C_out * kH * kW)), rel=0.05)
    assert torch.all(net[0].bias == 0)
    for bn in (net[1], net[2][1]):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    fc = net[4]
    if linear == "normal":
        assert fc.weight.std().item() == pytest.approx(0.01, rel=0.05) and torch.all(fc.bias == 0)
    elif linear == "uniform":  # U(-b, b) with b = 1/sqrt(out_features): std b/sqrt(3)
        b = 1 / math.sqrt(256)
        assert fc.weight.abs().max().item() <= b
        assert fc.weight.std().item() == pytest.approx(b / math.sqrt(3), rel=0.05) and torch.all(fc.bias == 0)
    else:  # PyTorch's default stays
        assert torch.equal(fc.weight, before["4.weight"]) and torch.equal(fc.bias, before["4.bias"])


def test_init_weights_errors():
    with pytest.raises(ValueError, match=r"linear must be one of \('normal', 'uniform', None\), got 'xavier'"):
        init_weights(_net(), "xavier")
    with pytest.raises(TypeError, match="model must be an nn.Module, got list"):
        init_weights([nn.Linear(2, 2)])
