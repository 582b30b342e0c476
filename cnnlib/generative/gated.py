"""The gated PixelCNN: vertical and horizontal stacks, gated activations, no blind spot.

Van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, *Conditional image
generation with PixelCNN decoders*, NeurIPS 2016, section 2.2 and figure 2. Each layer keeps two
maps:

- the **vertical stack** ``v``: a k x k convolution that reads the rows above (mask A in the
  first layer: strictly above; mask B later: its own row of ``v`` too, which itself only holds
  information from above). Its field is a full rectangle above the pixel, with no blind spot;
- the **horizontal stack** ``h``: a 1 x k convolution along the current row, up to the pixel
  (mask A first, B later), plus a 1x1 convolution of the vertical stack's features at the same
  position (the link from ``v`` to ``h``; ``v`` at row ``i`` only knows rows ``< i``, so the link
  leaks nothing: this is the paper's downward shift, built into the masks as in the UvA notes).

Both use the gated activation ``y = tanh(W_f * x + V_f y_c) * sigmoid(W_g * x + V_g y_c)`` (eq. 2
and 4: ``V y_c`` is the learned class bias of a conditional model), and the horizontal stack is
residual: ``h_out = h_in + conv1x1(y)`` (from the second layer on). The head is PixelCNN's.

The logits at ``(i, j)`` see every pixel of rows ``i - L r .. i - 1`` within ``L r`` columns and
the ``L r`` pixels left of ``(i, j)`` (``L`` layers, ``r = kernel_size // 2``): the whole causal
window, which :func:`cnnlib.generative.causality.blind_spot` checks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib._checks import check_int
from cnnlib.generative._cache import PixelCache, PositionConv, inner, pad_map
from cnnlib.generative._common import (
    AutoregressiveModel, OutputHead, add, check_config, check_input, conditions, make_embedding,
)
from cnnlib.generative.masked import MaskedConv2d

__all__ = ["gate", "GatedLayer", "GatedPixelCNN"]


def gate(x: torch.Tensor) -> torch.Tensor:
    """The gated activation ``tanh(a) * sigmoid(b)`` of the two halves ``a, b`` of the channels.

    Args:
        x (Tensor[N, 2F, ...]): features; the first ``F`` channels are ``a``, the last ``F`` ``b``.

    Returns:
        Tensor[N, F, ...]

    Example:
        >>> gate(torch.tensor([[0.0, 5.0]])), gate(torch.zeros(1, 4, 2, 2)).shape
        (tensor([[0.]]), torch.Size([1, 2, 2, 2]))
    """
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of the gated PixelCNN: ``(v, h) -> (v', h')`` (figure 2 of the paper).

    ``v_f = convV(v) + c_v``; ``h_f = convH(h) + link(v_f) + c_h``; ``v' = gate(v_f)``;
    ``h' = [h +] conv1x1(gate(h_f))`` (the residual ``h +`` from the second layer on).

    Args:
        in_channels (int): channels of ``v`` and ``h`` (the image's ``C`` in the first layer).
        channels (int): ``F``, the output channels of both stacks.
        kernel_size (int): odd ``k``: the vertical kernel is k x k, the horizontal one 1 x k.
        first (bool): mask A and no residual (the first layer reads the image).
        image_channels (int): colours ordered at the horizontal stack's centre tap.

    Shape:
        ``v, h: (N, in_channels, H, W)`` and class biases ``c_v, c_h: (N, 2F)`` or ``None`` ->
        ``v', h': (N, F, H, W)``.

    Example:
        >>> layer = GatedLayer(1, 8, 3, first=True)
        >>> [t.shape for t in layer(torch.zeros(2, 1, 5, 5), torch.zeros(2, 1, 5, 5))]
        [torch.Size([2, 8, 5, 5]), torch.Size([2, 8, 5, 5])]
    """

    def __init__(self, in_channels: int, channels: int, kernel_size: int, first: bool,
                 image_channels: int = 1) -> None:
        super().__init__()
        mask = "A" if first else "B"
        self.first = first
        self.vertical = MaskedConv2d(in_channels, 2 * channels, kernel_size, mask, stack="vertical")
        self.horizontal = MaskedConv2d(in_channels, 2 * channels, kernel_size, mask, stack="horizontal",
                                       image_channels=image_channels, chunks=2)
        self.link = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.residual = MaskedConv2d(channels, channels, 1, "B", image_channels=image_channels)

    def forward(self, v: torch.Tensor, h: torch.Tensor, cond_v: torch.Tensor | None = None,
                cond_h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v_f = add(self.vertical(v), cond_v)                          # (N, 2F, H, W)
        h_f = add(self.horizontal(h) + self.link(v_f), cond_h)       # (N, 2F, H, W)
        out = self.residual(gate(h_f))
        return gate(v_f), out if self.first else h + out


class GatedPixelCNN(AutoregressiveModel):
    """Gated PixelCNN: ``num_layers`` :class:`GatedLayer` s and PixelCNN's 1x1 head on the horizontal stack.

    Args:
        in_channels (int): image channels ``C``.
        channels (int): feature channels ``F`` of each stack, divisible by ``C``.
        num_layers (int): gated layers (``>= 1``); the first reads the image with masks A.
        kernel_size (int): odd ``k`` of every layer.
        output (str): ``"bernoulli"`` or ``"categorical"``.
        levels (int): intensities of the categorical output.
        num_classes (int | None): classes of a class-conditional model (a learned bias per class
            inside every gate and in the head).

    Attributes:
        receptive_radius (int): ``num_layers * (kernel_size // 2)``: the logits at ``(i, j)``
            see every pixel before ``(i, j)`` within this many rows and columns.

    Shape:
        as :class:`~cnnlib.generative.pixelcnn.PixelCNN`: ``(N, C, H, W)`` (and labels ``(N,)``)
        -> ``(N, C, H, W)`` or ``(N, C, levels, H, W)``.

    Raises:
        TypeError / ValueError: as :class:`~cnnlib.generative.pixelcnn.PixelCNN`.

    Example:
        >>> net = GatedPixelCNN(channels=16, num_layers=4, num_classes=10)
        >>> net(torch.zeros(2, 1, 28, 28), torch.tensor([3, 7])).shape, net.receptive_radius
        (torch.Size([2, 1, 28, 28]), 4)
    """

    def __init__(self, in_channels: int = 1, channels: int = 64, num_layers: int = 7, kernel_size: int = 3,
                 output: str = "bernoulli", levels: int = 256, num_classes: int | None = None) -> None:
        super().__init__()
        check_config(in_channels, channels, output, levels, num_classes)
        check_int(num_layers, "num_layers")
        C, Fc = in_channels, channels
        self.in_channels, self.output, self.levels, self.num_classes = C, output, levels, num_classes
        self.layers = nn.ModuleList(GatedLayer(C if n == 0 else Fc, Fc, kernel_size, n == 0, C)
                                    for n in range(num_layers))
        self.head = OutputHead(Fc, C, output, levels)
        self._sizes = [2 * Fc] * (2 * num_layers) + [Fc]  # class biases: (v, h) of each layer, the head
        self.embed = make_embedding(num_classes, sum(self._sizes))
        self.receptive_radius = num_layers * (kernel_size // 2)

    def _run(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, list, list]:
        """Logits, the ``(v, h)`` input of every layer, and the class biases."""
        cond = conditions(self.embed, labels, self._sizes)
        v, h, inputs = x, x, []
        for n, layer in enumerate(self.layers):
            inputs.append((v, h))
            v, h = layer(v, h, cond[2 * n], cond[2 * n + 1])
        return self.head(h, cond[-1]), inputs, cond

    @torch.no_grad()
    def start_cache(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> PixelCache:
        """One full pass over ``x`` keeping both stacks' inputs, zero-padded, for :meth:`logits_at`.

        ``maps`` holds ``v`` then ``h`` of each layer (the image twice for the first); ``image``
        is the view of the first, and the first layer's horizontal stack reads the same map.
        """
        labels = check_input(self, x, labels)
        _, inputs, cond = self._run(x, labels)
        pad = self.layers[0].vertical.padding[1]
        maps = [pad_map(t, pad) for pair in inputs for t in pair]
        maps[1] = maps[0]                                           # the image, read by both stacks
        convs = {"layers": [(PositionConv(layer.vertical, cond[2 * n]), PositionConv(layer.horizontal),
                             PositionConv(layer.link, cond[2 * n + 1]), PositionConv(layer.residual))
                            for n, layer in enumerate(self.layers)],
                 "head": self.head.position_convs(cond[-1])}
        return PixelCache(inner(maps[0], pad), maps, [pad] * len(maps), convs)

    @torch.no_grad()
    def _vertical_row(self, cache: PixelCache, i: int) -> None:
        """The vertical stack of row ``i`` (all columns, all layers), and its links to ``h``."""
        links = []
        for n, (vertical, _, link, _) in enumerate(cache.convs["layers"]):
            v_f = vertical.row(cache.maps[2 * n], cache.pads[2 * n], i)          # (n, 2F, W)
            links.append(link.vec(v_f.transpose(1, 2)))                         # (n, W, 2F)
            if n + 1 < len(self.layers):
                pad = cache.pads[2 * n + 2]
                cache.maps[2 * n + 2][:, :, i + pad, pad: pad + v_f.shape[2]] = gate(v_f)
        cache.rows["links"], cache.row = links, i

    @torch.no_grad()
    def logits_at(self, cache: PixelCache, i: int, j: int) -> torch.Tensor:
        """Recompute the horizontal stack at ``(i, j)`` only, store it in ``cache``, return the logits there.

        The vertical stack of row ``i`` depends on rows above only, so it is computed for the whole
        row on the row's first visit and serves all its pixels; the horizontal stack is recomputed
        at one position per layer. Correct under the conditions of
        :meth:`cnnlib.generative.pixelcnn.PixelCNN.logits_at`.

        Returns:
            Tensor[n, C] or Tensor[n, C, levels]: ``self(cache.image)[..., i, j]`` up to rounding.
        """
        if cache.row != i:
            self._vertical_row(cache, i)
        maps, pads, h = cache.maps, cache.pads, None
        for n, (_, horizontal, _, residual) in enumerate(cache.convs["layers"]):
            h_map, pad = maps[2 * n + 1], pads[2 * n + 1]
            if n > 0:
                h_map[:, :, i + pad, j + pad] = h
            h_f = horizontal.at(h_map, pad, i, j) + cache.rows["links"][n][:, j]  # (n, 2F)
            out = residual.vec(gate(h_f))
            h = out if n == 0 else h + out
        return self.head.at(h, cache.convs["head"])
