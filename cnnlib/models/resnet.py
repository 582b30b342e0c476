"""ResNet (He, Zhang, Ren & Sun, CVPR 2016): residual blocks, and plain networks to compare.

A residual block learns a correction ``F(x)`` to its input instead of a whole mapping:
``a[l+2] = g(z[l+2] + a[l])`` (seed 001), here ``relu(F(x) + shortcut(x))``. The identity is
easy to learn: with the last batch norm's scale at zero, ``F(x) = 0`` and the block passes
``relu(x)`` on (seed 001: "if W[l+2] = 0 and b[l+2] = 0"). When the block changes the shape
(stride 2 or new channels) the shortcut is a projection ``W_s x``: a 1x1 convolution with the
block's stride, then batch norm (the paper's option B, torchvision's ``downsample``).

- :class:`BasicBlock`: 3x3 -> BN -> ReLU -> 3x3 -> BN, plus the shortcut (ResNet-18/34).
- :class:`Bottleneck`: 1x1 reduce -> 3x3 -> 1x1 expand (x4), plus the shortcut (ResNet-50+);
  the stride sits on the 3x3 convolution, as in torchvision ("ResNet v1.5").
- :class:`ResNet`: stem, four stages (the first keeps the size, the others halve it), global
  average pooling, one FC layer. torchvision's layout and initialisation, so :func:`resnet18`
  and :func:`resnet50` have its 11,689,512 and 25,557,032 parameters.

``residual=False`` removes every shortcut (and the projection convolutions), giving the *plain*
network of the same depth of the paper's figure 4: it trains worse as it gets deeper, the
degradation problem residual connections fix. :func:`resnet_small` is a CIFAR-style ResNet
(paper section 4.2: 3x3 stem, no max pool, stages of 16-32-64 channels) for 28x28 digits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_choice, check_images, check_int, check_int_list
from cnnlib.models.layers import init_weights
from cnnlib.ops.sizes import min_input_size

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnet_small"]


def _projection(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """The projection shortcut ``W_s``: 1x1 convolution with the block's stride, then batch norm."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """The two-layer residual block: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Args:
        c_in (int): input channels.
        c_out (int): output channels.
        stride (int): stride of the first 3x3 convolution (and of the projection).
        residual (bool): ``False`` drops the shortcut: a plain two-layer block.

    Attributes:
        downsample (nn.Sequential | None): the projection shortcut, present when the block is
            residual and ``stride != 1`` or ``c_in != c_out``; ``None`` means identity (or none).

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, floor((H - 1) / stride) + 1, floor((W - 1) / stride) + 1)``.

    Raises:
        TypeError / ValueError: for non-positive channels or stride; in ``forward``, for an input
            that is not 4-D with ``c_in`` channels.

    Example:
        >>> block = BasicBlock(16, 32, stride=2)
        >>> block(torch.zeros(2, 16, 9, 9)).shape, block.downsample is not None
        (torch.Size([2, 32, 5, 5]), True)
    """

    expansion = 1

    def __init__(self, c_in: int, c_out: int, stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        self.c_in, self.c_out = check_int(c_in, "c_in"), check_int(c_out, "c_out")
        self.stride, self.residual = check_int(stride, "stride"), bool(residual)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        needs_projection = residual and (stride != 1 or c_in != c_out)
        self.downsample = _projection(c_in, c_out, stride) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "BasicBlock", self.c_in, 1)
        out = self.relu(self.bn1(self.conv1(x)))   # (N, c_out, H', W')
        out = self.bn2(self.conv2(out))            # F(x)
        if self.residual:
            out = out + (self.downsample(x) if self.downsample is not None else x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """The three-layer residual block: 1x1 (``planes``) -> 3x3 (``planes``) -> 1x1 (``4 planes``).

    The 1x1 layers reduce and then restore the channels so the 3x3 convolution runs on a quarter
    of them (a "bottleneck", as in Inception). Output channels: ``c_out = 4 * planes``.

    Args:
        c_in (int): input channels.
        planes (int): channels of the inner 3x3 convolution.
        stride (int): stride of the 3x3 convolution (and of the projection).
        residual (bool): ``False`` drops the shortcut.

    Shape:
        ``(N, c_in, H, W) -> (N, 4 planes, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        TypeError / ValueError: as :class:`BasicBlock`.

    Example:
        >>> block = Bottleneck(256, 64)  # c_in == 4 * planes and stride 1: identity shortcut
        >>> block(torch.zeros(2, 256, 7, 7)).shape, block.downsample is None
        (torch.Size([2, 256, 7, 7]), True)
    """

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        self.c_in, planes = check_int(c_in, "c_in"), check_int(planes, "planes")
        self.stride, self.residual = check_int(stride, "stride"), bool(residual)
        self.c_out = c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        needs_projection = residual and (stride != 1 or c_in != c_out)
        self.downsample = _projection(c_in, c_out, stride) if needs_projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "Bottleneck", self.c_in, 1)
        out = self.relu(self.bn1(self.conv1(x)))    # (N, planes, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, planes, H', W')
        out = self.bn3(self.conv3(out))             # F(x): (N, 4 planes, H', W')
        if self.residual:
            out = out + (self.downsample(x) if self.downsample is not None else x)
        return self.relu(out)


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """A residual (or plain) network: stem, stages of blocks, global average pooling, FC.

    Args:
        block (str | type): ``"basic"`` / :class:`BasicBlock` or ``"bottleneck"`` / :class:`Bottleneck`.
        layers (Sequence[int]): blocks per stage; stage 0 keeps the size, later stages start
            with a stride-2 block.
        num_classes (int): output logits.
        in_channels (int): image channels.
        widths (Sequence[int]): ``c_out`` (basic) or ``planes`` (bottleneck) per stage; the stem
            has ``widths[0]`` channels. One entry per stage.
        stem (str): ``"imagenet"`` (7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max pool) or
            ``"small"`` (3x3 stride-1 conv, BN, ReLU; for 28x28 or 32x32 images).
        residual (bool): ``False`` builds the plain network of the same depth.
        zero_init_residual (bool): start each block's last batch-norm scale at zero, so every
            residual block starts as the identity (Goyal et al., 2017).

    Attributes:
        min_input_size (int): smallest H and W accepted (1: padded convolutions never empty a map).
        depth (int): weight layers on the main path (convolutions + the FC layer), e.g. 18.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Raises:
        TypeError / ValueError: for an unknown block or stem, ``layers`` and ``widths`` of
            different lengths, or non-positive sizes; in ``forward``, for a wrong input shape.

    Example:
        >>> net = resnet_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape, net.depth
        (torch.Size([2, 10]), 14)
    """

    def __init__(self, block: str | type = "basic", layers: Sequence[int] = (2, 2, 2, 2),
                 num_classes: int = 1000, in_channels: int = 3,
                 widths: Sequence[int] = (64, 128, 256, 512), stem: str = "imagenet",
                 residual: bool = True, zero_init_residual: bool = False) -> None:
        super().__init__()
        if isinstance(block, str):
            block = _BLOCKS[check_choice(block, "block", tuple(_BLOCKS))]
        check_choice(block, "block", tuple(_BLOCKS.values()))
        layers = check_int_list(layers, "layers")
        widths = check_int_list(widths, "widths")
        if len(layers) != len(widths):
            raise ValueError(f"layers and widths must have one entry per stage, got {len(layers)} "
                             f"and {len(widths)}")
        check_int(num_classes, "num_classes")
        self.in_channels = check_int(in_channels, "in_channels")
        check_choice(stem, "stem", ("imagenet", "small"))
        self.num_classes, self.residual = num_classes, bool(residual)
        if stem == "imagenet":
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0]),
                nn.ReLU(), nn.MaxPool2d(3, 2, 1))       # (N, w0, H/4, W/4)
            ops = [(7, 2, 3, 1), (3, 2, 1, 1)]
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                nn.ReLU())                              # (N, w0, H, W)
            ops = [(3, 1, 1, 1)]
        stages, c = [], widths[0]
        for i, (n, w) in enumerate(zip(layers, widths)):
            stride = 1 if i == 0 else 2
            blocks = []
            for j in range(n):
                blocks.append(block(c, w, stride if j == 0 else 1, residual))
                c = w * block.expansion
            stages.append(nn.Sequential(*blocks))
            ops.append((3, stride, 1, 1))
        self.layers = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        self.depth = 1 + sum(layers) * (2 if block is BasicBlock else 3) + 1
        self.min_input_size = min_input_size(ops)
        init_weights(self, linear=None)  # torchvision's initialisation; the FC layer keeps PyTorch's
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.bn3.weight if isinstance(m, Bottleneck) else m.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "ResNet", self.in_channels, self.min_input_size)
        x = self.layers(self.stem(x))                # (N, C_last, H', W')
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (N, num_classes)


def resnet18(num_classes: int = 1000, residual: bool = True) -> ResNet:
    """ResNet-18 for ImageNet (torchvision ``resnet18``: 11,689,512 parameters).

    Example:
        >>> with torch.device("meta"):
        ...     net = resnet18()
        >>> sum(p.numel() for p in net.parameters()), net(torch.empty(1, 3, 224, 224, device="meta")).shape
        (11689512, torch.Size([1, 1000]))
    """
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, residual=residual)


def resnet34(num_classes: int = 1000, residual: bool = True) -> ResNet:
    """ResNet-34 for ImageNet (torchvision ``resnet34``: 21,797,672 parameters)."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, residual=residual)


def resnet50(num_classes: int = 1000, residual: bool = True) -> ResNet:
    """ResNet-50 for ImageNet (torchvision ``resnet50``: 25,557,032 parameters)."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, residual=residual)


def resnet101(num_classes: int = 1000, residual: bool = True) -> ResNet:
    """ResNet-101 for ImageNet (torchvision ``resnet101``: 44,549,160 parameters)."""
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes, residual=residual)


def resnet152(num_classes: int = 1000, residual: bool = True) -> ResNet:
    """ResNet-152 for ImageNet (torchvision ``resnet152``: 60,192,808 parameters)."""
    return ResNet(Bottleneck, (3, 8, 36, 3), num_classes, residual=residual)


def resnet_small(num_classes: int = 10, in_channels: int = 1, layers: Sequence[int] = (2, 2, 2),
                 widths: Sequence[int] = (16, 32, 64), residual: bool = True) -> ResNet:
    """A CIFAR-style ResNet for ``1 x 28 x 28`` digits: 3x3 stem, no max pool, basic blocks.

    With the defaults: 28x28 -> 14x14 -> 7x7 maps of 16, 32, 64 channels, 14 weight layers.
    ``layers=(3, 3, 3)`` is the paper's ResNet-20, ``(5, 5, 5)`` ResNet-32; ``residual=False``
    gives the plain network of the same depth.

    Example:
        >>> sum(p.numel() for p in resnet_small().parameters())
        174970
    """
    return ResNet(BasicBlock, layers, num_classes, in_channels, widths, stem="small", residual=residual)
