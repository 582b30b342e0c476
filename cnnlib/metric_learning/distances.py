"""Pairwise distances between embeddings: squared Euclidean, Euclidean and cosine.

A Siamese network compares two images through the distance of their encodings (seed 001:
``d(x1, x2) = ||f(x1) - f(x2)||^2``, "same" when ``d <= tau``). Losses and miners need the
distance of every pair in a batch at once; the database needs every query against every
enrolled face. All three metrics are computed from one matrix product:

- squared Euclidean ``||a_i - b_j||^2 = ||a_i||^2 + ||b_j||^2 - 2 a_i . b_j``, clamped at 0
  (rounding can make it slightly negative), the course's ``d`` and the default everywhere;
- Euclidean, its square root, with a gradient of 0 (not NaN) where the distance is exactly 0;
- cosine distance ``1 - cos(a_i, b_j)`` in [0, 2], for embeddings on the unit sphere (ArcFace).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_choice
from cnnlib.metric_learning._common import embeddings, paired

__all__ = ["METRICS", "pairwise_sq_distances", "pairwise_distances", "safe_sqrt"]

#: The metrics :func:`pairwise_distances` accepts.
METRICS = ("squared", "euclidean", "cosine")


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(x)`` for ``x >= 0`` whose gradient is 0 instead of NaN/inf where ``x == 0``.

    Example:
        >>> x = torch.tensor([0.0, 4.0], requires_grad=True)
        >>> y = safe_sqrt(x); y.sum().backward(); y.tolist(), x.grad.tolist()
        ([0.0, 2.0], [0.0, 0.25])
    """
    zero = x == 0
    return torch.sqrt(x.masked_fill(zero, 1.0)).masked_fill(zero, 0.0)


def pairwise_sq_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distance of every row of ``a`` to every row of ``b`` (seed 001's ``d``).

    Args:
        a (Tensor[N, D]): embeddings.
        b (Tensor[M, D]): embeddings, same dtype and device.

    Returns:
        Tensor[N, M]: ``||a_i - b_j||^2``, >= 0.

    Raises:
        TypeError: for non-tensors, integer tensors or another dtype.
        ValueError: for other shapes, widths or devices.

    Example:
        >>> pairwise_sq_distances(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[3.0, 4.0]]))
        tensor([[25.],
                [13.]])
    """
    a, b = embeddings(a, "a"), embeddings(b, "b")
    paired(a, b, "a", "b", same_rows=False)
    sq = a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None, :] - 2 * a @ b.T  # (N, M)
    return sq.clamp_min(0)


def pairwise_distances(a: torch.Tensor, b: torch.Tensor | None = None, metric: str = "squared") -> torch.Tensor:
    """Distances of every row of ``a`` to every row of ``b`` (to ``a`` itself when ``b`` is None).

    With ``b=None`` the diagonal is exactly 0 for every metric (each row against itself).

    Args:
        a (Tensor[N, D]): embeddings.
        b (Tensor[M, D] | None): embeddings, same dtype and device; default ``a``.
        metric (str): one of :data:`METRICS`: ``"squared"`` Euclidean, ``"euclidean"``, or
            ``"cosine"`` (``1 - cos``; a zero row counts as distance 1 from everything).

    Returns:
        Tensor[N, M]: the distances.

    Raises:
        ValueError: for an unknown metric, or as :func:`pairwise_sq_distances`.

    Example:
        >>> x = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
        >>> pairwise_distances(x, metric="euclidean")
        tensor([[0.0000, 4.2426],
                [4.2426, 0.0000]])
        >>> round(pairwise_distances(x, metric="cosine")[0, 1].item(), 4)  # 1 - 4/5
        0.2
    """
    check_choice(metric, "metric", METRICS)
    a = embeddings(a, "a")
    other = a if b is None else embeddings(b, "b")
    if metric == "cosine":
        paired(a, other, "a", "b", same_rows=False)
        d = 1 - F.normalize(a, dim=1) @ F.normalize(other, dim=1).T  # (N, M)
    else:
        d = pairwise_sq_distances(a, other)
    if b is None:
        d = d * (1 - torch.eye(len(a), dtype=d.dtype, device=d.device))  # each row is 0 from itself
    return safe_sqrt(d) if metric == "euclidean" else d
