"""A small YOLO-style detector that trains on a CPU in about a minute, its training loop and its evaluation.

:class:`TinyYOLO` is fully convolutional (seed 001's "convolutional implementation of sliding
windows"): six blocks of a 3x3 convolution + batch norm + LeakyReLU, three of them with stride
2, so a 64x64 image becomes an 8x8 grid of cells, and one such block with a 1x1 convolution
(a last 3x3 block on the 8x8 grid took a quarter of the training time and bought about 0.01
of mAP: ``benchmarks/results/detector-recipe.md``); a 1x1 convolution then predicts, for each
cell and each of ``A`` anchors, the ``5 + K`` numbers of the YOLO layout (:mod:`cnnlib.detection.yolo`).
The head applies the activations, so the output means what a target means: ``p_c`` through a
sigmoid, the class probabilities through a softmax, the centre as ``2 sigmoid(t) - 0.5`` in
``(-0.5, 1.5)`` and the sizes relative to the anchor as ``(2 sigmoid(t))^2`` in ``(0, 4)``. Both
are YOLOv5's forms: the centre can reach the edges of its cell (a plain sigmoid needs infinite
inputs for 0 and 1) and a little beyond, which the neighbouring cells that
:func:`~cnnlib.detection.yolo.yolo_neighbour_targets` makes responsible need; the size is
bounded, so it cannot blow up early in training the way YOLOv2's ``exp(t)`` can, and its square
root, the quantity the seed's loss compares, is simply ``2 sigmoid(t)``.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn
from torch.utils.data import DataLoader

from cnnlib._checks import check_int
from cnnlib.data.batches import ShuffledBatches
from cnnlib.detection.scenes import scene_tensors
from cnnlib.detection.yolo import (yolo_encode, yolo_loss_terms, yolo_neighbour_targets, yolo_postprocess,
                                   yolo_predictors)
from cnnlib.models.layers import Conv2dNormActivation
from cnnlib.train import History, StepContext, fit

__all__ = ["TinyYOLO", "YOLOStep", "train_yolo", "evaluate_detector", "predict_detector"]


class TinyYOLO(nn.Module):
    """A YOLO detector small enough to train on two CPU cores.

    Args:
        num_classes (int): ``K``.
        num_anchors (int): ``A``; ignored when ``anchors`` is given (it must then agree).
        anchors (Tensor[A, 2] | None): anchor ``(width, height)`` in pixels, e.g. from
            :func:`cnnlib.detection.anchors.kmeans_anchors`; stored as a buffer so the model
            carries what decoding needs. Default: ``A`` squares with sides spaced geometrically
            from one to four cells (8 to 32 pixels).
        width (int): channels of the first block; later blocks use 2, 4 and 8 times as many.

    Shape:
        - Input: ``(N, 3, H, W)`` with ``H`` and ``W`` multiples of 8.
        - Output: ``(N, H / 8, W / 8, A * (5 + K))``, activated (see the module docstring).

    Example:
        >>> model = TinyYOLO(num_classes=3, num_anchors=3)
        >>> model(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 8, 8, 24])
    """

    stride = 8

    def __init__(self, num_classes: int = 3, num_anchors: int = 3, anchors: torch.Tensor | None = None,
                 width: int = 16):
        super().__init__()
        for name, value in (("num_classes", num_classes), ("num_anchors", num_anchors), ("width", width)):
            check_int(value, name)
        if anchors is None:
            sides = self.stride * 4.0 ** (torch.arange(num_anchors) / max(num_anchors - 1, 1))
            anchors = torch.stack((sides, sides), dim=1)
        if not isinstance(anchors, torch.Tensor) or anchors.dim() != 2 or anchors.shape[1] != 2 or not (anchors > 0).all():
            raise ValueError(f"anchors must be a positive Tensor[A, 2], got {anchors!r}")
        self.num_classes, self.num_anchors = num_classes, anchors.shape[0]
        self.register_buffer("anchors", anchors.detach().float().clone())
        c = width
        block = partial(Conv2dNormActivation, kernel_size=3, activation=partial(nn.LeakyReLU, 0.1))
        self.backbone = nn.Sequential(
            block(3, c, stride=2),  # (N, c, H/2, W/2)
            block(c, 2 * c, stride=2),  # (N, 2c, H/4, W/4)
            block(2 * c, 2 * c),
            block(2 * c, 4 * c, stride=2),  # (N, 4c, H/8, W/8)
            block(4 * c, 4 * c),
            block(4 * c, 8 * c),
            block(8 * c, 8 * c, kernel_size=1),  # mixes the channels of each cell, as YOLO v1's 1x1 layers do
        )
        self.head = nn.Conv2d(8 * c, self.num_anchors * (5 + num_classes), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"input must be a Tensor[N, 3, H, W], got {got}")
        if x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(f"H and W must be multiples of {self.stride}, got {tuple(x.shape[2:])}")
        raw = self.head(self.backbone(x)).permute(0, 2, 3, 1)  # (N, S, S, A*(5+K))
        t = yolo_predictors(raw, self.num_anchors)  # (N, S, S, A, 5+K)
        out = torch.cat((
            torch.sigmoid(t[..., :1]),  # p_c
            2 * torch.sigmoid(t[..., 1:3]) - 0.5,  # b_x, b_y in cell units, within half a cell of it
            (2 * torch.sigmoid(t[..., 3:5])) ** 2,  # b_w, b_h relative to the anchor
            torch.softmax(t[..., 5:], dim=-1),  # class probabilities
        ), dim=-1)
        return out.reshape(raw.shape)


def _mirror_map(m: torch.Tensor, dim: int, num_anchors: int, targets: bool) -> torch.Tensor:
    """A YOLO map of the mirrored image: cells mirrored, ``b_x`` (dim -1) or ``b_y`` (dim -2) -> ``1 - b``.

    The assignment is mirror-equivariant (the mirrored centre lies in the mirrored cell, and
    widths and heights, hence the best anchor, do not change), so this is exact; in a target
    only the entries with ``p_c = 1`` move, keeping the zeros of "don't care" entries.
    """
    p = yolo_predictors(m, num_anchors).flip(dim - 2)  # image W/H axis -> grid column/row axis
    k = 1 if dim == -1 else 2  # b_x or b_y
    p[..., k] = torch.where(p[..., 0] == 1, 1 - p[..., k], p[..., k]) if targets else 1 - p[..., k]
    return p.reshape(m.shape)


def _flip(x: torch.Tensor, t: torch.Tensor, dim: int, num_anchors: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror images along ``dim`` (-1: left-right, -2: up-down) and their YOLO targets with them."""
    return x.flip(dim), _mirror_map(t, dim, num_anchors, targets=True)


