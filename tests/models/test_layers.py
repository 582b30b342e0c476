"""Tests for cnnlib.models.layers: Conv2dNormActivation.

Reference: the same computation written with ``F.conv2d``, ``F.batch_norm`` and the activation;
parameter counts by hand (``k^2 c_in c_out / groups`` weights, ``2 c_out`` batch-norm parameters).
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.models import Conv2dNormActivation


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
