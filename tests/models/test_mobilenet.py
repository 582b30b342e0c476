"""Tests for cnnlib.models.mobilenet: depthwise separable convolutions, MobileNet v1, inverted
residuals, MobileNet v2, make_divisible.

Reference: the blocks' forward written with ``torch.nn.functional`` (``F.conv2d(groups=C)``,
``F.batch_norm``, ReLU / ReLU6) from their own weights; parameter and multiply-add formulas
written in the test (``9 C_in + C_in C_out`` weights; cost ratio ``1/N + 1/D_k^2`` as exact
fractions); published numbers: MobileNet v1 paper tables 6 and 7 (569/325/149/41 M mult-adds and
4.2/2.6/1.3/0.5 M parameters for alpha = 1/0.75/0.5/0.25; 418/290/186 M at 192/160/128 px),
torchvision's mobilenet_v2 (3,504,872 parameters, 0.30 GFLOPS column = multiply-adds).
"""

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import (
    DepthwiseSeparableConv, InvertedResidual, MobileNetV1, MobileNetV2, count_macs, make_divisible,
    mobilenet_v1, mobilenet_v1_small, mobilenet_v2, mobilenet_v2_small,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def randomise_bn(module, gen):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def bn(x, m):
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)


@pytest.mark.parametrize("c_in,c_out,stride", [(4, 8, 1), (8, 8, 2), (6, 3, 1), (1, 5, 3)])
def test_depthwise_separable_matches_functional_and_counts(c_in, c_out, stride):
    gen = torch.Generator().manual_seed(c_in * c_out)
    m = DepthwiseSeparableConv(c_in, c_out, stride).eval()
    randomise_bn(m, gen)
    x = torch.randn(2, c_in, 9, 7, generator=gen)
    dw, pw = m.depthwise, m.pointwise
    ref = F.relu(bn(F.conv2d(x, dw[0].weight, stride=stride, padding=1, groups=c_in), dw[1]))
    ref = F.relu(bn(F.conv2d(ref, pw[0].weight), pw[1]))
    torch.testing.assert_close(m(x), ref)
    assert dw[0].weight.shape == (c_in, 1, 3, 3) and dw[0].groups == c_in
    assert n_params(m) == 9 * c_in + c_in * c_out + 2 * c_in + 2 * c_out


@pytest.mark.parametrize("M,N,D_F,stride", [
    (32, 64, 14, 1), (16, 16, 28, 1), (64, 128, 7, 1), (3, 10, 9, 2), (512, 1024, 14, 2),
])
def test_cost_ratio_is_exactly_one_over_n_plus_one_over_dk_squared(M, N, D_F, stride):
    D_k = 3
    separable = count_macs(DepthwiseSeparableConv(M, N, stride), (M, D_F, D_F))
    standard = count_macs(torch.nn.Conv2d(M, N, D_k, stride, 1, bias=False), (M, D_F, D_F))
    D_out = (D_F - 1) // stride + 1
    assert separable == D_k ** 2 * M * D_out ** 2 + M * N * D_out ** 2  # depthwise + pointwise
    assert standard == D_k ** 2 * M * N * D_out ** 2
    assert Fraction(separable, standard) == Fraction(1, N) + Fraction(1, D_k ** 2)
    weights = Fraction(D_k ** 2 * M + M * N, D_k ** 2 * M * N)
    assert weights == Fraction(1, N) + Fraction(1, D_k ** 2)


@pytest.mark.parametrize("alpha,macs_m,params_m", [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)])
def test_mobilenet_v1_paper_table_6(alpha, macs_m, params_m):
    with torch.device("meta"):
        net = mobilenet_v1(width_mult=alpha)
    assert round(count_macs(net, (3, 224, 224)) / 1e6) == macs_m
    assert round(n_params(net) / 1e6, 1) == params_m


def test_mobilenet_v1_paper_table_7_and_exact_count():
    with torch.device("meta"):
        net = mobilenet_v1()
    for r, published in [(192, 418), (160, 290), (128, 186)]:  # the paper rounds 290.7 down
        assert abs(count_macs(net, (3, r, r)) / 1e6 - published) < 1
    assert n_params(net) == 4_231_976  # Keras MobileNet(alpha=1): trainable parameters
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


def inverted_reference(block, x):
    layers, h = list(block.conv), x
    if len(layers) == 4:  # expansion present
        h = F.relu6(bn(F.conv2d(h, layers[0][0].weight), layers[0][1]))
        layers = layers[1:]
    dw = layers[0]
    h = F.relu6(bn(F.conv2d(h, dw[0].weight, stride=block.stride, padding=1, groups=block.hidden), dw[1]))
    h = bn(F.conv2d(h, layers[1].weight), layers[2])  # linear bottleneck: no activation
    return x + h if (block.stride == 1 and block.c_in == block.c_out) else h


@pytest.mark.parametrize("c_in,c_out,stride,t", [
    (8, 8, 1, 6), (8, 8, 2, 6), (8, 16, 1, 6), (16, 16, 1, 1), (16, 8, 2, 1), (6, 6, 1, 2.5),
])
def test_inverted_residual_matches_functional(c_in, c_out, stride, t):
    gen = torch.Generator().manual_seed(c_in + c_out + stride)
    block = InvertedResidual(c_in, c_out, stride, t).eval()
    randomise_bn(block, gen)
    x = torch.randn(2, c_in, 8, 7, generator=gen)
    torch.testing.assert_close(block(x), inverted_reference(block, x))
    assert block.use_res_connect == (stride == 1 and c_in == c_out)
    h = int(round(c_in * t))
    expected = (c_in * h + 2 * h if t != 1 else 0) + 9 * h + 2 * h + h * c_out + 2 * c_out
    assert n_params(block) == expected


