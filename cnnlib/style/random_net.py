"""A feature network that needs no download: random multi-scale filters (Ustyuzhaninov et al. 2017).

Style transfer usually takes its features from VGG-19 trained on ImageNet, which cannot be
downloaded here. Ustyuzhaninov, Brendel, Gatys and Bethge (*What does it take to generate
natural textures?*, ICLR 2017) showed that a single convolutional layer with **random** filters
at several scales, followed by a ReLU, already synthesises convincing textures from Gram
matrices: what matters is the number of feature maps and the range of their sizes, not learned
weights.

:class:`RandomTextureNet` is that network: one branch per kernel size, each a convolution with
random weights (Kaiming-uniform, drawn from ``seed``, no bias) and a ReLU, all on the input
image at full resolution, concatenated. The paper used six scales (3, 5, 7, 11, 15, 23) with 128
filters each; the default here is four scales with 32 filters each, which runs a 128x128
optimisation in seconds on a CPU (``kernel_sizes=(3, 5, 7, 11, 15, 23), channels=128`` gives the
paper's). Reflection padding keeps the borders free of the zero-padding's artefacts. The
weights are fixed (``requires_grad=False``): gradients flow to the image only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_images, check_int, check_int_list

__all__ = ["RandomTextureNet"]


class RandomTextureNet(nn.Module):
    """One layer of random filters at several scales, ReLU, concatenated (Ustyuzhaninov et al. 2017).

    Args:
        in_channels (int): image channels (3 for RGB).
        kernel_sizes (Sequence[int]): odd kernel sizes, one branch each.
        channels (int): filters per branch.
        seed (int): seed of the random weights (the same seed gives the same network anywhere).

    Shape:
        - input: ``(N, in_channels, H, W)`` with ``H, W > max(kernel_sizes) // 2``.
        - output: ``(N, channels * len(kernel_sizes), H, W)``.

    Attributes:
        branches (nn.ModuleDict): ``"k3"``, ``"k5"``, ...: ``Sequential(conv, ReLU)``; their names
            in ``named_modules()`` are ``"branches.k3"`` etc., the layers to take features from.

    Raises:
        ValueError: for an even kernel size or an input of the wrong shape.

    Example:
        >>> net = RandomTextureNet(kernel_sizes=(3, 5), channels=4)
        >>> tuple(net(torch.rand(1, 3, 16, 16)).shape), [n for n, _ in net.named_children()]
        ((1, 8, 16, 16), ['branches'])
        >>> same = RandomTextureNet(kernel_sizes=(3, 5), channels=4)  # the same seed, 0
        >>> torch.equal(net.branches.k3[0].weight, same.branches.k3[0].weight)
        True
    """

    def __init__(self, in_channels: int = 3, kernel_sizes: Sequence[int] = (3, 5, 7, 11), channels: int = 32,
                 seed: int = 0):
        super().__init__()
        check_int(in_channels, "in_channels"), check_int(channels, "channels"), check_int(seed, "seed", 0)
        sizes = check_int_list(kernel_sizes, "kernel_sizes")
        if any(k % 2 == 0 for k in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"kernel_sizes must be distinct odd sizes (same-size outputs), got {list(sizes)}")
        self.in_channels, self.kernel_sizes = in_channels, sizes
        gen = torch.Generator().manual_seed(seed)
        branches = {}
        for k in sizes:
            conv = nn.Conv2d(in_channels, channels, k, padding=k // 2, padding_mode="reflect", bias=False)
            bound = (6 / (in_channels * k * k)) ** 0.5  # Kaiming-uniform for a ReLU
            with torch.no_grad():
                conv.weight.copy_(torch.rand(conv.weight.shape, generator=gen) * 2 * bound - bound)
            branches[f"k{k}"] = nn.Sequential(conv, nn.ReLU())
        self.branches = nn.ModuleDict(branches)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "RandomTextureNet", self.in_channels, 1)
        pad = max(self.kernel_sizes) // 2
        if min(x.shape[2:]) <= pad:
            raise ValueError(f"RandomTextureNet needs input larger than {pad}x{pad} (reflection padding of its "
                             f"{2 * pad + 1}x{2 * pad + 1} kernels), got {x.shape[2]}x{x.shape[3]}")
        return torch.cat([branch(x) for branch in self.branches.values()], dim=1)
