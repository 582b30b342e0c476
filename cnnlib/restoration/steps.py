"""Training steps for :func:`cnnlib.train.fit`: supervised (CARE-style) and self-supervised (Noise2Void).

- :func:`supervised_denoising_step`: batches of ``(noisy, clean)`` pairs; the loss compares the
  restored image with the clean one. This is content-aware restoration (CARE; Weigert et al.,
  *Content-aware image restoration*, Nature Methods 2018) and DnCNN's training: it needs clean
  targets, and it restores well only what looks like its training data. With the mean squared
  error the network learns the posterior MEAN of the clean image given the noisy one (the MMSE
  estimate), which is why its outputs are smooth where the noise hides detail.
- :func:`noise2void_step`: batches of noisy images only; each batch is masked by
  :func:`~cnnlib.restoration.blind_spot_mask` and the loss is :func:`~cnnlib.restoration.masked_mse`
  between the output on the masked input and the original noisy values at the masked pixels
  (Krull et al. 2019).

Both return a dict of scalars; ``fit`` back-propagates ``"loss"`` and averages the rest.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnlib._checks import check_float, check_int
from cnnlib.restoration.metrics import psnr
from cnnlib.restoration.noise2void import blind_spot_mask, masked_mse

__all__ = ["supervised_denoising_step", "noise2void_step"]


def _images(batch: object) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(noisy, clean or None)`` from a tensor or a tuple/list batch."""
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0], batch[1] if len(batch) > 1 else None
    raise TypeError(f"a batch must be a Tensor (N, C, H, W) or a tuple (noisy, clean), got {type(batch).__name__}")


def supervised_denoising_step(loss_fn: Callable | None = None, data_range: float = 1.0) -> Callable:
    """A step for ``(noisy, clean)`` batches: the restoration loss and the PSNR of the output.

    Args:
        loss_fn (Callable | None): ``loss_fn(restored, clean)``; default ``nn.MSELoss()``
            (``nn.L1Loss()`` is CARE's other choice: it learns the posterior median).
        data_range (float): the value range for the PSNR, ``> 0``.

    Returns:
        Callable: ``step(model, (noisy, clean), ctx) -> {"loss": ..., "psnr": ...}``, the PSNR in
        dB averaged over the images of the batch (no gradient).

    Raises:
        TypeError: (when called) for a batch without clean images.

    Example:
        >>> noisy, clean = torch.full((2, 1, 4, 4), 0.6), torch.full((2, 1, 4, 4), 0.5)
        >>> out = supervised_denoising_step()(nn.Identity(), (noisy, clean), None)
        >>> round(out["loss"].item(), 6), round(out["psnr"].item(), 3)
        (0.01, 20.0)
    """
    loss_fn = loss_fn or nn.MSELoss()
    data_range = check_float(data_range, "data_range", 0.0)

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        noisy, clean = _images(batch)
        if clean is None:
            raise TypeError("supervised_denoising_step needs (noisy, clean) batches; for noisy images "
                            "alone use noise2void_step")
        restored = model(noisy)
        return {"loss": loss_fn(restored, clean), "psnr": psnr(restored.detach(), clean, data_range)}

    return step


def noise2void_step(ratio: float = 0.02, window: int = 5, seed: int = 0, data_range: float = 1.0) -> Callable:
    """A Noise2Void step: mask the noisy batch, predict, take the MSE at the masked pixels only.

    The step owns a ``torch.Generator`` seeded with ``seed`` (on the CPU), so two steps built
    with the same seed draw the same masks in the same order. A batch may be the noisy images
    alone (what N2V trains on) or ``(noisy, clean)``: then the clean images are NOT used for the
    loss, only to report the PSNR of the unmasked prediction ``model(noisy)`` (an extra forward
    pass without gradient), which lets validation data measure what training cannot see.

    Args:
        ratio (float): fraction of pixels masked per image, in (0, 1) (N2V used 0.2% on
            64x64 patches; more masked pixels give more loss terms per batch).
        window (int): neighbourhood from which the replacement values come (odd, ``>= 3``).
        seed (int): seed of the step's mask generator, ``>= 0``.
        data_range (float): the value range for the PSNR, ``> 0``.

    Returns:
        Callable: ``step(model, batch, ctx) -> {"loss": ...}`` plus ``"psnr"`` when the batch has
        clean images.

    Raises:
        TypeError / ValueError: for arguments out of range (checked here, before training).

    Example:
        >>> step = noise2void_step(ratio=0.25, seed=0)
        >>> out = step(nn.Identity(), torch.rand(2, 1, 8, 8), None)  # identity: error only where masked
        >>> sorted(out), out["loss"].item() > 0
        (['loss'], True)
    """
    ratio = check_float(ratio, "ratio", 0.0, 1.0)
    window = check_int(window, "window", 3)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    data_range = check_float(data_range, "data_range", 0.0)

    def step(model: nn.Module, batch, ctx) -> dict[str, torch.Tensor]:
        noisy, clean = _images(batch)
        masked, mask = blind_spot_mask(noisy, ratio, generator, window)
        out = {"loss": masked_mse(model(masked), noisy, mask)}
        if clean is not None:
            with torch.no_grad():
                out["psnr"] = psnr(model(noisy), clean, data_range)
        return out

    return step
