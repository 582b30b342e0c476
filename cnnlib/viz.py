"""Pictures for the book: image grids, kernels, feature maps, training curves, source code.

Every function returns a matplotlib ``Figure`` (Jupyter shows it; scripts can ``savefig``).
Model and data code never import this module.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["image_grid", "show_kernels", "show_feature_maps", "plot_history", "show_source", "to_hwc"]


def _as_images(images) -> list[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        if images.dim() == 2:
            images = images[None, None]
        elif images.dim() == 3:
            images = images[:, None] if images.shape[0] not in (1, 3) else images[None]
        if images.dim() != 4:
            raise ValueError(f"images must be (N, C, H, W), (C, H, W) or (H, W), got {tuple(images.shape)}")
        return list(images.detach().cpu())
    return [torch.as_tensor(im).detach().cpu() for im in images]


def image_grid(images, nrow: int = 8, titles: Sequence[str] | None = None, cmap: str = "gray",
               figsize: tuple[float, float] | None = None, normalize: bool = False, suptitle: str | None = None):
    """Show images in a grid.

    Args:
        images (Tensor[N, C, H, W] | list[Tensor[C, H, W]]): ``C`` is 1 (grey) or 3 (RGB).
        nrow (int): images per row.
        titles (Sequence[str] | None): one title per image.
        cmap (str): colour map for single-channel images.
        figsize (tuple | None): default scales with the grid.
        normalize (bool): stretch each image to its own min-max range.
        suptitle (str | None): title of the whole figure.

    Returns:
        matplotlib.figure.Figure

    Example:
        >>> fig = image_grid(torch.rand(6, 1, 8, 8), nrow=3, titles=list("abcdef"))
        >>> len(fig.axes)
        6
    """
    import matplotlib.pyplot as plt

    ims = _as_images(images)
    if not ims:
        raise ValueError("images is empty")
    if titles is not None and len(titles) != len(ims):
        raise ValueError(f"got {len(titles)} titles for {len(ims)} images")
    ncol = min(nrow, len(ims))
    nrows = math.ceil(len(ims) / ncol)
    fig, axes = plt.subplots(nrows, ncol, figsize=figsize or (1.6 * ncol, 1.6 * nrows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, im) in enumerate(zip(axes.flat, ims)):
        im = im.float()
        if normalize:
            im = (im - im.min()) / (im.max() - im.min() + 1e-12)
        if im.dim() == 3 and im.shape[0] == 3:
            ax.imshow(im.permute(1, 2, 0).clamp(0, 1).numpy())
        else:
            ax.imshow(im.reshape(im.shape[-2:]).numpy(), cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_kernels(weight: torch.Tensor, nrow: int = 8, channel: int | None = None, cmap: str = "RdBu_r", title: str | None = None):
    """Show convolution kernels, each with a symmetric colour scale (red +, blue -).

    Args:
        weight (Tensor[C_out, C_in, kH, kW]): kernels; RGB kernels (``C_in = 3``) are shown in
            colour after a min-max stretch, others one channel at a time (``channel``, default 0).

    Returns:
        matplotlib.figure.Figure

    Example:
        >>> fig = show_kernels(torch.randn(4, 1, 3, 3), nrow=4)
        >>> sum(bool(ax.images) for ax in fig.axes)
        4
    """
    import matplotlib.pyplot as plt

    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError(f"weight must be a Tensor[C_out, C_in, kH, kW], got {getattr(weight, 'shape', type(weight))}")
    w = weight.detach().cpu().float()
    n = w.shape[0]
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrows, ncol, figsize=(1.2 * ncol, 1.2 * nrows + (0.3 if title else 0)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, k in zip(axes.flat, w):
        if k.shape[0] == 3 and channel is None:
            ax.imshow(((k - k.min()) / (k.max() - k.min() + 1e-12)).permute(1, 2, 0).numpy())
        else:
            k = k[channel or 0]
            lim = k.abs().max().item() or 1.0
            ax.imshow(k.numpy(), cmap=cmap, vmin=-lim, vmax=lim)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_feature_maps(fmaps: torch.Tensor, max_maps: int = 16, nrow: int = 8, cmap: str = "viridis", title: str | None = None):
    """Show the channels of one feature map tensor ``(C, H, W)`` or ``(1, C, H, W)``.

    Returns:
        matplotlib.figure.Figure

    Example:
        >>> fig = show_feature_maps(torch.randn(1, 20, 6, 6), max_maps=8)
        >>> sum(bool(ax.images) for ax in fig.axes)
        8
    """
    if not isinstance(fmaps, torch.Tensor) or fmaps.dim() not in (3, 4) or (fmaps.dim() == 4 and fmaps.shape[0] != 1):
        raise ValueError(f"fmaps must be (C, H, W) or (1, C, H, W), got {getattr(fmaps, 'shape', type(fmaps))}")
    maps = fmaps.reshape(-1, *fmaps.shape[-2:])[:max_maps]
    return image_grid(maps[:, None], nrow=nrow, cmap=cmap, normalize=True,
                      titles=[f"ch {i}" for i in range(len(maps))], suptitle=title)


def plot_history(history):
    """The curves of every metric of a :class:`cnnlib.train.History` (train and validation); returns the Figure.

    Example:
        >>> from cnnlib.train import History
        >>> h = History()
        >>> h.record(1, {"loss": 0.9, "acc": 0.6, "val_loss": 1.0, "val_acc": 0.5}, seconds=1.0)
        >>> h.record(2, {"loss": 0.5, "acc": 0.8, "val_loss": 0.7, "val_acc": 0.7}, seconds=1.0)
        >>> [len(ax.lines) for ax in plot_history(h).axes]
        [2, 2]
    """
    return history.plot()


def show_source(obj, first: str | None = None, last: str | None = None):
    """The source code of a function, class or module, syntax-highlighted in Jupyter.

    The book shows library code this way (by inclusion), never as a pasted copy that could drift.
    With ``first`` (and ``last``), only the lines from the first one containing ``first`` to the
    next one containing ``last`` (default: to the end), dedented: the lines that carry the idea,
    without the argument checks around them.

    Args:
        obj: a function, class or module.
        first (str | None): text of the first line to show.
        last (str | None): text of the last line to show (searched from ``first`` on).

    Returns:
        IPython.display.Code

    Raises:
        ValueError: if no line contains ``first`` or ``last``.

    Example:
        >>> "def show_source" in show_source(show_source).data
        True
        >>> print(show_source(_as_images, "if isinstance", "images = images[None, None]").data)
        if isinstance(images, torch.Tensor):
            if images.dim() == 2:
                images = images[None, None]
    """
    from IPython.display import Code

    if first is None:
        return Code(inspect.getsource(obj), language="python")
    lines = inspect.getsource(obj).splitlines()
    start = next((k for k, line in enumerate(lines) if first in line), None)
    if start is None:
        raise ValueError(f"no line of {getattr(obj, '__qualname__', obj)!r} contains {first!r}")
    end = len(lines) - 1 if last is None else next((k for k in range(start, len(lines)) if last in lines[k]), None)
    if end is None:
        raise ValueError(f"no line of {getattr(obj, '__qualname__', obj)!r} after {first!r} contains {last!r}")
    return Code(textwrap.dedent("\n".join(lines[start:end + 1])), language="python")


def to_hwc(image: Any) -> np.ndarray:
    """An image as the numpy array matplotlib shows: ``(H, W)`` or ``(H, W, 3)``, uint8 or float in [0, 1].

    Args:
        image (Tensor[C, H, W] | Tensor[H, W] | ndarray): ``C`` in (1, 3); a numpy image is
            ``(H, W)`` or ``(H, W, C)`` with ``C`` in (1, 3, 4). Floats are clipped to [0, 1].

    Returns:
        ndarray: uint8 kept as it is, anything else as float64.

    Raises:
        TypeError: for anything but a tensor or an array; ValueError: for another shape.

    Example:
        >>> to_hwc(torch.ones(3, 2, 4) * 2).shape, float(to_hwc(torch.ones(3, 2, 4) * 2).max())
        ((2, 4, 3), 1.0)
    """
    if isinstance(image, torch.Tensor):
        x = image.detach().cpu()
        if x.dim() == 3 and x.shape[0] in (1, 3):
            x = x.permute(1, 2, 0)  # (C, H, W) -> (H, W, C)
        elif x.dim() != 2:
            raise ValueError(f"image must be a Tensor[C, H, W] with C in (1, 3) or [H, W], "
                             f"got shape {tuple(image.shape)}")
        arr = x.numpy()
    elif isinstance(image, np.ndarray):
        arr = image
        if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4))):
            raise ValueError(f"a numpy image must be (H, W) or (H, W, C), got shape {arr.shape}")
    else:
        raise TypeError(f"image must be a torch.Tensor or numpy array, got {type(image).__name__}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = np.clip(arr.astype(np.float64), 0.0, 1.0)
    return arr
