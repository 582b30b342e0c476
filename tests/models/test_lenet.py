"""Tests for cnnlib.models.lenet: LeNet5.

Reference: the forward pass written with ``torch.nn.functional`` from the model's own weights;
parameter counts by hand from the layer sizes; seed 002's neuron counts (C1: 6x28x28 = 4,704,
C3: 16x10x10 = 1,600).
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import LeNet5


def reference(net, x, act, pool):
    c1, c3 = net.features[0], net.features[3]
    f5, f6, out = net.classifier[1], net.classifier[3], net.classifier[5]
    h = pool(act(F.conv2d(x, c1.weight, c1.bias, padding=2)), 2)
    h = pool(act(F.conv2d(h, c3.weight, c3.bias)), 2).flatten(1)
    h = act(F.linear(act(F.linear(h, f5.weight, f5.bias)), f6.weight, f6.bias))
    return F.linear(h, out.weight, out.bias)


@pytest.mark.parametrize("activation,act", [("relu", F.relu), ("tanh", torch.tanh)])
@pytest.mark.parametrize("pooling,pool", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
def test_forward_matches_functional(activation, act, pooling, pool):
    torch.manual_seed(0)
    net = LeNet5(activation=activation, pooling=pooling)
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(net(x), reference(net, x, act, pool))


def test_parameter_count_by_hand():
    expected = 6 * (5 * 5 + 1) + 16 * (6 * 5 * 5 + 1) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert sum(p.numel() for p in LeNet5().parameters()) == expected == 61_706
    assert sum(p.numel() for p in LeNet5(activation="tanh", pooling="avg").parameters()) == expected


def test_num_classes_changes_only_the_output_layer():
    a, b = LeNet5(10), LeNet5(3)
    assert sum(p.numel() for p in a.parameters()) - sum(p.numel() for p in b.parameters()) == (10 - 3) * (84 + 1)
    assert b(torch.zeros(2, 1, 28, 28)).shape == (2, 3)


def test_seed_002_neuron_counts():
    net, sizes = LeNet5(), []
    hooks = [net.features[i].register_forward_hook(lambda m, i, o: sizes.append(o[0].numel())) for i in (0, 2, 3, 5)]
    net(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    assert sizes == [6 * 28 * 28, 6 * 14 * 14, 16 * 10 * 10, 16 * 5 * 5] == [4704, 1176, 1600, 400]


@pytest.mark.parametrize("shape,match", [
    ((2, 1, 32, 32), "exactly 28x28, got 32x32"),
    ((2, 1, 29, 29), "exactly 28x28, got 29x29"),  # 29 would even run (floor pooling): still refused
    ((2, 1, 27, 28), "exactly 28x28, got 27x28"),
    ((2, 3, 28, 28), "expects 1 input channels, got 3"),
    ((1, 28, 28), r"\(4 dims\), got shape \(1, 28, 28\)"),
])
def test_wrong_input_is_refused_before_any_layer_runs(shape, match):
    net, called = LeNet5(), []
    for m in net.modules():
        m.register_forward_pre_hook(lambda m, i: called.append(m))
    called.clear()
    with pytest.raises(ValueError, match=match):
        net(torch.zeros(shape))
    assert called == [net]  # only the top-level module was entered


def test_constructor_errors():
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        LeNet5(0)
    with pytest.raises(ValueError, match=r"activation must be one of \('relu', 'tanh'\), got 'sigmoid'"):
        LeNet5(activation="sigmoid")
    with pytest.raises(ValueError, match="pooling must be one of"):
        LeNet5(pooling="l2")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    torch.manual_seed(0)
    net, x = LeNet5().eval(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(net.cuda()(x.cuda()).cpu(), net.cpu()(x), atol=1e-4, rtol=1e-4)
