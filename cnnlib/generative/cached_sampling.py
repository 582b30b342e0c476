"""Fast PixelCNN sampling: recompute only what each new pixel changes, reuse everything else.

In the spirit of Ramachandran, Le Paine, Khorrami, Babaeizadeh, Chang, Zhang, Hasegawa-Johnson,
Campbell & Huang, *Fast generation for convolutional autoregressive models*, ICLR workshop 2017.
The naive sampler (:mod:`cnnlib.generative.sampling`) runs the whole network over the whole image
for every pixel, although a new pixel changes nothing above it or to its left. In a stack of
masked convolutions every layer's output at ``(i, j)`` depends only on the layer below at
positions up to ``(i, j)`` in raster order, and so only on pixels before ``(i, j)``. So the
sampler keeps every layer's activations (the *cache*) and, going through the pixels in raster
order, recomputes each layer at the current position only: one small matrix product per layer
with the window the mask keeps (:meth:`~cnnlib.generative.pixelcnn.PixelCNN.logits_at`). The gated
PixelCNN's vertical stack depends on the rows above only, so it is recomputed once per row.
Over a whole image this costs about one forward pass instead of ``H W C`` of them.

**Same draws, same images.** Both samplers use the uniforms ``u (n, C, H, W)`` drawn up front in
the same order and the same inverse-transform rule. The cached logits are a different float
computation of the same numbers (window products instead of whole-image convolutions), so they
can differ from the full pass in the last bits (about ``1e-7`` relative in float32). A draw can
only come out differently when ``u`` lies that close to a boundary of the pixel's distribution
function; whenever ``u`` is within ``margin`` of one, this sampler recomputes that pixel's logits
with the full forward pass on the same image, exactly as the naive sampler does, and draws from
those. Hence: given the same generator, the two samplers return identical images whenever the
cached probabilities are within ``margin`` (default ``1e-4``) of the full pass's, which float32
rounding keeps by orders of magnitude. Near draws are rare (about ``2 n margin`` per pixel), so
the full passes cost little.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_float
from cnnlib.generative.sampling import call, draw, pixel_logits, prepare, zeros_to_sample
from cnnlib.interpret._common import _eval_mode

__all__ = ["complete_pixelcnn_cached", "sample_pixelcnn_cached"]


def _check_cached(model: object) -> None:
    if not (isinstance(model, nn.Module) and callable(getattr(model, "start_cache", None))
            and callable(getattr(model, "logits_at", None))):
        raise TypeError(f"model must be a PixelCNN with start_cache and logits_at (PixelCNN, GatedPixelCNN), "
                        f"got {type(model).__name__}")


@torch.no_grad()
def complete_pixelcnn_cached(model: nn.Module, x: torch.Tensor, known: torch.Tensor,
                             generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                             margin: float = 1e-4) -> torch.Tensor:
    """Fill in the unknown pixels of ``x`` in raster order, recomputing each layer at one position per pixel.

    Returns the images :func:`~cnnlib.generative.sampling.complete_pixelcnn` returns for the same
    generator (see the module docstring for the precise statement), many times faster.

    Args:
        model (nn.Module): a model with ``start_cache`` and ``logits_at``
            (:class:`~cnnlib.generative.pixelcnn.PixelCNN`,
            :class:`~cnnlib.generative.gated.GatedPixelCNN`). Run in eval mode.
        x (Tensor[n, C, H, W]): images on the model's device; values of unknown pixels are ignored.
        known (Tensor[n, H, W] or Tensor[H, W]): bool, True where a pixel is given.
        generator (torch.Generator | None): the source of the uniforms.
        labels (Tensor[n] | None): classes, for a class-conditional model.
        margin (float): in ``[0, 1]``; a draw with ``u`` this close to a boundary of its
            distribution function is redone with a full forward pass (0: never, 1: always).

    Returns:
        Tensor[n, C, H, W]: the known pixels of ``x`` and sampled values elsewhere.

    Raises:
        TypeError / ValueError: for a model without the cache methods, ``margin`` outside
            ``[0, 1]``, and as :func:`~cnnlib.generative.sampling.complete_pixelcnn`.

    Example:
        >>> from cnnlib.generative import PixelCNN, complete_pixelcnn
        >>> net = PixelCNN(channels=8, num_layers=2)
        >>> x, known = torch.ones(3, 1, 6, 6), torch.rand(3, 6, 6) < 0.5
        >>> fast = complete_pixelcnn_cached(net, x, known, torch.Generator().manual_seed(0))
        >>> torch.equal(fast, complete_pixelcnn(net, x, known, torch.Generator().manual_seed(0)))
        True
    """
    _check_cached(model)
    margin = check_float(margin, "margin", 0.0, 1.0, low_inclusive=True, high_inclusive=True)
    x, known, u = prepare(model, x, known, generator)
    n, C, H, W = x.shape
    given = known.all(dim=0).flatten().tolist()                # per pixel: known in every image
    free = (~known.any(dim=0)).flatten().tolist()              # per pixel: unknown in every image
    with _eval_mode(model):
        cache = model.start_cache(x, labels)          # one full pass: exact for pixels before the first unknown
        image = cache.image                           # a view inside the cache: new pixels go here
        first = next((q for q, done in enumerate(given) if not done), H * W)   # the first pixel to draw
        for q in range(first, H * W):
            i, j = divmod(q, W)
            if given[q]:
                model.logits_at(cache, i, j)          # the pixel is given: only refresh the cache here
                continue
            todo = ~known[:, i, j]                                          # (n,)
            for c in range(C):
                values, near = draw(model.logits_at(cache, i, j)[:, c], u[:, c, i, j], margin)
                if bool(near.any()) and bool((near & todo).any()):  # too close to call in float: redo it exactly
                    exact = call(model, image.contiguous(), labels)      # what the naive sampler computes
                    values, _ = draw(pixel_logits(exact, c, i, j), u[:, c, i, j])
                image[:, c, i, j] = values if free[q] else torch.where(todo, values, image[:, c, i, j])
    return image.clone(memory_format=torch.contiguous_format)


def sample_pixelcnn_cached(model: nn.Module, n: int, shape: Sequence[int], generator: torch.Generator | None = None,
                           labels: torch.Tensor | None = None, margin: float = 1e-4) -> torch.Tensor:
    """Draw ``n`` images from a PixelCNN in raster order with the activation cache.

    The same images as :func:`~cnnlib.generative.sampling.sample_pixelcnn` for the same
    generator (see the module docstring), at about the cost of one forward pass per colour.

    Args:
        model (nn.Module): a :class:`~cnnlib.generative.pixelcnn.PixelCNN` or
            :class:`~cnnlib.generative.gated.GatedPixelCNN`.
        n (int): number of images.
        shape (tuple[int, int, int]): ``(C, H, W)``.
        generator (torch.Generator | None): the source of the uniforms.
        labels (Tensor[n] | None): classes, for a class-conditional model.
        margin (float): see :func:`complete_pixelcnn_cached`.

    Returns:
        Tensor[n, C, H, W]

    Raises:
        TypeError / ValueError: as :func:`complete_pixelcnn_cached` and for ``n`` or ``shape`` out of range.

    Example:
        >>> from cnnlib.generative import GatedPixelCNN, sample_pixelcnn
        >>> net = GatedPixelCNN(channels=8, num_layers=2, output="categorical", levels=4)
        >>> g = lambda: torch.Generator().manual_seed(0)
        >>> torch.equal(sample_pixelcnn_cached(net, 2, (1, 5, 5), g()), sample_pixelcnn(net, 2, (1, 5, 5), g()))
        True
    """
    x, known = zeros_to_sample(model, n, shape)
    return complete_pixelcnn_cached(model, x, known, generator, labels, margin)
