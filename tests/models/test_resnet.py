"""Tests for cnnlib.models.resnet: BasicBlock, Bottleneck, ResNet, plain networks.

Reference: each block's forward written with ``torch.nn.functional`` (``F.conv2d``,
``F.batch_norm``, ``F.relu``) from the block's own weights, i.e. ``relu(F(x) + shortcut(x))``;
torchvision's published parameter counts (resnet18 11,689,512, resnet34 21,797,672, resnet50
25,557,032, resnet101 44,549,160, resnet152 60,192,808) and "GFLOPS" (multiply-adds) column
(1.81, 4.09); parameter counts by hand.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models import (
    BasicBlock, Bottleneck, ResNet, count_macs, resnet18, resnet34, resnet50, resnet101, resnet152, resnet_small,
)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def randomise_bn(module, gen):
    """Non-trivial batch-norm statistics and affine parameters, so the reference is a real test."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def bn(x, m):
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)


def basic_reference(b, x):
    out = F.relu(bn(F.conv2d(x, b.conv1.weight, stride=b.stride, padding=1), b.bn1))
    out = bn(F.conv2d(out, b.conv2.weight, padding=1), b.bn2)
    if not b.residual:
        return F.relu(out)
    if b.downsample is None:
        return F.relu(out + x)
    return F.relu(out + bn(F.conv2d(x, b.downsample[0].weight, stride=b.stride), b.downsample[1]))


def bottleneck_reference(b, x):
    out = F.relu(bn(F.conv2d(x, b.conv1.weight), b.bn1))
    out = F.relu(bn(F.conv2d(out, b.conv2.weight, stride=b.stride, padding=1), b.bn2))
    out = bn(F.conv2d(out, b.conv3.weight), b.bn3)
    shortcut = x if b.downsample is None else bn(F.conv2d(x, b.downsample[0].weight, stride=b.stride), b.downsample[1])
    return F.relu(out + shortcut) if b.residual else F.relu(out)


