"""PixelCNN: an autoregressive image model built from masked convolutions.

Van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel recurrent neural networks*, ICML 2016, section
3.5. The image is modelled pixel by pixel in raster order,

    p(x) = prod_{i=1}^{H W} p(x_i | x_1, ..., x_{i-1}),

and one forward pass gives every conditional at once: the first layer is a k x k convolution with
mask A (a pixel never sees itself), then residual blocks of masked convolutions with mask B, then
two 1x1 convolutions to the logits. Each conditional is a Bernoulli (binary images: one logit per
colour) or a categorical over ``levels`` intensities (the paper's 256-way softmax). With
``num_classes`` the model is class-conditional, ``p(x | y)``: a learned bias per class is added
after every layer (the paper's conditional PixelCNN with a one-hot ``h``).

Stacking masked convolutions leaves a **blind spot**: a 3x3 mask B grows the field one pixel up,
left and right per layer, so the pixels up and to the right of ``(i, j)`` beyond that diagonal are
never seen, however deep the stack (see :mod:`cnnlib.generative.causality`);
:class:`~cnnlib.generative.gated.GatedPixelCNN` fixes it.

:meth:`PixelCNN.start_cache` and :meth:`PixelCNN.logits_at` serve the cached sampler
(:mod:`cnnlib.generative.cached_sampling`): because every layer's output at ``(i, j)`` depends
only on the layer below at positions up to ``(i, j)`` in raster order, each new pixel needs each
layer recomputed at one position only.
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

__all__ = ["PixelCNN"]


class PixelCNN(AutoregressiveModel):
    """PixelCNN: a mask-A k x k convolution, residual mask-B blocks, a 1x1 head.

    ``h = convA(x) + b_0(y)``; then for each block ``h = h + convB(relu(h)) + b_l(y)``; then
    ``logits = conv1x1(relu(conv1x1(relu(h)) + b(y)))``, where ``b_l(y)`` is the class bias of a
    conditional model (absent otherwise). Every convolution is masked (type A first, B after,
    colour-ordered at the centre for several channels), so the logits at ``(i, j)`` depend only on
    the pixels before ``(i, j)`` in raster order, and for colour ``c`` on colours ``< c`` of
    ``(i, j)`` itself.

    Args:
        in_channels (int): image channels ``C`` (1 for grey or binary images).
        channels (int): feature channels ``F``, divisible by ``C``.
        num_layers (int): residual mask-B blocks (``>= 0``).
        kernel_size (int): odd size of the first (mask A) kernel; the paper uses 7.
        block_kernel_size (int): odd size of the blocks' kernels.
        output (str): ``"bernoulli"`` (images of 0s and 1s) or ``"categorical"``.
        levels (int): intensities of the categorical output (``>= 2``; 256 for 8-bit images).
        num_classes (int | None): classes of a class-conditional model; ``None``: unconditional.

    Attributes:
        receptive_radius (int): how far up, left and right the logits can see (before the blind
            spot is taken out): ``kernel_size // 2 + num_layers * (block_kernel_size // 2)``.

    Shape:
        ``(N, C, H, W)`` images (binary, or level ``k`` as ``k / (levels - 1)``) and labels
        ``(N,)`` -> logits ``(N, C, H, W)`` (Bernoulli) or ``(N, C, levels, H, W)`` (categorical).

    Raises:
        TypeError / ValueError: for a non-int or out-of-range argument, an unknown ``output``, an
            even kernel size, ``channels`` not divisible by ``in_channels``; in ``forward``, for
            images that are not ``(N, C, H, W)`` floats, or labels missing, unexpected, of another
            shape or out of range.

    Example:
        >>> net = PixelCNN(channels=16, num_layers=2)
        >>> net(torch.zeros(3, 1, 28, 28)).shape, net.receptive_radius
        (torch.Size([3, 1, 28, 28]), 5)
        >>> PixelCNN(3, 12, 1, output="categorical", num_classes=10)(
        ...     torch.zeros(2, 3, 8, 8), torch.tensor([0, 9])).shape
        torch.Size([2, 3, 256, 8, 8])
    """

    def __init__(self, in_channels: int = 1, channels: int = 64, num_layers: int = 5, kernel_size: int = 7,
                 block_kernel_size: int = 3, output: str = "bernoulli", levels: int = 256,
                 num_classes: int | None = None) -> None:
        super().__init__()
        check_config(in_channels, channels, output, levels, num_classes)
        check_int(num_layers, "num_layers", 0)
        C, Fc = in_channels, channels
        self.in_channels, self.output, self.levels, self.num_classes = C, output, levels, num_classes
        self.first = MaskedConv2d(C, Fc, kernel_size, "A", image_channels=C)
        self.blocks = nn.ModuleList(MaskedConv2d(Fc, Fc, block_kernel_size, "B", image_channels=C)
                                    for _ in range(num_layers))
        self.head = OutputHead(Fc, C, output, levels)
        self._sizes = [Fc] * (num_layers + 2)  # class biases: first layer, each block, the head
        self.embed = make_embedding(num_classes, sum(self._sizes))
        self.receptive_radius = kernel_size // 2 + num_layers * (block_kernel_size // 2)

    def _run(self, x: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, list, list]:
        """Logits, the input of every masked k x k layer, and the class biases."""
        cond = conditions(self.embed, labels, self._sizes)
        inputs = [x]
        h = add(self.first(x), cond[0])                       # (N, F, H, W)
        for conv, c in zip(self.blocks, cond[1:-1]):
            inputs.append(F.relu(h))
            h = add(h + conv(inputs[-1]), c)                  # residual block
        return self.head(h, cond[-1]), inputs, cond

    @torch.no_grad()
    def start_cache(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> PixelCache:
        """One full pass over ``x`` that keeps every layer's input, zero-padded, for :meth:`logits_at`.

        Args:
            x (Tensor[n, C, H, W]): the starting image (zeros, or the known part of an image).
            labels (Tensor[n] | None): classes of a conditional model.

        Returns:
            PixelCache: its ``image`` is a copy of ``x`` that the sampler fills pixel by pixel.
        """
        labels = check_input(self, x, labels)
        _, inputs, cond = self._run(x, labels)
        pads = [self.first.padding[1]] + [conv.padding[1] for conv in self.blocks]
        maps = [pad_map(m, p) for m, p in zip(inputs, pads)]
        convs = {"first": PositionConv(self.first, cond[0]),
                 "blocks": [PositionConv(conv, c) for conv, c in zip(self.blocks, cond[1:-1])],
                 "head": self.head.position_convs(cond[-1])}
        return PixelCache(inner(maps[0], pads[0]), maps, pads, convs)

    @torch.no_grad()
    def logits_at(self, cache: PixelCache, i: int, j: int) -> torch.Tensor:
        """Recompute every layer at ``(i, j)`` only, store it in ``cache``, and return the logits there.

        Correct once every pixel before ``(i, j)`` (and, for colour ``c``, the colours before
        ``c`` of ``(i, j)``) is in ``cache.image`` and every earlier position was visited since.

        Returns:
            Tensor[n, C] or Tensor[n, C, levels]: what ``self(cache.image)[..., i, j]`` gives,
            up to float rounding.
        """
        convs, maps, pads = cache.convs, cache.maps, cache.pads
        h = convs["first"].at(maps[0], pads[0], i, j)            # (n, F)
        for b, conv in enumerate(convs["blocks"]):
            maps[b + 1][:, :, i + pads[b + 1], j + pads[b + 1]] = F.relu(h)
            h = h + conv.at(maps[b + 1], pads[b + 1], i, j)
        return self.head.at(h, convs["head"])
