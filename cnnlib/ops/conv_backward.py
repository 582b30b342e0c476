"""The backward pass of a strided, dilated, zero-padded convolution, written by hand.

With ``G = dJ/dZ`` the gradient flowing into the layer's output, seed 003 (Goodfellow et al.,
*Deep Learning*, section 9.5) gives the two gradients of ``Z = c(K, V, s)``:

- kernel (``g``):  ``dJ/dK[o,c,m,n] = sum_{i,j} G[o,i,j] * V[c, i*s + m*d, j*s + n*d]``
  — a correlation of the input with the output gradient. With ``cols = im2col(V)`` this is one
  matrix product ``G @ cols^T``.
- input (``h``):   ``dJ/dV[c,y,x] = sum over (o, i, j, m, n) with i*s + m*d = y, j*s + n*d = x of
  K[o,c,m,n] * G[o,i,j]`` — every output that used pixel ``(y, x)`` sends back its gradient times
  the weight it used. That is ``col2im(K^T @ G)``, a transposed convolution.
- bias: ``dJ/db[o] = sum_{n,i,j} G[n,o,i,j]``.

:class:`Conv2dFunction` plugs these into autograd, so ``torch.autograd.gradcheck`` can test them.
"""

from __future__ import annotations

import torch

from cnnlib.ops._checks import check_tensor, pair
from cnnlib.ops.conv import col2im, conv2d_im2col, im2col

__all__ = ["conv2d_backward", "Conv2dFunction", "conv2d_manual"]


def conv2d_backward(
    dout: torch.Tensor,
    x: torch.Tensor,
    weight: torch.Tensor,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of a zero-padded ``conv2d`` w.r.t. its input, kernel and bias.

    Args:
        dout (Tensor[N, C_out, H_out, W_out]): ``dJ/dZ``, the upstream gradient.
        x (Tensor[N, C_in, H, W]): the forward input ``V``.
        weight (Tensor[C_out, C_in, kH, kW]): the kernels ``K``.
        stride, padding, dilation (int | tuple[int, int]): as in the forward pass.

    Returns:
        tuple: ``dx`` (Tensor[N, C_in, H, W], seed 003's ``h``), ``dw``
        (Tensor[C_out, C_in, kH, kW], seed 003's ``g``) and ``db`` (Tensor[C_out]).

    Raises:
        ValueError: if ``dout`` does not have the forward output's shape.

    Example:
        >>> x = torch.ones(1, 1, 3, 3); w = torch.ones(1, 1, 2, 2)
        >>> dx, dw, db = conv2d_backward(torch.ones(1, 1, 2, 2), x, w)
        >>> dx[0, 0].tolist(), db.tolist()
        ([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], [4.0])
    """
    check_tensor(dout, "dout", 4, "(N, C_out, H_out, W_out)")
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 4, "(C_out, C_in, kH, kW)")
    C_out, C_in, kH, kW = weight.shape
    cols = im2col(x, (kH, kW), stride, padding, dilation)  # (N, C_in*kH*kW, L)
    N, _, L = cols.shape
    if dout.shape[:2] != (N, C_out) or dout.shape[2] * dout.shape[3] != L:
        raise ValueError(f"dout must have the forward output's shape (N={N}, C_out={C_out}, "
                         f"{L} positions), got {tuple(dout.shape)}")
    G = dout.reshape(N, C_out, L)  # (N, C_out, L)
    dw = torch.einsum("nol,nkl->ok", G, cols).reshape(weight.shape)  # g: sum_ij G * V-window
    dcols = torch.einsum("ok,nol->nkl", weight.reshape(C_out, -1), G)  # (N, C_in*kH*kW, L)
    dx = col2im(dcols, x.shape[2:], (kH, kW), stride, padding, dilation)  # h: scatter-add
    db = dout.sum(dim=(0, 2, 3))
    return dx, dw, db


class Conv2dFunction(torch.autograd.Function):
    """``conv2d`` with the forward of :func:`~cnnlib.ops.conv2d_im2col` and the backward of
    :func:`conv2d_backward`, so autograd uses the hand-written gradients."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation):  # type: ignore[override]
        """Convolve with :func:`~cnnlib.ops.conv2d_im2col`, saving ``x`` and ``weight``."""
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation)
        ctx.has_bias = bias is not None
        return conv2d_im2col(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        """Return :func:`conv2d_backward`'s ``(dx, dw, db)`` (``None`` for the other arguments)."""
        x, weight = ctx.saved_tensors
        dx, dw, db = conv2d_backward(dout, x, weight, *ctx.conf)
        return dx, dw, (db if ctx.has_bias else None), None, None, None


def conv2d_manual(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Zero-padded ``conv2d`` whose gradients come from :func:`conv2d_backward`.

    Example:
        >>> x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
        >>> w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
        >>> torch.autograd.gradcheck(lambda a, b: conv2d_manual(a, b, stride=2), (x, w))
        True
    """
    pair(stride, "stride"), pair(padding, "padding", 0), pair(dilation, "dilation")
    return Conv2dFunction.apply(x, weight, bias, stride, padding, dilation)
