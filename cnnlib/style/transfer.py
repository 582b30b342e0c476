"""Neural style transfer: optimise the pixels of an image to match content and style features.

Gatys, Ecker and Bethge (2015), seed 001: start from noise (or from the content photo) and
minimise, by gradient descent on the image ``G`` itself with the network fixed,

    J(G) = alpha J_content(C, G) + beta J_style(S, G) + tv_weight TV(G).

Features come from any ``nn.Module`` through :func:`cnnlib.interpret.feature_maps` with
``detach=False`` (hooks that keep the graph back to the image): the feature network can be the
download-free :class:`~cnnlib.style.RandomTextureNet` or a small network trained in the book.
With no content image (``content=None``) it is texture synthesis: the style cost alone.

Two optimisers: L-BFGS (Gatys et al.'s choice: few, expensive, well-directed steps; here with a
strong-Wolfe line search, one L-BFGS iteration per step) and Adam (cheap steps, needs a learning
rate). After each step the pixels are clipped to [0, 1] (``clamp=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from cnnlib._checks import check_choice, check_float, check_generator, check_int
from cnnlib.interpret.features import feature_maps
from cnnlib.style.costs import content_cost, gram_matrix, total_variation_loss

__all__ = ["style_transfer", "OPTIMIZERS"]

#: The optimisers :func:`style_transfer` accepts.
OPTIMIZERS = ("lbfgs", "adam")


def _image(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4) or not x.is_floating_point() or (
            x.dim() == 4 and len(x) != 1):
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be one float image (C, H, W) or (1, C, H, W), got {got}")
    return (x[None] if x.dim() == 3 else x).detach()


def _names(layers: Sequence[str] | str, name: str) -> list[str]:
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not all(isinstance(n, str) for n in layers):
        raise TypeError(f"{name} must be layer names from model.named_modules(), got {layers!r}")
    return layers


def style_transfer(model: nn.Module, content: torch.Tensor | None, style: torch.Tensor,
                   content_layers: Sequence[str] | str, style_layers: Sequence[str] | str, *,
                   alpha: float = 1.0, beta: float = 1e3, style_weights: Mapping[str, float] | None = None,
                   tv_weight: float = 0.0, init: str | torch.Tensor = "content", optimizer: str = "lbfgs",
                   steps: int = 100, lr: float | None = None, clamp: bool = True,
                   generator: torch.Generator | None = None,
                   callback: Callable[[int, torch.Tensor], None] | None = None,
                   ) -> tuple[torch.Tensor, dict[str, list[float]]]:
    """Minimise ``alpha J_content + beta J_style + tv_weight TV`` over the pixels of an image.

    Args:
        model (nn.Module): the feature network (run in eval mode; its weights are not changed).
        content (Tensor[1, C, H, W] | Tensor[C, H, W] | None): the content photo; ``None`` for
            texture synthesis (then ``content_layers`` must be empty and ``init`` not ``"content"``).
        style (Tensor[1, C, H', W'] | Tensor[C, H', W']): the style image (any size).
        content_layers (Sequence[str] | str): layer names whose activations :func:`content_cost` compares.
        style_layers (Sequence[str] | str): layer names whose Gram matrices are matched.
        alpha (float): content weight (>= 0).
        beta (float): style weight (>= 0).
        style_weights (Mapping[str, float] | None): ``lambda_l``; default ``1 / L`` each.
        tv_weight (float): total-variation weight (>= 0).
        init (str | Tensor): ``"content"``, ``"noise"`` (uniform in [0, 1], the content's size,
            or the style's for texture synthesis) or an image to start from.
        optimizer (str): ``"lbfgs"`` or ``"adam"``.
        steps (int): optimisation steps (L-BFGS iterations or Adam steps, >= 1).
        lr (float | None): learning rate; default 1 for L-BFGS (line search), 0.02 for Adam.
        clamp (bool): clip the pixels to [0, 1] after each step.
        generator (torch.Generator | None): for ``init="noise"`` (default: seeded 0), on the CPU.
        callback (Callable | None): called as ``callback(step, image)`` after each step.

    Returns:
        tuple: the image ``Tensor[1, C, H, W]`` (detached) and the history ``{"total",
        "content", "style", "tv"}``: lists of ``steps + 1`` costs, before each step and at the end
        (``"content"`` and ``"style"`` unweighted).

    Raises:
        ValueError, TypeError: for bad images, unknown layers or settings.

    Example:
        >>> from cnnlib.style.random_net import RandomTextureNet
        >>> net = RandomTextureNet(kernel_sizes=(3, 5), channels=8)
        >>> g = torch.Generator().manual_seed(0)
        >>> content, style = torch.rand(3, 16, 16, generator=g), torch.rand(3, 16, 16, generator=g)
        >>> image, h = style_transfer(net, content, style, "branches.k3", ["branches.k3", "branches.k5"],
        ...                           beta=1e4, optimizer="adam", steps=20, lr=0.05)
        >>> tuple(image.shape), len(h["style"]), h["style"][-1] < h["style"][0]
        ((1, 3, 16, 16), 21, True)
    """
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    check_int(steps, "steps")
    for name, value in (("alpha", alpha), ("beta", beta), ("tv_weight", tv_weight)):
        check_float(value, name, 0.0, low_inclusive=True)
    s_img = _image(style, "style")
    c_img = None if content is None else _image(content, "content")
    c_layers, s_layers = _names(content_layers, "content_layers"), _names(style_layers, "style_layers")
    if not s_layers:
        raise ValueError("style_layers must name at least one layer")
    if c_img is None and (c_layers or isinstance(init, str) and init == "content"):
        raise ValueError("texture synthesis (content=None) needs content_layers=[] and init='noise' or an image")
    weights = {n: 1 / len(s_layers) for n in s_layers} if style_weights is None else dict(style_weights)
    if set(weights) != set(s_layers):
        raise ValueError(f"style_weights must give lambda for exactly the style layers {s_layers}, got {list(weights)}")
    with torch.no_grad():
        s_grams = {n: gram_matrix(a) for n, a in feature_maps(model, s_img, s_layers).items()}
        c_feats = feature_maps(model, c_img, c_layers) if c_layers else {}
    ref = c_img if c_img is not None else s_img
    if isinstance(init, torch.Tensor):
        start = _image(init, "init").to(ref.dtype)
    elif check_choice(init, "init", ("content", "noise")) == "content":
        start = c_img
    else:
        gen = check_generator(generator) or torch.Generator().manual_seed(0)
        start = torch.rand(ref.shape, generator=gen, dtype=ref.dtype).to(ref.device)
    img = start.clone().requires_grad_(True)

    def costs() -> dict[str, torch.Tensor]:
        feats = feature_maps(model, img, c_layers + [n for n in s_layers if n not in c_layers], detach=False)
        jc = sum(content_cost(c_feats[n], feats[n]) for n in c_layers) if c_layers else img.new_zeros(())
        js = sum(weights[n] * 0.25 * (s_grams[n] - gram_matrix(feats[n])).pow(2).sum() for n in s_layers)
        tv = total_variation_loss(img) if tv_weight > 0 else img.new_zeros(())
        return {"total": alpha * jc + beta * js + tv_weight * tv, "content": jc, "style": js, "tv": tv}

    history: dict[str, list[float]] = {k: [] for k in ("total", "content", "style", "tv")}
    if optimizer == "lbfgs":
        # one iteration per step, with room for the line search (max_eval: by default 1 with max_iter=1,
        # which leaves it no evaluation); tiny tolerances, as the costs' scale is arbitrary
        opt = torch.optim.LBFGS([img], lr=1.0 if lr is None else lr, max_iter=1, max_eval=25,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-30, tolerance_change=1e-30)
    else:
        opt = torch.optim.Adam([img], lr=0.02 if lr is None else lr)
    for k in range(steps):
        first = []

        def closure() -> torch.Tensor:
            out = costs()
            if not first:  # the costs at the point this step starts from
                first.append({n: v.item() for n, v in out.items()})
            img.grad = torch.autograd.grad(out["total"], img)[0]  # no gradient into the network's weights
            return out["total"].detach()

        opt.step(closure)
        for n, v in first[0].items():
            history[n].append(v)
        if clamp:
            with torch.no_grad():
                img.clamp_(0, 1)
        if callback is not None:
            callback(k, img.detach())
    with torch.no_grad():
        for n, v in costs().items():
            history[n].append(v.item())
    return img.detach(), history
