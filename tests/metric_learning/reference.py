"""Obviously-correct loops the metric-learning tests compare against (slow; small inputs only)."""

import math
from types import SimpleNamespace

import pytest
import torch


def pml():
    """pytorch-metric-learning 2.9 (a pinned dev dependency): its losses, miners, reducers and the
    squared Euclidean distance ``LpDistance(power=2, normalize_embeddings=False)`` (our ``d``).

    A test that compares with it is skipped where it is not installed; the loop references run anyway.
    """
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning import distances, losses, miners, reducers

    return SimpleNamespace(losses=losses, miners=miners, reducers=reducers,
                           squared=distances.LpDistance(power=2, normalize_embeddings=False))


def sq_dist(u, v):
    """||u - v||^2 by a loop over the coordinates, as a Python float."""
    return sum((float(a) - float(b)) ** 2 for a, b in zip(u, v))


def triplets_loop(e, labels, strategy="all", margin=0.2):
    """Every (a, p, n) with a != p of one label and n of another, kept by the strategy, in loop order."""
    out = []
    B = len(labels)
    for a in range(B):
        for p in range(B):
            for n in range(B):
                if a == p or labels[a] != labels[p] or labels[n] == labels[a]:
                    continue
                gap = sq_dist(e[a], e[n]) - sq_dist(e[a], e[p])
                keep = {"all": True, "violating": gap <= margin, "hard": gap <= min(margin, 0),
                        "semihard": 0 < gap <= margin}[strategy]
                if keep:
                    out.append((a, p, n))
    return out


def batch_hard_loop(e, labels, margin):
    losses = []
    for a in range(len(labels)):
        pos = [sq_dist(e[a], e[p]) for p in range(len(labels)) if p != a and labels[p] == labels[a]]
        neg = [sq_dist(e[a], e[n]) for n in range(len(labels)) if labels[n] != labels[a]]
        if pos and neg:
            losses.append(max(max(pos) - min(neg) + margin, 0.0))
    return sum(losses) / len(losses) if losses else 0.0


def semi_hard_loop(e, labels, margin):
    """TensorFlow Addons' triplet_semihard_loss, written out: per positive pair, one negative."""
    losses = []
    B = len(labels)
    for a in range(B):
        for p in range(B):
            if a == p or labels[a] != labels[p]:
                continue
            d_ap = sq_dist(e[a], e[p])
            negs = [sq_dist(e[a], e[n]) for n in range(B) if labels[n] != labels[a]]
            if not negs:
                continue
            farther = [d for d in negs if d > d_ap]
            d_an = min(farther) if farther else max(negs)
            losses.append(max(d_ap - d_an + margin, 0.0))
    return sum(losses) / len(losses) if losses else 0.0


def arcface_logit_loop(e, w, label, s, m):
    """ArcFace logits of one embedding, with angles from math.acos and the paper's fallback."""
    norm_e = math.sqrt(sum(float(v) ** 2 for v in e))
    out = []
    for j, row in enumerate(w):
        norm_w = math.sqrt(sum(float(v) ** 2 for v in row))
        cos = sum(float(a) * float(b) for a, b in zip(e, row)) / (norm_e * norm_w)
        theta = math.acos(max(-1.0, min(1.0, cos)))
        if j == label:
            cos = math.cos(theta + m) if theta + m <= math.pi else cos - m * math.sin(m)
        out.append(s * cos)
    return torch.tensor(out, dtype=torch.float64)
