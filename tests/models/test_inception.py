"""Tests for cnnlib.models.inception: InceptionModule, NaiveInceptionModule, InceptionNet.

Reference: each branch recomputed with ``torch.nn.functional`` from the module's own weights and
compared with its slice of the concatenated output; the cost example of the lecture (28x28x192
input, 32 5x5 filters: 120,422,400 multiply-adds, or 12,443,648 behind a 16-channel 1x1
bottleneck) computed by hand; parameter counts by hand.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import (
    INCEPTION_SMALL_CONFIG, InceptionModule, InceptionNet, NaiveInceptionModule, count_macs, inception_small,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def conv_relu(x, seq):
    conv = seq[0]
    return F.relu(F.conv2d(x, conv.weight, conv.bias, padding=conv.kernel_size[0] // 2))


def test_branches_are_concatenated_in_order():
    torch.manual_seed(0)
    m = InceptionModule(12, 4, 6, 8, 2, 3, 5)
    x = torch.randn(2, 12, 7, 9, dtype=torch.float64)
    m = m.double()
    out = m(x)
    assert out.shape == (2, 4 + 8 + 3 + 5, 7, 9) and m.c_out == 20
    torch.testing.assert_close(out[:, :4], conv_relu(x, m.branch1))
    torch.testing.assert_close(out[:, 4:12], conv_relu(conv_relu(x, m.branch2[0]), m.branch2[1]))
    torch.testing.assert_close(out[:, 12:15], conv_relu(conv_relu(x, m.branch3[0]), m.branch3[1]))
    torch.testing.assert_close(out[:, 15:], conv_relu(F.max_pool2d(x, 3, 1, 1), m.branch4[1]))
    assert m.branch3[1][0].kernel_size == (5, 5)  # a real 5x5 (torchvision uses 3x3 here)


def test_naive_module_passes_the_pooled_input_on():
    torch.manual_seed(0)
    m = NaiveInceptionModule(6, 2, 3, 4)
    x = torch.randn(2, 6, 5, 5)
    out = m(x)
    assert out.shape == (2, 2 + 3 + 4 + 6, 5, 5) and m.c_out == 15
    torch.testing.assert_close(out[:, 9:], F.max_pool2d(x, 3, 1, 1))
    torch.testing.assert_close(out[:, 5:9], conv_relu(x, m.branch3))


def test_googlenet_3a_parameters_by_hand():
    m = InceptionModule(192, 64, 96, 128, 16, 32, 32)
    expected = ((192 * 64 + 64) + (192 * 96 + 96) + (9 * 96 * 128 + 128)
                + (192 * 16 + 16) + (25 * 16 * 32 + 32) + (192 * 32 + 32))
    assert n_params(m) == expected == 163_696
    assert m(torch.zeros(1, 192, 28, 28)).shape == (1, 256, 28, 28)


def test_the_bottleneck_cuts_the_5x5_cost_tenfold():
    naive = NaiveInceptionModule(192, 64, 128, 32)
    reduced = InceptionModule(192, 64, 96, 128, 16, 32, 32)
    assert count_macs(naive.branch3, (192, 28, 28)) == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert count_macs(reduced.branch3, (192, 28, 28)) == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    hw = 28 * 28
    naive_total = hw * 192 * (64 + 9 * 128 + 25 * 32)
    reduced_total = hw * (192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32)
    assert count_macs(naive, (192, 28, 28)) == naive_total
    assert count_macs(reduced, (192, 28, 28)) == reduced_total
    assert round(naive_total / reduced_total, 1) == 2.4  # whole module; the 5x5 branch alone: 9.7


def test_batch_norm_variant_and_small_network():
    m = InceptionModule(8, 2, 2, 2, 2, 2, 2, batch_norm=True)
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())
    torch.manual_seed(0)
    net = inception_small().eval()
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.rand(1, 1, 1, 1)).shape == (1, 10) and net.min_input_size == 1
    assert len([m for m in net.modules() if isinstance(m, InceptionModule)]) == 3
    assert net.fc.in_features == 48 + 96 + 24 + 24


def test_num_classes_changes_only_the_last_layer():
    assert n_params(inception_small(10)) - n_params(inception_small(4)) == 6 * (192 + 1)


def test_errors():
    with pytest.raises(ValueError, match="ch5x5red must be >= 1, got 0"):
        InceptionModule(192, 64, 96, 128, 0, 32, 32)
    with pytest.raises(ValueError, match="c_in must be >= 1, got -1"):
        NaiveInceptionModule(-1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"config\[1\] must be 'M' or six channel counts"):
        InceptionNet([(4, 4, 4, 4, 4, 4), (1, 2, 3)])
    with pytest.raises(ValueError, match=r"config\[0\]\[2\] must be >= 1, got 0"):
        InceptionNet([(4, 4, 0, 4, 4, 4)])
    with pytest.raises(ValueError, match="at least one Inception module"):
        InceptionNet(["M"])
    with pytest.raises(ValueError, match="InceptionModule expects 192 input channels, got 3"):
        InceptionModule(192, 64, 96, 128, 16, 32, 32)(torch.zeros(1, 3, 8, 8))
    assert len(INCEPTION_SMALL_CONFIG) == 5
