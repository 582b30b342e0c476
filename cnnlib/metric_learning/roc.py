"""Evaluating verification: ROC curve, AUC, equal error rate, TAR at a fixed FAR, the threshold.

A verifier accepts a pair when its distance is at most ``tau``. Over pairs of the same person
(genuine) and of different people (impostors):

- TAR (true accept rate) = accepted genuine / genuine, FRR = 1 - TAR;
- FAR (false accept rate) = accepted impostors / impostors.

Sweeping ``tau`` from below every distance to above all of them traces the ROC curve from
(FAR, TAR) = (0, 0) to (1, 1); the area under it (AUC) is the probability that a genuine pair is
nearer than an impostor pair (ties count half). A face system is run at a fixed FAR (1 %,
0.1 %: how often a stranger gets in) and reports the TAR there; the equal error rate is where
FAR = FRR. Thresholds are chosen on validation identities, then reported on test identities
(:func:`choose_threshold`, :func:`verification_rates`).
"""

from __future__ import annotations

import math

import torch

from cnnlib._checks import check_choice, check_float
from cnnlib.metric_learning._common import embeddings as _embeddings
from cnnlib.metric_learning._common import labels as _labels
from cnnlib.metric_learning.distances import pairwise_distances

__all__ = ["all_pairs", "roc_curve", "roc_auc", "equal_error_rate", "tar_at_far", "choose_threshold",
           "verification_rates", "THRESHOLD_CRITERIA"]

#: The criteria of :func:`choose_threshold`.
THRESHOLD_CRITERIA = ("balanced", "accuracy", "eer", "far")


def all_pairs(embeddings: torch.Tensor, labels: torch.Tensor,
              metric: str = "squared") -> tuple[torch.Tensor, torch.Tensor]:
    """Every pair ``i < j`` of a set: its distance and whether it is genuine (same label).

    Args:
        embeddings (Tensor[N, D]): encodings.
        labels (Tensor[N]): integer identities.
        metric (str): as :func:`~cnnlib.metric_learning.pairwise_distances`.

    Returns:
        tuple: ``distances`` ``Tensor[N (N - 1) / 2]`` and ``same`` bool, in row-major order of ``(i, j)``.

    Example:
        >>> d, same = all_pairs(torch.tensor([[0.0], [1.0], [3.0]]), torch.tensor([0, 0, 1]))
        >>> d.tolist(), same.tolist()
        ([1.0, 9.0, 4.0], [True, False, False])
    """
    e = _embeddings(embeddings)
    y = _labels(labels, len(e))
    i, j = torch.triu_indices(len(e), len(e), offset=1, device=e.device)
    return pairwise_distances(e, metric=metric)[i, j], (y[i] == y[j]).to(e.device)


def _scores(distances: object, same: object) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(distances, torch.Tensor) or distances.dim() != 1 or not distances.is_floating_point():
        got = f"{distances.dtype} {tuple(distances.shape)}" if isinstance(distances, torch.Tensor) else type(distances)
        raise ValueError(f"distances must be a floating-point Tensor[P], got {got}")
    if not isinstance(same, torch.Tensor) or same.shape != distances.shape:
        raise ValueError(f"same must be a Tensor[P] = {tuple(distances.shape)} of bools, got "
                         f"{tuple(same.shape) if isinstance(same, torch.Tensor) else type(same).__name__}")
    if same.device != distances.device:
        raise ValueError(f"same must be on the device of distances ({distances.device}), got {same.device}")
    same = same.bool()
    if same.all() or not same.any():
        raise ValueError(f"need both genuine and impostor pairs, got {int(same.sum())} genuine of {len(same)}")
    return distances.detach().double(), same


