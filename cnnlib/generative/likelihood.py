"""Maximum likelihood for PixelCNN: negative log-likelihood in nats per image, bits per dimension.

A PixelCNN gives ``log p(x) = sum_i log p(x_i | x_<i)`` exactly, so it is trained by minimising
the negative log-likelihood of the training images, summed over pixels and colours. Per image it is
reported in **nats** (natural log), the unit of the binarised-MNIST literature (e.g. 81.3 nats for
the gated PixelCNN of van den Oord et al. 2016 on *stochastically* binarised MNIST); across image
sizes in **bits per dimension**, ``nll / (D ln 2)`` with ``D = C H W``: the average number of
bits an arithmetic coder driven by the model would need per sub-pixel (8 for uniform 8-bit
noise, 1 for uniform binary noise).

- Bernoulli (binary images): ``-log p(x_i) = BCE(logit_i, x_i)`` = ``softplus(-l)`` if
  ``x_i = 1`` else ``softplus(l)``.
- Categorical over ``L`` levels: ``-log softmax(logits_i)[k_i]`` with ``k_i = x_i (L - 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from cnnlib._checks import check_int, check_tensor

__all__ = ["bernoulli_nll", "categorical_nll", "pixelcnn_nll", "bits_per_dim", "pixelcnn_step"]


def _images(x: object, logits: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    check_tensor(x, "x", 4, "(N, C, H, W)")
    if tuple(x.shape) != shape:
        raise ValueError(f"x must have shape (N, C, H, W) = {shape} to match the logits {tuple(logits.shape)}, "
                         f"got {tuple(x.shape)}")
    if x.device != logits.device:
        raise ValueError(f"x must be on the device of the logits ({logits.device}), got {x.device}")
    return x


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood in nats of binary images under independent Bernoulli conditionals.

    Args:
        logits (Tensor[N, C, H, W]): the logit of ``p(x_i = 1 | x_<i)`` at each pixel and colour.
        x (Tensor[N, C, H, W]): the images, 0s and 1s (any dtype).

    Returns:
        Tensor[N]: ``-log p(x)`` of each image in nats (summed over ``C, H, W``).

    Raises:
        TypeError / ValueError: for tensors that are not 4-D, of other shapes or devices, or an
            ``x`` with values other than 0 and 1.

    Example:
        >>> bernoulli_nll(torch.zeros(1, 1, 2, 2), torch.tensor([[[[0, 1], [1, 1]]]]))  # 4 fair coins
        tensor([2.7726])
    """
    check_tensor(logits, "logits", 4, "(N, C, H, W)")
    x = _images(x, logits, tuple(logits.shape))
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError("x must hold only 0s and 1s for a Bernoulli likelihood (binarise the images first)")
    nll = F.binary_cross_entropy_with_logits(logits, x.to(logits.dtype), reduction="none")  # (N, C, H, W)
    return nll.flatten(1).sum(dim=1)


