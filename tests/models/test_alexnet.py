"""Tests for cnnlib.models.alexnet: AlexNet, alexnet, alexnet_small.

Reference: torchvision's published parameter count (61,100,840) and "GFLOPS" column (0.71, which
is in fact multiply-adds); per-layer counts by hand; PyTorch's own layers for the minimum input
size (they raise below it once the model's own check is bypassed).
"""

import importlib

import pytest
import torch

from cnnlib.models import AlexNet, alexnet, alexnet_small, count_macs


# ``cnnlib.models.alexnet`` is the function (as in torchvision); the module is in sys.modules.
alexnet_module = importlib.import_module("cnnlib.models.alexnet")


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_published_parameter_count_and_macs():
    with torch.device("meta"):
        net = alexnet()
    assert n_params(net) == 61_100_840
    assert round(count_macs(net, (3, 224, 224)) / 1e9, 2) == 0.71
    assert net(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)


def test_parameter_count_by_hand():
    convs = [(3, 64, 11), (64, 192, 5), (192, 384, 3), (384, 256, 3), (256, 256, 3)]
    fcs = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
    expected = sum(k * k * a * b + b for a, b, k in convs) + sum(a * b + b for a, b in fcs)
    with torch.device("meta"):
        assert n_params(alexnet()) == expected
    small = [(1, 32, 5), (32, 64, 5), (64, 96, 3), (96, 96, 3), (96, 64, 3)]
    fcs = [(64 * 2 * 2, 256), (256, 256), (256, 10)]
    expected = sum(k * k * a * b + b for a, b, k in small) + sum(a * b + b for a, b in fcs)
    assert n_params(alexnet_small()) == expected


def test_num_classes_changes_only_the_last_layer():
    with torch.device("meta"):
        a, b = alexnet(1000), alexnet(10)
    assert n_params(a) - n_params(b) == (1000 - 10) * (4096 + 1)


def test_small_forward_and_odd_sizes():
    torch.manual_seed(0)
    net = alexnet_small().eval()
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.rand(1, 1, 15, 17)).shape == (1, 10)  # the minimum size works


@pytest.mark.parametrize("make,shape,minimum", [(alexnet_small, (1, 1), 15), (alexnet, (1, 3), 63)])
def test_minimum_input_size_is_tight(make, shape, minimum, monkeypatch):
    device = "meta" if make is alexnet else "cpu"
    with torch.device(device):
        net = make().eval()
    assert net.min_input_size == minimum
    net(torch.zeros(*shape, minimum, minimum, device=device))
    with pytest.raises(ValueError, match=f"at least {minimum}x{minimum} .*got {minimum - 1}x{minimum}"):
        net(torch.zeros(*shape, minimum - 1, minimum, device=device))
    monkeypatch.setattr(alexnet_module, "check_images", lambda *a, **k: None)  # PyTorch's own verdict
    with pytest.raises(RuntimeError):
        net(torch.zeros(*shape, minimum - 1, minimum, device=device))


def test_constructor_errors():
    with pytest.raises(ValueError, match="widths must list the 5 convolutions' channels, got 4"):
        AlexNet(widths=(64, 192, 384, 256))
    with pytest.raises(ValueError, match=r"widths\[2\] must be >= 1, got 0"):
        AlexNet(widths=(64, 192, 0, 256, 256))
    with pytest.raises(ValueError, match=r"dropout must be in \[0.0, 1.0\), got 1.5"):
        AlexNet(dropout=1.5)
    with pytest.raises(ValueError, match="in_channels must be >= 1, got -1"):
        AlexNet(in_channels=-1)
    with pytest.raises(ValueError, match="expects 1 input channels, got 3"):
        alexnet_small()(torch.zeros(1, 3, 28, 28))
