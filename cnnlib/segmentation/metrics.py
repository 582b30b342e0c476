"""Segmentation metrics on label maps: confusion matrix, pixel accuracy, per-class IoU and Dice.

Semantic segmentation classifies every pixel, so its metrics count pixels. With ``pred`` and
``target`` integer label maps of shape ``(N, H, W)`` (or one map ``(H, W)``) and ``K`` classes,
the confusion matrix ``M[i, j]`` counts the pixels of true class ``i`` predicted as ``j``. Per
class ``c``, with ``TP = M[c, c]``, ``FN`` = the rest of row ``c`` and ``FP`` = the rest of
column ``c``:

- pixel accuracy = ``trace(M) / sum(M)``, dominated by the largest class (background);
- IoU (Jaccard) = ``|A ∩ B| / |A ∪ B| = TP / (TP + FP + FN)``;
- Dice (F1) = ``2 |A ∩ B| / (|A| + |B|) = 2 TP / (2 TP + FP + FN)``, and ``Dice = 2 IoU / (1 + IoU)``;
- boundary IoU (:func:`boundary_iou`) = the IoU of the two masks' inner bands of ``width`` pixels
  along their contours: it scores only the outline, where thin objects lose most of their IoU.

Conventions (stated once, used by every function here):

- A class absent from both prediction and target has ``0 / 0``: its IoU and Dice are **NaN**,
  and the means (:func:`mean_iou`) skip it (``nanmean``). sklearn's ``jaccard_score`` and
  ``f1_score`` return ``zero_division`` (0 by default) for it instead, which pulls the mean down.
- ``average="dataset"`` sums intersections and unions over all pixels of all images, then divides
  (PASCAL VOC and Cityscapes report this). ``average="image"`` computes each image's IoU, then
  averages over the images in which the class appears in the prediction or the target.
- ``ignore_index`` (e.g. 255, "void" in PASCAL VOC) drops the pixels whose **target** has that
  label from every count, as ``F.cross_entropy(ignore_index=...)`` drops them from the loss.

Counts are exact integers (``torch.bincount``); ratios come back in the default float dtype, on
the device of the inputs.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_choice, check_float, check_int

__all__ = ["confusion_matrix", "pixel_accuracy", "iou_per_class", "mean_iou", "dice_per_class", "dice_coefficient",
           "boundary_band", "boundary_iou"]

_AVERAGES = ("dataset", "image")


def _check_pair(pred: object, target: object, what: str, holds: str) -> None:
    """Both integer tensors ``(N, H, W)`` or ``(H, W)`` of one shape, on one device."""
    for t, name in ((pred, "pred"), (target, "target")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor {what} of shape (N, H, W) or (H, W), got {type(t).__name__}")
        if t.is_floating_point() or t.is_complex():
            raise TypeError(f"{name} must hold {holds}, got dtype {t.dtype} (take logits.argmax(1))")
        if t.dim() not in (2, 3):
            raise ValueError(f"{name} must have shape (N, H, W) or (H, W), got shape {tuple(t.shape)}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.device != target.device:
        raise ValueError(f"pred and target must be on the same device, got {pred.device} and {target.device}")


def _label_maps(pred: object, target: object, num_classes: int | None, ignore_index: int | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check two label maps; return ``pred, target`` as int64 ``(N, P)`` and the valid-pixel mask."""
    _check_pair(pred, target, "label map", "integer class labels")
    if ignore_index is not None:
        check_int(ignore_index, "ignore_index", minimum=-(2 ** 63))
    p, t = (pred.flatten(1), target.flatten(1)) if pred.dim() == 3 else (pred.reshape(1, -1), target.reshape(1, -1))
    p, t = p.long(), t.long()  # (N, P) with P = H * W
    valid = t != ignore_index if ignore_index is not None else torch.ones_like(t, dtype=torch.bool)
    if num_classes is not None:
        for x, name in ((p, "pred"), (t[valid], "target")):
            bad = (x < 0) | (x >= num_classes)
            if bad.any():
                value = x[bad][0].item()
                hint = "" if name == "pred" or ignore_index is not None else " (set ignore_index for void pixels)"
                raise ValueError(f"{name} labels must lie in [0, {num_classes}) for num_classes={num_classes}, "
                                 f"got {value}{hint}")
    return p, t, valid


