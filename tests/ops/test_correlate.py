"""Tests for cnnlib.ops.correlate: convolve2d and correlate2d (single channel).

Reference: ``scipy.signal.convolve2d`` and ``scipy.signal.correlate2d`` in all three modes, and
seed 003's definitions: convolution is commutative, cross-correlation is convolution with the
flipped kernel.
"""

import numpy as np
import pytest
import scipy.signal
import torch

from cnnlib.ops import convolve2d, correlate2d

KERNEL_SHAPES = [(3, 3), (2, 4), (4, 1), (1, 1), (7, 6), (2, 2)]  # odd, even, non-square, as large as the image


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=str)
def test_match_scipy(kshape, mode, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.standard_normal((7, 6)), rng.standard_normal(kshape)
    conv = convolve2d(torch.from_numpy(image), torch.from_numpy(kernel), mode)
    corr = correlate2d(torch.from_numpy(image), torch.from_numpy(kernel), mode)
    np.testing.assert_allclose(conv.numpy(), scipy.signal.convolve2d(image, kernel, mode), rtol=0, atol=1e-12)
    np.testing.assert_allclose(corr.numpy(), scipy.signal.correlate2d(image, kernel, mode), rtol=0, atol=1e-12)


def test_float32_and_integer_inputs_keep_their_dtype():
    image = torch.arange(20, dtype=torch.float32).view(4, 5)
    kernel = torch.tensor([[1.0, -1.0]])
    out = correlate2d(image, kernel, "valid")
    assert out.dtype == torch.float32 and torch.all(out == -1)  # each pixel minus its right neighbour
    ints = convolve2d(torch.arange(6).view(2, 3), torch.tensor([[1, 1]]), "valid")
    assert ints.dtype == torch.int64 and ints.tolist() == [[1, 3], [7, 9]]


def test_convolution_is_commutative_and_correlation_is_not():
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(5, 4, dtype=torch.float64, generator=gen)
    b = torch.randn(3, 3, dtype=torch.float64, generator=gen)
    assert torch.allclose(convolve2d(a, b), convolve2d(b, a), atol=1e-12)
    assert not torch.allclose(correlate2d(a, b), correlate2d(b, a))


def test_convolution_is_correlation_with_the_flipped_kernel():
    gen = torch.Generator().manual_seed(4)
    image = torch.randn(6, 6, dtype=torch.float64, generator=gen)
    kernel = torch.randn(3, 2, dtype=torch.float64, generator=gen)
    assert torch.allclose(convolve2d(image, kernel, "valid"), correlate2d(image, kernel.flip(0, 1), "valid"))


def test_hand_computed_one_row():
    image, kernel = torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[1.0, 0.0]])
    assert correlate2d(image, kernel, "full").tolist() == [[0.0, 1.0, 2.0, 3.0]]
    assert convolve2d(image, kernel, "full").tolist() == [[1.0, 2.0, 3.0, 0.0]]


def test_errors_name_the_argument():
    image = torch.randn(4, 4)
    with pytest.raises(ValueError, match=r"image must have shape \(H, W\) \(2 dims\), got shape \(1, 4, 4\)"):
        convolve2d(image[None], torch.randn(2, 2))
    with pytest.raises(ValueError, match=r"kernel must have shape \(kH, kW\)"):
        correlate2d(image, torch.randn(1, 2, 2))
    with pytest.raises(ValueError, match=r"mode must be one of \('full', 'valid', 'same'\), got 'circular'"):
        correlate2d(image, torch.randn(2, 2), "circular")
    with pytest.raises(ValueError, match=r"mode 'valid' needs the kernel \(5, 1\) to fit in the image \(4, 4\)"):
        convolve2d(image, torch.randn(5, 1), "valid")
    with pytest.raises(TypeError, match=r"kernel must have the dtype of image \(torch.float32\), got torch.float64"):
        convolve2d(image, torch.randn(2, 2, dtype=torch.float64))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_scipy():
    rng = np.random.default_rng(0)
    image, kernel = rng.standard_normal((9, 8)), rng.standard_normal((3, 4))
    for mode in ("full", "valid", "same"):
        out = convolve2d(torch.from_numpy(image).cuda(), torch.from_numpy(kernel).cuda(), mode)
        assert out.device.type == "cuda"
        np.testing.assert_allclose(out.cpu().numpy(), scipy.signal.convolve2d(image, kernel, mode), atol=1e-10)
