"""Which pixels a PixelCNN's prediction depends on, measured with autograd; the blind spot.

A model is *causal* in raster order when the logits at ``(i, j)`` do not change with the pixel
``(i, j)`` itself or any pixel after it. Back-propagating from one output pixel shows exactly
which inputs it reads (the check of the UvA deep-learning notes on autoregressive models): the
gradient of ``logits[..., i, j]`` with respect to the image is non-zero where the output depends on
the input. :func:`receptive_dependencies` returns that map.

Inside the *causal window* of radius ``R`` (the pixels before ``(i, j)`` in raster order, at most
``R`` rows up and ``R`` columns left or right: :func:`causal_window`), a stack of k x k masked
convolutions leaves a **blind spot** (van den Oord et al. 2016, *Conditional image generation
with PixelCNN decoders*, figure 1): with 3x3 masks B the field grows one pixel to the right per
row up, so the upper-right part of the window is never read. :func:`blind_spot` lists it; the
gated PixelCNN's vertical stack covers the whole rectangle above, so its blind spot is empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_generator, check_int, check_tensor
from cnnlib.generative._common import check_shape
from cnnlib.generative.sampling import call, model_device_dtype
from cnnlib.interpret._common import _eval_mode

__all__ = ["receptive_dependencies", "causal_window", "blind_spot"]


def _position(i: object, j: object, H: int, W: int) -> tuple[int, int]:
    i = check_int(i, "i", 0, H - 1)
    return i, check_int(j, "j", 0, W - 1)


def receptive_dependencies(model: nn.Module, shape: Sequence[int], i: int, j: int, channel: int | None = None,
                           labels: torch.Tensor | None = None, trials: int = 4,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Where the logits at ``(i, j)`` have a non-zero gradient with respect to the input image.

    The gradient is taken at ``trials`` random images (uniform in [0, 1)) and the maps are
    united, so that a ReLU that happens to be off for one image does not hide a dependency.
    The model runs in eval mode (its modes are restored) and its parameters get no gradient.

    Args:
        model (nn.Module): ``model(x[, labels])`` -> logits ``(N, C, H, W)`` or ``(N, C, L, H, W)``.
        shape (tuple[int, int, int]): ``(C, H, W)`` of the images.
        i (int): row of the output pixel.
        j (int): column of the output pixel.
        channel (int | None): differentiate only colour ``channel``'s logits (all colours: None).
        labels (Tensor[trials] | None): classes, for a class-conditional model.
        trials (int): random images to unite over.
        generator (torch.Generator | None): the source of the random images.

    Returns:
        Tensor[C, H, W]: bool, True where the output at ``(i, j)`` depends on the input.

    Raises:
        TypeError / ValueError: for a position, channel, shape or ``trials`` out of range, or a
            model that returns logits of another shape.

    Example:
        >>> from cnnlib.generative import PixelCNN
        >>> deps = receptive_dependencies(PixelCNN(channels=8, num_layers=0, kernel_size=3), (1, 4, 4), 1, 1)
        >>> deps[0].int()
        tensor([[1, 1, 1, 0],
                [1, 0, 0, 0],
                [0, 0, 0, 0],
                [0, 0, 0, 0]], dtype=torch.int32)
    """
    device, dtype = model_device_dtype(model)
    C, H, W = check_shape(shape, "(C, H, W)")
    i, j = _position(i, j, H, W)
    if channel is not None:
        check_int(channel, "channel", 0, C - 1)
    trials = check_int(trials, "trials")
    check_generator(generator)
    x = torch.rand((trials, C, H, W), generator=generator, dtype=dtype,
                   device=generator.device if generator is not None else device).to(device).requires_grad_()
    with _eval_mode(model), torch.enable_grad():
        logits = call(model, x, labels)
        out = logits[:, :, ..., i, j] if channel is None else logits[:, channel, ..., i, j]
        (grad,) = torch.autograd.grad(out.sum(), x)
    return (grad != 0).any(dim=0)


def causal_window(shape: Sequence[int], i: int, j: int, radius: int) -> torch.Tensor:
    """The pixels before ``(i, j)`` in raster order within ``radius`` rows up and columns either side.

    Args:
        shape (tuple[int, int]): ``(H, W)``.
        i (int): row.
        j (int): column.
        radius (int): ``>= 0``.

    Returns:
        Tensor[H, W]: bool.

    Example:
        >>> causal_window((4, 5), 2, 2, 1).int()
        tensor([[0, 0, 0, 0, 0],
                [0, 1, 1, 1, 0],
                [0, 1, 0, 0, 0],
                [0, 0, 0, 0, 0]], dtype=torch.int32)
    """
    H, W = check_shape(shape, "(H, W)")
    i, j = _position(i, j, H, W)
    radius = check_int(radius, "radius", 0)
    rows, cols = torch.arange(H)[:, None], torch.arange(W)[None, :]
    before = (rows < i) | ((rows == i) & (cols < j))
    return before & (rows >= i - radius) & ((cols - j).abs() <= radius)


def blind_spot(dependencies: torch.Tensor, i: int, j: int, radius: int) -> torch.Tensor:
    """The pixels of the causal window of ``(i, j)`` that the output there does not depend on.

    Args:
        dependencies (Tensor[C, H, W] or Tensor[H, W]): bool, from :func:`receptive_dependencies`
            (a pixel counts as read if any of its colours is).
        i (int): row.
        j (int): column.
        radius (int): the window's radius, e.g. the model's ``receptive_radius``.

    Returns:
        Tensor[H, W]: bool, True in the blind spot.

    Raises:
        TypeError / ValueError: for a non-bool or wrongly shaped ``dependencies``, or a position
            or radius out of range.

    Example:
        >>> deps = torch.zeros(3, 5, dtype=torch.bool)
        >>> deps[0, :4] = True; deps[1, :2] = True                     # read: all but (0, 4)
        >>> blind_spot(deps, 1, 2, 2).nonzero().tolist()
        [[0, 4]]
    """
    if not isinstance(dependencies, torch.Tensor) or dependencies.dtype != torch.bool:
        got = dependencies.dtype if isinstance(dependencies, torch.Tensor) else type(dependencies).__name__
        raise TypeError(f"dependencies must be a bool Tensor[C, H, W] or Tensor[H, W], got {got}")
    deps = check_tensor(dependencies, "dependencies", 3, "(C, H, W)").any(dim=0) if dependencies.dim() != 2 \
        else dependencies
    return causal_window(tuple(deps.shape), i, j, radius).to(deps.device) & ~deps
