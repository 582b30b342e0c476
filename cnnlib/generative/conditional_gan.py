"""The conditional GAN: generator and discriminator both told the class ``y``.

Mirza & Osindero, *Conditional generative adversarial nets*, 2014: the game becomes
``min_G max_D E log D(x | y) + E log(1 - D(G(z | y) | y))``. The generator reads ``[z, onehot(y)]``
and the discriminator the image with ``K`` extra constant channels, the one-hot ``y`` broadcast
over the pixels, so a sample of the wrong class is as fake as a blurry one. Both reuse the DCGAN
networks of :mod:`cnnlib.generative.dcgan` with the wider inputs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib._checks import check_images, check_int, check_tensor
from cnnlib.generative._common import check_labels
from cnnlib.generative.dcgan import Discriminator, Generator

__all__ = ["ConditionalGenerator", "ConditionalDiscriminator"]


class ConditionalGenerator(nn.Module):
    """``G(z, y)``: the DCGAN :class:`~cnnlib.generative.dcgan.Generator` fed ``[z, onehot(y)]``.

    Args:
        num_classes (int): ``K``.
        latent_dim (int): dimension of ``z``.
        channels (int): image channels.
        image_size (int): height and width of the images.
        features (int): as in the DCGAN generator.
        out_activation (str): ``"sigmoid"`` or ``"tanh"``.

    Shape:
        ``z (N, latent_dim)``, ``labels (N,)`` in ``[0, K)`` -> ``(N, channels, image_size, image_size)``.

    Raises:
        TypeError / ValueError: for bad arguments; in ``forward``, for ``z`` or labels of
            another shape, dtype, device or range.

    Example:
        >>> g = ConditionalGenerator(10, latent_dim=8, features=8)
        >>> g(torch.randn(4, 8), torch.tensor([0, 1, 2, 9])).shape
        torch.Size([4, 1, 28, 28])
    """

    def __init__(self, num_classes: int, latent_dim: int = 64, channels: int = 1, image_size: int = 28,
                 features: int = 64, out_activation: str = "sigmoid") -> None:
        super().__init__()
        self.num_classes = check_int(num_classes, "num_classes")
        self.latent_dim = check_int(latent_dim, "latent_dim")
        self.net = Generator(latent_dim + num_classes, channels, image_size, features, out_activation)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", 2, "(N, latent_dim)")
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        labels = check_labels(labels, self.num_classes, z, "ConditionalGenerator")
        return self.net(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1))  # (N, latent + K)


class ConditionalDiscriminator(nn.Module):
    """``D(x, y)``: the DCGAN :class:`~cnnlib.generative.dcgan.Discriminator` reading ``[x, onehot(y) maps]``.

    Args:
        num_classes (int): ``K``.
        channels (int): image channels.
        image_size (int): height and width of the images.
        features (int): as in the DCGAN discriminator.

    Shape:
        ``x (N, channels, image_size, image_size)``, ``labels (N,)`` -> logits ``(N,)``.

    Raises:
        TypeError / ValueError: for bad arguments; in ``forward``, for images or labels of
            another shape, dtype, device or range.

    Example:
        >>> d = ConditionalDiscriminator(10, features=8)
        >>> d(torch.rand(2, 1, 28, 28), torch.tensor([3, 3])).shape
        torch.Size([2])
    """

    def __init__(self, num_classes: int, channels: int = 1, image_size: int = 28, features: int = 64) -> None:
        super().__init__()
        self.num_classes = check_int(num_classes, "num_classes")
        self.channels = check_int(channels, "channels")
        self.net = Discriminator(channels + num_classes, image_size, features)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        size = self.net.image_size
        check_images(x, "ConditionalDiscriminator", self.channels, size, exact_size=size)
        labels = check_labels(labels, self.num_classes, x, "ConditionalDiscriminator")
        N, _, H, W = x.shape
        maps = F.one_hot(labels, self.num_classes).to(x.dtype)[:, :, None, None].expand(N, self.num_classes, H, W)
        return self.net(torch.cat([x, maps], dim=1))                          # (N, C + K, H, W) -> (N,)
