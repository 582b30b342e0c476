"""The pair and triplet losses of a Siamese network, on given pairs and triplets.

Both use the course's distance ``d(x1, x2) = ||f(x1) - f(x2)||^2``, the **squared** Euclidean
distance (seed 001), and average over the pairs or triplets of a batch (the seed's ``J`` sums;
the mean only rescales the learning rate and keeps it independent of the batch size):

- contrastive loss (Hadsell, Chopra and LeCun, *Dimensionality Reduction by Learning an
  Invariant Mapping*, CVPR 2006, in the form of seed 004):
  ``L = y d + (1 - y) max(0, m - d)``, ``y = 1`` for a pair of the same person: same pulls
  together, different pushes apart until the margin ``m``. (Hadsell et al. write ``D^2 / 2``
  and ``max(0, m - D)^2 / 2`` with the Euclidean ``D``; here ``d`` is already squared.)
- triplet loss (Schroff, Kalenichenko and Philbin, *FaceNet*, CVPR 2015):
  ``L = max(d(A, P) - d(A, N) + alpha, 0)``: the anchor must be nearer to the positive than to
  the negative by the margin ``alpha``.

Choosing the triplets within a batch (all, hard, semi-hard) is :mod:`~cnnlib.metric_learning.mining`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_float
from cnnlib.metric_learning._common import embeddings, paired

__all__ = ["triplet_loss", "contrastive_loss", "pair_sq_distances"]


def pair_sq_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a_i - b_i||^2`` row by row (not every pair: see :func:`~cnnlib.metric_learning.pairwise_sq_distances`).

    Args:
        a (Tensor[N, D] | Tensor[D]): embeddings (a vector counts as one row).
        b (Tensor[N, D] | Tensor[D]): embeddings, same shape, dtype and device.

    Returns:
        Tensor[N]: the squared distances.

    Example:
        >>> pair_sq_distances(torch.tensor([[1.0, 2.0]]), torch.tensor([[4.0, 6.0]]))
        tensor([25.])
    """
    a, b = embeddings(a, "a", allow_single=True), embeddings(b, "b", allow_single=True)
    paired(a, b, "a", "b")
    return (a - b).pow(2).sum(1)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = 0.2) -> torch.Tensor:
    """FaceNet's triplet loss ``mean(max(d(A, P) - d(A, N) + margin, 0))``, ``d`` squared Euclidean.

    Args:
        anchor (Tensor[N, D]): embeddings of the anchors (a vector counts as one row).
        positive (Tensor[N, D]): the same people as the anchors, other photos.
        negative (Tensor[N, D]): other people.
        margin (float): ``alpha`` (>= 0).

    Returns:
        Tensor: the mean over the ``N`` triplets, a scalar (0 for ``N = 0``).

    Raises:
        TypeError, ValueError: for non-tensors, mismatched shapes, dtypes or devices, or a
            negative margin.

    Example:
        >>> a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.3, 0.0]]), torch.tensor([[0.0, 0.4]])
        >>> round(triplet_loss(a, p, n, margin=0.2).item(), 4)  # 0.09 - 0.16 + 0.2
        0.13
    """
    check_float(margin, "margin", 0.0, low_inclusive=True)
    anchor = embeddings(anchor, "anchor", allow_single=True)
    positive = embeddings(positive, "positive", allow_single=True)
    negative = embeddings(negative, "negative", allow_single=True)
    paired(anchor, positive, "anchor", "positive"), paired(anchor, negative, "anchor", "negative")
    d_ap = (anchor - positive).pow(2).sum(1)  # (N,)
    d_an = (anchor - negative).pow(2).sum(1)  # (N,)
    losses = F.relu(d_ap - d_an + margin)
    return losses.mean() if len(losses) else losses.sum()


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Contrastive loss ``mean(y d + (1 - y) max(0, margin - d))``, ``d = ||a - b||^2`` (seed 004).

    Args:
        a (Tensor[N, D]): embeddings of the first photos (a vector counts as one row).
        b (Tensor[N, D]): embeddings of the second photos.
        same (Tensor[N]): ``y``: 1 (or True) where a pair shows the same person, else 0.
        margin (float): ``m`` (>= 0): different people are pushed apart until ``d >= m``.

    Returns:
        Tensor: the mean over the ``N`` pairs, a scalar (0 for ``N = 0``).

    Raises:
        TypeError, ValueError: for non-tensors, mismatched shapes, dtypes or devices, values of
            ``same`` other than 0 and 1, or a negative margin.

    Example:
        >>> a = torch.tensor([[0.0, 0.0], [0.0, 0.0]]); b = torch.tensor([[0.5, 0.0], [0.6, 0.0]])
        >>> contrastive_loss(a, b, torch.tensor([1, 0]), margin=1.0)  # (0.25 + (1 - 0.36)) / 2
        tensor(0.4450)
    """
    check_float(margin, "margin", 0.0, low_inclusive=True)
    a, b = embeddings(a, "a", allow_single=True), embeddings(b, "b", allow_single=True)
    paired(a, b, "a", "b")
    if not isinstance(same, torch.Tensor) or same.shape != (len(a),):
        got = tuple(same.shape) if isinstance(same, torch.Tensor) else type(same).__name__
        raise ValueError(f"same must be a Tensor[N] = ({len(a)},) of 0/1 or bools, got {got}")
    if same.device != a.device:
        raise ValueError(f"same must be on the device of a ({a.device}), got {same.device}")
    y = same.to(a.dtype)
    if not torch.all((y == 0) | (y == 1)):
        raise ValueError(f"same must hold only 0 and 1 (or bools), got values {y.unique().tolist()[:5]}")
    d = (a - b).pow(2).sum(1)  # (N,)
    losses = y * d + (1 - y) * F.relu(margin - d)
    return losses.mean() if len(losses) else losses.sum()
