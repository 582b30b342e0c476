"""Max-unpooling: every value goes back to where max pooling found its maximum, zeros elsewhere.

The unpooling of Zeiler & Fergus (*Visualizing and understanding convolutional networks*, 2014)
and of the deconvolution network of Noh, Hong & Han (*Learning deconvolution network for
semantic segmentation*, 2015): max pooling records the position of each maximum (the
"switches", ``F.max_pool2d(..., return_indices=True)``), and the decoder's unpooling scatters
its values back to those positions, so that strong responses return to their exact place in a
sparse map of the pooled input's size. Equal to ``F.max_unpool2d`` (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnlib._checks import check_tensor, pair

__all__ = ["max_unpool2d"]

IntPair = int | tuple[int, int]


def max_unpool2d(
    x: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Put every value back where max pooling found its maximum; zeros elsewhere.

    ``indices`` are the "switches" ``F.max_pool2d(..., return_indices=True)`` records: the flat
    index ``row * W_out + col`` of each maximum in its channel's map. Unpooling scatters ``x``
    into a zero ``(N, C, H_out*W_out)`` tensor at those indices (Noh et al., 2015). Where two
    windows share a maximum their indices repeat and one value survives; which one is not
    defined (as in PyTorch), unless the values agree.

    Args:
        x (Tensor[N, C, H, W]): pooled feature maps (or decoder features of their shape).
        indices (Tensor[N, C, H, W]): int64 flat indices into the output map.
        kernel_size (int | tuple[int, int]): the pooling window.
        stride (int | tuple[int, int] | None): the pooling stride; default ``kernel_size``.
        padding (int | tuple[int, int]): the pooling padding.
        output_size (Sequence[int] | None): ``(H_out, W_out)`` or ``(N, C, H_out, W_out)``,
            e.g. the pooled input's shape, within ``stride - 1`` of the default
            ``(H-1) s - 2p + k`` (the pooling floor lost up to that many rows).

    Returns:
        Tensor[N, C, H_out, W_out]: dtype and device of ``x``.

    Raises:
        TypeError: for a non-tensor, non-int64 ``indices`` or a non-int size.
        ValueError: for wrong shapes, ``indices`` not shaped like ``x`` or out of range, or an
            ``output_size`` out of range.

    Example:
        >>> x = torch.tensor([[[[1., 5.], [7., 2.]]]])
        >>> pooled, idx = torch.nn.functional.max_pool2d(x, 2, return_indices=True)
        >>> max_unpool2d(pooled, idx, 2)[0, 0].tolist()
        [[0.0, 0.0], [7.0, 0.0]]
    """
    check_tensor(x, "x", 4, "(N, C, H, W)")
    check_tensor(indices, "indices", 4, "(N, C, H, W)")
    if indices.shape != x.shape:
        raise ValueError(f"indices must have the shape of x {tuple(x.shape)}, got {tuple(indices.shape)}")
    if indices.dtype != torch.int64:
        raise TypeError(f"indices must be an int64 tensor, got {indices.dtype}")
    if indices.device != x.device:
        raise ValueError(f"indices must be on the device of x ({x.device}), got {indices.device}")
    k = pair(kernel_size, "kernel_size")
    s, p = pair(stride if stride is not None else k, "stride"), pair(padding, "padding", 0)
    N, C, H, W = x.shape
    default = tuple((x.shape[2 + a] - 1) * s[a] - 2 * p[a] + k[a] for a in (0, 1))
    H_out, W_out = default
    if output_size is not None:
        if not isinstance(output_size, Sequence) or len(output_size) not in (2, 4):
            raise ValueError(f"output_size must be (H_out, W_out) or (N, C, H_out, W_out), "
                             f"got {output_size!r}")
        H_out, W_out = pair(tuple(output_size)[-2:], "output_size")
        if abs(H_out - default[0]) >= s[0] or abs(W_out - default[1]) >= s[1]:
            raise ValueError(f"output_size must be less than the stride {s} away from the default "
                             f"{default} in each dimension, got {output_size!r}")
    if indices.numel() and (indices.min() < 0 or indices.max() >= H_out * W_out):
        raise ValueError(f"indices must lie in [0, {H_out * W_out}) for output size {(H_out, W_out)}, "
                         f"got values in [{indices.min().item()}, {indices.max().item()}]")
    out = x.new_zeros(N, C, H_out * W_out)  # (N, C, H_out*W_out): one flat map per channel
    out = out.scatter(2, indices.reshape(N, C, H * W), x.reshape(N, C, H * W))  # value -> its switch
    return out.reshape(N, C, H_out, W_out)  # (N, C, H_out, W_out)
