"""Two small denoising networks: DnCNN (residual learning) and a convolutional denoising autoencoder.

- :class:`DnCNN` (Zhang, Zuo, Chen, Meng & Zhang, *Beyond a Gaussian denoiser: residual learning
  of deep CNN for image denoising*, IEEE TIP 2017): a plain stack of 3x3 convolutions at full
  resolution that predicts the NOISE ``v = R(y)`` and returns ``y - R(y)``. Learning the residual
  is easier than learning the clean image: for small noise the clean image is close to the
  identity map of ``y``, which a plain stack finds hard to represent, while the noise is small,
  zero-mean and looks the same everywhere.
- :class:`DenoisingAutoencoder` (Vincent, Larochelle, Bengio & Manzagol, *Extracting and
  composing robust features with denoising autoencoders*, ICML 2008): an encoder that halves the
  resolution ``levels`` times down to a narrow code, and a transposed-convolution decoder back to
  the input size. Trained to map corrupted inputs to clean ones, the bottleneck keeps what is
  typical of images and drops what is not (the noise), at the price of fine detail.

Both are fully convolutional: trained on patches, they run on whole photos. Both are kept small
(thousands to tens of thousands of parameters) so that the book trains them on a CPU in minutes;
the paper's DnCNN has ``depth = 17`` and ``features = 64`` (about 556,000 parameters).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_images, check_int

__all__ = ["DnCNN", "DenoisingAutoencoder"]


class DnCNN(nn.Module):
    """DnCNN: conv+ReLU, ``depth - 2`` x (conv+BN+ReLU), conv; returns ``x - predicted noise``.

    All convolutions are 3x3 with padding 1, so the output has the input's size; the receptive
    field is ``(2 depth + 1)`` pixels wide. The middle convolutions have no bias (batch
    normalisation follows them), as in the paper. With ``batch_norm=False`` the middle layers are
    conv (with bias) + ReLU: a plain stack, cheaper per step on a CPU and, for short trainings on
    small batches (the book trains on 16 patches of 32x32 for 1,000 steps), the more accurate
    one: a few tenths of a dB PSNR on held-out photos, each variant at its best learning rate
    (book section "Autoencoders and supervised denoising").

    Args:
        channels (int): image channels (1 for grey, 3 for colour).
        depth (int): number of convolutions, ``>= 2`` (the paper: 17; default 8 for the CPU).
        features (int): channels of the hidden layers (the paper: 64; default 32).
        batch_norm (bool): batch normalisation after each middle convolution (the paper's design).

    Shape:
        ``(N, channels, H, W) -> (N, channels, H, W)``: the denoised images ``x - body(x)``;
        :attr:`body` alone gives the predicted noise.

    Raises:
        TypeError / ValueError: for a non-int or out-of-range argument, or a ``batch_norm`` that is
            not a bool; in ``forward``, for an input that is not ``(N, channels, H, W)``.

    Example:
        >>> net = DnCNN(channels=1, depth=4, features=8)
        >>> x = torch.rand(2, 1, 10, 12)
        >>> y = net(x)
        >>> y.shape, torch.allclose(y, x - net.body(x))
        (torch.Size([2, 1, 10, 12]), True)
        >>> len(DnCNN(depth=4, features=8, batch_norm=False).body)  # conv, ReLU, 2 x (conv, ReLU), conv
        7
    """

    def __init__(self, channels: int = 1, depth: int = 8, features: int = 32, batch_norm: bool = True) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels")
        self.depth = check_int(depth, "depth", 2)
        features = check_int(features, "features")
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {type(batch_norm).__name__}")
        layers: list[nn.Module] = [nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            if batch_norm:
                layers += [nn.Conv2d(features, features, 3, padding=1, bias=False), nn.BatchNorm2d(features)]
            else:
                layers.append(nn.Conv2d(features, features, 3, padding=1))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(features, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)  # R(y): the predicted noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "DnCNN", self.channels, 1)
        return x - self.body(x)  # residual learning: clean = noisy - noise


class DenoisingAutoencoder(nn.Module):
    """A convolutional autoencoder: strided convolutions to a narrow code, transposed ones back.

    Encoder: ``levels`` times (3x3 conv, stride 2, padding 1, ReLU) with ``base, 2 base, 4 base,
    ...`` channels, then a 1x1 convolution to ``code`` channels (the bottleneck, linear).
    Decoder: a 1x1 convolution back with ReLU, then ``levels`` times a 4x4 transposed convolution
    with stride 2 and padding 1 (each doubles the size exactly: ``2(n - 1) - 2 + 4 = 2n``), ReLU
    between them and a linear output. The code has ``code`` values per ``2^levels x 2^levels``
    block of pixels, e.g. 8 numbers for 16 grey pixels with the defaults.

    Args:
        channels (int): image channels.
        code (int): channels of the bottleneck.
        base (int): channels after the first downsampling; doubled at each further level.
        levels (int): number of halvings of the resolution, ``>= 1``.

    Shape:
        ``(N, channels, H, W) -> (N, channels, H, W)``, ``H`` and ``W`` multiples of
        ``2^levels``; :meth:`encode` gives ``(N, code, H / 2^levels, W / 2^levels)``.

    Raises:
        TypeError / ValueError: for a non-int or out-of-range argument; in ``forward``, for an
            input that is not ``(N, channels, H, W)`` or whose size is not a multiple of
            ``2^levels``.

    Example:
        >>> ae = DenoisingAutoencoder(channels=1, code=8, base=16)
        >>> ae.encode(torch.zeros(3, 1, 32, 24)).shape, ae(torch.zeros(3, 1, 32, 24)).shape
        (torch.Size([3, 8, 8, 6]), torch.Size([3, 1, 32, 24]))
    """

    def __init__(self, channels: int = 1, code: int = 8, base: int = 16, levels: int = 2) -> None:
        super().__init__()
        self.channels = check_int(channels, "channels")
        check_int(code, "code")
        check_int(base, "base")
        self.levels = check_int(levels, "levels")
        widths = [base * 2**i for i in range(levels)]  # channels after each halving
        encoder: list[nn.Module] = []
        for c_in, c_out in zip([channels] + widths[:-1], widths):
            encoder += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        encoder.append(nn.Conv2d(widths[-1], code, 1))  # the bottleneck
        decoder: list[nn.Module] = [nn.Conv2d(code, widths[-1], 1), nn.ReLU(inplace=True)]
        for c_in, c_out in zip(widths[::-1], widths[-2::-1] + [channels]):
            decoder += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        decoder.pop()  # linear output
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)

    def _check(self, x: torch.Tensor) -> None:
        factor = 2**self.levels
        check_images(x, "DenoisingAutoencoder", self.channels, factor)
        H, W = x.shape[-2:]
        if H % factor or W % factor:
            raise ValueError(f"DenoisingAutoencoder with levels={self.levels} needs H and W divisible by "
                             f"{factor}, got {H}x{W}")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code ``(N, code, H / 2^levels, W / 2^levels)`` of images ``x``."""
        self._check(x)
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))
