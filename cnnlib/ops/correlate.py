"""Single-channel 2-D convolution and cross-correlation, the textbook definitions.

Seed 003 (Goodfellow et al., *Deep Learning*, eqs. 9.4-9.6) defines, for an image ``I`` and a
kernel ``K``,

.. math::
    (I * K)(i, j) = \\sum_{m,n} I(m, n)\\, K(i - m, j - n)        \\quad\\text{(convolution)}

    (I \\star K)(i, j) = \\sum_{m,n} I(i + m, j + n)\\, K(m, n)   \\quad\\text{(cross-correlation)}

Convolution flips the kernel and is commutative (``I * K = K * I``); cross-correlation does not
flip and is not. Deep-learning "convolution" layers compute cross-correlation; since the kernel
is learned the difference does not matter there, but it does when a hand-designed filter is
applied. The three output modes are those of ``scipy.signal.convolve2d``/``correlate2d``:
``"full"`` (every overlap), ``"valid"`` (kernel inside the image) and ``"same"`` (the size of
the image, centred as scipy centres it).
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_choice, check_like, check_tensor
from cnnlib.ops.conv import conv2d_im2col

__all__ = ["convolve2d", "correlate2d"]

OUTPUT_MODES = ("full", "valid", "same")


def _full_correlation(image: torch.Tensor, kernel: torch.Tensor, mode: str) -> torch.Tensor:
    """Validate; return the "full" cross-correlation, shape ``(H + kH - 1, W + kW - 1)``."""
    check_tensor(image, "image", 2, "(H, W)")
    check_tensor(kernel, "kernel", 2, "(kH, kW)")
    check_like(kernel, "kernel", image, "image")
    check_choice(mode, "mode", OUTPUT_MODES)
    (H, W), (kH, kW) = image.shape, kernel.shape
    if mode == "valid" and (kH > H or kW > W):
        raise ValueError(f"mode 'valid' needs the kernel {(kH, kW)} to fit in the image {(H, W)}")
    batch = image.reshape(1, 1, H, W)  # (N=1, C=1, H, W)
    return conv2d_im2col(batch, kernel.reshape(1, 1, kH, kW), padding=(kH - 1, kW - 1))[0, 0]


def _crop(full: torch.Tensor, image_shape: torch.Size, kernel_shape: torch.Size, mode: str,
          same_start: tuple[int, int]) -> torch.Tensor:
    (H, W), (kH, kW) = image_shape, kernel_shape
    if mode == "full":
        return full  # (H + kH - 1, W + kW - 1)
    if mode == "valid":
        return full[kH - 1:H, kW - 1:W]  # (H - kH + 1, W - kW + 1)
    r0, c0 = same_start
    return full[r0:r0 + H, c0:c0 + W]  # (H, W)


def correlate2d(image: torch.Tensor, kernel: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """Cross-correlation ``S(i, j) = sum_mn I(i + m, j + n) K(m, n)`` (no flip).

    Args:
        image (Tensor[H, W]): one single-channel image.
        kernel (Tensor[kH, kW]): one kernel, dtype and device of ``image``.
        mode (str): ``"full"`` -> ``(H+kH-1, W+kW-1)``, ``"valid"`` -> ``(H-kH+1, W-kW+1)``,
            ``"same"`` -> ``(H, W)``.

    Returns:
        Tensor: equal to ``scipy.signal.correlate2d(image, kernel, mode)``.

    Raises:
        TypeError: for a non-tensor or mixed dtypes.
        ValueError: for a wrong shape, an unknown mode, or a kernel larger than the image in
            ``"valid"`` mode.

    Example:
        >>> correlate2d(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0.]]), "valid").tolist()
        [[1.0, 2.0]]
    """
    full = _full_correlation(image, kernel, mode)
    kH, kW = kernel.shape
    return _crop(full, image.shape, kernel.shape, mode, (kH // 2, kW // 2))


def convolve2d(image: torch.Tensor, kernel: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """True convolution ``S(i, j) = sum_mn I(m, n) K(i - m, j - n)``: correlate with the flipped kernel.

    Commutative in ``"full"`` mode (``convolve2d(I, K) == convolve2d(K, I)``), unlike
    :func:`correlate2d`.

    Args:
        image (Tensor[H, W]): one single-channel image.
        kernel (Tensor[kH, kW]): one kernel, dtype and device of ``image``.
        mode (str): ``"full"``, ``"valid"`` or ``"same"``, as :func:`correlate2d`.

    Returns:
        Tensor: equal to ``scipy.signal.convolve2d(image, kernel, mode)``.

    Raises:
        TypeError, ValueError: as :func:`correlate2d`.

    Example:
        >>> convolve2d(torch.tensor([[1., 2., 3.]]), torch.tensor([[1., 0.]]), "valid").tolist()
        [[2.0, 3.0]]
    """
    check_tensor(kernel, "kernel", 2, "(kH, kW)")
    flipped = kernel.flip(0, 1)  # K(i - m, j - n): convolution = correlation with the flipped kernel
    full = _full_correlation(image, flipped, mode)
    kH, kW = kernel.shape
    # scipy centres "same" on the full result at (k-1)//2; for correlation (above) at k//2,
    # because it computes correlation as convolution with the flipped kernel about the same origin
    return _crop(full, image.shape, kernel.shape, mode, ((kH - 1) // 2, (kW - 1) // 2))
