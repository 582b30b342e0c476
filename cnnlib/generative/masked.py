"""Masked convolutions: the causal kernels of PixelCNN and the two stacks of the gated PixelCNN.

PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel recurrent neural networks*, ICML
2016) factorises an image as ``p(x) = prod_i p(x_i | x_1, ..., x_{i-1})`` in raster order (row by
row, left to right). A convolution can compute every conditional at once if each output may only
read pixels *before* it: the kernel is multiplied by a 0/1 mask that keeps the rows above the
centre and, on the centre row, the taps left of it. The first layer reads the image and must not
see the pixel it predicts (mask **A**: the centre is 0); later layers read features that already
exclude it, so they may read their own position (mask **B**: the centre is 1). The 5x5 mask A of
the lecture (seed 002)::

    1 1 1 1 1
    1 1 1 1 1
    1 1 0 0 0
    0 0 0 0 0
    0 0 0 0 0

The gated PixelCNN (van den Oord et al., *Conditional image generation with PixelCNN decoders*,
NeurIPS 2016) splits this into a **vertical** stack (a k x k kernel that reads the rows above;
its first layer A excludes the centre row, later layers B include it) and a **horizontal** stack
(a 1 x k kernel that reads the current row up to, A excluding or B including, the centre).

With several image channels (R, G, B), pixel ``x_i`` is itself ordered R < G < B. The feature
channels of a layer are split into ``image_channels`` equal consecutive groups, group ``g``
belonging to colour ``g``; at the centre tap an output of group ``g`` may read input group ``h``
only if ``h < g`` (mask A) or ``h <= g`` (mask B). With one channel this is the plain rule above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib._checks import check_choice, check_int

__all__ = ["MASK_TYPES", "STACKS", "causal_mask", "vertical_mask", "horizontal_mask", "channel_groups",
           "MaskedConv2d"]

#: The mask types: "A" excludes the centre, "B" includes it.
MASK_TYPES = ("A", "B")
#: The kernels :class:`MaskedConv2d` builds: PixelCNN's, the gated PixelCNN's two stacks.
STACKS = ("full", "vertical", "horizontal")


def _odd(kernel_size: object) -> int:
    k = check_int(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the mask needs a centre), got {k}")
    return k


def causal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The k x k raster-order mask: 1 above the centre row and left of the centre on its row.

    Args:
        kernel_size (int): odd ``k >= 1``.
        mask_type (str): ``"A"`` (centre 0, the first layer) or ``"B"`` (centre 1, later layers).

    Returns:
        Tensor[k, k]: float32 of 0s and 1s.

    Raises:
        TypeError: if ``kernel_size`` is not an int.
        ValueError: for an even or non-positive ``kernel_size`` or an unknown ``mask_type``.

    Example:
        >>> causal_mask(3, "A")
        tensor([[1., 1., 1.],
                [1., 0., 0.],
                [0., 0., 0.]])
        >>> causal_mask(3, "B")[1].tolist()
        [1.0, 1.0, 0.0]
    """
    k = _odd(kernel_size)
    check_choice(mask_type, "mask_type", MASK_TYPES)
    c = k // 2
    mask = torch.zeros(k, k)
    mask[:c] = 1                       # the rows above
    mask[c, :c] = 1                    # the centre row, left of the centre
    mask[c, c] = float(mask_type == "B")
    return mask


