"""Tests for cnnlib.models.vgg: VGG and its constructors.

Reference: torchvision's published parameter counts (vgg11 132,863,336 ... vgg16 138,357,544,
vgg16_bn 138,365,992) and "GFLOPS" (multiply-adds) column (vgg16: 15.47); counts by hand from the
config; the receptive field of stacked 3x3 convolutions measured by back-propagation; PyTorch's
own layers for the minimum input size.
"""

import pytest
import torch

import cnnlib.models.vgg as vgg_module
from cnnlib.models import VGG, VGG_CONFIGS, count_macs, vgg11, vgg13, vgg16, vgg19, vgg_small


def n_params(m):
    return sum(p.numel() for p in m.parameters())


PUBLISHED = {vgg11: (132_863_336, 132_868_840), vgg13: (133_047_848, 133_053_736),
             vgg16: (138_357_544, 138_365_992), vgg19: (143_667_240, 143_678_248)}


@pytest.mark.parametrize("make", list(PUBLISHED))
def test_published_parameter_counts(make):
    with torch.device("meta"):
        assert (n_params(make()), n_params(make(batch_norm=True))) == PUBLISHED[make]


def test_vgg16_macs_and_shape():
    with torch.device("meta"):
        net = vgg16()
    assert round(count_macs(net, (3, 224, 224)) / 1e9, 2) == 15.47
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


@pytest.mark.parametrize("name", list(VGG_CONFIGS))
def test_parameter_count_by_hand(name):
    convs = [v for v in VGG_CONFIGS[name] if v != "M"]
    c_in, expected = 3, 0
    for c in convs:
        expected += 9 * c_in * c + c
        c_in = c
    expected += (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert len(convs) + 3 == int(name)  # "16" = 13 convolutions + 3 FC layers
    with torch.device("meta"):
        assert n_params(VGG(name)) == expected


def test_width_mult_and_small_config():
    net = vgg_small(width_mult=0.5)
    widths = [m.out_channels for m in net.features if isinstance(m, torch.nn.Conv2d)]
    assert widths == [16, 16, 32, 32, 64, 64]
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert vgg_small().min_input_size == 8


def test_num_classes_changes_only_the_last_layer():
    with torch.device("meta"):
        assert n_params(vgg16(1000)) - n_params(vgg16(7)) == (1000 - 7) * (4096 + 1)


@pytest.mark.parametrize("n_convs,field", [(1, 3), (2, 5), (3, 7)])
def test_stacked_3x3_receptive_field(n_convs, field):
    """Two 3x3 layers see 5x5, three see 7x7 (found by back-propagating from one output pixel)."""
    net = VGG([4] * n_convs, num_classes=2, in_channels=1, pool_size=1).double()
    for m in net.features:
        if isinstance(m, torch.nn.Conv2d):
            m.weight.data.abs_().add_(0.1)  # all positive: every ReLU is active, no gradient is lost
    x = torch.rand(1, 1, 15, 15, dtype=torch.float64, requires_grad=True)
    net.features(x)[0, :, 7, 7].sum().backward()
    rows, cols = (x.grad[0, 0] != 0).nonzero(as_tuple=True)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (field, field)


def test_minimum_input_size_is_tight(monkeypatch):
    with torch.device("meta"):
        net = vgg16().eval()
    assert net.min_input_size == 32
    net(torch.empty(1, 3, 32, 32, device="meta"))
    with pytest.raises(ValueError, match="at least 32x32 .*got 31x31"):
        net(torch.empty(1, 3, 31, 31, device="meta"))
    small = vgg_small().eval()
    small(torch.zeros(1, 1, 8, 8))
    monkeypatch.setattr(vgg_module, "check_images", lambda *a, **k: None)
    with pytest.raises(RuntimeError):
        small(torch.zeros(1, 1, 7, 7))


def test_real_forward_at_the_smallest_size():
    """VGG-11's 133 M weights take seconds to initialise: its convolutional part runs for real
    (the classifier is three plain matrix products, checked on the meta device above)."""
    torch.manual_seed(0)
    features = VGG("11", num_classes=10, hidden=8).eval()
    out = features(torch.rand(1, 3, 32, 32))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"config must be one of \('11', '13', '16', '19'\).*got '17'"):
        VGG("17")
    with pytest.raises(ValueError, match=r"config\[1\] must be a positive int \(channels\) or 'M', got 'X'"):
        VGG([64, "X"])
    with pytest.raises(ValueError, match=r"config\[0\] must be a positive int .* got -8"):
        VGG([-8, "M"])
    with pytest.raises(ValueError, match="at least one convolution"):
        VGG(["M", "M"])
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got 0"):
        VGG("11", width_mult=0)
    with pytest.raises(ValueError, match="hidden must be >= 1, got 0"):
        VGG("11", hidden=0)
