"""The Inception module (Szegedy et al., "Going deeper with convolutions", CVPR 2015).

Instead of choosing a filter size, an Inception module runs 1x1, 3x3 and 5x5 convolutions and
a 3x3 max pool side by side on the same input and concatenates their outputs along the
channels. Run naively (:class:`NaiveInceptionModule`), the 5x5 branch alone costs
``28*28*32 * 5*5*192 = 120 M`` multiply-adds on GoogLeNet's 28x28x192 input, and the pool
branch passes all 192 input channels on, so channels grow with every module. The fix
(:class:`InceptionModule`, seed 001: the 1x1 "bottleneck" layer): 1x1 convolutions reduce the
channels before the 3x3 and 5x5 convolutions (192 -> 16 cuts that 5x5 branch to
``28*28*16*192 + 28*28*32 * 5*5*16 = 12.4 M``) and project the pooled branch.

Each convolution is followed by a ReLU, as in the paper; ``batch_norm=True`` inserts batch
norm before it (Inception v2; torchvision's ``BasicConv2d``). Unlike torchvision (which uses a
3x3 kernel there by a known slip), the "5x5" branch really is 5x5. :class:`InceptionNet` stacks
modules and max pools from a config, for small GoogLeNet-like networks on 28x28 digits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_float, check_images, check_int, check_int_list

__all__ = ["InceptionModule", "NaiveInceptionModule", "InceptionNet", "INCEPTION_SMALL_CONFIG",
           "inception_small"]


def _conv(c_in: int, c_out: int, k: int, batch_norm: bool) -> nn.Sequential:
    """A "same" k x k convolution, optional batch norm, ReLU."""
    if batch_norm:
        return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
                             nn.BatchNorm2d(c_out), nn.ReLU())
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())


class InceptionModule(nn.Module):
    """GoogLeNet's module: ``cat[1x1, 1x1 -> 3x3, 1x1 -> 5x5, maxpool 3x3 -> 1x1]`` on channels.

    Args:
        c_in (int): input channels.
        ch1x1 (int): outputs of the 1x1 branch.
        ch3x3red (int): 1x1 reduction before the 3x3 convolution.
        ch3x3 (int): outputs of the 3x3 branch.
        ch5x5red (int): 1x1 reduction before the 5x5 convolution.
        ch5x5 (int): outputs of the 5x5 branch.
        pool_proj (int): 1x1 projection after the 3x3 stride-1 max pool.
        batch_norm (bool): batch norm after every convolution.

    Attributes:
        c_out (int): ``ch1x1 + ch3x3 + ch5x5 + pool_proj``.

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, H, W)``.

    Raises:
        TypeError / ValueError: for a non-positive channel count; in ``forward``, for an input
            that is not 4-D with ``c_in`` channels.

    Example:
        >>> m = InceptionModule(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's "3a"
        >>> m(torch.zeros(1, 192, 28, 28)).shape
        torch.Size([1, 256, 28, 28])
    """

    def __init__(self, c_in: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, batch_norm: bool = False) -> None:
        super().__init__()
        names = ("c_in", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")
        for name, v in zip(names, (c_in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)):
            check_int(v, name)
        self.c_in, self.c_out = c_in, ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = _conv(c_in, ch1x1, 1, batch_norm)
        self.branch2 = nn.Sequential(_conv(c_in, ch3x3red, 1, batch_norm),   # 1x1 reduce
                                     _conv(ch3x3red, ch3x3, 3, batch_norm))  # 3x3
        self.branch3 = nn.Sequential(_conv(c_in, ch5x5red, 1, batch_norm),   # 1x1 reduce
                                     _conv(ch5x5red, ch5x5, 5, batch_norm))  # 5x5
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), _conv(c_in, pool_proj, 1, batch_norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "InceptionModule", self.c_in, 1)
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)  # (N, c_out, H, W)


class NaiveInceptionModule(nn.Module):
    """The naive module: ``cat[1x1, 3x3, 5x5, maxpool 3x3]`` with no 1x1 bottlenecks.

    Args:
        c_in (int): input channels.
        ch1x1 (int): outputs of the 1x1 convolution.
        ch3x3 (int): outputs of the 3x3 convolution (on all ``c_in`` channels).
        ch5x5 (int): outputs of the 5x5 convolution (on all ``c_in`` channels).
        batch_norm (bool): batch norm after every convolution.

    Attributes:
        c_out (int): ``ch1x1 + ch3x3 + ch5x5 + c_in`` (the pool passes every channel on).

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, H, W)``.

    Example:
        >>> m = NaiveInceptionModule(192, 64, 128, 32)
        >>> m(torch.zeros(1, 192, 28, 28)).shape
        torch.Size([1, 416, 28, 28])
    """

    def __init__(self, c_in: int, ch1x1: int, ch3x3: int, ch5x5: int, batch_norm: bool = False) -> None:
        super().__init__()
        for name, v in zip(("c_in", "ch1x1", "ch3x3", "ch5x5"), (c_in, ch1x1, ch3x3, ch5x5)):
            check_int(v, name)
        self.c_in, self.c_out = c_in, ch1x1 + ch3x3 + ch5x5 + c_in
        self.branch1 = _conv(c_in, ch1x1, 1, batch_norm)
        self.branch2 = _conv(c_in, ch3x3, 3, batch_norm)
        self.branch3 = _conv(c_in, ch5x5, 5, batch_norm)
        self.branch4 = nn.MaxPool2d(3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "NaiveInceptionModule", self.c_in, 1)
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)  # (N, c_out, H, W)


#: Modules ``(ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)`` and "M" (3x3 stride-2 max
#: pool) for 28x28 input: 28 -> 14 -> 7, with 64, 128 and 192 output channels.
INCEPTION_SMALL_CONFIG: list[tuple[int, ...] | str] = [
    (16, 16, 32, 4, 8, 8), "M", (32, 32, 64, 8, 16, 16), "M", (48, 48, 96, 12, 24, 24),
]


class InceptionNet(nn.Module):
    """A small GoogLeNet: 3x3 stem, Inception modules and max pools from a config, GAP, FC.

    Args:
        config (Sequence): entries ``(ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj)`` for an
            :class:`InceptionModule` or ``"M"`` for a 3x3 stride-2 max pool (padding 1).
        num_classes (int): output logits.
        in_channels (int): image channels.
        stem_channels (int): channels of the 3x3 stem convolution.
        batch_norm (bool): batch norm after every convolution.
        dropout (float): dropout before the FC layer (GoogLeNet uses 0.4).

    Attributes:
        min_input_size (int): 1 (every convolution and pool is padded).

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Raises:
        TypeError / ValueError: for a config entry that is neither "M" nor six positive ints, a
            config without modules, or non-positive sizes; in ``forward``, for a wrong input shape.

    Example:
        >>> net = inception_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, config: Sequence[tuple[int, ...] | str] = tuple(INCEPTION_SMALL_CONFIG),
                 num_classes: int = 10, in_channels: int = 1, stem_channels: int = 32,
                 batch_norm: bool = True, dropout: float = 0.4) -> None:
        super().__init__()
        check_int(num_classes, "num_classes")
        self.in_channels = check_int(in_channels, "in_channels")
        check_int(stem_channels, "stem_channels")
        check_float(dropout, "dropout", 0.0, 1.0, low_inclusive=True)
        if not any(v != "M" for v in config):
            raise ValueError(f"config must contain at least one Inception module, got {config!r}")
        layers, c = [_conv(in_channels, stem_channels, 3, batch_norm)], stem_channels
        for i, entry in enumerate(config):
            if isinstance(entry, str) and entry == "M":
                layers.append(nn.MaxPool2d(3, 2, 1))
                continue
            if isinstance(entry, str) or not isinstance(entry, Sequence) or len(entry) != 6:
                raise ValueError(f"config[{i}] must be 'M' or six channel counts (ch1x1, ch3x3red, "
                                 f"ch3x3, ch5x5red, ch5x5, pool_proj), got {entry!r}")
            module = InceptionModule(c, *check_int_list(entry, f"config[{i}]"), batch_norm=batch_norm)
            layers.append(module)
            c = module.c_out
        self.num_classes, self.min_input_size = num_classes, 1
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "InceptionNet", self.in_channels, self.min_input_size)
        x = torch.flatten(self.avgpool(self.features(x)), 1)  # (N, C_last)
        return self.fc(self.dropout(x))                       # (N, num_classes)


def inception_small(num_classes: int = 10, in_channels: int = 1) -> InceptionNet:
    """:class:`InceptionNet` with :data:`INCEPTION_SMALL_CONFIG` and batch norm, for 28x28 digits.

    Example:
        >>> sum(p.numel() for p in inception_small().parameters())
        102938
    """
    return InceptionNet(INCEPTION_SMALL_CONFIG, num_classes, in_channels)
