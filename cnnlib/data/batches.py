"""Mini-batches straight from tensors in memory, for :func:`cnnlib.train.fit`.

When a data set is a few tensors already in memory (drawn scenes, features, encoded targets), a
``DataLoader`` would fetch its items one by one and stack them again. These two iterables index
whole batches at once instead, from an explicit generator:

- :class:`ShuffledBatches`: one pass over the rows in a new random order per epoch (without
  replacement), as ``DataLoader(shuffle=True)`` would;
- :class:`RandomBatches`: a fixed number of batches of rows drawn with replacement, for runs
  counted in steps rather than epochs;
- :class:`TileBatches`: shuffled batches of images with their label maps, each pair cut to a
  random square window and turned by one of the 8 symmetries of the square (rotations by
  multiples of 90 degrees, with or without a mirror), the augmentation of aerial tiles, which
  have no "up".
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from cnnlib._checks import check_generator, check_int

__all__ = ["ShuffledBatches", "RandomBatches", "TileBatches"]


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


class TileBatches:
    """Shuffled batches of ``(images, masks)`` with a random crop and a random square symmetry each.

    Each pass visits the rows in a new random order (``torch.randperm``), ``batch_size`` at a
    time (a last, shorter batch is dropped). For every pair it draws, from ``generator``, a
    ``crop x crop`` window (top, then left, uniform) and one of the 8 symmetries of the square
    (``k`` quarter turns, then a left-right mirror or not), and applies the same ones to the image
    and its mask, so labels stay on their pixels. A crop smaller than the tile trains on more
    distinct views per second; a fully convolutional network then runs on whole tiles.

    Args:
        images (Tensor[N, C, H, W]): the images.
        masks (Tensor[N, H, W]): their label maps (any dtype; kept).
        batch_size (int): pairs per batch, ``<= N``.
        crop (int | None): side of the square window, ``<= min(H, W)``; ``None`` keeps whole tiles
            (which must then be square if ``dihedral``).
        dihedral (bool): apply a random symmetry of the square (else only the crop).
        generator (torch.Generator | None): the source of every draw (default: a new one seeded 0).

    Yields:
        tuple[Tensor, Tensor]: ``(B, C, crop, crop)`` images and ``(B, crop, crop)`` masks, contiguous.

    Raises:
        TypeError / ValueError: for shapes that do not pair up, a batch larger than the data, a crop
            larger than the tiles, non-square tiles with ``dihedral`` and no crop, or a generator
            that is not a ``torch.Generator``.

    Example:
        >>> images, masks = torch.rand(6, 3, 8, 8), torch.randint(0, 2, (6, 8, 8))
        >>> x, m = next(iter(TileBatches(images, masks, batch_size=4, crop=5)))
        >>> tuple(x.shape), tuple(m.shape), len(TileBatches(images, masks, batch_size=4))
        ((4, 3, 5, 5), (4, 5, 5), 1)
    """

    def __init__(self, images: torch.Tensor, masks: torch.Tensor, batch_size: int, crop: int | None = None,
                 dihedral: bool = True, generator: torch.Generator | None = None):
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise TypeError(f"images must be a Tensor (N, C, H, W), got "
                            f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
        N, _, H, W = images.shape
        if not isinstance(masks, torch.Tensor) or tuple(masks.shape) != (N, H, W):
            raise ValueError(f"masks must be a Tensor (N, H, W) = {(N, H, W)} to match the images, got "
                             f"{tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__}")
        check_int(batch_size, "batch_size")
        if batch_size > N:
            raise ValueError(f"batch_size {batch_size} is larger than the {N} images")
        if crop is not None:
            check_int(crop, "crop")
            if crop > min(H, W):
                raise ValueError(f"crop {crop} is larger than the tiles ({H}x{W})")
        elif dihedral and H != W:
            raise ValueError(f"dihedral symmetries need square tiles or a square crop, got {H}x{W} and crop=None")
        self.images, self.masks, self.batch_size = images, masks, batch_size
        self.crop, self.dihedral = crop, bool(dihedral)
        self.generator = check_generator(generator) or torch.Generator().manual_seed(0)

    def __len__(self) -> int:
        return len(self.images) // self.batch_size

    def _view(self, x: torch.Tensor, top: int, left: int, turns: int, mirror: bool) -> torch.Tensor:
        """One pair member (``(C, H, W)`` or ``(H, W)``): the window, ``turns`` quarter turns, a mirror."""
        if self.crop is not None:
            x = x[..., top:top + self.crop, left:left + self.crop]
        x = torch.rot90(x, turns, dims=(-2, -1))
        return x.flip(-1) if mirror else x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        N, _, H, W = self.images.shape
        c = self.crop
        perm = torch.randperm(N, generator=self.generator)
        for k in range(len(self)):
            idx = perm[k * self.batch_size:(k + 1) * self.batch_size].tolist()
            B = len(idx)
            tops = torch.randint(H - c + 1, (B,), generator=self.generator).tolist() if c else [0] * B
            lefts = torch.randint(W - c + 1, (B,), generator=self.generator).tolist() if c else [0] * B
            turns = torch.randint(4, (B,), generator=self.generator).tolist() if self.dihedral else [0] * B
            mirrors = torch.randint(2, (B,), generator=self.generator).tolist() if self.dihedral else [0] * B
            draws = list(zip(idx, tops, lefts, turns, mirrors))
            x = torch.stack([self._view(self.images[i], t, l, r, bool(f)) for i, t, l, r, f in draws])
            m = torch.stack([self._view(self.masks[i], t, l, r, bool(f)) for i, t, l, r, f in draws])
            yield x.contiguous(), m.contiguous()
