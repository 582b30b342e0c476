"""Looking inside a CNN: feature maps, the patches that excite a unit, saliency and Grad-CAM.

- :func:`feature_maps`: what named layers compute for an image (forward hooks).
- :func:`top_k_patches`: the ``k`` input patches that most excite one channel of a layer, each
  unit traced back to its receptive field (Zeiler & Fergus, *Visualizing and Understanding
  Convolutional Networks*, 2014; seed 001: "the nine image patches that maximize the unit's
  activation"); :func:`layer_receptive_field` does the tracing.
- :func:`saliency`: ``max_c |d score_t / d x_c|`` (Simonyan et al., *Deep Inside Convolutional
  Networks*, 2014).
- :func:`grad_cam`: ``ReLU(sum_k alpha_k A^k)`` with ``alpha_k`` the spatial mean of
  ``d y^c / d A^k`` and ``y^c`` the class score before the softmax (Selvaraju et al.,
  *Grad-CAM*, 2017; seed 003).

Every function runs the model in eval mode (dropout off, batch norm on its running statistics:
the explanation of one image must not depend on the rest of the batch), then restores the mode
of each module, removes its hooks even when the forward raises, and leaves no ``.grad`` behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.ops.receptive_field import RF

__all__ = ["feature_maps", "saliency", "grad_cam", "layer_receptive_field", "top_k_patches", "TopPatches"]


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode; restore every submodule's own ``training`` flag afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def _check_model(model: object, layers: Sequence[object] = ()) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    for layer in layers:
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be an nn.Module inside model, got {type(layer).__name__}")
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a submodule of model {type(model).__name__}")


def _images(x: object, name: str = "x", allow_single: bool = True) -> tuple[torch.Tensor, bool]:
    """``(x as (N, C, H, W) detached, whether x was one (C, H, W) image)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    dims = (3, 4) if allow_single else (4,)
    if x.dim() not in dims or not x.is_floating_point():
        shapes = "(C, H, W) or (N, C, H, W)" if allow_single else "(N, C, H, W)"
        raise ValueError(f"{name} must be a floating-point tensor of shape {shapes}, "
                         f"got {x.dtype} {tuple(x.shape)}")
    return (x[None] if x.dim() == 3 else x).detach(), x.dim() == 3


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


def _capture(model: nn.Module, x: torch.Tensor, layers: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    """Run ``model(x)`` without gradients and return the output of each named layer."""
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in layers}

    def make_hook(name: str):
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {name!r} returned {type(output).__name__}, expected a tensor")
            seen[name].append(output.detach().clone())
        return hook

    handles = [m.register_forward_hook(make_hook(name)) for name, m in layers.items()]
    try:
        with _eval_mode(model), torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    for name, outs in seen.items():
        if len(outs) != 1:
            raise ValueError(f"layer {name!r} ran {len(outs)} times in one forward pass; "
                             "choose a module that runs exactly once (not a shared one)")
    return {name: outs[0] for name, outs in seen.items()}


def feature_maps(model: nn.Module, x: torch.Tensor, layers: str | Sequence[str]) -> dict[str, torch.Tensor]:
    """Activations of named layers for a batch, recorded with forward hooks (seed 004).

    Args:
        model (nn.Module): the network (run in eval mode, its modes restored afterwards).
        x (Tensor[N, C, H, W]): input images.
        layers (str | Sequence[str]): names from ``model.named_modules()``, e.g. ``"0"`` or
            ``"features.3"``.

    Returns:
        dict[str, Tensor]: layer name -> its output (detached), in the order asked.

    Raises:
        TypeError: for a model that is not an ``nn.Module`` or a non-tensor ``x``.
        ValueError: for an unknown layer name, a wrong shape, or a layer that ran twice.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
        >>> {k: tuple(v.shape) for k, v in feature_maps(net, torch.randn(2, 1, 8, 8), ["0", "2"]).items()}
        {'0': (2, 4, 6, 6), '2': (2, 4, 3, 3)}
    """
    _check_model(model)
    xb, _ = _images(x, allow_single=False)
    names = [layers] if isinstance(layers, str) else list(layers)
    modules = dict(model.named_modules())
    for name in names:
        if not isinstance(name, str) or name not in modules:
            raise ValueError(f"layers must name modules of model (see model.named_modules(): "
                             f"{[n for n in modules if n][:8]}...), got {name!r}")
    return _capture(model, xb, {name: modules[name] for name in names})


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


_CONV_POOL = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
_UNSUPPORTED = (nn.ConvTranspose2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Upsample, nn.LPPool2d,
                nn.Fold)


def _spec(m: nn.Module, axis: int) -> tuple[int, int, int, int]:
    """``(kernel, stride, dilation, padding before)`` of a conv/pool module along one axis."""
    def pick(v):
        return int(v[axis] if isinstance(v, (tuple, list)) else v)
    k = pick(m.kernel_size)
    s = pick(m.stride) if m.stride is not None else k
    d = pick(getattr(m, "dilation", 1))
    p = m.padding
    if isinstance(p, str):  # "valid" or "same" (PyTorch puts the odd pixel after)
        return k, s, d, 0 if p == "valid" else d * (k - 1) // 2
    return k, s, d, pick(p)


def _parents(node, known: dict) -> list:
    """The recorded grad nodes that ``node`` reaches through unrecorded (elementwise) operations."""
    found, stack, seen = [], [node], set()
    while stack:
        f = stack.pop()
        if f is None or f in seen:
            continue
        seen.add(f)
        if f in known:
            found.append(known[f])
        else:
            stack.extend(g for g, _ in f.next_functions)
    return found


