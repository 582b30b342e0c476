"""Reader for the IDX files of the full MNIST data set (LeCun et al., yann.lecun.com/exdb/mnist).

An IDX file is: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian uint32,
then the values, big-endian, row-major. The four MNIST files are
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, optionally gzipped (``.gz``). Nothing here downloads unless
:func:`download_mnist` is called explicitly.
"""

from __future__ import annotations

import gzip
import struct
import urllib.request
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "load_mnist_idx", "download_mnist", "MNIST_FILES"]

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (plain or ``.gz``) into a NumPy array of its stored shape and type.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the magic number, type code or size is wrong (a corrupt or truncated file).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "t.idx")
        >>> _ = open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> read_idx(p).tolist()
        [7, 8, 9]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes (magic number)")
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; valid: {[hex(c) for c in _DTYPES]}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated: header needs {header} bytes, file has {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{path} is truncated or corrupt: shape {shape} needs {expected} bytes of data, "
                         f"found {len(data) - header}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{name}[.gz] not found in {folder}. Put the four MNIST IDX files there, or call "
        f"cnnlib.data.download_mnist({str(folder)!r}) once on a machine with internet access."
    )


def load_mnist_idx(folder: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load the full MNIST ``train`` (60,000) or ``test`` (10,000) split from a local folder.

    Returns:
        tuple: images ``uint8 (N, 28, 28)`` and labels ``uint8 (N,)``.

    Raises:
        ValueError: for an unknown split or images and labels of different lengths.
        FileNotFoundError: if the folder or a file is missing (the message says how to get it).
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {tuple(MNIST_FILES)}, got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} does not exist; create it and put the IDX files there, "
                                f"or call cnnlib.data.download_mnist({str(folder)!r})")
    images = read_idx(_find(folder, MNIST_FILES[split][0]))
    labels = read_idx(_find(folder, MNIST_FILES[split][1]))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"images {images.shape} and labels {labels.shape} in {folder} do not match")
    return images, labels


def download_mnist(folder: str | Path, mirror: str = _MIRROR) -> Path:
    """Download the four gzipped MNIST IDX files into ``folder`` (needs internet access).

    Files already present are kept. Returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for names in MNIST_FILES.values():
        for name in names:
            target = folder / f"{name}.gz"
            if not target.exists():
                urllib.request.urlretrieve(f"{mirror}{name}.gz", target)  # noqa: S310 (explicit URL)
    return folder
