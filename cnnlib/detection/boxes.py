"""Bounding boxes: formats, areas, intersection over union (IoU), validation, clipping.

A box is four numbers in pixels. This module's native format is ``"xyxy"`` = ``(x1, y1, x2, y2)``,
the top-left and bottom-right corners with ``x1 <= x2`` and ``y1 <= y2`` (the book's and
torchvision's convention). Two other formats appear in the course:

- ``"xywh"`` = ``(x1, y1, w, h)``: top-left corner and size, as in COCO's JSON files;
- ``"cxcywh"`` = ``(cx, cy, w, h)``: centre and size, the ``(b_x, b_y, b_w, b_h)`` of the YOLO
  target vector (seeds 000 and 001).

Careful with the names: the course's convenience pair :func:`xywh_to_xyxy` / :func:`xyxy_to_xywh`
(graded in the detection assignment) means the CENTRE format ``(b_x, b_y, b_w, b_h)``, i.e.
:func:`box_convert`'s ``"cxcywh"``, not COCO's ``"xywh"``.

IoU (seed 003, figure 10.20) is the area of the intersection of two boxes divided by the area of
their union. Integer boxes are upcast to the default float dtype (float32) before any arithmetic;
float16/bfloat16 boxes to float32, so areas do not overflow or lose precision.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "box_convert",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "box_iou",
    "box_ciou",
    "validate_boxes",
    "clip_boxes_to_image",
]

#: The box formats :func:`box_convert` accepts.
BOX_FORMATS = ("xyxy", "xywh", "cxcywh")


def _as_boxes(boxes: object, name: str = "boxes") -> torch.Tensor:
    """Check that ``boxes`` is a real Tensor[N, 4]; return it as float (ints upcast)."""
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4), got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4), got shape {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {boxes.dtype}")
    if not boxes.is_floating_point():
        return boxes.to(torch.get_default_dtype())
    if boxes.dtype in (torch.float16, torch.bfloat16):
        return boxes.float()
    return boxes


def validate_boxes(boxes: torch.Tensor, name: str = "boxes") -> torch.Tensor:
    """Check that ``boxes`` are finite xyxy boxes with ``x1 <= x2`` and ``y1 <= y2``.

    Zero-area boxes (``x1 == x2`` or ``y1 == y2``) are valid: they have area 0 and IoU 0 with
    everything. The check costs one pass over the boxes and one device synchronisation.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format; ``N`` may be 0.
        name (str): the argument name used in error messages.

    Returns:
        Tensor[N, 4]: the same boxes as a float tensor (integer boxes upcast to float32).

    Raises:
        TypeError: if ``boxes`` is not a real tensor.
        ValueError: if the shape is not ``(N, 4)``, or for the first box with a NaN/inf
            coordinate, ``x2 < x1`` or ``y2 < y1``; the message names its index and values.

    Example:
        >>> validate_boxes(torch.tensor([[0, 0, 2, 2], [1, 1, 1, 3]])).dtype
        torch.float32
        >>> validate_boxes(torch.tensor([[0., 0, 2, 2], [3, 0, 1, 1]]))
        Traceback (most recent call last):
        ...
        ValueError: boxes[1] = [3.0, 0.0, 1.0, 1.0] has x2 < x1 (boxes must be (x1, y1, x2, y2) with x1 <= x2, y1 <= y2)
    """
    b = _as_boxes(boxes, name)
    if b.shape[0] == 0:
        return b
    finite = torch.isfinite(b).all(dim=1)  # (N,)
    ordered = (b[:, 2] >= b[:, 0]) & (b[:, 3] >= b[:, 1])  # (N,)
    bad = ~(finite & ordered)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        values = [float(v) for v in b[i].tolist()]
        if not bool(finite[i]):
            reason = "a NaN or infinite coordinate"
        else:
            reason = "x2 < x1" if values[2] < values[0] else "y2 < y1"
        raise ValueError(
            f"{name}[{i}] = {values} has {reason} "
            f"(boxes must be (x1, y1, x2, y2) with x1 <= x2, y1 <= y2)"
        )
    return b


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of each box, ``(x2 - x1) * (y2 - y1)``.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format, validated by
            :func:`validate_boxes`.

    Returns:
        Tensor[N]: the areas, float (integer boxes upcast to float32).

    Raises:
        TypeError, ValueError: as :func:`validate_boxes`.

    Example:
        >>> box_area(torch.tensor([[0, 0, 2, 3], [1, 1, 1, 5]])).tolist()
        [6.0, 0.0]
    """
    b = validate_boxes(boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_convert(boxes: torch.Tensor, in_fmt: str, out_fmt: str) -> torch.Tensor:
    """Convert boxes between ``"xyxy"``, ``"xywh"`` (COCO) and ``"cxcywh"`` (centre) formats.

    - ``"xyxy"``: ``(x1, y1, x2, y2)``, corners;
    - ``"xywh"``: ``(x1, y1, w, h)``, top-left corner and size (COCO);
    - ``"cxcywh"``: ``(cx, cy, w, h)``, centre and size (YOLO's ``b_x, b_y, b_w, b_h``).

    Values are not checked (a conversion is exact arithmetic on any numbers): a negative width
    or height becomes an ``x2 < x1`` box, which the other functions of this package reject.

    Args:
        boxes (Tensor[N, 4]): boxes in ``in_fmt``.
        in_fmt (str): one of :data:`BOX_FORMATS`.
        out_fmt (str): one of :data:`BOX_FORMATS`.

    Returns:
        Tensor[N, 4]: the boxes in ``out_fmt`` (float; a new tensor even when the formats agree).

    Raises:
        TypeError: if ``boxes`` is not a real tensor.
        ValueError: for a wrong shape or an unknown format.

    Example:
        >>> box_convert(torch.tensor([[10., 20, 30, 60]]), "xyxy", "xywh").tolist()
        [[10.0, 20.0, 20.0, 40.0]]
        >>> box_convert(torch.tensor([[10., 20, 30, 60]]), "xyxy", "cxcywh").tolist()
        [[20.0, 40.0, 20.0, 40.0]]
    """
    for fmt, arg in ((in_fmt, "in_fmt"), (out_fmt, "out_fmt")):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"{arg} must be one of {BOX_FORMATS}, got {fmt!r}")
    b = _as_boxes(boxes)
    a, c, d, e = b.unbind(dim=1)  # four (N,) columns
    if in_fmt == "xywh":
        a, c, d, e = a, c, a + d, c + e  # -> x1, y1, x2, y2
    elif in_fmt == "cxcywh":
        a, c, d, e = a - d / 2, c - e / 2, a + d / 2, c + e / 2
    if out_fmt == "xywh":
        a, c, d, e = a, c, d - a, e - c
    elif out_fmt == "cxcywh":
        a, c, d, e = (a + d) / 2, (c + e) / 2, d - a, e - c
    return torch.stack((a, c, d, e), dim=1)  # (N, 4)


def xywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """The course's pair: centre format ``(b_x, b_y, b_w, b_h)`` to corners ``(x1, y1, x2, y2)``.

    Here ``xywh`` means CENTRE x, centre y, width, height (seed 000's ``b_x, b_y, b_w, b_h``), the
    same as ``box_convert(boxes, "cxcywh", "xyxy")``; COCO's corner-and-size format is
    :func:`box_convert`'s ``"xywh"``.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(cx, cy, w, h)``.

    Returns:
        Tensor[N, 4]: boxes as ``(cx - w/2, cy - h/2, cx + w/2, cy + h/2)``.

    Raises:
        TypeError, ValueError: as :func:`box_convert`.

    Example:
        >>> xywh_to_xyxy(torch.tensor([[5., 5, 4, 2]])).tolist()
        [[3.0, 4.0, 7.0, 6.0]]
    """
    return box_convert(boxes, "cxcywh", "xyxy")


def xyxy_to_xywh(boxes: torch.Tensor) -> torch.Tensor:
    """The course's pair: corners ``(x1, y1, x2, y2)`` to centre format ``(b_x, b_y, b_w, b_h)``.

    The inverse of :func:`xywh_to_xyxy`; equal to ``box_convert(boxes, "xyxy", "cxcywh")``.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.

    Returns:
        Tensor[N, 4]: boxes as ``((x1 + x2)/2, (y1 + y2)/2, x2 - x1, y2 - y1)``.

    Raises:
        TypeError, ValueError: as :func:`box_convert`.

    Example:
        >>> xyxy_to_xywh(torch.tensor([[3., 4, 7, 6]])).tolist()
        [[5.0, 5.0, 4.0, 2.0]]
    """
    return box_convert(boxes, "xyxy", "cxcywh")


