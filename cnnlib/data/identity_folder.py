"""A face-identity data set on disk: one folder per person, as LFW ships it.

Labelled Faces in the Wild (Huang et al. 2007) and most identity sets exported for training
(CASIA-WebFace, VGGFace2, one's own photos) are laid out as::

    root/Aaron_Peirsol/Aaron_Peirsol_0001.jpg
    root/Aaron_Peirsol/Aaron_Peirsol_0002.jpg
    root/Abdullah_Gul/Abdullah_Gul_0001.jpg

:class:`IdentityFolder` lists the people (sub-folders, in sorted order: label ``k`` is
``names[k]``) and their photos (sorted by file name), optionally keeps only people with at
least ``min_images`` photos (verification needs two of the same person), and reads each photo
as the generated faces of :mod:`cnnlib.data.faces` are given: float32 ``(C, H, W)`` in [0, 1].
:func:`load_identity_folder` reads a whole folder into two tensors, resized to one size. Nothing
is downloaded: LFW, when present, is read from where it was unpacked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from cnnlib._checks import check_int
from cnnlib.data.segfolder import read_image_float

__all__ = ["IdentityFolder", "load_identity_folder"]


class IdentityFolder(Dataset):
    """Photos of people from ``root/<name>/<file>``; the label is the person's index in ``names``.

    Args:
        root (str | Path): the folder holding one sub-folder per person.
        min_images (int): keep only people with at least this many photos (>= 1).
        transform (callable | None): applied to each image ``Tensor[C, H, W]``.
        exts (Sequence[str]): photo file endings (case-insensitive).
        grayscale (bool): read one channel (Pillow's luminance) instead of RGB.

    Attributes:
        names (list[str]): the people kept, sorted; label ``k`` is ``names[k]``.
        samples (list[tuple[Path, int]]): every photo with its label, person by person.
        counts (dict[str, int]): photos per person.

    Raises:
        FileNotFoundError: if ``root`` is not a folder or holds no photo.
        ValueError: if no person has ``min_images`` photos.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for name, n in (("Ada_Lovelace", 2), ("Alan_Turing", 1)):
        ...     (root / name).mkdir()
        ...     for j in range(1, n + 1):
        ...         Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(root / name / f"{name}_{j:04d}.jpg")
        >>> ds = IdentityFolder(root)
        >>> ds.names, ds.counts["Ada_Lovelace"], tuple(ds[2][0].shape), ds[2][1]
        (['Ada_Lovelace', 'Alan_Turing'], 2, (3, 6, 5), 1)
        >>> IdentityFolder(root, min_images=2).names
        ['Ada_Lovelace']
    """

    def __init__(self, root: str | Path, min_images: int = 1, transform: Callable | None = None,
                 exts: Sequence[str] = (".jpg", ".jpeg", ".png"), grayscale: bool = False):
        check_int(min_images, "min_images", 1)
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        if isinstance(exts, str) or not all(isinstance(e, str) for e in exts):
            raise TypeError(f"exts must be a sequence of strings such as ('.jpg', '.png'), got {exts!r}")
        if not isinstance(grayscale, bool):
            raise TypeError(f"grayscale must be a bool, got {grayscale!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"identity folder {self.root} does not exist")
        endings = {e.lower() if e.startswith(".") else "." + e.lower() for e in exts}
        people = {}
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in endings)
            if files:
                people[folder.name] = files
        if not people:
            raise FileNotFoundError(f"no photo with an ending in {sorted(endings)} in the sub-folders of {self.root} "
                                    f"(expected root/<name>/<name>_0001.jpg)")
        kept = {name: files for name, files in people.items() if len(files) >= min_images}
        if not kept:
            raise ValueError(f"no person in {self.root} has min_images={min_images} photos "
                             f"(the most is {max(len(f) for f in people.values())})")
        self.names = list(kept)
        self.counts = {name: len(files) for name, files in kept.items()}
        self.samples = [(f, k) for k, files in enumerate(kept.values()) for f in files]
        self.transform, self.grayscale = transform, grayscale

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> torch.Tensor:
        """int64 ``Tensor[N]``: the label of every photo, without reading any."""
        return torch.tensor([k for _, k in self.samples], dtype=torch.int64)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(i).__name__}")
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} photos")
        path, label = self.samples[int(i)]
        image = read_image_float(path)  # (3, H, W) in [0, 1]
        if self.grayscale:
            image = (image * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0, keepdim=True)  # (1, H, W)
        return (self.transform(image) if self.transform is not None else image), label


def load_identity_folder(root: str | Path, min_images: int = 1, size: int | None = None,
                         max_per_identity: int | None = None,
                         grayscale: bool = False) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Read a whole identity folder into memory: images, labels and the people's names.

    Args:
        root (str | Path): as :class:`IdentityFolder`.
        min_images (int): keep only people with at least this many photos.
        size (int | None): resize every photo to ``size x size`` (bilinear, antialiased); ``None``
            requires all photos to share one size (LFW's are 250x250).
        max_per_identity (int | None): keep at most the first this many photos of a person.
        grayscale (bool): one channel instead of RGB.

    Returns:
        tuple: ``images`` float32 ``Tensor[N, C, H, W]`` in [0, 1], ``labels`` int64
        ``Tensor[N]`` and ``names`` (label ``k`` is ``names[k]``).

    Raises:
        ValueError: for photos of different sizes without ``size``, or a bad argument.
        FileNotFoundError: as :class:`IdentityFolder`.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp()); (root / "Ada").mkdir()
        >>> for j, side in enumerate((10, 12)):
        ...     Image.fromarray(np.zeros((side, side, 3), np.uint8)).save(root / "Ada" / f"Ada_{j + 1:04d}.png")
        >>> images, labels, names = load_identity_folder(root, size=8)
        >>> tuple(images.shape), labels.tolist(), names
        ((2, 3, 8, 8), [0, 0], ['Ada'])
    """
    if size is not None:
        check_int(size, "size", 1)
    if max_per_identity is not None:
        check_int(max_per_identity, "max_per_identity", 1)
    data = IdentityFolder(root, min_images=min_images, grayscale=grayscale)
    taken: dict[int, int] = {}
    images, labels = [], []
    for i, (path, label) in enumerate(data.samples):
        if max_per_identity is not None and taken.get(label, 0) >= max_per_identity:
            continue
        taken[label] = taken.get(label, 0) + 1
        image = data[i][0]
        if size is not None:
            image = F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True,
                                  align_corners=False)[0].clamp(0, 1)
        elif images and image.shape != images[0].shape:
            raise ValueError(f"photos differ in size ({path.name} is {tuple(image.shape[1:])}, the first "
                             f"{tuple(images[0].shape[1:])}): pass size= to resize them")
        images.append(image)
        labels.append(label)
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64), data.names
