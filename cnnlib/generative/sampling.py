"""Sampling from a PixelCNN in raster order, the slow way: one full forward pass per pixel and colour.

An autoregressive model is sampled as it factorises: draw ``x_1`` from ``p(x_1)``, feed it back,
draw ``x_2`` from ``p(x_2 | x_1)``, and so on in raster order (row by row, left to right; colour by
colour inside a pixel). Training computes all ``H W`` conditionals in one pass because the image
is known; sampling cannot, since each pixel needs the ones before it, so it takes ``H W C`` passes
of the whole network over the whole image: 784 passes for one 28x28 digit, each recomputing all
that has not changed. :mod:`cnnlib.generative.cached_sampling` computes only what changed.

Both samplers draw the same random numbers in the same order: all uniforms ``u ~ U[0, 1)`` of
shape ``(n, C, H, W)`` up front, then each pixel by the inverse of its distribution function:
Bernoulli ``x = 1 if u < sigmoid(logit)``, categorical ``x = #{k < L - 1 : F(k) <= u}`` with ``F``
the cumulative sum of the softmax. So, given the same generator, they return the same images.

Image completion conditions on a given part of an image: the known pixels stay, the others are
drawn in raster order. The model only sees pixels *before* each one, so known pixels below a gap
do not inform it (filling in the lower half of a digit is the natural use).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_generator, check_int, check_tensor
from cnnlib.generative._common import check_shape
from cnnlib.interpret._common import _eval_mode

__all__ = ["sample_pixelcnn", "complete_pixelcnn"]


def draw(logits: torch.Tensor, u: torch.Tensor, margin: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel values from their logits by inverse transform sampling, and which draws were near a tie.

    Args:
        logits (Tensor[n] or Tensor[n, L]): Bernoulli logits, or categorical logits over ``L`` levels.
        u (Tensor[n]): uniforms in ``[0, 1)``.
        margin (float): a draw is *near* when ``u`` is within ``margin`` of a boundary of the
            distribution function (``sigmoid(logit)``, or a cumulative probability).

    Returns:
        tuple[Tensor[n], Tensor[n]]: the values (0/1, or level ``k`` as ``k / (L - 1)``) in the
        logits' dtype, and a bool mask of the near draws.
    """
    if logits.dim() == 1:
        p = torch.sigmoid(logits)
        return (u < p).to(logits.dtype), (u - p).abs() < margin
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)[:, :-1]                  # (n, L - 1)
    k = (cdf <= u[:, None]).sum(dim=-1)
    return k.to(logits.dtype) / (logits.shape[-1] - 1), ((cdf - u[:, None]).abs() < margin).any(dim=-1)


def pixel_logits(logits: torch.Tensor, c: int, i: int, j: int) -> torch.Tensor:
    """The logits of colour ``c`` at ``(i, j)``: ``(n,)`` from ``(n, C, H, W)``, ``(n, L)`` from ``(n, C, L, H, W)``."""
    return logits[:, c, ..., i, j]


def check_logits(logits: object, x: torch.Tensor) -> torch.Tensor:
    """Check that a model's output is ``(n, C, H, W)`` or ``(n, C, L, H, W)`` for images ``x``."""
    n, C, H, W = x.shape
    ok = isinstance(logits, torch.Tensor) and (
        tuple(logits.shape) == (n, C, H, W) or (logits.dim() == 5 and logits.shape[:2] == (n, C)
                                                 and logits.shape[2] >= 2 and logits.shape[3:] == (H, W)))
    if not ok:
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"model must return logits of shape (n, C, H, W) = {(n, C, H, W)} (Bernoulli) or "
                         f"(n, C, L, H, W) (categorical), got {got}")
    return logits


