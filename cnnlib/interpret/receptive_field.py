"""Receptive fields of the units of any layer, traced through the network's autograd graph.

For a chain of convolutions :func:`cnnlib.ops.receptive_field` gives the field by the recurrence
of Araujo et al. (*Computing receptive fields of CNNs*, Distill 2019). A real network is a graph
(residual sums, Inception concatenations) and may grow maps again (a U-Net's transposed
convolutions and upsampling), where units of one layer no longer all see the same number of
pixels. So the tracing here works per unit and per axis: a unit at position ``o`` of an
operation's output reads the input positions ("taps")

- convolution / pooling (kernel ``k``, stride ``s``, dilation ``d``, padding ``p``):
  ``o s - p + d t`` for ``t = 0 .. k-1``;
- transposed convolution: every ``i`` with ``i s - p + d t = o`` for some ``t`` (so with
  ``s > 1`` neighbouring units read different numbers of inputs);
- upsampling (``nn.Upsample`` or ``F.interpolate``, nearest, nearest-exact or bilinear): the one
  or two source pixels PyTorch interpolates from (a tap of weight zero is left out);

and its field is the smallest interval that holds the fields of all its taps, united over the
maps that meet in a sum or a concatenation (pointwise operations such as ReLU and batch norm
keep the field). :func:`layer_receptive_field` treats padding as if the maps went on, so a
field can reach outside the image, as in chapter 1; :func:`receptive_field_intervals` gives the
pixels that can actually change each unit (a tap into padding reads a zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from cnnlib.interpret._common import _check_model, _eval_mode, _images
from cnnlib.ops.receptive_field import RF

__all__ = ["layer_receptive_field", "receptive_field_intervals"]

_MODULES = (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d)
_UNSUPPORTED = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.LPPool2d, nn.Fold)
_UPSAMPLE = {"UpsampleNearest2DBackward": "nearest", "UpsampleNearestExact2DBackward": "nearest-exact",
             "UpsampleBilinear2DBackward": "bilinear"}
Interval = tuple[int, int] | None  # (first, last) input pixel, inclusive; None: no input pixel


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


def _module_taps(m: nn.Module) -> Callable[[int, int], list[int]]:
    """``taps(axis, o)``: the input positions that output position ``o`` of ``m`` reads."""
    if isinstance(m, nn.ConvTranspose2d):
        def taps(axis, o):
            k, s, d, p = _spec(m, axis)
            return [(o + p - d * t) // s for t in range(k) if (o + p - d * t) % s == 0]
        return taps

    def taps(axis, o):
        k, s, d, p = _spec(m, axis)
        return [o * s - p + d * t for t in range(k)]
    return taps


def _upsample_taps(node, mode: str) -> Callable[[int, int], list[int]]:
    """Taps of an upsampling grad node, following PyTorch's source-index arithmetic (in double)."""
    n_in, n_out = tuple(node._saved_self_sym_sizes[-2:]), tuple(node._saved_output_size)
    scales = (node._saved_scales_h, node._saved_scales_w)
    corners = bool(getattr(node, "_saved_align_corners", False))

    def taps(axis, o):
        n, m, given = n_in[axis], n_out[axis], scales[axis]
        inside = 0 <= o < m  # outside the map: the same formula, without PyTorch's clamping
        if mode == "bilinear" and corners:
            src = o * ((n - 1) / (m - 1) if m > 1 else 0.0)
        else:
            scale = 1.0 / given if given is not None and given > 0 else n / m
            if mode == "nearest":
                return [min(math.floor(o * scale), n - 1) if inside else math.floor(o * scale)]
            if mode == "nearest-exact":
                return [min(math.floor((o + 0.5) * scale), n - 1) if inside else math.floor((o + 0.5) * scale)]
            src = scale * (o + 0.5) - 0.5
            src = max(src, 0.0) if inside else src
        i0 = math.floor(src)
        i1 = i0 + 1 if not inside or i0 < n - 1 else i0
        return [i0] + ([i1] if src - i0 > 0 and i1 != i0 else [])
    return taps


class _Op:
    """A traced spatial operation: its taps, the operations it reads, its input and output sizes."""

    def __init__(self, taps, node_in, size_in, size_out, where):
        self.taps, self.node_in, self.size_in, self.size_out, self.where = taps, node_in, size_in, size_out, where
        self.parents: list | None = None  # resolved on first use


