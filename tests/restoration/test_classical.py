"""Tests for cnnlib.restoration.classical: scikit-image's classical denoisers as baselines.

Reference: ``skimage.metrics.peak_signal_noise_ratio`` of each result against the clean camera-man
and astronaut crops (each method must beat the noisy input), and the scikit-image calls written
out here with the documented parameters.
"""


import numpy as np
import pytest
import skimage.data
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

from cnnlib.restoration import CLASSICAL_DENOISERS, classical_denoisers

METHODS = CLASSICAL_DENOISERS  # PyWavelets is a dependency: the wavelet method and estimate_sigma are tested too


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.2])
def test_each_method_beats_the_noisy_camera_crop(sigma):
    clean = skimage.data.camera()[150:246, 180:276] / 255.0
    noisy = clean + sigma * np.random.default_rng(0).standard_normal(clean.shape)
    out = classical_denoisers(noisy, sigma, methods=METHODS)
    assert tuple(out) == METHODS
    before = sk_psnr(clean, noisy, data_range=1.0)
    for name, result in out.items():
        assert result.shape == clean.shape and result.dtype == np.float64
        assert sk_psnr(clean, result, data_range=1.0) > before + 1.0, name


def test_colour_and_the_documented_parameters():
    clean = skimage.data.astronaut()[:64, 150:214] / 255.0
    noisy = clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape)
    out = classical_denoisers(noisy, 0.1, channel_axis=-1, methods=METHODS)
    before = sk_psnr(clean, noisy, data_range=1.0)
    assert all(sk_psnr(clean, r, data_range=1.0) > before + 1.0 for r in out.values())
    np.testing.assert_array_equal(out["tv"], denoise_tv_chambolle(noisy, weight=0.1, channel_axis=-1))
    ref = denoise_nl_means(noisy, h=0.08, sigma=0.1, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=-1)
    np.testing.assert_array_equal(out["nl_means"], ref)


def test_sigma_is_estimated_when_not_given():
    clean = skimage.data.camera()[150:246, 180:276] / 255.0
    noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)
    out = classical_denoisers(noisy, methods=("tv",))
    given = classical_denoisers(noisy, 0.1, methods=("tv",))
    assert np.abs(out["tv"] - given["tv"]).max() < 0.02  # the estimate is close to 0.1


def test_errors():
    with pytest.raises(TypeError, match="noisy must be a NumPy array"):
        classical_denoisers([[0.0]], 0.1)
    with pytest.raises(ValueError, match=r"noisy must have shape \(H, W\) for grey"):
        classical_denoisers(np.zeros((4, 4, 3)), 0.1)
    with pytest.raises(ValueError, match="methods must be a tuple of names from"):
        classical_denoisers(np.zeros((4, 4)), 0.1, methods=("median",))
    with pytest.raises(ValueError, match=r"sigma must be in \(0.0, inf\), got -1"):
        classical_denoisers(np.zeros((4, 4)), -1)
