"""Image restoration: noise models, denoising networks, Noise2Void, quality metrics, classical baselines.

- :mod:`~cnnlib.restoration.noise`: white and spatially correlated Gaussian noise on the [0, 1]
  scale, and random training patches cut from photos;
- :mod:`~cnnlib.restoration.models`: :class:`DnCNN` (residual learning, Zhang et al. 2017) and a
  convolutional :class:`DenoisingAutoencoder` (Vincent et al. 2008);
- :mod:`~cnnlib.restoration.noise2void`: the blind-spot masking of Noise2Void (Krull et al.
  2019) and its masked loss;
- :mod:`~cnnlib.restoration.steps`: the steps for :func:`cnnlib.train.fit`, supervised
  (``(noisy, clean)`` pairs, as CARE) and self-supervised (Noise2Void, noisy images only);
- :mod:`~cnnlib.restoration.metrics`: PSNR and SSIM, batched and differentiable, equal to
  scikit-image's;
- :mod:`~cnnlib.restoration.classical`: Gaussian blur, total variation, wavelet thresholding and
  non-local means from scikit-image, the baselines of the book's table.

Images are float tensors ``(N, C, H, W)`` in [0, 1] (as :func:`cnnlib.data.load_photo` gives
them, batched) unless a name says otherwise; noise levels ``sigma`` are on the same scale.
"""

from cnnlib.restoration.classical import CLASSICAL_DENOISERS, classical_denoisers
from cnnlib.restoration.metrics import psnr, ssim
from cnnlib.restoration.models import DenoisingAutoencoder, DnCNN
from cnnlib.restoration.noise import add_correlated_noise, add_gaussian_noise, gaussian_kernel1d, random_patches
from cnnlib.restoration.noise2void import blind_spot_mask, masked_mse
from cnnlib.restoration.steps import noise2void_step, supervised_denoising_step

__all__ = [
    # noise and data
    "add_gaussian_noise", "add_correlated_noise", "gaussian_kernel1d", "random_patches",
    # models
    "DnCNN", "DenoisingAutoencoder",
    # noise2void and steps
    "blind_spot_mask", "masked_mse", "noise2void_step", "supervised_denoising_step",
    # metrics and baselines
    "psnr", "ssim", "CLASSICAL_DENOISERS", "classical_denoisers",
]
