"""Choosing triplets inside a batch: all, hard and semi-hard mining, and the losses built on them.

Random triplets are mostly easy: ``d(A, P) + alpha <= d(A, N)`` already holds and they teach
nothing (seed 001: "choose triplets that are hard to train on"). Given a batch of ``P`` people
with ``K`` photos each (:class:`~cnnlib.metric_learning.PKSampler`), every valid triplet
``(a, p, n)`` (``a != p`` of one person, ``n`` of another) is at hand; mining picks among them
with the distances of the current embeddings. Distances are squared Euclidean, as in
:mod:`~cnnlib.metric_learning.losses`, and a triplet's margin is ``d(a, n) - d(a, p)``:

- :func:`triplet_indices` returns the triplets of a strategy: ``"all"`` valid ones,
  ``"violating"`` (margin <= alpha, a non-zero loss), ``"hard"`` (margin <= 0: the negative
  is nearer than the positive), ``"semihard"`` (0 < margin <= alpha); the last three are the
  ``"all"``, ``"hard"`` and ``"semihard"`` of pytorch-metric-learning's ``TripletMarginMiner``.
- :func:`batch_all_triplet_loss`: every valid triplet, averaged over those with a non-zero loss
  (Hermans, Beyer and Leibe, *In Defense of the Triplet Loss for Person Re-Identification*, 2017).
- :func:`batch_hard_triplet_loss`: per anchor, its farthest positive and nearest negative (same paper).
- :func:`batch_semi_hard_triplet_loss`: per positive pair, the nearest negative that is farther
  than the positive, or the farthest negative if none is (FaceNet, Schroff et al. 2015, as in
  TensorFlow Addons' ``triplet_semihard_loss``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_choice, check_float
from cnnlib.metric_learning._common import embeddings as _embeddings
from cnnlib.metric_learning._common import labels as _labels
from cnnlib.metric_learning.distances import pairwise_distances
from cnnlib.metric_learning.losses import triplet_loss

__all__ = ["MINING_STRATEGIES", "triplet_indices", "batch_all_triplet_loss", "batch_hard_triplet_loss",
           "batch_semi_hard_triplet_loss"]

#: The strategies of :func:`triplet_indices`.
MINING_STRATEGIES = ("all", "violating", "hard", "semihard")


def _masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``positive[i, j]``: same person and ``i != j``; ``negative[i, j]``: different people. ``(B, B)``."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _checked(embeddings: torch.Tensor, labels: torch.Tensor, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    check_float(margin, "margin", 0.0, low_inclusive=True)
    e = _embeddings(embeddings)
    y = _labels(labels, len(e))
    if y.device != e.device:
        raise ValueError(f"labels must be on the device of embeddings ({e.device}), got {y.device}")
    return e, y


def _zero(e: torch.Tensor) -> torch.Tensor:
    """A zero loss that keeps the graph (for a batch without a single valid triplet)."""
    return e.sum() * 0


def triplet_indices(embeddings: torch.Tensor, labels: torch.Tensor, strategy: str = "all",
                    margin: float = 0.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The triplets ``(anchor, positive, negative)`` of a batch that a mining strategy keeps.

    Args:
        embeddings (Tensor[B, D]): the batch's embeddings (only read, never differentiated).
        labels (Tensor[B]): integer identity of each row.
        strategy (str): one of :data:`MINING_STRATEGIES` (see the module docstring).
        margin (float): ``alpha`` (>= 0).

    Returns:
        tuple: three int64 ``Tensor[T]`` of row indices, in the order of ``(a, p, n)`` loops.

    Raises:
        ValueError, TypeError: for an unknown strategy, bad shapes or a negative margin.

    Example:
        >>> e = torch.tensor([[0.0], [0.1], [0.15], [2.0]])
        >>> a, p, n = triplet_indices(e, torch.tensor([0, 0, 1, 1]), "hard")
        >>> [(int(i), int(j), int(k)) for i, j, k in zip(a, p, n)]
        [(1, 0, 2), (2, 3, 0), (2, 3, 1)]
    """
    check_choice(strategy, "strategy", MINING_STRATEGIES)
    e, y = _checked(embeddings, labels, margin)
    pos, neg = _masks(y)
    valid = pos[:, :, None] & neg[:, None, :]  # (B, B, B): [a, p, n]
    if strategy != "all":
        with torch.no_grad():
            d = pairwise_distances(e.detach())
            gap = d[:, None, :] - d[:, :, None]  # d(a, n) - d(a, p), (B, B, B)
        valid &= gap <= margin
        if strategy == "hard":
            valid &= gap <= 0
        elif strategy == "semihard":
            valid &= gap > 0
    a, p, n = torch.nonzero(valid, as_tuple=True)
    return a, p, n


