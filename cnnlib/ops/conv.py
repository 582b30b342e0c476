"""2-D convolution four ways: loops, im2col + GEMM, FFT, and a dispatcher.

Every function here computes what deep-learning frameworks call convolution, which is
cross-correlation (seed 003):

.. math:: Z_{o,i,j} = b_o + \\sum_{c,m,n} V_{c,\\, i s + m d,\\, j s + n d} \\, K_{o,c,m,n}

on the padded input ``V``. They agree with ``torch.nn.functional.conv2d`` (tested to 1e-10 in
float64), so the book can show the same number computed by a loop a reader can follow, by one
big matrix product (Chellapilla et al., 2006, the trick behind cuDNN's GEMM algorithms), and by
the convolution theorem (Mathieu et al., 2014, *Fast training of CNNs through FFTs*).
:func:`convolve2d` and :func:`correlate2d` are the textbook single-channel operations (true
convolution flips the kernel) for comparing with ``scipy.signal``.
"""

from __future__ import annotations

import torch

from cnnlib.ops._checks import check_mode, check_tensor, pair
from cnnlib.ops.padding import pad2d
from cnnlib.ops.sizes import conv_output_size

__all__ = [
    "im2col", "col2im", "conv2d_naive", "conv2d_im2col", "conv2d_fft", "conv2d", "conv1d",
    "convolve2d", "correlate2d",
]

METHODS = ("naive", "im2col", "fft", "torch")


def _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode):
    """Validate, pad, and return (padded x, sizes) shared by every method."""
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_out, C_in/groups, kH, kW)")
    check_mode(padding_mode)
    s, d, p = pair(stride, "stride"), pair(dilation, "dilation"), pair(padding, "padding", 0)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    C_out, C_in_g, kH, kW = weight.shape
    C = x.shape[1]
    if C % groups or C_out % groups or C // groups != C_in_g:
        raise ValueError(
            f"x has {C} channels and weight has shape {tuple(weight.shape)}: with groups={groups} "
            f"expected weight.shape[1] == {C // groups if C % groups == 0 else 'C_in/groups'} and "
            f"both channel counts divisible by groups"
        )
    if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != (C_out,)):
        raise ValueError(f"bias must be None or a Tensor of shape ({C_out},), got "
                         f"{tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__}")
    H_out = conv_output_size(x.shape[2], kH, p[0], s[0], d[0])
    W_out = conv_output_size(x.shape[3], kW, p[1], s[1], d[1])
    xp = pad2d(x, (p[1], p[1], p[0], p[0]), padding_mode) if any(p) else x
    return xp, s, d, (H_out, W_out)


def _window(xp: torch.Tensor, m: int, n: int, s, d, size) -> torch.Tensor:
    """The pixels that kernel offset (m, n) touches for every output position."""
    H_out, W_out = size
    r0, c0 = m * d[0], n * d[1]
    return xp[:, :, r0:r0 + s[0] * (H_out - 1) + 1:s[0], c0:c0 + s[1] * (W_out - 1) + 1:s[1]]


