"""Transposed convolution ("deconvolution") three ways and its checkerboard overlap.

A convolution with stride ``s``, padding ``p`` and dilation ``d`` is a linear map ``y -> C y``.
Its transpose ``x -> C^T x`` maps the small grid back to the large one: it is the gradient of
the convolution with respect to its input (:mod:`~cnnlib.ops.conv_backward`'s ``h``), and the
learnable upsampling layer of segmentation networks (Long, Shelhamer & Darrell, *Fully
convolutional networks*, 2015). Along one axis (Dumoulin & Visin, *A guide to convolution
arithmetic*, 2016, relationship 14) an input of size ``n`` gives

.. math:: n_{out} = (n - 1) s - 2p + d(f - 1) + \\text{output\\_padding} + 1.

The same number three ways, each equal to ``F.conv_transpose2d`` (tested to 1e-10 in float64):

- :func:`conv_transpose2d`: every input pixel paints a copy of the kernel, scaled by its value,
  onto the output; ``cols = W^T x`` then :func:`~cnnlib.ops.col2im` adds the copies up.
- :func:`conv_transpose2d_zero_insertion`: put ``s - 1`` zeros between input pixels, pad by
  ``d(f-1) - p`` and run an ordinary stride-1 convolution with the flipped kernel.
- :func:`conv_transpose2d_as_gradient`: ask autograd for the vector-Jacobian product of
  ``F.conv2d`` with respect to its input.

Where the kernel size is not a multiple of the stride, output pixels receive unequal numbers of
kernel taps (:func:`transpose_overlap`): the checkerboard artefacts of Odena, Dumoulin & Olah,
*Deconvolution and checkerboard artifacts*, Distill 2016. :func:`max_unpool2d` is the
unpooling of Noh, Hong & Han, *Learning deconvolution network for semantic segmentation*, 2015:
each value goes back to the place where max pooling found its maximum, zeros elsewhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib._checks import check_bias, check_int, check_like, check_tensor, pair
from cnnlib.ops.conv import conv2d_im2col
from cnnlib.ops.unfold import col2im

__all__ = [
    "conv_transpose_output_size", "conv_transpose2d", "conv_transpose2d_zero_insertion",
    "conv_transpose2d_as_gradient", "transpose_overlap",
]

IntPair = int | tuple[int, int]


def conv_transpose_output_size(n: int, f: int, s: int = 1, p: int = 0, output_padding: int = 0,
                               d: int = 1) -> int:
    """Spatial output size of a transposed convolution along one axis.

    The rule inverts :func:`~cnnlib.ops.conv_output_size`: a convolution with the same ``f, p,
    s, d`` maps an input of this size back to ``n``. Because that convolution floors, ``s``
    input sizes map to the same ``n``; ``output_padding`` (added on one side only) picks among
    them. Note the argument order follows ``F.conv_transpose2d`` (stride before padding).

    Args:
        n (int): input size (>= 1).
        f (int): kernel size (>= 1).
        s (int): stride (>= 1).
        p (int): padding of the matching convolution, removed from EACH side (>= 0).
        output_padding (int): extra rows added at the bottom/right (>= 0, and smaller than
            ``s`` or ``d``, as PyTorch requires).
        d (int): dilation (>= 1).

    Returns:
        int: ``(n - 1) s - 2p + d(f - 1) + output_padding + 1`` (>= 1).

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if an argument is out of range, ``output_padding`` is not smaller than
            ``s`` or ``d``, or the result would be smaller than 1.

    Example:
        >>> [conv_transpose_output_size(4, 3, s=2, p=1, output_padding=a) for a in (0, 1)]
        [7, 8]
        >>> conv_transpose_output_size(16, 4, s=2, p=1)  # the usual 2x upsampling layer
        32
    """
    n, f, s, p = check_int(n, "n", 1), check_int(f, "f", 1), check_int(s, "s", 1), check_int(p, "p", 0)
    output_padding, d = check_int(output_padding, "output_padding", 0), check_int(d, "d", 1)
    if output_padding >= max(s, d):
        raise ValueError(f"output_padding must be smaller than the stride s={s} or the dilation "
                         f"d={d}, got output_padding={output_padding}")
    size = (n - 1) * s - 2 * p + d * (f - 1) + output_padding + 1
    if size < 1:
        raise ValueError(f"padding p={p} removes the whole output: (n-1)*s - 2p + d*(f-1) + "
                         f"output_padding + 1 = {size} for n={n}, f={f}, s={s}, d={d}")
    return size


def _prepare(x, weight, bias, stride, padding, output_padding, groups, dilation):
    """Validate; return ``(stride, padding, output_padding, dilation, groups, (H_out, W_out))``."""
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_in, C_out/groups, kH, kW)")
    check_like(weight, "weight", x)
    groups = check_int(groups, "groups", 1)
    C_in, C_out_g, kH, kW = weight.shape
    if x.shape[1] != C_in or C_in % groups:
        raise ValueError(f"weight must have shape (C_in, C_out/groups, kH, kW) with C_in = x's "
                         f"{x.shape[1]} channels divisible by groups={groups}, got {tuple(weight.shape)}")
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"x must have H, W >= 1, got shape {tuple(x.shape)}")
    check_bias(bias, (C_out_g * groups,), x)
    s, p = pair(stride, "stride"), pair(padding, "padding", 0)
    op, d = pair(output_padding, "output_padding", 0), pair(dilation, "dilation")
    size = tuple(conv_transpose_output_size(x.shape[2 + a], weight.shape[2 + a], s[a], p[a], op[a], d[a])
                 for a in (0, 1))
    return s, p, op, d, groups, size


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv_transpose2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """Transposed convolution as ``col2im(W^T x)``: each input pixel paints a scaled kernel.

    Column ``l`` of ``cols = W^T x`` is the kernel stack weighted by input pixel ``l``;
    :func:`~cnnlib.ops.col2im` adds each column onto the window a convolution would have read
    (stride ``s``, dilation ``d``), so overlapping copies sum. The result is then grown by
    ``output_padding`` at the bottom/right and cropped by ``padding`` on every side.

    Args:
        x (Tensor[N, C_in, H, W]): feature maps.
        weight (Tensor[C_in, C_out/groups, kH, kW]): kernels in PyTorch's transposed layout,
            dtype and device of ``x``.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int | tuple[int, int]): upsampling factor (the matching convolution's stride).
        padding (int | tuple[int, int]): rows/columns cropped from each side.
        output_padding (int | tuple[int, int]): rows/columns added at the bottom/right.
        groups (int): split the channels into ``groups`` independent transposed convolutions.
        dilation (int | tuple[int, int]): spacing between kernel taps.

    Returns:
        Tensor[N, C_out, H_out, W_out]: sizes from :func:`conv_transpose_output_size`.

    Raises:
        TypeError: for a non-tensor, a non-int hyper-parameter, or mixed dtypes.
        ValueError: for wrong shapes, channels not matching ``weight`` or not divisible by
            ``groups``, another device, or hyper-parameters that leave no output.

    Example:
        >>> x = torch.tensor([[[[1., 2.], [3., 4.]]]]); w = torch.ones(1, 1, 2, 2)
        >>> conv_transpose2d(x, w, stride=2)[0, 0].tolist()  # each pixel becomes a 2x2 block
        [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]
    """
    s, p, op, d, groups, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, output_padding,
                                                   groups, dilation)
    N, C_in, H, W = x.shape
    _, C_out_g, kH, kW = weight.shape
    w = weight.reshape(groups, C_in // groups, C_out_g * kH * kW)  # (G, C_in/G, C_out/G*kH*kW)
    xs = x.reshape(N, groups, C_in // groups, H * W)  # (N, G, C_in/G, L), L = H*W
    cols = torch.matmul(w.transpose(1, 2), xs)  # (N, G, C_out/G*kH*kW, L): W^T x
    cols = cols.reshape(N, groups * C_out_g * kH * kW, H * W)  # (N, C_out*kH*kW, L)
    Hf, Wf = (H - 1) * s[0] + d[0] * (kH - 1) + 1, (W - 1) * s[1] + d[1] * (kW - 1) + 1
    full = col2im(cols, (Hf, Wf), (kH, kW), s, 0, d)  # (N, C_out, Hf, Wf): before padding is cut
    full = F.pad(full, (0, op[1], 0, op[0]))  # (N, C_out, Hf+oph, Wf+opw): output_padding
    out = full[:, :, p[0]:p[0] + H_out, p[1]:p[1] + W_out]  # (N, C_out, H_out, W_out)
    return _add_bias(out, bias)


def conv_transpose2d_zero_insertion(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """Transposed convolution as zero insertion + padding + a stride-1 convolution.

    Dumoulin & Visin's picture: insert ``s - 1`` zeros between neighbouring input pixels, pad by
    ``d(k-1) - p`` on each side (plus ``output_padding`` at the bottom/right; a negative amount
    crops), then convolve at stride 1 with the kernel flipped in both spatial axes and its
    input/output channels swapped. Simple, but most multiplications hit inserted zeros.

    Args:
        x, weight, bias, stride, padding, output_padding, groups, dilation: as
            :func:`conv_transpose2d`.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: as :func:`conv_transpose2d`.

    Example:
        >>> x = torch.tensor([[[[1., 2.]]]]); w = torch.tensor([[[[1., 10., 100.]]]])
        >>> conv_transpose2d_zero_insertion(x, w, stride=2)[0, 0].tolist()
        [[1.0, 10.0, 102.0, 20.0, 200.0]]
    """
    s, p, op, d, groups, _ = _prepare(x, weight, bias, stride, padding, output_padding, groups, dilation)
    N, C_in, H, W = x.shape
    _, C_out_g, kH, kW = weight.shape
    z = x.new_zeros(N, C_in, (H - 1) * s[0] + 1, (W - 1) * s[1] + 1)
    z[:, :, ::s[0], ::s[1]] = x  # (N, C_in, (H-1)sh+1, (W-1)sw+1): s-1 zeros between pixels
    qh, qw = d[0] * (kH - 1) - p[0], d[1] * (kW - 1) - p[1]
    z = F.pad(z, (qw, qw + op[1], qh, qh + op[0]))  # (N, C_in, H_out+dh(kH-1), W_out+dw(kW-1)); < 0 crops
    w = weight.flip(2, 3).reshape(groups, C_in // groups, C_out_g, kH, kW)  # (G, C_in/G, C_out/G, kH, kW)
    w = w.transpose(1, 2).reshape(groups * C_out_g, C_in // groups, kH, kW)  # (C_out, C_in/G, kH, kW)
    return conv2d_im2col(z, w, bias, 1, 0, d, groups)  # (N, C_out, H_out, W_out)


def conv_transpose2d_as_gradient(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """Transposed convolution as the gradient of a convolution with respect to its input.

    With ``c(y) = F.conv2d(y, weight, None, stride, padding, dilation, groups)`` a linear map,
    ``x^T c(y) = (c^T x)^T y``, so ``d(x . c(y)) / dy = c^T x`` at any ``y`` (zeros here): the
    vector-Jacobian product autograd computes for backpropagation. ``y`` gets the size of
    :func:`conv_transpose_output_size`; ``create_graph=True`` keeps the result differentiable in
    ``x``, ``weight`` and ``bias``. (When ``output_padding >= stride``, allowed since it is below
    the dilation, ``c(y)`` has extra rows; they receive zeros.)

    Args:
        x, weight, bias, stride, padding, output_padding, groups, dilation: as
            :func:`conv_transpose2d`.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: as :func:`conv_transpose2d`.

    Example:
        >>> x = torch.tensor([[[[1., 2.]]]]); w = torch.tensor([[[[1., 10., 100.]]]])
        >>> conv_transpose2d_as_gradient(x, w, stride=2)[0, 0].tolist()
        [[1.0, 10.0, 102.0, 20.0, 200.0]]
    """
    s, p, op, d, groups, (H_out, W_out) = _prepare(x, weight, bias, stride, padding, output_padding,
                                                   groups, dilation)
    N, _, H, W = x.shape
    keep_graph = torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad)
    with torch.enable_grad():
        y = x.new_zeros(N, weight.shape[1] * groups, H_out, W_out, requires_grad=True)
        z = F.conv2d(y, weight, None, s, p, d, groups)  # (N, C_in, H + oph//sh, W + opw//sw)
        v = F.pad(x, (0, z.shape[3] - W, 0, z.shape[2] - H))  # (N, C_in, ...) shaped like z
        (out,) = torch.autograd.grad(z, y, grad_outputs=v, create_graph=keep_graph)  # c^T x
    return _add_bias(out if keep_graph else out.detach(), bias)  # (N, C_out, H_out, W_out)


def transpose_overlap(n: IntPair, kernel_size: IntPair, stride: IntPair) -> torch.Tensor:
    """How many kernel taps land on each output pixel of a transposed convolution.

    The output of an all-ones input and all-ones kernel (no padding, no dilation). Where the
    kernel size is a multiple of the stride, interior pixels all get the same count; otherwise
    the counts alternate, and a 2-D map is the outer product of the two 1-D ones, a checkerboard
    (Odena, Dumoulin & Olah, *Deconvolution and checkerboard artifacts*, Distill 2016).

    Args:
        n (int | tuple[int, int]): input size ``H`` or ``(H, W)``.
        kernel_size (int | tuple[int, int]): ``kH, kW``.
        stride (int | tuple[int, int]): upsampling factor.

    Returns:
        Tensor[H_out, W_out]: int64 counts, ``H_out = (H-1) sh + kH``.

    Raises:
        TypeError, ValueError: for a non-int or a value below 1.

    Example:
        >>> transpose_overlap(3, 3, 2)[2].tolist()  # kernel 3, stride 2: uneven
        [2, 2, 4, 2, 4, 2, 2]
        >>> transpose_overlap(3, 4, 2)[3].tolist()  # kernel 4, stride 2: even inside
        [2, 2, 4, 4, 4, 4, 2, 2]
    """
    (H, W), k, s = pair(n, "n"), pair(kernel_size, "kernel_size"), pair(stride, "stride")
    H_out, W_out = (H - 1) * s[0] + k[0], (W - 1) * s[1] + k[1]
    cols = torch.ones(1, k[0] * k[1], H * W, dtype=torch.float64)  # W^T x for all-ones W, x
    return col2im(cols, (H_out, W_out), k, s)[0, 0].round().long()  # (H_out, W_out)
