"""Tests for cnnlib.ops.filters: EDGE_KERNELS, edge_kernel, gabor_kernel, gabor_bank.

Reference: the kernels of the lecture notes (seed 001) typed in here, hand-computed responses on
a step image, and ``skimage.filters.gabor_kernel`` (real part, rescaled by its normalisation
``2*pi*sigma_x*sigma_y``) for the Gabor function.
"""

import math

import numpy as np
import pytest
import skimage.filters
import torch
import torch.nn.functional as F

from cnnlib.ops import EDGE_KERNELS, edge_kernel, gabor_bank, gabor_kernel


def test_edge_kernels_from_the_notes():
    assert EDGE_KERNELS["vertical"].tolist() == [[1, 0, -1]] * 3
    assert EDGE_KERNELS["horizontal"].tolist() == [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    assert EDGE_KERNELS["sobel_x"].tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert EDGE_KERNELS["scharr_x"].tolist() == [[3, 0, -3], [10, 0, -10], [3, 0, -3]]
    for axis in ("sobel", "scharr"):
        assert torch.equal(EDGE_KERNELS[f"{axis}_y"], EDGE_KERNELS[f"{axis}_x"].T)
    for name, k in EDGE_KERNELS.items():
        assert k.shape == (3, 3) and k.dtype == torch.float32
        assert k.sum() == 0, name  # no response on flat regions


def test_vertical_edge_response_on_a_step_image():
    """Hand case: bright left half, dark right half; correlation with [1, 0, -1] rows gives 3*10."""
    step = torch.zeros(1, 1, 5, 6)
    step[..., :3] = 10.0
    out = F.conv2d(step, EDGE_KERNELS["vertical"].view(1, 1, 3, 3))[0, 0]
    assert out.tolist() == [[0.0, 30.0, 30.0, 0.0]] * 3
    assert F.conv2d(step, EDGE_KERNELS["horizontal"].view(1, 1, 3, 3)).abs().sum() == 0


def test_edge_kernel_returns_a_fresh_copy():
    k = edge_kernel("sobel_y", dtype=torch.float64)
    assert k.dtype == torch.float64 and torch.equal(k, EDGE_KERNELS["sobel_y"].double())
    k += 1
    assert EDGE_KERNELS["sobel_y"].sum() == 0


# sigma, theta, lambd, psi, gamma: chosen so that skimage's kernel is square
GABOR_CASES = [
    (2.0, math.pi / 4, 5.0, 0.3, 0.5),
    (1.5, 0.0, 4.0, math.pi / 2, 1.0),
    (3.0, 3 * math.pi / 4, 6.0, 0.0, 2.0),
]


@pytest.mark.parametrize("sigma,theta,lambd,psi,gamma", GABOR_CASES)
def test_gabor_matches_scikit_image(sigma, theta, lambd, psi, gamma):
    sk = skimage.filters.gabor_kernel(1 / lambd, theta=theta, sigma_x=sigma, sigma_y=sigma / gamma, offset=psi)
    assert sk.shape[0] == sk.shape[1]
    expected = np.real(sk) * 2 * np.pi * sigma * (sigma / gamma)
    mine = gabor_kernel(sk.shape[0], sigma, theta, lambd, psi, gamma, dtype=torch.float64)
    np.testing.assert_allclose(mine.numpy(), expected, rtol=0, atol=1e-12)


def test_gabor_formula_at_one_point():
    g = gabor_kernel(9, sigma=2.0, theta=math.pi / 2, lambd=4.0, psi=0.0, gamma=1.0, dtype=torch.float64)
    y, x = 1, 3  # offsets from the centre; with theta = pi/2, x' = y and y' = -x
    expected = math.exp(-(y**2 + x**2) / 8.0) * math.cos(2 * math.pi * y / 4.0)
    assert g[4 + y, 4 + x].item() == pytest.approx(expected, abs=1e-15)


def test_gabor_bank_order_shape_and_dtype():
    bank = gabor_bank(4, size=11, lambdas=(4.0, 8.0), dtype=torch.float64)
    assert bank.shape == (8, 1, 11, 11) and bank.dtype == torch.float64
    assert torch.allclose(bank[1, 0], gabor_kernel(11, 2.5, math.pi / 4, 4.0, dtype=torch.float64))
    assert torch.allclose(bank[4 + 2, 0], gabor_kernel(11, 2.5, math.pi / 2, 8.0, dtype=torch.float64))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"name must be one of \['horizontal', .*\], got 'prewitt'"):
        edge_kernel("prewitt")
    with pytest.raises(ValueError, match=r"sigma must be in \(0.0, inf\), got 0.0"):
        gabor_kernel(5, 0.0, 0.0, 4.0)
    with pytest.raises(ValueError, match=r"lambd must be in \(0.0, inf\), got -1"):
        gabor_kernel(5, 1.0, 0.0, -1)
    with pytest.raises(TypeError, match="size must be an int, got float 5.0"):
        gabor_kernel(5.0, 1.0, 0.0, 4.0)
    with pytest.raises(ValueError, match="n_orientations must be >= 1, got 0"):
        gabor_bank(0)
    with pytest.raises(ValueError, match=r"lambdas must be a non-empty sequence of wavelengths, got \(\)"):
        gabor_bank(4, lambdas=())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_filters_are_made_on_the_device():
    assert edge_kernel("sobel_x", device="cuda").device.type == "cuda"
    bank = gabor_bank(4, size=7, device="cuda")
    assert bank.device.type == "cuda"
    assert torch.allclose(bank.cpu(), gabor_bank(4, size=7), atol=1e-6)
