"""Padding an image batch by index arithmetic: zeros, reflect, replicate and circular.

Each mode decides which input pixel a border pixel copies (seed 004 shows all four on a 6x6
image). With ``i`` the row (or column) index in the padded image, shifted so that 0 is the first
real pixel, and ``n`` the size of that axis:

- replicate: ``clamp(i, 0, n-1)``               (repeat the edge pixel)
- reflect:   ``|i|``, then ``2(n-1) - i`` past the end  (mirror at the edge pixel, which is not
  repeated: ``-1 -> 1``, ``n -> n-2``)
- circular:  ``i mod n``                          (wrap around, as on a torus)
- zeros:     a constant (0 by default) outside the image.

So a padded image is one gather ``x[:, :, rows][:, :, :, cols]`` with two index vectors, and the
result equals ``torch.nn.functional.pad(x, padding, mode)`` (PyTorch calls zeros ``"constant"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnlib._checks import check_choice, check_tensor

__all__ = ["PADDING_MODES", "pad2d"]

#: The ``mode`` names :func:`pad2d` accepts (and ``padding_mode`` of the convolutions).
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _as_four(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` from an int, ``(left, right)`` or a 4-tuple, as ``F.pad``."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        values: tuple = (padding,) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) in (2, 4):
        values = tuple(padding) + (0, 0) * (len(padding) == 2)
    else:
        raise TypeError(
            f"padding must be an int, (left, right) or (left, right, top, bottom), got {padding!r}"
        )
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise TypeError(f"padding amounts must be ints, got {padding!r}")
    if any(v < 0 for v in values):
        raise ValueError(f"padding amounts must be >= 0, got {padding!r}")
    return values  # type: ignore[return-value]


def _source_index(n: int, before: int, after: int, mode: str, axis: str) -> torch.Tensor:
    """For each position of the padded axis, the index of the input pixel it copies."""
    if mode == "reflect" and (before >= n or after >= n):
        raise ValueError(
            f"reflect padding ({before} before, {after} after) must be smaller than the {axis} {n}"
        )
    if mode == "circular" and (before > n or after > n):
        raise ValueError(
            f"circular padding ({before} before, {after} after) must be at most the {axis} {n}"
        )
    if mode == "replicate" and n == 0 and before + after > 0:
        raise ValueError(f"replicate padding needs a non-empty {axis}, got {axis} 0")
    i = torch.arange(-before, n + after)  # padded positions, 0 = first real pixel
    if mode == "replicate":
        return i.clamp(0, n - 1)
    if mode == "circular":
        return i % n
    i = i.abs()  # reflect: mirror at 0 ...
    return torch.where(i > n - 1, 2 * (n - 1) - i, i)  # ... and at n - 1


def pad2d(
    x: torch.Tensor,
    padding: int | Sequence[int],
    mode: str = "zeros",
    value: float = 0.0,
) -> torch.Tensor:
    """Pad the last two axes of an image batch by ``mode`` (seed 004).

    Args:
        x (Tensor[N, C, H, W]): images, any dtype and device.
        padding (int | tuple[int, ...]): as ``F.pad``: ``p`` on all four sides,
            ``(left, right)`` (width only), or ``(left, right, top, bottom)``.
        mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
        value (float): fill value of ``"zeros"`` mode (max pooling pads with ``-inf``).

    Returns:
        Tensor[N, C, H + top + bottom, W + left + right]: on the device and dtype of ``x``.

    Raises:
        TypeError: if ``x`` is not a tensor or ``padding`` is not made of ints.
        ValueError: for a wrong shape, an unknown mode, a negative amount, reflect padding not
            smaller than the size of its axis, or circular padding larger than that size.

    Example:
        >>> x = torch.arange(1., 4.).view(1, 1, 1, 3)
        >>> pad2d(x, (2, 2), "reflect")[0, 0, 0].tolist()
        [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        >>> pad2d(x, (1, 1), "circular")[0, 0, 0].tolist()
        [3.0, 1.0, 2.0, 3.0, 1.0]
        >>> pad2d(x, 1).shape
        torch.Size([1, 1, 3, 5])
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    check_choice(mode, "mode", PADDING_MODES)
    left, right, top, bottom = _as_four(padding)
    N, C, H, W = x.shape
    if mode == "zeros":
        out = x.new_full((N, C, H + top + bottom, W + left + right), value)
        out[:, :, top:top + H, left:left + W] = x
        return out
    rows = _source_index(H, top, bottom, mode, "height").to(x.device)  # (H + top + bottom,)
    cols = _source_index(W, left, right, mode, "width").to(x.device)  # (W + left + right,)
    return x[:, :, rows][:, :, :, cols]  # (N, C, H + top + bottom, W + left + right)
