"""DeconvNet (Noh, Hong & Han, ICCV 2015): unpooling with the encoder's switches, then deconvolution.

The encoder is a VGG-like stack whose 2x2 max pools remember *where* each maximum came from (the
"switches", ``return_indices=True``). The decoder mirrors it: **unpooling** puts each value back
at its switch position and zeros elsewhere (``F.max_unpool2d``), giving a sparse map at twice the
size that keeps the location of strong activations; **deconvolution** layers (transposed
convolutions, here with stride 1) then densify it. No features are copied across, unlike U-Net:
only the pooling positions travel from encoder to decoder, which is cheap (indices, not channels).

This lite version has ``depth`` stages of two 3x3 convolutions with BatchNorm (the paper used
VGG-16's 13 convolutions and a 7x7 ``fc6``); unpooling to the size recorded before each pool makes
odd sizes work too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib._checks import check_images, check_int
from cnnlib.segmentation.unet import double_conv

__all__ = ["DeconvNet"]


def _deconv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 transposed convolutions (stride 1, padding 1: the size is kept), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_in, 3, padding=1, bias=False), nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
    )


class DeconvNet(nn.Module):
    """An encoder with pooling switches and a mirrored decoder of max-unpooling + deconvolution.

    Encoder stage ``k`` (``k = 0 .. depth - 1``): double_conv to ``base * 2**k`` channels, then a
    2x2 max pool that returns its indices. Decoder stage ``k`` (in reverse): max-unpool with stage
    ``k``'s indices to its pre-pool size, then two 3x3 deconvolutions down to stage ``k - 1``'s
    channels (``base`` for ``k = 0``). A 1x1 convolution gives the logits.

    Args:
        in_channels (int): image channels.
        num_classes (int): output logits per pixel.
        base (int): channels of the first stage.
        depth (int): number of pool / unpool pairs; H and W must be at least ``2 ** depth``.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes, H, W)`` logits, for any H, W >= ``2 ** depth``.

    Raises:
        TypeError / ValueError: for sizes that are not positive ints; in ``forward``, for a wrong
            shape or channel count, or an input smaller than ``2 ** depth``.

    Example:
        >>> net = DeconvNet(3, 2, base=4, depth=2)
        >>> net(torch.zeros(1, 3, 13, 10)).shape
        torch.Size([1, 2, 13, 10])
    """

    def __init__(self, in_channels: int, num_classes: int, base: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels")
        self.num_classes = check_int(num_classes, "num_classes")
        check_int(base, "base")
        self.depth = check_int(depth, "depth")
        widths = [base * 2 ** k for k in range(depth)]
        self.encoder = nn.ModuleList(double_conv(c_in, c_out) for c_in, c_out in zip([in_channels] + widths, widths))
        self.center = double_conv(widths[-1], widths[-1])                 # the paper's fc6 / fc7, as 3x3 convs
        self.decoder = nn.ModuleList(_deconv_block(widths[k], widths[max(k - 1, 0)]) for k in reversed(range(depth)))
        self.head = nn.Conv2d(base, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "DeconvNet", self.in_channels, 2 ** self.depth)
        switches = []
        for conv in self.encoder:
            x = conv(x)                                                   # (N, c_k, h, w)
            size = x.shape[2:]
            x, index = F.max_pool2d(x, 2, return_indices=True)            # (N, c_k, h // 2, w // 2)
            switches.append((index, size))
        x = self.center(x)
        for deconv in self.decoder:
            index, size = switches.pop()
            x = F.max_unpool2d(x, index, 2, output_size=size)             # (N, c_k, h, w), sparse
            x = deconv(x)                                                 # (N, c_{k-1}, h, w), dense
        return self.head(x)                                               # (N, num_classes, H, W)
