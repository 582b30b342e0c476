"""Tests for cnnlib.generative.dcgan: the DCGAN generator and discriminator at 28x28 and other sizes.

Reference: the size plans and parameter counts worked out by hand from the layer formulas (a
transposed convolution with kernel 4, stride 2, padding 1 gives ``2 (n - 1) - 2 + 4 = 2n``), the
paper's architecture rules checked layer by layer, and sample statistics of the initialisation.
"""

import pytest
import torch
from torch import nn

from cnnlib.generative import Discriminator, Generator, dcgan_init, gan_stages


def test_stages_by_hand():
    assert gan_stages(28) == (7, 2)                                     # 7 -> 14 -> 28
    assert gan_stages(32) == (4, 3) and gan_stages(64) == (4, 4) and gan_stages(8) == (4, 1)
    assert gan_stages(48) == (6, 3) and gan_stages(14) == (7, 1)


@pytest.mark.parametrize("size", [8, 14, 28, 32, 48, 64])
def test_shapes_at_every_size(size):
    g, d = Generator(16, 3, size, 8), Discriminator(3, size, 8)
    x = g(torch.randn(2, 16))
    assert x.shape == (2, 3, size, size)
    assert d(x).shape == (2,)
    start, stages = gan_stages(size)
    n = start
    for m in g.body:
        if isinstance(m, nn.ConvTranspose2d):
            n = (n - 1) * 2 - 2 + 4
    assert n == size and sum(isinstance(m, nn.ConvTranspose2d) for m in g.body) == stages
    assert sum(isinstance(m, nn.Conv2d) for m in d.body) == stages


def test_parameter_counts_at_28_by_hand():
    F, z = 8, 16
    g = Generator(z, 1, 28, F)
    expected = z * 2 * F * 49 + 2 * (2 * F) + 2 * F * F * 16 + 2 * F + F * 1 * 16 + 1
    assert sum(p.numel() for p in g.parameters()) == expected
    d = Discriminator(1, 28, F)
    expected = (1 * F * 16 + F) + F * 2 * F * 16 + 2 * (2 * F) + (2 * F * 49 + 1)
    assert sum(p.numel() for p in d.parameters()) == expected


def test_the_papers_rules():
    g, d = Generator(16, 1, 32, 8), Discriminator(1, 32, 8)
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Upsample)) for m in [*g.modules(), *d.modules()])
    assert isinstance(g.body[-1], nn.Sigmoid) and isinstance(g.body[-2], nn.ConvTranspose2d)  # no BN at the output
    assert isinstance(d.body[0], nn.Conv2d) and isinstance(d.body[1], nn.LeakyReLU)            # no BN at the input
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    assert any(isinstance(m, nn.ReLU) for m in g.modules()) and not any(isinstance(m, nn.ReLU) for m in d.modules())
    x = Generator(16, 1, 28, 8, out_activation="tanh")(torch.randn(64, 16) * 10)
    assert x.min() < 0 < x.max() and x.abs().max() <= 1


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    g = Generator(64, 1, 28, 64)
    w = g.body[2].weight                                                 # 128 x 64 x 4 x 4
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    bn = g.body[0]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01) and bn.bias.abs().max() == 0
    lin = nn.Linear(1000, 1000)
    lin.apply(dcgan_init)
    assert lin.weight.std().item() == pytest.approx(0.02, rel=0.01) and lin.bias.abs().max() == 0


@pytest.mark.parametrize("call,error,match", [
    (lambda: Generator(image_size=27), ValueError, "image_size must be an even number >= 8"),
    (lambda: Generator(image_size=6), ValueError, "image_size must be an even number >= 8"),
    (lambda: Generator(out_activation="relu"), ValueError, "out_activation must be one of"),
    (lambda: Generator(latent_dim=0), ValueError, "latent_dim must be >= 1"),
    (lambda: Generator(latent_dim=4, features=2)(torch.randn(2, 5)), ValueError, r"z must have shape \(N, 4\)"),
    (lambda: Generator(features=2)(torch.randn(2, 64, 1)), ValueError, r"\(N, latent_dim\)"),
    (lambda: Discriminator(features=2)(torch.rand(2, 1, 32, 32)), ValueError, "exactly 28x28, got 32x32"),
    (lambda: Discriminator(features=2)(torch.rand(2, 3, 28, 28)), ValueError, "expects 1 input channels, got 3"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
