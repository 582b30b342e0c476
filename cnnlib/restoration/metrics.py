"""Image quality against a clean reference: PSNR and SSIM, batched, on any device, differentiable.

- :func:`psnr`: peak signal-to-noise ratio, ``10 log10(R^2 / MSE)`` decibels, ``R`` the data
  range (1 for images in [0, 1]). Each image gets its own PSNR; the mean over a batch averages
  these decibels (not the MSEs), as papers' tables do.
- :func:`ssim`: structural similarity (Wang, Bovik, Sheikh & Simoncelli, *Image quality
  assessment: from error visibility to structural similarity*, IEEE TIP 2004). Local means,
  variances and the covariance in a sliding window compare luminance, contrast and structure:

  ``SSIM = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))``,
  ``C1 = (K1 R)^2``, ``C2 = (K2 R)^2``,

  averaged over the window positions that lie fully inside the image and over channels. The
  defaults are those of ``skimage.metrics.structural_similarity``: a uniform 7x7 window, sample
  (co)variances (times ``NP / (NP - 1)``, ``NP`` the window's pixel count), ``K1 = 0.01``,
  ``K2 = 0.03``. Wang et al.'s own setting is ``gaussian=True`` (an 11x11 window, sigma 1.5)
  with ``sample_covariance=False``.

The windows are two 1-D convolutions (``torch.nn.functional.conv2d``) over the five maps
``x, y, x^2, y^2, xy``, so both metrics take a batch ``(N, C, H, W)`` and can serve as losses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import as_image_batch, check_choice, check_float, check_int, check_like
from cnnlib.restoration.noise import gaussian_kernel1d

__all__ = ["psnr", "ssim"]

REDUCTIONS = ("mean", "none")


def _pair(x: object, y: object) -> tuple[torch.Tensor, torch.Tensor, bool]:
    xb, single = as_image_batch(x, "x")
    yb, _ = as_image_batch(y, "y")
    if xb.shape != yb.shape or x.dim() != y.dim():
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    check_like(yb, "y", xb)
    return xb, yb, single


def _reduce(per_image: torch.Tensor, reduction: str, single: bool) -> torch.Tensor:
    check_choice(reduction, "reduction", REDUCTIONS)
    if single:
        return per_image[0]
    return per_image.mean() if reduction == "mean" else per_image


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB, per image.

    Args:
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): restored images, floating point.
        y (Tensor[N, C, H, W] or Tensor[C, H, W]): reference images, same shape, dtype, device.
        data_range (float): max minus min of the possible values (1 for [0, 1] images), ``> 0``.
        reduction (str): ``"mean"``: the mean of the per-image PSNRs (a scalar); ``"none"``: one
            value per image ``(N,)``. A single image ``(C, H, W)`` gives a scalar either way.

    Returns:
        Tensor[] or Tensor[N]: decibels; ``inf`` for identical images (as scikit-image).

    Raises:
        TypeError: if an input is not a floating-point tensor or the dtypes differ.
        ValueError: for other shapes, devices, a ``data_range <= 0`` or an unknown reduction.

    Example:
        >>> x = torch.zeros(2, 1, 4, 4); y = x.clone(); y[0] += 0.1; y[1] += 0.01
        >>> [round(v, 6) for v in psnr(x, y, reduction="none").tolist()], round(psnr(x, y).item(), 6)
        ([20.0, 40.0], 30.0)
    """
    xb, yb, single = _pair(x, y)
    data_range = check_float(data_range, "data_range", 0.0)
    mse = (xb - yb).pow(2).flatten(1).mean(dim=1)  # (N,)
    return _reduce(10 * torch.log10(data_range**2 / mse), reduction, single)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, win_size: int | None = None,
         gaussian: bool = False, sigma: float = 1.5, K1: float = 0.01, K2: float = 0.03,
         sample_covariance: bool = True, reduction: str = "mean") -> torch.Tensor:
    """Mean structural similarity per image, as ``skimage.metrics.structural_similarity``.

    For colour images this equals scikit-image's result with ``channel_axis`` (the mean over
    channels of each channel's mean SSIM). The window positions within ``(win_size - 1) // 2``
    pixels of the border are left out (no padding), as scikit-image crops them.

    Args:
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): restored images, floating point.
        y (Tensor[N, C, H, W] or Tensor[C, H, W]): reference images, same shape, dtype, device.
        data_range (float): max minus min of the possible values, ``> 0``.
        win_size (int | None): side of the window, odd, ``>= 3``, at most ``H`` and ``W``;
            default 7, or ``2 int(3.5 sigma + 0.5) + 1`` (11 for sigma 1.5) with ``gaussian``,
            as scikit-image.
        gaussian (bool): weight the window by a Gaussian of std ``sigma`` (scikit-image's
            ``gaussian_weights=True``) instead of uniformly.
        sigma (float): std of the Gaussian window in pixels, ``> 0``.
        K1 (float): luminance constant, ``> 0``.
        K2 (float): contrast constant, ``> 0``.
        sample_covariance (bool): scale (co)variances by ``NP / (NP - 1)``, ``NP = win_size^2``
            (scikit-image's default); ``False`` for Wang et al.'s population (co)variances.
        reduction (str): ``"mean"`` over the batch (a scalar) or ``"none"`` (one per image).

    Returns:
        Tensor[] or Tensor[N]: SSIM, at most 1 (1 for identical images).

    Raises:
        TypeError: if an input is not a floating-point tensor or the dtypes differ, or an
            argument has the wrong type.
        ValueError: for other shapes or devices, an even, too small or too large ``win_size``,
            a non-positive constant, or an unknown reduction.

    Example:
        >>> x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> ssim(x, x).item(), ssim(x, 1 - x, reduction="none").shape
        (1.0, torch.Size([2]))
    """
    xb, yb, single = _pair(x, y)
    data_range = check_float(data_range, "data_range", 0.0)
    sigma = check_float(sigma, "sigma", 0.0)
    K1, K2 = check_float(K1, "K1", 0.0), check_float(K2, "K2", 0.0)
    if win_size is None:
        win_size = 2 * int(3.5 * sigma + 0.5) + 1 if gaussian else 7
    win_size = check_int(win_size, "win_size", 3)
    if win_size % 2 == 0:
        raise ValueError(f"win_size must be odd, got {win_size}")
    N, C, H, W = xb.shape
    if H < win_size or W < win_size:
        raise ValueError(f"x must be at least win_size x win_size = {win_size}x{win_size}, got {H}x{W}")
    r = win_size // 2
    if gaussian:
        w = gaussian_kernel1d(sigma, r, dtype=xb.dtype).to(xb.device)  # (win_size,)
    else:
        w = torch.full((win_size,), 1.0 / win_size, dtype=xb.dtype, device=xb.device)

    maps = torch.stack([xb, yb, xb * xb, yb * yb, xb * yb])  # (5, N, C, H, W)
    maps = maps.view(5 * N * C, 1, H, W)
    means = F.conv2d(F.conv2d(maps, w.view(1, 1, -1, 1)), w.view(1, 1, 1, -1))  # (5NC, 1, H-2r, W-2r)
    ux, uy, uxx, uyy, uxy = means.view(5, N, C, H - 2 * r, W - 2 * r)
    cov_norm = win_size**2 / (win_size**2 - 1) if sample_covariance else 1.0
    vx, vy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    C1, C2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s_map = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux**2 + uy**2 + C1) * (vx + vy + C2))
    return _reduce(s_map.flatten(1).mean(dim=1), reduction, single)  # (N,) before reduction
