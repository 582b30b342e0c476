"""P x K batches: ``P`` people with ``K`` photos each, so every batch holds positives and negatives.

Mining (:mod:`~cnnlib.metric_learning.mining`) finds triplets inside a batch, which needs
several photos of each person in it; a random batch of 64 photos of 1,000 people has almost
none. Hermans, Beyer and Leibe (2017) draw ``P`` people, then ``K`` photos of each:

- :class:`PKSampler` is a batch sampler for a ``DataLoader`` (``batch_sampler=``) that yields
  the row indices of such batches; each pass over it visits every person (with at least two
  photos) once, in a new order, ``P`` at a time;
- :class:`PKBatches` takes the tensors themselves (images and labels in memory) and yields the
  batches, ready for :func:`cnnlib.train.fit`.

A person with fewer than ``K`` photos gives all of them and repeats some (drawn with
replacement) to fill ``K``; a person with one photo has no positive and is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from cnnlib._checks import check_int

__all__ = ["PKSampler", "PKBatches"]


class PKSampler:
    """Yields ``num_batches`` lists of ``P * K`` row indices: ``K`` rows of each of ``P`` people.

    Pass ``e`` (counting from 0) draws from ``numpy.random.default_rng([seed, e])``, so a run
    is reproducible and each pass differs.

    Args:
        labels (Tensor[N] | Sequence[int]): the identity of every row of the data set.
        p (int): people per batch (>= 2, at most the number of people with two photos).
        k (int): photos per person (>= 2).
        num_batches (int | None): batches per pass; default: as many as fit the people once
            (``people // p``); more cycle through them in a fresh order.
        seed (int): the sampler's seed.

    Raises:
        ValueError: if fewer than ``p`` people have two photos, or an argument is out of range.

    Example:
        >>> sampler = PKSampler(torch.tensor([0, 0, 1, 1, 1, 2, 2, 3]), p=2, k=2, seed=0)
        >>> batches = list(sampler)
        >>> len(batches), [len(b) for b in batches], sorted(len(set(b)) for b in batches)
        (1, [4], [4])
    """

    def __init__(self, labels: torch.Tensor | Sequence[int], p: int, k: int, num_batches: int | None = None,
                 seed: int = 0):
        check_int(p, "p", 2), check_int(k, "k", 2), check_int(seed, "seed", 0)
        y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be a 1-D sequence of integer identities, got shape {y.shape} {y.dtype}")
        people, counts = np.unique(y, return_counts=True)
        self.rows = {int(c): np.flatnonzero(y == c) for c in people[counts >= 2]}
        if len(self.rows) < p:
            raise ValueError(f"p={p} people per batch, but only {len(self.rows)} people have two or more photos")
        self.p, self.k, self.seed, self.epoch = p, k, seed, 0
        self.num_batches = len(self.rows) // p if num_batches is None else check_int(num_batches, "num_batches")

    def __len__(self) -> int:
        return self.num_batches

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass the ``epoch``-th one (to resume a run)."""
        self.epoch = check_int(epoch, "epoch", 0)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        people = np.array(list(self.rows))
        order: list[int] = []
        for _ in range(self.num_batches):
            if len(order) < self.p:
                order += rng.permutation(people).tolist()
            batch = []
            for person in order[:self.p]:
                rows = self.rows[person]
                picked = rng.choice(rows, self.k, replace=len(rows) < self.k)
                if len(rows) < self.k:  # every photo once, the rest repeats
                    picked = np.concatenate([rng.permutation(rows), picked[:self.k - len(rows)]])
                batch += picked.tolist()
            del order[:self.p]
            yield batch


class PKBatches:
    """``(x[rows], labels[rows], ...)`` for the row lists of a :class:`PKSampler`, re-iterable.

    Args:
        *tensors (Tensor[N, ...]): rows that belong together; ``tensors[label_index]`` holds the
            integer identities.
        p (int): people per batch.
        k (int): photos per person.
        num_batches (int | None): batches per pass (see :class:`PKSampler`).
        seed (int): the sampler's seed.
        label_index (int): which tensor holds the labels (default the last).

    Example:
        >>> x, y = torch.randn(12, 5), torch.arange(4).repeat_interleave(3)
        >>> xb, yb = next(iter(PKBatches(x, y, p=2, k=3)))
        >>> tuple(xb.shape), torch.bincount(yb).max().item()
        ((6, 5), 3)
    """

    def __init__(self, *tensors: torch.Tensor, p: int, k: int, num_batches: int | None = None, seed: int = 0,
                 label_index: int = -1):
        if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise TypeError(f"need tensors with a first (row) dimension, got {[type(t).__name__ for t in tensors]}")
        if any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError(f"the tensors must have the same number of rows, got {[len(t) for t in tensors]}")
        self.tensors = tensors
        self.sampler = PKSampler(tensors[label_index], p, k, num_batches, seed)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for rows in self.sampler:
            idx = torch.tensor(rows, dtype=torch.int64)
            yield tuple(t[idx.to(t.device)] for t in self.tensors)
