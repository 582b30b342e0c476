"""Tests for cnnlib.restoration.models: DnCNN and the convolutional denoising autoencoder.

Reference: DnCNN's forward pass rewritten here with ``torch.nn.functional`` (conv2d, batch_norm,
relu; with and without batch norm) from the module's own weights, and ``x - that``; parameter
counts from the layer formulas (Zhang et al. 2017; a conv has ``c_in c_out k^2 + c_out``
weights); output sizes of the transposed convolutions ``(n - 1) s - 2 p + k``.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.restoration import DenoisingAutoencoder, DnCNN


def dncnn_by_hand(net, x):
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in net.body if isinstance(m, torch.nn.BatchNorm2d)]
    h = F.relu(F.conv2d(x, convs[0].weight, convs[0].bias, padding=1))
    if not norms:  # batch_norm=False: conv with bias + ReLU
        for conv in convs[1:-1]:
            h = F.relu(F.conv2d(h, conv.weight, conv.bias, padding=1))
    for conv, bn in zip(convs[1:-1], norms):
        h = F.conv2d(h, conv.weight, None, padding=1)
        h = F.relu(F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps))
    noise = F.conv2d(h, convs[-1].weight, convs[-1].bias, padding=1)
    return x - noise


@pytest.mark.parametrize("channels,depth,features", [(1, 2, 4), (1, 5, 8), (3, 4, 6)])
def test_dncnn_is_residual_and_matches_functional(channels, depth, features):
    torch.manual_seed(0)
    net = DnCNN(channels, depth, features).double().eval()
    for bn in (m for m in net.body if isinstance(m, torch.nn.BatchNorm2d)):  # non-trivial statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.rand(2, channels, 11, 9, dtype=torch.float64)
    y = net(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, dncnn_by_hand(net, x), rtol=0, atol=1e-12)
    torch.testing.assert_close(y, x - net.body(x), rtol=0, atol=0)
    convs = 2 + (depth - 2)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.body) == convs
    expected = (channels * features * 9 + features) + (depth - 2) * (features * features * 9 + 2 * features) \
        + (features * channels * 9 + channels)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_dncnn_paper_size_and_identity_when_the_noise_branch_is_zero():
    # the paper's grey model: 640 + 15 (36,864 + 128) + 577 (first conv, conv+BN blocks, last conv)
    assert sum(p.numel() for p in DnCNN(1, 17, 64).parameters()) == 556_097
    net = DnCNN(depth=3, features=4)
    torch.nn.init.zeros_(net.body[-1].weight), torch.nn.init.zeros_(net.body[-1].bias)
    x = torch.rand(1, 1, 5, 5)
    assert torch.equal(net(x), x)


@pytest.mark.parametrize("levels,size", [(1, (6, 10)), (2, (8, 12)), (3, (16, 24))])
def test_autoencoder_shapes(levels, size):
    ae = DenoisingAutoencoder(channels=3, code=5, base=4, levels=levels)
    x = torch.rand(2, 3, *size)
    code = ae.encode(x)
    assert code.shape == (2, 5, size[0] // 2**levels, size[1] // 2**levels)
    assert ae(x).shape == x.shape
    convt = [m for m in ae.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convt) == levels
    n = size[0] // 2**levels
    for m in convt:  # (n - 1) s - 2 p + k doubles the size
        n = (n - 1) * m.stride[0] - 2 * m.padding[0] + m.kernel_size[0]
    assert n == size[0]


@pytest.mark.parametrize("channels,depth,features", [(1, 2, 4), (1, 5, 8), (3, 4, 6)])
def test_dncnn_without_batch_norm_is_a_plain_residual_stack(channels, depth, features):
    torch.manual_seed(0)
    net = DnCNN(channels, depth, features, batch_norm=False).double()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    convs = [m for m in net.body if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == depth and all(c.bias is not None for c in convs)
    x = torch.rand(2, channels, 11, 9, dtype=torch.float64)
    y = net(x)
    torch.testing.assert_close(y, dncnn_by_hand(net, x), rtol=0, atol=1e-12)
    torch.testing.assert_close(net.train()(x), net.eval()(x), rtol=0, atol=0)  # no batch statistics
    expected = (channels * features * 9 + features) + (depth - 2) * (features * features * 9 + features) \
        + (features * channels * 9 + channels)
    assert sum(p.numel() for p in net.parameters()) == expected


def test_autoencoder_trains_end_to_end():
    torch.manual_seed(0)
    ae = DenoisingAutoencoder()
    x = torch.rand(4, 1, 8, 8)
    ae(x).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ae.parameters())


def test_model_errors():
    with pytest.raises(ValueError, match="depth must be >= 2, got 1"):
        DnCNN(depth=1)
    with pytest.raises(TypeError, match="features must be an int"):
        DnCNN(features=3.0)
    with pytest.raises(TypeError, match="batch_norm must be a bool, got int"):
        DnCNN(batch_norm=1)
    with pytest.raises(ValueError, match="DnCNN expects 1 input channels, got 3"):
        DnCNN()(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"DnCNN expects input of shape \(N, 1, H, W\)"):
        DnCNN()(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="levels=2 needs H and W divisible by 4, got 8x10"):
        DenoisingAutoencoder()(torch.rand(1, 1, 8, 10))
    with pytest.raises(ValueError, match="code must be >= 1, got 0"):
        DenoisingAutoencoder(code=0)
