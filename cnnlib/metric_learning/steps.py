"""Training steps of face embeddings for :func:`cnnlib.train.fit`.

- :func:`metric_step`: a batch ``(images, labels)`` of P people x K photos
  (:class:`~cnnlib.metric_learning.PKBatches`); the model returns embeddings, L2-normalised here
  (FaceNet's hypersphere, so a margin means the same at every scale), and the loss is the
  contrastive loss over every pair of the batch or a triplet loss with mining.
- :func:`head_step`: a batch ``(images, labels)`` of training identities; the model is an
  :class:`~cnnlib.metric_learning.EmbeddingWithHead` and the loss the cross-entropy of its
  softmax, CosFace or ArcFace head.

Both also report the mean squared distance of same-person and different-person pairs in the
batch (``pos_dist``, ``neg_dist``): their gap is what verification needs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib._checks import check_choice, check_float
from cnnlib.metric_learning.distances import pairwise_distances
from cnnlib.metric_learning.losses import contrastive_loss
from cnnlib.metric_learning.mining import (
    batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss, triplet_indices,
)

__all__ = ["METRIC_LOSSES", "metric_step", "head_step"]

#: The losses :func:`metric_step` accepts.
METRIC_LOSSES = ("contrastive", "batch_all", "batch_hard", "semi_hard")


def _batch(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)):
        raise TypeError(f"a batch is (images, labels), got {type(batch).__name__}")
    return batch[0], batch[1]


def _gap(e: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean squared distance of the positive and of the negative pairs of a batch."""
    with torch.no_grad():
        d = pairwise_distances(e.detach())
        same = labels[:, None] == labels[None, :]
        pos = same & ~torch.eye(len(e), dtype=torch.bool, device=e.device)
        nan = torch.tensor(float("nan"), device=e.device)
        return {"pos_dist": d[pos].mean() if pos.any() else nan, "neg_dist": d[~same].mean() if (~same).any() else nan}


def metric_step(loss: str = "batch_hard", margin: float = 0.2, normalize: bool = True) -> Callable:
    """A step for P x K batches ``(images, labels)``: a metric-learning loss of the embeddings.

    Args:
        loss (str): one of :data:`METRIC_LOSSES`: ``"contrastive"`` (every pair of the batch,
            :func:`~cnnlib.metric_learning.contrastive_loss`), ``"batch_all"``, ``"batch_hard"``
            or ``"semi_hard"`` (:mod:`~cnnlib.metric_learning.mining`).
        margin (float): the loss's margin (squared distances; on the unit sphere they lie in [0, 4]).
        normalize (bool): L2-normalise the embeddings first.

    Returns:
        Callable: ``step(model, (x, labels), ctx) -> {"loss", "pos_dist", "neg_dist"}``, plus
        ``"violating"`` for the triplet losses (the fraction of valid triplets with a non-zero loss).

    Example:
        >>> model = nn.Linear(3, 2)
        >>> x, y = torch.randn(8, 3), torch.arange(4).repeat_interleave(2)
        >>> out = metric_step("semi_hard")(model, (x, y), None)
        >>> sorted(out), out["loss"].requires_grad
        (['loss', 'neg_dist', 'pos_dist', 'violating'], True)
    """
    check_choice(loss, "loss", METRIC_LOSSES)
    check_float(margin, "margin", 0.0, low_inclusive=True)
    triplet = {"batch_all": batch_all_triplet_loss, "batch_hard": batch_hard_triplet_loss,
               "semi_hard": batch_semi_hard_triplet_loss}

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        x, labels = _batch(batch)
        e = model(x)
        e = F.normalize(e, dim=1) if normalize else e
        out = _gap(e, labels)
        if loss == "contrastive":
            i, j = torch.triu_indices(len(e), len(e), offset=1, device=e.device)
            out["loss"] = contrastive_loss(e[i], e[j], labels[i] == labels[j], margin)
            return out
        out["loss"] = triplet[loss](e, labels, margin)
        with torch.no_grad():
            valid = len(triplet_indices(e, labels, "all")[0])
            out["violating"] = torch.tensor(len(triplet_indices(e, labels, "violating", margin)[0]) / max(valid, 1))
        return out

    return step


def head_step() -> Callable:
    """A step for ``(images, labels)`` batches through an embedding network with a classification head.

    The model must be an :class:`~cnnlib.metric_learning.EmbeddingWithHead` (or have a ``head``
    called as ``head(embeddings, labels)``); ``acc`` is the accuracy of the logits without margin.

    Returns:
        Callable: ``step(model, (x, labels), ctx) -> {"loss", "acc", "pos_dist", "neg_dist"}``.

    Example:
        >>> from cnnlib.metric_learning.margins import EmbeddingWithHead, MarginHead
        >>> model = EmbeddingWithHead(nn.Linear(3, 4), MarginHead(4, 5, "arcface", s=8.0))
        >>> out = head_step()(model, (torch.randn(6, 3), torch.tensor([0, 1, 2, 3, 4, 0])), None)
        >>> sorted(out)
        ['acc', 'loss', 'neg_dist', 'pos_dist']
    """
    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        x, labels = _batch(batch)
        head = getattr(model, "head", None)
        if not isinstance(head, nn.Module):
            raise TypeError(f"head_step needs a model with a head (EmbeddingWithHead), got {type(model).__name__}")
        e = model(x)
        out = _gap(e, labels)
        out["loss"] = F.cross_entropy(head(e, labels), labels)
        with torch.no_grad():
            out["acc"] = (head(e).argmax(dim=1) == labels).float().mean()
        return out

    return step