def _trace(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[Callable, tuple[int, int], tuple[int, int]]:
    """``(field(axis, o, extend) -> Interval, layer's map size (h, w), input size (H, W))``."""
    _check_model(model, [layer])
    xb, _ = _images(x, allow_single=False)
    if len(xb) == 0:
        raise ValueError("x must hold at least one image to probe the model with")
    x0 = xb[:1].clone().requires_grad_(True) * 1.0  # not a leaf: its grad node stands for "the input"
    known: dict = {x0.grad_fn: "input"}  # grad node -> "input", an _Op, or why it cannot be traced
    result: dict[str, object] = {}

    def hook(module, args, output):
        if "out" in result:
            return
        if isinstance(module, _MODULES + _UNSUPPORTED):
            o = output[0] if isinstance(output, tuple) else output  # MaxPool2d(return_indices=True)
            where = f"{type(module).__name__} #{len(known)}"
            known[o.grad_fn] = (where if isinstance(module, _UNSUPPORTED) else
                                _Op(_module_taps(module), args[0].grad_fn, tuple(args[0].shape[-2:]),
                                    tuple(o.shape[-2:]), where))
        if module is layer:
            result["out"], result["node"] = output, getattr(output, "grad_fn", None)

    watched = [m for m in model.modules() if m is layer or isinstance(m, _MODULES + _UNSUPPORTED)]
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
    input_size = tuple(x0.shape[-2:])

    def sources(node, size, where) -> list:
        """The traced operations (or the input) that ``node`` reaches through pointwise operations."""
        found, stack, seen = [], [node], set()
        while stack:
            f = stack.pop()
            if f is None or f in seen:
                continue
            seen.add(f)
            kind = type(f).__name__.rstrip("0123456789")
            if f not in known and kind.startswith("Upsample"):
                if kind not in _UPSAMPLE:
                    known[f] = f"{kind} (only nearest, nearest-exact and bilinear upsampling are traced)"
                else:
                    known[f] = _Op(_upsample_taps(f, _UPSAMPLE[kind]), f.next_functions[0][0],
                                   tuple(f._saved_self_sym_sizes[-2:]), tuple(f._saved_output_size), kind)
            if f in known:
                found.append(known[f])
            else:
                stack.extend(g for g, _ in f.next_functions)
        if not found:
            raise ValueError(f"the input of {where} does not depend on the model's input")
        for s in found:
            if isinstance(s, str) and s != "input":
                raise ValueError(f"cannot trace the receptive field through {s} (before {where}); pass rf")
            if (input_size if s == "input" else s.size_out) != size:
                raise ValueError(f"a spatial operation outside a module changes the map size before {where}; "
                                 "pass rf")
        return found

    memo: dict = {}

    def field(srcs: list, axis: int, o: int, extend: bool) -> Interval:
        """The hull of the fields of position ``o`` in the maps ``srcs`` (united at a sum/concat).

        ``extend``: padding positions count as units that go on past the map (chapter 1's field);
        otherwise they read zeros and see nothing (the pixels that can actually change the unit).
        """
        lo, hi = math.inf, -math.inf
        for s in srcs:
            key = (id(s), axis, o, extend)
            if key not in memo:
                if s == "input":
                    memo[key] = (o, o)
                else:
                    if s.parents is None:
                        s.parents = sources(s.node_in, s.size_in, s.where)
                    taps = [t for t in s.taps(axis, o) if extend or 0 <= t < s.size_in[axis]]
                    parts = [p for p in (field(s.parents, axis, t, extend) for t in taps) if p is not None]
                    memo[key] = (min(p[0] for p in parts), max(p[1] for p in parts)) if parts else None
            if memo[key] is not None:
                lo, hi = min(lo, memo[key][0]), max(hi, memo[key][1])
        return (int(lo), int(hi)) if lo <= hi else None

    top = sources(result["node"], tuple(out.shape[-2:]), "layer's output")
    return (lambda axis, o, extend: field(top, axis, o, extend)), tuple(out.shape[-2:]), input_size


def receptive_field_intervals(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The input rows and columns that each unit of ``layer`` can see, unit by unit.

    Exact where :func:`layer_receptive_field` needs every unit to see the same span: after a
    transposed convolution or an upsampling the fields differ from unit to unit.

    Args:
        model (nn.Module): the network; convolutions and pooling must be modules, upsampling may
            be ``nn.Upsample`` or ``F.interpolate``.
        layer (nn.Module): a submodule of ``model`` that outputs ``(N, K, h, w)``.
        x (Tensor[N, C, H, W]): a probe input (only the first image is used).

    Returns:
        tuple[Tensor[h, 2], Tensor[w, 2]]: per row (column) of the layer's map, the first and last
        input row (column) of its field, inclusive, clipped to the image; ``first > last`` for a
        unit that sees no pixel. Unit ``(u, v)`` sees rows ``rows[u, 0] .. rows[u, 1]``.

    Raises:
        TypeError, ValueError: as :func:`layer_receptive_field`.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Upsample(scale_factor=2))
        >>> rows, cols = receptive_field_intervals(net, net[1], torch.zeros(1, 1, 4, 4))
        >>> rows.tolist()  # units 2u and 2u + 1 both copy conv unit u, which sees rows u-1 .. u+1
        [[0, 1], [0, 1], [0, 2], [0, 2], [1, 3], [1, 3], [2, 3], [2, 3]]
    """
    field, (h, w), (H, W) = _trace(model, layer, x)
    out = []
    for axis, (n, size) in enumerate(((h, H), (w, W))):
        spans = [field(axis, o, False) or (size, -1) for o in range(n)]
        out.append(torch.tensor([[max(a, 0), min(b, size - 1)] for a, b in spans], dtype=torch.long).view(n, 2))
    return out[0], out[1]


def layer_receptive_field(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> tuple[RF, RF]:
    """Receptive field of the units of ``layer`` along the height and the width of the input.

    Runs ``model(x[:1])`` once with hooks on every ``Conv2d``, ``ConvTranspose2d``,
    ``MaxPool2d`` and ``AvgPool2d``, then walks the autograd graph back from ``layer``'s output
    (see the module's docstring): chains, residual blocks, Inception-style branches and
    upsampling all trace. For a chain the answer is :func:`cnnlib.ops.receptive_field`'s
    ``r += d (f - 1) j``, ``start += (d (f - 1) / 2 - p) j``, ``j *= s``. Unit ``(u, v)`` sees the
    input rows ``u * jump + start - (size - 1) / 2`` up to ``+ size - 1`` (and likewise the
    columns), padding counted as if the image went on.

    Args:
        model (nn.Module): the network; convolutions and pooling must be modules (not ``F.`` calls).
        layer (nn.Module): a submodule of ``model`` that outputs ``(N, K, h, w)``.
        x (Tensor[N, C, H, W]): a probe input (only the first image is used).

    Returns:
        tuple[RF, RF]: ``(rf_h, rf_w)``.

    Raises:
        ValueError: if layer does not run, its output is not a map or does not depend on the
            input, a module cannot be traced (adaptive or power pooling, bicubic upsampling), a
            spatial operation outside a module changes a map's size, or the units of ``layer`` do
            not all see equal, equally spaced fields (after a transposed convolution or an
            upsampling: use :func:`receptive_field_intervals`); then pass ``rf`` to
            :func:`~cnnlib.interpret.top_k_patches` yourself.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        ...                     nn.Conv2d(2, 2, 3, padding=1))
        >>> layer_receptive_field(net, net[3], torch.zeros(1, 1, 16, 16))[0]
        RF(size=8, jump=2, start=0.5)
    """
    field, (h, w), _ = _trace(model, layer, x)
    rfs = []
    for axis, n in enumerate((h, w)):
        spans = [field(axis, o, True) for o in range(max(n, 2))]  # position 1 exists beyond a 1-wide map too
        if any(s is None for s in spans):
            raise ValueError("some units of layer see no input pixel; use receptive_field_intervals")
        sizes = {b - a + 1 for a, b in spans}
        jumps = {spans[o + 1][0] - spans[o][0] for o in range(len(spans) - 1)}
        if len(sizes) != 1 or len(jumps) != 1:
            raise ValueError(f"the units of layer see fields of sizes {sorted(sizes)} spaced {sorted(jumps)} "
                             "pixels apart (a transposed convolution or an upsampling makes them depend on "
                             "the unit); use receptive_field_intervals, or pass rf")
        (size,), (jump,) = sizes, jumps
        rfs.append(RF(size, jump, spans[0][0] + (size - 1) / 2))
    return rfs[0], rfs[1]
