"""YOLO: the grid target, its decoding, box filtering and the loss.

Redmon et al., "You Only Look Once: Unified, Real-Time Object Detection", CVPR 2016 (the grid and
the loss of seed 004); anchor boxes as in Redmon & Farhadi, "YOLO9000", CVPR 2017 (seed 001).

Layout: a YOLO map for ``N`` images is ``Tensor[N, S, S, A * (5 + K)]``, channels last like seed
001's ``S x S x B(5 + C)``. Cell ``(i, j)`` is row ``i`` (from ``y``) and column ``j`` (from
``x``) of an ``S x S`` grid over the ``H x W`` image, ``H / S x W / S`` pixels each (a non-square
image may have an ``S_y x S_x`` grid: every function here accepts one). Predictor ``a`` (the one
tied to anchor ``a``) owns channels ``a * (5 + K) ... (a + 1) * (5 + K) - 1``:

``[p_c, b_x, b_y, b_w, b_h, c_1 ... c_K]``

- ``p_c``: 1 when an object is assigned to this cell and anchor, else 0 (a probability in a
  prediction); when it is 0 the other numbers are "don't care" (seed 001) and are 0 in a target;
- ``b_x, b_y`` in ``[0, 1)``: the box centre inside its cell, in cell units:
  ``cx = (j + b_x) * W / S`` and ``cy = (i + b_y) * H / S``;
- ``b_w, b_h > 0``: the box size RELATIVE TO THE ANCHOR (YOLOv2's priors):
  ``w = b_w * anchor_w`` pixels; they exceed 1 for boxes larger than the anchor;
- ``c_k``: class probabilities, one-hot in a target.

Note the order: width before height (``"cxcywh"``), where seed 001 lists ``b_h, b_w``.
:func:`yolo_predictors` views a map as ``(N, S, S, A, 5 + K)``. A model for this layout outputs
probabilities (sigmoid, softmax) and positive sizes, not raw scores, as
:class:`~cnnlib.detection.detector.TinyYOLO` does.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_int, pair
from cnnlib.detection.anchors import assign_anchors, wh_iou
from cnnlib.detection.boxes import box_ciou, box_convert
from cnnlib.detection.nms import batched_nms

#: Alias of :func:`cnnlib.detection.anchors.wh_iou` (the package ``__init__`` re-exports this name).
anchor_iou = wh_iou

__all__ = [
    "yolo_predictors", "yolo_encode", "yolo_neighbour_targets", "yolo_boxes", "yolo_filter_boxes",
    "yolo_decode", "yolo_postprocess", "yolo_loss_terms", "yolo_loss",
]


def _check_anchors(anchors: object) -> torch.Tensor:
    if not isinstance(anchors, torch.Tensor) or anchors.dim() != 2 or anchors.shape[1] != 2 or len(anchors) == 0:
        got = tuple(anchors.shape) if isinstance(anchors, torch.Tensor) else type(anchors).__name__
        raise ValueError(f"anchors must be a Tensor[A, 2] of (width, height) in pixels with A >= 1, got {got}")
    if not (torch.isfinite(anchors).all() and (anchors > 0).all()):
        raise ValueError(f"anchors must be finite and positive, got {anchors.tolist()}")
    return anchors


def yolo_predictors(x: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """View a YOLO map ``(N, S, S, A * (5 + K))`` as ``(N, S, S, A, 5 + K)`` (no copy when contiguous).

    Raises:
        ValueError: if ``x`` is not 4-D with a last dimension ``A * (5 + K)``, ``K >= 1``.

    Example:
        >>> yolo_predictors(torch.zeros(2, 8, 8, 3 * 8), num_anchors=3).shape
        torch.Size([2, 8, 8, 3, 8])
    """
    check_int(num_anchors, "num_anchors")
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"a YOLO map must be a Tensor[N, S, S, A*(5+K)], got {got}")
    C = x.shape[-1]
    if C % num_anchors or C // num_anchors < 6:
        raise ValueError(f"last dimension {C} is not num_anchors * (5 + K) with K >= 1 for num_anchors={num_anchors}")
    return x.reshape(*x.shape[:3], num_anchors, C // num_anchors)  # (N, S, S, A, 5+K)


def _check_objects(boxes, labels, where: str = "") -> None:
    """Shape and dtype checks of one image's boxes and labels (``where`` names the image in a list)."""
    if not isinstance(boxes, torch.Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        got = tuple(boxes.shape) if isinstance(boxes, torch.Tensor) else type(boxes).__name__
        raise ValueError(f"boxes{where} must be a Tensor[M, 4] (xyxy pixels), got {got}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (boxes.shape[0],) or labels.is_floating_point():
        got = (tuple(labels.shape), labels.dtype) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels{where} must be an integer Tensor[M] with M = {boxes.shape[0]}, got {got}")


def _encode(b, labels, image, N, Sy, Sx, anchors, K, H, W) -> torch.Tensor:
    """Targets ``(N, S_y, S_x, A * (5 + K))`` of the boxes ``b`` (float ``(M, 4)``) of all images at
    once; ``image`` ``(M,)`` says which image each box belongs to."""
    A = anchors.shape[0]
    out = torch.zeros(N, Sy, Sx, A, 5 + K, dtype=b.dtype, device=b.device)
    if b.shape[0] == 0:
        return out.reshape(N, Sy, Sx, A * (5 + K))
    if labels.min() < 0 or labels.max() >= K:
        bad = labels[(labels < 0) | (labels >= K)].unique().tolist()
        raise ValueError(f"labels must lie in [0, num_classes) = [0, {K}), got {bad}")
    cx, cy, w, h = box_convert(b, "xyxy", "cxcywh").unbind(1)  # (M,) each
    if not (torch.isfinite(b).all() and (w > 0).all() and (h > 0).all()):
        raise ValueError("boxes must be finite with x2 > x1 and y2 > y1")
    outside = (cx < 0) | (cx >= W) | (cy < 0) | (cy >= H)
    if outside.any():
        raise ValueError(f"box centres must lie inside the {H}x{W} image, got boxes {b[outside].tolist()}")
    cw, ch = W / Sx, H / Sy  # cell size in pixels
    j, i = (cx / cw).floor().long().clamp(0, Sx - 1), (cy / ch).floor().long().clamp(0, Sy - 1)
    anc = anchors.to(device=b.device, dtype=b.dtype)
    a = assign_anchors(torch.stack((w, h), 1), anc)  # best anchor by shape IoU, the first one on ties
    # Two objects on one (image, cell, anchor): the larger box wins (for equal areas, the earlier one).
    order = torch.argsort(w * h, descending=True, stable=True)
    slot = (((image * Sy + i) * Sx + j) * A + a)[order]
    M = len(order)
    first = torch.full((N * Sy * Sx * A,), M, dtype=torch.long, device=b.device)
    first = first.scatter_reduce(0, slot, torch.arange(M, device=b.device), reduce="amin")
    k = order[first[slot] == torch.arange(M, device=b.device)]  # the winners
    n, i, j, a = image[k], i[k], j[k], a[k]
    out[n, i, j, a, 0] = 1
    out[n, i, j, a, 1] = cx[k] / cw - j
    out[n, i, j, a, 2] = cy[k] / ch - i
    out[n, i, j, a, 3] = w[k] / anc[a, 0]
    out[n, i, j, a, 4] = h[k] / anc[a, 1]
    out[n, i, j, a, 5 + labels[k].to(b.device)] = 1
    return out.reshape(N, Sy, Sx, A * (5 + K))


def _float_boxes(boxes: torch.Tensor) -> torch.Tensor:
    return boxes if boxes.is_floating_point() else boxes.to(torch.get_default_dtype())


def yolo_encode(
    boxes: torch.Tensor | list[torch.Tensor],
    labels: torch.Tensor | list[torch.Tensor],
    grid_size: int | tuple[int, int],
    anchors: torch.Tensor,
    num_classes: int,
    image_size: int | tuple[int, int] = 64,
) -> torch.Tensor:
    """Build the YOLO target of one image (or a batch): each object goes to one cell and one anchor.

    Assignment (seed 001): the cell that contains the box centre, and, in that cell, the anchor
    whose shape has the highest IoU with the box
    (:func:`~cnnlib.detection.anchors.assign_anchors`; the first on ties). When
    two objects land on the same cell AND anchor, the larger box (by area) keeps the slot and the
    other is dropped from the target (equal areas: the earlier one wins); seed 001 calls this
    the weak point of anchors ("bad if 3 objects appear with 2 anchor boxes").

    Args:
        boxes (Tensor[M, 4] or list of them): ``(x1, y1, x2, y2)`` pixels, ``x2 > x1``,
            ``y2 > y1``, centres inside the image; ``M`` may be 0.
        labels (Tensor[M] or list of them): integer classes in ``[0, num_classes)``.
        grid_size (int | tuple[int, int]): ``S`` or ``(S_y, S_x)``.
        anchors (Tensor[A, 2]): anchor ``(width, height)`` in pixels (moved to the boxes' device).
        num_classes (int): ``K``.
        image_size (int | tuple[int, int]): ``H`` (= ``W``) or ``(H, W)`` of the image.

    Returns:
        Tensor[S, S, A * (5 + K)] for one image, Tensor[N, S, S, A * (5 + K)] for a list; on the
        boxes' device, float (integer boxes become float32). See the module docstring for the layout.

    Raises:
        ValueError: for wrong shapes, labels out of range, empty or outside boxes, bad anchors.

    Example:
        >>> t = yolo_encode(torch.tensor([[8., 8., 24., 24.]]), torch.tensor([1]), 4, torch.tensor([[16., 16.]]), 2)
        >>> t.shape, t[1, 1].tolist()  # centre (16, 16) is the corner of cell (1, 1): b_x = b_y = 0
        (torch.Size([4, 4, 7]), [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    """
    Sy, Sx = pair(grid_size, "grid_size")
    K = check_int(num_classes, "num_classes")
    H, W = pair(image_size, "image_size")
    anchors = _check_anchors(anchors)
    if isinstance(boxes, (list, tuple)):
        if not isinstance(labels, (list, tuple)) or len(labels) != len(boxes):
            raise ValueError("with a list of boxes, labels must be a list of the same length")
        if len(boxes) == 0:
            raise ValueError("boxes is an empty list: give at least one image")
        for n, (b, l) in enumerate(zip(boxes, labels)):
            _check_objects(b, l, f"[{n}]")
        # all images in one pass: a Python loop over thousands of scenes costs seconds
        b = torch.cat([_float_boxes(b) for b in boxes])
        device = b.device
        image = torch.repeat_interleave(torch.arange(len(boxes), device=device),
                                        torch.tensor([len(x) for x in boxes], device=device))
        return _encode(b, torch.cat([l.to(device) for l in labels]), image, len(boxes), Sy, Sx, anchors, K, H, W)
    _check_objects(boxes, labels)
    b = _float_boxes(boxes)
    image = torch.zeros(len(b), dtype=torch.long, device=b.device)
    return _encode(b, labels.to(b.device), image, 1, Sy, Sx, anchors, K, H, W)[0]


def _target_predictors(target: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """``target`` split per predictor ``(N, S, S, A, 5 + K)``, checked to be what :func:`yolo_encode`
    makes: ``p_c`` 0 or 1, classes one-hot where ``p_c`` is 1 and zero elsewhere."""
    t = yolo_predictors(target, num_anchors)
    if not ((t[..., 0] == 0) | (t[..., 0] == 1)).all():
        raise ValueError("target p_c must be 0 or 1 (build targets with yolo_encode)")
    if ((t[..., 5:].sum(-1) - t[..., 0]).abs() > 1e-3).any():
        raise ValueError("target classes must be one-hot where p_c = 1 and zero elsewhere; "
                         f"is num_anchors={num_anchors} the number of anchors of this map?")
    return t


def yolo_neighbour_targets(target: torch.Tensor, num_anchors: int) -> torch.Tensor:
    """Make each object's two nearest neighbouring cells responsible for it too (YOLOv5's assignment).

    :func:`yolo_encode` gives an object one responsible predictor: its anchor in the cell that
    holds its centre. YOLOv5 adds the same anchor in the neighbouring cell on the side of the
    centre nearer to it, left or right (``b_x < 0.5`` or ``> 0.5``) and above or below, so each
    object has up to three positives instead of one: three times as many examples for the box,
    objectness and class terms, and a box whose centre sits near a cell edge is no longer the
    job of a single cell. A copy keeps the box, written in its own cell's frame: its ``b_x``
    (or ``b_y``) is shifted by one and lies in ``[-0.5, 1.5]``, which a model can output with
    ``2 sigmoid(t) - 0.5`` (:class:`~cnnlib.detection.detector.TinyYOLO`). A neighbour outside
    the grid, or one whose predictor is already responsible for an object, is skipped.

    Args:
        target (Tensor[N, S, S, A * (5 + K)]): from :func:`yolo_encode`.
        num_anchors (int): ``A``.

    Returns:
        Tensor: a new target of the same shape; every positive decodes (:func:`yolo_boxes`) to
        a box of the original target.

    Raises:
        ValueError: if ``target`` is not a 4-D YOLO map with ``p_c`` 0 or 1 and one-hot classes
            where ``p_c`` is 1 (what :func:`yolo_encode` makes).

    Example:
        >>> anchors = torch.tensor([[16., 16.]])
        >>> t = yolo_encode([torch.tensor([[4., 4., 20., 20.]])], [torch.tensor([0])], 4, anchors, 1)
        >>> n = yolo_neighbour_targets(t, 1)  # centre (12, 12): b_x = b_y = 0.75 in cell (0, 0)
        >>> n[0, ..., 0].nonzero().tolist(), n[0, 0, 1, 1].item(), n[0, 1, 0, 2].item()
        ([[0, 0], [0, 1], [1, 0]], -0.25, -0.25)
    """
    t = _target_predictors(target, num_anchors)  # (N, S_y, S_x, A, 5 + K)
    out = t.clone()
    responsible = t[..., 0] == 1  # (N, S_y, S_x, A)
    for axis, k in ((2, 1), (1, 2)):  # grid columns with b_x, then grid rows with b_y
        index = torch.arange(t.shape[axis], device=t.device).view([1, -1, 1, 1] if axis == 1 else [1, 1, -1, 1])
        for step in (-1, 1):  # the neighbour on the left/above, then on the right/below
            near = responsible & ((t[..., k] < 0.5) if step < 0 else (t[..., k] > 0.5))
            copy = t.clone()
            copy[..., k] -= step  # the same centre, in the frame of the cell `step` away
            arrives = torch.roll(near, step, axis) & (index != (0 if step > 0 else t.shape[axis] - 1))
            free = out[..., 0] == 0
            out = torch.where((arrives & free)[..., None], torch.roll(copy, step, axis), out)
    return out.reshape(target.shape)


def yolo_boxes(
    pred: torch.Tensor, anchors: torch.Tensor, image_size: int | tuple[int, int] = 64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Turn every predictor of a YOLO map into a pixel box (no thresholding).

    Args:
        pred (Tensor[N, S, S, A * (5 + K)]): a target or activated model output.
        anchors (Tensor[A, 2]): anchor ``(width, height)`` in pixels.
        image_size (int | tuple[int, int]): ``H`` or ``(H, W)``.

    Returns:
        tuple: ``box_confidence`` ``Tensor[N, S, S, A]`` (``p_c``), ``boxes`` ``Tensor[N, S, S, A, 4]``
        xyxy pixels, ``class_probs`` ``Tensor[N, S, S, A, K]``.

    Example:
        >>> t = yolo_encode([torch.tensor([[8., 8., 24., 24.]])], [torch.tensor([1])], 4, torch.tensor([[16., 16.]]), 2)
        >>> yolo_boxes(t, torch.tensor([[16., 16.]]))[1][0, 1, 1, 0].tolist()
        [8.0, 8.0, 24.0, 24.0]
    """
    anchors = _check_anchors(anchors)
    p = yolo_predictors(pred, anchors.shape[0])  # (N, S, S, A, 5+K)
    H, W = pair(image_size, "image_size")
    Sy, Sx = p.shape[1], p.shape[2]
    anc = anchors.to(device=p.device, dtype=p.dtype)
    cols = torch.arange(Sx, device=p.device, dtype=p.dtype)
    rows = torch.arange(Sy, device=p.device, dtype=p.dtype)
    cx = (cols[None, None, :, None] + p[..., 1]) * (W / Sx)  # column j runs along dim 2
    cy = (rows[None, :, None, None] + p[..., 2]) * (H / Sy)  # row i runs along dim 1
    w, h = p[..., 3] * anc[:, 0], p[..., 4] * anc[:, 1]  # (N, S, S, A)
    boxes = torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)  # (N, S, S, A, 4)
    return p[..., 0], boxes, p[..., 5:]


def yolo_filter_boxes(
    box_confidence: torch.Tensor, boxes: torch.Tensor, class_probs: torch.Tensor, threshold: float = 0.6,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep predictors whose best class score ``p_c * P(class)`` is strictly above ``threshold``.

    Args:
        box_confidence (Tensor[..., 1] or Tensor[...]): ``p_c`` of each predictor.
        boxes (Tensor[..., 4]): a box per predictor.
        class_probs (Tensor[..., K]): class probabilities per predictor.
        threshold (float): seed 001 drops ``p_c <= 0.6``.

    Returns:
        tuple: ``scores`` ``Tensor[M]``, ``boxes`` ``Tensor[M, 4]``, ``classes`` ``Tensor[M]`` (int64),
        in the row-major order of the leading dimensions.

    Raises:
        ValueError: if the leading dimensions of the three inputs differ.

    Example:
        >>> s, b, c = yolo_filter_boxes(torch.tensor([0.9, 0.5]), torch.ones(2, 4), torch.tensor([[0.2, 0.8], [0.0, 1.0]]))
        >>> [round(v, 2) for v in s.tolist()], c.tolist()  # 0.9 * 0.8 = 0.72 > 0.6; 0.5 * 1.0 is not
        ([0.72], [1])
    """
    conf = box_confidence
    if isinstance(conf, torch.Tensor) and isinstance(boxes, torch.Tensor) and conf.dim() == boxes.dim() and conf.shape[-1] == 1:
        conf = conf[..., 0]
    tensors = all(isinstance(t, torch.Tensor) for t in (conf, boxes, class_probs))
    if not tensors or boxes.shape[-1] != 4 or boxes.shape[:-1] != conf.shape or class_probs.shape[:-1] != conf.shape:
        shapes = [tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for t in (box_confidence, boxes, class_probs)]
        raise ValueError(f"need box_confidence (...) or (..., 1), boxes (..., 4), class_probs (..., K) with one '...', got {shapes}")
    best, classes, keep = _best_scores(conf, class_probs, threshold)
    return best[keep], boxes[keep], classes[keep]


def _best_scores(conf: torch.Tensor, class_probs: torch.Tensor, threshold: float):
    """Best class score ``p_c * max_k c_k`` and its class per predictor, and which are above ``threshold``."""
    best, classes = (conf[..., None] * class_probs).max(dim=-1)  # (...), (...)
    return best, classes, best > threshold


def _decode_flat(pred, anchors, conf_threshold, image_size):
    """:func:`yolo_decode` for all images at once: flat ``boxes, scores, labels`` and the ``image``
    index of each, in raster order of (image, row, column, anchor)."""
    if isinstance(pred, torch.Tensor) and pred.dim() == 3:
        pred = pred[None]
    conf, boxes, probs = yolo_boxes(pred, anchors, image_size)  # (N, S, S, A), (..., 4), (..., K)
    best, classes, keep = _best_scores(conf, probs, conf_threshold)
    image = torch.arange(conf.shape[0], device=conf.device).view(-1, 1, 1, 1).expand_as(keep)
    return boxes[keep], best[keep], classes[keep], image[keep], conf.shape[0]


def yolo_decode(
    pred: torch.Tensor, anchors: torch.Tensor, conf_threshold: float = 0.5, image_size: int | tuple[int, int] = 64,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Read boxes off a YOLO map: :func:`yolo_boxes`, then :func:`yolo_filter_boxes`'s test for each image
    (computed on the whole batch at once and split by image).

    Args:
        pred (Tensor[N, S, S, A * (5 + K)] or Tensor[S, S, A * (5 + K)]): target or activated output.
        anchors (Tensor[A, 2]): anchor ``(width, height)`` in pixels.
        conf_threshold (float): keep predictors with ``p_c * max_k c_k > conf_threshold``.
        image_size (int | tuple[int, int]): ``H`` or ``(H, W)``.

    Returns:
        list: one ``(boxes Tensor[M, 4] xyxy pixels, scores Tensor[M], labels Tensor[M])`` per image,
        in raster order of (row, column, anchor). ``decode(encode(x))`` gives back the encoded boxes.

    Example:
        >>> anchors = torch.tensor([[16., 16.]])
        >>> t = yolo_encode(torch.tensor([[3., 5., 20., 30.]]), torch.tensor([0]), 4, anchors, 2)
        >>> boxes, scores, labels = yolo_decode(t, anchors)[0]
        >>> boxes.tolist(), scores.tolist(), labels.tolist()
        ([[3.0, 5.0, 20.0, 30.0]], [1.0], [0])
    """
    boxes, scores, labels, image, n = _decode_flat(pred, anchors, conf_threshold, image_size)
    counts = torch.bincount(image, minlength=n).tolist()
    return list(zip(boxes.split(counts), scores.split(counts), labels.split(counts)))


def yolo_postprocess(
    pred: torch.Tensor,
    anchors: torch.Tensor,
    conf_threshold: float = 0.6,
    iou_threshold: float = 0.5,
    image_size: int | tuple[int, int] = 64,
    max_detections: int | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Seed 001's final algorithm: drop low scores, then non-max suppression class by class.

    Args:
        pred (Tensor[N, S, S, A * (5 + K)]): activated model output.
        anchors (Tensor[A, 2]): anchor ``(width, height)`` in pixels.
        conf_threshold (float): keep ``p_c * max_k c_k > conf_threshold`` (seed 001: 0.6; use a
            low value such as 0.01 when computing mAP, which needs the whole ranking).
        iou_threshold (float): suppress a box whose IoU with a better box of its class is above this.
        image_size (int | tuple[int, int]): ``H`` or ``(H, W)``.
        max_detections (int | None): keep at most this many per image (the highest scores).

    Returns:
        list: one ``(boxes, scores, labels)`` per image, highest score first. The whole batch
        goes through one :func:`~cnnlib.detection.nms.batched_nms` call with a group per image
        and class: the same answer as NMS image by image and class by class, without a Python
        loop over the images.

    Example:
        >>> anchors = torch.tensor([[16., 16.], [20., 20.]])
        >>> t = yolo_encode([torch.tensor([[0., 0., 16., 16.]])], [torch.tensor([0])], 4, anchors, 1)
        >>> t[0, 0, 0, 6:12] = torch.tensor([0.9, 0.5, 0.5, 1.0, 1.0, 1.0])  # a duplicate on anchor 1
        >>> [len(b) for b, _, _ in yolo_postprocess(t, anchors)]  # IoU 0.64 > 0.5: one box left
        [1]
    """
    if max_detections is not None:
        check_int(max_detections, "max_detections")
    boxes, scores, labels, image, n = _decode_flat(pred, anchors, conf_threshold, image_size)
    # One NMS call for the whole batch, each (image, class) a group of its own; in float64, where
    # the group offsets of batched_nms (up to N K times the image span) round coordinates by
    # about 1e-11 pixels instead of float32's 1e-2.
    keep = batched_nms(boxes.double(), scores, image * (int(labels.max()) + 1 if len(labels) else 1) + labels,
                       iou_threshold)  # best first over the batch
    keep = keep[torch.sort(image[keep], stable=True).indices]  # image by image, each best first
    out = []
    for k in keep.split(torch.bincount(image[keep], minlength=n).tolist()):
        k = k[:max_detections]
        out.append((boxes[k], scores[k], labels[k]))
    return out


_OBJECTNESS = ("mse", "bce")
_CLASSIFICATION = ("mse", "ce")
_BOX = ("mse", "ciou")


def yolo_loss_terms(
    pred: torch.Tensor,
    target: torch.Tensor,
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
    *,
    num_anchors: int = 1,
    objectness: str = "mse",
    classification: str = "mse",
    box: str = "mse",
    anchors: torch.Tensor | None = None,
    image_size: int | tuple[int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """The five weighted terms of the YOLO loss (seed 004), each summed over cells and anchors, averaged over images.

    With ``1_ij^obj`` = 1 where the target's ``p_c`` is 1 (predictor ``j`` of cell ``i`` is
    responsible for an object) and ``1_ij^noobj = 1 - 1_ij^obj``:

    - ``"xy"``: ``lambda_coord sum 1_ij^obj [(x - x^)^2 + (y - y^)^2]``;
    - ``"wh"``: ``lambda_coord sum 1_ij^obj [(sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]``: the
      square roots make an error of one pixel cost more on a small box than on a large one;
      ``w, h`` here are relative to the anchor (module docstring), so the term equals the seed's
      pixel-size term scaled by ``1 / anchor`` per predictor;
    - ``"obj"``: ``sum 1_ij^obj (C - C^)^2`` with target ``C = 1``;
    - ``"noobj"``: ``lambda_noobj sum 1_ij^noobj (C - C^)^2`` with target ``C = 0``; it covers
      every predictor not responsible for an object, so ``lambda_noobj < 1`` keeps the many empty
      cells from drowning the few objects;
    - ``"class"``: ``sum 1_ij^obj sum_c (p(c) - p^(c))^2``: per responsible predictor, since each
      anchor carries its own class vector (YOLOv2); YOLOv1 has one per cell.

    Variants (not the seed's loss; options here, off by default): ``box="ciou"`` replaces the
    two box terms by one, ``"box"``: ``lambda_coord sum 1_ij^obj (1 - CIoU)`` of the predicted
    and the true box (:func:`~cnnlib.detection.boxes.box_ciou`, YOLOv5's box loss). Squared
    errors of ``x, y, sqrt w, sqrt h`` weigh the four numbers separately; what mAP at a high IoU
    threshold rewards is the overlap itself, which CIoU measures (plus the centre distance and
    the aspect ratio, so that it still pulls when the boxes do not overlap). It needs the
    anchors and the image size, to put centres and sizes in the same units. ``objectness="bce"`` replaces
    both ``(C - C^)^2`` terms by binary cross-entropy, and ``classification="ce"`` the class term
    by cross-entropy ``-sum_c p(c) log p^(c)``, as YOLOv3 and later do: their gradient does not
    vanish when a sigmoid/softmax saturates on the wrong side. Later YOLOs also make the
    objectness target the IoU of the predicted box with the true one (IoU-aware objectness), so
    the score ranks well-placed boxes first, and ignore non-responsible predictors whose box
    already overlaps an object well. The book's detector needs none of them: on the shapes
    scenes the seed's squared errors trained as well as BCE/CE (mAP@[.5:.95] 0.56 vs 0.55 in
    one matched run) and an IoU target for ``C`` gained nothing (0.599 vs 0.600), so the
    IoU-aware variant is not offered here.

    Args:
        pred (Tensor[N, S, S, A * (5 + K)]): activated prediction (``p_c`` and classes in [0, 1],
            ``b_w, b_h >= 0``).
        target (Tensor[N, S, S, A * (5 + K)]): from :func:`yolo_encode` (``p_c`` is 0 or 1).
        lambda_coord (float): weight of the two box terms (the paper's 5).
        lambda_noobj (float): weight of the no-object confidence term (the paper's 0.5).
        num_anchors (int): ``A``, needed to split the channels (default 1: one predictor per cell).
        objectness (str): ``"mse"`` (the seed) or ``"bce"``.
        classification (str): ``"mse"`` (the seed) or ``"ce"``.
        box (str): ``"mse"`` (the seed) or ``"ciou"``.
        anchors (Tensor[A, 2] | None): anchor sizes in pixels; needed for ``box="ciou"``.
        image_size (int | tuple[int, int] | None): ``H`` or ``(H, W)``; needed for ``box="ciou"``.

    Returns:
        dict[str, Tensor]: scalar terms ``"xy"``, ``"wh"``, ``"obj"``, ``"noobj"``, ``"class"``
        (``"box"`` instead of ``"xy"`` and ``"wh"`` with ``box="ciou"``).

    Raises:
        ValueError: for shapes that differ or do not split into ``num_anchors`` predictors, a target
            ``p_c`` other than 0/1 or classes that are not one-hot where it is 1 (the usual sign of
            a wrong ``num_anchors``), negative predicted sizes, or an unknown variant.

    Example:
        >>> t = yolo_encode([torch.tensor([[8., 8., 24., 24.]])], [torch.tensor([0])], 4, torch.tensor([[16., 16.]]), 2)
        >>> {k: round(v.item(), 3) for k, v in yolo_loss_terms(t, t).items()}
        {'xy': 0.0, 'wh': 0.0, 'obj': 0.0, 'noobj': 0.0, 'class': 0.0}
    """
    if objectness not in _OBJECTNESS:
        raise ValueError(f"objectness must be one of {_OBJECTNESS}, got {objectness!r}")
    if classification not in _CLASSIFICATION:
        raise ValueError(f"classification must be one of {_CLASSIFICATION}, got {classification!r}")
    if box not in _BOX:
        raise ValueError(f"box must be one of {_BOX}, got {box!r}")
    if box == "ciou" and (anchors is None or image_size is None):
        raise ValueError("box='ciou' needs anchors (Tensor[A, 2], pixels) and image_size to compare boxes")
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor) or pred.shape != target.shape:
        shapes = [tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for t in (pred, target)]
        raise ValueError(f"pred and target must be tensors of one shape, got {shapes}")
    p, t = yolo_predictors(pred, num_anchors), _target_predictors(target, num_anchors)  # (N, S, S, A, 5+K)
    N = p.shape[0]
    obj = t[..., 0] == 1  # (N, S, S, A): 1_ij^obj
    noobj = ~obj
    if (p[..., 3:5][obj] < 0).any():
        raise ValueError("predicted b_w, b_h must be >= 0 (the model must output sizes, not raw scores)")
    one = torch.ones((), dtype=p.dtype, device=p.device)
    eps = torch.finfo(p.dtype).eps
    # square roots only where an object is, so that "don't care" entries never produce NaN gradients
    sqrt_p = torch.where(obj[..., None], p[..., 3:5], one).clamp_min(eps).sqrt()
    sqrt_t = torch.where(obj[..., None], t[..., 3:5], one).sqrt()
    xy = ((p[..., 1:3] - t[..., 1:3]) ** 2).sum(-1)  # (N, S, S, A)
    wh = ((sqrt_p - sqrt_t) ** 2).sum(-1)
    c = p[..., 0]
    if objectness == "mse":
        c_obj, c_noobj = (c - 1) ** 2, c ** 2
    else:
        c = c.clamp(eps, 1 - eps)
        c_obj, c_noobj = -torch.log(c), -torch.log1p(-c)
    if classification == "mse":
        cls = ((p[..., 5:] - t[..., 5:]) ** 2).sum(-1)
    else:
        cls = -(t[..., 5:] * p[..., 5:].clamp_min(eps).log()).sum(-1)
    zero = torch.zeros((), dtype=p.dtype, device=p.device)
    if box == "ciou":
        coord = {"box": lambda_coord * (1 - _responsible_ciou(p, t, obj, anchors, image_size)).sum() / N}
    else:
        coord = {"xy": lambda_coord * torch.where(obj, xy, zero).sum() / N,
                 "wh": lambda_coord * torch.where(obj, wh, zero).sum() / N}
    return {
        **coord,
        "obj": torch.where(obj, c_obj, zero).sum() / N,
        "noobj": lambda_noobj * torch.where(noobj, c_noobj, zero).sum() / N,
        "class": torch.where(obj, cls, zero).sum() / N,
    }


def _responsible_ciou(p: torch.Tensor, t: torch.Tensor, obj: torch.Tensor, anchors: torch.Tensor,
                      image_size: int | tuple[int, int]) -> torch.Tensor:
    """CIoU of the predicted and the true box of every responsible predictor, in cell units: ``Tensor[M]``."""
    anchors = _check_anchors(anchors)
    if anchors.shape[0] != p.shape[3]:
        raise ValueError(f"anchors has {anchors.shape[0]} rows for a map of {p.shape[3]} predictors per cell")
    H, W = pair(image_size, "image_size")
    cell = torch.tensor([W / p.shape[2], H / p.shape[1]], dtype=p.dtype, device=p.device)
    scale = anchors.to(device=p.device, dtype=p.dtype) / cell  # (A, 2): anchor sizes in cells

    def corners(m: torch.Tensor) -> torch.Tensor:  # (M, 4) xyxy in cells, relative to the cell's corner
        centre, size = m[..., 1:3][obj], (m[..., 3:5] * scale)[obj]
        return torch.cat((centre - size / 2, centre + size / 2), dim=-1)

    return box_ciou(corners(p), corners(t))


def yolo_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    lambda_coord: float = 5.0,
    lambda_noobj: float = 0.5,
    **options,
) -> torch.Tensor:
    """The YOLO loss of seed 004: the sum of :func:`yolo_loss_terms` (per image, averaged over the batch).

    Args:
        pred, target (Tensor[N, S, S, A * (5 + K)]): activated prediction and :func:`yolo_encode` target.
        lambda_coord, lambda_noobj (float): the paper's 5 and 0.5.
        **options: the keyword arguments of :func:`yolo_loss_terms`: ``num_anchors`` (``A``; 1 is
            YOLOv1's one box per cell) and the variants ``objectness``, ``classification``,
            ``box`` (with ``anchors`` and ``image_size``).

    Returns:
        Tensor: a scalar.

    Example:
        >>> anchors = torch.tensor([[16., 16.]])
        >>> t = yolo_encode([torch.tensor([[8., 8., 24., 24.]])], [torch.tensor([0])], 4, anchors, 2)
        >>> p = t.clone(); p[0, 1, 1, 0] = 0.5  # p_c of the responsible predictor: 0.5 instead of 1
        >>> yolo_loss(p, t).item()  # (1 - 0.5)^2
        0.25
    """
    terms = yolo_loss_terms(pred, target, lambda_coord, lambda_noobj, **options)
    return sum(terms.values())
