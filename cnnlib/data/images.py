"""Small real image sets shipped with installed packages: sklearn digits and scikit-image photos.

- ``load_digits_tensors``: the 1,797 8x8 digits of scikit-learn (UCI optical recognition of
  handwritten digits), values 0-16 scaled to [0, 1]. Tiny enough for from-scratch loops.
- ``load_photo``: the sample photos of ``skimage.data`` (camera man, astronaut, coffee cup, Chelsea
  the cat, coins, a rocket, the Hubble deep field, textures), as float tensors in [0, 1].
- ``load_lfw_subset``: 100 faces and 100 non-faces, 25x25, from Labeled Faces in the Wild.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["PHOTOS", "load_photo", "load_digits_tensors", "load_lfw_subset"]

#: Names accepted by :func:`load_photo` (all ship inside the scikit-image wheel).
PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "coins", "rocket", "hubble_deep_field",
          "brick", "grass", "moon", "checkerboard", "text", "page", "horse", "gravel")


def load_photo(name: str, gray: bool = False, size: int | tuple[int, int] | None = None) -> torch.Tensor:
    """A scikit-image sample photo as a float tensor in [0, 1].

    Args:
        name (str): one of :data:`PHOTOS`.
        gray (bool): convert RGB to luminance (``skimage.color.rgb2gray`` weights).
        size (int | tuple[int, int] | None): resize to ``size`` (short side if int) with
            antialiasing; ``None`` keeps the original.

    Returns:
        Tensor[C, H, W]: ``C = 3`` for colour photos, ``1`` for grey ones or with ``gray=True``.

    Raises:
        ValueError: for an unknown name (the valid names are listed).

    Example:
        >>> load_photo("camera").shape
        torch.Size([1, 512, 512])
        >>> load_photo("astronaut", gray=True, size=64).shape
        torch.Size([1, 64, 64])
    """
    import skimage.color
    import skimage.data
    import skimage.transform

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {PHOTOS}")
    image = getattr(skimage.data, name)()
    if image.dtype == bool:
        image = image.astype(np.float64)
    elif image.dtype == np.uint8:
        image = image / 255.0
    if image.ndim == 3 and image.shape[2] == 4:
        image = skimage.color.rgba2rgb(image)
    if gray and image.ndim == 3:
        image = skimage.color.rgb2gray(image)
    if size is not None:
        if isinstance(size, int):
            h, w = image.shape[:2]
            size = (size, round(w * size / h)) if h <= w else (round(h * size / w), size)
        image = skimage.transform.resize(image, size, anti_aliasing=True)
    image = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)  # (C, H, W)
    return torch.from_numpy(np.ascontiguousarray(image)).float().clamp(0, 1)


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as ``(x (1797, 1, 8, 8) in [0, 1], y (1797,) int64)``.

    Example:
        >>> x, y = load_digits_tensors(); tuple(x.shape), int(y.max())
        ((1797, 1, 8, 8), 9)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.images / 16.0).float().unsqueeze(1)  # (1797, 1, 8, 8)
    return x, torch.from_numpy(digits.target.astype(np.int64))


def load_lfw_subset() -> tuple[torch.Tensor, torch.Tensor]:
    """The ``skimage.data.lfw_subset`` images: ``(faces, non_faces)``, each ``(100, 1, 25, 25)``.

    Example:
        >>> faces, others = load_lfw_subset(); tuple(faces.shape)
        (100, 1, 25, 25)
    """
    import skimage.data

    images = torch.from_numpy(skimage.data.lfw_subset()).float().unsqueeze(1)  # (200, 1, 25, 25)
    return images[:100], images[100:]
