"""Synthetic noise for restoration experiments, and training patches cut from photos.

Restoration is taught on real photos (:func:`cnnlib.data.load_photo`) with noise we add ourselves,
so the clean image is known and every result can be scored:

- :func:`add_gaussian_noise`: additive white Gaussian noise, ``y = x + sigma * n`` with
  ``n ~ N(0, 1)`` drawn independently for every pixel. This is the noise model of DnCNN
  (Zhang et al. 2017) and the one Noise2Void (Krull et al. 2019) assumes: given the signal, the
  noise of one pixel says nothing about the noise of its neighbours.
- :func:`add_correlated_noise`: the same white noise blurred by a Gaussian kernel of standard
  deviation ``correlation_length`` pixels, then rescaled so that every pixel still has standard
  deviation ``sigma``. Neighbouring pixels now share noise (the correlation at a distance of
  ``d`` pixels is about ``exp(-d^2 / (4 l^2))``), as in scanned film, demosaicked camera raw or
  structured microscope noise; a blind-spot network can predict part of a pixel's noise from its
  neighbours, so Noise2Void no longer separates noise from signal.
- :func:`random_patches`: square crops at random places of random images, the usual training
  set of a denoiser (the networks are fully convolutional, so they run on whole photos later).

Sigma is on the [0, 1] intensity scale of :func:`cnnlib.data.load_photo` (``sigma = 25/255``
is the classic "sigma 25" of the denoising literature).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cnnlib._checks import check_float, check_generator, check_int

__all__ = ["add_gaussian_noise", "add_correlated_noise", "gaussian_kernel1d", "random_patches"]


def _randn(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal draws of ``shape`` with the dtype and device of ``like``.

    With a generator the numbers are drawn on the generator's device and then moved, so a seed
    gives the same noise whatever device the images are on.
    """
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.randn(shape, dtype=like.dtype, device=generator.device, generator=generator).to(like.device)


