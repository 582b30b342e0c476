"""Anchor boxes: shapes from sizes and aspect ratios, anchors on a grid, k-means anchors (YOLOv2).

An anchor box is a prior shape a detector refines instead of predicting a box from nothing
(seed 001, "Anchor Box Algorithm"): each grid cell predicts one box per anchor, and at training
time an object goes to the cell that contains its midpoint and to the anchor whose shape has the
highest IoU with the object's shape. Only widths and heights matter for that choice, so the IoU
of two shapes is taken with the boxes centred on the same point (:func:`wh_iou`).

Faster R-CNN (Ren et al., 2015) and SSD pick anchors from a few sizes and aspect ratios
(:func:`anchor_shapes`); YOLOv2 (Redmon & Farhadi, *YOLO9000*, 2017, section 2) clusters the
training boxes with k-means under the distance ``d(box, centroid) = 1 - IoU(box, centroid)``,
so that large boxes do not dominate as they would with the Euclidean distance
(:func:`kmeans_anchors`). Faster R-CNN labels every anchor as object, background or ignored by
its IoU with the ground-truth boxes (:func:`label_anchors`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnlib._checks import check_float, pair
from cnnlib.detection.boxes import box_iou, validate_boxes

__all__ = ["anchor_shapes", "grid_anchors", "wh_iou", "assign_anchors", "kmeans_anchors", "label_anchors"]


def _check_wh(wh: object, name: str) -> torch.Tensor:
    """Check a Tensor[N, 2] of finite, positive widths and heights; return it as float."""
    if not isinstance(wh, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 2) (w, h), got {type(wh).__name__}")
    if wh.dim() != 2 or wh.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2) (w, h), got shape {tuple(wh.shape)}")
    wh = wh if wh.is_floating_point() else wh.to(torch.get_default_dtype())
    bad = ~(torch.isfinite(wh).all(dim=1) & (wh > 0).all(dim=1))
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {wh[i].tolist()}: widths and heights must be finite and > 0")
    return wh


def anchor_shapes(sizes: Sequence[float], ratios: Sequence[float]) -> torch.Tensor:
    """Anchor widths and heights for every (size, aspect ratio) pair, as in Faster R-CNN.

    An anchor of size ``s`` and ratio ``r = h / w`` has area ``s^2``: ``w = s / sqrt(r)``,
    ``h = s * sqrt(r)``.

    Args:
        sizes (Sequence[float]): anchor sizes in pixels (square root of the area), each > 0.
        ratios (Sequence[float]): aspect ratios ``h / w``, each > 0.

    Returns:
        Tensor[A, 2]: ``(w, h)`` of the ``A = len(sizes) * len(ratios)`` anchors, size-major.

    Raises:
        ValueError: if a list is empty or holds a value that is not > 0.

    Example:
        >>> anchor_shapes([16], [0.25, 1.0, 4.0]).tolist()
        [[32.0, 8.0], [16.0, 16.0], [8.0, 32.0]]
    """
    for values, name in ((sizes, "sizes"), (ratios, "ratios")):
        if len(values) == 0 or not all(isinstance(v, (int, float)) and v > 0 for v in values):
            raise ValueError(f"{name} must be a non-empty list of numbers > 0, got {list(values)!r}")
    s = torch.tensor([float(v) for v in sizes])[:, None]  # (S, 1)
    r = torch.tensor([float(v) for v in ratios]).sqrt()[None, :]  # (1, R)
    return torch.stack(((s / r).flatten(), (s * r).flatten()), dim=1)  # (S*R, 2)


def grid_anchors(grid_size: int | tuple[int, int], anchor_wh: torch.Tensor, stride: float) -> torch.Tensor:
    """Place every anchor shape at the centre of every cell of an ``S_y x S_x`` grid.

    Cell ``(i, j)`` (row, column) covers pixels ``[j*stride, (j+1)*stride) x [i*stride, (i+1)*stride)``
    and its anchors are centred at ``((j + 0.5) * stride, (i + 0.5) * stride)`` (YOLO's and
    SSD's convention; torchvision's AnchorGenerator centres them on the cell's corner instead).

    Args:
        grid_size (int | tuple[int, int]): ``S`` or ``(S_y, S_x)``, the feature-map size.
        anchor_wh (Tensor[A, 2]): anchor ``(w, h)`` in pixels, e.g. from :func:`anchor_shapes`.
        stride (float): pixels per grid cell (> 0).

    Returns:
        Tensor[S_y * S_x * A, 4]: anchors in ``(x1, y1, x2, y2)`` format, ordered by row ``i``,
        then column ``j``, then anchor ``a`` (the order of ``x.permute(0, 2, 3, 1)`` on a head
        output ``(N, A, S_y, S_x)`` flattened).

    Raises:
        TypeError, ValueError: for a bad ``grid_size``, ``stride`` or ``anchor_wh``.

    Example:
        >>> grid_anchors(2, torch.tensor([[4.0, 2.0]]), stride=8).tolist()
        [[2.0, 3.0, 6.0, 5.0], [10.0, 3.0, 14.0, 5.0], [2.0, 11.0, 6.0, 13.0], [10.0, 11.0, 14.0, 13.0]]
    """
    sy, sx = pair(grid_size, "grid_size")
    check_float(stride, "stride", 0.0)
    wh = _check_wh(anchor_wh, "anchor_wh")
    ys = (torch.arange(sy, dtype=wh.dtype, device=wh.device) + 0.5) * stride  # (S_y,)
    xs = (torch.arange(sx, dtype=wh.dtype, device=wh.device) + 0.5) * stride  # (S_x,)
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")  # (S_y, S_x) each
    centres = torch.stack((cx, cy), dim=-1).reshape(-1, 1, 2)  # (S_y*S_x, 1, 2)
    half = wh[None] / 2  # (1, A, 2)
    return torch.cat((centres - half, centres + half), dim=-1).reshape(-1, 4)  # (S_y*S_x*A, 4)


def wh_iou(wh1: torch.Tensor, wh2: torch.Tensor) -> torch.Tensor:
    """IoU of box SHAPES: two boxes of sizes ``(w1, h1)``, ``(w2, h2)`` centred on one point.

    ``IoU = min(w1, w2) min(h1, h2) / (w1 h1 + w2 h2 - min(w1, w2) min(h1, h2))``.

    Args:
        wh1 (Tensor[N, 2]): widths and heights, > 0.
        wh2 (Tensor[M, 2]): widths and heights, > 0.

    Returns:
        Tensor[N, M]: pairwise shape IoU in ``(0, 1]``.

    Raises:
        TypeError, ValueError: for a wrong shape or a width/height that is not finite and > 0
            (the message names the row).

    Example:
        >>> wh_iou(torch.tensor([[2.0, 2.0]]), torch.tensor([[2.0, 2.0], [4.0, 1.0]])).tolist()
        [[1.0, 0.3333333432674408]]
    """
    a, b = _check_wh(wh1, "wh1"), _check_wh(wh2, "wh2")
    inter = torch.minimum(a[:, None, 0], b[None, :, 0]) * torch.minimum(a[:, None, 1], b[None, :, 1])  # (N, M)
    union = (a[:, 0] * a[:, 1])[:, None] + (b[:, 0] * b[:, 1])[None, :] - inter
    return inter / union


def assign_anchors(wh: torch.Tensor, anchor_wh: torch.Tensor) -> torch.Tensor:
    """The best anchor of each box: the one whose shape has the highest IoU with the box's shape.

    The rule of seed 001 (and YOLOv2/v3): "each object is assigned to the anchor box with the
    highest IoU"; ties go to the lower anchor index.

    Args:
        wh (Tensor[N, 2]): box widths and heights (``boxes[:, 2:] - boxes[:, :2]`` for xyxy boxes).
        anchor_wh (Tensor[A, 2]): anchor widths and heights.

    Returns:
        Tensor[N]: int64 anchor index of each box (empty for ``N = 0``).

    Raises:
        TypeError, ValueError: as :func:`wh_iou`, and if there are no anchors.

    Example:
        >>> anchors = torch.tensor([[10.0, 30.0], [30.0, 10.0]])  # tall, wide
        >>> assign_anchors(torch.tensor([[8.0, 20.0], [40.0, 12.0]]), anchors).tolist()
        [0, 1]
    """
    if isinstance(anchor_wh, torch.Tensor) and anchor_wh.dim() == 2 and anchor_wh.shape[0] == 0:
        raise ValueError("anchor_wh must hold at least one anchor, got shape (0, 2)")
    return wh_iou(wh, anchor_wh).argmax(dim=1)


def kmeans_anchors(
    wh: torch.Tensor,
    k: int,
    max_iter: int = 300,
    seed: int = 0,
) -> tuple[torch.Tensor, float]:
    """Cluster box shapes into ``k`` anchors with k-means under ``d = 1 - IoU`` (YOLOv2).

    k-means++ initialisation with the same distance (seeded with ``seed``), then Lloyd's
    iterations: assign every box to the centroid of highest :func:`wh_iou`, move every centroid
    to the mean ``(w, h)`` of its boxes, until the assignment stops changing (at most
    ``max_iter`` rounds). A centroid that loses all its boxes restarts at the box farthest from
    its own centroid.

    Args:
        wh (Tensor[N, 2]): widths and heights of the training boxes, > 0.
        k (int): number of anchors, ``1 <= k <= N``.
        max_iter (int): upper bound on Lloyd's iterations (>= 1).
        seed (int): seed of the initialisation; the same seed gives the same anchors.

    Returns:
        tuple[Tensor[k, 2], float]: the anchors ``(w, h)`` sorted by area (smallest first), and
        the mean over boxes of the IoU with their best anchor (YOLOv2 reports "Avg IOU").

    Raises:
        TypeError, ValueError: for a bad ``wh`` (see :func:`wh_iou`) or a ``k``/``max_iter``
            out of range.

    Example:
        >>> wh = torch.tensor([[10., 10], [11, 9], [9, 11], [40, 20], [42, 19], [38, 21]])
        >>> anchors, mean_iou = kmeans_anchors(wh, 2)
        >>> anchors.round().tolist(), round(mean_iou, 2)
        ([[10.0, 10.0], [40.0, 20.0]], 0.91)
    """
    wh = _check_wh(wh, "wh")
    N = wh.shape[0]
    for value, name in ((k, "k"), (max_iter, "max_iter")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if not 1 <= k <= N:
        raise ValueError(f"k must be in [1, {N}] (the number of boxes), got {k}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    gen = torch.Generator().manual_seed(seed)
    # k-means++: the first centroid at random, each next one drawn with probability ~ d^2
    idx = [int(torch.randint(N, (1,), generator=gen))]
    for _ in range(1, k):
        d = 1 - wh_iou(wh, wh[idx]).amax(dim=1)  # (N,) distance to the closest centroid
        p = d.double().pow(2).cpu()
        if p.sum() > 0:
            idx.append(int(torch.multinomial(p, 1, generator=gen)))
        else:  # every box already sits on a centroid (duplicates): any box will do
            idx.append(int(torch.randint(N, (1,), generator=gen)))
    centroids = wh[idx].clone()  # (k, 2)
    assign = None
    for _ in range(max_iter):
        iou = wh_iou(wh, centroids)  # (N, k)
        new_assign = iou.argmax(dim=1)  # (N,)
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        counts = torch.bincount(assign, minlength=k)  # (k,)
        sums = torch.zeros_like(centroids).index_add_(0, assign, wh)  # (k, 2)
        centroids = sums / counts.clamp(min=1)[:, None].to(wh.dtype)  # mean (w, h) per cluster
        dist = 1 - iou.gather(1, assign[:, None]).squeeze(1)  # (N,) distance to own centroid
        for c in (counts == 0).nonzero().flatten().tolist():  # empty cluster: restart at the worst box
            worst = int(dist.argmax())
            centroids[c], dist[worst] = wh[worst], -1.0
    order = (centroids[:, 0] * centroids[:, 1]).argsort()
    centroids = centroids[order]
    mean_iou = float(wh_iou(wh, centroids).amax(dim=1).mean())
    return centroids, mean_iou


def label_anchors(
    anchors: torch.Tensor,
    gt_boxes: torch.Tensor,
    high: float = 0.7,
    low: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Faster R-CNN's anchor labels: 1 object, 0 background, -1 ignored during training.

    An anchor is positive when its IoU with some ground-truth box is ``>= high``, and also when
    it is (one of) the best anchor(s) of a ground-truth box, so that every object gets at least
    one anchor; negative when its best IoU is ``< low``; ignored in between.

    Args:
        anchors (Tensor[A, 4]): anchors in ``(x1, y1, x2, y2)`` format.
        gt_boxes (Tensor[G, 4]): ground-truth boxes, same format (``G`` may be 0).
        high (float): IoU for a positive (0.7 in the paper).
        low (float): IoU under which an anchor is background (0.3), ``low <= high``.

    Returns:
        tuple[Tensor[A], Tensor[A]]: int64 labels in ``{1, 0, -1}`` and the index of each anchor's
        best ground-truth box (0 when ``G = 0``).

    Raises:
        TypeError, ValueError: for bad boxes or ``low > high``.

    Example:
        >>> anchors = torch.tensor([[0., 0, 10, 10], [0, 0, 10, 6], [20, 20, 30, 30]])
        >>> label_anchors(anchors, torch.tensor([[0., 0, 10, 9]]))[0].tolist()
        [1, -1, 0]
    """
    if not 0 <= low <= high <= 1:
        raise ValueError(f"need 0 <= low <= high <= 1, got low={low!r}, high={high!r}")
    a = validate_boxes(anchors, "anchors")
    if validate_boxes(gt_boxes, "gt_boxes").shape[0] == 0:
        zeros = torch.zeros(a.shape[0], dtype=torch.long, device=a.device)
        return zeros, zeros.clone()
    iou = box_iou(a, gt_boxes)  # (A, G)
    best, matched = iou.max(dim=1)  # (A,) each
    labels = torch.full_like(matched, -1)
    labels[best < low] = 0
    labels[best >= high] = 1
    best_per_gt = iou.max(dim=0).values  # (G,)
    is_best = ((iou == best_per_gt[None]) & (best_per_gt[None] > 0)).any(dim=1)  # (A,)
    labels[is_best] = 1
    return labels, matched
