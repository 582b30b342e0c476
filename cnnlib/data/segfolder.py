"""A segmentation data set on disk: a folder of images and a folder of label masks.

Real segmentation data (the lecture's Google Maps road tiles, Cityscapes-like sets exported to
PNG, one's own annotations) usually ships as two folders whose files share a stem::

    root/images/tile_001.jpg    root/masks/tile_001.png
    root/images/tile_002.png    root/masks/tile_002.png

:class:`SegmentationFolder` pairs them and reads each pair as the generated data sets of
:mod:`cnnlib.data` do: the image float32 ``(3, H, W)`` in [0, 1], the mask int64 ``(H, W)`` of
class indices. Masks are read by :func:`read_mask`: a palette ("P") or grayscale PNG holds the
class index in each pixel (a road mask saved as 0/255 can be turned into 0/1 with
``label_map={255: 1}``), an RGB mask is turned into indices with ``label_map`` (colour ->
class). Masks must be stored losslessly (PNG): JPEG blurs class boundaries into new values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from cnnlib.data.coco import read_image

__all__ = ["SegmentationFolder", "read_mask", "read_image_float"]


def read_image_float(path: str | Path) -> torch.Tensor:
    """Read an image file as float32 ``Tensor[3, H, W]`` RGB in [0, 1] (with Pillow).

    Grayscale, palette and RGBA files are converted to RGB (alpha dropped).

    Args:
        path (str | Path): a PNG, JPEG or any file Pillow reads.

    Returns:
        Tensor[3, H, W]: float32 in [0, 1].

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.fromarray(np.full((4, 5, 3), 255, np.uint8)).save(p)
        >>> x = read_image_float(p); (x.dtype, tuple(x.shape), float(x.max()))
        (torch.float32, (3, 4, 5), 1.0)
    """
    return read_image(path).float() / 255  # uint8 (3, H, W) -> float32 in [0, 1]


def read_mask(path: str | Path, label_map: Mapping | None = None) -> torch.Tensor:
    """Read a label mask as int64 ``Tensor[H, W]`` of class indices.

    Args:
        path (str | Path): a PNG mask. Palette ("P") and grayscale ("L", "I", "1") files give
            their stored values; RGB(A) files need ``label_map``.
        label_map (Mapping | None): stored value -> class index. Keys are ints for single-channel
            masks (``{255: 1}``) or ``(r, g, b)`` tuples for RGB masks. Values not in the map
            raise an error, so a typo in a colour is not silently read as background. ``None``
            keeps single-channel values as they are.

    Returns:
        Tensor[H, W]: int64.

    Raises:
        ValueError: for an RGB mask without ``label_map``, or a value missing from ``label_map``.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = Path(tempfile.mkdtemp()) / "m.png"
        >>> Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8)).save(p)
        >>> read_mask(p, label_map={0: 0, 255: 1}).tolist()
        [[0, 1], [1, 0]]
    """
    from PIL import Image

    with Image.open(path) as im:
        mode = im.mode
        if mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "PA"):
            if mode in ("LA", "PA"):
                arr = np.asarray(im)[..., 0].astype(np.int64)  # (H, W): drop alpha
            else:
                arr = np.asarray(im.convert("RGB")).astype(np.int64)  # (H, W, 3)
        else:  # P, L, I, I;16, 1: one stored value per pixel
            arr = np.asarray(im).astype(np.int64)
    if arr.ndim == 3:
        if label_map is None:
            raise ValueError(f"mask {path} is an RGB image: give label_map={{(r, g, b): class, ...}}")
        code = arr[..., 0] * 65536 + arr[..., 1] * 256 + arr[..., 2]  # (H, W) one int per colour
        keys = {}
        for colour, cls in label_map.items():
            if not isinstance(colour, (tuple, list)) or len(colour) != 3:
                raise ValueError(f"label_map keys must be (r, g, b) tuples for the RGB mask {path}, "
                                 f"got {colour!r}")
            keys[int(colour[0]) * 65536 + int(colour[1]) * 256 + int(colour[2])] = int(cls)
    else:
        if label_map is None:
            return torch.from_numpy(arr)
        code = arr
        keys = {}
        for value, cls in label_map.items():
            if isinstance(value, (tuple, list)):
                raise ValueError(f"mask {path} has one channel: label_map keys must be ints, got {value!r}")
            keys[int(value)] = int(cls)
    found = np.unique(code)
    missing = [int(v) for v in found if int(v) not in keys]
    if missing:
        shown = [(v >> 16, (v >> 8) & 255, v & 255) if arr.ndim == 3 else v for v in missing[:5]]
        raise ValueError(f"mask {path} holds values missing from label_map: {shown}")
    lut_from, lut_to = np.array(sorted(keys)), np.array([keys[k] for k in sorted(keys)])
    return torch.from_numpy(lut_to[np.searchsorted(lut_from, code)].astype(np.int64))


class SegmentationFolder(Dataset):
    """Image/mask pairs from ``root/images`` and ``root/masks``, matched by file stem.

    ``root/images/name.jpg`` goes with ``root/masks/name{mask_suffix}.png``. Files are listed
    once, in sorted order of name; items are read from disk when asked for.

    Args:
        root (str | Path): the data set's folder.
        images (str): sub-folder of the images.
        masks (str): sub-folder of the masks.
        transform (callable | None): called as ``transform(image, mask=mask)``; a paired
            transform of :mod:`cnnlib.data.paired` (returning an ``Augmented``) or any callable
            returning ``(image, mask)``.
        image_exts (Sequence[str]): image file endings (case-insensitive).
        mask_suffix (str): added to the stem to name the mask (``"_mask"`` for ``a_mask.png``).
        label_map (Mapping | None): passed to :func:`read_mask`.

    Raises:
        FileNotFoundError: if a folder is missing, holds no image, or an image has no mask.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "masks").mkdir()
        >>> Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(root / "images" / "a.jpg")
        >>> Image.fromarray(np.ones((6, 8), np.uint8)).save(root / "masks" / "a.png")
        >>> image, mask = SegmentationFolder(root)[0]
        >>> tuple(image.shape), tuple(mask.shape), mask.dtype
        ((3, 6, 8), (6, 8), torch.int64)
    """

    def __init__(self, root: str | Path, images: str = "images", masks: str = "masks",
                 transform: Callable | None = None, image_exts: Sequence[str] = (".png", ".jpg", ".jpeg"),
                 mask_suffix: str = "", label_map: Mapping | None = None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        if isinstance(image_exts, str) or not all(isinstance(e, str) for e in image_exts):
            raise TypeError(f"image_exts must be a sequence of strings such as ('.png', '.jpg'), "
                            f"got {image_exts!r}")
        if label_map is not None and not isinstance(label_map, Mapping):
            raise TypeError(f"label_map must be a mapping (value or colour -> class) or None, "
                            f"got {type(label_map).__name__}")
        self.root = Path(root)
        self.image_dir, self.mask_dir = self.root / images, self.root / masks
        for name, folder in (("images", self.image_dir), ("masks", self.mask_dir)):
            if not folder.is_dir():
                raise FileNotFoundError(f"{name} folder {folder} does not exist")
        exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in image_exts}
        files = sorted(p for p in self.image_dir.iterdir() if p.is_file() and p.suffix.lower() in exts)
        if not files:
            raise FileNotFoundError(f"no image with an ending in {sorted(exts)} in {self.image_dir}")
        self.pairs: list[tuple[Path, Path]] = []
        missing = []
        for p in files:
            m = self.mask_dir / f"{p.stem}{mask_suffix}.png"
            (self.pairs.append((p, m)) if m.is_file() else missing.append(m.name))
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) in {self.image_dir} have no mask in "
                                    f"{self.mask_dir}, e.g. {missing[:3]}")
        self.transform, self.label_map = transform, label_map

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} pairs")
        image_path, mask_path = self.pairs[int(i)]
        image, mask = read_image_float(image_path), read_mask(mask_path, self.label_map)
        if tuple(image.shape[1:]) != tuple(mask.shape):
            raise ValueError(f"image {image_path.name} is {tuple(image.shape[1:])} (H, W) but its mask "
                             f"{mask_path.name} is {tuple(mask.shape)}")
        if self.transform is not None:
            out = self.transform(image, mask=mask)
            image, mask = (out.image, out.mask) if hasattr(out, "mask") else out
        return image, mask
