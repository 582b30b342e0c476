"""DCGAN: the convolutional generator and discriminator of a generative adversarial network.

Radford, Metz & Chintala, *Unsupervised representation learning with deep convolutional
generative adversarial networks*, ICLR 2016 (the game itself: Goodfellow et al., *Generative
adversarial nets*, NeurIPS 2014). The paper's guidelines, kept here:

- no pooling: the generator upsamples with stride-2 transposed convolutions, the discriminator
  downsamples with stride-2 convolutions (kernel 4, padding 1: each exactly doubles or halves);
- batch normalisation in both, except the generator's output and the discriminator's input layer;
- ReLU in the generator, LeakyReLU (slope 0.2) in the discriminator;
- weights initialised from ``N(0, 0.02)`` (:func:`dcgan_init`), Adam with ``lr = 2e-4`` and
  ``beta1 = 0.5`` (the default optimisers of :class:`~cnnlib.generative.gan_step.GANStep`).

One deviation: the paper's generator ends in ``tanh`` for images scaled to [-1, 1]; the default
here is ``sigmoid`` for images in [0, 1] as ``cnnlib.data`` gives them (``out_activation="tanh"``
restores the paper's). Sizes: the networks halve ``image_size`` while it is even and larger than 7,
so 28 -> 14 -> 7 (MNIST: two stages), 32 -> 16 -> 8 -> 4, 64 -> ... -> 4 (the paper's four).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_choice, check_images, check_int, check_tensor

__all__ = ["dcgan_init", "gan_stages", "Generator", "Discriminator"]

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def gan_stages(image_size: int) -> tuple[int, int]:
    """``(start, stages)``: the smallest map size and the number of doublings up to ``image_size``.

    Raises:
        ValueError: for an ``image_size`` that cannot be halved at least once to a size >= 4.

    Example:
        >>> gan_stages(28), gan_stages(32), gan_stages(64)
        ((7, 2), (4, 3), (4, 4))
    """
    size = check_int(image_size, "image_size")
    stages = 0
    while size % 2 == 0 and size > 7:
        size, stages = size // 2, stages + 1
    if stages == 0:
        raise ValueError(f"image_size must be an even number >= 8 (halved to the smallest map), got {image_size}")
    return size, stages


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation, in place: (transposed) convolution and linear weights ``N(0, 0.02)``,
    batch-norm scales ``N(1, 0.02)``, every bias 0. Use as ``net.apply(dcgan_init)``.

    Example:
        >>> conv = nn.Conv2d(1, 64, 4); conv.apply(dcgan_init)
        Conv2d(1, 64, kernel_size=(4, 4), stride=(1, 1))
        >>> round(conv.weight.std().item(), 2), conv.bias.abs().max().item()
        (0.02, 0.0)
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d)) and module.bias is not None:
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """DCGAN generator: a linear projection of ``z`` to a small map, then stride-2 transposed convolutions.

    For ``image_size = 28``: ``z -> (2F, 7, 7) -> (F, 14, 14) -> (channels, 28, 28)``; each stage
    halves the channels, so the first map has ``F 2^(stages-1)`` of them.

    Args:
        latent_dim (int): dimension of the noise ``z``.
        channels (int): image channels.
        image_size (int): height and width of the images (see :func:`gan_stages`).
        features (int): ``F``, the channels of the last hidden map.
        out_activation (str): ``"sigmoid"`` (images in [0, 1]) or ``"tanh"`` ([-1, 1], the paper).

    Shape:
        ``(N, latent_dim) -> (N, channels, image_size, image_size)``.

    Raises:
        TypeError / ValueError: for a non-int or out-of-range argument or an unknown activation;
            in ``forward``, for noise that is not ``(N, latent_dim)``.

    Example:
        >>> g = Generator(latent_dim=16, features=8)
        >>> x = g(torch.randn(5, 16))
        >>> x.shape, bool((x > 0).all() and (x < 1).all())
        (torch.Size([5, 1, 28, 28]), True)
    """

    def __init__(self, latent_dim: int = 64, channels: int = 1, image_size: int = 28, features: int = 64,
                 out_activation: str = "sigmoid") -> None:
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim")
        check_int(channels, "channels")
        check_int(features, "features")
        check_choice(out_activation, "out_activation", tuple(_ACTIVATIONS))
        self.start, stages = gan_stages(image_size)
        widths = [features * 2 ** (stages - 1 - s) for s in range(stages)]   # 2F, F for two stages
        self.project = nn.Linear(latent_dim, widths[0] * self.start ** 2, bias=False)
        layers: list[nn.Module] = [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), _ACTIVATIONS[out_activation]()]
        self.body = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_tensor(z, "z", 2, "(N, latent_dim)")
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        h = self.project(z).view(len(z), -1, self.start, self.start)         # (N, F 2^(stages-1), s, s)
        return self.body(h)


class Discriminator(nn.Module):
    """DCGAN discriminator: stride-2 convolutions with LeakyReLU, then one linear logit per image.

    For ``image_size = 28``: ``(channels, 28, 28) -> (F, 14, 14) -> (2F, 7, 7) -> logit``.

    Args:
        channels (int): image channels.
        image_size (int): height and width of the images (see :func:`gan_stages`).
        features (int): ``F``, the channels after the first convolution (doubled at each stage).

    Shape:
        ``(N, channels, image_size, image_size) -> (N,)``: logits of "real" (apply a sigmoid
        for ``D(x)``).

    Raises:
        TypeError / ValueError: for a non-int or out-of-range argument; in ``forward``, for
            images of another shape.

    Example:
        >>> Discriminator(features=8)(torch.rand(3, 1, 28, 28)).shape
        torch.Size([3])
    """

    def __init__(self, channels: int = 1, image_size: int = 28, features: int = 64) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels")
        check_int(features, "features")
        start, stages = gan_stages(image_size)
        self.image_size = image_size
        widths = [features * 2 ** s for s in range(stages)]                    # F, 2F for two stages
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.body = nn.Sequential(*layers)
        self.logit = nn.Linear(widths[-1] * start ** 2, 1)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "Discriminator", self.channels, self.image_size, exact_size=self.image_size)
        return self.logit(self.body(x).flatten(1))[:, 0]                      # (N,)
