"""Tests for cnnlib.restoration.noise: white and correlated Gaussian noise, random patches.

Reference: sample statistics over many pixels (mean, std, neighbour correlation) against the
values the noise model implies; for correlated noise, the same white field filtered by
``scipy.signal.correlate2d`` with a Gaussian kernel built here in NumPy, and the lag-d
correlation ``sum_i g_i g_{i+d} / sum_i g_i^2`` of that kernel; patches found back in their photo
by the unique values of an arange image.
"""

import numpy as np
import pytest
import scipy.signal
import torch

from cnnlib.restoration import add_correlated_noise, add_gaussian_noise, gaussian_kernel1d, random_patches


def gen(seed):
    return torch.Generator().manual_seed(seed)


def neighbour_corr(noise, d=1):
    a, b = noise[..., d:].flatten(), noise[..., :-d].flatten()
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


def numpy_kernel(length):
    r = int(np.ceil(3 * length))
    g = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * length**2))
    return g / np.sqrt((g**2).sum())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sigma", [0.05, 0.2])
def test_white_noise_statistics(sigma, dtype):
    x = torch.full((8, 1, 64, 64), 0.5, dtype=dtype)
    y = add_gaussian_noise(x, sigma, gen(0))
    n = y - x
    assert y.dtype == dtype and y.shape == x.shape
    assert abs(n.mean().item()) < 3 * sigma / 181  # 3 standard errors of the mean (sqrt(32768) = 181)
    assert n.std().item() == pytest.approx(sigma, rel=0.02)
    assert abs(neighbour_corr(n)) < 0.03 and abs(neighbour_corr(n.transpose(-1, -2))) < 0.03


def test_white_noise_seed_clip_and_zero_sigma():
    x = torch.rand(2, 3, 8, 8, generator=gen(0))
    assert torch.equal(add_gaussian_noise(x, 0.1, gen(1)), add_gaussian_noise(x, 0.1, gen(1)))
    assert torch.equal(add_gaussian_noise(x, 0.0, gen(1)), x)
    clipped = add_gaussian_noise(x, 0.5, gen(1), clip=True)
    assert clipped.min() >= 0 and clipped.max() <= 1
    assert torch.equal(clipped, add_gaussian_noise(x, 0.5, gen(1)).clamp(0, 1))
    torch.manual_seed(3)
    a = add_gaussian_noise(x, 0.1)
    torch.manual_seed(3)
    assert torch.equal(a, add_gaussian_noise(x, 0.1))  # the global generator by default


@pytest.mark.parametrize("length", [0.5, 1.0, 2.0])
def test_correlated_noise_statistics(length):
    sigma = 0.1
    y = add_correlated_noise(torch.zeros(64, 1, 32, 32, dtype=torch.float64), sigma, length, gen(0))
    assert abs(y.mean().item()) < 0.01
    per_pixel = y.std(dim=0)  # (1, 32, 32): the same std everywhere, border included
    assert per_pixel.mean().item() == pytest.approx(sigma, rel=0.03)
    assert per_pixel[0, 0, :].mean().item() == pytest.approx(sigma, rel=0.1)  # no weaker noise at the border
    g = numpy_kernel(length)
    for d in (1, 2):
        expected = (g[d:] * g[:-d]).sum()  # the correlation of blurred white noise at lag d
        assert neighbour_corr(y, d) == pytest.approx(expected, abs=0.03)
        assert neighbour_corr(y.transpose(-1, -2), d) == pytest.approx(expected, abs=0.03)
    if length >= 1:
        assert neighbour_corr(y) > 0.5


def test_correlated_noise_is_the_white_field_filtered_by_scipy():
    N, C, H, W, length = 2, 3, 10, 7, 1.3
    g = numpy_kernel(length)
    r = (len(g) - 1) // 2
    white = torch.randn((N * C, 1, H + 2 * r, W + 2 * r), generator=gen(4), dtype=torch.float64)
    x = torch.rand(N, C, H, W, dtype=torch.float64, generator=gen(1))
    y = add_correlated_noise(x, 0.2, length, gen(4))
    for i in range(N * C):
        ref = scipy.signal.correlate2d(white[i, 0].numpy(), np.outer(g, g), mode="valid")
        np.testing.assert_allclose((y - x).view(N * C, H, W)[i].numpy(), 0.2 * ref, rtol=0, atol=1e-12)


