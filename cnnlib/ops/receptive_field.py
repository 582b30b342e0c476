"""Receptive fields of stacked convolution and pooling layers.

Going up one layer with kernel ``f``, stride ``s``, dilation ``d`` and padding ``p``, the
receptive field ``r``, the distance ``j`` between neighbouring units in input pixels (the
"jump") and the input coordinate ``start`` of the first unit's centre follow
(Araujo et al., *Computing receptive fields of CNNs*, Distill 2019):

.. math::
    r_{l} = r_{l-1} + d (f - 1) j_{l-1}, \\quad j_l = s\\, j_{l-1}, \\quad
    \\text{start}_l = \\text{start}_{l-1} + \\left(\\tfrac{d(f-1)}{2} - p\\right) j_{l-1}

starting from the input, ``r = 1, j = 1, start = 0``. Deep units see a large part of the image
even though every layer connects sparsely (seed 003, "sparse interactions").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cnnlib._checks import check_int

__all__ = ["RF", "receptive_field"]


@dataclass(frozen=True)
class RF:
    """Receptive field of the units of one layer, along one axis, in input pixels.

    Attributes:
        size (int): how many input pixels one unit sees (``r``).
        jump (int): distance in input pixels between neighbouring units (``j``, the product of
            the strides so far).
        start (float): input coordinate of the centre of unit 0 (fractional for even spans,
            negative when padding reaches outside the image). Unit ``u`` sees the pixels
            ``start + u*jump +- (size - 1)/2``.

    Example:
        >>> RF(size=3, jump=1, start=1.0).size
        3
    """

    size: int
    jump: int
    start: float


def _layer(spec: Mapping | Sequence, index: int) -> tuple[int, int, int, int]:
    """``(kernel_size, stride, dilation, padding)`` of layer ``index``, validated."""
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"kernel_size", "stride", "dilation", "padding"}
        if unknown or "kernel_size" not in spec:
            raise ValueError(
                f"layer {index}: expected keys kernel_size[, stride, dilation, padding], got {dict(spec)}"
            )
        values = (spec["kernel_size"], spec.get("stride", 1), spec.get("dilation", 1), spec.get("padding", 0))
    elif isinstance(spec, Sequence) and 1 <= len(spec) <= 4:
        values = tuple(spec) + (1, 1, 0)[len(spec) - 1:]
    else:
        raise TypeError(
            f"layer {index} must be a dict or a tuple (kernel_size, stride, dilation, padding), got {spec!r}"
        )
    f, s, d, p = values
    for name, v, low in (("kernel_size", f, 1), ("stride", s, 1), ("dilation", d, 1), ("padding", p, 0)):
        check_int(v, f"layer {index}: {name}", low)
    return f, s, d, p


def receptive_field(layers: Sequence[Mapping | Sequence]) -> list[RF]:
    """Receptive field after each layer of a stack (square kernels, one axis).

    Args:
        layers (Sequence): one entry per layer, either a dict with ``kernel_size`` and optional
            ``stride``, ``dilation``, ``padding``, or a tuple ``(kernel_size, stride=1,
            dilation=1, padding=0)``. Pooling layers count like convolutions.

    Returns:
        list[RF]: one record ``(size, jump, start)`` per layer, in order.

    Raises:
        TypeError: if ``layers`` is not a sequence, or a layer is neither a dict nor a tuple.
        ValueError: for unknown keys or out-of-range values (the layer's index is named).

    Example:
        >>> [rf.size for rf in receptive_field([(3,), (3,), (3,)])]  # three 3x3 convs see 7x7
        [3, 5, 7]
        >>> receptive_field([(3, 1, 1, 1), (2, 2), (3, 1, 1, 1)])[-1]
        RF(size=8, jump=2, start=0.5)
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a sequence of layer descriptions, got {type(layers).__name__}")
    size, jump, start = 1, 1, 0.0
    out = []
    for i, spec in enumerate(layers):
        f, s, d, p = _layer(spec, i)
        span = d * (f - 1)
        size += span * jump
        start += (span / 2 - p) * jump
        jump *= s
        out.append(RF(size, jump, start))
    return out
