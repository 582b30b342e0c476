"""Mini-batches straight from tensors in memory, for :func:`cnnlib.train.fit`.

When a data set is a few tensors already in memory (drawn scenes, features, encoded targets), a
``DataLoader`` would fetch its items one by one and stack them again. These two iterables index
whole batches at once instead, from an explicit generator:

- :class:`ShuffledBatches`: one pass over the rows in a new random order per epoch (without
  replacement), as ``DataLoader(shuffle=True)`` would;
- :class:`RandomBatches`: a fixed number of batches of rows drawn with replacement, for runs
  counted in steps rather than epochs.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from cnnlib._checks import check_int

__all__ = ["ShuffledBatches", "RandomBatches"]


def _tensors(tensors: tuple, batch_size) -> int:
    if not tensors or not all(isinstance(t, torch.Tensor) and t.dim() >= 1 for t in tensors):
        raise TypeError(f"need one or more tensors with a first (row) dimension, got "
                        f"{[type(t).__name__ for t in tensors]}")
    n = len(tensors[0])
    if any(len(t) != n for t in tensors) or n == 0:
        raise ValueError(f"the tensors must have the same number of rows, at least one; got {[len(t) for t in tensors]}")
    check_int(batch_size, "batch_size")
    return n


class ShuffledBatches:
    """Batches of rows of the same tensors, in a new random order each time it is iterated.

    Each pass draws ``torch.randperm(N, generator=generator)`` and yields consecutive slices of
    ``batch_size`` rows (the last one shorter unless ``drop_last``).

    Args:
        *tensors (Tensor[N, ...]): rows that belong together (images, targets, ...).
        batch_size (int): rows per batch.
        generator (torch.Generator | None): the source of the orders (default: a new one seeded 0).
        drop_last (bool): leave out a last, shorter batch.

    Example:
        >>> batches = ShuffledBatches(torch.arange(5), torch.arange(5) * 10, batch_size=2)
        >>> [tuple(x.tolist()) for x, _ in batches], len(batches)
        ([(4, 0), (1, 3), (2,)], 3)
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                 drop_last: bool = False):
        self.n = _tensors(tensors, batch_size)
        self.tensors, self.batch_size, self.drop_last = tensors, batch_size, drop_last
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        perm = torch.randperm(self.n, generator=self.generator)
        for k in range(0, len(self) * self.batch_size, self.batch_size):
            idx = perm[k:k + self.batch_size]
            yield tuple(t[idx] for t in self.tensors)


class RandomBatches:
    """``num_batches`` batches of rows drawn with replacement, each with ``torch.randint``.

    The rows of a batch are drawn when the batch is requested, so a step that draws from the same
    generator (e.g. to sample anchors) interleaves with the batches in a fixed order.

    Args:
        *tensors (Tensor[N, ...]): rows that belong together.
        batch_size (int): rows per batch.
        num_batches (int): batches per pass (an "epoch").
        generator (torch.Generator | None): the source of the draws (default: a new one seeded 0).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> batches = RandomBatches(torch.arange(10), batch_size=3, num_batches=2, generator=g)
        >>> [x.tolist() for (x,) in batches] == [torch.randint(10, (3,), generator=h).tolist()
        ...     for h in [torch.Generator().manual_seed(0)] for _ in range(2)]
        True
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, num_batches: int,
                 generator: torch.Generator | None = None):
        self.n = _tensors(tensors, batch_size)
        check_int(num_batches, "num_batches")
        self.tensors, self.batch_size, self.num_batches = tensors, batch_size, num_batches
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for _ in range(self.num_batches):
            idx = torch.randint(self.n, (self.batch_size,), generator=self.generator)
            yield tuple(t[idx] for t in self.tensors)
