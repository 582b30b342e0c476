"""What the cached sampler keeps between pixels, and one masked convolution evaluated at one place (private).

A masked layer's output at ``(i, j)`` reads its input only in the rows ``i - pad .. i`` (the
rows below the centre are masked out), in the columns ``j - pad .. j + pad``. :class:`PositionConv`
keeps the masked kernel cut to those rows, so the output at one position is one small matrix
product with the window of the (zero-padded) input, and the output of a whole row one
convolution of a band of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib.generative.masked import MaskedConv2d


class PositionConv:
    """A :class:`MaskedConv2d` (or plain ``nn.Conv2d``) frozen for evaluation at single positions or single rows."""

    def __init__(self, conv: nn.Conv2d, extra_bias: torch.Tensor | None = None) -> None:
        ph, pw = conv.padding
        self.ph, self.pw, self.kw = ph, pw, conv.kernel_size[1]
        weight = conv.weight * conv.mask if isinstance(conv, MaskedConv2d) else conv.weight
        w = weight[:, :, : ph + 1].detach()                                # (C_out, C_in, ph + 1, kW)
        self.kernel = w.contiguous()
        self.matrix = w.reshape(len(w), -1).t().contiguous()              # (C_in (ph + 1) kW, C_out)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(len(w), device=w.device, dtype=w.dtype)
        self.bias = bias if extra_bias is None else bias + extra_bias     # (C_out,) or (n, C_out)

    def at(self, padded: torch.Tensor, pad: int, i: int, j: int) -> torch.Tensor:
        """Output ``(n, C_out)`` at image position ``(i, j)``; ``padded`` has ``pad`` zeros on each side."""
        r, c = i + pad - self.ph, j + pad - self.pw
        window = padded[:, :, r: r + self.ph + 1, c: c + self.kw].reshape(padded.shape[0], -1)  # (n, C_in (ph+1) kW)
        return torch.addmm(self.bias, window, self.matrix)

    def vec(self, x: torch.Tensor) -> torch.Tensor:
        """A 1x1 convolution of the features ``(n, C_in)`` of one position, or ``(n, W, C_in)`` of a row."""
        if x.dim() == 2:
            return torch.addmm(self.bias, x, self.matrix)                 # (n, C_out)
        return x @ self.matrix + (self.bias[:, None] if self.bias.dim() == 2 else self.bias)  # (n, W, C_out)

    def row(self, padded: torch.Tensor, pad: int, i: int) -> torch.Tensor:
        """Output ``(n, C_out, W)`` of image row ``i``."""
        r, c = i + pad - self.ph, pad - self.pw
        W = padded.shape[-1] - 2 * pad
        band = padded[:, :, r: r + self.ph + 1, c: c + W + 2 * self.pw]    # (n, C_in, ph + 1, W + 2 pw)
        out = F.conv2d(band, self.kernel)[:, :, 0]                        # (n, C_out, W)
        bias = self.bias if self.bias.dim() == 2 else self.bias[None]
        return out + bias[:, :, None]


def pad_map(h: torch.Tensor, pad: int) -> torch.Tensor:
    """A zero-padded copy ``(n, C, H + 2 pad, W + 2 pad)`` of ``h``, detached."""
    return F.pad(h.detach(), (pad, pad, pad, pad))


def inner(padded: torch.Tensor, pad: int) -> torch.Tensor:
    """The view of the unpadded map inside ``padded`` (writes go to the padded map)."""
    return padded[:, :, pad: padded.shape[2] - pad, pad: padded.shape[3] - pad]


@dataclass
class PixelCache:
    """The state of a cached sampler: zero-padded layer inputs and what the model needs per position.

    Attributes:
        image (Tensor[n, C, H, W]): a view of the padded input ``maps[0]``; the sampler writes
            each new pixel here.
        maps (list[Tensor]): the zero-padded input of every masked layer, refreshed one position
            (or one row) at a time.
        pads (list[int]): the padding of each map.
        convs (dict): the model's :class:`PositionConv` objects and per-layer conditions.
        row (int): the last image row whose row-wise quantities were computed (-1: none).
        rows (dict): those row-wise quantities (the gated PixelCNN's links from the vertical stack).
    """

    image: torch.Tensor
    maps: list[torch.Tensor]
    pads: list[int]
    convs: dict = field(default_factory=dict)
    row: int = -1
    rows: dict = field(default_factory=dict)
