"""Face verification and recognition with a database of enrolled encodings (seed 001).

- **Verification** (1:1): a photo and a claimed identity; accept when the distance of the two
  encodings is at most a threshold, ``d(x1, x2) <= tau`` ("same"), else reject.
- **Recognition** (1:K): a photo and a database of ``K`` people; answer the nearest person if
  their distance is at most ``tau``, otherwise "not recognised" (``None``).

Enrolling a new person stores their encoding(s); nothing is retrained: that is one-shot
learning. Distances are squared Euclidean (the course's ``d``); a person enrolled with several
photos is as near as their nearest photo. Choose ``tau`` on validation identities
(:func:`~cnnlib.metric_learning.choose_threshold`), never on the people it will be used on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from cnnlib._checks import check_float
from cnnlib.metric_learning._common import embeddings as _embeddings
from cnnlib.metric_learning._common import paired

__all__ = ["verify", "identify", "FaceDatabase"]


def _sq_distances(q: torch.Tensor, e: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """``||q_i - e_j||^2`` from the differences themselves ``(N, M)``: exact at a threshold, unlike
    the matrix-product form of :func:`~cnnlib.metric_learning.pairwise_sq_distances`."""
    return torch.cat([(q[i:i + chunk, None] - e[None]).pow(2).sum(-1) for i in range(0, len(q), chunk)])


def verify(query_emb: torch.Tensor, enrolled_emb: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Is the query the enrolled person? ``d = ||q - e||^2`` and ``d <= threshold``.

    Args:
        query_emb (Tensor[D] | Tensor[N, D]): the encoding(s) of the photo(s) to check.
        enrolled_emb (Tensor[D] | Tensor[N, D]): the claimed person's encoding(s), one per query
            (or one for all of them).
        threshold (float): ``tau``; a distance equal to it counts as "same".

    Returns:
        tuple: ``distance`` and ``is_same`` (bool), both of shape ``()`` for vectors or ``(N,)``.

    Raises:
        TypeError, ValueError: for mismatched sizes, dtypes or devices, or a non-finite threshold.

    Example:
        >>> d, same = verify(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5]), threshold=0.25)
        >>> d.item(), bool(same)
        (0.25, True)
    """
    tau = check_float(threshold, "threshold")
    single = isinstance(query_emb, torch.Tensor) and query_emb.dim() == 1
    q = _embeddings(query_emb, "query_emb", allow_single=True)
    e = _embeddings(enrolled_emb, "enrolled_emb", allow_single=True)
    if len(e) == 1 and len(q) > 1:
        e = e.expand_as(q)
    paired(q, e, "query_emb", "enrolled_emb")
    d = (q - e).pow(2).sum(1)  # (N,)
    if single and len(d) == 1:
        d = d[0]
    return d, d <= tau


def identify(query_emb: torch.Tensor, database: Mapping[str, torch.Tensor],
             threshold: float) -> tuple[str | None, float]:
    """Who is this? The nearest enrolled person if within ``threshold``, else ``None`` ("not recognised").

    Args:
        query_emb (Tensor[D]): the encoding of one photo.
        database (Mapping[str, Tensor]): name -> that person's encoding ``(D,)`` or encodings
            ``(K, D)`` (the nearest one counts).
        threshold (float): ``tau``; a distance equal to it is still recognised.

    Returns:
        tuple: ``(name or None, distance)``: the nearest person and their squared distance (a
        float; ``inf`` for an empty database). Ties go to the person enrolled first.

    Raises:
        TypeError, ValueError: for a query that is not one vector, or entries of another size,
            dtype or device.

    Example:
        >>> db = {"ada": torch.tensor([0.0, 0.0]), "alan": torch.tensor([[3.0, 0.0], [1.0, 1.0]])}
        >>> identify(torch.tensor([1.0, 0.5]), db, 0.5), identify(torch.tensor([9.0, 9.0]), db, 0.5)[0]
        (('alan', 0.25), None)
    """
    tau = check_float(threshold, "threshold")
    if not isinstance(query_emb, torch.Tensor) or query_emb.dim() != 1:
        got = tuple(query_emb.shape) if isinstance(query_emb, torch.Tensor) else type(query_emb).__name__
        raise ValueError(f"query_emb must be one encoding, a Tensor[D], got {got}")
    if not isinstance(database, Mapping):
        raise TypeError(f"database must be a mapping name -> Tensor[D] or Tensor[K, D], got {type(database).__name__}")
    q = _embeddings(query_emb, "query_emb", allow_single=True)
    best_name, best = None, math.inf
    for name, enrolled in database.items():
        e = _embeddings(enrolled, f"database[{name!r}]", allow_single=True)
        paired(q, e, "query_emb", f"database[{name!r}]", same_rows=False)
        d = _sq_distances(q, e).min().item()
        if d < best:
            best_name, best = name, d
    return (best_name if best <= tau else None), best


