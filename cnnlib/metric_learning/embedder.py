"""A small face-embedding CNN: photo -> encoding ``f(x)``, the network the chapter trains.

The ``f`` of seed 001's ``d(x1, x2) = ||f(x1) - f(x2)||^2``: four blocks of 3x3 convolutions
with batch norm and ReLU, each halving the map with a 2x2 max pooling (the first block has one
convolution, the others two), a fixed-size pooled map flattened (so that the encoding still
knows *where* the eyes and the mouth were), and a linear layer to ``dim`` numbers followed by
batch norm. It is not L2-normalised here: the losses and heads of
:mod:`cnnlib.metric_learning` normalise where they need to.

The input is standardised by fixed statistics (mean 0.44, sd 0.26: the procedural faces'
values, :mod:`cnnlib.data.faces`) so that the network needs no data to be built.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_images, check_int, check_int_list

__all__ = ["FaceEmbedder"]


def _block(c_in: int, c_out: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(convs):
        layers += [nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class FaceEmbedder(nn.Module):
    """Photos ``(N, C, H, W)`` to encodings ``(N, dim)``: a four-block CNN with batch norm.

    Args:
        in_channels (int): image channels.
        widths (Sequence[int]): channels of the blocks; each block halves the map.
        dim (int): encoding size ``D``.
        pooled (int): side of the map that is flattened (adaptive average pooling to
            ``pooled x pooled``; 3 for 48x48 photos and four blocks, which is no pooling at all).
        mean (float): input mean subtracted first.
        std (float): input sd divided by.

    Shape:
        - input: ``(N, in_channels, H, W)``, ``H, W >= 2 ** len(widths)``.
        - output: ``(N, dim)``.

    Example:
        >>> net = FaceEmbedder(dim=8)
        >>> tuple(net.eval()(torch.rand(2, 3, 48, 48)).shape)
        (2, 8)
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 64, 128), dim: int = 64,
                 pooled: int = 3, mean: float = 0.44, std: float = 0.26):
        super().__init__()
        check_int(in_channels, "in_channels"), check_int(dim, "dim"), check_int(pooled, "pooled")
        self.widths = check_int_list(widths, "widths")
        self.in_channels, self.mean, self.std = in_channels, float(mean), float(std)
        chans = (in_channels, *self.widths)
        self.features = nn.Sequential(*[_block(chans[k], chans[k + 1], 1 if k == 0 else 2)
                                        for k in range(len(self.widths))])
        self.pool = nn.AdaptiveAvgPool2d(pooled)
        self.fc = nn.Linear(self.widths[-1] * pooled * pooled, dim)
        self.bn = nn.BatchNorm1d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "FaceEmbedder", self.in_channels, 2 ** len(self.widths))
        h = self.features((x - self.mean) / self.std)  # (N, widths[-1], H / 16, W / 16)
        h = self.pool(h).flatten(1)                    # (N, widths[-1] * pooled * pooled)
        return self.bn(self.fc(h))                     # (N, dim)
