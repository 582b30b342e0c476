"""MobileNet v1 and v2: depthwise separable convolutions and inverted residuals.

**MobileNet v1** (Howard et al., 2017) factors a standard ``D_k x D_k`` convolution from ``M``
to ``N`` channels into a *depthwise* convolution (one ``D_k x D_k`` filter per input channel,
``groups=M``) and a *pointwise* 1x1 convolution that mixes the channels. On a ``D_F x D_F`` map
the cost drops from ``D_k^2 M N D_F^2`` to ``D_k^2 M D_F^2 + M N D_F^2`` multiply-adds, a ratio
of exactly ``1/N + 1/D_k^2`` (paper eq. 5; about 1/9 for 3x3 kernels), and the weights by the
same ratio. A width multiplier ``alpha`` thins every layer (``int(alpha * channels)``, as in Keras).

**MobileNet v2** (Sandler et al., CVPR 2018; seed 004: "expand, filter in the higher dimensional
space, project back, add"): the *inverted residual* block expands ``c_in`` channels by ``t`` with
a 1x1 convolution, filters them with a depthwise 3x3, and projects back with a *linear* 1x1
(no ReLU: a ReLU in the narrow space would destroy information); the shortcut joins the narrow
ends, and only when the shapes match (stride 1 and ``c_in == c_out``). Channels are rounded to
multiples of 8 (:func:`make_divisible`). :func:`mobilenet_v2` is torchvision's layout with its
3,504,872 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_choice, check_float, check_images, check_int, check_int_list
from cnnlib.models.layers import Conv2dNormActivation, PooledClassifier, init_weights

__all__ = ["DepthwiseSeparableConv", "MobileNetV1", "MOBILENET_V1_CONFIG", "mobilenet_v1",
           "mobilenet_v1_small", "make_divisible", "InvertedResidual", "MobileNetV2",
           "MOBILENET_V2_CONFIG", "mobilenet_v2", "mobilenet_v2_small"]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never going below 90% of it.

    The channel rounding of MobileNet v2 and EfficientNet (torchvision's ``_make_divisible``);
    multiples of 8 suit the hardware. ``min_value`` defaults to ``divisor``.

    Example:
        >>> make_divisible(32 * 0.75), make_divisible(20), make_divisible(12), make_divisible(3.5)
        (24, 24, 16, 8)
    """
    check_int(divisor, "divisor")
    check_float(value, "value", 0.0)
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class DepthwiseSeparableConv(nn.Module):
    """Depthwise 3x3 (``groups=c_in``) -> BN -> ReLU, then pointwise 1x1 -> BN -> ReLU.

    Args:
        c_in (int): input channels ``M``.
        c_out (int): output channels ``N``.
        stride (int): stride of the depthwise convolution.

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        TypeError / ValueError: for non-positive channels or stride; in ``forward``, for an input
            that is not 4-D with ``c_in`` channels.

    Example:
        >>> m = DepthwiseSeparableConv(32, 64)  # weights 9*32 + 32*64, BN 2*32 + 2*64
        >>> m(torch.zeros(1, 32, 14, 14)).shape, sum(p.numel() for p in m.parameters())
        (torch.Size([1, 64, 14, 14]), 2528)
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.c_in, self.c_out = check_int(c_in, "c_in"), check_int(c_out, "c_out")
        self.stride = check_int(stride, "stride")
        self.depthwise = Conv2dNormActivation(c_in, c_in, 3, stride, groups=c_in)  # (N, M, H', W')
        self.pointwise = Conv2dNormActivation(c_in, c_out, 1)                      # (N, N, H', W')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "DepthwiseSeparableConv", self.c_in, 1)
        return self.pointwise(self.depthwise(x))


#: MobileNet v1's body (paper table 1): ``(c_out, stride)`` of each depthwise separable layer.
MOBILENET_V1_CONFIG: list[tuple[int, int]] = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]


class MobileNetV1(PooledClassifier):
    """MobileNet v1: a 3x3 conv stem, depthwise separable layers, global average pool, FC.

    Args:
        num_classes (int): output logits.
        in_channels (int): image channels.
        width_mult (float): the width multiplier ``alpha`` in (0, inf); channels ``int(alpha c)``.
        config (Sequence[tuple[int, int]]): ``(c_out, stride)`` per layer.
        stem_channels (int): channels of the stem (before ``alpha``).
        stem_stride (int): stride of the stem (2 for ImageNet, 1 for 28x28 digits).
        dropout (float): dropout before the FC layer, in [0, 1).

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Raises:
        TypeError / ValueError: for a width multiplier <= 0 or one that leaves a layer with no
            channel, a bad config entry or non-positive sizes; in ``forward``, a wrong input shape.

    Example:
        >>> net = mobilenet_v1_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 config: Sequence[tuple[int, int]] = tuple(MOBILENET_V1_CONFIG),
                 stem_channels: int = 32, stem_stride: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.check_classifier_args(num_classes, in_channels, dropout)
        check_float(width_mult, "width_mult", 0.0)
        check_int(stem_channels, "stem_channels")
        check_int(stem_stride, "stem_stride")
        if len(config) == 0:
            raise ValueError("config must list at least one (c_out, stride) layer, got []")

        def scaled(c: int, name: str) -> int:
            if int(c * width_mult) < 1:
                raise ValueError(f"width_mult={width_mult} leaves {name} ({c} channels) with none")
            return int(c * width_mult)

        c = scaled(stem_channels, "the stem")
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, c, 3, stem_stride)]
        for i, entry in enumerate(config):
            if len(entry) != 2:
                raise ValueError(f"config[{i}] must be (c_out, stride), got {entry!r}")
            c_out, stride = check_int_list(entry, f"config[{i}]")
            layers.append(DepthwiseSeparableConv(c, scaled(c_out, f"config[{i}]"), stride))
            c = layers[-1].c_out
        self.set_features(nn.Sequential(*layers), c)


