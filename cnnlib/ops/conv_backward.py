"""The backward pass of a strided, dilated, zero-padded convolution, written by hand.

Seed 003 (Goodfellow et al., *Deep Learning*, section 9.5) trains a convolution layer
``Z = c(K, V, s)`` with two more operations. With ``G = dJ/dZ`` the gradient arriving at the
layer's output and 0-based indices (the notes count from 1), stride ``s`` and dilation ``d``:

- kernel gradient, seed 003's ``g`` (weight gradient computation)::

      g(G, V, s)[o, c, m, n] = sum_{i,j} G[o, i, j] * V[c, i*s + m*d, j*s + n*d]

  a correlation of the input with the output gradient; with ``cols = im2col(V)`` it is the one
  matrix product ``G @ cols^T``, summed over the batch.
- input gradient, seed 003's ``h`` (the "deconvolution", i.e. multiplication by the transpose)::

      h(K, G, s)[c, y, x] = sum over (o, i, m) with i*s + m*d = y, (j, n) with j*s + n*d = x
                            of K[o, c, m, n] * G[o, i, j]

  every output that used pixel ``(y, x)`` sends back its gradient times the weight it used:
  ``col2im(K^T @ G)``, a transposed convolution. Gradient that lands on the zero padding is
  dropped by ``col2im``.
- bias: ``dJ/db[o] = sum_{n,i,j} G[n, o, i, j]``.

:class:`Conv2dFunction` plugs these into autograd, so ``torch.autograd.gradcheck`` can test them.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_bias, check_like, check_tensor, pair
from cnnlib.ops.conv import conv2d_im2col
from cnnlib.ops.unfold import col2im, im2col

__all__ = ["conv2d_backward", "Conv2dFunction", "conv2d_manual"]

IntPair = int | tuple[int, int]


def conv2d_backward(
    dout: torch.Tensor,
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of a zero-padded ``conv2d`` with respect to its input, kernels and bias.

    Args:
        dout (Tensor[N, C_out, H_out, W_out]): ``G = dJ/dZ``, the upstream gradient.
        x (Tensor[N, C_in, H, W]): the forward input ``V``.
        weight (Tensor[C_out, C_in, kH, kW]): the kernels ``K`` (``groups = 1``).
        stride (int | tuple[int, int]): as in the forward pass.
        padding (int | tuple[int, int]): zero padding of the forward pass.
        dilation (int | tuple[int, int]): as in the forward pass.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``dx`` (Tensor[N, C_in, H, W], seed 003's ``h``, by
        :func:`~cnnlib.ops.col2im`), ``dw`` (Tensor[C_out, C_in, kH, kW], seed 003's ``g``, by
        :func:`~cnnlib.ops.im2col` and one matrix product) and ``db`` (Tensor[C_out]).

    Raises:
        TypeError: for a non-tensor or mixed dtypes.
        ValueError: for wrong shapes, mismatched channels or devices, or a ``dout`` that does
            not have the forward output's shape.

    Example:
        >>> x = torch.ones(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> dx, dw, db = conv2d_backward(torch.ones(1, 1, 2, 2), x, w)
        >>> dx[0, 0].tolist(), db.tolist()  # how many windows used each pixel; 4 outputs
        ([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], [4.0])
    """
    check_tensor(dout, "dout", 4, "(N, C_out, H_out, W_out)")
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_out, C_in, kH, kW)")
    check_like(weight, "weight", x)
    check_like(dout, "dout", x)
    C_out, C_in, kH, kW = weight.shape
    if x.shape[1] != C_in:
        raise ValueError(f"weight must have shape (C_out, {x.shape[1]}, kH, kW) for x with "
                         f"{x.shape[1]} channels, got {tuple(weight.shape)}")
    cols = im2col(x, (kH, kW), stride, padding, dilation)  # (N, C_in*kH*kW, L)
    N, _, L = cols.shape
    if dout.shape[:2] != (N, C_out) or dout.shape[2] * dout.shape[3] != L:
        raise ValueError(f"dout must have the forward output's shape (N={N}, C_out={C_out}, "
                         f"H_out*W_out={L}), got {tuple(dout.shape)}")
    G = dout.reshape(N, C_out, L)  # (N, C_out, L)
    dw = torch.einsum("nol,nkl->ok", G, cols).reshape(weight.shape)  # g: sum_ij G * V-window
    dcols = torch.einsum("ok,nol->nkl", weight.reshape(C_out, -1), G)  # (N, C_in*kH*kW, L): K^T G
    dx = col2im(dcols, tuple(x.shape[2:]), (kH, kW), stride, padding, dilation)  # h: scatter-add
    db = dout.sum(dim=(0, 2, 3))  # (C_out,)
    return dx, dw, db


class Conv2dFunction(torch.autograd.Function):
    """``conv2d`` whose autograd backward is the hand-written :func:`conv2d_backward`.

    The forward pass is :func:`~cnnlib.ops.conv2d_im2col` (zero padding, ``groups = 1``).
    Call it through :func:`conv2d_manual`.

    Example:
        >>> x = torch.ones(1, 1, 3, 3, requires_grad=True); w = torch.ones(1, 1, 2, 2)
        >>> Conv2dFunction.apply(x, w, None, 1, 0, 1).sum().backward()
        >>> x.grad[0, 0, 1].tolist()
        [2.0, 4.0, 2.0]
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):  # type: ignore[override]
        """Convolve with :func:`~cnnlib.ops.conv2d_im2col`, saving ``x`` and ``weight``."""
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation)
        ctx.has_bias = bias is not None
        return conv2d_im2col(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        """Return :func:`conv2d_backward`'s ``(dx, dw, db)``, and ``None`` for the settings."""
        x, weight = ctx.saved_tensors
        dx, dw, db = conv2d_backward(dout.contiguous(), x, weight, *ctx.conf)
        return dx, dw, (db if ctx.has_bias else None), None, None, None


def conv2d_manual(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """Zero-padded ``conv2d`` whose gradients come from :func:`conv2d_backward`.

    Args:
        x (Tensor[N, C_in, H, W]): images.
        weight (Tensor[C_out, C_in, kH, kW]): kernels, dtype and device of ``x``.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int | tuple[int, int]): step between receptive fields.
        padding (int | tuple[int, int]): zero padding on each side.
        dilation (int | tuple[int, int]): spacing between kernel taps.

    Returns:
        Tensor[N, C_out, H_out, W_out]: differentiable in ``x``, ``weight`` and ``bias``.

    Raises:
        TypeError, ValueError: as :func:`~cnnlib.ops.conv2d_im2col`.

    Example:
        >>> x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
        >>> w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
        >>> torch.autograd.gradcheck(lambda a, b: conv2d_manual(a, b, stride=2), (x, w))
        True
    """
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_out, C_in, kH, kW)")
    check_bias(bias, (weight.shape[0],), x)
    stride, padding = pair(stride, "stride"), pair(padding, "padding", 0)
    dilation = pair(dilation, "dilation")
    return Conv2dFunction.apply(x, weight, bias, stride, padding, dilation)
