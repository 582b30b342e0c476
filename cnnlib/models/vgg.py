"""VGG (Simonyan & Zisserman, ICLR 2015): deep stacks of 3x3 convolutions.

VGG's idea (seed 004: "more layers + smaller convolutional filters"): replace large filters by
stacks of 3x3 convolutions. Two stacked 3x3 layers see a 5x5 receptive field and three see
7x7, with ``2 * 9 C^2`` or ``3 * 9 C^2`` weights instead of ``25 C^2`` or ``49 C^2``, and with a
non-linearity between them. A network is a list of stages: 3x3 convolutions (padding 1, so the
size is kept) separated by 2x2 max pools that halve the size, then a classifier. The four
configurations of the paper's table 1 (A, B, D, E) are :data:`VGG_CONFIGS` "11", "13", "16",
"19" (weight layers); "M" marks a max pool.

The layout is torchvision's (adaptive average pool to 7x7, then FC 4096-4096-K with dropout), so
:func:`vgg16` has its 138,357,544 parameters, 89% of them in the three FC layers (74% in the
first). The same class builds a small VGG for 28x28 digits (:func:`vgg_small`): fewer stages, a
width multiplier, batch normalisation and global average pooling before a small classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_float, check_images, check_int
from cnnlib.models.layers import init_weights
from cnnlib.ops.sizes import min_input_size

__all__ = ["VGG", "VGG_CONFIGS", "VGG_SMALL_CONFIG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg_small"]

#: Channels of each 3x3 convolution, "M" for a 2x2 max pool; keyed by number of weight layers.
VGG_CONFIGS: dict[str, list[int | str]] = {
    "11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
           512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
#: Three stages for 28x28 input (28 -> 14 -> 7 -> 3), the same pattern as VGG-13 scaled down.
VGG_SMALL_CONFIG: list[int | str] = [32, 32, "M", 64, 64, "M", 128, 128, "M"]


class VGG(nn.Module):
    """A VGG network: 3x3 conv stages with max pooling, adaptive average pool, FC classifier.

    Args:
        config (str | Sequence[int | str]): a key of :data:`VGG_CONFIGS` or a list of conv
            channels and ``"M"`` (max pool) entries.
        num_classes (int): output logits.
        in_channels (int): image channels.
        batch_norm (bool): batch norm after every convolution (torchvision's ``vgg16_bn``).
        width_mult (float): multiplies every conv's channels (rounded, at least 1).
        hidden (int): width of the two hidden FC layers (4096).
        pool_size (int): output size of the adaptive average pool (7; 1 = global average pooling).
        dropout (float): dropout probability after each hidden FC layer, in [0, 1).

    Attributes:
        min_input_size (int): ``2 ** (number of max pools)``, the smallest H and W accepted.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Raises:
        TypeError / ValueError: for an unknown config name, a config entry that is neither a
            positive int nor "M", a config without convolutions, non-positive sizes or width
            multiplier; in ``forward``, for a wrong shape, channel count or a too small input.

    Example:
        >>> net = vgg_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape, net.min_input_size
        (torch.Size([2, 10]), 8)
    """

    def __init__(self, config: str | Sequence[int | str] = "16", num_classes: int = 1000,
                 in_channels: int = 3, batch_norm: bool = False, width_mult: float = 1.0,
                 hidden: int = 4096, pool_size: int = 7, dropout: float = 0.5) -> None:
        super().__init__()
        if isinstance(config, str):
            if config not in VGG_CONFIGS:
                raise ValueError(f"config must be one of {tuple(VGG_CONFIGS)} or a list of channels "
                                 f"and 'M', got {config!r}")
            config = VGG_CONFIGS[config]
        config = list(config)
        for i, v in enumerate(config):
            if v != "M" and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"config[{i}] must be a positive int (channels) or 'M', got {v!r}")
        if not any(v != "M" for v in config):
            raise ValueError(f"config must contain at least one convolution, got {config!r}")
        check_int(num_classes, "num_classes")
        self.in_channels = check_int(in_channels, "in_channels")
        check_float(width_mult, "width_mult", 0.0)
        check_int(hidden, "hidden")
        check_int(pool_size, "pool_size")
        check_float(dropout, "dropout", 0.0, 1.0, low_inclusive=True)
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        c = in_channels
        for v in config:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))  # halves H and W
                continue
            c_out = max(1, round(v * width_mult))
            layers.append(nn.Conv2d(c, c_out, 3, padding=1))  # keeps H and W
            layers += [nn.BatchNorm2d(c_out), nn.ReLU()] if batch_norm else [nn.ReLU()]
            c = c_out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
        self.classifier = nn.Sequential(
            nn.Linear(c * pool_size * pool_size, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        self.min_input_size = min_input_size([(2, 2, 0, 1)] * config.count("M"))
        init_weights(self, linear="normal")  # torchvision's: He (fan-out) for convs, N(0, 0.01) for FC

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "VGG", self.in_channels, self.min_input_size)
        x = self.avgpool(self.features(x))           # (N, C_last, pool_size, pool_size)
        return self.classifier(torch.flatten(x, 1))  # (N, num_classes)


def vgg11(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    """VGG-11 (configuration A) for ImageNet: 132,863,336 parameters (torchvision ``vgg11``)."""
    return VGG("11", num_classes, batch_norm=batch_norm)


def vgg13(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    """VGG-13 (configuration B) for ImageNet: 133,047,848 parameters (torchvision ``vgg13``)."""
    return VGG("13", num_classes, batch_norm=batch_norm)


def vgg16(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    """VGG-16 (configuration D) for ImageNet: 138,357,544 parameters (torchvision ``vgg16``).

    ``batch_norm=True`` gives torchvision's ``vgg16_bn`` (138,365,992 parameters).

    Example:
        >>> with torch.device("meta"):  # counts and shapes without allocating 553 MB
        ...     net = vgg16()
        >>> sum(p.numel() for p in net.parameters()), net(torch.empty(1, 3, 224, 224, device="meta")).shape
        (138357544, torch.Size([1, 1000]))
    """
    return VGG("16", num_classes, batch_norm=batch_norm)


def vgg19(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    """VGG-19 (configuration E) for ImageNet: 143,667,240 parameters (torchvision ``vgg19``)."""
    return VGG("19", num_classes, batch_norm=batch_norm)


def vgg_small(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0) -> VGG:
    """A VGG for ``1 x 28 x 28`` digits: :data:`VGG_SMALL_CONFIG` with batch norm, global average
    pooling and a 128-128-K classifier (dropout 0.3).

    Example:
        >>> sum(p.numel() for p in vgg_small().parameters())
        321642
    """
    return VGG(VGG_SMALL_CONFIG, num_classes, in_channels, batch_norm=True, width_mult=width_mult,
               hidden=128, pool_size=1, dropout=0.3)