def vertical_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The k x k mask of the gated PixelCNN's vertical stack: the rows above, and the centre row for B.

    Type A (the first layer) reads only rows strictly above; type B (later layers) also reads its
    own row of the layer below, whose values depend only on rows above in the image.

    Returns:
        Tensor[k, k]: float32 of 0s and 1s.

    Raises:
        TypeError / ValueError: as :func:`causal_mask`.

    Example:
        >>> vertical_mask(3, "B")
        tensor([[1., 1., 1.],
                [1., 1., 1.],
                [0., 0., 0.]])
    """
    k = _odd(kernel_size)
    check_choice(mask_type, "mask_type", MASK_TYPES)
    mask = torch.zeros(k, k)
    mask[: k // 2 + (mask_type == "B")] = 1
    return mask


def horizontal_mask(kernel_size: int, mask_type: str) -> torch.Tensor:
    """The 1 x k mask of the gated PixelCNN's horizontal stack: the taps left of the centre (and it, B).

    Returns:
        Tensor[1, k]: float32 of 0s and 1s.

    Raises:
        TypeError / ValueError: as :func:`causal_mask`.

    Example:
        >>> horizontal_mask(5, "A"), horizontal_mask(5, "B")
        (tensor([[1., 1., 0., 0., 0.]]), tensor([[1., 1., 1., 0., 0.]]))
    """
    return causal_mask(kernel_size, mask_type)[kernel_size // 2: kernel_size // 2 + 1]


def channel_groups(num_channels: int, image_channels: int, chunks: int = 1) -> torch.Tensor:
    """The colour group of each of ``num_channels`` feature channels (equal consecutive blocks).

    Args:
        num_channels (int): channels of a layer, divisible by ``image_channels * chunks``.
        image_channels (int): colours of the image (groups).
        chunks (int): the channels are ``chunks`` equal parts grouped alike, e.g. 2 for the
            tanh and sigmoid halves of a gated layer.

    Returns:
        Tensor[num_channels]: int64 group indices in ``[0, image_channels)``.

    Raises:
        TypeError / ValueError: for non-int or non-positive arguments, or a ``num_channels`` that
            does not split evenly.

    Example:
        >>> channel_groups(6, 3).tolist(), channel_groups(8, 2, chunks=2).tolist()
        ([0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 0, 0, 1, 1])
    """
    n = check_int(num_channels, "num_channels")
    c = check_int(image_channels, "image_channels")
    chunks = check_int(chunks, "chunks")
    if n % (c * chunks):
        raise ValueError(f"num_channels must be divisible by image_channels * chunks = {c * chunks} "
                         f"(one equal group per colour), got {n}")
    per_chunk = n // chunks
    return torch.arange(n) % per_chunk * c // per_chunk


class MaskedConv2d(nn.Conv2d):
    """A convolution whose kernel is multiplied by a fixed causal mask at every forward pass.

    Because the mask multiplies the weight inside ``forward``, the masked taps get zero gradient
    and stay out of the output whatever an optimiser or a user writes into them. The padding keeps
    the spatial size.

    Args:
        in_channels (int): ``C_in``, divisible by ``image_channels``.
        out_channels (int): ``C_out``, divisible by ``image_channels * chunks``.
        kernel_size (int): odd ``k``; the kernel is k x k (``1 x k`` for the horizontal stack).
        mask_type (str): ``"A"`` or ``"B"``.
        stack (str): ``"full"`` (:func:`causal_mask`, PixelCNN), ``"vertical"`` or
            ``"horizontal"`` (:func:`vertical_mask`, :func:`horizontal_mask`, gated PixelCNN).
        image_channels (int): colours ordered at the centre tap (see the module docstring); the
            vertical stack reads only rows above and ignores it.
        chunks (int): output channels grouped as ``chunks`` equal parts (2 for a gated layer).
        bias (bool): add a learnable bias.

    Shape:
        ``(N, C_in, H, W) -> (N, C_out, H, W)``. :attr:`mask` is ``(C_out, C_in, kH, kW)``.

    Raises:
        TypeError / ValueError: for a non-int, even or out-of-range size, an unknown
            ``mask_type`` or ``stack``, or channels that do not split into colour groups.

    Example:
        >>> conv = MaskedConv2d(1, 4, 5, "A")
        >>> torch.equal(conv.mask[0, 0], causal_mask(5, "A")), conv(torch.zeros(2, 1, 8, 8)).shape
        (True, torch.Size([2, 4, 8, 8]))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str,
                 stack: str = "full", image_channels: int = 1, chunks: int = 1, bias: bool = True) -> None:
        k = _odd(kernel_size)
        check_choice(mask_type, "mask_type", MASK_TYPES)
        check_choice(stack, "stack", STACKS)
        check_int(in_channels, "in_channels")
        check_int(out_channels, "out_channels")
        check_int(image_channels, "image_channels")
        check_int(chunks, "chunks")
        for name, n, parts, doc in (("in_channels", in_channels, image_channels, "image_channels"),
                                    ("out_channels", out_channels, image_channels * chunks, "image_channels * chunks")):
            if n % parts:
                raise ValueError(f"{name} must be divisible by {doc} = {parts} (one equal group per colour), got {n}")
        groups_in = channel_groups(in_channels, image_channels)
        groups_out = channel_groups(out_channels, image_channels, chunks)
        shape = (1, k) if stack == "horizontal" else (k, k)
        super().__init__(in_channels, out_channels, shape, padding=(shape[0] // 2, k // 2), bias=bias)
        self.mask_type, self.stack, self.image_channels = mask_type, stack, image_channels
        spatial = {"full": causal_mask, "vertical": vertical_mask, "horizontal": horizontal_mask}[stack](k, mask_type)
        mask = spatial.expand(out_channels, in_channels, *shape).clone()    # (C_out, C_in, kH, kW)
        if stack != "vertical":                                             # colour order at the centre
            allowed = groups_in[None, :] < groups_out[:, None] if mask_type == "A" else \
                groups_in[None, :] <= groups_out[:, None]                    # (C_out, C_in)
            mask[:, :, shape[0] // 2, k // 2] = allowed.float()
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mask_type={self.mask_type}, stack={self.stack}"