def im2col(
    x: torch.Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """Unfold every receptive field into a column (``F.unfold`` for zero padding).

    Loops run over the ``kH*kW`` kernel offsets only; each offset takes one strided slice of
    all positions at once.

    Args:
        x (Tensor[N, C, H, W]): images.
        kernel_size (int | tuple[int, int]): ``kH, kW``.
        stride, padding, dilation (int | tuple[int, int]): as in ``F.conv2d``.
        padding_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        Tensor[N, C*kH*kW, L]: row ``c*kH*kW + m*kW + n`` holds channel ``c`` at kernel offset
        ``(m, n)``; column ``l = i*W_out + j`` is output position ``(i, j)``.

    Example:
        >>> x = torch.arange(16.).view(1, 1, 4, 4)
        >>> im2col(x, 2, stride=2)[0, :, 0].tolist()  # the top-left 2x2 block
        [0.0, 1.0, 4.0, 5.0]
    """
    kH, kW = pair(kernel_size, "kernel_size")
    weight_shape = torch.empty(1, x.shape[1] if isinstance(x, torch.Tensor) and x.dim() == 4 else 1, kH, kW)
    xp, s, d, size = _prepare(x, weight_shape, None, stride, padding, dilation, 1, padding_mode)
    N, C = x.shape[:2]
    cols = torch.stack([_window(xp, m, n, s, d, size) for m in range(kH) for n in range(kW)], dim=2)
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

    Overlapping windows add up, which is exactly what the input gradient of a convolution
    needs (seed 003's ``h``).

    Args:
        cols (Tensor[N, C*kH*kW, L]): columns as produced by :func:`im2col`.
        output_size (tuple[int, int]): ``(H, W)`` of the image before padding.
        kernel_size, stride, padding, dilation: as for :func:`im2col` (zero padding).

    Returns:
        Tensor[N, C, H, W]

    Example:
        >>> ones = torch.ones(1, 1, 3, 3)
        >>> col2im(im2col(ones, 2), (3, 3), 2)[0, 0].tolist()  # how many windows cover each pixel
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    check_tensor(cols, "cols", 3, "(N, C*kH*kW, L)")
    kH, kW = pair(kernel_size, "kernel_size")
    s, d, p = pair(stride, "stride"), pair(dilation, "dilation"), pair(padding, "padding", 0)
    H, W = pair(tuple(output_size), "output_size")
    H_out, W_out = conv_output_size(H, kH, p[0], s[0], d[0]), conv_output_size(W, kW, p[1], s[1], d[1])
    N, CK, L = cols.shape
    if CK % (kH * kW) or L != H_out * W_out:
        raise ValueError(f"cols has shape {tuple(cols.shape)}; expected (N, C*{kH * kW}, {H_out * W_out})")
    C = CK // (kH * kW)
    cols = cols.reshape(N, C, kH, kW, H_out, W_out)  # (N, C, kH, kW, H_out, W_out)
    out = cols.new_zeros(N, C, H + 2 * p[0], W + 2 * p[1])
    for m in range(kH):
        for n in range(kW):
            r0, c0 = m * d[0], n * d[1]
            out[:, :, r0:r0 + s[0] * (H_out - 1) + 1:s[0], c0:c0 + s[1] * (W_out - 1) + 1:s[1]] += cols[:, :, m, n]
    return out[:, :, p[0]:p[0] + H, p[1]:p[1] + W]


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Convolution (cross-correlation) with an explicit Python loop over output pixels.

    The teaching version: for each output position ``(i, j)`` take the receptive field, multiply
    it with every kernel and sum. Batch and channels are vectorised; pixels are not.

    Args:
        x (Tensor[N, C_in, H, W]): images.
        weight (Tensor[C_out, C_in/groups, kH, kW]): kernels.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride, padding, dilation (int | tuple[int, int]): as in ``F.conv2d``.
        groups (int): split channels into ``groups`` independent convolutions.
        padding_mode (str): ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: for bad types, shapes, channel counts or sizes.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> conv2d_naive(x, w)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    N = x.shape[0]
    C_out, C_g, kH, kW = weight.shape
    w = weight.reshape(groups, C_out // groups, C_g, kH, kW)
    out = x.new_zeros(N, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * s[0], j * s[1]
            patch = xp[:, :, r:r + d[0] * (kH - 1) + 1:d[0], c:c + d[1] * (kW - 1) + 1:d[1]]  # (N, C, kH, kW)
            patch = patch.reshape(N, groups, C_g, kH, kW)
            out[:, :, i, j] = torch.einsum("ngchw,gochw->ngo", patch, w).reshape(N, C_out)
    return _add_bias(out, bias)


def conv2d_im2col(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Convolution as im2col followed by ONE matrix product (GEMM) per group.

    ``W.view(C_out, C*kH*kW) @ cols`` computes every output pixel at once; the price is memory:
    ``cols`` repeats each input pixel up to ``kH*kW`` times.

    Args and Returns: as :func:`conv2d_naive`.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> conv2d_im2col(x, w)[0, 0].tolist()
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    N = x.shape[0]
    C_out, C_g, kH, kW = weight.shape
    cols = im2col(xp, (kH, kW), s, 0, d)  # (N, C*kH*kW, L)
    cols = cols.reshape(N, groups, C_g * kH * kW, H_out * W_out)  # (N, G, C_g*kH*kW, L)
    w = weight.reshape(groups, C_out // groups, C_g * kH * kW)  # (G, C_out/G, C_g*kH*kW)
    out = torch.matmul(w.unsqueeze(0), cols)  # (N, G, C_out/G, L)
    return _add_bias(out.reshape(N, C_out, H_out, W_out), bias)


def conv2d_fft(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Convolution through the FFT (convolution theorem).

    Correlation with ``K`` is multiplication by ``conj(FFT(K))`` in the frequency domain. The
    dilated kernel is zero-padded to the (padded) image size; the circular result equals the
    linear one wherever the kernel does not wrap, which is exactly the "valid" region; stride then
    keeps every ``s``-th row and column. Cost ``O(HW log HW)`` per channel pair, independent of the
    kernel size, so it wins for large kernels.

    Args and Returns: as :func:`conv2d_naive`.

    Example:
        >>> x = torch.arange(9.).view(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> [[round(v, 6) for v in row] for row in conv2d_fft(x, w)[0, 0].tolist()]
        [[8.0, 12.0], [20.0, 24.0]]
    """
    xp, s, d, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    N, C = x.shape[:2]
    C_out, C_g, kH, kW = weight.shape
    if N == 0:  # MKL's FFT rejects empty batches
        return _add_bias(x.new_zeros(0, C_out, H_out, W_out), bias)
    Hp, Wp = xp.shape[2:]
    kernel = weight.new_zeros(C_out, C_g, Hp, Wp)
    kernel[:, :, :d[0] * (kH - 1) + 1:d[0], :d[1] * (kW - 1) + 1:d[1]] = weight  # dilated, zero-padded
    X = torch.fft.rfft2(xp).reshape(N, groups, C_g, Hp, Wp // 2 + 1)  # (N, G, C_g, Hp, Wp/2+1)
    K = torch.fft.rfft2(kernel).conj().reshape(groups, C_out // groups, C_g, Hp, Wp // 2 + 1)
    Y = torch.einsum("ngcuv,gocuv->ngouv", X, K).reshape(N, C_out, Hp, Wp // 2 + 1)
    y = torch.fft.irfft2(Y, s=(Hp, Wp))  # (N, C_out, Hp, Wp) circular correlation
    out = y[:, :, :s[0] * (H_out - 1) + 1:s[0], :s[1] * (W_out - 1) + 1:s[1]]
    return _add_bias(out.contiguous(), bias)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           method: str = "im2col") -> torch.Tensor:
    """Convolution by the chosen ``method``: ``"naive"``, ``"im2col"``, ``"fft"`` or ``"torch"``.

    ``"torch"`` pads with :func:`~cnnlib.ops.pad2d` and calls ``F.conv2d`` (the framework's
    kernel: cuDNN on NVIDIA GPUs, oneDNN on CPUs). All methods return the same values.

    Example:
        >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
        >>> all(torch.allclose(conv2d(x, w, method=m), conv2d(x, w, method="torch"), atol=1e-4)
        ...     for m in ("naive", "im2col", "fft"))
        True
    """
    if method == "naive":
        return conv2d_naive(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if method == "im2col":
        return conv2d_im2col(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if method == "fft":
        return conv2d_fft(x, weight, bias, stride, padding, dilation, groups, padding_mode)
    if method == "torch":
        xp, s, d, _ = _prepare(x, weight, bias, stride, padding, dilation, groups, padding_mode)
        return torch.nn.functional.conv2d(xp, weight, bias, s, 0, d, groups)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, method: str = "im2col") -> torch.Tensor:
    """1-D convolution (e.g. over a one-hot DNA sequence), computed as a 2-D one of height 1.

    Args:
        x (Tensor[N, C_in, L]): sequences.
        weight (Tensor[C_out, C_in, k]): kernels (motif detectors).
        bias (Tensor[C_out] | None): biases.
        stride, padding, dilation (int): along the sequence; zero padding.

    Returns:
        Tensor[N, C_out, L_out]

    Example:
        >>> x = torch.tensor([[[0., 1., 1., 0., 1.]]]); w = torch.tensor([[[1., 1.]]])
        >>> conv1d(x, w)[0, 0].tolist()
        [1.0, 2.0, 1.0, 1.0]
    """
    check_tensor(x, "x", 3, "(N, C_in, L)")
    check_tensor(weight, "weight", 3, "(C_out, C_in, k)")
    for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int for conv1d, got {v!r}")
    out = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), (0, padding), (1, dilation),
                 method=method)
    return out.squeeze(2)


def _single(image: torch.Tensor, kernel: torch.Tensor) -> None:
    check_tensor(image, "image", 2, "(H, W)")
    check_tensor(kernel, "kernel", 2, "(kH, kW)")


def correlate2d(image: torch.Tensor, kernel: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Single-channel cross-correlation ``S(i,j) = sum_mn I(i+m, j+n) K(m, n)`` (scipy's modes).

    Args:
        image (Tensor[H, W]): one image.
        kernel (Tensor[kH, kW]): one kernel.
        mode (str): ``"full"`` (every overlap, size ``H+kH-1``), ``"valid"`` (kernel inside the
            image, size ``H-kH+1``) or ``"same"`` (size ``H``, centred as ``scipy.signal``).

    Returns:
        Tensor: the correlation, equal to ``scipy.signal.correlate2d(image, kernel, mode)``.

    Example:
        >>> correlate2d(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0.]]), "valid").tolist()
        [[1.0, 2.0]]
    """
    _single(image, kernel)
    return convolve2d(image, kernel.flip(0, 1), mode, _flipped_for="correlate")


def convolve2d(image: torch.Tensor, kernel: torch.Tensor, mode: str = "full",
               _flipped_for: str = "convolve") -> torch.Tensor:
    """Single-channel TRUE convolution ``S(i,j) = sum_mn I(m, n) K(i-m, j-n)`` (kernel flipped).

    Commutative (``convolve2d(I, K, "full") == convolve2d(K, I, "full")``), unlike correlation.

    Args and Returns: as :func:`correlate2d`; equals ``scipy.signal.convolve2d``.

    Example:
        >>> convolve2d(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0.]]), "valid").tolist()
        [[2.0, 3.0]]
    """
    _single(image, kernel)
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"mode must be 'full', 'valid' or 'same', got {mode!r}")
    kH, kW = kernel.shape
    H, W = image.shape
    if mode == "valid" and (kH > H or kW > W):
        raise ValueError(f"'valid' needs the kernel {tuple(kernel.shape)} to fit in the image {(H, W)}")
    flipped = kernel.flip(0, 1)  # convolution = correlation with the flipped kernel
    full = conv2d_im2col(image.view(1, 1, H, W), flipped.reshape(1, 1, kH, kW), padding=(kH - 1, kW - 1))[0, 0]
    if mode == "full":
        return full
    if mode == "valid":
        return full[kH - 1:H, kW - 1:W]
    # scipy centres "same" on the full result; correlate2d's offset differs for even kernels
    # because scipy computes it as a convolution with the flipped kernel of the SAME origin.
    r0 = (kH - 1) // 2 if _flipped_for == "convolve" else kH // 2
    c0 = (kW - 1) // 2 if _flipped_for == "convolve" else kW // 2
    return full[r0:r0 + H, c0:c0 + W]
