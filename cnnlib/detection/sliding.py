"""Sliding-window detection, window by window and as one convolutional pass.

The oldest way to detect with a classifier (seeds 000 and 001): train it on closely cropped
objects, slide a window over the image, and classify every crop. Done literally
(:func:`sliding_window_naive`) that is one forward pass per window, and neighbouring windows
recompute almost the same features. Sermanet et al., *OverFeat* (2014), and seed 001's "Turning
FC layer into convolutional layer" remove the waste: a fully connected layer that reads a
``C x h x w`` feature map is a convolution with ``h x w`` kernels, and the following FC layers
are 1x1 convolutions (:func:`fc_to_conv`). The converted network accepts a larger image and
returns, in ONE pass, a map of scores: output cell ``(i, j)`` is the classifier's output on the
window whose top-left corner is ``(i * s, j * s)``, where ``s`` is the product of the strides of
the feature layers (:func:`window_boxes` gives the windows).

The equivalence holds when every layer before the flatten is local and translation-equivariant
with no padding (valid convolutions and pooling); :func:`fc_to_conv` checks that.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from cnnlib._checks import check_int, pair

__all__ = ["sliding_window_naive", "fc_to_conv", "window_boxes", "total_stride"]

_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Identity,
              nn.Dropout, nn.Dropout2d, nn.Softplus, nn.Hardtanh, nn.PReLU)
_SPATIAL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _layers(model: nn.Module) -> list[nn.Module]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    out = []
    for m in model:
        out.extend(_layers(m) if isinstance(m, nn.Sequential) else [m])
    return out


def total_stride(model: nn.Sequential) -> int:
    """Product of the strides of the Conv2d/MaxPool2d/AvgPool2d layers (square strides only).

    Args:
        model (nn.Sequential): the window classifier or its convolutional version.

    Returns:
        int: the step in pixels between neighbouring windows of the convolutional version.

    Raises:
        TypeError: if ``model`` is not an ``nn.Sequential``.
        ValueError: for a layer with different strides along height and width.

    Example:
        >>> total_stride(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, stride=2)))
        4
    """
    s = 1
    for m in _layers(model):
        if isinstance(m, _SPATIAL):
            sh, sw = pair(m.stride, "stride")
            if sh != sw:
                raise ValueError(f"{m} has different strides along H and W; windows would not be square-stepped")
            s *= sh
    return s


def sliding_window_naive(
    classifier: nn.Module,
    images: torch.Tensor,
    window: int | tuple[int, int],
    stride: int | tuple[int, int],
) -> torch.Tensor:
    """Run ``classifier`` on every window of the images, one window at a time.

    Args:
        classifier (nn.Module): maps ``(N, C, h, w)`` crops to ``(N, K)`` scores.
        images (Tensor[N, C, H, W]): images at least as large as the window.
        window (int | tuple[int, int]): ``(h, w)``, the classifier's input size.
        stride (int | tuple[int, int]): step between windows (pixels).

    Returns:
        Tensor[N, K, H_out, W_out]: score ``k`` of the window with top-left corner
        ``(i * stride, j * stride)`` at ``[:, k, i, j]``; ``H_out = (H - h) // stride + 1``.

    Raises:
        ValueError: for a window larger than the images or bad sizes.

    Example:
        >>> mean = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
        >>> _ = mean.requires_grad_(False)[1].weight.fill_(0.25), mean[1].bias.zero_()
        >>> sliding_window_naive(mean, torch.arange(9.).view(1, 1, 3, 3), 2, 1)[0, 0].tolist()
        [[2.0, 3.0], [5.0, 6.0]]
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a Tensor[N, C, H, W], got {getattr(images, 'shape', type(images))}")
    (h, w), (sh, sw) = pair(window, "window"), pair(stride, "stride")
    N, C, H, W = images.shape
    if h > H or w > W:
        raise ValueError(f"window {(h, w)} is larger than the images {(H, W)}")
    rows = []
    for i in range(0, H - h + 1, sh):  # one classifier call per window: the slow way
        rows.append(torch.stack([classifier(images[:, :, i:i + h, j:j + w]) for j in range(0, W - w + 1, sw)], dim=-1))
    return torch.stack(rows, dim=-2)  # (N, K, H_out, W_out)


