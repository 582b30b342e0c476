"""Device choice and seeding: the two things every notebook of the book does first.

:func:`default_device` prefers CUDA, then Apple's MPS, then the CPU. Library functions never
move data themselves: they compute on the device of their inputs, so a notebook chooses the
device once and puts its model and data there.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["default_device", "seed_everything"]


def default_device() -> torch.device:
    """Return the best available device: CUDA, then MPS, then CPU.

    Returns:
        torch.device: ``cuda`` when a CUDA GPU is visible, else ``mps`` on Apple silicon
        with a working Metal backend, else ``cpu``.

    Example:
        >>> default_device().type in {"cuda", "mps", "cpu"}
        True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's random generators (all devices).

    Args:
        seed (int): a non-negative integer.
        deterministic (bool): also ask PyTorch for deterministic kernels (slower on GPU).

    Returns:
        torch.Generator: a CPU generator seeded with ``seed``, for code that prefers an
        explicit generator over the global one.

    Raises:
        TypeError: if ``seed`` is not an integer.
        ValueError: if ``seed`` is negative.

    Example:
        >>> _ = seed_everything(0); a = torch.rand(2)
        >>> _ = seed_everything(0); b = torch.rand(2)
        >>> torch.equal(a, b)
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)
