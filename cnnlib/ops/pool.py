"""Pooling: max, average and L2 over rectangular windows, with a hand-written backward.

A pooling unit replaces its window by a summary statistic and has no weights (seed 003;
Goodfellow et al., *Deep Learning*, section 9.3): the maximum, the mean, or the L2 norm
``sqrt(sum x^2)``. Max pooling makes a representation approximately invariant to small shifts:
when the input moves by a pixel, most window maxima stay the same. Windows are cut with
``Tensor.unfold`` (a strided view), so no loop runs over pixels.

Padding semantics follow PyTorch: max pooling pads with ``-inf`` (a pad never wins), average
pooling pads with zeros that count in the mean (``F.avg_pool2d(count_include_pad=True)``), L2
pooling with zeros (which add nothing to the norm). Padding is at most half the window, as in
PyTorch; windows that do not fit are dropped (``ceil_mode=False``).
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_choice, check_like, check_tensor, pair
from cnnlib.ops.padding import pad2d
from cnnlib.ops.unfold import _offset_slice

__all__ = ["pool2d", "pool2d_backward", "global_avg_pool2d", "POOL_MODES"]

#: The ``mode`` names :func:`pool2d` accepts.
POOL_MODES = ("max", "avg", "l2")

IntPair = int | tuple[int, int]


def _windows(x, kernel_size, stride, padding, mode):
    """Validate; return the windows ``(N, C, H_out, W_out, kH*kW)``, kernel, stride, padding."""
    check_tensor(x, "x", 4, "(N, C, H, W)")
    check_choice(mode, "mode", POOL_MODES)
    k = pair(kernel_size, "kernel_size")
    s = pair(stride if stride is not None else k, "stride")
    p = pair(padding, "padding", 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding must be at most half the kernel size {k}, got {p}")
    H, W = x.shape[2] + 2 * p[0], x.shape[3] + 2 * p[1]
    if H < k[0] or W < k[1]:
        raise ValueError(f"kernel_size {k} is larger than the padded input {(H, W)}")
    fill = float("-inf") if mode == "max" else 0.0
    xp = pad2d(x, (p[1], p[1], p[0], p[0]), "zeros", value=fill) if any(p) else x
    win = xp.unfold(2, k[0], s[0]).unfold(3, k[1], s[1])  # (N, C, H_out, W_out, kH, kW)
    return win.reshape(*win.shape[:4], k[0] * k[1]), k, s, p  # (N, C, H_out, W_out, kH*kW)


def pool2d(
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    mode: str = "max",
) -> torch.Tensor:
    """Pool each ``kernel_size`` window of every channel.

    Args:
        x (Tensor[N, C, H, W]): feature maps.
        kernel_size (int | tuple[int, int]): window size ``(kH, kW)``.
        stride (int | tuple[int, int] | None): step between windows; default ``kernel_size``.
        padding (int | tuple[int, int]): implicit padding on each side, at most half the window:
            ``-inf`` for max (``F.max_pool2d``), zeros counted in the mean for avg
            (``F.avg_pool2d(count_include_pad=True)``), zeros for l2.
        mode (str): ``"max"``, ``"avg"`` or ``"l2"`` (``F.lp_pool2d`` with ``norm_type=2``).

    Returns:
        Tensor[N, C, H_out, W_out]: ``H_out = floor((H + 2p - kH)/s) + 1``.

    Raises:
        TypeError: for a non-tensor or a non-int size.
        ValueError: for a wrong shape, an unknown mode, padding over half the window, or a
            window larger than the padded input.

    Example:
        >>> x = torch.tensor([[[[12., 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]]])
        >>> pool2d(x, 2)[0, 0].tolist(), pool2d(x, 2, mode="avg")[0, 0].tolist()  # seed 003
        ([[20.0, 30.0], [112.0, 37.0]], [[13.0, 8.0], [79.0, 19.5]])
    """
    win, _, _, _ = _windows(x, kernel_size, stride, padding, mode)
    if mode == "max":
        return win.amax(dim=-1)  # (N, C, H_out, W_out)
    if mode == "avg":
        return win.mean(dim=-1)
    return win.pow(2).sum(dim=-1).sqrt()


def pool2d_backward(
    dout: torch.Tensor,
    x: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    mode: str = "max",
    padding: IntPair = 0,
) -> torch.Tensor:
    """Gradient of :func:`pool2d` with respect to its input.

    Max sends each window's gradient to the position of its maximum (the first one in the
    window on ties, as PyTorch does); avg spreads it equally (``/ kH*kW``, pads included);
    l2 sends ``dout * x / norm`` (0 where the norm is 0). Overlapping windows add up.

    Args:
        dout (Tensor[N, C, H_out, W_out]): upstream gradient.
        x (Tensor[N, C, H, W]): the forward input.
        kernel_size (int | tuple[int, int]): as in the forward pass.
        stride (int | tuple[int, int] | None): as in the forward pass.
        mode (str): ``"max"``, ``"avg"`` or ``"l2"``.
        padding (int | tuple[int, int]): as in the forward pass.

    Returns:
        Tensor[N, C, H, W]

    Raises:
        TypeError, ValueError: as :func:`pool2d`, and if ``dout`` does not have the forward
            output's shape, dtype or device.

    Example:
        >>> x = torch.tensor([[[[1., 3.], [2., 0.]]]])
        >>> pool2d_backward(torch.ones(1, 1, 1, 1), x, 2)[0, 0].tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """
    win, k, s, p = _windows(x, kernel_size, stride, padding, mode)
    N, C, H_out, W_out, K = win.shape
    check_tensor(dout, "dout", 4, "(N, C, H_out, W_out)")
    if dout.shape != (N, C, H_out, W_out):
        raise ValueError(f"dout must have shape {(N, C, H_out, W_out)}, got {tuple(dout.shape)}")
    check_like(dout, "dout", x)
    g = dout.unsqueeze(-1)  # (N, C, H_out, W_out, 1)
    if mode == "max":
        dwin = torch.zeros_like(win).scatter_(-1, win.argmax(dim=-1, keepdim=True), 1.0) * g
    elif mode == "avg":
        dwin = g.expand_as(win) / K
    else:
        norm = win.pow(2).sum(dim=-1, keepdim=True).sqrt()
        dwin = torch.where(norm > 0, win / norm, torch.zeros_like(win)) * g
    dwin = dwin.reshape(N, C, H_out, W_out, k[0], k[1])  # (N, C, H_out, W_out, kH, kW)
    H, W = x.shape[2:]
    dxp = x.new_zeros(N, C, H + 2 * p[0], W + 2 * p[1])  # gradient of the padded input
    for m in range(k[0]):  # scatter each window offset back; loops over the window only
        for n in range(k[1]):
            dxp[_offset_slice(m, n, s, (1, 1), (H_out, W_out))] += dwin[..., m, n]
    return dxp[:, :, p[0]:p[0] + H, p[1]:p[1] + W]  # (N, C, H, W): the pads' share is dropped


def global_avg_pool2d(x: torch.Tensor) -> torch.Tensor:
    """Average each channel over all positions: ``(N, C, H, W) -> (N, C)``.

    Replaces flatten + dense layers at the top of modern CNNs (Lin, Chen & Yan, *Network in
    Network*, 2014) and works for any input size.

    Args:
        x (Tensor[N, C, H, W]): feature maps.

    Returns:
        Tensor[N, C]: the mean of each map.

    Raises:
        TypeError, ValueError: if ``x`` is not a 4-D tensor.

    Example:
        >>> global_avg_pool2d(torch.arange(8.).view(1, 2, 2, 2)).tolist()
        [[1.5, 5.5]]
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    return x.mean(dim=(2, 3))