def roc_curve(distances: torch.Tensor, same: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ROC curve of "accept when ``distance <= threshold``", one point per distinct distance.

    Args:
        distances (Tensor[P]): distance of each pair.
        same (Tensor[P]): True for genuine pairs; both kinds must be present.

    Returns:
        tuple: ``far``, ``tar`` (float64 ``Tensor[T + 1]``, non-decreasing, from (0, 0) to
        (1, 1)) and ``thresholds`` (``-inf``, then the ``T`` distinct distances in increasing order).
        sklearn's ``roc_curve(same, -distances, drop_intermediate=False)`` gives the same points.

    Raises:
        ValueError: for other shapes, or pairs of one kind only.

    Example:
        >>> far, tar, t = roc_curve(torch.tensor([0.125, 0.5, 0.375, 0.75]), torch.tensor([True, True, False, False]))
        >>> far.tolist(), tar.tolist(), t.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [-inf, 0.125, 0.375, 0.5, 0.75])
    """
    d, same = _scores(distances, same)
    order = torch.argsort(d, stable=True)
    d, g = d[order], same[order].double()
    last = torch.ones_like(g, dtype=torch.bool)
    last[:-1] = d[1:] != d[:-1]  # the last pair of each run of equal distances
    tp, fp = g.cumsum(0)[last], (1 - g).cumsum(0)[last]
    zero = torch.zeros(1, dtype=torch.float64, device=d.device)
    far = torch.cat([zero, fp / fp[-1]])
    tar = torch.cat([zero, tp / tp[-1]])
    return far, tar, torch.cat([zero - math.inf, d[last]])


def roc_auc(distances: torch.Tensor, same: torch.Tensor) -> float:
    """Area under the ROC curve (trapezoids): P(genuine distance < impostor distance), ties half.

    Example:
        >>> roc_auc(torch.tensor([0.125, 0.5, 0.375, 0.75]), torch.tensor([True, True, False, False]))
        0.75
    """
    far, tar, _ = roc_curve(distances, same)
    return float(torch.trapezoid(tar, far))


def equal_error_rate(distances: torch.Tensor, same: torch.Tensor) -> tuple[float, float]:
    """Where FAR = FRR on the ROC curve, interpolated linearly between the two points around it.

    Returns:
        tuple: ``(eer, threshold)``: the rate, and the ROC threshold nearest to the crossing
        (the one with the smallest ``|FAR - FRR|``).

    Example:
        >>> equal_error_rate(torch.tensor([0.125, 0.5, 0.375, 0.75]), torch.tensor([True, True, False, False]))
        (0.5, 0.375)
    """
    far, tar, t = roc_curve(distances, same)
    diff = far - (1 - tar)  # FAR - FRR: from -1 up to +1
    k = int(torch.nonzero(diff >= 0)[0])  # first point at or past the crossing (k >= 1)
    if diff[k] == 0:
        eer = float(far[k])
    else:  # on the segment from point k - 1 to k: far + s dfar = frr + s dfrr
        s = -diff[k - 1] / (diff[k] - diff[k - 1])
        eer = float(far[k - 1] + s * (far[k] - far[k - 1]))
    best = int(diff.abs().argmin())
    return eer, float(t[best])


def tar_at_far(distances: torch.Tensor, same: torch.Tensor, far: float = 0.01) -> tuple[float, float]:
    """The TAR at the largest threshold whose FAR is at most ``far``.

    Args:
        distances (Tensor[P]): distance of each pair.
        same (Tensor[P]): True for genuine pairs.
        far (float): the allowed false accept rate, in [0, 1].

    Returns:
        tuple: ``(tar, threshold)``; ``threshold`` is ``-inf`` (accept nothing, TAR 0) when even the
        smallest impostor distance is shared by too many impostors.

    Example:
        >>> d, same = torch.tensor([0.125, 0.25, 0.375, 0.5, 0.625]), torch.tensor([True, True, False, True, False])
        >>> tar_at_far(d, same, far=0.0), tar_at_far(d, same, far=0.5)
        ((0.6666666666666666, 0.25), (1.0, 0.5))
    """
    check_float(far, "far", 0.0, 1.0, True, True)
    rates, tar, t = roc_curve(distances, same)
    k = int(torch.nonzero(rates <= far + 1e-12)[-1])
    return float(tar[k]), float(t[k])


def verification_rates(distances: torch.Tensor, same: torch.Tensor, threshold: float) -> dict[str, float]:
    """TAR, FRR, FAR, TRR (true reject rate) and accuracy of "accept when ``distance <= threshold``".

    Example:
        >>> d, same = torch.tensor([0.125, 0.5, 0.375, 0.75]), torch.tensor([True, True, False, False])
        >>> r = verification_rates(d, same, threshold=0.375)
        >>> r["tar"], r["far"], r["accuracy"]
        (0.5, 0.5, 0.5)
    """
    d, same = _scores(distances, same)
    accept = d <= threshold
    tar = float((accept & same).sum() / same.sum())
    far = float((accept & ~same).sum() / (~same).sum())
    return {"tar": tar, "frr": 1 - tar, "far": far, "trr": 1 - far, "accuracy": float((accept == same).double().mean())}


def choose_threshold(distances: torch.Tensor, same: torch.Tensor, criterion: str = "balanced",
                     far: float | None = None) -> float:
    """A threshold chosen on validation pairs (never on the test people).

    Args:
        distances (Tensor[P]): distance of each validation pair.
        same (Tensor[P]): True for genuine pairs.
        criterion (str): one of :data:`THRESHOLD_CRITERIA`: ``"balanced"`` maximises
            ``(TAR + TRR) / 2`` (equivalently TAR - FAR), ``"accuracy"`` the accuracy over the
            pairs as given (impostors usually outnumber genuine pairs), ``"eer"`` the equal error
            rate's, ``"far"`` the largest with FAR <= ``far``.
        far (float | None): the target FAR, for ``criterion="far"`` only.

    Returns:
        float: one of the ROC thresholds (a validation distance, or ``-inf``).

    Example:
        >>> d, same = torch.tensor([0.125, 0.5, 0.375, 0.75]), torch.tensor([True, True, False, False])
        >>> choose_threshold(d, same), choose_threshold(d, same, "far", far=0.0)
        (0.125, 0.125)
    """
    check_choice(criterion, "criterion", THRESHOLD_CRITERIA)
    if (criterion == "far") != (far is not None):
        raise ValueError(f"far is needed by criterion='far' and only by it, got criterion={criterion!r}, far={far!r}")
    if criterion == "far":
        return tar_at_far(distances, same, far)[1]
    if criterion == "eer":
        return equal_error_rate(distances, same)[1]
    rates, tar, t = roc_curve(distances, same)
    if criterion == "balanced":
        score = tar - rates
    else:
        g = same.sum().double()
        score = (tar * g + (1 - rates) * (len(same) - g)) / len(same)
    return float(t[int(torch.argmax(score))])
