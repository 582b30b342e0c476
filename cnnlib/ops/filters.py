"""Hand-designed filters: edge detectors and Gabor functions.

Edge kernels (seed 001): vertical ``[[1,0,-1]]*3``, its transpose for horizontal edges, Sobel
(weights 1-2-1) and Scharr (weights 3-10-3, better rotational symmetry). A Gabor function, a
sinusoid under a Gaussian envelope, describes the receptive fields of simple cells in primary
visual cortex (Jones & Palmer 1987; seed 003), and looks like the first-layer filters CNNs learn:

.. math:: g(x, y) = \\exp\\left(-\\frac{x'^2 + \\gamma^2 y'^2}{2\\sigma^2}\\right)
          \\cos\\left(2\\pi \\frac{x'}{\\lambda} + \\psi\\right),\\quad
          x' = x\\cos\\theta + y\\sin\\theta,\\; y' = -x\\sin\\theta + y\\cos\\theta
"""

from __future__ import annotations

import math

import torch

__all__ = ["EDGE_KERNELS", "edge_kernel", "gabor_kernel", "gabor_bank"]

_EDGES = {
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "sobel_x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "scharr_x": [[3, 0, -3], [10, 0, -10], [3, 0, -3]],
    "scharr_y": [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
}
#: The classic 3x3 edge detectors as float32 tensors (use ``.to(x)`` for other dtypes/devices).
EDGE_KERNELS: dict[str, torch.Tensor] = {k: torch.tensor(v, dtype=torch.float32) for k, v in _EDGES.items()}


def edge_kernel(name: str, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """A fresh copy of one of :data:`EDGE_KERNELS` as ``Tensor[3, 3]``.

    Raises:
        ValueError: for an unknown name (the valid names are listed).

    Example:
        >>> edge_kernel("scharr_x")[1].tolist()
        [10.0, 0.0, -10.0]
    """
    if name not in _EDGES:
        raise ValueError(f"unknown edge kernel {name!r}; choose one of {sorted(_EDGES)}")
    return torch.tensor(_EDGES[name], dtype=dtype, device=device)


def gabor_kernel(
    size: int,
    sigma: float,
    theta: float,
    lambd: float,
    psi: float = 0.0,
    gamma: float = 0.5,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The real part of a Gabor function sampled on a ``size x size`` grid centred at 0.

    Args:
        size (int): odd or even kernel size (>= 1).
        sigma (float): width of the Gaussian envelope, in pixels (> 0).
        theta (float): orientation of the stripes' normal, in radians.
        lambd (float): wavelength of the sinusoid, in pixels (> 0).
        psi (float): phase offset (0: even/cosine cell, pi/2: odd/sine cell).
        gamma (float): aspect ratio of the envelope (> 0).

    Returns:
        Tensor[size, size]

    Example:
        >>> g = gabor_kernel(7, sigma=2.0, theta=0.0, lambd=4.0)
        >>> g.shape, round(g[3, 3].item(), 6)  # the centre: envelope 1, cos(0) = 1
        (torch.Size([7, 7]), 1.0)
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    for name, v in (("sigma", sigma), ("lambd", lambd), ("gamma", gamma)):
        if not v > 0:
            raise ValueError(f"{name} must be > 0, got {v!r}")
    r = torch.arange(size, dtype=dtype) - (size - 1) / 2
    y, x = torch.meshgrid(r, r, indexing="ij")
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    envelope = torch.exp(-(xr**2 + gamma**2 * yr**2) / (2 * sigma**2))
    return envelope * torch.cos(2 * math.pi * xr / lambd + psi)


def gabor_bank(
    n_orientations: int = 8,
    size: int = 11,
    sigma: float = 2.5,
    lambdas: tuple[float, ...] = (5.0,),
    psi: float = 0.0,
    gamma: float = 0.5,
) -> torch.Tensor:
    """A bank of Gabor kernels over orientations (and wavelengths), ready for ``conv2d``.

    Returns:
        Tensor[n_orientations * len(lambdas), 1, size, size]: wavelength-major order.

    Example:
        >>> gabor_bank(4, size=9).shape
        torch.Size([4, 1, 9, 9])
    """
    if isinstance(n_orientations, bool) or not isinstance(n_orientations, int) or n_orientations < 1:
        raise ValueError(f"n_orientations must be a positive int, got {n_orientations!r}")
    kernels = [gabor_kernel(size, sigma, math.pi * k / n_orientations, lam, psi, gamma)
               for lam in lambdas for k in range(n_orientations)]
    return torch.stack(kernels).unsqueeze(1)
