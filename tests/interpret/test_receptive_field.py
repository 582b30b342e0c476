"""Tests for cnnlib.interpret.receptive_field: layer_receptive_field, receptive_field_intervals.

Reference: the empirical receptive field by autograd. With every weight positive and every
bias zero nothing cancels, so the input pixels with a nonzero gradient of one output unit are
exactly the pixels it sees (UvA DL notebooks' causality check by back-propagation). Each unit's
rows (columns) are compared, unit by unit, on chains, a residual block, Inception-style
branches, transposed convolutions, upsampling (module and ``F.interpolate``) and a small U-Net;
chains also agree with chapter 1's recurrence :func:`cnnlib.ops.receptive_field`.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.interpret import layer_receptive_field, receptive_field_intervals
from cnnlib.ops import RF, receptive_field
from tests.interpret.nets import Unused, positive


class Residual(nn.Module):
    """A ResNet block with a strided 1x1 projection shortcut (not a chain of modules)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2, 2, 3, 2, 1), nn.Conv2d(2, 2, 3, 1, 1))
        self.short = nn.Conv2d(2, 2, 1, 2)

    def forward(self, x):
        return self.body(x) + self.short(x)


class Branches(nn.Module):
    """Inception-style: a 1x1 and a dilated 3x3 branch, concatenated."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 1, 1), nn.Conv2d(2, 1, 3, padding=2, dilation=2)

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], 1)


class TinyUNet(nn.Module):
    """Encoder, a pooled bottleneck, a decoder that upsamples and concatenates the skip connection."""

    def __init__(self, up="transposed"):
        super().__init__()
        self.enc = nn.Conv2d(1, 2, 3, padding=1)
        self.pool, self.mid = nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, padding=1)
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2) if up == "transposed" else None
        self.dec = nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x):
        e = self.enc(x)
        m = self.mid(self.pool(e))
        u = self.up(m) if self.up is not None else F.interpolate(m, scale_factor=2, mode="bilinear")
        return self.dec(torch.cat([e, u], 1))


NETS = {
    "chain": lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(2, 2, (5, 3), padding=(2, 0)),
                                   nn.Conv2d(2, 2, 3, stride=2, dilation=2), nn.AvgPool2d(3, 1, 1)),
    "residual": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), Residual(), nn.AvgPool2d(2)),
    "branches": lambda: nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), Branches(), nn.Conv2d(2, 2, 2)),
    "transposed": lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2),
                                        nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1),
                                        nn.Conv2d(2, 2, 3, padding=1)),
    "transposed-dilated": lambda: nn.Sequential(nn.ConvTranspose2d(1, 2, (3, 2), stride=(2, 3), dilation=2, padding=(1, 0)),
                                                nn.Conv2d(2, 2, 2)),
    "transposed-gaps": lambda: nn.Sequential(nn.ConvTranspose2d(1, 2, 1, stride=2), nn.Conv2d(2, 2, 1)),
    "nearest": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3, padding=1)),
    "nearest-exact": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=3, mode="nearest-exact"),
                                           nn.Conv2d(2, 2, 2)),
    "bilinear": lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Upsample(scale_factor=2, mode="bilinear"),
                                      nn.Conv2d(2, 2, 3, padding=1)),
    "bilinear-corners": lambda: nn.Sequential(nn.AvgPool2d(2), nn.Upsample(size=(21, 17), mode="bilinear", align_corners=True),
                                              nn.Conv2d(1, 2, 3)),
    "unet-transposed": lambda: TinyUNet("transposed"),
    "unet-interpolate": lambda: TinyUNet("interpolate"),
}


def empirical_intervals(net, x):
    """Per output row (column): first and last input row (column) with a nonzero gradient, by autograd."""
    x = x.clone().requires_grad_(True)
    out = net(x)  # (1, K, h, w)
    h, w = out.shape[-2:]
    result = []
    for axis, n in ((0, h), (1, w)):
        spans = []
        for o in range(n):
            units = out[0, :, o, :] if axis == 0 else out[0, :, :, o]  # a whole row: the union over its units
            (g,) = torch.autograd.grad(units.sum(), x, retain_graph=True)
            seen = g[0].abs().sum(0).sum(1 - axis).nonzero().flatten()  # rows (or columns) reached
            spans.append([seen.min().item(), seen.max().item()] if len(seen) else None)
        result.append(spans)
    return result


@pytest.mark.parametrize(("name", "size"), [(name, size) for name in NETS for size in ((16, 16), (18, 26), (21, 19))
                                            if not (name.startswith("unet") and size[0] % 2)])
def test_intervals_match_the_gradient_support_of_every_unit(name, size):
    torch.manual_seed(0)
    net = positive(NETS[name]())
    x = torch.rand(1, 1, *size, dtype=torch.float64) + 0.1
    rows, cols = receptive_field_intervals(net, net.dec if isinstance(net, TinyUNet) else net[-1], x)
    for computed, expected in zip((rows, cols), empirical_intervals(net, x)):
        assert len(computed) == len(expected)
        for (first, last), e in zip(computed.tolist(), expected):
            assert ([first, last] if first <= last else None) == e


@pytest.mark.parametrize("name", ["chain", "residual", "branches"])
def test_layer_receptive_field_matches_the_gradient_support(name):
    net = positive(NETS[name]())
    x = torch.ones(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    out = net(x)
    u, v = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, u, v].backward()
    rows, cols = x.grad[0, 0].sum(1).nonzero().flatten(), x.grad[0, 0].sum(0).nonzero().flatten()
    rf_h, rf_w = layer_receptive_field(net, net[-1], x)
    for rf, support, unit in ((rf_h, rows, u), (rf_w, cols, v)):
        top = unit * rf.jump + rf.start - (rf.size - 1) / 2
        assert (top, top + rf.size - 1) == (support.min().item(), support.max().item())
    if name == "chain":  # a pure chain also agrees with chapter 1's formula
        assert rf_w == receptive_field([(3, 1, 1, 1), (2, 2), (3,), (3, 2, 2), (3, 1, 1, 1)])[-1]


def test_a_field_that_reaches_outside_the_image_keeps_chapter_one_start():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, padding=1))
    assert layer_receptive_field(net, net[2], torch.zeros(1, 1, 10, 10)) == (RF(8, 2, 0.5), RF(8, 2, 0.5))
    assert layer_receptive_field(net, net[2], torch.zeros(1, 1, 2, 2))[0] == RF(8, 2, 0.5)  # a 1x1 map too


def test_upsampling_traces_and_uniform_fields_give_an_rf():
    # nearest x2 then a 2x2 stride-2 conv: both taps of a unit copy the same unit, so the field is uniform
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 2, stride=2))
    assert layer_receptive_field(net, net[2], torch.zeros(1, 1, 12, 12)) == (RF(3, 1, 1.0), RF(3, 1, 1.0))
    # a nearest x2 alone: units 2u and 2u+1 see the same pixels, so no single (size, jump, start) fits
    up = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3))
    with pytest.raises(ValueError, match="use receptive_field_intervals"):
        layer_receptive_field(up, up[2], torch.zeros(1, 1, 16, 16))
    assert layer_receptive_field(up, up[0], torch.zeros(1, 1, 16, 16))[0] == RF(3, 1, 1.0)
    rows, _ = receptive_field_intervals(up, up[2], torch.zeros(1, 1, 16, 16))
    assert rows[:4].tolist() == [[0, 3], [0, 3], [1, 4], [1, 4]]  # by hand: conv unit floor((o + t) / 2) for t = 0..2


def test_receptive_field_refuses_what_it_cannot_trace():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(F.max_pool2d(x, 2))  # a spatial op outside a module

    x, net = torch.randn(1, 1, 16, 16), Functional()
    with pytest.raises(ValueError, match="outside a module"):
        layer_receptive_field(net, net.conv, x)
    cubic = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2, mode="bicubic"), nn.Conv2d(2, 2, 3))
    with pytest.raises(ValueError, match="UpsampleBicubic2DBackward"):
        receptive_field_intervals(cubic, cubic[2], x)
    adaptive = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(4), nn.Conv2d(2, 2, 3))
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d"):
        layer_receptive_field(adaptive, adaptive[2], x)
    assert layer_receptive_field(adaptive, adaptive[0], x)[0] == RF(3, 1, 1.0)  # before it: fine

    net = Unused()
    with pytest.raises(ValueError, match="did not run"):
        layer_receptive_field(net, net.extra, x)


def test_hooks_are_removed_and_bad_arguments_raise():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5, 3))  # wrong Linear size
    model.train()
    with pytest.raises(RuntimeError):
        layer_receptive_field(model, model[1], torch.randn(2, 1, 6, 6))
    assert all(not m._forward_hooks for m in model.modules()) and all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="not a submodule"):
        layer_receptive_field(model, nn.Conv2d(1, 1, 1), torch.randn(1, 1, 6, 6))
    with pytest.raises(ValueError, match="at least one image"):
        receptive_field_intervals(model, model[0], torch.randn(0, 1, 6, 6))
    with pytest.raises(ValueError, match=r"x must be a floating-point tensor of shape \(N, C, H, W\)"):
        receptive_field_intervals(model, model[0], torch.randn(1, 6, 6))
    with pytest.raises(ValueError, match=r"feature maps \(N, K, h, w\)"):
        flat = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten())
        layer_receptive_field(flat, flat[1], torch.randn(1, 1, 6, 6))
