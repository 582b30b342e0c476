"""Convolution and its relatives, written out so they can be read, and checked against PyTorch.

Chapter 1 of the book imports everything from here: output sizes and parameter counts
(:mod:`~cnnlib.ops.sizes`), padding (:mod:`~cnnlib.ops.padding`), convolution by loops,
im2col + GEMM and FFT (:mod:`~cnnlib.ops.conv`), its hand-written backward pass
(:mod:`~cnnlib.ops.conv_backward`), pooling (:mod:`~cnnlib.ops.pool`), locally connected and
tiled convolution (:mod:`~cnnlib.ops.local`), receptive fields
(:mod:`~cnnlib.ops.receptive_field`) and classic filters (:mod:`~cnnlib.ops.filters`).
"""

from cnnlib.ops.conv import (
    col2im, conv1d, conv2d, conv2d_fft, conv2d_im2col, conv2d_naive, convolve2d, correlate2d, im2col,
)
from cnnlib.ops.conv_backward import Conv2dFunction, conv2d_backward, conv2d_manual
from cnnlib.ops.filters import EDGE_KERNELS, edge_kernel, gabor_bank, gabor_kernel
from cnnlib.ops.local import locally_connected2d, tiled_conv2d
from cnnlib.ops.padding import pad2d
from cnnlib.ops.pool import global_avg_pool2d, pool2d, pool2d_backward
from cnnlib.ops.receptive_field import RF, receptive_field
from cnnlib.ops.sizes import (
    conv_output_size, count_params_conv, count_params_dense, full_padding, same_padding,
)

__all__ = [
    "conv_output_size", "same_padding", "full_padding", "count_params_dense", "count_params_conv",
    "pad2d",
    "im2col", "col2im", "conv2d_naive", "conv2d_im2col", "conv2d_fft", "conv2d", "conv1d",
    "convolve2d", "correlate2d",
    "conv2d_backward", "Conv2dFunction", "conv2d_manual",
    "pool2d", "pool2d_backward", "global_avg_pool2d",
    "locally_connected2d", "tiled_conv2d",
    "RF", "receptive_field",
    "EDGE_KERNELS", "edge_kernel", "gabor_kernel", "gabor_bank",
]