def _per_image_confusion(pred, target, num_classes, ignore_index) -> torch.Tensor:
    """Confusion matrices of each image, ``(N, K, K)``, rows = target, columns = prediction."""
    num_classes = check_int(num_classes, "num_classes")
    p, t, valid = _label_maps(pred, target, num_classes, ignore_index)
    N, K = p.shape[0], num_classes
    image = torch.arange(N, device=p.device)[:, None].expand_as(p)  # (N, P): which image each pixel is in
    index = (image * K + t) * K + p                                  # (N, P): flat index into (N, K, K)
    return torch.bincount(index[valid], minlength=N * K * K).reshape(N, K, K)


def confusion_matrix(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                     ignore_index: int | None = None) -> torch.Tensor:
    """Pixel confusion matrix: ``M[i, j]`` = pixels of true class ``i`` predicted as class ``j``.

    The layout of ``sklearn.metrics.confusion_matrix(target, pred)``: rows are the target,
    columns the prediction. One ``torch.bincount`` of ``target * K + pred``.

    Args:
        pred (Tensor[N, H, W] | Tensor[H, W]): predicted labels in ``[0, K)``, an integer dtype.
        target (Tensor[N, H, W] | Tensor[H, W]): true labels in ``[0, K)`` (or ``ignore_index``).
        num_classes (int): ``K``.
        ignore_index (int | None): target label whose pixels are not counted.

    Returns:
        Tensor[K, K]: int64 counts, on the device of the inputs.

    Raises:
        TypeError: for non-tensors or floating-point labels.
        ValueError: for other shapes, different shapes or devices, or a label outside ``[0, K)``.

    Example:
        >>> confusion_matrix(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 1]]), 2)
        tensor([[1, 1],
                [0, 2]])
    """
    return _per_image_confusion(pred, target, num_classes, ignore_index).sum(dim=0)


