"""Tests for cnnlib.models.efficientnet: compound scaling, MBConv, EfficientNet.

Reference: torchvision's published parameter counts for B0..B7 (5,288,548 ... 66,347,960) and its
"GFLOPS" (multiply-adds) column at its evaluation resolutions (0.39, 0.69, 1.09, 1.83, 4.39, 10.27,
19.07, 37.75); the paper's coefficients (alpha = 1.2, beta = 1.1, gamma = 1.15,
alpha * beta^2 * gamma^2 ~ 2); channel rounding and ``ceil`` depths recomputed by hand; MBConv's
forward written with ``torch.nn.functional``.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import (
    EFFICIENTNET_B0_CONFIG, EFFICIENTNET_PARAMS, EfficientNet, MBConv, SqueezeExcitation, StochasticDepth,
    compound_scaling, count_macs, efficientnet_b, efficientnet_b0, efficientnet_scaling_table,
    efficientnet_small, scale_config,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


PUBLISHED = {  # torchvision: parameters, GFLOPS, evaluation resolution
    "b0": (5_288_548, 0.39, 224), "b1": (7_794_184, 0.69, 240), "b2": (9_109_994, 1.09, 288),
    "b3": (12_233_232, 1.83, 300), "b4": (19_341_616, 4.39, 380), "b5": (30_389_784, 10.27, 456),
    "b6": (43_040_704, 19.07, 528), "b7": (66_347_960, 37.75, 600),
}


@pytest.mark.parametrize("variant", list(PUBLISHED))
def test_published_counts(variant):
    params, gmacs, res = PUBLISHED[variant]
    with torch.device("meta"):
        net = efficientnet_b(variant)
    assert n_params(net) == params
    assert round(count_macs(net, (3, res, res)) / 1e9, 2) == gmacs


def test_b0_constructor_and_shape():
    with torch.device("meta"):
        net = efficientnet_b0()
        assert n_params(net) == 5_288_548
        assert n_params(efficientnet_b0(1000)) - n_params(efficientnet_b0(10)) == 990 * 1281
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)
    assert net.last_channel == 1280 and len([m for m in net.modules() if isinstance(m, MBConv)]) == 16


def test_compound_scaling_formula():
    for phi in range(8):
        d, w, r = compound_scaling(phi)
        assert d == pytest.approx(1.2 ** phi) and w == pytest.approx(1.1 ** phi)
        assert r == round(224 * 1.15 ** phi)
    assert 1.9 < 1.2 * 1.1 ** 2 * 1.15 ** 2 < 2.0  # each phi step about doubles the FLOPs
    rows = efficientnet_scaling_table()
    assert [r["name"] for r in rows] == [f"b{i}" for i in range(8)] and [r["phi"] for r in rows] == list(range(8))
    assert (rows[4]["width"], rows[4]["depth"], rows[4]["resolution"]) == (1.4, 1.8, 380)
    assert rows[2]["resolution_formula"] == round(224 * 1.15 ** 2) == 296


def rounded(c):  # the paper's round_filters, written out
    new = max(8, int(c + 4) // 8 * 8)
    return new + 8 if new < 0.9 * c else new


@pytest.mark.parametrize("variant", ["b0", "b3", "b7"])
def test_scale_config_rounds_widths_and_ceils_depths(variant):
    w, d, _, _ = EFFICIENTNET_PARAMS[variant]
    for (t, k, s, ci, co, n), scaled in zip(EFFICIENTNET_B0_CONFIG, scale_config(EFFICIENTNET_B0_CONFIG, w, d)):
        assert scaled == (t, k, s, rounded(ci * w), rounded(co * w), math.ceil(n * d))
        assert scaled[3] % 8 == 0 and scaled[4] % 8 == 0
    if variant == "b7":  # 2x width, 3.1x depth: 55 blocks, widths doubled exactly
        stages = scale_config(EFFICIENTNET_B0_CONFIG, w, d)
        assert sum(s[5] for s in stages) == 55 and [s[4] for s in stages] == [32, 48, 80, 160, 224, 384, 640]


def mbconv_reference(block, x):
    layers, h = list(block.block), x

    def unit(h, u, groups=1, stride=1, act=True):
        conv, bn = u[0], u[1]
        h = F.conv2d(h, conv.weight, stride=stride, padding=conv.kernel_size[0] // 2, groups=groups)
        h = F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return F.silu(h) if act else h

    if len(layers) == 4:
        h = unit(h, layers.pop(0))
    dw, se, proj = layers
    h = unit(h, dw, groups=h.shape[1], stride=block.stride)
    s = F.silu(F.conv2d(h.mean((2, 3), keepdim=True), se.fc1.weight, se.fc1.bias))
    h = h * torch.sigmoid(F.conv2d(s, se.fc2.weight, se.fc2.bias))
    h = unit(h, proj, act=False)
    return x + h if block.use_res_connect else h


@pytest.mark.parametrize("c_in,c_out,k,s,t", [
    (16, 16, 3, 1, 6), (16, 24, 5, 2, 6), (32, 16, 3, 1, 1), (24, 24, 5, 1, 6),
])
def test_mbconv_matches_functional(c_in, c_out, k, s, t):
    torch.manual_seed(c_in + k)
    block = MBConv(c_in, c_out, k, s, t, stochastic_depth_prob=0.5).eval()  # eval: no dropping
    x = torch.randn(2, c_in, 8, 8)
    torch.testing.assert_close(block(x), mbconv_reference(block, x))
    assert block.use_res_connect == (s == 1 and c_in == c_out)
    se = next(m for m in block.modules() if isinstance(m, SqueezeExcitation))
    assert se.fc1.out_channels == max(1, c_in // 4)


def test_mbconv_parameter_count_by_hand():
    c_in, c_out, k, t = 16, 24, 5, 6
    h = c_in * t
    sq = c_in // 4
    expected = (c_in * h + 2 * h) + (k * k * h + 2 * h) + (h * sq + sq + sq * h + h) + (h * c_out + 2 * c_out)
    assert n_params(MBConv(c_in, c_out, k, 2, t)) == expected


def test_stochastic_depth():
    x = torch.ones(4000, 3)
    torch.manual_seed(0)
    out = StochasticDepth(0.25).train()(x)
    kept = out[:, 0] != 0
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.75))
    assert torch.equal(out[:, 0], out[:, 1])  # whole examples are dropped
    assert abs(out.mean().item() - 1.0) < 0.05  # unbiased
    assert torch.equal(StochasticDepth(0.25).eval()(x), x) and torch.equal(StochasticDepth(0.0).train()(x), x)


def test_stochastic_depth_rises_linearly_over_blocks():
    with torch.device("meta"):
        net = efficientnet_b0()
    probs = [m.stochastic_depth.p for m in net.modules() if isinstance(m, MBConv)]
    assert probs == pytest.approx([0.2 * i / 16 for i in range(16)])


def test_small_config_forward_and_scaling():
    torch.manual_seed(0)
    net = efficientnet_small().eval()
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 10) and net.min_input_size == 1
    with torch.device("meta"):
        wide = efficientnet_small(width_mult=1.5, depth_mult=2.0)
    assert n_params(wide) > 2 * n_params(net)
    assert len([m for m in wide.modules() if isinstance(m, MBConv)]) == 2 * 7


def test_errors():
    with pytest.raises(ValueError, match=r"kernel_size must be one of \(3, 5\), got 7"):
        MBConv(16, 16, 7, 1, 6)
    with pytest.raises(ValueError, match="expand_ratio must be >= 1, got 0"):
        MBConv(16, 16, 3, 1, 0)
    with pytest.raises(ValueError, match=r"stride must be one of \(1, 2\), got 4"):
        MBConv(16, 16, 3, 4, 6)
    with pytest.raises(ValueError, match=r"variant must be one of \('b0', .*got 'b8'"):
        efficientnet_b("b8")
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got 0"):
        EfficientNet(width_mult=0)
    with pytest.raises(ValueError, match=r"config\[0\] must be \(expand_ratio, kernel, stride, c_in, c_out, layers\)"):
        EfficientNet(config=[(1, 3, 1, 32, 16)])
    with pytest.raises(ValueError, match=r"phi must be in \[0.0, inf\), got -1"):
        compound_scaling(-1)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\), got 1"):
        StochasticDepth(1)
    with pytest.raises(ValueError, match="EfficientNet expects 1 input channels, got 3"):
        efficientnet_small()(torch.zeros(1, 3, 28, 28))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    torch.manual_seed(0)
    net, x = efficientnet_small().eval(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(net.cuda()(x.cuda()).cpu(), net.cpu()(x), atol=1e-4, rtol=1e-4)
