"""The image patches that excite one unit of a layer most (Zeiler & Fergus, 2014).

*Visualizing and Understanding Convolutional Networks* (seed 001: "the nine image patches that
maximize the unit's activation"): run many images through the network, keep the largest values
of one channel of a layer, and cut out the receptive field of each, found by
:func:`~cnnlib.interpret.layer_receptive_field`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.interpret._common import _check_model, _images
from cnnlib.interpret.features import feature_maps
from cnnlib.interpret.receptive_field import layer_receptive_field
from cnnlib.ops.receptive_field import RF

__all__ = ["TopPatches", "top_k_patches"]


class TopPatches(NamedTuple):
    """What :func:`top_k_patches` returns (``k`` entries, strongest first).

    Attributes:
        patches (Tensor[k, C, rh, rw]): the receptive field of each unit, cut from its image
            (``fill`` where it reaches outside the image).
        activations (Tensor[k]): the unit's activation there.
        image_index (Tensor[k]): which image of ``images``.
        positions (Tensor[k, 2]): ``(row, col)`` of the unit in the layer's map.
        boxes (Tensor[k, 4]): ``(x1, y1, x2, y2)`` in input pixels, ``x2 = x1 + rw`` (exclusive end;
            may lie outside the image).
    """

    patches: torch.Tensor
    activations: torch.Tensor
    image_index: torch.Tensor
    positions: torch.Tensor
    boxes: torch.Tensor


def top_k_patches(
    model: nn.Module,
    layer: nn.Module,
    images: torch.Tensor,
    channel: int,
    k: int = 9,
    one_per_image: bool = True,
    rf: tuple[RF, RF] | None = None,
    fill: float = 0.0,
    batch_size: int = 256,
) -> TopPatches:
    """The ``k`` image patches that most excite one unit type (a channel) of ``layer``.

    Zeiler & Fergus (2014), seed 001: run all ``images`` through the model, take the ``k``
    largest values of ``layer``'s map ``channel``, and cut out the receptive field of each
    (:func:`~cnnlib.interpret.layer_receptive_field`, or ``rf``). By default at most ONE position per image (its
    maximum) is kept, so that nine near-identical crops of one image do not fill the grid.

    Args:
        model (nn.Module): the network (eval mode during the pass, modes restored).
        layer (nn.Module): a submodule of ``model`` with output ``(N, K, h, w)``.
        images (Tensor[N, C, H, W]): where to look for patches.
        channel (int): the channel of ``layer``'s output, in ``[0, K)``.
        k (int): how many patches (>= 1; at most ``N``, or ``N h w`` without ``one_per_image``).
        one_per_image (bool): keep only each image's strongest position.
        rf (tuple[RF, RF] | None): ``(rf_h, rf_w)``, to skip the automatic tracing.
        fill (float): the value of patch pixels that lie outside the image.
        batch_size (int): images per forward pass.

    Returns:
        TopPatches: ``patches (k, C, rh, rw)``, ``activations (k,)``, ``image_index (k,)``,
        ``positions (k, 2)`` as ``(row, col)`` in the map, ``boxes (k, 4)`` as ``(x1, y1, x2, y2)``.

    Raises:
        TypeError, ValueError: for bad arguments (layer not in model, channel or k out of range).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
        >>> top = top_k_patches(net, net[2], torch.rand(12, 1, 10, 10), channel=1, k=4)
        >>> tuple(top.patches.shape), bool((top.activations[:-1] >= top.activations[1:]).all())
        ((4, 1, 4, 4), True)
    """
    _check_model(model, [layer])
    xb, _ = _images(images, "images", allow_single=False)
    N, C, H, W = xb.shape
    for name, v in (("k", k), ("batch_size", batch_size), ("channel", channel)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "channel" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'channel' else 1}, got {v!r}")
    if N == 0:
        raise ValueError("images must hold at least one image")
    maps = []
    for batch in xb.split(batch_size):
        (m,) = feature_maps(model, batch, layer).values()  # (n, K, h, w)
        if m.dim() != 4:
            raise ValueError(f"layer must output feature maps (N, K, h, w), got {tuple(m.shape)}")
        if channel >= m.shape[1]:
            raise ValueError(f"channel must lie in [0, {m.shape[1]}) (layer's channels), got {channel}")
        maps.append(m[:, channel])
    a = torch.cat(maps)  # (N, h, w): the unit's activation at every position of every image
    h, w = a.shape[1:]
    if one_per_image:
        if k > N:
            raise ValueError(f"k={k} exceeds the {N} images (one patch per image); pass one_per_image=False")
        best, where = a.flatten(1).max(dim=1)  # (N,), (N,): each image's strongest unit
        acts, index = best.topk(k)
        pos = where[index]
    else:
        if k > N * h * w:
            raise ValueError(f"k={k} exceeds the {N * h * w} units of channel {channel}")
        acts, flat = a.flatten().topk(k)
        index, pos = flat // (h * w), flat % (h * w)
    rows, cols = pos // w, pos % w
    if rf is not None and not (isinstance(rf, (tuple, list)) and len(rf) == 2
                               and all(isinstance(r, RF) for r in rf)):
        raise TypeError(f"rf must be None or a pair (rf_h, rf_w) of cnnlib.ops.RF, got {rf!r}")
    rf_h, rf_w = rf if rf is not None else layer_receptive_field(model, layer, xb)
    y1 = (rows * rf_h.jump + round(rf_h.start - (rf_h.size - 1) / 2)).tolist()  # top row of each field
    x1 = (cols * rf_w.jump + round(rf_w.start - (rf_w.size - 1) / 2)).tolist()
    patches = []
    for i, top, left in zip(index.tolist(), y1, x1):
        bottom, right = top + rf_h.size, left + rf_w.size
        pt, pb, pl, pr = max(-top, 0), max(bottom - H, 0), max(-left, 0), max(right - W, 0)
        padded = F.pad(xb[i], (pl, pr, pt, pb), value=fill)  # (C, H + pt + pb, W + pl + pr)
        patches.append(padded[:, top + pt:bottom + pt, left + pl:right + pl])  # (C, rh, rw)
    boxes = torch.tensor([[x, y, x + rf_w.size, y + rf_h.size] for x, y in zip(x1, y1)],
                         dtype=torch.long, device=xb.device)  # (k, 4) as (x1, y1, x2, y2)
    return TopPatches(torch.stack(patches), acts, index, torch.stack([rows, cols], dim=1), boxes)
