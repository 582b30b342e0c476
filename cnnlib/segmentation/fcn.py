"""FCN (Long, Shelhamer & Darrell, CVPR 2015): a classifier made fully convolutional, with skips.

A fully convolutional network has no fully connected layer, so it takes an image of any size and
returns a map of class scores; its resolution is that of the last feature map, here 1/8 of the
input (three stride-2 stages). Upsampling that coarse map back to the input size gives blurry
segments, so FCN fuses it with score maps of finer layers: FCN-32s upsamples the stride-32 scores
alone, FCN-16s first adds the stride-16 scores of ``pool4``, FCN-8s also those of ``pool3``.

This small version adapts the scheme to a backbone of output stride 8: with ``skip=True``
(the FCN-8s pattern) the stride-8 scores are upsampled x2 and added to 1x1-conv scores of the
stride-4 features, and the sum is upsampled x4; with ``skip=False`` (the FCN-32s pattern) the
stride-8 scores are upsampled x8 at once. Every upsampling is a *learned* transposed convolution
(kernel ``2s``, stride ``s``, padding ``s / 2``) **initialised as bilinear interpolation**
(:func:`bilinear_kernel`), and the skip's score layer starts at zero, as in the paper: training
starts from the coarse prediction upsampled smoothly, and learns to sharpen it.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_images, check_int
from cnnlib.segmentation.unet import double_conv

__all__ = ["bilinear_kernel", "FCN"]


def bilinear_kernel(channels: int, kernel_size: int, dtype: torch.dtype | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """Weights that make a transposed convolution upsample each channel bilinearly (FCN's init).

    The 1-D kernel is the tent ``1 - |i - centre| / f`` with ``f = ceil(k / 2)`` and the centre
    at ``f - 1`` (odd ``k``) or ``f - 1/2`` (even ``k``); the 2-D kernel is its outer product.
    Channel ``c`` maps only to channel ``c``. A ``ConvTranspose2d(C, C, 2s, stride=s,
    padding=s // 2)`` with these weights equals ``F.interpolate(scale_factor=s, mode="bilinear",
    align_corners=False)`` for even ``s``, except in the ``s / 2`` pixels next to the border
    (interpolation repeats the edge pixel, the transposed convolution pads with zeros).

    Args:
        channels (int): ``C``, input and output channels.
        kernel_size (int): ``k``, usually ``2 * stride``.
        dtype (torch.dtype | None): default the default float dtype.
        device (torch.device | str | None): default the CPU.

    Returns:
        Tensor[C, C, k, k]: the ``ConvTranspose2d`` weight (``(in, out, kH, kW)`` layout).

    Raises:
        TypeError / ValueError: for sizes that are not ints >= 1.

    Example:
        >>> bilinear_kernel(1, 4)[0, 0, 0]  # the tent (1/4, 3/4, 3/4, 1/4), times its first entry 1/4
        tensor([0.0625, 0.1875, 0.1875, 0.0625])
    """
    check_int(channels, "channels")
    check_int(kernel_size, "kernel_size")
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    i = torch.arange(kernel_size, dtype=torch.float64)
    tent = 1 - (i - centre).abs() / factor                              # (k,)
    kernel = (tent[:, None] * tent[None, :]).to(dtype or torch.get_default_dtype())  # (k, k)
    weight = torch.zeros(channels, channels, kernel_size, kernel_size, dtype=kernel.dtype, device=device)
    index = torch.arange(channels, device=device)
    weight[index, index] = kernel.to(device)                            # channel c -> channel c only
    return weight


def _bilinear_up(channels: int, scale: int) -> nn.ConvTranspose2d:
    """A learnable x``scale`` upsampling, ``(H, W) -> (scale H, scale W)``, initialised bilinear."""
    up = nn.ConvTranspose2d(channels, channels, 2 * scale, stride=scale, padding=scale // 2, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, 2 * scale))
    return up


class FCN(nn.Module):
    """A small fully convolutional network of output stride 8 with FCN-8s-style skip fusion.

    Backbone: three stages of double_conv + 2x2 max pool (``base``, ``2 base``, ``4 base``
    channels; strides 2, 4, 8), then the paper's ``fc6``/``fc7`` as convolutions (3x3 and 1x1,
    ``8 base`` channels) and a 1x1 score layer. With ``skip=True``, the stride-8 scores are
    upsampled x2 and added to a 1x1 score layer on the stride-4 features (initialised to zero),
    then upsampled x4; with ``skip=False`` they are upsampled x8. The transposed convolutions
    start as bilinear interpolation (:func:`bilinear_kernel`) and are trained.

    Args:
        in_channels (int): image channels.
        num_classes (int): output logits per pixel.
        base (int): channels of the first stage.
        skip (bool): fuse the stride-4 scores (FCN-8s pattern) or not (FCN-32s pattern).

    Attributes:
        multiple (int): 8, what H and W must be multiples of.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes, H, W)`` logits.

    Raises:
        TypeError / ValueError: for sizes that are not positive ints; in ``forward``, for a wrong
            shape or channel count, or H, W not divisible by 8.

    Example:
        >>> net = FCN(3, 2, base=8)
        >>> net(torch.zeros(1, 3, 24, 40)).shape
        torch.Size([1, 2, 24, 40])
    """

    def __init__(self, in_channels: int, num_classes: int, base: int = 16, skip: bool = True) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels")
        self.num_classes = check_int(num_classes, "num_classes")
        check_int(base, "base")
        self.skip, self.multiple = bool(skip), 8
        self.stage1 = nn.Sequential(double_conv(in_channels, base), nn.MaxPool2d(2))   # stride 2
        self.stage2 = nn.Sequential(double_conv(base, 2 * base), nn.MaxPool2d(2))      # stride 4
        self.stage3 = nn.Sequential(double_conv(2 * base, 4 * base), nn.MaxPool2d(2))  # stride 8
        self.fc = nn.Sequential(nn.Conv2d(4 * base, 8 * base, 3, padding=1), nn.ReLU(inplace=True),  # "fc6"
                                nn.Conv2d(8 * base, 8 * base, 1), nn.ReLU(inplace=True))             # "fc7"
        self.score8 = nn.Conv2d(8 * base, num_classes, 1)
        if self.skip:
            self.score4 = nn.Conv2d(2 * base, num_classes, 1)
            nn.init.zeros_(self.score4.weight)
            nn.init.zeros_(self.score4.bias)
            self.up2 = _bilinear_up(num_classes, 2)
            self.up4 = _bilinear_up(num_classes, 4)
        else:
            self.up8 = _bilinear_up(num_classes, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "FCN", self.in_channels, self.multiple)
        H, W = x.shape[2:]
        if H % 8 or W % 8:
            raise ValueError(f"FCN needs H and W divisible by its output stride 8, got H={H}, W={W}")
        f4 = self.stage2(self.stage1(x))             # (N, 2 base, H / 4, W / 4)
        s8 = self.score8(self.fc(self.stage3(f4)))   # (N, K, H / 8, W / 8)
        if not self.skip:
            return self.up8(s8)                      # (N, K, H, W)
        s4 = self.up2(s8) + self.score4(f4)          # (N, K, H / 4, W / 4): coarse + fine scores
        return self.up4(s4)                          # (N, K, H, W)
