"""Unshared (locally connected) and tiled convolution (seed 003; Goodfellow et al., section 9.5).

A locally connected layer keeps convolution's sparse connectivity but gives every output
position its own kernel, a 6-D weight ``w[j, k, i, l, m, n]`` (output row, output column,
output channel, input channel, kernel row, kernel column):

.. math:: Z_{i,j,k} = \\sum_{l,m,n} V_{l,\\, j s + m,\\, k s + n} \\; w_{j,k,i,l,m,n}

Tiled convolution (Gregor & LeCun 2010; Le et al. 2010) sits between the two: a set of
``t_h x t_w`` kernels is cycled over the output, position ``(j, k)`` using kernel
``(j mod t_h, k mod t_w)``. With ``t = 1`` it is ordinary convolution; with ``t`` equal to the
output size it is locally connected.
"""

from __future__ import annotations

import torch

from cnnlib.ops._checks import check_tensor, pair
from cnnlib.ops.sizes import conv_output_size

__all__ = ["locally_connected2d", "tiled_conv2d"]


def locally_connected2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Convolution without parameter sharing: one kernel per output position.

    Args:
        x (Tensor[N, C_in, H, W]): images (no padding is added).
        weight (Tensor[H_out, W_out, C_out, C_in, kH, kW]): a kernel stack per output position.
        bias (Tensor[C_out, H_out, W_out] | None): a bias per output unit.
        stride (int | tuple[int, int]): step between receptive fields.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        ValueError: if ``weight``'s first two sizes are not the output size or channels differ.

    Example:
        >>> x = torch.ones(1, 1, 3, 3); w = torch.ones(2, 2, 1, 1, 2, 2)
        >>> w[1, 1] *= 10  # only the bottom-right position uses a larger kernel
        >>> locally_connected2d(x, w)[0, 0].tolist()
        [[4.0, 4.0], [4.0, 40.0]]
    """
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 6, "(H_out, W_out, C_out, C_in, kH, kW)")
    s = pair(stride, "stride")
    Ho_w, Wo_w, C_out, C_in, kH, kW = weight.shape
    H_out = conv_output_size(x.shape[2], kH, 0, s[0])
    W_out = conv_output_size(x.shape[3], kW, 0, s[1])
    if (Ho_w, Wo_w) != (H_out, W_out) or C_in != x.shape[1]:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}; for x of shape {tuple(x.shape)} with stride {s} "
            f"expected ({H_out}, {W_out}, C_out, {x.shape[1]}, {kH}, {kW})"
        )
    if bias is not None and bias.shape != (C_out, H_out, W_out):
        raise ValueError(f"bias must have shape {(C_out, H_out, W_out)}, got {tuple(bias.shape)}")
    win = x.unfold(2, kH, s[0]).unfold(3, kW, s[1])  # (N, C_in, H_out, W_out, kH, kW)
    out = torch.einsum("nchwij,hwocij->nohw", win, weight)  # (N, C_out, H_out, W_out)
    return out if bias is None else out + bias


def tiled_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Tiled convolution: ``t_h x t_w`` kernel stacks cycled over output positions.

    Args:
        x (Tensor[N, C_in, H, W]): images (no padding is added).
        weight (Tensor[t_h, t_w, C_out, C_in, kH, kW]): the tile of kernel stacks.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int | tuple[int, int]): step between receptive fields.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Example:
        >>> x = torch.ones(1, 1, 4, 4); w = torch.ones(2, 1, 1, 1, 2, 2); w[1] *= -1
        >>> tiled_conv2d(x, w)[0, 0].tolist()  # rows alternate between the two kernels
        [[4.0, 4.0, 4.0], [-4.0, -4.0, -4.0], [4.0, 4.0, 4.0]]
    """
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 6, "(t_h, t_w, C_out, C_in, kH, kW)")
    s = pair(stride, "stride")
    t_h, t_w, C_out, _, kH, kW = weight.shape
    H_out = conv_output_size(x.shape[2], kH, 0, s[0])
    W_out = conv_output_size(x.shape[3], kW, 0, s[1])
    rows = torch.arange(H_out, device=weight.device) % t_h
    cols = torch.arange(W_out, device=weight.device) % t_w
    full = weight[rows][:, cols]  # (H_out, W_out, C_out, C_in, kH, kW): kernel (j % t, k % t)
    local_bias = None if bias is None else bias.view(C_out, 1, 1).expand(C_out, H_out, W_out)
    if bias is not None and bias.shape != (C_out,):
        raise ValueError(f"bias must have shape ({C_out},), got {tuple(bias.shape)}")
    return locally_connected2d(x, full, local_bias, s)
