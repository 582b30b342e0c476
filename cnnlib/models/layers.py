"""The conv -> batch norm -> activation unit that every modern CNN of the chapter stacks.

``Conv2dNormActivation`` mirrors ``torchvision.ops.Conv2dNormActivation``: a bias-free
convolution (batch norm's own shift makes a conv bias redundant; Ioffe & Szegedy, 2015,
section 3.2), batch normalisation, then an activation. It is an ``nn.Sequential`` so its
parameters are named ``0.weight``, ``1.weight``, ``1.bias`` as in torchvision.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from cnnlib._checks import check_int

__all__ = ["Conv2dNormActivation"]


class Conv2dNormActivation(nn.Sequential):
    """``Conv2d(bias=False) -> BatchNorm2d -> activation`` with "same" padding for odd kernels.

    Args:
        c_in (int): input channels.
        c_out (int): output channels.
        kernel_size (int): odd kernel size; padding is ``(kernel_size - 1) // 2``.
        stride (int): convolution stride.
        groups (int): ``c_in`` for a depthwise convolution; must divide ``c_in`` and ``c_out``.
        activation (Callable[[], nn.Module] | None): e.g. ``nn.ReLU``, ``nn.ReLU6``, ``nn.SiLU``;
            ``None`` for a linear unit (batch norm only).

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        TypeError / ValueError: for non-positive or non-int sizes, an even kernel, or groups
            that do not divide the channel counts.

    Example:
        >>> import torch
        >>> unit = Conv2dNormActivation(8, 16, 3, stride=2, activation=nn.ReLU6)
        >>> unit(torch.zeros(2, 8, 9, 9)).shape, sum(p.numel() for p in unit.parameters())
        (torch.Size([2, 16, 5, 5]), 1184)
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 activation: Callable[[], nn.Module] | None = nn.ReLU) -> None:
        check_int(c_in, "c_in")
        check_int(c_out, "c_out")
        check_int(kernel_size, "kernel_size")
        check_int(stride, "stride")
        check_int(groups, "groups")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size}")
        if c_in % groups or c_out % groups:
            raise ValueError(f"groups must divide c_in and c_out, got groups={groups}, "
                             f"c_in={c_in}, c_out={c_out}")
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)
        self.c_in, self.c_out, self.stride = c_in, c_out, stride