class YOLOStep:
    """The training step of a YOLO model for :func:`cnnlib.train.fit`: the loss and its five terms.

    A batch is ``(images Tensor[B, 3, H, W], targets)`` where ``targets`` is either the encoded
    ``Tensor[B, S, S, A * (5 + K)]`` or a list of ``B`` target dicts (encoded here with the
    model's anchors, so scenes can be drawn on the fly). In training steps with ``flip``, each
    image is mirrored left-right and/or up-down with probability 1/2, image and target together.

    Args:
        model (TinyYOLO): any module with ``num_classes``, ``num_anchors``, ``anchors`` and
            ``stride`` whose output is the activated YOLO layout.
        loss_options (dict | None): keyword arguments of :func:`~cnnlib.detection.yolo.yolo_loss_terms`
            (the step adds the model's anchors and the image size that ``box="ciou"`` needs).
        flip (bool): random horizontal and vertical mirroring in training steps.
        seed (int): seeds the flips.
        channels_last (bool): give the model channels-last (NHWC) batches.
        neighbours (bool): make up to three cells responsible for each object (YOLOv5), with
            :func:`~cnnlib.detection.yolo.yolo_neighbour_targets` on each batch's targets
            (``encode`` gives the seed's targets, one cell per object).

    Example:
        >>> model = TinyYOLO(3, 2, width=4)
        >>> out = YOLOStep(model)(model, (torch.rand(2, 3, 64, 64), [{"boxes": torch.tensor([[8., 8., 30., 30.]]),
        ...     "labels": torch.tensor([1])}] * 2), StepContext(True, torch.device("cpu")))
        >>> sorted(out)
        ['class', 'loss', 'noobj', 'obj', 'wh', 'xy']
    """

    def __init__(self, model: nn.Module, loss_options: dict | None = None, flip: bool = True, seed: int = 0,
                 channels_last: bool = True, neighbours: bool = False):
        self.num_anchors, self.num_classes, self.stride = model.num_anchors, model.num_classes, model.stride
        self.anchors = model.anchors.detach().cpu()
        self.options = {"num_anchors": model.num_anchors, **(loss_options or {})}
        if self.options.get("box") == "ciou":
            self.options.setdefault("anchors", self.anchors)
        self.neighbours = neighbours
        self.flip = flip
        self.generator = torch.Generator().manual_seed(seed)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def encode(self, boxes: list, labels: list, H: int, W: int) -> torch.Tensor:
        """Targets ``(B, S, S, A * (5 + K))`` of ``B`` images of size ``(H, W)``, on the CPU."""
        grid = (H // self.stride, W // self.stride)
        return yolo_encode([b.cpu() for b in boxes], [l.cpu() for l in labels], grid, self.anchors,
                           self.num_classes, (H, W))

    def __call__(self, model: nn.Module, batch, ctx: StepContext) -> dict[str, torch.Tensor]:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], torch.Tensor)):
            raise TypeError("a YOLO batch is (images, targets): use collate_fn=cnnlib.data.shapes.detection_collate "
                            f"for a DataLoader of scenes, got {type(batch).__name__}")
        x, t = batch
        if not isinstance(t, torch.Tensor):
            t = self.encode([d["boxes"] for d in t], [d["labels"] for d in t], *x.shape[2:]).to(x.device)
        if ctx.training and self.flip:
            for dim in (-1, -2):
                pick = (torch.rand(len(x), generator=self.generator) < 0.5).to(x.device)[:, None, None, None]
                xf, tf = _flip(x, t, dim, self.num_anchors)
                x, t = torch.where(pick, xf, x), torch.where(pick, tf, t)
        if self.neighbours:  # after the flips, which mirror the seed's assignment exactly
            t = yolo_neighbour_targets(t, self.num_anchors)
        size = {"image_size": tuple(x.shape[2:])} if self.options.get("box") == "ciou" else {}
        terms = yolo_loss_terms(model(x.contiguous(memory_format=self.memory_format)), t, **self.options, **size)
        return {"loss": sum(terms.values()), **terms}


