"""Noise2Void: learning to denoise from noisy images alone, by hiding pixels from the network.

Krull, Buchholz & Jug, *Noise2Void - learning denoising from single noisy images*, CVPR 2019.

A noisy pixel is ``y_i = s_i + n_i``. If the noise is zero-mean and independent from pixel to
pixel given the signal, the best prediction of ``y_i`` from its NEIGHBOURS alone is
``E[y_i | neighbours] = E[s_i | neighbours]``: the neighbours carry information about the signal
(images are smooth, textures repeat) but none about ``n_i``. So a network that cannot see pixel
``i`` itself (a *blind spot*) and is trained to predict the noisy ``y_i`` learns to predict the
signal; clean targets are never needed. The paper builds the blind spot by masking: in each
training patch a few pixels are chosen, their input value is replaced by a random neighbour's,
and the loss compares the output to the ORIGINAL noisy value at those pixels only (eq. 6-7).

:func:`blind_spot_mask` does the masking, :func:`masked_mse` the loss; the training step is
:func:`cnnlib.restoration.noise2void_step`. Where the noise of neighbouring pixels is correlated
(:func:`cnnlib.restoration.add_correlated_noise`), the neighbours do predict ``n_i``, and the
network learns to keep the noise: the assumption, not the method, breaks.
"""

from __future__ import annotations

import math

import torch

from cnnlib._checks import check_float, check_generator, check_int, check_tensor

__all__ = ["blind_spot_mask", "masked_mse"]