@pytest.mark.parametrize("c_in,c_out,stride,residual,dtype", [
    (8, 8, 1, True, torch.float64), (8, 16, 1, True, torch.float64), (8, 16, 2, True, torch.float64),
    (8, 8, 2, True, torch.float64), (8, 16, 2, False, torch.float64), (8, 8, 1, False, torch.float64),
    (8, 8, 1, True, torch.float32), (8, 16, 2, True, torch.float32),
])
def test_basic_block_matches_functional(c_in, c_out, stride, residual, dtype):
    gen = torch.Generator().manual_seed(c_out + stride)
    block = BasicBlock(c_in, c_out, stride, residual).to(dtype).eval()
    randomise_bn(block, gen)
    x = torch.randn(2, c_in, 9, 8, generator=gen, dtype=dtype)
    out = block(x)
    torch.testing.assert_close(out, basic_reference(block, x))
    assert out.shape == (2, c_out, (9 - 1) // stride + 1, (8 - 1) // stride + 1)
    assert (block.downsample is not None) == (residual and (stride != 1 or c_in != c_out))


@pytest.mark.parametrize("c_in,planes,stride,residual", [(64, 16, 1, True), (32, 16, 2, True), (16, 8, 1, False)])
def test_bottleneck_matches_functional(c_in, planes, stride, residual):
    gen = torch.Generator().manual_seed(planes)
    block = Bottleneck(c_in, planes, stride, residual).double().eval()
    randomise_bn(block, gen)
    x = torch.randn(2, c_in, 7, 7, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(block(x), bottleneck_reference(block, x))
    assert block.c_out == 4 * planes and block(x).shape[1] == 4 * planes


def test_training_mode_uses_batch_statistics():
    gen = torch.Generator().manual_seed(3)
    block = BasicBlock(4, 8, 2).double().train()
    x = torch.randn(4, 4, 6, 6, generator=gen, dtype=torch.float64)

    def bn_train(h, m):
        return F.batch_norm(h, None, None, m.weight, m.bias, True, 0.0, m.eps)

    out = F.relu(bn_train(F.conv2d(x, block.conv1.weight, stride=2, padding=1), block.bn1))
    out = bn_train(F.conv2d(out, block.conv2.weight, padding=1), block.bn2)
    ref = F.relu(out + bn_train(F.conv2d(x, block.downsample[0].weight, stride=2), block.downsample[1]))
    torch.testing.assert_close(block(x), ref)


def test_identity_is_easy_and_the_plain_block_has_no_shortcut():
    """Seed 001: with the last layer's weights at zero a residual block passes relu(x) on."""
    x = torch.randn(2, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    residual, plain = BasicBlock(8, 8).eval(), BasicBlock(8, 8, residual=False).eval()
    for block in (residual, plain):
        torch.nn.init.zeros_(block.bn2.weight)  # gamma = 0 (beta is 0): F(x) = 0
    torch.testing.assert_close(residual(x), F.relu(x))
    assert torch.equal(plain(x), torch.zeros_like(x))  # no shortcut: relu(0) everywhere
    torch.nn.init.constant_(plain.bn2.bias, 0.3)  # the plain block follows its own last layer only
    assert torch.equal(plain(x), torch.full_like(x, 0.3))
    bottleneck = Bottleneck(32, 8).eval()
    torch.nn.init.zeros_(bottleneck.bn3.weight)
    x = torch.randn(2, 32, 4, 4)
    torch.testing.assert_close(bottleneck(x), F.relu(x))


def test_zero_init_residual_starts_stage_one_as_identity():
    net = ResNet("basic", (2, 2), 10, 1, (8, 16), "small", zero_init_residual=True).eval()
    h = net.stem(torch.rand(2, 1, 12, 12))
    torch.testing.assert_close(net.layers[0](h), h)  # relu(0 + h) = h, as h >= 0 after the stem
    assert all((b.bn2.weight == 0).all() for stage in net.layers for b in stage)


PUBLISHED = {resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032,
             resnet101: 44_549_160, resnet152: 60_192_808}


@pytest.mark.parametrize("make", list(PUBLISHED))
def test_published_parameter_counts_and_depth(make):
    with torch.device("meta"):
        net = make()
    assert n_params(net) == PUBLISHED[make]
    assert net.depth == int(make.__name__[6:])
    convs = [m for name, m in net.named_modules() if isinstance(m, torch.nn.Conv2d) and "downsample" not in name]
    assert len(convs) + 1 == net.depth  # main-path convolutions + the FC layer
    assert net(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


def test_published_macs():
    with torch.device("meta"):
        assert round(count_macs(resnet18(), (3, 224, 224)) / 1e9, 2) == 1.81
        assert round(count_macs(resnet50(), (3, 224, 224)) / 1e9, 2) == 4.09


def test_block_parameter_counts_by_hand():
    c = 16
    assert n_params(BasicBlock(c, c)) == 2 * 9 * c * c + 2 * 2 * c
    assert n_params(BasicBlock(16, 32, 2)) == 9 * 16 * 32 + 9 * 32 * 32 + 2 * 2 * 32 + (16 * 32 + 2 * 32)
    p = 8
    convs, norms, projection = 16 * p + 9 * p * p + p * 4 * p, 2 * p + 2 * p + 2 * 4 * p, 16 * 4 * p + 2 * 4 * p
    assert n_params(Bottleneck(16, p, 2)) == convs + norms + projection


def test_plain_network_lacks_exactly_the_projections():
    with torch.device("meta"):
        residual, plain = resnet18(), resnet18(residual=False)
    projections = sum(a * b + 2 * b for a, b in [(64, 128), (128, 256), (256, 512)])
    assert n_params(residual) - n_params(plain) == projections
    assert plain.depth == residual.depth == 18
    assert all(b.downsample is None and not b.residual for stage in plain.layers for b in stage)


def test_small_config_forward_and_depths():
    torch.manual_seed(0)
    net = resnet_small().eval()
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.rand(1, 1, 1, 1)).shape == (1, 10)  # padded convolutions: any size from 1 works
    assert net.min_input_size == 1 and net.depth == 14
    assert resnet_small(layers=(3, 3, 3)).depth == 20  # the paper's ResNet-20
    assert isinstance(resnet_small().stem[-1], torch.nn.ReLU)  # 3x3 stem, no max pool


def test_real_forward_of_a_full_model_at_small_size():
    torch.manual_seed(0)
    out = resnet18(num_classes=5).eval()(torch.rand(1, 3, 32, 32))
    assert out.shape == (1, 5) and torch.isfinite(out).all()


def test_num_classes_changes_only_the_last_layer():
    with torch.device("meta"):
        assert n_params(resnet50(1000)) - n_params(resnet50(10)) == (1000 - 10) * (2048 + 1)
    assert n_params(resnet_small(10)) - n_params(resnet_small(2)) == 8 * (64 + 1)


def test_errors():
    with pytest.raises(ValueError, match="c_in must be >= 1, got 0"):
        BasicBlock(0, 16)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        BasicBlock(16, 16, stride=0)
    with pytest.raises(ValueError, match="planes must be >= 1, got -4"):
        Bottleneck(16, -4)
    with pytest.raises(ValueError, match=r"block must be one of \('basic', 'bottleneck'\), got 'wide'"):
        ResNet("wide")
    with pytest.raises(ValueError, match="layers and widths must have one entry per stage, got 3 and 4"):
        ResNet("basic", (2, 2, 2))
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        resnet_small(widths=(16, 0, 64))
    with pytest.raises(ValueError, match="stem must be one of"):
        ResNet(stem="cifar")
    with pytest.raises(ValueError, match="BasicBlock expects 8 input channels, got 4"):
        BasicBlock(8, 8)(torch.zeros(1, 4, 5, 5))
    with pytest.raises(ValueError, match="ResNet expects 1 input channels, got 3"):
        resnet_small()(torch.zeros(1, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(4 dims\), got shape \(28, 28\)"):
        resnet_small()(torch.zeros(28, 28))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    torch.manual_seed(0)
    net, x = resnet_small().eval(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(net.cuda()(x.cuda()).cpu(), net.cpu()(x), atol=1e-4, rtol=1e-4)