class FaceDatabase:
    """People enrolled from one or more photos; verify a claim, identify a photo, reject strangers.

    Args:
        threshold (float): ``tau`` for :meth:`verify` and :meth:`identify`.
        embed (Callable | None): images ``(N, C, H, W)`` -> encodings ``(N, D)``, called without
            gradients (put a network in eval mode first). ``None``: pass encodings directly.

    Example:
        >>> db = FaceDatabase(threshold=0.5)
        >>> db.enrol("ada", torch.tensor([0.0, 0.0])); db.enrol("alan", torch.tensor([1.0, 1.0]))
        >>> db.identify(torch.tensor([1.0, 1.5])), db.identify(torch.tensor([5.0, 5.0]))[0]
        (('alan', 0.25), None)
        >>> bool(db.verify(torch.tensor([0.1, 0.0]), "ada")[1]), db.names
        (True, ['ada', 'alan'])
    """

    def __init__(self, threshold: float, embed: Callable[[torch.Tensor], torch.Tensor] | None = None):
        self.threshold = check_float(threshold, "threshold")
        if embed is not None and not callable(embed):
            raise TypeError(f"embed must be callable or None, got {type(embed).__name__}")
        self.embed = embed
        self.entries: dict[str, torch.Tensor] = {}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Encodings ``(N, D)`` of images (with ``embed``) or of encodings given directly."""
        if self.embed is None:
            return _embeddings(x, "x", allow_single=True).detach()
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            raise ValueError(f"x must be images (N, C, H, W) or one image (C, H, W) for embed, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        with torch.no_grad():
            return _embeddings(self.embed(x[None] if x.dim() == 3 else x), "embed(x)")

    def enrol(self, name: str, x: torch.Tensor) -> None:
        """Add photos (or encodings) of ``name``; enrolling a name again adds to its photos."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        e = self.encode(x)
        if name in self.entries:
            paired(self.entries[name], e, f"the encodings of {name!r}", "x", same_rows=False)
            e = torch.cat([self.entries[name], e])
        self.entries[name] = e

    def remove(self, name: str) -> None:
        """Forget ``name`` (``KeyError`` if not enrolled)."""
        del self.entries[name]

    @property
    def names(self) -> list[str]:
        """The enrolled people, in the order of enrolment."""
        return list(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def verify(self, x: torch.Tensor, name: str) -> tuple[float, bool]:
        """``(distance, is_same)`` of one photo against the claimed ``name`` (its nearest photo)."""
        if name not in self.entries:
            raise KeyError(f"{name!r} is not enrolled; enrolled: {self.names[:10]}")
        d = _sq_distances(self.encode(x)[:1], self.entries[name]).min().item()
        return d, d <= self.threshold

    def identify(self, x: torch.Tensor) -> tuple[str | None, float]:
        """``(name or None, distance)`` for one photo, as :func:`identify`."""
        q = self.encode(x)
        if len(q) != 1:
            raise ValueError(f"identify takes one photo, got {len(q)}; use identify_batch")
        return identify(q[0], self.entries, self.threshold)

    def identify_batch(self, x: torch.Tensor) -> tuple[list[str | None], torch.Tensor]:
        """Names (or ``None``) and distances ``(N,)`` of many photos at once."""
        q = self.encode(x)
        if not self.entries:
            return [None] * len(q), torch.full((len(q),), math.inf)
        stored = torch.cat(list(self.entries.values()))  # (M, D)
        owner = [name for name, e in self.entries.items() for _ in range(len(e))]
        d, j = _sq_distances(q, stored).min(dim=1)  # (N,)
        return [owner[k] if dist <= self.threshold else None for k, dist in zip(j.tolist(), d.tolist())], d
