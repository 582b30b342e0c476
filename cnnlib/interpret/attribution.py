"""Attribution: which pixels or which regions of an image a class score rests on.

- :func:`saliency`: ``max_c |d score_t / d x_c|`` (Simonyan et al., *Deep Inside Convolutional
  Networks*, 2014).
- :func:`grad_cam`: ``ReLU(sum_k alpha_k A^k)`` with ``alpha_k`` the spatial mean of
  ``d y^c / d A^k`` and ``y^c`` the class score before the softmax (Selvaraju et al.,
  *Grad-CAM*, 2017; seed 003).

Both run the model in eval mode (dropout off, batch norm on its running statistics: the
explanation of one image must not depend on the rest of the batch), then restore the mode of
each module, remove their hooks even when the forward raises, and leave no ``.grad`` behind.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.interpret._common import _check_model, _eval_mode, _images

__all__ = ["saliency", "grad_cam"]


def _scores(out: object, n: int) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != n:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"model must return class scores of shape (N={n}, num_classes), got {got}")
    return out


def _targets(target: object, n: int, num_classes: int, name: str) -> torch.Tensor:
    """Class indices ``(N,)`` from an int or an integer tensor of ``N`` (or one) entries."""
    if isinstance(target, torch.Tensor) and not target.is_floating_point() and target.dtype != torch.bool:
        if target.numel() not in (1, n) or target.dim() > 1:
            raise ValueError(f"{name} must be an int or a Tensor[N={n}], got shape {tuple(target.shape)}")
        t = target.reshape(-1).long().cpu().expand(n)
    elif isinstance(target, int) and not isinstance(target, bool):
        t = torch.full((n,), target, dtype=torch.long)
    else:
        raise TypeError(f"{name} must be an int or an integer Tensor[N], "
                        f"got {type(target).__name__} {target!r}")
    if n and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}) (the model's classes), got {t.tolist()}")
    return t


def saliency(model: nn.Module, x: torch.Tensor, target: int | torch.Tensor) -> torch.Tensor:
    """Vanilla gradient saliency map: ``M_ij = max_c |d S_t(x) / d x_cij|`` (Simonyan et al., 2014).

    ``S_t`` is the class score of ``target`` before the softmax. One backward pass through the
    sum of the batch's scores gives every image's gradient, as images do not interact in eval mode.

    Args:
        model (nn.Module): returns class scores ``(N, num_classes)``.
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): images; their ``.grad`` is not touched.
        target (int | Tensor[N]): class per image (one int for all).

    Returns:
        Tensor[N, H, W] (or Tensor[H, W] for one image): non-negative, detached, dtype of ``x``.

    Raises:
        TypeError, ValueError: for a wrong model, shape or target (out of range, wrong length).

    Example:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
        >>> with torch.no_grad(): _ = net[1].weight.copy_(torch.tensor([[1., -2, 0, 3], [0, 0, 0, 0]]))
        >>> saliency(net, torch.zeros(2, 1, 2), 0)  # linear model: |w|, the larger of the 2 channels
        tensor([[1., 3.]])
    """
    _check_model(model)
    xb, single = _images(x)
    xb = xb.clone().requires_grad_(True)
    with _eval_mode(model), torch.enable_grad():
        scores = _scores(model(xb), len(xb))
        t = _targets(target, len(xb), scores.shape[1], "target").to(scores.device)
        (grad,) = torch.autograd.grad(scores.gather(1, t[:, None]).sum(), xb)  # (N, C, H, W)
    out = grad.abs().amax(dim=1)  # (N, H, W)
    return out[0] if single else out


def grad_cam(
    model: nn.Module, x: torch.Tensor, target_class: int | torch.Tensor, layer: nn.Module
) -> torch.Tensor:
    """Grad-CAM heat map of ``target_class`` at ``layer`` (Selvaraju et al., 2017; seed 003).

    With ``A^k`` the ``K`` maps ``(h, w)`` that ``layer`` outputs and ``y^c`` the class score
    BEFORE the softmax: ``alpha_k = 1/(h w) sum_ij d y^c / d A^k_ij``, then
    ``L = ReLU(sum_k alpha_k A^k)`` (the ReLU keeps only evidence FOR the class), upsampled
    bilinearly to the input's ``H x W`` and divided by its maximum per image (an all-zero map
    stays zero). The gradient stops at ``layer``: nothing before it is differentiated.

    Args:
        model (nn.Module): returns class scores ``(N, num_classes)``.
        x (Tensor[N, C, H, W] or Tensor[C, H, W]): images.
        target_class (int | Tensor[N]): class per image (one int for all).
        layer (nn.Module): a submodule of ``model`` that runs once and outputs ``(N, K, h, w)``,
            usually the last convolutional stage.

    Returns:
        Tensor[N, H, W] (or Tensor[H, W] for one image): values in [0, 1], detached.

    Raises:
        TypeError: for a non-module model or layer, a non-tensor ``x`` or a bad ``target_class``.
        ValueError: for a layer outside ``model``, wrong shapes, a class out of range, a layer
            that does not run exactly once or whose output does not reach the score.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                     nn.Flatten(), nn.Linear(2, 3))
        >>> cam = grad_cam(net, torch.rand(1, 8, 8), target_class=2, layer=net[1])
        >>> tuple(cam.shape), bool(cam.min() >= 0 and cam.max() <= 1)
        ((8, 8), True)
    """
    _check_model(model, [layer])
    xb, single = _images(x)
    N, _, H, W = xb.shape
    maps: list[torch.Tensor] = []

    def hook(module, args, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"layer must output feature maps (N, K, h, w), got {got}")
        maps.append(output.detach().requires_grad_(True))  # A: a leaf, so d y / d A is all we compute
        return maps[-1].clone()  # the rest of the network sees a copy (in-place ops cannot touch A)

    handle = layer.register_forward_hook(hook)
    try:
        with _eval_mode(model), torch.enable_grad():
            scores = _scores(model(xb), N)
            t = _targets(target_class, N, scores.shape[1], "target_class").to(scores.device)
            y = scores.gather(1, t[:, None]).sum()  # sum_n y^{c_n}: images do not interact in eval mode
    finally:
        handle.remove()
    if len(maps) != 1:
        raise ValueError(f"layer ran {len(maps)} times in one forward pass; Grad-CAM needs one that runs once")
    A = maps[0]  # (N, K, h, w)
    (dA,) = torch.autograd.grad(y, A, allow_unused=True)
    if dA is None:
        raise ValueError("the class score does not depend on layer's output; choose a layer on its path")
    alpha = dA.mean(dim=(2, 3))  # (N, K)
    cam = F.relu((alpha[:, :, None, None] * A.detach()).sum(dim=1))  # (N, h, w)
    cam = F.interpolate(cam[:, None], size=(H, W), mode="bilinear", align_corners=False)[:, 0]  # (N, H, W)
    peak = cam.flatten(1).amax(dim=1)[:, None, None] if N else cam.new_ones(0, 1, 1)  # (N, 1, 1)
    cam = cam / torch.where(peak > 0, peak, torch.ones_like(peak))
    return cam[0] if single else cam