def _float_tensor(x: object, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (images in [0, 1]), got {x.dtype}")
    return x


def add_gaussian_noise(x: torch.Tensor, sigma: float, generator: torch.Generator | None = None,
                       clip: bool = False) -> torch.Tensor:
    """Add white Gaussian noise: ``x + sigma * n`` with ``n ~ N(0, 1)`` independent per pixel.

    Args:
        x (Tensor[...]): clean images in [0, 1], any shape (e.g. ``(N, C, H, W)``), floating point.
        sigma (float): the noise standard deviation on the [0, 1] scale, ``>= 0``.
        generator (torch.Generator | None): random source (default: torch's global one).
        clip (bool): clamp the result to [0, 1] (this biases the noise near black and white;
            the default ``False`` keeps it zero-mean, as the denoising literature does).

    Returns:
        Tensor[...]: the noisy images, shape, dtype and device of ``x``.

    Raises:
        TypeError: if ``x`` is not a floating-point tensor or ``generator`` not a generator.
        ValueError: if ``sigma`` is negative or not finite.

    Example:
        >>> y = add_gaussian_noise(torch.zeros(1, 1, 200, 200), 0.1, torch.Generator().manual_seed(0))
        >>> round(y.std().item(), 2), abs(y.mean().item()) < 0.01
        (0.1, True)
    """
    _float_tensor(x)
    sigma = check_float(sigma, "sigma", 0.0, low_inclusive=True)
    generator = check_generator(generator)
    noisy = x + sigma * _randn(tuple(x.shape), x, generator)
    return noisy.clamp(0, 1) if clip else noisy


def gaussian_kernel1d(std: float, radius: int | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The sampled Gaussian ``exp(-i^2 / (2 std^2))``, ``i = -radius..radius``, summing to 1.

    Args:
        std (float): standard deviation in pixels, ``> 0``.
        radius (int | None): half-width; default ``ceil(3 * std)``.
        dtype (torch.dtype): dtype of the result.

    Returns:
        Tensor[2 * radius + 1]: the weights.

    Example:
        >>> gaussian_kernel1d(1.0).shape, round(gaussian_kernel1d(1.0).sum().item(), 6)
        (torch.Size([7]), 1.0)
    """
    std = check_float(std, "std", 0.0)
    radius = math.ceil(3 * std) if radius is None else check_int(radius, "radius", 0)
    i = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-i**2 / (2 * std**2))
    return (g / g.sum()).to(dtype)


def add_correlated_noise(x: torch.Tensor, sigma: float, correlation_length: float = 1.0,
                         generator: torch.Generator | None = None, clip: bool = False) -> torch.Tensor:
    """Add spatially correlated Gaussian noise: blurred white noise rescaled to std ``sigma``.

    White noise ``n`` is drawn on a field ``2r`` pixels larger than the image (``r = ceil(3 l)``,
    ``l = correlation_length``) and filtered, without padding, by the separable Gaussian kernel
    ``k = g g^T`` of standard deviation ``l``. A filtered white field has variance
    ``sum(k^2) = (sum g^2)^2`` at every pixel, so dividing by ``sum(g^2)`` gives unit variance
    exactly, everywhere (no darker border as with zero padding). The noise is independent across
    images and channels; neighbouring pixels correlate by ``sum_i g_i g_{i+d} / sum_i g_i^2``
    at a horizontal or vertical distance ``d``, about ``exp(-d^2 / (4 l^2))`` (0.78 at ``d = 1``
    for ``l = 1``).

    Args:
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): clean images in [0, 1], floating point.
        sigma (float): the per-pixel noise standard deviation on the [0, 1] scale, ``>= 0``.
        correlation_length (float): std of the blurring kernel in pixels, ``> 0``.
        generator (torch.Generator | None): random source (default: torch's global one).
        clip (bool): clamp the result to [0, 1].

    Returns:
        Tensor[N, C, H, W] or Tensor[C, H, W]: the noisy images, like ``x``.

    Raises:
        TypeError: if ``x`` is not a floating-point tensor or ``generator`` not a generator.
        ValueError: if ``x`` is not 3-D or 4-D, or ``sigma`` / ``correlation_length`` out of range.

    Example:
        >>> y = add_correlated_noise(torch.zeros(4, 1, 64, 64), 0.1, 1.0, torch.Generator().manual_seed(0))
        >>> pairs = torch.stack([y[..., 1:].flatten(), y[..., :-1].flatten()])  # horizontal neighbours
        >>> round(y.std().item(), 2), round(torch.corrcoef(pairs)[0, 1].item(), 1)
        (0.1, 0.8)
    """
    _float_tensor(x)
    if x.dim() not in (3, 4):
        raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got shape {tuple(x.shape)}")
    sigma = check_float(sigma, "sigma", 0.0, low_inclusive=True)
    length = check_float(correlation_length, "correlation_length", 0.0)
    generator = check_generator(generator)
    xb = x[None] if x.dim() == 3 else x
    N, C, H, W = xb.shape
    g = gaussian_kernel1d(length, dtype=x.dtype).to(x.device)
    r = (len(g) - 1) // 2
    g = g / g.pow(2).sum().sqrt()  # unit L2 norm: the 2-D kernel g g^T has unit L2 norm too
    white = _randn((N * C, 1, H + 2 * r, W + 2 * r), x, generator)
    noise = F.conv2d(white, g.view(1, 1, -1, 1))  # blur along H: (N*C, 1, H, W + 2r)
    noise = F.conv2d(noise, g.view(1, 1, 1, -1))  # blur along W: (N*C, 1, H, W)
    noisy = xb + sigma * noise.view(N, C, H, W)
    noisy = noisy.clamp(0, 1) if clip else noisy
    return noisy[0] if x.dim() == 3 else noisy


def random_patches(images: torch.Tensor | Sequence[torch.Tensor], size: int, count: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Cut ``count`` square patches at random places of random images (training data for a denoiser).

    Each patch first draws an image (every image equally likely, whatever its size), then a
    top-left corner uniformly among the ``(H - size + 1) (W - size + 1)`` places that keep the
    patch inside that image.

    Args:
        images (Tensor[N, C, H, W] | Tensor[C, H, W] | Sequence[Tensor[C, H_i, W_i]]): the photos;
            a list may hold photos of different sizes, all with the same ``C``.
        size (int): side of the patches, at most the smallest photo's height and width.
        count (int): number of patches, ``>= 0``.
        generator (torch.Generator | None): random source (default: torch's global one).

    Returns:
        Tensor[count, C, size, size]: copies, with the dtype and device of the images.

    Raises:
        TypeError: if ``images`` is not a tensor or a sequence of tensors, or ``generator`` is
            not a generator.
        ValueError: for no images, images that are not ``(C, H, W)``, different channel counts,
            or a ``size`` larger than an image.

    Example:
        >>> photo = torch.arange(36.).view(1, 6, 6)
        >>> p = random_patches([photo], 3, 5, torch.Generator().manual_seed(0))
        >>> p.shape, bool((p[:, 0, 0, 1] - p[:, 0, 0, 0] == 1).all())  # contiguous crops
        (torch.Size([5, 1, 3, 3]), True)
    """
    if isinstance(images, torch.Tensor):
        if images.dim() not in (3, 4):
            raise ValueError(f"images must have shape (N, C, H, W) or (C, H, W), got shape {tuple(images.shape)}")
        photos = list(images[None] if images.dim() == 3 else images)
    elif isinstance(images, Sequence) and not isinstance(images, (str, bytes)):
        photos = list(images)
    else:
        raise TypeError(f"images must be a Tensor or a sequence of Tensors (C, H, W), got {type(images).__name__}")
    if not photos:
        raise ValueError("images must hold at least one image, got none")
    for i, p in enumerate(photos):
        if not isinstance(p, torch.Tensor) or p.dim() != 3:
            got = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
            raise ValueError(f"images[{i}] must be a Tensor of shape (C, H, W), got {got}")
        if p.shape[0] != photos[0].shape[0]:
            raise ValueError(f"all images must have the same channels; images[0] has {photos[0].shape[0]}, "
                             f"images[{i}] has {p.shape[0]}")
    size = check_int(size, "size")
    count = check_int(count, "count", 0)
    generator = check_generator(generator)
    smallest = min(min(p.shape[1:]) for p in photos)
    if size > smallest:
        raise ValueError(f"size must be at most the smallest image side ({smallest}), got {size}")
    device = generator.device if generator is not None else torch.device("cpu")
    which = torch.randint(len(photos), (count,), generator=generator, device=device).tolist()
    u = torch.rand((count, 2), generator=generator, device=device, dtype=torch.float64).tolist()
    patches = []
    for k, (uy, ux) in zip(which, u):
        _, H, W = photos[k].shape
        top, left = int(uy * (H - size + 1)), int(ux * (W - size + 1))
        patches.append(photos[k][:, top:top + size, left:left + size])
    if not patches:
        return photos[0].new_empty((0, photos[0].shape[0], size, size))
    return torch.stack(patches)  # (count, C, size, size)
