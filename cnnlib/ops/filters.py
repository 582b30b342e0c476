"""Hand-designed filters: edge detectors and Gabor functions.

Edge kernels (seed 001): vertical ``[[1,0,-1]]*3``, its transpose for horizontal edges, Sobel
(weights 1-2-1) and Scharr (weights 3-10-3, closer to rotation invariant). They are applied as
cross-correlations, like every ``conv2d`` here, so ``"vertical"`` responds positively where the
image gets darker from left to right. A Gabor function, a sinusoid under a Gaussian envelope,
describes the receptive fields of simple cells in primary visual cortex (Jones & Palmer 1987;
seed 003) and looks like the first-layer filters CNNs learn:

.. math:: g(x, y) = \\exp\\left(-\\frac{x'^2 + \\gamma^2 y'^2}{2\\sigma^2}\\right)
          \\cos\\left(2\\pi \\frac{x'}{\\lambda} + \\psi\\right),\\quad
          x' = x\\cos\\theta + y\\sin\\theta,\\; y' = -x\\sin\\theta + y\\cos\\theta

with ``x`` the column and ``y`` the row offset from the kernel centre (rows grow downwards).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from cnnlib._checks import check_float, check_int

__all__ = ["EDGE_KERNELS", "edge_kernel", "gabor_kernel", "gabor_bank"]

_EDGES = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "scharr_x": [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
    "scharr_y": [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
}
#: The classic 3x3 edge detectors as float32 ``Tensor[3, 3]`` (seed 001); ``.to(x)`` for
#: another dtype or device, :func:`edge_kernel` for a fresh copy.
EDGE_KERNELS: dict[str, torch.Tensor] = {k: torch.tensor(v, dtype=torch.float32) for k, v in _EDGES.items()}


def edge_kernel(
    name: str,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A fresh copy of one of :data:`EDGE_KERNELS`.

    Args:
        name (str): ``"vertical"``, ``"horizontal"``, ``"sobel_x"``, ``"sobel_y"``,
            ``"scharr_x"`` or ``"scharr_y"``.
        dtype (torch.dtype): dtype of the result.
        device (torch.device | str | None): device of the result (default: the CPU).

    Returns:
        Tensor[3, 3]

    Raises:
        ValueError: for an unknown name (the valid names are listed).

    Example:
        >>> edge_kernel("scharr_x")[1].tolist()
        [10.0, 0.0, -10.0]
    """
    if name not in _EDGES:
        raise ValueError(f"name must be one of {sorted(_EDGES)}, got {name!r}")
    return torch.tensor(_EDGES[name], dtype=dtype, device=device)


def gabor_kernel(
    size: int,
    sigma: float,
    theta: float,
    lambd: float,
    psi: float = 0.0,
    gamma: float = 0.5,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The real part of a Gabor function sampled on a ``size x size`` grid centred at 0.

    Args:
        size (int): kernel size (>= 1); odd sizes have a pixel at the centre.
        sigma (float): width of the Gaussian envelope, in pixels (> 0).
        theta (float): orientation of the stripes' normal, in radians (0: vertical stripes).
        lambd (float): wavelength of the sinusoid, in pixels (> 0).
        psi (float): phase offset (0: even/cosine cell, pi/2: odd/sine cell).
        gamma (float): aspect ratio of the envelope (> 0).
        dtype (torch.dtype): dtype of the result.
        device (torch.device | str | None): device of the result (default: the CPU).

    Returns:
        Tensor[size, size]

    Raises:
        TypeError, ValueError: for a non-number or an out-of-range argument.

    Example:
        >>> g = gabor_kernel(7, sigma=2.0, theta=0.0, lambd=4.0)
        >>> g.shape, round(g[3, 3].item(), 6)  # the centre: envelope 1, cos(0) = 1
        (torch.Size([7, 7]), 1.0)
    """
    size = check_int(size, "size")
    sigma, lambd = check_float(sigma, "sigma", 0.0), check_float(lambd, "lambd", 0.0)
    gamma = check_float(gamma, "gamma", 0.0)
    r = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2  # offsets from the centre
    y, x = torch.meshgrid(r, r, indexing="ij")  # (size, size): row and column offsets
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = torch.exp(-(xr**2 + gamma**2 * yr**2) / (2 * sigma**2))
    return envelope * torch.cos(2 * math.pi * xr / lambd + psi)


def gabor_bank(
    n_orientations: int = 8,
    size: int = 11,
    sigma: float = 2.5,
    lambdas: Sequence[float] = (5.0,),
    psi: float = 0.0,
    gamma: float = 0.5,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A bank of Gabor kernels over orientations and wavelengths, ready for ``conv2d``.

    Orientation ``k`` is ``theta = pi * k / n_orientations``.

    Args:
        n_orientations (int): orientations, evenly spaced over ``[0, pi)``.
        size (int): kernel size.
        sigma (float): envelope width, as :func:`gabor_kernel`.
        lambdas (Sequence[float]): wavelengths; one set of orientations per wavelength.
        psi (float): phase offset.
        gamma (float): aspect ratio of the envelope.
        dtype (torch.dtype): dtype of the result.
        device (torch.device | str | None): device of the result (default: the CPU).

    Returns:
        Tensor[n_orientations * len(lambdas), 1, size, size]: wavelength-major order (all
        orientations of ``lambdas[0]`` first).

    Raises:
        TypeError, ValueError: for an out-of-range argument or an empty ``lambdas``.

    Example:
        >>> gabor_bank(4, size=9).shape
        torch.Size([4, 1, 9, 9])
    """
    n_orientations = check_int(n_orientations, "n_orientations")
    if isinstance(lambdas, (int, float)) or len(lambdas) == 0:
        raise ValueError(f"lambdas must be a non-empty sequence of wavelengths, got {lambdas!r}")
    kernels = [gabor_kernel(size, sigma, math.pi * k / n_orientations, lam, psi, gamma, dtype, device)
               for lam in lambdas for k in range(n_orientations)]
    return torch.stack(kernels).unsqueeze(1)  # (n_orientations * len(lambdas), 1, size, size)
