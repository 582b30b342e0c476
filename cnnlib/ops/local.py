"""Unshared (locally connected) and tiled convolution (seed 003; Goodfellow et al., section 9.5).

A locally connected layer keeps convolution's sparse connectivity but gives every output
position its own kernel: a 6-D weight. Seed 003 writes it (1-based, stride 1) as
``Z[i,j,k] = sum_{l,m,n} V[l, j+m-1, k+n-1] w[i,j,k,l,m,n]`` with ``i`` the output channel,
``(j, k)`` the output position, ``l`` the input channel and ``(m, n)`` the kernel offset. Here
the weight is stored position-first, ``w[j, k, i, l, m, n]``, so that ``w[j, k]`` is an ordinary
``(C_out, C_in, kH, kW)`` kernel stack, and with stride ``s`` (0-based):

.. math:: Z_{i,j,k} = \\sum_{l,m,n} V_{l,\\, j s + m,\\, k s + n} \\; w_{j,k,i,l,m,n}

Tiled convolution (Gregor & LeCun 2010; Le et al. 2010; seed 003) sits between the two: a tile
of ``t_h x t_w`` kernel stacks is cycled over the output, position ``(j, k)`` using stack
``(j mod t_h, k mod t_w)`` (seed 003's ``K[..., j%t+1, k%t+1]``). With ``t = 1`` it is ordinary
convolution; with ``t = (H_out, W_out)`` it is locally connected.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_bias, check_like, check_tensor, pair
from cnnlib.ops.sizes import conv_output_size

__all__ = ["locally_connected2d", "tiled_conv2d"]

IntPair = int | tuple[int, int]


def locally_connected2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
) -> torch.Tensor:
    """Convolution without parameter sharing: one kernel stack per output position.

    Args:
        x (Tensor[N, C_in, H, W]): images (no padding is added).
        weight (Tensor[H_out, W_out, C_out, C_in, kH, kW]): a kernel stack per output position,
            dtype and device of ``x``.
        bias (Tensor[C_out, H_out, W_out] | None): a bias per output unit.
        stride (int | tuple[int, int]): step between receptive fields.

    Returns:
        Tensor[N, C_out, H_out, W_out]: ``H_out = floor((H - kH)/s) + 1``.

    Raises:
        TypeError: for a non-tensor, a non-int stride or mixed dtypes.
        ValueError: if ``weight``'s first two sizes are not the output size, its channels are
            not those of ``x``, or ``bias`` has the wrong shape.

    Example:
        >>> x = torch.ones(1, 1, 3, 3); w = torch.ones(2, 2, 1, 1, 2, 2)
        >>> w[1, 1] *= 10  # only the bottom-right position uses a larger kernel
        >>> locally_connected2d(x, w)[0, 0].tolist()
        [[4.0, 4.0], [4.0, 40.0]]
    """
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 6, "(H_out, W_out, C_out, C_in, kH, kW)")
    check_like(weight, "weight", x)
    s = pair(stride, "stride")
    Ho_w, Wo_w, C_out, C_in, kH, kW = weight.shape
    H_out = conv_output_size(x.shape[2], kH, 0, s[0])
    W_out = conv_output_size(x.shape[3], kW, 0, s[1])
    if (Ho_w, Wo_w) != (H_out, W_out) or C_in != x.shape[1]:
        raise ValueError(
            f"weight must have shape ({H_out}, {W_out}, C_out, {x.shape[1]}, {kH}, {kW}) for x of "
            f"shape {tuple(x.shape)} and stride {s}, got {tuple(weight.shape)}"
        )
    check_bias(bias, (C_out, H_out, W_out), x)
    win = x.unfold(2, kH, s[0]).unfold(3, kW, s[1])  # (N, C_in, H_out, W_out, kH, kW)
    out = torch.einsum("nlhwmk,hwolmk->nohw", win, weight)  # (N, C_out, H_out, W_out)
    return out if bias is None else out + bias


def tiled_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
) -> torch.Tensor:
    """Tiled convolution: ``t_h x t_w`` kernel stacks cycled over the output positions.

    Args:
        x (Tensor[N, C_in, H, W]): images (no padding is added).
        weight (Tensor[t_h, t_w, C_out, C_in, kH, kW]): the tile of kernel stacks; output
            position ``(j, k)`` uses ``weight[j % t_h, k % t_w]``.
        bias (Tensor[C_out] | None): one bias per output channel.
        stride (int | tuple[int, int]): step between receptive fields.

    Returns:
        Tensor[N, C_out, H_out, W_out]

    Raises:
        TypeError, ValueError: as :func:`locally_connected2d`; ``bias`` must be ``(C_out,)``.

    Example:
        >>> x = torch.ones(1, 1, 4, 4); w = torch.ones(2, 1, 1, 1, 2, 2); w[1] *= -1
        >>> tiled_conv2d(x, w)[0, 0].tolist()  # rows alternate between the two kernels
        [[4.0, 4.0, 4.0], [-4.0, -4.0, -4.0], [4.0, 4.0, 4.0]]
    """
    check_tensor(x, "x", 4, "(N, C_in, H, W)")
    check_tensor(weight, "weight", 6, "(t_h, t_w, C_out, C_in, kH, kW)")
    s = pair(stride, "stride")
    t_h, t_w, C_out, _, kH, kW = weight.shape
    check_bias(bias, (C_out,), x)
    H_out = conv_output_size(x.shape[2], kH, 0, s[0])
    W_out = conv_output_size(x.shape[3], kW, 0, s[1])
    rows = torch.arange(H_out, device=weight.device) % t_h  # which stack each output row uses
    cols = torch.arange(W_out, device=weight.device) % t_w
    full = weight[rows][:, cols]  # (H_out, W_out, C_out, C_in, kH, kW): stack (j % t_h, k % t_w)
    local_bias = None if bias is None else bias.view(C_out, 1, 1).expand(C_out, H_out, W_out)
    return locally_connected2d(x, full, local_bias, s)