def _inter_union(b1: torch.Tensor, b2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairwise intersection and union areas of float xyxy boxes: two Tensor[N, M].

    Written with in-place operations on (N, M) tensors, x and y separately, because
    :func:`~cnnlib.detection.nms.nms` calls it on large blocks; :func:`box_iou` and ``nms``
    share it, so their IoU values are bitwise identical.
    """
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])  # (N,)
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])  # (M,)
    # overlap width and height: min of the right edges - max of the left edges, 0 if negative
    iw = torch.minimum(b1[:, None, 2], b2[None, :, 2]).sub_(torch.maximum(b1[:, None, 0], b2[None, :, 0]))
    ih = torch.minimum(b1[:, None, 3], b2[None, :, 3]).sub_(torch.maximum(b1[:, None, 1], b2[None, :, 1]))
    inter = iw.clamp_(min=0).mul_(ih.clamp_(min=0))  # (N, M)
    union = (area1[:, None] + area2[None, :]).sub_(inter)  # (N, M)
    return inter, union


def _iou_from(inter: torch.Tensor, union: torch.Tensor) -> torch.Tensor:
    """``inter / union`` with 0 where the union is 0 (two zero-area boxes), never NaN."""
    # inter <= union, so union == 0 implies inter == 0 and 0 / 1 = 0.
    return inter / torch.where(union > 0, union, 1.0)


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise intersection over union of two sets of boxes, vectorised.

    ``IoU(a, b) = area(a ∩ b) / area(a ∪ b)`` (seed 003, figure 10.20), from 0 (disjoint) to 1
    (identical). A pair whose union is empty (two zero-area boxes) has IoU 0, not NaN.

    Args:
        boxes1 (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        boxes2 (Tensor[M, 4]): boxes in ``(x1, y1, x2, y2)`` format, on the device of ``boxes1``.

    Returns:
        Tensor[N, M]: ``IoU(boxes1[i], boxes2[j])`` in ``[0, 1]``; float (integer boxes upcast
        to float32; mixed float dtypes promote).

    Raises:
        TypeError, ValueError: as :func:`validate_boxes` for either argument, and if the two
            are on different devices.

    Example:
        >>> a = torch.tensor([[0, 0, 2, 2]])
        >>> b = torch.tensor([[1, 0, 3, 2], [0, 0, 2, 2], [5, 5, 6, 6]])
        >>> box_iou(a, b).tolist()  # 2 / (4 + 4 - 2), identical, disjoint
        [[0.3333333432674408, 1.0, 0.0]]
    """
    b1 = validate_boxes(boxes1, "boxes1")
    b2 = validate_boxes(boxes2, "boxes2")
    if b1.device != b2.device:
        raise ValueError(f"boxes2 must be on the device of boxes1 ({b1.device}), got {b2.device}")
    dtype = torch.promote_types(b1.dtype, b2.dtype)
    inter, union = _inter_union(b1.to(dtype), b2.to(dtype))
    return _iou_from(inter, union)


def box_ciou(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of aligned pairs of boxes (Zheng et al., AAAI 2020), the box loss of YOLOv5 and later.

    ``CIoU = IoU - rho^2 / c^2 - alpha v`` where ``rho`` is the distance between the two centres,
    ``c`` the diagonal of the smallest box enclosing both, ``v = (4 / pi^2) (atan(w2 / h2) -
    atan(w1 / h1))^2`` measures how much the aspect ratios differ and ``alpha = v / (1 - IoU +
    v)`` weighs it (treated as a constant, as the paper does). ``1 - CIoU`` is a loss in
    ``[0, 3)`` that, unlike ``1 - IoU``, still has a gradient when the boxes do not overlap (the
    centre term pulls them together) and is 0 only for identical boxes. It is invariant to the
    scale of the coordinates, so boxes may be in pixels or in grid cells.

    Args:
        boxes1 (Tensor[N, 4]): e.g. predicted boxes, ``(x1, y1, x2, y2)`` with positive sizes.
        boxes2 (Tensor[N, 4]): the boxes they are compared with, one for one.
        eps (float): keeps divisions finite for degenerate boxes.

    Returns:
        Tensor[N]: ``CIoU(boxes1[i], boxes2[i])`` in ``(-1.5, 1]``, differentiable.

    Raises:
        ValueError: if the two are not ``Tensor[N, 4]`` of the same shape.

    Example:
        >>> a = torch.tensor([[0., 0, 2, 2], [0, 0, 2, 2]]); b = torch.tensor([[0., 0, 2, 2], [1, 0, 3, 2]])
        >>> [round(v, 4) for v in box_ciou(a, b).tolist()]  # identical; IoU 1/3 - 1^2 / (3^2 + 2^2)
        [1.0, 0.2564]
    """
    if not (isinstance(boxes1, torch.Tensor) and isinstance(boxes2, torch.Tensor)) or boxes1.dim() != 2 \
            or boxes1.shape[-1] != 4 or boxes1.shape != boxes2.shape:
        shapes = [tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__ for b in (boxes1, boxes2)]
        raise ValueError(f"boxes1 and boxes2 must be Tensor[N, 4] of one shape (aligned pairs), got {shapes}")
    (x1, y1, x2, y2), (u1, v1, u2, v2) = boxes1.unbind(-1), boxes2.unbind(-1)
    w1, h1, w2, h2 = x2 - x1, y2 - y1, u2 - u1, v2 - v1
    inter = (torch.minimum(x2, u2) - torch.maximum(x1, u1)).clamp(min=0) * \
        (torch.minimum(y2, v2) - torch.maximum(y1, v1)).clamp(min=0)
    iou = inter / (w1 * h1 + w2 * h2 - inter + eps)
    c2 = (torch.maximum(x2, u2) - torch.minimum(x1, u1)) ** 2 + (torch.maximum(y2, v2) - torch.minimum(y1, v1)) ** 2
    rho2 = ((x1 + x2 - u1 - u2) ** 2 + (y1 + y2 - v1 - v2) ** 2) / 4  # squared distance of the centres
    v = (4 / math.pi ** 2) * (torch.atan(w2 / (h2 + eps)) - torch.atan(w1 / (h1 + eps))) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return iou - rho2 / (c2 + eps) - alpha * v


def clip_boxes_to_image(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Clip xyxy boxes so they lie inside an image of ``size = (H, W)``.

    ``x`` coordinates are clamped to ``[0, W]`` and ``y`` coordinates to ``[0, H]`` (pixel edges,
    as torchvision); a box entirely outside becomes a zero-area box on the border.

    Args:
        boxes (Tensor[N, 4]): boxes in ``(x1, y1, x2, y2)`` format.
        size (tuple[int, int]): image ``(H, W)``, both >= 0.

    Returns:
        Tensor[N, 4]: clipped boxes (float, a new tensor).

    Raises:
        TypeError, ValueError: as :func:`validate_boxes`, and for a ``size`` that is not two
            non-negative numbers.

    Example:
        >>> clip_boxes_to_image(torch.tensor([[-5, 2, 8, 30]]), (20, 10)).tolist()
        [[0.0, 2.0, 8.0, 20.0]]
    """
    b = validate_boxes(boxes)
    if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2:
        raise ValueError(f"size must be a pair (H, W), got {size!r}")
    H, W = size
    for v in (H, W):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"size must be two non-negative numbers (H, W), got {size!r}")
    x = b[:, 0::2].clamp(0, W)  # (N, 2): x1, x2
    y = b[:, 1::2].clamp(0, H)  # (N, 2): y1, y2
    return torch.stack((x[:, 0], y[:, 0], x[:, 1], y[:, 1]), dim=1)  # (N, 4)
