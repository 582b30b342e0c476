"""im2col and col2im: receptive fields as the columns of a matrix, and back.

im2col (Chellapilla, Puri & Simard, *High performance convolutional neural networks for document
processing*, 2006) copies the receptive field of every output position into one column, so that
a whole convolution layer becomes one matrix product (:func:`~cnnlib.ops.conv2d_im2col`). For
kernel offset ``(m, n)`` the input pixels it meets at all output positions ``(i, j)`` are

.. math:: V_{c,\\, i s + m d,\\, j s + n d}, \\qquad i < H_{out},\\; j < W_{out},

one strided slice of the padded input; so the loops below run over the ``kH*kW`` kernel offsets
only, never over pixels. col2im is the adjoint: it adds every column entry back onto the pixel it
came from, which is what the input gradient of a convolution needs (seed 003's ``h``).
``im2col``/``col2im`` equal ``torch.nn.functional.unfold``/``fold``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnlib._checks import check_choice, check_tensor, pair
from cnnlib.ops.padding import PADDING_MODES, pad2d
from cnnlib.ops.sizes import conv_output_size

__all__ = ["im2col", "col2im"]


def _geometry(
    x: torch.Tensor,
    kernel_size: tuple[int, int],
    stride: int | Sequence[int],
    padding: int | Sequence[int],
    dilation: int | Sequence[int],
    padding_mode: str,
) -> tuple[torch.Tensor, tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Check the hyper-parameters, pad ``x``; return ``(padded x, stride, dilation, (H_out, W_out))``."""
    check_choice(padding_mode, "padding_mode", PADDING_MODES)
    s, d, p = pair(stride, "stride"), pair(dilation, "dilation"), pair(padding, "padding", 0)
    (kH, kW), (H, W) = kernel_size, x.shape[2:]
    H_out = conv_output_size(H, kH, p[0], s[0], d[0])
    W_out = conv_output_size(W, kW, p[1], s[1], d[1])
    xp = pad2d(x, (p[1], p[1], p[0], p[0]), padding_mode) if any(p) else x  # (N, C, H+2ph, W+2pw)
    return xp, s, d, (H_out, W_out)


def _offset_slice(m: int, n: int, s: tuple[int, int], d: tuple[int, int], size: tuple[int, int]):
    """Index of the pixels that kernel offset ``(m, n)`` meets at every output position."""
    H_out, W_out = size
    r0, c0 = m * d[0], n * d[1]
    return (..., slice(r0, r0 + s[0] * (H_out - 1) + 1, s[0]), slice(c0, c0 + s[1] * (W_out - 1) + 1, s[1]))


def im2col(
    x: torch.Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """Unfold every receptive field into a column (``F.unfold`` for zero padding).

    Args:
        x (Tensor[N, C, H, W]): images.
        kernel_size (int | tuple[int, int]): ``kH, kW``.
        stride (int | tuple[int, int]): step between receptive fields.
        padding (int | tuple[int, int]): ``(ph, pw)`` added on each side, as in ``F.conv2d``.
        dilation (int | tuple[int, int]): spacing between kernel taps.
        padding_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        Tensor[N, C*kH*kW, L]: ``L = H_out*W_out``; row ``c*kH*kW + m*kW + n`` holds channel
        ``c`` at kernel offset ``(m, n)``, column ``i*W_out + j`` is output position ``(i, j)``.

    Raises:
        TypeError, ValueError: for a wrong type or shape, a bad hyper-parameter, or a kernel that
            does not fit in the padded input.

    Example:
        >>> x = torch.arange(16.).view(1, 1, 4, 4)
        >>> im2col(x, 2, stride=2)[0, :, 0].tolist()  # the top-left 2x2 block
        [0.0, 1.0, 4.0, 5.0]
        >>> im2col(x, 3, padding=1).shape  # 9 taps, 16 positions
        torch.Size([1, 9, 16])
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    kH, kW = pair(kernel_size, "kernel_size")
    xp, s, d, size = _geometry(x, (kH, kW), stride, padding, dilation, padding_mode)
    N, C = x.shape[:2]
    taps = [xp[_offset_slice(m, n, s, d, size)] for m in range(kH) for n in range(kW)]
    cols = torch.stack(taps, dim=2)  # (N, C, kH*kW, H_out, W_out)
    return cols.reshape(N, C * kH * kW, size[0] * size[1])  # (N, C*kH*kW, L)


def col2im(
    cols: torch.Tensor,
    output_size: tuple[int, int],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Sum columns back into an image: the adjoint of :func:`im2col` (``F.fold``).

    Entries of overlapping windows add up on the pixel they share; entries that fall on the
    zero padding are dropped.

    Args:
        cols (Tensor[N, C*kH*kW, L]): columns in the layout :func:`im2col` produces.
        output_size (tuple[int, int]): ``(H, W)`` of the image, without padding.
        kernel_size (int | tuple[int, int]): ``kH, kW``.
        stride (int | tuple[int, int]): step between receptive fields.
        padding (int | tuple[int, int]): zero padding of the forward :func:`im2col`.
        dilation (int | tuple[int, int]): spacing between kernel taps.

    Returns:
        Tensor[N, C, H, W]: on the device and dtype of ``cols``.

    Raises:
        TypeError, ValueError: for a wrong type, a bad hyper-parameter, or ``cols`` whose shape
            does not match ``(N, C*kH*kW, H_out*W_out)``.

    Example:
        >>> ones = torch.ones(1, 1, 3, 3)
        >>> col2im(im2col(ones, 2), (3, 3), 2)[0, 0].tolist()  # how many windows cover each pixel
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    check_tensor(cols, "cols", 3, "(N, C*kH*kW, L)")
    kH, kW = pair(kernel_size, "kernel_size")
    s, d, p = pair(stride, "stride"), pair(dilation, "dilation"), pair(padding, "padding", 0)
    H, W = pair(tuple(output_size), "output_size")
    H_out = conv_output_size(H, kH, p[0], s[0], d[0])
    W_out = conv_output_size(W, kW, p[1], s[1], d[1])
    N, CK, L = cols.shape
    if CK % (kH * kW) or L != H_out * W_out:
        raise ValueError(
            f"cols must have shape (N, C*{kH * kW}, {H_out * W_out}) for output_size {(H, W)}, "
            f"kernel {(kH, kW)}, stride {s}, padding {p}, dilation {d}; got {tuple(cols.shape)}"
        )
    C = CK // (kH * kW)
    cols = cols.reshape(N, C, kH, kW, H_out, W_out)  # (N, C, kH, kW, H_out, W_out)
    out = cols.new_zeros(N, C, H + 2 * p[0], W + 2 * p[1])  # (N, C, H+2ph, W+2pw)
    for m in range(kH):
        for n in range(kW):
            out[_offset_slice(m, n, s, d, (H_out, W_out))] += cols[:, :, m, n]
    return out[:, :, p[0]:p[0] + H, p[1]:p[1] + W]  # (N, C, H, W), padding dropped
