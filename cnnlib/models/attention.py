"""Attention modules for CNNs: squeeze-and-excitation and CBAM (channel + spatial attention).

Both re-weight a feature map ``x`` by attention weights in (0, 1) computed from ``x`` itself:

- **Squeeze-and-excitation** (Hu, Shen & Sun, CVPR 2018): squeeze each channel to one number by
  global average pooling, excite through a small bottleneck MLP (1x1 convolutions
  ``C -> C_sq -> C``), and scale the channels by the sigmoid of the result:
  ``y = x * sigmoid(W2 act(W1 avgpool(x)))``. MobileNet v3 and EfficientNet use it in every block.
- **CBAM** (Woo, Park, Lee & Kweon, ECCV 2018; seed 004's "Convolutional Block Attention
  module"): channel attention ``M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))`` with one
  shared MLP, then spatial attention ``M_s = sigmoid(conv7x7([mean_c(x); max_c(x)]))`` over the
  per-pixel channel mean and max; ``y = M_s(x') * x'`` with ``x' = M_c(x) * x``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnlib._checks import check_4d, check_images, check_int

__all__ = ["SqueezeExcitation", "ChannelAttention", "SpatialAttention", "CBAM"]


class SqueezeExcitation(nn.Module):
    """``x * scale_activation(fc2(activation(fc1(avgpool(x)))))``, as ``torchvision.ops.SqueezeExcitation``.

    Args:
        input_channels (int): channels ``C`` of ``x``.
        squeeze_channels (int): bottleneck width ``C_sq`` (often ``C / 4`` or ``C / 16``).
        activation (Callable[[], nn.Module]): between the two 1x1 convolutions (ReLU; SiLU in EfficientNet).
        scale_activation (Callable[[], nn.Module]): maps the excitation to (0, 1) (sigmoid).

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Raises:
        TypeError / ValueError: for non-positive channel counts; in ``forward``, for an input that
            is not 4-D with ``input_channels`` channels.

    Example:
        >>> se = SqueezeExcitation(32, 8)  # weights 2 * 32 * 8, biases 8 + 32
        >>> se(torch.ones(2, 32, 5, 5)).shape, sum(p.numel() for p in se.parameters())
        (torch.Size([2, 32, 5, 5]), 552)
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[[], nn.Module] = nn.ReLU,
                 scale_activation: Callable[[], nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.channels = check_int(input_channels, "input_channels")
        check_int(squeeze_channels, "squeeze_channels")
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation, self.scale_activation = activation(), scale_activation()

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel weights ``(N, C, 1, 1)``."""
        check_images(x, "SqueezeExcitation", self.channels, 1)
        s = self.avgpool(x)                                          # squeeze: (N, C, 1, 1)
        return self.scale_activation(self.fc2(self.activation(self.fc1(s))))  # excite: (N, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale(x)


class ChannelAttention(nn.Module):
    """CBAM's channel attention map ``M_c(x) = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))``.

    Args:
        channels (int): channels ``C``.
        reduction (int): the shared MLP's hidden width is ``max(1, C // reduction)`` (paper: 16).

    Shape:
        ``(N, C, H, W) -> (N, C, 1, 1)``, values in (0, 1).

    Example:
        >>> ChannelAttention(32)(torch.randn(2, 32, 6, 6)).shape
        torch.Size([2, 32, 1, 1])
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels")
        hidden = max(1, channels // check_int(reduction, "reduction"))
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "ChannelAttention", self.channels, 1)
        avg = self.mlp(x.mean(dim=(2, 3), keepdim=True))   # (N, C, 1, 1)
        mx = self.mlp(x.amax(dim=(2, 3), keepdim=True))    # (N, C, 1, 1), the same MLP
        return torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM's spatial attention map ``M_s(x) = sigmoid(conv([mean_c(x); max_c(x)]))``.

    Args:
        kernel_size (int): odd size of the convolution over the 2-channel descriptor (paper: 7).

    Shape:
        ``(N, C, H, W) -> (N, 1, H, W)``, values in (0, 1).

    Example:
        >>> SpatialAttention()(torch.randn(2, 32, 6, 6)).shape
        torch.Size([2, 1, 6, 6])
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        if check_int(kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_4d(x, "SpatialAttention")
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # (N, 2, H, W)
        return torch.sigmoid(self.conv(desc))  # (N, 1, H, W)


class CBAM(nn.Module):
    """Convolutional Block Attention Module: ``x' = M_c(x) x``, then ``y = M_s(x') x'``.

    Args:
        channels (int): channels ``C``.
        reduction (int): reduction of the channel MLP (16).
        kernel_size (int): kernel of the spatial attention (7).

    Shape:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Raises:
        TypeError / ValueError: for non-positive sizes or an even kernel; in ``forward``, for an
            input that is not 4-D with ``channels`` channels.

    Example:
        >>> cbam = CBAM(32, reduction=8)
        >>> cbam(torch.randn(2, 32, 6, 6)).shape
        torch.Size([2, 32, 6, 6])
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel(x)     # (N, C, H, W) * (N, C, 1, 1)
        return x * self.spatial(x)  # (N, C, H, W) * (N, 1, H, W)
