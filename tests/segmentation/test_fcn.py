"""Tests for cnnlib.segmentation.fcn: the bilinear kernel and the small FCN.

Reference: ``F.interpolate(mode="bilinear", align_corners=False)`` away from the borders (the
transposed convolution pads with zeros where interpolation repeats the edge), the tent weights
computed by hand, and the FCN's coarse scores read with a forward hook and upsampled by
``F.interpolate`` (at initialisation the network must be exactly that, its skip scores being 0).
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.segmentation import FCN, bilinear_kernel


def test_bilinear_kernel_by_hand():
    assert torch.allclose(bilinear_kernel(1, 4)[0, 0, 1], 0.75 * torch.tensor([0.25, 0.75, 0.75, 0.25]))
    assert torch.allclose(bilinear_kernel(1, 3)[0, 0, 1], torch.tensor([0.5, 1.0, 0.5]))  # odd: centre at 1
    w = bilinear_kernel(3, 4, dtype=torch.float64)
    assert w.shape == (3, 3, 4, 4) and w.dtype == torch.float64
    off_diagonal = ~torch.eye(3, dtype=torch.bool)
    assert (w[off_diagonal] == 0).all() and torch.equal(w[0, 0], w[2, 2])  # channels do not mix


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_transposed_convolution_with_the_kernel_is_bilinear_upsampling(scale, dtype):
    gen = torch.Generator().manual_seed(scale)
    x = torch.randn(2, 3, 5, 7, generator=gen).to(dtype)
    out = F.conv_transpose2d(x, bilinear_kernel(3, 2 * scale, dtype=dtype), stride=scale, padding=scale // 2)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    assert out.shape == ref.shape == (2, 3, 5 * scale, 7 * scale)
    b = scale // 2  # border pixels where zero padding and edge repetition differ
    assert torch.allclose(out[..., b:-b, b:-b], ref[..., b:-b, b:-b], atol=1e-6 if dtype == torch.float32 else 1e-12)
    ramp = torch.arange(6, dtype=dtype).expand(1, 1, 4, 6)  # a linear ramp stays a ramp
    up = F.conv_transpose2d(ramp, bilinear_kernel(1, 2 * scale, dtype=dtype), stride=scale, padding=scale // 2)
    expected = (torch.arange(6 * scale, dtype=dtype) + 0.5) / scale - 0.5  # the source coordinate of each pixel
    assert torch.allclose(up[0, 0, b:-b, b:-b], expected[b:-b].expand(4 * scale - 2 * b, -1), atol=1e-5)


@pytest.mark.parametrize("skip", [True, False])
def test_fcn_starts_as_bilinear_upsampling_of_its_coarse_scores(skip):
    torch.manual_seed(0)
    net = FCN(2, 3, base=4, skip=skip).eval()
    seen = {}
    net.score8.register_forward_hook(lambda module, inputs, output: seen.update(s8=output))
    out = net(torch.randn(1, 2, 64, 48))
    assert out.shape == (1, 3, 64, 48)
    s8 = seen["s8"]
    assert s8.shape == (1, 3, 8, 6)
    if skip:  # x2 then x4; the x2 border pixel spreads over 4 + 2 pixels of the output
        ref, b = F.interpolate(F.interpolate(s8, scale_factor=2, mode="bilinear"), scale_factor=4, mode="bilinear"), 6
    else:
        ref, b = F.interpolate(s8, scale_factor=8, mode="bilinear"), 4
    assert torch.allclose(out[..., b:-b, b:-b], ref[..., b:-b, b:-b], atol=1e-5)


def test_fcn_upsampling_is_learned_and_the_skip_is_used_after_training_starts():
    torch.manual_seed(0)
    net = FCN(1, 2, base=4)
    assert [(m.kernel_size, m.stride, m.padding) for m in (net.up2, net.up4)] == [((4, 4), (2, 2), (1, 1)),
                                                                                ((8, 8), (4, 4), (2, 2))]
    x, mask = torch.randn(2, 1, 16, 16), torch.randint(0, 2, (2, 16, 16))
    F.cross_entropy(net(x), mask).backward()
    assert net.up4.weight.grad.abs().sum() > 0 and net.score4.weight.grad.abs().sum() > 0


def test_fcn_errors():
    net = FCN(3, 2, base=2)
    with pytest.raises(ValueError, match="FCN needs H and W divisible by its output stride 8, got H=20, W=16"):
        net(torch.zeros(1, 3, 20, 16))
    with pytest.raises(ValueError, match="FCN expects 3 input channels, got 1"):
        net(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        bilinear_kernel(2, 0)
