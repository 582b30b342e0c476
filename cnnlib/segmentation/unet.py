"""U-Net (Ronneberger, Fischer & Brox, MICCAI 2015): an encoder-decoder with skip concatenation.

The contracting path halves the resolution ``depth`` times (2x2 max pool, then two 3x3
convolutions that double the channels); the expanding path doubles it back (a 2x2 transposed
convolution with stride 2 that halves the channels) and, at each scale, **concatenates** the
encoder's feature map of that scale before two more 3x3 convolutions. The concatenation gives the
decoder the fine spatial detail that pooling threw away; a 1x1 convolution maps the last features
to one logit per class and pixel.

Deviations from the paper, as in most re-implementations: the 3x3 convolutions are padded
(``padding=1``), so the output has the input's size and no cropping of the skips is needed (the
paper's unpadded convolutions shrink a 572x572 tile to a 388x388 map); batch normalisation follows
each convolution (the paper predates it); the widths start at ``base`` (16) instead of 64. With
``up="bilinear"`` the transposed convolution is replaced by bilinear resizing followed by a 3x3
convolution, the resize-then-convolve fix of checkerboard artefacts (Odena, Dumoulin & Olah,
*Deconvolution and Checkerboard Artifacts*, Distill 2016).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_choice, check_images, check_int

__all__ = ["double_conv", "UNet"]


def double_conv(c_in: int, c_out: int, batch_norm: bool = True) -> nn.Sequential:
    """Two 3x3 convolutions (padding 1, so the size is kept), each followed by BatchNorm and ReLU.

    The building block of U-Net's two paths. With batch normalisation the convolutions have no
    bias (BatchNorm's shift replaces it).

    Args:
        c_in (int): input channels.
        c_out (int): output channels of both convolutions.
        batch_norm (bool): BatchNorm after each convolution (``False``: conv with bias, ReLU).

    Returns:
        nn.Sequential: ``conv, [bn,] relu, conv, [bn,] relu``.

    Raises:
        TypeError / ValueError: for channel counts that are not ints >= 1.

    Example:
        >>> block = double_conv(3, 8)
        >>> block(torch.zeros(2, 3, 5, 7)).shape
        torch.Size([2, 8, 5, 7])
        >>> [type(m).__name__ for m in block]
        ['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d', 'ReLU']
    """
    check_int(c_in, "c_in")
    check_int(c_out, "c_out")
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers.append(nn.Conv2d(c, c_out, 3, padding=1, bias=not batch_norm))  # keeps H and W
        layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)] if batch_norm else [nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class _Up(nn.Module):
    """One decoder stage: upsample x2 and halve the channels, concatenate the skip, double_conv."""

    def __init__(self, c_in: int, c_out: int, up: str, batch_norm: bool) -> None:
        super().__init__()
        if up == "transpose":
            self.up = nn.ConvTranspose2d(c_in, c_out, kernel_size=2, stride=2)  # (H, W) -> (2H, 2W)
        else:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                    nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv = double_conv(2 * c_out, c_out, batch_norm)  # skip (c_out) + upsampled (c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)                                    # (N, c_out, 2H, 2W)
        return self.conv(torch.cat([skip, x], dim=1))     # (N, 2 c_out, 2H, 2W) -> (N, c_out, 2H, 2W)


class UNet(nn.Module):
    """U-Net: ``depth`` down stages (max pool + double_conv), a bottleneck, ``depth`` up stages.

    Level ``k`` of the encoder (``k = 0 .. depth``) has ``base * 2**k`` channels at
    ``1 / 2**k`` of the input resolution; level ``depth`` is the bottleneck. Up stage ``k``
    upsamples level ``k + 1`` to level ``k``'s size and channels, concatenates level ``k``'s
    encoder output (so its first convolution takes ``2 * base * 2**k`` channels) and applies a
    double_conv. A final 1x1 convolution gives the logits.

    Args:
        in_channels (int): image channels.
        num_classes (int): output logits per pixel (2 for road / background).
        base (int): channels of the first level (the paper: 64).
        depth (int): number of 2x2 max pools (the paper: 4); H and W must be divisible by
            ``2 ** depth``.
        up (str): ``"transpose"`` (2x2 transposed convolution, stride 2, as the paper) or
            ``"bilinear"`` (bilinear resize, then a 3x3 convolution).
        batch_norm (bool): BatchNorm after every 3x3 convolution.

    Attributes:
        multiple (int): ``2 ** depth``, what H and W must be multiples of.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes, H, W)`` logits.

    Raises:
        TypeError / ValueError: for sizes that are not positive ints or an unknown ``up``; in
            ``forward``, for a wrong shape or channel count, or H, W not divisible by ``2 ** depth``.

    Example:
        >>> net = UNet(3, 2, base=8, depth=3)
        >>> net(torch.zeros(1, 3, 32, 48)).shape
        torch.Size([1, 2, 32, 48])
    """

    def __init__(self, in_channels: int, num_classes: int, base: int = 16, depth: int = 3, up: str = "transpose",
                 batch_norm: bool = True) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels")
        self.num_classes = check_int(num_classes, "num_classes")
        check_int(base, "base")
        self.depth = check_int(depth, "depth")
        check_choice(up, "up", ("transpose", "bilinear"))
        self.multiple = 2 ** depth
        widths = [base * 2 ** k for k in range(depth + 1)]
        self.inc = double_conv(in_channels, widths[0], batch_norm)
        self.downs = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), double_conv(widths[k - 1], widths[k], batch_norm))  # halves H, W
            for k in range(1, depth + 1))
        self.ups = nn.ModuleList(_Up(widths[k + 1], widths[k], up, batch_norm) for k in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "UNet", self.in_channels, self.multiple)
        H, W = x.shape[2:]
        if H % self.multiple or W % self.multiple:
            raise ValueError(f"UNet(depth={self.depth}) needs H and W divisible by 2**depth = {self.multiple}, "
                             f"got H={H}, W={W} (pad or crop the input)")
        skips = [self.inc(x)]                     # level 0: (N, base, H, W)
        for down in self.downs:
            skips.append(down(skips[-1]))         # level k: (N, base 2^k, H / 2^k, W / 2^k)
        x = skips.pop()                           # the bottleneck, level depth
        for up in self.ups:
            x = up(x, skips.pop())                # back up one level
        return self.head(x)                       # (N, num_classes, H, W)