def train_yolo(
    model: TinyYOLO,
    train,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 5e-4,
    flip: bool = True,
    loss_options: dict | None = None,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str | None = None,
    channels_last: bool = True,
    amp: torch.dtype | None = None,
    ema_decay: float | None = None,
    neighbours: bool = False,
) -> History:
    """Train a YOLO model: :class:`YOLOStep` in :func:`cnnlib.train.fit`, AdamW, one-cycle schedule.

    A data set is read once and its targets encoded once with the model's anchors; each epoch
    then shuffles it. A ``DataLoader`` (collated with :func:`~cnnlib.data.shapes.detection_collate`)
    is iterated as it is, each batch encoded as it comes, so scenes can be drawn on the fly.

    Args:
        model (TinyYOLO): the detector (see :class:`YOLOStep` for what other models need).
        train: a data set of ``(image, target)`` pairs, an ``(images, boxes, labels)`` triple
            (see :func:`~cnnlib.detection.scenes.scene_tensors`), or a ``DataLoader`` yielding
            ``(images, list of target dicts)``.
        epochs (int): passes over the data (>= 1).
        batch_size (int): scenes per step (a ``DataLoader`` brings its own).
        lr (float): peak learning rate of the one-cycle schedule (20 % warm-up, cosine decay).
        weight_decay (float): AdamW's decoupled weight decay.
        flip (bool): random horizontal and vertical mirroring.
        loss_options (dict | None): keyword arguments of :func:`~cnnlib.detection.yolo.yolo_loss_terms`
            (``lambda_coord``, ``lambda_noobj``, ``objectness``, ``classification``, ``box``).
        seed (int): seeds the shuffling and the flips (seed the model's initialisation yourself).
        progress (bool): show the progress over epochs (see :mod:`cnnlib.progress`).
        device (torch.device | str | None): default: where the model's parameters are.
        channels_last (bool): store weights and batches channels-last (NHWC), the layout oneDNN's
            CPU convolutions and tensor cores prefer; the model keeps it, which changes no result.
        amp (torch.dtype | None): mixed precision, as in :func:`cnnlib.train.fit`.
        ema_decay (float | None): train an exponential moving average of the weights and leave
            it in the model (:class:`cnnlib.train.WeightAverage`).
        neighbours (bool): up to three responsible cells per object (:class:`YOLOStep`).

    Returns:
        History: per-epoch means of ``loss`` and its terms (``xy``, ``wh`` or ``box``, ``obj``,
        ``noobj``, ``class``), per-step values, learning rates, seconds.

    Raises:
        ValueError: for ``epochs`` or ``batch_size`` < 1 or an empty data set.

    Example:
        >>> from cnnlib.data.shapes import ShapesDataset
        >>> _ = torch.manual_seed(0)
        >>> h = train_yolo(TinyYOLO(3, 2, width=4), ShapesDataset(8), epochs=2, batch_size=4, progress=False)
        >>> len(h["loss"]), h["noobj"][-1] > 0
        (2, True)
    """
    check_int(epochs, "epochs")
    check_int(batch_size, "batch_size")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device=device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    step = YOLOStep(model, loss_options, flip, seed, channels_last, neighbours)
    if isinstance(train, DataLoader):
        if len(train) == 0:
            raise ValueError("train is an empty DataLoader")
        data = train
    else:
        images, boxes, labels = scene_tensors(train, "train")
        targets = step.encode(boxes, labels, *images.shape[2:])  # (N, S, S, A*(5+K)), encoded once
        data = ShuffledBatches(images, targets, batch_size=batch_size, generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * len(data), pct_start=0.2)
    return fit(model, data, step=step, optimizer=opt, scheduler=sched, epochs=epochs, device=device,
               progress=progress, amp=amp, ema_decay=ema_decay)


