"""Convolution and its relatives, written out so they can be read, and checked against PyTorch.

Chapter 1 of the book imports everything from here. One concept per module:

- :mod:`~cnnlib.ops.sizes`: output sizes, the smallest input of a chain, "same"/"full" padding,
  parameter counts.
- :mod:`~cnnlib.ops.padding`: :func:`pad2d` with zeros, reflect, replicate, circular.
- :mod:`~cnnlib.ops.unfold`: :func:`im2col` and its adjoint :func:`col2im`.
- :mod:`~cnnlib.ops.conv`: convolution by loops, im2col + GEMM and FFT, a dispatcher, 1-D.
- :mod:`~cnnlib.ops.correlate`: the textbook single-channel convolution and correlation.
- :mod:`~cnnlib.ops.conv_backward`: the hand-written backward pass (seed 003's ``g`` and ``h``).
- :mod:`~cnnlib.ops.pool`: max, average and L2 pooling, and their backward.
- :mod:`~cnnlib.ops.transpose`: transposed convolution three ways and its checkerboard overlap
  (chapter 4, segmentation).
- :mod:`~cnnlib.ops.unpool`: max-unpooling with the switches of max pooling.
- :mod:`~cnnlib.ops.local`: locally connected (unshared) and tiled convolution.
- :mod:`~cnnlib.ops.receptive_field`: receptive field size, jump and start per layer.
- :mod:`~cnnlib.ops.filters`: edge detectors and Gabor filters.

Every function computes on the device and in the dtype of its inputs.

Example:
    >>> import torch
    >>> from cnnlib import ops
    >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    >>> ops.conv2d(x, w, padding=1, method="fft").shape
    torch.Size([2, 4, 8, 8])
"""

from cnnlib.ops.conv import METHODS, conv1d, conv2d, conv2d_fft, conv2d_im2col, conv2d_naive
from cnnlib.ops.conv_backward import Conv2dFunction, conv2d_backward, conv2d_manual
from cnnlib.ops.correlate import convolve2d, correlate2d
from cnnlib.ops.filters import EDGE_KERNELS, edge_kernel, gabor_bank, gabor_kernel
from cnnlib.ops.local import locally_connected2d, tiled_conv2d
from cnnlib.ops.padding import PADDING_MODES, pad2d
from cnnlib.ops.pool import POOL_MODES, global_avg_pool2d, pool2d, pool2d_backward
from cnnlib.ops.receptive_field import RF, receptive_field
from cnnlib.ops.sizes import (
    conv_output_size,
    min_input_size,
    count_params_conv,
    count_params_dense,
    count_params_local,
    count_params_tiled,
    full_padding,
    same_padding,
)
from cnnlib.ops.transpose import (
    conv_transpose2d,
    conv_transpose2d_as_gradient,
    conv_transpose2d_zero_insertion,
    conv_transpose_output_size,
    transpose_overlap,
)
from cnnlib.ops.unpool import max_unpool2d
from cnnlib.ops.unfold import col2im, im2col

__all__ = [
    # sizes
    "conv_output_size", "min_input_size", "same_padding", "full_padding",
    "count_params_dense", "count_params_conv", "count_params_local", "count_params_tiled",
    # padding, unfold
    "PADDING_MODES", "pad2d", "im2col", "col2im",
    # convolution
    "METHODS", "conv2d_naive", "conv2d_im2col", "conv2d_fft", "conv2d", "conv1d",
    "convolve2d", "correlate2d",
    "conv2d_backward", "Conv2dFunction", "conv2d_manual",
    # pooling
    "POOL_MODES", "pool2d", "pool2d_backward", "global_avg_pool2d",
    # transposed convolution and unpooling
    "conv_transpose_output_size", "conv_transpose2d", "conv_transpose2d_zero_insertion",
    "conv_transpose2d_as_gradient", "transpose_overlap", "max_unpool2d",
    # unshared and tiled
    "locally_connected2d", "tiled_conv2d",
    # receptive fields, filters
    "RF", "receptive_field",
    "EDGE_KERNELS", "edge_kernel", "gabor_kernel", "gabor_bank",
]
