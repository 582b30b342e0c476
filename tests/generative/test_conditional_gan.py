"""Tests for cnnlib.generative.conditional_gan: the class reaches both networks as one-hot inputs.

Reference: the inner DCGAN networks called by hand on ``[z, onehot]`` and on the image with the
one-hot maps built by a loop; the label checks against the messages they promise.
"""

import pytest
import torch

from cnnlib.generative import ConditionalDiscriminator, ConditionalGenerator


def test_generator_reads_noise_and_one_hot_class():
    torch.manual_seed(0)
    g = ConditionalGenerator(4, latent_dim=6, features=4).eval()
    z, y = torch.randn(3, 6), torch.tensor([0, 3, 1])
    onehot = torch.zeros(3, 4)
    for n, label in enumerate(y.tolist()):
        onehot[n, label] = 1
    torch.testing.assert_close(g(z, y), g.net(torch.cat([z, onehot], 1)), rtol=0, atol=0)
    assert (g(z, torch.tensor([2, 2, 2])) - g(z, y)).abs().max() > 0     # the class changes the sample


def test_discriminator_reads_image_and_class_maps():
    torch.manual_seed(0)
    d = ConditionalDiscriminator(3, channels=2, image_size=8, features=4).eval()
    x, y = torch.rand(2, 2, 8, 8), torch.tensor([2, 0])
    maps = torch.zeros(2, 3, 8, 8)
    for n, label in enumerate(y.tolist()):
        maps[n, label] = 1.0
    torch.testing.assert_close(d(x, y), d.net(torch.cat([x, maps], 1)), rtol=0, atol=0)
    assert d(x, y).shape == (2,) and d.net.body[0].in_channels == 2 + 3


@pytest.mark.parametrize("call,error,match", [
    (lambda: ConditionalGenerator(3, 4, features=2)(torch.randn(2, 4), None), TypeError, "integer Tensor"),
    (lambda: ConditionalGenerator(3, 4, features=2)(torch.randn(2, 4), torch.tensor([0, 3])), ValueError,
     r"labels must be in \[0, 3\)"),
    (lambda: ConditionalGenerator(3, 4, features=2)(torch.randn(2, 4), torch.tensor([0.0, 1.0])), TypeError,
     "integer Tensor"),
    (lambda: ConditionalGenerator(3, 4, features=2)(torch.randn(2, 5), torch.tensor([0, 1])), ValueError,
     r"z must have shape \(N, 4\)"),
    (lambda: ConditionalDiscriminator(3, features=2)(torch.rand(2, 1, 28, 28), torch.tensor([1])), ValueError,
     r"labels must have shape \(2,\)"),
    (lambda: ConditionalDiscriminator(0), ValueError, "num_classes must be >= 1"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