def _maps(model: nn.Module, x: torch.Tensor, tta: bool) -> torch.Tensor:
    """The model's YOLO map of ``x``, or its mean over ``x`` and its three mirror images."""
    out = model(x)
    if tta:
        for dims in ((-1,), (-2,), (-1, -2)):
            m = model(x.flip(dims))
            for d in dims:
                m = _mirror_map(m, d, model.num_anchors, targets=False)
            out = out + m
        out = out / 4
    return out


@torch.no_grad()
def predict_detector(
    model: TinyYOLO,
    images: torch.Tensor,
    conf_threshold: float = 0.01,
    iou_threshold: float = 0.5,
    max_detections: int | None = 100,
    batch_size: int = 256,
    tta: bool = False,
) -> list[dict[str, torch.Tensor]]:
    """Detections of a YOLO model: :func:`~cnnlib.detection.yolo.yolo_postprocess` on its output.

    With ``tta`` (test-time augmentation, seed 001's multi-crop idea applied to detection) the
    model also sees the image mirrored left-right, up-down and both; each map is mirrored back
    and the four are averaged predictor by predictor before decoding. This is exact because the
    assignment is mirror-equivariant: a mirrored object lands in the mirrored cell with the same
    anchor. It costs four forward passes and averages away much of the noise of a small model.

    Args:
        model (TinyYOLO): a trained detector (evaluated in eval mode, its mode restored after).
        images (Tensor[N, 3, H, W]): on any device; batches are moved to the model's device.
        conf_threshold, iou_threshold (float): score threshold and per-class NMS threshold.
        max_detections (int | None): at most this many boxes per image.
        batch_size (int): images per forward pass.
        tta (bool): average over the four mirror images.

    Returns:
        list[dict]: per image ``{"boxes": Tensor[M, 4] xyxy, "scores": Tensor[M], "labels": Tensor[M]}``
        on the CPU, highest score first.

    Example:
        >>> len(predict_detector(TinyYOLO(3, 2, width=4), torch.rand(3, 3, 64, 64), tta=True))
        3
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a Tensor[N, 3, H, W], got {got}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for b in range(0, len(images), batch_size):
        pred = _maps(model, images[b:b + batch_size].to(device), tta)
        for boxes, scores, labels in yolo_postprocess(pred, model.anchors, conf_threshold, iou_threshold,
                                                      tuple(images.shape[2:]), max_detections):
            out.append({"boxes": boxes.cpu(), "scores": scores.cpu(), "labels": labels.cpu()})
    model.train(was_training)
    return out


def evaluate_detector(
    model: TinyYOLO,
    dataset,
    conf_threshold: float = 0.01,
    iou_threshold: float = 0.5,
    max_detections: int | None = 100,
    tta: bool = False,
) -> dict[str, float]:
    """COCO-style mAP@[.5:.95] and mAP@0.5 of a detector on a data set.

    Args:
        model (TinyYOLO): the detector.
        dataset: ``(image, target)`` pairs or an ``(images, boxes, labels)`` triple, as :func:`train_yolo`.
        conf_threshold (float): keep detections scoring above this (low: AP needs the full ranking).
        iou_threshold (float): per-class NMS threshold.
        max_detections (int | None): boxes kept per image (COCO keeps 100).
        tta (bool): average over mirror images (see :func:`predict_detector`).

    Returns:
        dict[str, float]: what :func:`cnnlib.detection.metrics.mean_average_precision` returns,
        among them ``"map"`` (mAP@[.5:.95]) and ``"map_50"``.

    Example:
        >>> from cnnlib.data.shapes import ShapesDataset
        >>> scores = evaluate_detector(TinyYOLO(3, 2, width=4), ShapesDataset(4))
        >>> 0 <= scores["map"] <= scores["map_50"] <= 1
        True
    """
    from cnnlib.detection.metrics import mean_average_precision

    images, boxes, labels = scene_tensors(dataset, "dataset")
    preds = predict_detector(model, images, conf_threshold, iou_threshold, max_detections, tta=tta)
    targets = [{"boxes": b, "labels": l} for b, l in zip(boxes, labels)]
    return mean_average_precision(preds, targets)
