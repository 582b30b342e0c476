"""Non-max suppression (NMS): keep the best box of each cluster of overlapping detections.

A detector fires several times around one object (seed 003, figure 10.25). NMS (seed 001) keeps
the highest-scoring box, discards every remaining box that overlaps it too much, and repeats:

1. discard all boxes with ``p_c <= score_threshold`` (seed 001 uses 0.6);
2. while boxes remain: pick the one with the largest ``p_c`` and output it; discard every
   remaining box whose IoU with it is STRICTLY greater than ``iou_threshold``.

The seed writes "discard IoU >= 0.5"; this package follows torchvision (and the graded
assignment): a box is suppressed when its IoU is strictly greater than the threshold. The two
differ only for an IoU exactly equal to the threshold. Ties in score are broken by the lower
index first. :func:`nms_naive` is that loop; :func:`nms` computes the same answer with tensor
operations (see its docstring for how and what it costs); :func:`batched_nms` runs NMS
separately per class in one call. Scores are not thresholded by :func:`nms` (torchvision's
contract): filter them before, as the YOLO decoding does.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from cnnlib._checks import check_float
from cnnlib.detection.boxes import _inter_union, _iou_from, validate_boxes

__all__ = ["nms", "nms_naive", "batched_nms", "NMSTrace", "nms_trace"]

#: Number of IoU entries computed at once by :func:`nms` (bounds its memory: a few 4 MB blocks in float32).
_CHUNK_ELEMENTS = 1 << 20


def _check_inputs(boxes: object, scores: object, iou_threshold: object) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Validate the common arguments; return float boxes, float scores and the threshold."""
    b = validate_boxes(boxes)
    if not isinstance(scores, torch.Tensor):
        raise TypeError(f"scores must be a torch.Tensor of shape (N,), got {type(scores).__name__}")
    if scores.dim() != 1 or scores.shape[0] != b.shape[0]:
        raise ValueError(f"scores must have shape (N,) = ({b.shape[0]},) like boxes, got {tuple(scores.shape)}")
    if scores.device != b.device:
        raise ValueError(f"scores must be on the device of boxes ({b.device}), got {scores.device}")
    s = scores if scores.is_floating_point() else scores.to(torch.get_default_dtype())
    nan = torch.isnan(s)
    if bool(nan.any()):
        i = int(nan.nonzero()[0, 0])
        raise ValueError(f"scores[{i}] is NaN (box {b[i].tolist()}); scores must not be NaN")
    return b, s, check_float(iou_threshold, "iou_threshold", 0.0, 1.0, low_inclusive=True, high_inclusive=True)


