"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), in torchvision's single-GPU layout.

Five convolutions (11x11 stride 4, 5x5, then three 3x3), max pooling 3x3 stride 2 after the
1st, 2nd and 5th, and three fully connected layers with dropout (seed 002: "60 million
parameters ... 5 convolutional layers, some followed by max-pooling, 2 globally connected
layers with a final 1000-way softmax"). Differences from the paper, as in torchvision: one
tower instead of two GPU halves, 64/192 instead of 96/256 filters in the first two layers, no
local response normalisation, and an adaptive average pool to 6x6 before the classifier so
that any input of at least 63x63 works. :func:`alexnet` has torchvision's 61,100,840
parameters; the classifier holds 96% of them.

The same class builds a small AlexNet for MNIST (:func:`alexnet_small`): a 5x5 stride-1 first
convolution, narrower layers and a smaller classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_float, check_images, check_int, check_int_list
from cnnlib.ops.sizes import min_input_size

__all__ = ["AlexNet", "alexnet", "alexnet_small"]


class AlexNet(nn.Module):
    """AlexNet: conv-pool, conv-pool, conv, conv, conv-pool, adaptive pool, FC-FC-FC.

    Args:
        num_classes (int): output logits.
        in_channels (int): image channels.
        widths (Sequence[int]): the five convolutions' output channels.
        hidden (int): width of the two hidden fully connected layers.
        dropout (float): dropout probability before each hidden FC layer, in [0, 1).
        stem_kernel (int): kernel size of the first convolution (11 in the paper).
        stem_stride (int): its stride (4).
        stem_padding (int): its padding (2).
        pool_size (int): output size of the adaptive average pool (6).

    Attributes:
        min_input_size (int): smallest H and W the layers accept (63 for :func:`alexnet`).

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``, ``H, W >= min_input_size``.

    Raises:
        TypeError / ValueError: for non-positive sizes, five widths not given, or a dropout
            outside [0, 1); in ``forward``, for a wrong shape, channel count or a too small input.

    Example:
        >>> net = alexnet_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape, net.min_input_size
        (torch.Size([2, 10]), 15)
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3,
                 widths: Sequence[int] = (64, 192, 384, 256, 256), hidden: int = 4096,
                 dropout: float = 0.5, stem_kernel: int = 11, stem_stride: int = 4,
                 stem_padding: int = 2, pool_size: int = 6) -> None:
        super().__init__()
        check_int(num_classes, "num_classes")
        self.in_channels = check_int(in_channels, "in_channels")
        w = check_int_list(widths, "widths")
        if len(w) != 5:
            raise ValueError(f"widths must list the 5 convolutions' channels, got {len(w)}: {tuple(w)}")
        check_int(hidden, "hidden")
        check_float(dropout, "dropout", 0.0, 1.0, low_inclusive=True)
        check_int(stem_kernel, "stem_kernel")
        check_int(stem_stride, "stem_stride")
        check_int(stem_padding, "stem_padding", 0)
        check_int(pool_size, "pool_size")
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w[0], stem_kernel, stem_stride, stem_padding), nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(w[0], w[1], 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(w[1], w[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(w[2], w[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(w[3], w[4], 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(pool_size)  # (N, w4, pool_size, pool_size)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(w[4] * pool_size * pool_size, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        self.min_input_size = min_input_size(
            [(stem_kernel, stem_stride, stem_padding, 1), (3, 2, 0, 1), (5, 1, 2, 1), (3, 2, 0, 1),
             (3, 1, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1), (3, 2, 0, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "AlexNet", self.in_channels, self.min_input_size)
        x = self.avgpool(self.features(x))       # (N, w4, pool_size, pool_size)
        return self.classifier(torch.flatten(x, 1))  # (N, num_classes)


def alexnet(num_classes: int = 1000) -> AlexNet:
    """torchvision's AlexNet for ``3 x 224 x 224`` ImageNet images (61,100,840 parameters).

    Example:
        >>> with torch.device("meta"):  # shapes and counts without allocating 244 MB
        ...     net = alexnet()
        >>> sum(p.numel() for p in net.parameters()), net(torch.empty(1, 3, 224, 224, device="meta")).shape
        (61100840, torch.Size([1, 1000]))
    """
    return AlexNet(num_classes)


def alexnet_small(num_classes: int = 10, in_channels: int = 1) -> AlexNet:
    """A small AlexNet for ``1 x 28 x 28`` digits: 5x5 stride-1 stem, widths 32-64-96-96-64,
    a 2x2 adaptive pool and hidden FC layers of 256 (about 0.38 M parameters).

    Example:
        >>> sum(p.numel() for p in alexnet_small().parameters())
        380042
    """
    return AlexNet(num_classes, in_channels, widths=(32, 64, 96, 96, 64), hidden=256,
                   stem_kernel=5, stem_stride=1, stem_padding=2, pool_size=2)
