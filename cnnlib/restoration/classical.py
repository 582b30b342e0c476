"""Classical denoisers from scikit-image: the baselines a learned denoiser must beat.

Each has one knob, set here from the noise level ``sigma`` by a rule that is good across the
book's experiments (camera man and astronaut crops, white noise with sigma 0.05 to 0.2):

- ``"gaussian"``: a Gaussian blur of std ``0.5 + 5 sigma`` pixels (``skimage.filters.gaussian``).
  Averages noise away and edges with it: the linear baseline.
- ``"tv"``: total-variation denoising (Rudin, Osher & Fatemi 1992) by Chambolle's projection
  algorithm (2004), weight ``sigma`` (``denoise_tv_chambolle``). Keeps edges, makes flat
  cartoon-like regions.
- ``"wavelet"``: soft thresholding of wavelet coefficients with BayesShrink thresholds (Chang, Yu
  & Vetterli 2000), ``denoise_wavelet(sigma=sigma, rescale_sigma=True)``. Needs PyWavelets.
- ``"nl_means"``: non-local means (Buades, Coll & Morel 2005): each pixel becomes a weighted mean
  of pixels whose 5x5 patches look alike, searched within 6 pixels; filtering strength
  ``h = 0.8 sigma``, the noise variance subtracted from patch distances (``sigma=sigma``),
  scikit-image's fast mode.

The first three are local; non-local means, which exploits self-similarity, is usually the best of
the four and the one a small CNN has to beat.
"""

from __future__ import annotations

import numpy as np

from cnnlib._checks import check_float

__all__ = ["CLASSICAL_DENOISERS", "classical_denoisers"]

#: The names :func:`classical_denoisers` computes, in this order.
CLASSICAL_DENOISERS = ("gaussian", "tv", "wavelet", "nl_means")


def classical_denoisers(noisy: np.ndarray, sigma: float | None = None, channel_axis: int | None = None,
                        methods: tuple[str, ...] = CLASSICAL_DENOISERS) -> dict[str, np.ndarray]:
    """Denoise one image with scikit-image's classical methods; return ``{name: result}``.

    Args:
        noisy (np.ndarray[H, W] or np.ndarray[H, W, C]): a noisy image on the [0, 1] scale (values
            may fall outside it), e.g. ``add_gaussian_noise(photo, 0.1)[0].numpy()`` for grey.
        sigma (float | None): the noise std on the [0, 1] scale, ``> 0``; ``None`` estimates it
            with ``skimage.restoration.estimate_sigma`` (wavelet median absolute deviation,
            Donoho & Johnstone 1994; needs PyWavelets).
        channel_axis (int | None): the colour axis (``-1`` for ``(H, W, C)``), ``None`` for grey.
        methods (tuple[str, ...]): a subset of :data:`CLASSICAL_DENOISERS`.

    Returns:
        dict[str, np.ndarray]: each method's result, float64, the shape of ``noisy``.

    Raises:
        TypeError: if ``noisy`` is not a NumPy array.
        ValueError: for an array that is not 2-D (grey) or 3-D with ``channel_axis``, a
            non-positive ``sigma`` or an unknown method.
        ImportError: for ``"wavelet"`` or ``sigma=None`` without PyWavelets.

    Example:
        >>> import skimage.data
        >>> clean = skimage.data.camera()[200:264, 200:264] / 255.0
        >>> noisy = clean + 0.1 * np.random.default_rng(0).standard_normal(clean.shape)
        >>> out = classical_denoisers(noisy, 0.1, methods=("gaussian", "nl_means"))
        >>> sorted(out), out["nl_means"].shape
        (['gaussian', 'nl_means'], (64, 64))
    """
    from skimage.filters import gaussian
    from skimage.restoration import denoise_nl_means, denoise_tv_chambolle, denoise_wavelet, estimate_sigma

    if not isinstance(noisy, np.ndarray):
        raise TypeError(f"noisy must be a NumPy array (H, W) or (H, W, C), got {type(noisy).__name__}")
    if noisy.ndim != (2 if channel_axis is None else 3):
        raise ValueError(f"noisy must have shape (H, W) for grey or (H, W, C) with channel_axis, got shape "
                         f"{noisy.shape} with channel_axis={channel_axis}")
    unknown = [m for m in methods if m not in CLASSICAL_DENOISERS]
    if isinstance(methods, str) or unknown:
        raise ValueError(f"methods must be a tuple of names from {CLASSICAL_DENOISERS}, got {methods!r}")
    image = noisy.astype(np.float64)
    if sigma is None:
        sigma = float(estimate_sigma(image, channel_axis=channel_axis, average_sigmas=True))
    sigma = check_float(sigma, "sigma", 0.0)
    run = {
        "gaussian": lambda: gaussian(image, sigma=0.5 + 5 * sigma, channel_axis=channel_axis),
        "tv": lambda: denoise_tv_chambolle(image, weight=sigma, channel_axis=channel_axis),
        "wavelet": lambda: denoise_wavelet(image, sigma=sigma, method="BayesShrink", mode="soft",
                                           rescale_sigma=True, channel_axis=channel_axis),
        "nl_means": lambda: denoise_nl_means(image, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5,
                                             patch_distance=6, channel_axis=channel_axis),
    }
    return {name: np.asarray(run[name](), dtype=np.float64) for name in CLASSICAL_DENOISERS if name in methods}