def categorical_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood in nats of images under categorical conditionals over ``L`` levels.

    Args:
        logits (Tensor[N, C, L, H, W]): ``L`` logits per pixel and colour.
        x (Tensor[N, C, H, W]): the images: floats with level ``k`` stored as ``k / (L - 1)``
            (as the PixelCNNs read and sample them), or integer levels in ``[0, L)``.

    Returns:
        Tensor[N]: ``-log p(x)`` of each image in nats.

    Raises:
        TypeError / ValueError: for tensors of other dimensions, shapes or devices, or an ``x``
            whose values are not levels.

    Example:
        >>> logits = torch.zeros(1, 1, 256, 2, 2)                        # uniform over 256 levels
        >>> x = torch.randint(0, 256, (1, 1, 2, 2))                     # integer levels
        >>> round(categorical_nll(logits, x).item() / (4 * math.log(2)), 4)  # bits per pixel
        8.0
    """
    check_tensor(logits, "logits", 5, "(N, C, L, H, W)")
    N, C, L, H, W = logits.shape
    x = _images(x, logits, (N, C, H, W))
    if x.is_floating_point():
        scaled = x * (L - 1)
        target = scaled.round()
        if not bool(((x >= 0) & (x <= 1) & ((scaled - target).abs() < 1e-3)).all()):
            raise ValueError(f"floating-point x must hold levels k / (L - 1) in [0, 1] (L = {L})")
        target = target.long()
    else:
        target = x.long()
        if len(target) and not bool(((target >= 0) & (target < L)).all()):
            raise ValueError(f"integer x must hold levels in [0, {L}), got values from {int(target.min())} "
                             f"to {int(target.max())}")
    nll = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")  # (N, L, C, H, W) -> (N, C, H, W)
    return nll.flatten(1).sum(dim=1)


def pixelcnn_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """:func:`bernoulli_nll` for 4-D logits, :func:`categorical_nll` for 5-D ones; nats per image.

    Example:
        >>> pixelcnn_nll(torch.zeros(2, 1, 3, 3), torch.ones(2, 1, 3, 3)).shape
        torch.Size([2])
    """
    if isinstance(logits, torch.Tensor) and logits.dim() == 5:
        return categorical_nll(logits, x)
    return bernoulli_nll(logits, x)


def bits_per_dim(nll_nats: float | torch.Tensor, num_dims: int) -> float:
    """Bits per dimension from a negative log-likelihood in nats: ``nll / (num_dims ln 2)``.

    Args:
        nll_nats (float | Tensor): ``-log p(x)`` of one image (or the mean over images) in nats;
            a number or a one-element tensor.
        num_dims (int): dimensions of one image, ``C H W`` (784 for a 28x28 grey digit).

    Returns:
        float

    Raises:
        TypeError: for a ``nll_nats`` that is not a number or a one-element tensor, or a
            non-int ``num_dims``.
        ValueError: for a non-finite ``nll_nats`` or ``num_dims < 1``.

    Example:
        >>> bits_per_dim(784 * math.log(2), 784)        # a fair coin per pixel: one bit each
        1.0
        >>> round(bits_per_dim(80.0, 784), 4)
        0.1472
    """
    if isinstance(nll_nats, torch.Tensor):
        if nll_nats.numel() != 1:
            raise TypeError(f"nll_nats must be a number or a one-element tensor, got shape {tuple(nll_nats.shape)}")
        nll_nats = nll_nats.item()
    if isinstance(nll_nats, bool) or not isinstance(nll_nats, (int, float)):
        raise TypeError(f"nll_nats must be a number or a one-element tensor, got {type(nll_nats).__name__}")
    if not math.isfinite(nll_nats):
        raise ValueError(f"nll_nats must be finite, got {nll_nats}")
    return float(nll_nats) / (check_int(num_dims, "num_dims") * math.log(2))


def pixelcnn_step(conditional: bool = False) -> Callable:
    """A maximum-likelihood step for :func:`cnnlib.train.fit`: mean NLL per image and bits per dimension.

    Args:
        conditional (bool): batches are ``(images, labels)`` and the model is called as
            ``model(images, labels)``; otherwise batches are ``(images, ...)`` or a tensor.

    Returns:
        Callable: ``step(model, batch, ctx) -> {"loss": mean nats per image, "bits_per_dim"}``;
        the engine averages both over the epoch weighted by batch size, i.e. exactly over images.

    Raises:
        TypeError: for a non-bool ``conditional``; in the step, for a batch without labels when
            they are needed.

    Example:
        >>> from cnnlib.generative import PixelCNN
        >>> out = pixelcnn_step()(PixelCNN(channels=8, num_layers=1), (torch.ones(2, 1, 4, 4),), None)
        >>> sorted(out), out["loss"].requires_grad
        (['bits_per_dim', 'loss'], True)
    """
    if not isinstance(conditional, bool):
        raise TypeError(f"conditional must be a bool, got {type(conditional).__name__}")

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        x = batch if isinstance(batch, torch.Tensor) else batch[0]
        if conditional:
            if isinstance(batch, torch.Tensor) or len(batch) < 2:
                raise TypeError("a conditional PixelCNN step needs batches (images, labels)")
            logits = model(x, batch[1])
        else:
            logits = model(x)
        nll = pixelcnn_nll(logits, x).mean()                                   # nats per image
        return {"loss": nll, "bits_per_dim": nll / (x[0].numel() * math.log(2))}

    return step