def call(model: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """``model(x)``, or ``model(x, labels)`` for a class-conditional model; the output checked."""
    return check_logits(model(x) if labels is None else model(x, labels), x)


def model_device_dtype(model: object) -> tuple[torch.device, torch.dtype]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    p = next(model.parameters(), None)
    return (p.device, p.dtype) if p is not None else (torch.device("cpu"), torch.get_default_dtype())


def prepare(model: nn.Module, x: object, known: object,
            generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check a completion's inputs; return ``(x with unknown pixels zeroed, known (n, H, W), u)``.

    The uniforms ``u (n, C, H, W)`` are drawn on the generator's device (the model's without one)
    and moved to the model's device, so a CPU generator gives the same draws for every device.
    """
    device, dtype = model_device_dtype(model)
    check_generator(generator)
    x = check_tensor(x, "x", 4, "(N, C, H, W)")
    if not x.is_floating_point() or x.device != device:
        raise ValueError(f"x must be a floating-point tensor on the model's device ({device}), "
                         f"got {x.dtype} on {x.device}")
    n, C, H, W = x.shape
    if not isinstance(known, torch.Tensor) or known.dtype != torch.bool or known.device != device:
        raise TypeError(f"known must be a bool Tensor[N, H, W] or Tensor[H, W] on {device}, got "
                        f"{known.dtype if isinstance(known, torch.Tensor) else type(known).__name__}")
    if tuple(known.shape) not in ((n, H, W), (H, W)):
        raise ValueError(f"known must have shape (N, H, W) = {(n, H, W)} or (H, W), got {tuple(known.shape)}")
    known = known.expand(n, H, W)
    x = torch.where(known[:, None], x, torch.zeros((), dtype=x.dtype, device=device)).to(dtype)
    u_device = generator.device if generator is not None else device
    u = torch.rand((n, C, H, W), generator=generator, device=u_device, dtype=dtype).to(device)
    return x, known, u


def zeros_to_sample(model: nn.Module, n: object, shape: object) -> tuple[torch.Tensor, torch.Tensor]:
    """The blank images ``(n, C, H, W)`` and the all-unknown mask of a sampler, arguments checked."""
    check_int(n, "n")
    C, H, W = check_shape(shape, "(C, H, W)")
    device, dtype = model_device_dtype(model)
    return (torch.zeros(n, C, H, W, device=device, dtype=dtype),
            torch.zeros(n, H, W, dtype=torch.bool, device=device))


@torch.no_grad()
def complete_pixelcnn(model: nn.Module, x: torch.Tensor, known: torch.Tensor,
                      generator: torch.Generator | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Fill in the unknown pixels of ``x`` in raster order, one full forward pass per pixel and colour.

    Args:
        model (nn.Module): ``model(x[, labels])`` returns Bernoulli logits ``(n, C, H, W)`` or
            categorical logits ``(n, C, L, H, W)`` whose value at ``(i, j)`` depends only on the
            pixels before it (a PixelCNN). Run in eval mode; its modes are restored afterwards.
        x (Tensor[n, C, H, W]): images on the model's device; values of unknown pixels are ignored.
        known (Tensor[n, H, W] or Tensor[H, W]): bool, True where a pixel (all colours) is given.
        generator (torch.Generator | None): the source of the uniforms (see the module docstring).
        labels (Tensor[n] | None): classes, for a class-conditional model.

    Returns:
        Tensor[n, C, H, W]: the known pixels of ``x`` and sampled values elsewhere (0/1, or
        ``k / (L - 1)``), in the model's dtype.

    Raises:
        TypeError / ValueError: for a model that is not a module or returns logits of another
            shape, ``x`` or ``known`` of another type, shape or device, or a bad ``generator``.

    Example:
        >>> from cnnlib.generative import PixelCNN
        >>> net = PixelCNN(channels=8, num_layers=1)
        >>> x = torch.ones(2, 1, 4, 4)
        >>> known = torch.arange(4)[:, None].expand(4, 4) < 2             # the upper half is given
        >>> out = complete_pixelcnn(net, x, known, torch.Generator().manual_seed(0))
        >>> bool((out[:, :, :2] == 1).all()), set(out.unique().tolist()) <= {0.0, 1.0}
        (True, True)
    """
    x, known, u = prepare(model, x, known, generator)
    with _eval_mode(model):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                todo = ~known[:, i, j]                                          # (n,)
                if not todo.any():
                    continue
                for c in range(x.shape[1]):
                    values, _ = draw(pixel_logits(call(model, x, labels), c, i, j), u[:, c, i, j])
                    x[:, c, i, j] = torch.where(todo, values, x[:, c, i, j])
    return x


def sample_pixelcnn(model: nn.Module, n: int, shape: Sequence[int], generator: torch.Generator | None = None,
                    labels: torch.Tensor | None = None) -> torch.Tensor:
    """Draw ``n`` images from a PixelCNN in raster order: a full forward pass per pixel and colour.

    The same as :func:`complete_pixelcnn` with nothing known (and the same random draws).

    Args:
        model (nn.Module): as in :func:`complete_pixelcnn`.
        n (int): number of images.
        shape (tuple[int, int, int]): ``(C, H, W)``.
        generator (torch.Generator | None): the source of the uniforms.
        labels (Tensor[n] | None): classes, for a class-conditional model.

    Returns:
        Tensor[n, C, H, W]: 0/1 (Bernoulli) or ``k / (L - 1)`` (categorical) in the model's dtype.

    Raises:
        TypeError / ValueError: for ``n`` or ``shape`` out of range, and as :func:`complete_pixelcnn`.

    Example:
        >>> from cnnlib.generative import PixelCNN
        >>> net = PixelCNN(channels=8, num_layers=1)
        >>> a = sample_pixelcnn(net, 2, (1, 5, 5), torch.Generator().manual_seed(1))
        >>> b = sample_pixelcnn(net, 2, (1, 5, 5), torch.Generator().manual_seed(1))
        >>> a.shape, torch.equal(a, b)
        (torch.Size([2, 1, 5, 5]), True)
    """
    x, known = zeros_to_sample(model, n, shape)
    return complete_pixelcnn(model, x, known, generator, labels)
