"""Tests for cnnlib.restoration.steps: the supervised and the Noise2Void steps, run by cnnlib.train.fit.

Reference: ``torch.nn.functional.mse_loss`` and a PSNR ``10 log10(1 / MSE)`` per image written here;
the Noise2Void loss recomputed here by boolean indexing at the pixels of a mask drawn with the same
seed; short training runs on camera-man patches whose loss must fall.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.data import load_photo
from cnnlib.restoration import (
    DnCNN, add_gaussian_noise, blind_spot_mask, noise2void_step, psnr, random_patches, supervised_denoising_step,
)
from cnnlib.train import fit


def camera_pairs(count=64, size=16, sigma=0.1, batch=16):
    clean = random_patches(load_photo("camera", size=96), size, count, torch.Generator().manual_seed(0))
    noisy = add_gaussian_noise(clean, sigma, torch.Generator().manual_seed(1))
    return [(noisy[i:i + batch], clean[i:i + batch]) for i in range(0, count, batch)]


def test_supervised_step_values():
    g = torch.Generator().manual_seed(0)
    noisy, clean = torch.rand(3, 2, 5, 5, generator=g), torch.rand(3, 2, 5, 5, generator=g)
    net = nn.Conv2d(2, 2, 3, padding=1)
    out = supervised_denoising_step()(net, (noisy, clean), None)
    restored = net(noisy)
    torch.testing.assert_close(out["loss"], F.mse_loss(restored, clean))
    per_image = [10 * math.log10(1 / F.mse_loss(restored[i], clean[i]).item()) for i in range(3)]
    assert out["psnr"].item() == pytest.approx(sum(per_image) / 3, abs=1e-4)
    assert out["loss"].requires_grad and not out["psnr"].requires_grad
    l1 = supervised_denoising_step(nn.L1Loss())(net, [noisy, clean], None)["loss"]
    torch.testing.assert_close(l1, F.l1_loss(restored, clean))


def test_supervised_training_lowers_the_loss():
    data = camera_pairs()
    torch.manual_seed(0)
    net = DnCNN(depth=3, features=8)
    h = fit(net, data, step=supervised_denoising_step(), epochs=6, val_data=data[:1], progress=False,
            optimizer=torch.optim.Adam(net.parameters(), lr=3e-3))
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    noisy, clean = data[0]
    assert h["val_psnr"][-1] > psnr(noisy, clean).item()  # better than the noisy input


def test_noise2void_step_loss_is_the_mse_at_the_masked_pixels():
    torch.manual_seed(0)
    noisy = torch.rand(2, 1, 12, 12)
    net = DnCNN(depth=3, features=4).eval()
    out = noise2void_step(ratio=0.1, window=3, seed=5)(net, noisy, None)
    masked, mask = blind_spot_mask(noisy, 0.1, torch.Generator().manual_seed(5), window=3)
    ref = (net(masked)[mask] - noisy[mask]).pow(2).mean()
    assert sorted(out) == ["loss"]
    torch.testing.assert_close(out["loss"], ref)


def test_noise2void_step_reports_psnr_with_clean_images_but_never_trains_on_them():
    noisy, clean = camera_pairs(count=8, batch=8)[0]
    net = DnCNN(depth=3, features=4).eval()
    a = noise2void_step(seed=1)(net, (noisy, clean), None)
    b = noise2void_step(seed=1)(net, (noisy, torch.zeros_like(clean)), None)
    assert torch.equal(a["loss"], b["loss"])  # the clean images do not enter the loss
    torch.testing.assert_close(a["psnr"], psnr(net(noisy), clean))


def test_noise2void_training_lowers_the_loss():
    data = [(noisy,) for noisy, _ in camera_pairs()]
    torch.manual_seed(0)
    net = DnCNN(depth=3, features=8)
    h = fit(net, data, step=noise2void_step(ratio=0.05), epochs=4, progress=False,
            optimizer=torch.optim.Adam(net.parameters(), lr=3e-3))
    assert h["loss"][-1] < 0.5 * h["loss"][0]


def test_step_errors():
    with pytest.raises(TypeError, match="needs \\(noisy, clean\\) batches"):
        supervised_denoising_step()(nn.Identity(), torch.rand(1, 1, 4, 4), None)
    with pytest.raises(TypeError, match="a batch must be a Tensor"):
        noise2void_step()(nn.Identity(), {"x": 1}, None)
    with pytest.raises(ValueError, match=r"ratio must be in \(0.0, 1.0\), got 1.5"):
        noise2void_step(ratio=1.5)
    with pytest.raises(ValueError, match="window must be odd, got 6"):
        noise2void_step(window=6)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        noise2void_step(seed=-1)


@pytest.mark.gpu
def test_both_steps_train_on_cuda():
    data = camera_pairs(count=32)
    net = DnCNN(depth=3, features=8).cuda()
    h = fit(net, data, step=supervised_denoising_step(), epochs=2, progress=False)
    assert next(net.parameters()).is_cuda and math.isfinite(h["psnr"][-1])
    h = fit(net, [(n,) for n, _ in data], step=noise2void_step(), val_data=data, epochs=2, progress=False)
    assert h.names == ["loss", "val_loss", "val_psnr"]