@pytest.mark.parametrize("c_in,c_out,stride", [(8, 8, 1), (8, 8, 2), (8, 16, 1), (8, 16, 2)])
def test_residual_used_exactly_when_shapes_match(c_in, c_out, stride):
    """With the projection's batch-norm scale (and shift) at zero the branch is 0: the block
    returns x when it has the residual, and zeros otherwise."""
    block = InvertedResidual(c_in, c_out, stride, 6).eval()
    torch.nn.init.zeros_(block.conv[-1].weight)
    x = torch.randn(2, c_in, 6, 6, generator=torch.Generator().manual_seed(0))
    out = block(x)
    if stride == 1 and c_in == c_out:
        assert block.use_res_connect and torch.equal(out, x)
    else:
        assert not block.use_res_connect and torch.equal(out, torch.zeros_like(out))


def test_mobilenet_v2_published_count_and_macs():
    with torch.device("meta"):
        net = mobilenet_v2()
    assert n_params(net) == 3_504_872
    assert round(count_macs(net, (3, 224, 224)) / 1e9, 2) == 0.30
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)
    blocks = [m for m in net.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 1 + 2 + 3 + 4 + 3 + 3 + 1 and sum(b.use_res_connect for b in blocks) == 10


@pytest.mark.parametrize("value,expected", [
    (24.0, 24), (20, 24), (12, 16), (3.5, 8), (35.2, 32), (1280 * 1.4, 1792), (36, 40),
])
def test_make_divisible_by_hand(value, expected):
    assert make_divisible(value) == expected and make_divisible(value) % 8 == 0
    assert make_divisible(value) >= 0.9 * value


def test_width_mult_rounds_channels_to_multiples_of_eight():
    with torch.device("meta"):
        net = mobilenet_v2(width_mult=0.35)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs if c.groups == 1)
    assert net.last_channel == 1280  # the last conv is never thinned below 1280


def test_small_configs_forward():
    torch.manual_seed(0)  # (28x28 forwards of every small configuration: tests/models/test_init.py)
    assert mobilenet_v1_small().min_input_size == mobilenet_v2_small().min_input_size == 1
    assert mobilenet_v2_small(num_classes=3).eval()(torch.rand(1, 1, 5, 5)).shape == (1, 3)


def test_full_models_forward_at_224_on_meta():
    """Shapes through every layer at 224x224 (the meta device computes shapes, not values; the
    small configurations run the same classes for real)."""
    with torch.device("meta"):
        for make in (mobilenet_v1, mobilenet_v2):
            assert make(num_classes=10)(torch.empty(2, 3, 224, 224)).shape == (2, 10)


def test_num_classes_changes_only_the_last_layer():
    with torch.device("meta"):
        assert n_params(mobilenet_v2(1000)) - n_params(mobilenet_v2(10)) == 990 * 1281
        assert n_params(mobilenet_v1(1000)) - n_params(mobilenet_v1(10)) == 990 * 1025


def test_errors():
    with pytest.raises(ValueError, match=r"expand_ratio must be in \[1.0, inf\), got 0.5"):
        InvertedResidual(8, 8, 1, 0.5)
    with pytest.raises(ValueError, match=r"stride must be one of \(1, 2\), got 3"):
        InvertedResidual(8, 8, 3, 6)
    with pytest.raises(ValueError, match="c_out must be >= 1, got 0"):
        InvertedResidual(8, 0, 1, 6)
    with pytest.raises(ValueError, match="c_in must be >= 1, got -2"):
        DepthwiseSeparableConv(-2, 8)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        DepthwiseSeparableConv(8, 8, 0)
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got -1"):
        MobileNetV2(width_mult=-1)
    with pytest.raises(ValueError, match="width_mult=0.01 leaves the stem"):
        MobileNetV1(width_mult=0.01)
    with pytest.raises(ValueError, match=r"config\[1\] must be \(c_out, stride\), got \(64, 1, 1\)"):
        MobileNetV1(config=[(32, 1), (64, 1, 1)])
    with pytest.raises(ValueError, match=r"config\[0\]\[1\] must be >= 1, got 0"):
        MobileNetV1(config=[(32, 0)])
    with pytest.raises(ValueError, match=r"config\[0\] must be \(t, c, n, s\)"):
        MobileNetV2(config=[(6, 24, 2)])
    with pytest.raises(ValueError, match=r"config\[0\] repeats must be >= 1, got 0"):
        MobileNetV2(config=[(6, 24, 0, 2)])
    with pytest.raises(ValueError, match="MobileNetV2 expects 1 input channels, got 3"):
        mobilenet_v2_small()(torch.zeros(1, 3, 28, 28))
    with pytest.raises(ValueError, match="InvertedResidual expects 8 input channels, got 4"):
        InvertedResidual(8, 8, 1, 6)(torch.zeros(1, 4, 5, 5))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    torch.manual_seed(0)
    net, x = mobilenet_v2_small().eval(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(net.cuda()(x.cuda()).cpu(), net.cpu()(x), atol=1e-4, rtol=1e-4)