def _union(rfs: list[RF], where: str) -> RF:
    """The receptive field of a sum/concatenation of maps: the union of the intervals per unit."""
    if len({r.jump for r in rfs}) != 1:
        raise ValueError(f"maps with different strides meet at {where}; pass rf=(rf_h, rf_w) yourself")
    lo = min(r.start - (r.size - 1) / 2 for r in rfs)
    hi = max(r.start + (r.size - 1) / 2 for r in rfs)
    return RF(int(round(hi - lo)) + 1, rfs[0].jump, (lo + hi) / 2)


def layer_receptive_field(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[RF, RF]:
    """Receptive field of the units of ``layer`` along the height and the width of the input.

    Runs ``model(x[:1])`` once with hooks on every ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d``,
    then walks the autograd graph: each such module's input is traced back through the
    operations between modules (ReLU, batch norm, sums, concatenations: all pointwise in space)
    to the modules that produced it, whose receptive fields it unites; the module then grows it
    by ``r += d (f - 1) j``, ``start += (d (f - 1) / 2 - p) j``, ``j *= s`` (the formula of
    :func:`cnnlib.ops.receptive_field`; Araujo et al., 2019). Chains, residual blocks and
    Inception-style branches are all handled. Unit ``(u, v)`` sees the input rows
    ``u * jump + start - (size - 1) / 2`` up to ``+ size - 1`` (and likewise the columns).

    Args:
        model (nn.Module): the network; spatial operations must be modules (not ``F.`` calls).
        layer (nn.Module): a submodule of ``model`` that outputs ``(N, K, h, w)``.
        x (Tensor[N, C, H, W]): a probe input (only the first image is used).

    Returns:
        tuple[RF, RF]: ``(rf_h, rf_w)``.

    Raises:
        ValueError: if layer does not run, its output is not a map, its output does not depend on
            the input, a module cannot be traced (transposed convolution, adaptive pooling,
            upsampling) or a spatial operation outside a module changes a map's size; then pass
            ``rf`` to :func:`top_k_patches` yourself.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        ...                     nn.Conv2d(2, 2, 3, padding=1))
        >>> layer_receptive_field(net, net[3], torch.zeros(1, 1, 16, 16))[0]
        RF(size=8, jump=2, start=0.5)
    """
    _check_model(model, [layer])
    xb, _ = _images(x, allow_single=False)
    if len(xb) == 0:
        raise ValueError("x must hold at least one image to probe the model with")
    x0 = xb[:1].clone().requires_grad_(True) * 1.0  # not a leaf: its grad node stands for "the input"
    runs: list[tuple[nn.Module, object, object, tuple]] = []  # (module, input node, output node, in/out sizes)
    result: dict[str, object] = {}

    def hook(module, args, output):
        if "out" in result:
            return
        if isinstance(module, _CONV_POOL + _UNSUPPORTED):
            o = output[0] if isinstance(output, tuple) else output  # MaxPool2d(return_indices=True)
            runs.append((module, args[0].grad_fn, o.grad_fn, (args[0].shape[-2:], o.shape[-2:])))
        if module is layer:
            result["out"], result["node"] = output, getattr(output, "grad_fn", None)

    watched = [m for m in model.modules() if m is layer or isinstance(m, _CONV_POOL + _UNSUPPORTED)]
    handles = [m.register_forward_hook(hook) for m in watched]
    try:
        with _eval_mode(model), torch.enable_grad():
            model(x0)
    finally:
        for h in handles:
            h.remove()
    out = result.get("out")
    if out is None:
        raise ValueError("layer did not run in model's forward pass")
    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        raise ValueError(f"layer must output feature maps (N, K, h, w), got {getattr(out, 'shape', type(out))}")
    one = RF(1, 1, 0.0)
    known = {x0.grad_fn: (one, one, x0.shape[-2:])}  # grad node -> (rf_h, rf_w, spatial size)

    def rf_of(node, size, where):
        parents = _parents(node, known)
        if not parents:
            raise ValueError(f"the input of {where} does not depend on the model's input")
        for p in parents:
            if isinstance(p, str):
                raise ValueError(f"cannot trace the receptive field through {p} (before {where}); pass rf")
        if any(p[2] != size for p in parents):
            raise ValueError(f"a spatial operation outside a module changes the map size before {where}; "
                             "pass rf")
        return _union([p[0] for p in parents], where), _union([p[1] for p in parents], where)

    for i, (module, inp, output, (size_in, size_out)) in enumerate(runs):
        where = f"{type(module).__name__} #{i}"
        if isinstance(module, _UNSUPPORTED):
            known[output] = where  # untraceable: an error only if the layer depends on it
            continue
        rfs = []
        for axis, r in enumerate(rf_of(inp, size_in, where)):
            f, s, d, p = _spec(module, axis)
            rfs.append(RF(r.size + d * (f - 1) * r.jump, r.jump * s, r.start + (d * (f - 1) / 2 - p) * r.jump))
        known[output] = (rfs[0], rfs[1], size_out)
    return rf_of(result["node"], out.shape[-2:], "layer's output")


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
    (:func:`layer_receptive_field`, or ``rf``). By default at most ONE position per image (its
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
        m = _capture(model, batch, {"layer": layer})["layer"]  # (n, K, h, w)
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
