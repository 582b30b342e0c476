"""Tests for cnnlib.models.layers: Conv2dNormActivation and init_weights.

Reference: the same computation written with ``F.conv2d``, ``F.batch_norm`` and the activation;
parameter counts by hand (``k^2 c_in c_out / groups`` weights, ``2 c_out`` batch-norm parameters);
for init_weights, torchvision's initialisation loop written out in the test and run from the same
seed (the values must be equal, not just alike).
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
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), Conv2dNormActivation(4, 6, 3), nn.Flatten(),
                         nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def _reference_init(net, linear):
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear == "normal":
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear == "uniform":
            nn.init.uniform_(m.weight, -1 / math.sqrt(m.out_features), 1 / math.sqrt(m.out_features))
            nn.init.zeros_(m.bias)


@pytest.mark.parametrize("linear", ["normal", "uniform", None])
@pytest.mark.parametrize("seed", [0, 1])
def test_init_weights_equals_torchvisions_loop(linear, seed):
    a, b = _net(), _net()
    b.load_state_dict(a.state_dict())  # the same starting point, so linear=None keeps the same defaults
    torch.manual_seed(seed)
    init_weights(a, linear)
    torch.manual_seed(seed)
    _reference_init(b, linear)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    conv_std = a[0].weight.std().item()  # He, fan-out: std sqrt(2 / (4 * 3 * 3)) = 0.236
    assert 0.15 < conv_std < 0.33


def test_init_weights_errors():
    with pytest.raises(ValueError, match=r"linear must be one of \('normal', 'uniform', None\), got 'xavier'"):
        init_weights(_net(), "xavier")
    with pytest.raises(TypeError, match="model must be an nn.Module, got list"):
        init_weights([nn.Linear(2, 2)])
