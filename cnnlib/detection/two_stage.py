"""Two-stage detectors in small pieces: box deltas, anchor labels, an RPN head, RoI pooling.

R-CNN (Girshick et al., 2014) classifies warped crops of ~2,000 proposed regions one at a time;
Fast R-CNN (Girshick, 2015) runs the backbone ONCE and cuts each proposal out of the feature map
with RoI pooling (:func:`roi_pool`; Mask R-CNN's bilinear :func:`roi_align`, He et al., 2017);
Faster R-CNN (Ren et al., 2015) proposes the regions with a small convolutional head on the same
features, the Region Proposal Network (:class:`RegionProposalNetwork`): at every location and for
each of ``A`` anchors an objectness logit and four box deltas (seed 001, "Region proposal";
seed 004, "two-stage detector"), trained on anchors labelled by
:func:`~cnnlib.detection.anchors.label_anchors`.

Box regression uses R-CNN's parameterisation (Girshick et al., 2014, appendix C): for an anchor
with centre ``(x_a, y_a)`` and size ``(w_a, h_a)`` and a box ``(x, y, w, h)``,
``t_x = (x - x_a) / w_a``, ``t_y = (y - y_a) / h_a``, ``t_w = log(w / w_a)``, ``t_h = log(h / h_a)``.
RoI coordinates are ``Tensor[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` in image pixels, as in
torchvision, and ``spatial_scale`` maps them onto the feature map (1/16 for a stride-16 backbone).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib._checks import check_int, pair
from cnnlib.detection.boxes import clip_boxes_to_image, validate_boxes
from cnnlib.detection.nms import nms

__all__ = ["encode_boxes", "decode_boxes", "RegionProposalNetwork", "roi_pool", "roi_align"]

#: Largest ``t_w``/``t_h`` :func:`decode_boxes` exponentiates (torchvision's ``log(1000 / 16)``).
DELTA_CLAMP = math.log(1000.0 / 16)


def _centre_size(boxes: torch.Tensor, name: str) -> tuple[torch.Tensor, ...]:
    """``(cx, cy, w, h)`` of xyxy boxes, all widths and heights > 0 (else ValueError naming the box)."""
    b = validate_boxes(boxes, name)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    bad = (w <= 0) | (h <= 0)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {b[i].tolist()} has zero width or height; box deltas need w, h > 0")
    return b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h, w, h


def encode_boxes(
    boxes: torch.Tensor,
    anchors: torch.Tensor,
    weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0),
) -> torch.Tensor:
    """Regression targets ``(t_x, t_y, t_w, t_h)`` of boxes relative to anchors (R-CNN).

    Args:
        boxes (Tensor[N, 4]): target boxes in ``(x1, y1, x2, y2)`` format, width and height > 0.
        anchors (Tensor[N, 4]): the anchor (or proposal) of each box, same format, w, h > 0.
        weights (tuple[float, float, float, float]): ``(w_x, w_y, w_w, w_h)`` multiplying the four
            deltas (Faster R-CNN's second stage uses ``(10, 10, 5, 5)``).

    Returns:
        Tensor[N, 4]: ``(w_x t_x, w_y t_y, w_w t_w, w_h t_h)``.

    Raises:
        ValueError: for mismatched shapes or a box with zero width or height.

    Example:
        >>> encode_boxes(torch.tensor([[2., 0, 6, 8]]), torch.tensor([[0., 0, 4, 4]])).tolist()
        [[0.5, 0.5, 0.0, 0.6931471824645996]]
    """
    if boxes.shape != anchors.shape:
        raise ValueError(f"boxes and anchors must have the same shape (N, 4), "
                         f"got {tuple(boxes.shape)} and {tuple(anchors.shape)}")
    x, y, w, h = _centre_size(boxes, "boxes")
    xa, ya, wa, ha = _centre_size(anchors, "anchors")
    wx, wy, ww, wh = weights
    return torch.stack((wx * (x - xa) / wa, wy * (y - ya) / ha, ww * torch.log(w / wa), wh * torch.log(h / ha)), dim=1)


def decode_boxes(
    deltas: torch.Tensor,
    anchors: torch.Tensor,
    weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0),
) -> torch.Tensor:
    """Apply deltas to anchors: the inverse of :func:`encode_boxes`.

    ``x = x_a + w_a t_x``, ``w = w_a exp(t_w)``; ``t_w`` and ``t_h`` are clamped at
    :data:`DELTA_CLAMP` so an untrained head cannot overflow ``exp``.

    Args:
        deltas (Tensor[N, 4]): weighted deltas as returned by :func:`encode_boxes` or a head.
        anchors (Tensor[N, 4]): anchors in ``(x1, y1, x2, y2)`` format, w, h > 0.
        weights (tuple[float, float, float, float]): the weights used to encode.

    Returns:
        Tensor[N, 4]: boxes in ``(x1, y1, x2, y2)`` format (differentiable in ``deltas``).

    Raises:
        ValueError: for mismatched shapes or an anchor with zero width or height.

    Example:
        >>> decode_boxes(torch.tensor([[0.5, 0.5, 0.0, 0.6931471824645996]]), torch.tensor([[0., 0, 4, 4]])).tolist()
        [[2.0, 0.0, 6.0, 8.0]]
    """
    if not isinstance(deltas, torch.Tensor) or deltas.shape != anchors.shape:
        got = tuple(deltas.shape) if isinstance(deltas, torch.Tensor) else type(deltas).__name__
        raise ValueError(f"deltas must have the shape of anchors {tuple(anchors.shape)}, got {got}")
    xa, ya, wa, ha = _centre_size(anchors, "anchors")
    wx, wy, ww, wh = weights
    x, y = xa + deltas[:, 0] / wx * wa, ya + deltas[:, 1] / wy * ha
    w = wa * torch.exp((deltas[:, 2] / ww).clamp(max=DELTA_CLAMP))
    h = ha * torch.exp((deltas[:, 3] / wh).clamp(max=DELTA_CLAMP))
    return torch.stack((x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h), dim=1)


class RegionProposalNetwork(nn.Module):
    """Faster R-CNN's RPN head: a 3x3 conv, then per anchor an objectness logit and 4 deltas.

    Args:
        in_channels (int): channels of the backbone feature map.
        num_anchors (int): anchors ``A`` per location (3 sizes x 3 ratios = 9 in the paper).
        mid_channels (int | None): channels of the 3x3 conv (default ``in_channels``).

    Shape:
        - features: ``(N, C, H, W)``
        - output: objectness ``(N, H*W*A)`` logits and deltas ``(N, H*W*A, 4)``, ordered by row,
          column, anchor: the order of :func:`~cnnlib.detection.anchors.grid_anchors`.

    Example:
        >>> rpn = RegionProposalNetwork(8, num_anchors=3)
        >>> obj, deltas = rpn(torch.randn(2, 8, 5, 6))
        >>> tuple(obj.shape), tuple(deltas.shape)
        ((2, 90), (2, 90, 4))
    """

    def __init__(self, in_channels: int, num_anchors: int, mid_channels: int | None = None) -> None:
        super().__init__()
        check_int(in_channels, "in_channels"), check_int(num_anchors, "num_anchors")
        mid = mid_channels or in_channels
        self.num_anchors = num_anchors
        self.conv = nn.Conv2d(in_channels, mid, 3, padding=1)
        self.objectness = nn.Conv2d(mid, num_anchors, 1)
        self.deltas = nn.Conv2d(mid, 4 * num_anchors, 1)
        for layer in (self.conv, self.objectness, self.deltas):  # as in the paper: N(0, 0.01)
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        N, _, H, W = features.shape
        A = self.num_anchors
        x = F.relu(self.conv(features))
        obj = self.objectness(x).permute(0, 2, 3, 1).reshape(N, H * W * A)  # (N, A, H, W) -> (N, H*W*A)
        d = self.deltas(x).view(N, A, 4, H, W).permute(0, 3, 4, 1, 2).reshape(N, H * W * A, 4)
        return obj, d

    @torch.no_grad()
    def propose(
        self,
        features: torch.Tensor,
        anchors: torch.Tensor,
        image_size: tuple[int, int],
        pre_nms_top_n: int = 1000,
        post_nms_top_n: int = 300,
        nms_threshold: float = 0.7,
        min_size: float = 1e-3,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Proposals per image: decode, clip, drop tiny boxes, keep the top scores, NMS.

        Args:
            features (Tensor[N, C, H, W]): backbone features.
            anchors (Tensor[H*W*A, 4]): the anchors of this feature map (xyxy, image pixels).
            image_size (tuple[int, int]): ``(H_img, W_img)`` to clip to.
            pre_nms_top_n (int): best-scored boxes kept before NMS.
            post_nms_top_n (int): boxes kept after NMS.
            nms_threshold (float): IoU above which NMS suppresses (0.7 in the paper).
            min_size (float): boxes narrower or lower than this (pixels) are dropped.

        Returns:
            list[tuple[Tensor[P, 4], Tensor[P]]]: per image, proposals (xyxy) and objectness
            probabilities, best first.
        """
        obj, deltas = self(features)
        if anchors.shape != (obj.shape[1], 4):
            raise ValueError(f"anchors must have shape ({obj.shape[1]}, 4) for this feature map, "
                             f"got {tuple(anchors.shape)}")
        out = []
        for logits, d in zip(obj, deltas):
            boxes = clip_boxes_to_image(decode_boxes(d, anchors), image_size)
            keep = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
            boxes, scores = boxes[keep], logits[keep].sigmoid()
            top = scores.topk(min(pre_nms_top_n, scores.numel())).indices
            boxes, scores = boxes[top], scores[top]
            kept = nms(boxes, scores, nms_threshold)[:post_nms_top_n]
            out.append((boxes[kept], scores[kept]))
        return out


def _check_rois(features: torch.Tensor, rois: torch.Tensor, output_size) -> tuple[torch.Tensor, int, int]:
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        raise ValueError(f"features must be a Tensor[N, C, H, W], got {getattr(features, 'shape', type(features))}")
    if not isinstance(rois, torch.Tensor) or rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"rois must be a Tensor[K, 5] of (batch_index, x1, y1, x2, y2), "
                         f"got {getattr(rois, 'shape', type(rois))}")
    validate_boxes(rois[:, 1:], "rois[:, 1:]")
    idx = rois[:, 0]
    if bool(((idx < 0) | (idx >= features.shape[0]) | (idx != idx.round())).any()):
        raise ValueError(f"rois[:, 0] must hold batch indices in [0, {features.shape[0] - 1}], got {idx.tolist()}")
    ph, pw = pair(output_size, "output_size")
    return rois.to(features.dtype), ph, pw


