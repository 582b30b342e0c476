"""Tests for cnnlib.restoration.metrics: PSNR and SSIM.

Reference: ``skimage.metrics.peak_signal_noise_ratio`` and ``skimage.metrics.structural_similarity``
(uniform and Gaussian windows, sample and population covariance, ``channel_axis`` for colour) on
crops of scikit-image's camera and astronaut photos and on random images, image by image, in
float64 to 1e-10; hand-computed PSNRs; ``torch.autograd.gradcheck`` in float64.
"""

import numpy as np
import pytest
import skimage.data
import torch
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim

from cnnlib.restoration import psnr, ssim


def camera(noise=0.1, seed=0):
    clean = skimage.data.camera()[180:240, 200:272] / 255.0  # (60, 72)
    return clean + noise * np.random.default_rng(seed).standard_normal(clean.shape), clean


def astronaut(noise=0.05, seed=0):
    clean = skimage.data.astronaut()[20:60, 180:230] / 255.0  # (40, 50, 3)
    return clean + noise * np.random.default_rng(seed).standard_normal(clean.shape), clean


def grey(a):
    return torch.from_numpy(a)[None]  # (1, H, W)


def colour(a):
    return torch.from_numpy(a).permute(2, 0, 1)  # (3, H, W)


def test_psnr_hand_cases():
    x = torch.zeros(3, 1, 4, 4)
    y = x + torch.tensor([0.1, 0.01, 0.0]).view(3, 1, 1, 1)
    out = psnr(x, y, reduction="none")
    assert out[:2].tolist() == pytest.approx([20.0, 40.0]) and out[2].item() == float("inf")
    assert psnr(x[:2], y[:2]).item() == pytest.approx(30.0)  # the mean of the decibels
    assert psnr(x[0] * 255, y[0] * 255, data_range=255).item() == pytest.approx(20.0)


@pytest.mark.parametrize("seed", range(3))
def test_psnr_matches_skimage(seed):
    noisy, clean = camera(seed=seed)
    assert psnr(grey(noisy), grey(clean)).item() == pytest.approx(sk_psnr(clean, noisy, data_range=1.0), abs=1e-10)
    noisy, clean = astronaut(seed=seed)
    assert psnr(colour(noisy), colour(clean)).item() == pytest.approx(sk_psnr(clean, noisy, data_range=1.0), abs=1e-10)
    rng = np.random.default_rng(seed)
    a, b = rng.random((4, 2, 9, 13)), rng.random((4, 2, 9, 13))
    ref = [sk_psnr(a[i], b[i], data_range=1.0) for i in range(4)]
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        out = psnr(torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype), reduction="none")
        assert out.dtype == dtype
        np.testing.assert_allclose(out.double().numpy(), ref, rtol=0, atol=tol)


def test_ssim_matches_skimage_on_photos():
    noisy, clean = camera()
    ours = lambda **kw: ssim(grey(noisy), grey(clean), **kw).item()  # noqa: E731
    assert ours() == pytest.approx(sk_ssim(noisy, clean, data_range=1.0), abs=1e-10)
    assert ours(gaussian=True) == pytest.approx(sk_ssim(noisy, clean, data_range=1.0, gaussian_weights=True),
                                                abs=1e-10)
    wang = sk_ssim(noisy, clean, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ours(gaussian=True, sample_covariance=False) == pytest.approx(wang, abs=1e-10)
    assert ours(win_size=11, K1=0.02, K2=0.05) == pytest.approx(
        sk_ssim(noisy, clean, data_range=1.0, win_size=11, K1=0.02, K2=0.05), abs=1e-10)
    noisy, clean = astronaut()
    for kw, sk_kw in (({}, {}), ({"gaussian": True}, {"gaussian_weights": True})):
        ref = sk_ssim(noisy, clean, data_range=1.0, channel_axis=-1, **sk_kw)
        assert ssim(colour(noisy), colour(clean), **kw).item() == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("win_size", [3, 5, 7, 9])
@pytest.mark.parametrize("seed", range(3))
def test_ssim_matches_skimage_on_random_batches(seed, win_size):
    rng = np.random.default_rng(seed)
    a = rng.random((3, 2, 12, 15))
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    ref = [sk_ssim(a[i], b[i], data_range=1.0, win_size=win_size, channel_axis=0) for i in range(3)]
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        x, y = torch.tensor(a, dtype=dtype), torch.tensor(b, dtype=dtype)
        out = ssim(x, y, win_size=win_size, reduction="none")
        assert out.shape == (3,) and out.dtype == dtype
        np.testing.assert_allclose(out.double().numpy(), ref, rtol=0, atol=tol)
        assert ssim(x, y, win_size=win_size).item() == pytest.approx(float(np.mean(ref)), abs=tol)


def test_ssim_properties():
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-12)
    assert ssim(x, y).item() == pytest.approx(ssim(y, x).item(), abs=1e-12)
    assert ssim(x, y).item() < 1
    assert ssim(x[0], y[0]).dim() == 0  # one image: a scalar
    x15, y15 = x[..., :15, :15], y[..., :15, :15]  # a window as large as the image: one position
    assert ssim(x15, y15, win_size=15).item() == pytest.approx(
        np.mean([sk_ssim(x15[i, 0].numpy(), y15[i, 0].numpy(), data_range=1.0, win_size=15) for i in range(2)]),
        abs=1e-10)


def test_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 9, 8, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 1, 9, 8, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: ssim(a, y, win_size=5, reduction="none"), (x,))
    assert torch.autograd.gradcheck(lambda a: ssim(a, y, gaussian=True, sigma=0.8), (x,))
    assert torch.autograd.gradcheck(lambda a: psnr(a, y, reduction="none"), (x,))


def test_errors():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="win_size must be odd, got 4"):
        ssim(x, x, win_size=4)
    with pytest.raises(ValueError, match=r"at least win_size x win_size = 9x9, got 8x8"):
        ssim(x, x, win_size=9)
    with pytest.raises(ValueError, match="win_size must be >= 3"):
        ssim(x, x, win_size=1)
    with pytest.raises(ValueError, match="x and y must have the same shape"):
        psnr(x, torch.rand(1, 1, 8, 7))
    with pytest.raises(TypeError, match="y must have the dtype of x"):
        ssim(x, x.double())
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'none'\), got 'sum'"):
        psnr(x, x, reduction="sum")
    with pytest.raises(ValueError, match=r"data_range must be in \(0.0, inf\)"):
        psnr(x, x, data_range=0)
    with pytest.raises(ValueError, match="x must be a floating-point tensor"):
        ssim(x.long(), x.long())


@pytest.mark.gpu
def test_cuda_matches_cpu():
    noisy, clean = astronaut()
    x, y = colour(noisy)[None], colour(clean)[None]
    assert psnr(x.cuda(), y.cuda()).item() == pytest.approx(psnr(x, y).item(), abs=1e-9)
    for kw in ({}, {"gaussian": True}):
        out = ssim(x.cuda(), y.cuda(), **kw)
        assert out.is_cuda and out.item() == pytest.approx(ssim(x, y, **kw).item(), abs=1e-9)