def batch_all_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2,
                           reduction: str = "active") -> torch.Tensor:
    """The triplet loss over every valid triplet of the batch (Hermans et al. 2017's "batch all").

    Args:
        embeddings (Tensor[B, D]): the batch's embeddings.
        labels (Tensor[B]): integer identity of each row.
        margin (float): ``alpha`` (>= 0).
        reduction (str): ``"active"``: the mean over the triplets with a non-zero loss (easy ones
            would dilute it more and more as training goes); ``"mean"``: over all valid triplets.

    Returns:
        Tensor: a scalar; 0 if the batch has no valid (or no active) triplet.

    Example:
        >>> e = torch.tensor([[0.0], [0.1], [0.15], [2.0]])
        >>> y = torch.tensor([0, 0, 1, 1])  # 8 valid triplets, 5 of them active
        >>> round(batch_all_triplet_loss(e, y, 0.2, "mean").item(), 4), round(batch_all_triplet_loss(e, y).item(), 4)
        (0.9534, 1.5255)
    """
    check_choice(reduction, "reduction", ("active", "mean"))
    e, y = _checked(embeddings, labels, margin)
    pos, neg = _masks(y)
    d = pairwise_distances(e)  # (B, B)
    losses = F.relu(d[:, :, None] - d[:, None, :] + margin)  # (B, B, B): d(a, p) - d(a, n) + alpha
    losses = losses[pos[:, :, None] & neg[:, None, :]]  # (T,)
    count = (losses > 0).sum() if reduction == "active" else torch.tensor(len(losses))
    return losses.sum() / count.clamp_min(1) if len(losses) else _zero(e)


def batch_hard_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """Batch-hard triplet loss: each anchor with its farthest positive and its nearest negative.

    ``mean_a max(max_p d(a, p) - min_n d(a, n) + margin, 0)`` over the anchors that have both a
    positive and a negative in the batch (Hermans et al. 2017), ``d`` squared Euclidean.

    Args:
        embeddings (Tensor[B, D]): the batch's embeddings.
        labels (Tensor[B]): integer identity of each row.
        margin (float): ``alpha`` (>= 0).

    Returns:
        Tensor: a scalar; 0 (with a graph) if no anchor has both.

    Raises:
        TypeError, ValueError: for bad shapes, dtypes or devices, or a negative margin.

    Example:
        >>> e = torch.tensor([[0.0], [0.1], [0.15], [2.0]])
        >>> # per anchor: (0.01 - 0.0225 + 0.2), (0.01 - 0.0025 + 0.2), (3.4225 - 0.0025 + 0.2), (3.4225 - 3.61 + 0.2)
        >>> round(batch_hard_triplet_loss(e, torch.tensor([0, 0, 1, 1])).item(), 4)
        1.0069
    """
    e, y = _checked(embeddings, labels, margin)
    pos, neg = _masks(y)
    d = pairwise_distances(e)  # (B, B)
    hardest_pos = d.masked_fill(~pos, float("-inf")).amax(dim=1)  # (B,)
    hardest_neg = d.masked_fill(~neg, float("inf")).amin(dim=1)   # (B,)
    keep = pos.any(dim=1) & neg.any(dim=1)
    if not keep.any():
        return _zero(e)
    return F.relu(hardest_pos[keep] - hardest_neg[keep] + margin).mean()


def batch_semi_hard_triplet_loss(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """FaceNet's semi-hard mining: per positive pair, the nearest negative farther than the positive.

    For every anchor-positive pair ``(a, p)``, the negative is the one with the smallest
    ``d(a, n) > d(a, p)`` (semi-hard: it does not beat the positive, but may sit inside the
    margin); if every negative is nearer than the positive, the farthest of them. The loss is
    the triplet loss of these triplets, averaged over the pairs that have a negative.

    Args:
        embeddings (Tensor[B, D]): the batch's embeddings.
        labels (Tensor[B]): integer identity of each row.
        margin (float): ``alpha`` (>= 0).

    Returns:
        Tensor: a scalar; 0 (with a graph) if the batch has no valid triplet.

    Example:
        >>> e = torch.tensor([[0.0], [0.1], [0.15], [2.0]])
        >>> # per positive pair: (0.01 - 0.0225 + 0.2), 0, (3.4225 - 0.0225 + 0.2), (3.4225 - 3.61 + 0.2)
        >>> round(batch_semi_hard_triplet_loss(e, torch.tensor([0, 0, 1, 1])).item(), 4)
        0.95
    """
    e, y = _checked(embeddings, labels, margin)
    pos, neg = _masks(y)
    a, p = torch.nonzero(pos & neg.any(dim=1, keepdim=True), as_tuple=True)  # the positive pairs
    if len(a) == 0:
        return _zero(e)
    with torch.no_grad():
        d = pairwise_distances(e.detach())
        d_an = d[a].masked_fill(~neg[a], float("nan"))  # (T, B): distances to the negatives
        farther = d_an > d[a, p][:, None]
        outside = d_an.masked_fill(~farther, float("inf")).argmin(dim=1)   # nearest farther negative
        inside = d_an.masked_fill(farther | ~neg[a], float("-inf")).argmax(dim=1)  # else the farthest
        n = torch.where(farther.any(dim=1), outside, inside)
    return triplet_loss(e[a], e[p], e[n], margin)
