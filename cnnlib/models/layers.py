"""The conv -> batch norm -> activation unit that every modern CNN of the chapter stacks.

``Conv2dNormActivation`` mirrors ``torchvision.ops.Conv2dNormActivation``: a bias-free
convolution (batch norm's own shift makes a conv bias redundant; Ioffe & Szegedy, 2015,
section 3.2), batch normalisation, then an activation. It is an ``nn.Sequential`` so its
parameters are named ``0.weight``, ``1.weight``, ``1.bias`` as in torchvision.
:func:`init_weights` is torchvision's initialisation of the networks built from it (and VGG's).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from cnnlib._checks import check_choice, check_float, check_images, check_int

__all__ = ["Conv2dNormActivation", "PooledClassifier", "init_weights", "LINEAR_INITS"]

#: The ``linear`` schemes :func:`init_weights` accepts (``None``: keep PyTorch's default).
LINEAR_INITS = ("normal", "uniform", None)


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


class PooledClassifier(nn.Module):
    """Base of the networks that end in global average pooling, dropout and one linear layer.

    A subclass calls :meth:`check_classifier_args` first and :meth:`set_features` once its
    convolutional ``features`` are built; ``forward`` (check the input, features, pool, flatten,
    classify) is shared. The attributes keep torchvision's names (``features``, ``avgpool``,
    ``classifier``), so the state dicts are laid out as torchvision's.

    Example:
        >>> class Tiny(PooledClassifier):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.check_classifier_args(num_classes=2, in_channels=1, dropout=0.0)
        ...         self.set_features(nn.Sequential(nn.Conv2d(1, 4, 3)), channels=4)
        >>> Tiny()(torch.zeros(5, 1, 8, 8)).shape
        torch.Size([5, 2])
    """

    def check_classifier_args(self, num_classes: int, in_channels: int, dropout: float) -> None:
        """Check and store ``num_classes`` and ``in_channels`` (ints >= 1) and ``dropout`` in [0, 1)."""
        self.num_classes = check_int(num_classes, "num_classes")
        self.in_channels = check_int(in_channels, "in_channels")
        self.dropout_p = check_float(dropout, "dropout", 0.0, 1.0, low_inclusive=True)
        self.min_input_size = 1

    def set_features(self, features: nn.Sequential, channels: int) -> None:
        """Attach the feature extractor (``channels`` output channels) and the pooled linear head."""
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(self.dropout_p), nn.Linear(channels, self.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, type(self).__name__, self.in_channels, self.min_input_size)
        x = torch.flatten(self.avgpool(self.features(x)), 1)  # (N, C_last)
        return self.classifier(x)                              # (N, num_classes)


def init_weights(model: nn.Module, linear: str | None = "normal") -> None:
    """torchvision's initialisation of the chapter's CNNs, in place.

    Every ``Conv2d`` gets He initialisation (He et al., 2015) with ``fan_out`` mode and a zero
    bias; every ``BatchNorm2d`` the identity (weight 1, bias 0); every ``Linear``, by ``linear``:

    - ``"normal"``: weights ``N(0, 0.01^2)``, zero bias (VGG, MobileNet);
    - ``"uniform"``: weights ``U(-1/sqrt(out_features), 1/sqrt(out_features))``, zero bias
      (EfficientNet);
    - ``None``: left at PyTorch's default (ResNet).

    Args:
        model (nn.Module): the network; its modules are visited in ``model.modules()`` order.
        linear (str | None): one of :data:`LINEAR_INITS`.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: for an unknown ``linear``.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
        >>> init_weights(net)
        >>> net[0].bias.abs().sum().item(), net[1].weight.mean().item(), net[3].bias.abs().sum().item()
        (0.0, 1.0, 0.0)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    check_choice(linear, "linear", LINEAR_INITS)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear is not None:
            if linear == "normal":
                nn.init.normal_(m.weight, 0, 0.01)
            else:
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