def roi_pool(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> torch.Tensor:
    """Fast R-CNN's RoI max pooling: each region cut into a ``PH x PW`` grid of max-pooled bins.

    Follows torchvision's ``roi_pool``: the scaled corners are rounded to whole feature cells
    (half away from zero), the region spans ``x2 - x1 + 1`` cells (at least 1), bin ``p`` covers
    cells ``floor(p * size / P)`` to ``ceil((p + 1) * size / P)`` (clipped to the map), and an empty
    bin gives 0. Vectorised over regions (in chunks bounding memory): a separable masked max,
    first over the columns of each bin, then over its rows.

    Args:
        features (Tensor[N, C, H, W]): feature maps.
        rois (Tensor[K, 5]): ``(batch_index, x1, y1, x2, y2)`` in image pixels.
        output_size (int | tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel.

    Returns:
        Tensor[K, C, PH, PW]

    Example:
        >>> f = torch.arange(16.).view(1, 1, 4, 4)
        >>> roi_pool(f, torch.tensor([[0., 0, 0, 3, 3]]), 2)[0, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    rois, PH, PW = _check_rois(features, rois, output_size)
    N, C, H, W = features.shape
    c = rois[:, 1:] * spatial_scale
    c = (c.sign() * (c.abs() + 0.5).floor()).long()  # C's round(): half away from zero
    out = []
    step = max(1, (1 << 24) // max(C * H * W * max(PH, PW), 1))
    for s in range(0, rois.shape[0], step):  # a loop over chunks of regions (memory), not regions
        r, cc = rois[s:s + step], c[s:s + step]

        def bins(start, end, P, size):  # (K, P, size) mask of the cells in each bin, (K, P) any
            length = (end - start + 1).clamp(min=1).to(features.dtype)[:, None]  # (K, 1)
            p = torch.arange(P, device=features.device, dtype=features.dtype)[None]  # (1, P)
            lo = ((p * length / P).floor().long() + start[:, None]).clamp(0, size)
            hi = (((p + 1) * length / P).ceil().long() + start[:, None]).clamp(0, size)
            cells = torch.arange(size, device=features.device)
            return (cells >= lo[..., None]) & (cells < hi[..., None]), hi > lo

        rows, rows_any = bins(cc[:, 1], cc[:, 3], PH, H)  # (K, PH, H)
        cols, cols_any = bins(cc[:, 0], cc[:, 2], PW, W)  # (K, PW, W)
        f = features[r[:, 0].long()]  # (K, C, H, W)
        neg = torch.tensor(float("-inf"), dtype=f.dtype, device=f.device)
        by_col = torch.where(cols[:, None, None], f[:, :, :, None, :], neg).amax(dim=-1)  # (K, C, H, PW)
        pooled = torch.where(rows[:, None, :, :, None], by_col[:, :, None], neg).amax(dim=3)  # (K, C, PH, PW)
        empty = ~(rows_any[:, :, None] & cols_any[:, None, :])  # (K, PH, PW)
        out.append(pooled.masked_fill(empty[:, None], 0.0))
    return torch.cat(out) if out else features.new_zeros(0, C, PH, PW)


def roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 2,
    aligned: bool = True,
) -> torch.Tensor:
    """Mask R-CNN's RoIAlign: average of bilinear samples on a regular grid in every bin.

    No rounding: bin ``(p, q)`` of a region is sampled at ``sampling_ratio x sampling_ratio``
    evenly spaced points, each read by bilinear interpolation (``F.grid_sample`` with border
    clamping, zero beyond one cell outside the map: torchvision's rule), and averaged. With
    ``aligned=True`` pixel ``i`` is centred at ``i + 0.5`` (the half-pixel shift of Detectron2);
    ``False`` is the original paper's version, where regions are at least one cell wide.
    torchvision's adaptive ``sampling_ratio <= 0`` is not supported.

    Args:
        features (Tensor[N, C, H, W]): feature maps.
        rois (Tensor[K, 5]): ``(batch_index, x1, y1, x2, y2)`` in image pixels.
        output_size (int | tuple[int, int]): ``(PH, PW)``.
        spatial_scale (float): feature cells per image pixel.
        sampling_ratio (int): samples per bin along each axis (>= 1).
        aligned (bool): shift by half a pixel (see above).

    Returns:
        Tensor[K, C, PH, PW] (differentiable in ``features``).

    Example:
        >>> f = torch.arange(16.).view(1, 1, 4, 4)  # a linear ramp: bilinear is exact
        >>> roi_align(f, torch.tensor([[0., 0, 0, 4, 4]]), 2)[0, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    rois, PH, PW = _check_rois(features, rois, output_size)
    check_int(sampling_ratio, "sampling_ratio")
    N, C, H, W = features.shape
    K, sr = rois.shape[0], sampling_ratio
    c = rois[:, 1:] * spatial_scale - (0.5 if aligned else 0.0)  # (K, 4) in cell coordinates
    size = c[:, 2:] - c[:, :2]  # (K, 2) = (w, h)
    if not aligned:
        size = size.clamp(min=1.0)

    def points(start, length, P):  # (K, P*sr) sample coordinates along one axis
        t = (torch.arange(P * sr, device=features.device, dtype=features.dtype) + 0.5) / sr  # bin units
        return start[:, None] + t[None] * (length / P)[:, None]

    xs, ys = points(c[:, 0], size[:, 0], PW), points(c[:, 1], size[:, 1], PH)  # (K, PW*sr), (K, PH*sr)
    gx = (2 * xs + 1) / W - 1  # pixel i sits at (2i + 1) / W - 1 with align_corners=False
    gy = (2 * ys + 1) / H - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # (K, PH*sr, PW*sr, 2)
    f = features[rois[:, 0].long()]  # (K, C, H, W)
    samples = F.grid_sample(f, grid, mode="bilinear", padding_mode="border", align_corners=False)
    inside = ((ys >= -1) & (ys <= H))[:, :, None] & ((xs >= -1) & (xs <= W))[:, None, :]  # (K, PH*sr, PW*sr)
    samples = samples * inside[:, None].to(samples.dtype)  # (K, C, PH*sr, PW*sr)
    return samples.view(K, C, PH, sr, PW, sr).mean(dim=(3, 5))  # (K, C, PH, PW)