def test_correlated_noise_single_image_seed_and_clip():
    x = torch.rand(3, 12, 12, generator=gen(0))
    a = add_correlated_noise(x, 0.3, 1.0, gen(2))
    assert a.shape == x.shape and torch.equal(a, add_correlated_noise(x[None], 0.3, 1.0, gen(2))[0])
    b = add_correlated_noise(x, 0.3, 1.0, gen(2), clip=True)
    assert torch.equal(b, a.clamp(0, 1))


def test_gaussian_kernel1d():
    k = gaussian_kernel1d(1.5, 5)
    ref = np.exp(-np.arange(-5, 6) ** 2 / 4.5)
    np.testing.assert_allclose(k.numpy(), ref / ref.sum(), rtol=1e-14)
    assert len(gaussian_kernel1d(0.5)) == 5 and gaussian_kernel1d(2.0, dtype=torch.float32).dtype == torch.float32


def test_noise_errors():
    x = torch.rand(1, 1, 4, 4)
    with pytest.raises(ValueError, match=r"sigma must be in \[0.0, inf\), got -0.1"):
        add_gaussian_noise(x, -0.1)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        add_gaussian_noise(x.long(), 0.1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got int"):
        add_gaussian_noise(x, 0.1, 0)
    with pytest.raises(ValueError, match=r"correlation_length must be in \(0.0, inf\), got 0"):
        add_correlated_noise(x, 0.1, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(C, H, W\) or \(N, C, H, W\), got shape \(4, 4\)"):
        add_correlated_noise(x[0, 0], 0.1)


def test_patches_are_crops_of_the_photos():
    photos = [torch.arange(100.0).view(1, 10, 10), 1000 + torch.arange(48.0).view(1, 6, 8)]
    p = random_patches(photos, 4, 1000, gen(0))
    assert p.shape == (1000, 1, 4, 4)
    corners = set()
    for patch in p:
        v = int(patch[0, 0, 0].item())
        img, W = (0, 10) if v < 1000 else (1, 8)
        top, left = divmod(v - 1000 * img, W)
        assert torch.equal(patch, photos[img][:, top:top + 4, left:left + 4])
        corners.add((img, top, left))
    assert len(corners) == 7 * 7 + 3 * 5  # every place of both photos occurs


def test_patches_from_a_batch_tensor_seed_and_empty():
    imgs = torch.rand(3, 2, 9, 9, generator=gen(0))
    a = random_patches(imgs, 5, 10, gen(1))
    assert a.shape == (10, 2, 5, 5) and torch.equal(a, random_patches(list(imgs), 5, 10, gen(1)))
    assert random_patches(imgs[0], 9, 2, gen(0)).shape == (2, 2, 9, 9)
    assert random_patches(imgs, 5, 0).shape == (0, 2, 5, 5)


def test_patches_errors():
    with pytest.raises(ValueError, match=r"size must be at most the smallest image side \(6\), got 7"):
        random_patches([torch.rand(1, 8, 8), torch.rand(1, 6, 9)], 7, 3)
    with pytest.raises(ValueError, match="same channels"):
        random_patches([torch.rand(1, 8, 8), torch.rand(3, 8, 8)], 4, 3)
    with pytest.raises(ValueError, match="at least one image"):
        random_patches([], 4, 3)
    with pytest.raises(ValueError, match=r"images\[0\] must be a Tensor of shape \(C, H, W\)"):
        random_patches([torch.rand(8, 8)], 4, 3)
    with pytest.raises(TypeError, match="images must be a Tensor or a sequence"):
        random_patches(3, 4, 3)
    with pytest.raises(ValueError, match="count must be >= 0"):
        random_patches(torch.rand(1, 8, 8), 4, -1)
