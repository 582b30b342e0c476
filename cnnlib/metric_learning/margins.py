"""Classification heads for face recognition: softmax, CosFace and ArcFace.

Training a classifier over the training identities and keeping its penultimate layer as the
embedding works, and margins make it work much better. With embeddings ``x_i`` and class
weights ``W_j`` both normalised, the logit of class ``j`` is ``s cos(theta_j)``, ``theta_j``
the angle between them; the target class ``y_i`` is made harder by a margin ``m`` during
training (seed 004):

- softmax: ``W_j^T x_i + b_j``, a plain linear layer (no normalisation, no margin);
- CosFace (Wang et al., *CosFace: Large Margin Cosine Loss*, CVPR 2018): ``s (cos theta_y - m)``;
- ArcFace (Deng et al., *ArcFace: Additive Angular Margin Loss*, CVPR 2019):
  ``s cos(theta_y + m)``, ``m`` in **radians** (0.5 rad = 28.6 degrees; pytorch-metric-learning's
  ``ArcFaceLoss`` takes degrees). ``cos(theta + m)`` stops decreasing once ``theta + m > pi``, so
  there (``theta > pi - m``) the target logit is ``cos(theta) - m sin(m)`` instead, as in the
  paper's code (insightface, ``easy_margin=False``) and pytorch-metric-learning: a continuous,
  decreasing continuation.

The other classes' logits stay ``s cos(theta_j)``. The loss is ``F.cross_entropy`` of the logits;
at test time the head is dropped and the normalised embeddings compared.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib._checks import check_choice, check_float, check_int
from cnnlib.metric_learning._common import embeddings as _embeddings
from cnnlib.metric_learning._common import labels as _labels

__all__ = ["MARGIN_HEADS", "arcface_logits", "cosface_logits", "MarginHead", "EmbeddingWithHead"]

#: The kinds of :class:`MarginHead`.
MARGIN_HEADS = ("softmax", "cosface", "arcface")


def _cosines(embeddings: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor | None,
             s: float, m: float, m_high: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Checks; ``cos(theta)`` of every embedding with every class ``(N, K)`` and the labels."""
    check_float(s, "s", 0.0), check_float(m, "m", 0.0, m_high, low_inclusive=True)
    e = _embeddings(embeddings)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.shape[1] != e.shape[1]:
        got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a Tensor[K, D] with D = {e.shape[1]} (one row per class), got {got}")
    if weight.dtype != e.dtype or weight.device != e.device:
        raise ValueError(f"weight must have the dtype and device of embeddings ({e.dtype}, {e.device}), "
                         f"got {weight.dtype}, {weight.device}")
    if labels is not None:
        labels = _labels(labels, len(e))
        if len(labels) and (labels.min() < 0 or labels.max() >= len(weight)):
            raise ValueError(f"labels must be class indices in [0, {len(weight)}), got {labels.min()}..{labels.max()}")
    cos = F.normalize(e, dim=1) @ F.normalize(weight, dim=1).T  # (N, K)
    return cos.clamp(-1, 1), labels


def arcface_logits(embeddings: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor | None,
                   s: float = 64.0, m: float = 0.5) -> torch.Tensor:
    """ArcFace logits: ``s cos(theta_y + m)`` for the target class, ``s cos(theta_j)`` for the others.

    Args:
        embeddings (Tensor[N, D]): embeddings (normalised here).
        weight (Tensor[K, D]): one weight row per class (normalised here).
        labels (Tensor[N] | None): target classes; ``None`` gives ``s cos(theta)`` without
            margin (for prediction).
        s (float): scale, the radius of the hypersphere (> 0).
        m (float): additive angular margin in radians, in ``[0, pi / 2)``. Where
            ``theta_y > pi - m`` the target logit is ``s (cos(theta_y) - m sin(m))``.

    Returns:
        Tensor[N, K]: logits for ``F.cross_entropy``.

    Raises:
        ValueError, TypeError: for mismatched shapes, dtypes or devices, labels out of range,
            or ``s``/``m`` out of range.

    Example:
        >>> e, w = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # theta = 0, 45 deg
        >>> arcface_logits(e, w, torch.tensor([0]), s=2.0, m=math.pi / 3)  # 2 cos(60 deg), 2 cos(45 deg)
        tensor([[1.0000, 1.4142]])
    """
    cos, labels = _cosines(embeddings, weight, labels, s, m, math.pi / 2)
    if labels is None:
        return s * cos
    cos_y = cos.gather(1, labels[:, None])  # (N, 1)
    sin_y = torch.sqrt((1 - cos_y.pow(2)).clamp_min(1e-12))
    with_margin = cos_y * math.cos(m) - sin_y * math.sin(m)  # cos(theta + m)
    fallback = cos_y - m * math.sin(m)  # where theta + m > pi
    target = torch.where(cos_y >= math.cos(math.pi - m), with_margin, fallback)
    return s * cos.scatter(1, labels[:, None], target)


