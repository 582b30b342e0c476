"""Padding an image batch by index arithmetic: zeros, reflect, replicate and circular.

Each mode decides which input pixel a border pixel copies (seed 004 shows all four on a 6x6
image). With ``idx`` the row or column index in the padded image, shifted so that 0 is the
first real pixel and ``n`` the size:

- replicate: ``clamp(idx, 0, n-1)``          (repeat the edge pixel)
- reflect:   mirror at the edge pixel without repeating it (``-1 -> 1``, ``n -> n-2``)
- circular:  ``idx mod n``                     (wrap around, as on a torus)
- zeros:     a constant (0 by default) outside the image.

The result equals ``torch.nn.functional.pad(x, (left, right, top, bottom), mode)`` with
PyTorch's names ``constant``/``reflect``/``replicate``/``circular``.
"""

from __future__ import annotations

import torch

from cnnlib.ops._checks import check_mode, check_tensor

__all__ = ["pad2d"]


def _as_four(padding: int | tuple[int, ...]) -> tuple[int, int, int, int]:
    if isinstance(padding, int) and not isinstance(padding, bool):
        values = (padding,) * 4
    elif isinstance(padding, (tuple, list)) and len(padding) in (2, 4):
        values = tuple(padding) if len(padding) == 4 else (padding[1], padding[1], padding[0], padding[0])
    else:
        raise TypeError(
            f"padding must be an int, a pair (ph, pw) or (left, right, top, bottom), got {padding!r}"
        )
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise ValueError(f"padding amounts must be non-negative ints, got {padding!r}")
    return values  # type: ignore[return-value]


def _source_index(n: int, before: int, after: int, mode: str, axis: str) -> torch.Tensor:
    idx = torch.arange(-before, n + after)
    if mode == "replicate":
        return idx.clamp(0, n - 1)
    if mode == "circular":
        if before > n or after > n:
            raise ValueError(f"circular padding of {max(before, after)} exceeds the {axis} size {n}")
        return idx % n
    # reflect
    if before >= n or after >= n:
        raise ValueError(
            f"reflect padding of {max(before, after)} must be smaller than the {axis} size {n}"
        )
    idx = idx.abs()
    return torch.where(idx > n - 1, 2 * (n - 1) - idx, idx)


def pad2d(
    x: torch.Tensor,
    padding: int | tuple[int, ...],
    mode: str = "zeros",
    value: float = 0.0,
) -> torch.Tensor:
    """Pad the last two axes of an image batch.

    Args:
        x (Tensor[N, C, H, W]): images.
        padding (int | tuple): ``p`` on all four sides, ``(ph, pw)``, or
            ``(left, right, top, bottom)`` as in ``F.pad``.
        mode (str): one of ``"zeros"``, ``"reflect"``, ``"replicate"``, ``"circular"``.
        value (float): fill value for ``"zeros"`` mode (pooling pads max with ``-inf``).

    Returns:
        Tensor[N, C, H + top + bottom, W + left + right]: on the device and dtype of ``x``.

    Raises:
        TypeError: if ``x`` is not a tensor or ``padding`` has the wrong type.
        ValueError: for a bad shape, mode or amount (reflect needs ``p < size``).

    Example:
        >>> x = torch.arange(1., 4.).view(1, 1, 1, 3)
        >>> pad2d(x, (2, 2, 0, 0), "reflect")[0, 0, 0].tolist()
        [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        >>> pad2d(x, (1, 1, 0, 0), "circular")[0, 0, 0].tolist()
        [3.0, 1.0, 2.0, 3.0, 1.0]
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    check_mode(mode)
    left, right, top, bottom = _as_four(padding)
    N, C, H, W = x.shape
    if mode == "zeros":
        out = x.new_full((N, C, H + top + bottom, W + left + right), value)
        out[:, :, top:top + H, left:left + W] = x
        return out
    rows = _source_index(H, top, bottom, mode, "height").to(x.device)
    cols = _source_index(W, left, right, mode, "width").to(x.device)
    return x[:, :, rows][:, :, :, cols]  # (N, C, H + top + bottom, W + left + right)