def _suppression_pairs(boxes: torch.Tensor, iou_threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs ``(i, j)``, ``i < j``, of score-sorted boxes with ``IoU > iou_threshold``.

    Every pair's IoU is computed at most once, and pairs that cannot overlap are skipped with a
    sweep along x: in order of their left edge ``x1``, a box can only overlap the boxes whose left
    edge lies before its right edge, a contiguous range of the ``x1``-sorted list (found with
    ``searchsorted``). A block of consecutive boxes is compared with the union of their ranges,
    as one tensor operation; blocks keep memory at about ``_CHUNK_ELEMENTS`` IoU entries.
    """
    N = boxes.shape[0]
    by_x = torch.sort(boxes[:, 0], stable=True).indices  # (N,) score rank of each box in x1 order
    bx = boxes[by_x]  # (N, 4) sorted by x1
    # reach[i]: number of boxes (in x1 order) whose left edge is left of box i's right edge;
    # boxes from reach[i] on start at or after that edge: IoU 0 with box i.
    reach = torch.searchsorted(bx[:, 0].contiguous(), bx[:, 2].contiguous(), side="left")
    reach = torch.cummax(reach, dim=0).values.tolist()  # a block ends where its last box reaches
    side = max(1, math.isqrt(_CHUNK_ELEMENTS))
    rows, cols = [], []
    a = 0
    while a < N:  # a loop over blocks of boxes (memory), not over boxes
        # a block about as long as the range its first box reaches: comparing it with that range
        # costs about twice the pairs that can overlap (a much longer block would compare boxes
        # far apart along x); at least 64 boxes, so the loop stays short
        width = max(1, reach[a] - a)
        b = min(N, a + max(1, min(side, max(64, width), _CHUNK_ELEMENTS // width)))
        inter, union = _inter_union(bx[a:b], bx[a:reach[b - 1]])  # (B, reach - a)
        over = (_iou_from(inter, union) > iou_threshold).triu_(diagonal=1)  # each pair once: j > i
        r, c = over.nonzero(as_tuple=True)  # (E_block,) each, local x-order indices
        ri, rj = by_x[r + a], by_x[c + a]  # back to score ranks
        rows.append(torch.minimum(ri, rj))  # the higher-scored box of the pair first
        cols.append(torch.maximum(ri, rj))
        a = b
    if not rows:
        empty = torch.empty(0, dtype=torch.long, device=boxes.device)
        return empty, empty
    return torch.cat(rows), torch.cat(cols)


def _greedy_keep(rows: torch.Tensor, cols: torch.Tensor, n: int) -> tuple[torch.Tensor, int]:
    """Solve greedy NMS on the suppression graph by fixed-point iteration.

    Greedy NMS keeps box ``j`` (in score order) iff no KEPT box ``i < j`` overlaps it:
    ``keep[j] = not any(keep[i] for edges (i, j))``. Start from "keep all" and apply that rule to
    every box at once until nothing changes. After ``t`` rounds every box whose longest chain of
    suppressions is shorter than ``t`` is final, so this stops after at most ``n + 1`` rounds,
    and the fixed point is unique (box 0 is kept, and by induction every later box is
    determined), so it is exactly the greedy answer. Returns ``(keep mask, rounds)``.
    """
    keep = torch.ones(n, dtype=torch.bool, device=rows.device)
    for rounds in range(1, n + 2):
        suppressed = torch.zeros_like(keep)
        suppressed[cols[keep[rows]]] = True  # j is out if any kept i overlaps it
        new_keep = ~suppressed
        if torch.equal(new_keep, keep):
            return keep, rounds
        keep = new_keep
    raise RuntimeError("NMS fixed-point iteration did not converge (cannot happen)")  # pragma: no cover


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Non-max suppression with tensor operations; the same answer as :func:`nms_naive`.

    How: sort by score; compute the IoU of every pair that can overlap ONCE (a sweep along x
    skips pairs that are apart horizontally; blocks bound memory) and keep the pairs ``(i, j)``,
    ``i < j`` in score order, with ``IoU > iou_threshold``; then
    solve "box ``j`` survives iff no surviving higher-scored box overlaps it" for all boxes at
    once by fixed-point iteration: each round is one scatter over the overlapping pairs, and the
    number of rounds is the longest chain of suppressions plus one (2-5 for typical detections;
    :func:`nms_trace` reports the pairs and the rounds).

    Trade-off, honestly: the IoU pass evaluates every pair of boxes that overlap along x (up to
    ``N^2 / 2`` when all boxes are stacked in one column) whatever the answer, while the greedy
    loop costs about ``N * K`` for ``K`` kept boxes plus Python overhead per kept box. So this
    wins when many boxes are kept or spread out, or on a GPU, and can lose for huge ``N`` piled
    on one spot with few survivors. Worst case (a chain where each box overlaps only the next)
    takes ``N`` rounds of ``O(N)`` work, no worse than the loop. torchvision's C++/CUDA kernel
    avoids both costs; this is the pure-PyTorch version.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format (validated; ints upcast).
        scores (Tensor[N]): one score per box, no NaN; on the device of ``boxes``.
        iou_threshold (float): in ``[0, 1]``; a box is suppressed when its IoU with a kept box
            is strictly greater than this.

    Returns:
        Tensor[K]: int64 indices of the kept boxes, highest score first (ties: lower index first).

    Raises:
        TypeError: for a non-tensor or a non-number threshold.
        ValueError: for bad boxes (see :func:`~cnnlib.detection.boxes.validate_boxes`), a NaN
            score (the message names its index), mismatched shapes or devices, or a threshold
            outside ``[0, 1]``.

    Example:
        >>> boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
        >>> nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist()  # box 1 overlaps box 0: IoU 0.81
        [0, 2]
    """
    return nms_trace(boxes, scores, iou_threshold).keep


class NMSTrace(NamedTuple):
    """What :func:`nms` computes on the way (:func:`nms_trace`)."""

    #: Tensor[K]: the indices :func:`nms` returns.
    keep: torch.Tensor
    #: Tensor[E, 2]: the overlapping pairs ``(i, j)`` as indices into ``boxes``, the
    #: higher-scored box first (IoU strictly above the threshold, each pair once).
    pairs: torch.Tensor
    #: int: rounds of the fixed-point iteration (the longest chain of suppressions plus one).
    rounds: int


def nms_trace(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> NMSTrace:
    """:func:`nms`, and the suppression graph and number of rounds it needed (for benchmarks).

    Args:
        boxes (Tensor[N, 4]): as :func:`nms`.
        scores (Tensor[N]): as :func:`nms`.
        iou_threshold (float): as :func:`nms`.

    Returns:
        NMSTrace: ``keep`` (Tensor[K], :func:`nms`'s answer), ``pairs`` (Tensor[E, 2], the
        overlapping pairs in ``boxes``' indices, higher score first) and ``rounds`` (int).

    Raises:
        TypeError, ValueError: as :func:`nms`.

    Example:
        >>> chain = torch.tensor([[4.0 * i, 0, 4 * i + 16, 1] for i in range(5)])  # each overlaps the next
        >>> t = nms_trace(chain, torch.linspace(1, 0.1, 5), 0.5)
        >>> t.keep.tolist(), t.pairs.tolist(), t.rounds
        ([0, 2, 4], [[0, 1], [1, 2], [2, 3], [3, 4]], 5)
    """
    b, s, thr = _check_inputs(boxes, scores, iou_threshold)
    order = torch.sort(s, descending=True, stable=True).indices  # (N,) best first
    rows, cols = _suppression_pairs(b[order], thr)  # (E,) each, in score ranks
    keep, rounds = _greedy_keep(rows, cols, b.shape[0])
    pairs = torch.stack((order[rows], order[cols]), dim=1)  # (E, 2) in boxes' indices
    return NMSTrace(order[keep], pairs, rounds)


def nms_naive(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float,
    score_threshold: float | None = None,
) -> torch.Tensor:
    """Non-max suppression as the loop of seed 001 (the teaching version).

    Discard boxes with ``score <= score_threshold`` (if given); then repeatedly pick the remaining
    box with the highest score, output it, and discard the remaining boxes whose IoU with it is
    strictly greater than ``iou_threshold``. One Python iteration per kept box; the IoU of the
    picked box with the remaining ones is one vectorised call.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        scores (Tensor[N]): one score ``p_c`` per box, no NaN.
        iou_threshold (float): in ``[0, 1]``; suppress when IoU > this.
        score_threshold (float | None): drop boxes with ``score <= score_threshold`` first
            (seed 001: 0.6); ``None`` keeps every box (as :func:`nms`).

    Returns:
        Tensor[K]: int64 indices of the kept boxes, highest score first (ties: lower index first).

    Raises:
        TypeError, ValueError: as :func:`nms`, and for a non-number ``score_threshold``.

    Example:
        >>> boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
        >>> nms_naive(boxes, torch.tensor([0.9, 0.8, 0.5]), 0.5, score_threshold=0.6).tolist()
        [0]
    """
    b, s, thr = _check_inputs(boxes, scores, iou_threshold)
    remaining = torch.arange(b.shape[0], device=b.device)  # candidate indices, in index order
    if score_threshold is not None:
        check_float(score_threshold, "score_threshold")
        remaining = remaining[s > score_threshold]  # 1. discard p_c <= threshold
    keep = []
    while remaining.numel() > 0:  # 2. while there are boxes left
        pos = int(s[remaining].argmax())  # first maximum = lowest index among ties
        best = remaining[pos]
        keep.append(best)
        iou = _iou_from(*_inter_union(b[best][None], b[remaining]))[0]  # (R,)
        survive = iou <= thr
        survive[pos] = False  # the picked box leaves (even a zero-area one, whose IoU is 0)
        remaining = remaining[survive]
    if not keep:
        return torch.empty(0, dtype=torch.long, device=b.device)
    return torch.stack(keep)


def batched_nms(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    idxs: torch.Tensor,
    iou_threshold: float,
) -> torch.Tensor:
    """Non-max suppression within each class (seed 001: "for each class use NMS"), in one call.

    The coordinate-offset trick: shift every box of class ``c`` by ``c * span``, where ``span`` is
    one more than the extent of all coordinates. Boxes of different classes then lie in disjoint
    regions of the plane, so their IoU is 0 and they never suppress each other, while boxes of
    the same class move together and keep their IoU. One :func:`nms` call on the shifted boxes
    therefore equals running NMS class by class and merging by score. Caveat: with non-integer
    coordinates the shift rounds them in floating point, so a pair whose IoU lies within about
    ``1e-7`` (float32) of the threshold may be decided differently from a per-class run; integer
    coordinates with ``|offset| < 2^24`` in float32 are exact.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        scores (Tensor[N]): one score per box, no NaN.
        idxs (Tensor[N]): integer class (or image) index of each box.
        iou_threshold (float): in ``[0, 1]``; suppress when IoU > this.

    Returns:
        Tensor[K]: int64 indices of the kept boxes over all classes, highest score first.

    Raises:
        TypeError, ValueError: as :func:`nms`, and for ``idxs`` that is not an integer Tensor[N]
            on the device of ``boxes``.

    Example:
        >>> boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10]])
        >>> batched_nms(boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5).tolist()
        [0, 1]
    """
    b, s, thr = _check_inputs(boxes, scores, iou_threshold)
    if not isinstance(idxs, torch.Tensor) or idxs.shape != (b.shape[0],):
        got = tuple(idxs.shape) if isinstance(idxs, torch.Tensor) else type(idxs).__name__
        raise ValueError(f"idxs must be a Tensor of shape (N,) = ({b.shape[0]},), got {got}")
    if idxs.is_floating_point() or idxs.is_complex() or idxs.dtype == torch.bool:
        raise TypeError(f"idxs must hold integer class indices, got dtype {idxs.dtype}")
    if idxs.device != b.device:
        raise ValueError(f"idxs must be on the device of boxes ({b.device}), got {idxs.device}")
    if b.shape[0] == 0:
        return torch.empty(0, dtype=torch.long, device=b.device)
    span = b.max() - b.min() + 1  # classes end up at least 1 unit apart
    shifted = b + (idxs.to(b.dtype) * span)[:, None]  # (N, 4), class c moved by c * span
    return nms(shifted, s, thr)