def fc_to_conv(model: nn.Sequential, window: int | tuple[int, int]) -> nn.Sequential:
    """Turn a window classifier's Flatten + Linear layers into convolutions (OverFeat).

    The first Linear after the Flatten, reading a ``C x h' x w'`` feature map, becomes a
    ``Conv2d(C, out, (h', w'))`` with the same weights reshaped to ``(out, C, h', w')`` (the
    flatten order); later Linears become 1x1 convolutions; ``BatchNorm1d`` becomes ``BatchNorm2d``
    with the same statistics; pointwise layers (activations, dropout) and ``Softmax(dim=1)`` stay.
    The original model is not modified.

    Args:
        model (nn.Sequential): ``[feature layers] + Flatten + [Linear / pointwise layers]``.
            Feature layers: Conv2d, MaxPool2d, AvgPool2d (all without padding, no ceil mode,
            no dilation in pooling), BatchNorm2d and pointwise layers; nested Sequentials are
            flattened.
        window (int | tuple[int, int]): the classifier's input size ``(h, w)``.

    Returns:
        nn.Sequential: fully convolutional; on a ``(N, C, H, W)`` image it outputs
        ``(N, K, H_out, W_out)``, equal (to float rounding) to :func:`sliding_window_naive` with
        ``stride = total_stride(model)``.

    Raises:
        TypeError: if ``model`` is not an ``nn.Sequential`` or holds a layer that cannot be
            converted (the message names it).
        ValueError: for padding, a missing Flatten, or a Linear whose input size does not match
            the feature map of the window.

    Example:
        >>> clf = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
        >>> conv = fc_to_conv(clf, 6)
        >>> tuple(conv(torch.randn(1, 3, 10, 12)).shape)  # scores of 5 x 7 windows in one pass
        (1, 2, 5, 7)
    """
    layers = _layers(model)
    flat = [k for k, m in enumerate(layers) if isinstance(m, nn.Flatten)]
    if len(flat) != 1:
        raise ValueError(f"model must contain exactly one nn.Flatten between features and classifier, "
                         f"found {len(flat)}")
    head_at = flat[0]
    if (layers[head_at].start_dim, layers[head_at].end_dim) != (1, -1):
        raise ValueError(f"the Flatten must be Flatten(start_dim=1, end_dim=-1), got {layers[head_at]}")
    features = []
    for m in layers[:head_at]:
        if isinstance(m, _SPATIAL):
            pad = pair(m.padding, "padding", 0) if not isinstance(m.padding, str) else m.padding
            if pad not in ((0, 0), "valid") or getattr(m, "ceil_mode", False) or (
                    isinstance(m, nn.MaxPool2d) and pair(m.dilation, "dilation") != (1, 1)):
                raise ValueError(f"{m}: padding, ceil_mode or pooling dilation break the window equivalence")
        elif not isinstance(m, (nn.BatchNorm2d, *_POINTWISE)):
            raise TypeError(f"cannot convert feature layer {m}: it is not local and translation-equivariant")
        features.append(copy.deepcopy(m))
    h, w = pair(window, "window")
    first = next((p for p in model.parameters()), None)
    dummy = torch.zeros(1, _in_channels(layers), h, w, dtype=first.dtype if first is not None else torch.float32,
                        device=first.device if first is not None else None)
    with torch.no_grad():
        fmap = nn.Sequential(*features).eval()(dummy).shape[1:]  # (C, h', w')
    head, shape = [], fmap
    for m in layers[head_at + 1:]:
        if isinstance(m, nn.Linear):
            c, kh, kw = shape
            if m.in_features != c * kh * kw:
                raise ValueError(f"{m} expects {m.in_features} inputs but the window's feature map is {tuple(shape)}")
            conv = nn.Conv2d(c, m.out_features, (kh, kw), bias=m.bias is not None).to(m.weight)
            with torch.no_grad():
                conv.weight.copy_(m.weight.view(m.out_features, c, kh, kw))  # the flatten order (C, h', w')
                if m.bias is not None:
                    conv.bias.copy_(m.bias)
            head.append(conv)
            shape = (m.out_features, 1, 1)
        elif isinstance(m, nn.BatchNorm1d):
            bn = nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
            bn = bn.to(device=dummy.device, dtype=dummy.dtype)
            bn.load_state_dict(m.state_dict())
            head.append(bn)
        elif isinstance(m, (nn.Softmax, nn.LogSoftmax)) and m.dim == 1:
            head.append(copy.deepcopy(m))  # dim 1 is the class axis in (N, K) and in (N, K, H, W)
        elif isinstance(m, _POINTWISE):
            head.append(copy.deepcopy(m))
        else:
            raise TypeError(f"cannot convert classifier layer {m} to a convolution")
    return nn.Sequential(*features, *head).train(model.training)


def _in_channels(layers: list[nn.Module]) -> int:
    for m in layers:
        if isinstance(m, nn.Conv2d):
            return m.in_channels
        if isinstance(m, nn.BatchNorm2d):
            return m.num_features
    raise ValueError("cannot infer the input channels: the feature layers have no Conv2d or BatchNorm2d")


def window_boxes(score_size: tuple[int, int], window: int | tuple[int, int], stride: int) -> torch.Tensor:
    """The window of every cell of a sliding-window score map, as xyxy boxes.

    Args:
        score_size (tuple[int, int]): ``(H_out, W_out)`` of the score map.
        window (int | tuple[int, int]): ``(h, w)`` of a window in pixels.
        stride (int): pixels between neighbouring windows (:func:`total_stride`).

    Returns:
        Tensor[H_out * W_out, 4]: ``(j s, i s, j s + w, i s + h)`` in row-major cell order.

    Example:
        >>> window_boxes((1, 2), 4, 2).tolist()
        [[0.0, 0.0, 4.0, 4.0], [2.0, 0.0, 6.0, 4.0]]
    """
    (H, W), (h, w) = pair(score_size, "score_size"), pair(window, "window")
    stride = check_int(stride, "stride")
    i, j = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    x1, y1 = (j.reshape(-1) * stride).float(), (i.reshape(-1) * stride).float()
    return torch.stack((x1, y1, x1 + w, y1 + h), dim=1)