def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV1:
    """MobileNet v1 for ImageNet (4,231,976 parameters at ``alpha = 1``; paper: 4.2 M)."""
    return MobileNetV1(num_classes, width_mult=width_mult)


def mobilenet_v1_small(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0) -> MobileNetV1:
    """MobileNet v1 for 28x28 digits: stride-1 stem of 16, layers 32-64-64-128-128 (28 -> 7)."""
    config = [(32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]
    return MobileNetV1(num_classes, in_channels, width_mult, config, stem_channels=16, stem_stride=1)


class InvertedResidual(nn.Module):
    """MobileNet v2 block: 1x1 expand -> BN -> ReLU6, depthwise 3x3 -> BN -> ReLU6, 1x1 project -> BN.

    Adds the input to the output exactly when ``stride == 1 and c_in == c_out``
    (``use_res_connect``). With ``expand_ratio == 1`` the expansion layer is left out.

    Args:
        c_in (int): input channels.
        c_out (int): output channels.
        stride (int): 1 or 2, the stride of the depthwise convolution.
        expand_ratio (float): ``t >= 1``; the hidden width is ``round(t * c_in)``.

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        TypeError / ValueError: for non-positive channels, a stride other than 1 or 2, or an
            ``expand_ratio`` below 1; in ``forward``, for an input that is not 4-D with ``c_in`` channels.

    Example:
        >>> block = InvertedResidual(24, 24, stride=1, expand_ratio=6)
        >>> block(torch.zeros(1, 24, 8, 8)).shape, block.use_res_connect
        (torch.Size([1, 24, 8, 8]), True)
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expand_ratio: float) -> None:
        super().__init__()
        self.c_in, self.c_out = check_int(c_in, "c_in"), check_int(c_out, "c_out")
        self.stride = check_choice(check_int(stride, "stride"), "stride", (1, 2))
        check_float(expand_ratio, "expand_ratio", 1.0, low_inclusive=True)
        self.hidden = hidden = int(round(c_in * expand_ratio))
        self.use_res_connect = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(c_in, hidden, 1, activation=nn.ReLU6))    # expand
        layers += [
            Conv2dNormActivation(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),  # filter
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),               # linear project
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "InvertedResidual", self.c_in, 1)
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


#: MobileNet v2's body (paper table 2): ``(t, c, n, s)`` = expansion, channels, repeats, stride.
MOBILENET_V2_CONFIG: list[tuple[int, int, int, int]] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]


class MobileNetV2(PooledClassifier):
    """MobileNet v2: 3x3 stem, stages of inverted residuals, 1x1 conv to ``last_channel``, GAP, FC.

    Args:
        num_classes (int): output logits.
        in_channels (int): image channels.
        width_mult (float): multiplies every width (rounded by :func:`make_divisible`).
        config (Sequence[tuple]): ``(t, c, n, s)`` per stage; the first block of a stage has stride ``s``.
        stem_channels (int): channels of the stem (before ``width_mult``).
        stem_stride (int): stride of the stem (2 for ImageNet, 1 for 28x28 digits).
        last_channel (int): channels of the final 1x1 convolution (scaled only when ``width_mult > 1``).
        dropout (float): dropout before the FC layer, in [0, 1).

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Raises:
        TypeError / ValueError: for a bad width multiplier, config entry or size; in ``forward``,
            for a wrong input shape.

    Example:
        >>> net = mobilenet_v2_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0,
                 config: Sequence[tuple[int, int, int, int]] = tuple(MOBILENET_V2_CONFIG),
                 stem_channels: int = 32, stem_stride: int = 2, last_channel: int = 1280,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.check_classifier_args(num_classes, in_channels, dropout)
        check_float(width_mult, "width_mult", 0.0)
        for name, v in (("stem_channels", stem_channels), ("stem_stride", stem_stride),
                        ("last_channel", last_channel)):
            check_int(v, name)
        if len(config) == 0:
            raise ValueError("config must list at least one (t, c, n, s) stage, got []")
        c = make_divisible(stem_channels * width_mult)
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, c, 3, stem_stride, activation=nn.ReLU6)]
        for i, entry in enumerate(config):
            if len(entry) != 4:
                raise ValueError(f"config[{i}] must be (t, c, n, s), got {entry!r}")
            t, c_stage, n, s = entry
            check_int(c_stage, f"config[{i}] channels")
            check_int(n, f"config[{i}] repeats")
            c_out = make_divisible(c_stage * width_mult)
            for j in range(n):
                layers.append(InvertedResidual(c, c_out, s if j == 0 else 1, t))
                c = c_out
        self.last_channel = make_divisible(last_channel * max(1.0, width_mult))
        layers.append(Conv2dNormActivation(c, self.last_channel, 1, activation=nn.ReLU6))
        self.set_features(nn.Sequential(*layers), self.last_channel)
        init_weights(self, linear="normal")  # torchvision's initialisation


def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV2:
    """torchvision's MobileNet v2 for ImageNet (3,504,872 parameters at ``width_mult = 1``).

    Example:
        >>> with torch.device("meta"):
        ...     net = mobilenet_v2()
        >>> sum(p.numel() for p in net.parameters()), net(torch.empty(1, 3, 224, 224, device="meta")).shape
        (3504872, torch.Size([1, 1000]))
    """
    return MobileNetV2(num_classes, width_mult=width_mult)


def mobilenet_v2_small(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0) -> MobileNetV2:
    """MobileNet v2 for 28x28 digits: stride-1 stem of 16, stages (1,16,1,1), (6,24,2,2),
    (6,32,2,2), (6,64,1,1) (28 -> 7), last 1x1 conv to 256, dropout 0.1."""
    config = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 1, 1)]
    return MobileNetV2(num_classes, in_channels, width_mult, config, stem_channels=16, stem_stride=1,
                       last_channel=256, dropout=0.1)
