"""Tests for cnnlib.segmentation.deconvnet: the deconvolution network with max unpooling.

Reference: the unpooled map rebuilt in the test by scattering the pooled values back to the
argmax positions (the "switches") that ``F.max_pool2d(return_indices=True)`` gives for the
encoder's features, read with forward hooks; sizes by hand.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.segmentation import DeconvNet


@pytest.mark.parametrize("size", [(16, 16), (13, 10), (9, 21)])
def test_output_has_the_input_size_even_for_odd_sizes(size):
    net = DeconvNet(3, 4, base=4, depth=3)
    assert net(torch.randn(2, 3, *size)).shape == (2, 4, *size)


def test_unpooling_puts_values_back_at_the_switches():
    torch.manual_seed(0)
    net = DeconvNet(1, 2, base=2, depth=2).eval()
    seen = {}
    net.encoder[-1].register_forward_hook(lambda m, i, o: seen.update(features=o))  # before the last pool
    net.center.register_forward_hook(lambda m, i, o: seen.update(center=o))
    net.decoder[0].register_forward_pre_hook(lambda m, i: seen.update(unpooled=i[0]))
    net(torch.randn(1, 1, 10, 14))
    features, center, unpooled = seen["features"], seen["center"], seen["unpooled"]
    _, switches = F.max_pool2d(features, 2, return_indices=True)  # (1, 4, 2, 3) flat positions in 5x7
    expected = torch.zeros_like(features).flatten(2)              # (1, 4, 35)
    expected.scatter_(2, switches.flatten(2), center.flatten(2))
    assert unpooled.shape == features.shape == (1, 4, 5, 7)
    assert torch.equal(unpooled, expected.reshape(features.shape))
    assert (unpooled != 0).sum() <= center.numel()  # sparse: at most one value per pooling window


def test_decoder_is_made_of_transposed_convolutions():
    net = DeconvNet(1, 2, base=2, depth=2)
    deconvs = [m for m in net.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 4 and all(m.stride == (1, 1) and m.padding == (1, 1) for m in deconvs)
    assert [m.out_channels for m in deconvs] == [4, 2, 2, 2]


def test_errors():
    net = DeconvNet(1, 2, base=2, depth=3)
    with pytest.raises(ValueError, match="DeconvNet needs input of at least 8x8"):
        net(torch.zeros(1, 1, 7, 8))
    with pytest.raises(ValueError, match="base must be >= 1"):
        DeconvNet(1, 2, base=0)