def cosface_logits(embeddings: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor | None,
                   s: float = 64.0, m: float = 0.35) -> torch.Tensor:
    """CosFace logits: ``s (cos(theta_y) - m)`` for the target class, ``s cos(theta_j)`` for the others.

    Args:
        embeddings (Tensor[N, D]): embeddings (normalised here).
        weight (Tensor[K, D]): one weight row per class (normalised here).
        labels (Tensor[N] | None): target classes; ``None``: no margin.
        s (float): scale (> 0).
        m (float): additive cosine margin, in ``[0, 2)``.

    Returns:
        Tensor[N, K]: logits.

    Example:
        >>> cosface_logits(torch.tensor([[1.0, 0.0]]), torch.eye(2), torch.tensor([0]), s=2.0, m=0.25)
        tensor([[1.5000, 0.0000]])
    """
    cos, labels = _cosines(embeddings, weight, labels, s, m, 2.0)
    if labels is None:
        return s * cos
    return s * (cos - m * F.one_hot(labels, cos.shape[1]).to(cos.dtype))


class MarginHead(nn.Module):
    """A classification head over the training identities: softmax, CosFace or ArcFace.

    Args:
        dim (int): embedding size ``D``.
        num_classes (int): training identities ``K``.
        kind (str): one of :data:`MARGIN_HEADS`.
        s (float): scale of the cosine heads (ignored by softmax).
        m (float | None): margin; default 0.5 rad for ArcFace, 0.35 for CosFace.

    Shape:
        - embeddings: ``(N, D)``; labels: ``(N,)`` or ``None`` (no margin: prediction).
        - output: logits ``(N, K)``.

    Attributes:
        weight (nn.Parameter): ``(K, D)``, Xavier-initialised; softmax also has ``bias`` ``(K,)``.

    Example:
        >>> head = MarginHead(8, 5, "arcface", s=16.0)
        >>> tuple(head(torch.randn(3, 8), torch.tensor([0, 4, 2])).shape)
        (3, 5)
    """

    def __init__(self, dim: int, num_classes: int, kind: str = "arcface", s: float = 64.0, m: float | None = None):
        super().__init__()
        check_int(dim, "dim"), check_int(num_classes, "num_classes", 2), check_choice(kind, "kind", MARGIN_HEADS)
        self.kind, self.s = kind, check_float(s, "s", 0.0)
        self.m = {"arcface": 0.5, "cosface": 0.35, "softmax": 0.0}[kind] if m is None else check_float(
            m, "m", 0.0, low_inclusive=True)
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(num_classes, dim)))
        self.bias = nn.Parameter(torch.zeros(num_classes)) if kind == "softmax" else None

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.kind == "softmax":
            return F.linear(_embeddings(embeddings), self.weight, self.bias)
        logits = arcface_logits if self.kind == "arcface" else cosface_logits
        return logits(embeddings, self.weight, labels, self.s, self.m)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, kind={self.kind!r}, s={self.s}, m={self.m}"


class EmbeddingWithHead(nn.Module):
    """An embedding network with a training-only classification head.

    ``model(x)`` gives the (L2-normalised, if ``normalize``) embeddings, as verification and the
    database use them; ``model.head(model(x), labels)`` the training logits, as
    :func:`~cnnlib.metric_learning.head_step` uses them.

    Args:
        embedder (nn.Module): images ``(N, C, H, W)`` -> embeddings ``(N, D)``.
        head (nn.Module): e.g. :class:`MarginHead`.
        normalize (bool): L2-normalise the embeddings.

    Example:
        >>> model = EmbeddingWithHead(nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), MarginHead(3, 2, "cosface"))
        >>> e = model(torch.randn(2, 1, 2, 2)); tuple(e.shape), round(e.norm(dim=1)[0].item(), 4)
        ((2, 3), 1.0)
    """

    def __init__(self, embedder: nn.Module, head: nn.Module, normalize: bool = True):
        super().__init__()
        if not isinstance(embedder, nn.Module) or not isinstance(head, nn.Module):
            raise TypeError(f"embedder and head must be nn.Modules, got {type(embedder).__name__}, "
                            f"{type(head).__name__}")
        self.embedder, self.head, self.normalize = embedder, head, normalize

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embedder(x)
        return F.normalize(e, dim=1) if self.normalize else e
