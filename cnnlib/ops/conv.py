"""2-D convolution three ways (loops, im2col + GEMM, FFT) and a dispatcher.

Every function here computes what deep-learning frameworks call convolution, which is
cross-correlation (seed 003; Goodfellow et al., *Deep Learning*, eq. 9.6 and section 9.5):

.. math:: Z_{n,o,i,j} = b_o + \\sum_{c,m,k} V_{n,c,\\, i s + m d,\\, j s + k d} \\, K_{o,c,m,k}

on the padded input ``V``, with stride ``s`` and dilation ``d``. All of them equal
``F.conv2d(pad2d(x, p, padding_mode), weight, bias, stride, 0, dilation, groups)`` (tested to
1e-10 in float64), so the book can show the same number computed by a loop a reader can follow,
by one big matrix product (Chellapilla et al., 2006, the idea behind cuDNN's GEMM algorithms),
and by the convolution theorem (Mathieu, Henaff & LeCun, *Fast training of convolutional
networks through FFTs*, 2014). Every function computes on the device and in the dtype of ``x``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_bias, check_choice, check_int, check_like, check_tensor
from cnnlib.ops.unfold import _geometry, im2col

__all__ = ["conv2d_naive", "conv2d_im2col", "conv2d_fft", "conv2d", "conv1d", "METHODS"]

#: The ``method`` names :func:`conv2d` accepts.
METHODS = ("naive", "im2col", "fft", "torch")

IntPair = int | tuple[int, int]


def _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode):
    """Validate the arguments and pad ``x``; return ``(padded x, stride, dilation, out size)``."""
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_out, C_in/groups, kH, kW)")
    check_like(weight, "weight", x)
    groups = check_int(groups, "groups", 1)
    C_out, C_in_g, kH, kW = weight.shape
    C_in = x.shape[1]
    if C_in % groups or C_out % groups or C_in // groups != C_in_g:
        raise ValueError(
            f"x has {C_in} channels and weight has shape {tuple(weight.shape)}: with groups={groups} "
            f"expected C_in and C_out divisible by {groups} and weight.shape[1] == C_in/groups "
            f"= {C_in / groups:g}"
        )
    check_bias(bias, (C_out,), x)
    return _geometry(x, (kH, kW), stride, padding, dilation, padding_mode)


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return out if bias is None else out + bias.view(1, -1, 1, 1)  # b_o on every pixel


def conv2d_naive(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """Convolution (cross-correlation) with an explicit Python loop over output pixels.

    The teaching version: for each output position ``(i, j)`` cut out the receptive field,
    multiply it with every kernel and sum. Batch and channels are vectorised; pixels are not, so
    it is slow (and slower still on a GPU, one tiny kernel launch per pixel).

    Args:
        x (Tensor[N, C_in, H, W]): images.
        weight (Tensor[C_out, C_in/groups, kH, kW]): kernels, dtype and device of ``x``.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int | tuple[int, int]): step between receptive fields.
        padding (int | tuple[int, int]): ``(ph, pw)`` added on each side.
        dilation (int | tuple[int, int]): spacing between kernel taps.
        groups (int): split the channels into ``groups`` independent convolutions.
        padding_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        Tensor[N, C_out, H_out, W_out]: ``H_out = floor((H + 2ph - dh(kH-1) - 1)/sh) + 1``.

    Raises:
        TypeError: for a non-tensor, a non-int hyper-parameter, or mixed dtypes.
        ValueError: for wrong shapes, channel counts, modes, devices, or a kernel that does not
            fit in the padded input.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> conv2d_naive(x, w)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    N = x.shape[0]
    C_out, C_g, kH, kW = weight.shape
    w = weight.reshape(groups, C_out // groups, C_g, kH, kW)  # (G, C_out/G, C_g, kH, kW)
    span_h, span_w = d[0] * (kH - 1) + 1, d[1] * (kW - 1) + 1  # pixels the dilated kernel covers
    out = x.new_zeros(N, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * s[0], j * s[1]  # top-left corner of the receptive field
            patch = xp[:, :, r:r + span_h:d[0], c:c + span_w:d[1]]  # (N, C_in, kH, kW)
            patch = patch.reshape(N, groups, C_g, kH, kW)  # (N, G, C_g, kH, kW)
            out[:, :, i, j] = torch.einsum("ngchw,gochw->ngo", patch, w).reshape(N, C_out)
    return _add_bias(out, bias)


def conv2d_im2col(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """Convolution as :func:`~cnnlib.ops.im2col` followed by ONE matrix product (GEMM) per group.

    ``weight.view(C_out, C_in*kH*kW) @ cols`` computes every output pixel at once; the price is
    memory, since ``cols`` repeats each input pixel up to ``kH*kW`` times.

    Args:
        x, weight, bias, stride, padding, dilation, groups, padding_mode: as :func:`conv2d_naive`.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: as :func:`conv2d_naive`.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> conv2d_im2col(x, w)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    N = x.shape[0]
    C_out, C_g, kH, kW = weight.shape
    cols = im2col(xp, (kH, kW), s, 0, d)  # (N, C_in*kH*kW, L)
    cols = cols.reshape(N, groups, C_g * kH * kW, H_out * W_out)  # (N, G, C_g*kH*kW, L)
    w = weight.reshape(groups, C_out // groups, C_g * kH * kW)  # (G, C_out/G, C_g*kH*kW)
    out = torch.matmul(w, cols)  # (N, G, C_out/G, L): the GEMM
    return _add_bias(out.reshape(N, C_out, H_out, W_out), bias)  # (N, C_out, H_out, W_out)


def conv2d_fft(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """Convolution through the FFT (the convolution theorem).

    Correlation with ``K`` is multiplication by ``conj(FFT(K))`` in the frequency domain. The
    dilated kernel is zero-padded to the size of the padded image, so the product gives the
    *circular* correlation; it equals the linear one wherever the kernel does not wrap around,
    which is exactly the ``H_out x W_out`` corner at stride 1. Stride then keeps every ``s``-th
    row and column of it. Cost ``O(HW log HW)`` per channel pair whatever the kernel size, so it
    wins for large kernels (``benchmarks/conv.py``).

    Args:
        x (Tensor[N, C_in, H, W]): images, floating point (``torch.fft`` needs it).
        weight, bias, stride, padding, dilation, groups, padding_mode: as :func:`conv2d_naive`.

    Returns:
        Tensor[N, C_out, H_out, W_out]: equal to :func:`conv2d_naive` up to rounding.

    Raises:
        TypeError: as :func:`conv2d_naive`, and for an integer ``x``.
        ValueError: as :func:`conv2d_naive`.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> conv2d_fft(x, w).round(decimals=4)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor for the FFT, got {x.dtype}")
    N = x.shape[0]
    C_out, C_g, kH, kW = weight.shape
    if N == 0:  # some FFT back ends reject empty batches
        return _add_bias(x.new_zeros(0, C_out, H_out, W_out), bias)
    Hp, Wp = xp.shape[2:]
    kernel = weight.new_zeros(C_out, C_g, Hp, Wp)  # (C_out, C_g, Hp, Wp)
    kernel[:, :, :d[0] * (kH - 1) + 1:d[0], :d[1] * (kW - 1) + 1:d[1]] = weight  # dilated, zero-padded
    X = torch.fft.rfft2(xp).reshape(N, groups, C_g, Hp, Wp // 2 + 1)  # (N, G, C_g, Hp, Wp/2+1)
    K = torch.fft.rfft2(kernel).conj().reshape(groups, C_out // groups, C_g, Hp, Wp // 2 + 1)
    Y = torch.einsum("ngcuv,gocuv->ngouv", X, K)  # sum over input channels, per frequency
    y = torch.fft.irfft2(Y.reshape(N, C_out, Hp, Wp // 2 + 1), s=(Hp, Wp))  # (N, C_out, Hp, Wp)
    out = y[:, :, :s[0] * (H_out - 1) + 1:s[0], :s[1] * (W_out - 1) + 1:s[1]]  # valid corner, strided
    return _add_bias(out.contiguous(), bias)  # (N, C_out, H_out, W_out)


def conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    method: str = "im2col",
) -> torch.Tensor:
    """Convolution by the chosen ``method``: ``"naive"``, ``"im2col"``, ``"fft"`` or ``"torch"``.

    ``"torch"`` pads with :func:`~cnnlib.ops.pad2d` and calls ``F.conv2d``, the framework's own
    kernel (cuDNN on NVIDIA GPUs, oneDNN on CPUs). All four return the same values.

    Args:
        x, weight, bias, stride, padding, dilation, groups, padding_mode: as :func:`conv2d_naive`.
        method (str): one of :data:`METHODS`.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: as :func:`conv2d_naive`; ValueError for an unknown ``method``.

    Example:
        >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
        >>> ref = conv2d(x, w, padding=1, method="torch")
        >>> [torch.allclose(conv2d(x, w, padding=1, method=m), ref, atol=1e-4) for m in METHODS]
        [True, True, True, True]
    """
    check_choice(method, "method", METHODS)
    args = (x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if method != "torch":
        return {"naive": conv2d_naive, "im2col": conv2d_im2col, "fft": conv2d_fft}[method](*args)
    xp, s, d, _ = _prepare(*args)
    return F.conv2d(xp, weight, bias, s, 0, d, groups)


def conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    method: str = "im2col",
) -> torch.Tensor:
    """1-D convolution (e.g. a motif detector over one-hot DNA), computed as a 2-D one of height 1.

    Args:
        x (Tensor[N, C_in, L]): sequences, e.g. ``C_in = 4`` one-hot bases.
        weight (Tensor[C_out, C_in, k]): kernels, dtype and device of ``x``.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int): step along the sequence.
        padding (int): zeros added at each end.
        dilation (int): spacing between kernel taps.
        method (str): the :func:`conv2d` method that computes it.

    Returns:
        Tensor[N, C_out, L_out]: ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Raises:
        TypeError, ValueError: for a wrong type or shape, as :func:`conv2d`.

    Example:
        >>> x = torch.tensor([[[0., 1., 1., 0., 1.]]]); w = torch.tensor([[[1., 1.]]])
        >>> conv1d(x, w)[0, 0].tolist()
        [1.0, 2.0, 1.0, 1.0]
    """
    check_tensor(x, "x", 3, "(N, C_in, L)")
    check_tensor(weight, "weight", 3, "(C_out, C_in, k)")
    stride, padding = check_int(stride, "stride", 1), check_int(padding, "padding", 0)
    dilation = check_int(dilation, "dilation", 1)
    out = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding), (1, dilation),
                 method=method)  # (N, C_out, 1, L_out)
    return out.squeeze(2)  # (N, C_out, L_out)
