"""Tests for cnnlib.segmentation.unet: double_conv and U-Net.

Reference: ``F.conv2d`` + ``F.relu`` written out for double_conv; the channel and size bookkeeping
of Ronneberger et al. computed by hand (level ``k`` has ``base * 2**k`` channels at ``1 / 2**k``
of the size); the concatenated skip read back with a forward hook and compared with the
encoder's own output; a loss that must fall when one tiny batch is fitted.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.segmentation import UNet, double_conv


def test_double_conv_is_two_padded_convs_with_relu():
    torch.manual_seed(0)
    block = double_conv(3, 5, batch_norm=False)
    x = torch.randn(2, 3, 7, 6)
    c1, c2 = block[0], block[2]
    expected = F.relu(F.conv2d(F.relu(F.conv2d(x, c1.weight, c1.bias, padding=1)), c2.weight, c2.bias, padding=1))
    assert torch.allclose(block(x), expected, atol=1e-6)
    with_bn = double_conv(3, 5)
    convs = [m for m in with_bn if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding, c.bias) for c in convs] == [
        (3, 5, (3, 3), (1, 1), None), (5, 5, (3, 3), (1, 1), None)]  # no bias before BatchNorm
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn) == 2


@pytest.mark.parametrize("depth,base,size,up", [(1, 4, (6, 10), "transpose"), (2, 3, (12, 8), "bilinear"),
                                                (3, 4, (16, 24), "transpose"), (4, 2, (16, 16), "bilinear")])
def test_output_has_the_input_size(depth, base, size, up):
    net = UNet(2, 3, base=base, depth=depth, up=up)
    assert net(torch.randn(2, 2, *size)).shape == (2, 3, *size)
    widths = [m[1][-2].num_features for m in net.downs]  # the BatchNorm of each down stage
    assert widths == [base * 2 ** k for k in range(1, depth + 1)]


def test_sizes_not_divisible_by_two_to_the_depth_are_refused():
    net = UNet(1, 2, base=2, depth=3)
    with pytest.raises(ValueError, match=r"UNet\(depth=3\) needs H and W divisible by 2\*\*depth = 8, got H=20, W=16"):
        net(torch.zeros(1, 1, 20, 16))
    with pytest.raises(ValueError, match=r"UNet expects 1 input channels, got 3"):
        net(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="at least 8x8"):
        net(torch.zeros(1, 1, 4, 8))


def test_skips_are_concatenated():
    torch.manual_seed(0)
    net = UNet(1, 2, base=4, depth=2).eval()
    first, last = net.ups[0], net.ups[-1]
    assert first.conv[0].in_channels == 2 * first.up.out_channels == 2 * 8  # skip + upsampled, level 1
    assert last.conv[0].in_channels == 2 * 4
    seen = {}

    def keep(name, take_input=False):
        def hook(module, inputs, output):
            seen[name] = inputs[0] if take_input else output  # returns None: the output is unchanged
        return hook

    net.downs[0].register_forward_hook(keep("level1"))
    first.conv.register_forward_hook(keep("concat", take_input=True))
    first.up.register_forward_hook(keep("up"))
    net(torch.randn(1, 1, 16, 16))
    assert seen["concat"].shape == (1, 16, 8, 8)
    assert torch.equal(seen["concat"][:, :8], seen["level1"])  # the encoder's features, copied across
    assert torch.equal(seen["concat"][:, 8:], seen["up"])


def test_upsampling_layers():
    transpose, bilinear = UNet(1, 2, base=2, depth=2), UNet(1, 2, base=2, depth=2, up="bilinear")
    ups = [m for m in transpose.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(u.kernel_size, u.stride) for u in ups] == [((2, 2), (2, 2))] * 2
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in bilinear.modules())
    assert sum(isinstance(m, nn.Upsample) for m in bilinear.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in UNet(1, 2, base=2, depth=1, batch_norm=False).modules())
    with pytest.raises(ValueError, match=r"up must be one of \('transpose', 'bilinear'\), got 'nearest'"):
        UNet(1, 2, up="nearest")
    with pytest.raises(ValueError, match="depth must be >= 1"):
        UNet(1, 2, depth=0)


def test_overfits_one_tiny_batch():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16)
    mask = torch.zeros(2, 16, 16, dtype=torch.long)
    mask[0, 4:10, 3:12] = 1
    mask[1, 8:14, 2:6] = 1
    net = UNet(1, 2, base=4, depth=2)
    opt = torch.optim.Adam(net.parameters(), lr=5e-2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(net(x), mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert (net(x).argmax(1) == mask).float().mean() > 0.95  # batch statistics, as trained


@pytest.mark.gpu
def test_cuda_forward_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    torch.manual_seed(0)
    net, x = UNet(3, 4, base=4, depth=2, up="bilinear").eval().double(), torch.randn(2, 3, 16, 12, dtype=torch.float64)
    expected = net(x)
    got = net.cuda()(x.cuda())
    assert got.device.type == "cuda" and torch.allclose(got.cpu(), expected, atol=1e-10)
