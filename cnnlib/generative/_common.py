"""What the PixelCNNs and GANs share (private): argument and label checks, class conditions, the output head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib._checks import check_choice, check_images, check_int, check_int_list
from cnnlib.generative._cache import PositionConv
from cnnlib.generative.masked import MaskedConv2d

#: The output distributions of a PixelCNN: one logit per colour, or ``levels`` logits per colour.
OUTPUTS = ("bernoulli", "categorical")


def check_config(in_channels: object, channels: object, output: object, levels: object,
                 num_classes: object) -> None:
    """Check the arguments the PixelCNNs share (before any layer is built)."""
    c = check_int(in_channels, "in_channels")
    f = check_int(channels, "channels")
    if f % c:
        raise ValueError(f"channels must be divisible by in_channels = {c} (one feature group per colour), got {f}")
    check_choice(output, "output", OUTPUTS)
    check_int(levels, "levels", 2)
    if num_classes is not None:
        check_int(num_classes, "num_classes")


def check_shape(shape: object, doc: str) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of positive ints with one entry per name in ``doc`` (``"(C, H, W)"``)."""
    length = doc.count(",") + 1
    if not isinstance(shape, (tuple, list, torch.Size)) or len(shape) != length:
        raise ValueError(f"shape must be {doc}, got {shape!r}")
    return check_int_list(list(shape), "shape")


def check_input(model: nn.Module, x: object, labels: object) -> torch.Tensor | None:
    """Check images ``(N, C, H, W)`` and the labels a (non-)conditional model needs; return the labels."""
    name = type(model).__name__
    check_images(x, name, model.in_channels, 1)
    if not x.is_floating_point():
        raise TypeError(f"{name} expects floating-point images, got {x.dtype}")
    return check_labels(labels, model.num_classes, x, name)


def check_labels(labels: object, num_classes: int | None, x: torch.Tensor, name: str) -> torch.Tensor | None:
    """Check class labels ``(N,)`` for the batch ``x`` of model ``name``; ``None`` for an unconditional one."""
    K = num_classes
    if K is None:
        if labels is not None:
            raise ValueError(f"labels were given, but this {name} is unconditional (num_classes=None)")
        return None
    if not isinstance(labels, torch.Tensor) or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"this {name} is class-conditional (num_classes={K}): labels must be an integer "
                        f"Tensor[N], got {got}")
    if labels.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},) (one per input), got {tuple(labels.shape)}")
    if labels.device != x.device:
        raise ValueError(f"labels must be on the device of the input ({x.device}), got {labels.device}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(f"labels must be in [0, {K}), got values from {int(labels.min())} to {int(labels.max())}")
    return labels.long()


def conditions(embed: nn.Embedding | None, labels: torch.Tensor | None, sizes: list[int]) -> list:
    """The per-layer class biases ``(N, size)`` (``None`` for each layer of an unconditional model)."""
    if embed is None:
        return [None] * len(sizes)
    return list(embed(labels).split(sizes, dim=1))


def add(h: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
    """``h (N, C, H, W) + cond (N, C)`` broadcast over positions, or ``h`` if there is no condition."""
    return h if cond is None else h + cond[:, :, None, None]


def make_embedding(num_classes: int | None, size: int) -> nn.Embedding | None:
    """One learned bias vector per class (zeros at first: the model starts unconditional)."""
    if num_classes is None:
        return None
    embed = nn.Embedding(num_classes, size)
    nn.init.zeros_(embed.weight)
    return embed


class AutoregressiveModel(nn.Module):
    """What both PixelCNNs share: ``forward`` checks the input and runs the model's ``_run``."""

    in_channels: int
    num_classes: int | None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        labels = check_input(self, x, labels)
        return self._run(x, labels)[0]


class OutputHead(nn.Module):
    """ReLU, 1x1 masked conv (+ class bias), ReLU, 1x1 masked conv to the logits (type B, colour order)."""

    def __init__(self, channels: int, image_channels: int, output: str, levels: int) -> None:
        super().__init__()
        self.image_channels, self.output, self.levels = image_channels, output, levels
        out = image_channels * (levels if output == "categorical" else 1)
        self.hidden = MaskedConv2d(channels, channels, 1, "B", image_channels=image_channels)
        self.out = MaskedConv2d(channels, out, 1, "B", image_channels=image_channels)

    def shape(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` for Bernoulli, ``(N, C, L, H, W)`` for categorical (or without H, W)."""
        if self.output == "bernoulli":
            return logits
        return logits.reshape(len(logits), self.image_channels, self.levels, *logits.shape[2:])

    def forward(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        g = add(self.hidden(F.relu(h)), cond)
        return self.shape(self.out(F.relu(g)))

    def position_convs(self, cond: torch.Tensor | None = None) -> tuple[PositionConv, PositionConv]:
        """The two 1x1 convolutions frozen for :meth:`at` (with the class bias of the hidden one)."""
        return PositionConv(self.hidden, cond), PositionConv(self.out)

    def at(self, h: torch.Tensor, convs: tuple[PositionConv, PositionConv]) -> torch.Tensor:
        """The logits ``(n, C)`` or ``(n, C, L)`` from the features ``(n, F)`` of one position."""
        hidden, out = convs
        return self.shape(out.vec(F.relu(hidden.vec(F.relu(h)))))