def _cells(n: int, side: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Starts and sizes of the grid cells along one axis of length ``n`` (cells of ``side`` pixels).

    Cell ``i`` covers the pixels ``floor(i side) .. floor((i + 1) side) - 1``; the last cell may
    reach past ``n`` (a point drawn there is dropped, as in N2V, so the expected count is
    ``n / side``).
    """
    count = math.ceil(n / side - 1e-9)
    edges = torch.tensor([math.floor(i * side + 1e-9) for i in range(count + 1)])
    return edges[:-1], edges[1:] - edges[:-1]


def blind_spot_mask(x: torch.Tensor, ratio: float, generator: torch.Generator,
                    window: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose about ``ratio * H * W`` pixels per image and channel; replace each by a random neighbour.

    The pixels are STRATIFIED as in N2V: the image is cut into a grid of square cells of side
    ``s = 1 / sqrt(ratio)`` pixels (cell edges at ``floor(i s)``) and one pixel is drawn
    uniformly in each cell, so the chosen pixels cover the image evenly and never crowd each other
    (a point drawn in the part of a last cell that lies outside the image is dropped). Each
    channel of each image gets its own draw, as in the authors' ``n2v`` package.

    Each chosen pixel's input value is replaced by the value of a pixel drawn uniformly among the
    OTHER pixels of its ``window x window`` neighbourhood, in the same channel. Near the border
    the neighbourhood is cut at the image edge, so the source is always a real pixel and never the
    pixel itself (the authors' default ``uniform_withCP`` may pick the centre, which leaks the
    target into the input; here it never does). All other values are copied unchanged.

    Args:
        x (Tensor[N, C, H, W]): noisy images, floating point, at least 2 pixels each.
        ratio (float): fraction of pixels to mask, in (0, 1); the realised fraction is about
            ``ratio`` (N2V's default is 0.2%).
        generator (torch.Generator): the random source (required, so masks are reproducible);
            draws happen on its device, so a seed gives the same mask on any device.
        window (int): side of the neighbourhood the replacement comes from, odd, ``>= 3``.

    Returns:
        tuple[Tensor[N, C, H, W], Tensor[N, C, H, W]]: ``(masked_input, mask)``: ``x`` with the
        chosen values replaced (a new tensor, differentiable with respect to ``x``), and a bool
        mask, True at the chosen pixels; both on ``x``'s device.

    Raises:
        TypeError: if ``x`` is not a floating-point tensor or ``generator`` not a generator.
        ValueError: if ``x`` is not 4-D or has a single pixel, ``ratio`` is not in (0, 1), or
            ``window`` is not odd and ``>= 3``.

    Example:
        >>> x = torch.arange(64.).view(1, 1, 8, 8)
        >>> masked, mask = blind_spot_mask(x, 1 / 16, torch.Generator().manual_seed(0))
        >>> int(mask.sum()), int(mask.view(2, 4, 2, 4).sum(dim=(1, 3)).max())  # one per 4x4 cell
        (4, 1)
        >>> bool((masked[~mask] == x[~mask]).all()), bool((masked[mask] != x[mask]).all())
        (True, True)
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    ratio = check_float(ratio, "ratio", 0.0, 1.0)
    generator = check_generator(generator, optional=False)
    window = check_int(window, "window", 3)
    if window % 2 == 0:
        raise ValueError(f"window must be odd (the pixel sits at its centre), got {window}")
    N, C, H, W = x.shape
    if H * W < 2:
        raise ValueError(f"x must have at least 2 pixels per image to replace one by another, got {H}x{W}")
    side = 1.0 / math.sqrt(ratio)
    dev = generator.device
    top, height = (t.to(dev) for t in _cells(H, side))  # (nh,)
    left, width = (t.to(dev) for t in _cells(W, side))  # (nw,)
    shape = (N, C, len(top), len(left))
    uy = torch.rand(shape, generator=generator, device=dev, dtype=torch.float64)
    ux = torch.rand(shape, generator=generator, device=dev, dtype=torch.float64)
    uk = torch.rand(shape, generator=generator, device=dev, dtype=torch.float64)
    ys = top[:, None] + (uy * height[:, None]).long()  # (N, C, nh, nw): one pixel per cell
    xs = left[None, :] + (ux * width[None, :]).long()
    inside = (ys < H) & (xs < W)
    n, c, _, _ = inside.nonzero(as_tuple=True)  # (K,) each
    ys, xs, uk = ys[inside], xs[inside], uk[inside]  # (K,)

    # the neighbourhood, cut at the border: rows lo_y..hi_y, columns lo_x..hi_x
    r = window // 2
    lo_y, lo_x = (ys - r).clamp(min=0), (xs - r).clamp(min=0)
    rows = (ys + r).clamp(max=H - 1) - lo_y + 1
    cols = (xs + r).clamp(max=W - 1) - lo_x + 1
    k = (uk * (rows * cols - 1)).long().clamp(max=rows * cols - 2)  # one of the others, 0-based
    centre = (ys - lo_y) * cols + (xs - lo_x)
    k = k + (k >= centre).long()  # skip the pixel itself
    sy, sx = lo_y + k // cols, lo_x + k % cols

    n, c, ys, xs, sy, sx = (t.to(x.device) for t in (n, c, ys, xs, sy, sx))
    masked = x.clone()
    masked[n, c, ys, xs] = x[n, c, sy, sx]
    mask = torch.zeros(x.shape, dtype=torch.bool, device=x.device)
    mask[n, c, ys, xs] = True
    return masked, mask


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked entries only: the Noise2Void loss (Krull et al. 2019, eq. 7).

    ``sum(mask * (prediction - target)^2) / sum(mask)``; the unmasked outputs get no gradient.
    With an empty mask the loss is 0 (still connected to the graph, so ``backward`` works).

    Args:
        prediction (Tensor[N, C, H, W]): the network's output on the masked input.
        target (Tensor[N, C, H, W]): the ORIGINAL noisy images.
        mask (Tensor[N, C, H, W] or Tensor[N, 1, H, W]): bool, True where the loss is taken.

    Returns:
        Tensor[]: the loss, a scalar.

    Raises:
        TypeError: if ``mask`` is not a bool tensor.
        ValueError: if the shapes do not match.

    Example:
        >>> p, t = torch.tensor([[[[1., 5.]]]]), torch.tensor([[[[0., 0.]]]])
        >>> masked_mse(p, t, torch.tensor([[[[True, False]]]])).item()
        1.0
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
    check_tensor(prediction, "prediction", 4, "(N, C, H, W)")
    if prediction.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape, got {tuple(prediction.shape)} "
                         f"and {tuple(target.shape)}")
    N, C, H, W = prediction.shape
    if mask.shape not in ((N, C, H, W), (N, 1, H, W)):
        raise ValueError(f"mask must have shape {(N, C, H, W)} or {(N, 1, H, W)}, got {tuple(mask.shape)}")
    mask = mask.expand_as(prediction)
    squared = torch.where(mask, prediction - target, torch.zeros_like(prediction)).pow(2)
    return squared.sum() / mask.sum().clamp(min=1)