def pixel_accuracy(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = None) -> torch.Tensor:
    """The fraction of (non-ignored) pixels whose predicted label equals the target.

    Args:
        pred (Tensor[N, H, W] | Tensor[H, W]): predicted labels, an integer dtype.
        target (Tensor[N, H, W] | Tensor[H, W]): true labels.
        ignore_index (int | None): target label whose pixels are not counted.

    Returns:
        Tensor[]: a 0-dim tensor in the default float dtype; NaN if no pixel is counted.

    Raises:
        TypeError / ValueError: as :func:`confusion_matrix`.

    Example:
        >>> pixel_accuracy(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 1]])).item()
        0.75
    """
    p, t, valid = _label_maps(pred, target, None, ignore_index)
    correct = ((p == t) & valid).sum()
    return (correct.double() / valid.sum().double()).to(torch.get_default_dtype())


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` in float64 with NaN where ``den == 0`` (the class is absent from both maps)."""
    num, den = num.double(), den.double()
    return torch.where(den > 0, num / den.clamp(min=1), torch.full_like(num, float("nan")))


def _per_class(pred, target, num_classes, average, ignore_index, dice: bool) -> torch.Tensor:
    check_choice(average, "average", _AVERAGES)
    M = _per_image_confusion(pred, target, num_classes, ignore_index)  # (N, K, K)
    if average == "dataset":
        M = M.sum(dim=0, keepdim=True)                                   # (1, K, K)
    tp = M.diagonal(dim1=1, dim2=2)                                      # (N, K)
    size_t, size_p = M.sum(dim=2), M.sum(dim=1)                          # |target = c|, |pred = c|
    score = _ratio(2 * tp, size_t + size_p) if dice else _ratio(tp, size_t + size_p - tp)  # (N, K)
    # a class absent from an image (NaN there) does not count in that class's image average
    return score.nanmean(dim=0).to(torch.get_default_dtype())           # (K,)


def iou_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int, average: str = "dataset",
                  ignore_index: int | None = None) -> torch.Tensor:
    """Intersection over union of each class, ``|pred = c and target = c| / |pred = c or target = c|``.

    Args:
        pred (Tensor[N, H, W] | Tensor[H, W]): predicted labels in ``[0, K)``, an integer dtype.
        target (Tensor[N, H, W] | Tensor[H, W]): true labels in ``[0, K)`` (or ``ignore_index``).
        num_classes (int): ``K``.
        average (str): ``"dataset"``: intersections and unions summed over all images, then
            divided; ``"image"``: each image's IoU, averaged over the images where the class
            appears in the prediction or the target.
        ignore_index (int | None): target label whose pixels are not counted.

    Returns:
        Tensor[K]: IoU per class in the default float dtype; NaN for a class absent from both
        the prediction and the target (sklearn's ``jaccard_score`` gives ``zero_division``).

    Raises:
        TypeError / ValueError: as :func:`confusion_matrix`, and for an unknown ``average``.

    Example:
        >>> pred, target = torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 1]])
        >>> iou_per_class(pred, target, 3)  # class 0: 1/2, class 1: 2/3, class 2 absent
        tensor([0.5000, 0.6667,    nan])
    """
    return _per_class(pred, target, num_classes, average, ignore_index, dice=False)


def mean_iou(pred: torch.Tensor, target: torch.Tensor, num_classes: int, average: str = "dataset",
             ignore_index: int | None = None) -> torch.Tensor:
    """Mean IoU (mIoU): the mean of :func:`iou_per_class` over the classes that occur (NaNs skipped).

    Example:
        >>> round(mean_iou(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 1]]), 3).item(), 4)
        0.5833
    """
    return iou_per_class(pred, target, num_classes, average, ignore_index).nanmean()


def dice_per_class(pred: torch.Tensor, target: torch.Tensor, num_classes: int, average: str = "dataset",
                   ignore_index: int | None = None) -> torch.Tensor:
    """Dice coefficient (F1 score) of each class, ``2 |A ∩ B| / (|A| + |B|)``.

    Arguments, averaging and the NaN convention are those of :func:`iou_per_class`.

    Returns:
        Tensor[K]: Dice per class in the default float dtype; NaN for a class absent from both.

    Example:
        >>> dice_per_class(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 0], [1, 1]]), 2)
        tensor([0.6667, 0.8000])
    """
    return _per_class(pred, target, num_classes, average, ignore_index, dice=True)


def dice_coefficient(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Dice coefficient of two binary masks, ``2 |A ∩ B| / (|A| + |B| + eps)``.

    Soft masks (probabilities in ``[0, 1]``) are allowed: ``|A ∩ B|`` becomes ``sum(pred * target)``.
    Because of ``eps`` two empty masks score 0 here; :func:`dice_per_class` calls that case NaN.
    Dice (Sørensen 1948) is the F1 score of the foreground pixels.

    Args:
        pred (Tensor[*]): predicted mask, bool or numbers in ``[0, 1]``.
        target (Tensor[*]): true mask of the same shape.
        eps (float): added to the denominator (``>= 0``) so two empty masks do not divide by 0.

    Returns:
        Tensor[]: a 0-dim tensor in the default float dtype (float64 for float64 inputs).

    Raises:
        TypeError: for non-tensors.
        ValueError: for different shapes or devices, values outside ``[0, 1]``, or ``eps < 0``.

    Example:
        >>> a = torch.tensor([[1, 1], [0, 0]]); b = torch.tensor([[1, 0], [0, 0]])
        >>> round(dice_coefficient(a, b).item(), 4)  # 2 * 1 / (2 + 1)
        0.6667
    """
    for t, name in ((pred, "pred"), (target, "target")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor mask, got {type(t).__name__}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.device != target.device:
        raise ValueError(f"pred and target must be on the same device, got {pred.device} and {target.device}")
    check_float(eps, "eps", 0.0, low_inclusive=True)
    dtype = torch.float64 if torch.float64 in (pred.dtype, target.dtype) else torch.get_default_dtype()
    a, b = pred.to(dtype), target.to(dtype)
    for t, name in ((a, "pred"), (b, "target")):
        if t.numel() and ((t < 0) | (t > 1)).any():
            raise ValueError(f"{name} must be a binary (or soft) mask with values in [0, 1], "
                             f"got values in [{t.min().item()}, {t.max().item()}]")
    return 2 * (a * b).sum() / (a.sum() + b.sum() + eps)


def _binary_masks(pred: object, target: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Two binary masks ``(N, H, W)`` (or ``(H, W)``) of 0 and 1 (or bool) as bool ``(N, H, W)``."""
    _check_pair(pred, target, "binary mask", "bool or integer 0/1 values")
    for t, name in ((pred, "pred"), (target, "target")):
        if t.numel() and t.dtype != torch.bool and ((t < 0) | (t > 1)).any():
            raise ValueError(f"{name} must hold 0 (background) and 1 (foreground) only, got values in "
                             f"[{t.min().item()}, {t.max().item()}]")
    return tuple(t.bool().reshape(-1, *t.shape[-2:]) for t in (pred, target))


def boundary_band(mask: torch.Tensor, width: int = 2) -> torch.Tensor:
    """The inner band of a binary mask along its contour: mask pixels within ``width`` of the outside.

    A pixel of the mask is in the band if the ``(2 width + 1)``-square around it (chessboard
    distance ``<= width``) holds a background pixel or leaves the image: the mask minus its
    erosion by that square, with the image padded by background, as the reference code of
    Boundary IoU (Cheng et al., CVPR 2021) does with ``cv2.erode``. So a mask that touches the
    image's edge has a contour there too.

    Args:
        mask (Tensor[N, H, W] | Tensor[H, W]): bool or 0/1 integer mask.
        width (int): the band's width in pixels, ``d >= 1``.

    Returns:
        Tensor: a bool mask of the input's shape, ``True`` on the band.

    Raises:
        TypeError: for a non-tensor or a floating-point mask.
        ValueError: for a wrong shape, values other than 0 and 1, or ``width < 1``.

    Example:
        >>> boundary_band(torch.ones(5, 5, dtype=torch.long), width=1).long()[1]  # a ring 1 px wide
        tensor([1, 0, 0, 0, 1])
    """
    m, _ = _binary_masks(mask, mask)
    d = check_int(width, "width")
    outside = torch.nn.functional.pad((~m).float()[:, None], (d, d, d, d), value=1.0)  # background around it
    near_outside = torch.nn.functional.max_pool2d(outside, 2 * d + 1, stride=1)[:, 0] > 0  # dilation by the square
    return (m & near_outside).reshape(mask.shape)


def boundary_iou(pred: torch.Tensor, target: torch.Tensor, width: int = 2) -> torch.Tensor:
    """Boundary IoU of binary masks (Cheng et al., CVPR 2021): IoU of their contour bands.

    ``|B(P) ∩ B(G)| / |B(P) ∪ B(G)|`` with ``B`` = :func:`boundary_band` of ``width`` pixels,
    intersections and unions summed over all images (``average="dataset"``). Unlike the mask IoU,
    which a large object's interior makes forgiving, it only counts pixels near a contour, so a
    prediction with blurred, shifted or ragged edges scores low. NaN if both masks are empty
    everywhere (no contour to compare).

    Args:
        pred (Tensor[N, H, W] | Tensor[H, W]): predicted foreground mask, bool or 0/1 integers
            (for two classes: ``logits.argmax(1)``).
        target (Tensor): true mask of the same shape.
        width (int): the band width ``d`` in pixels (the paper: 2 % of the image diagonal).

    Returns:
        Tensor[]: a 0-dim tensor in the default float dtype.

    Raises:
        TypeError / ValueError: as :func:`boundary_band`, and for masks of different shapes or devices.

    Example:
        >>> target = torch.zeros(8, 8, dtype=torch.long); target[2:6, 2:6] = 1
        >>> round(boundary_iou(target, target).item(), 3), round(boundary_iou(target.roll(1, 1), target).item(), 3)
        (1.0, 0.6)
    """
    p, t = _binary_masks(pred, target)
    bp, bt = boundary_band(p, width), boundary_band(t, width)
    inter, union = (bp & bt).sum(), (bp | bt).sum()
    return _ratio(inter, union).to(torch.get_default_dtype())
