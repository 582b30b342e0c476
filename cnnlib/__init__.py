"""cnnlib: the companion library of the course book *CNNs and Generative Models*.

Reference implementations of what the book teaches, written in plain PyTorch and tested
against PyTorch's own kernels. Everything follows the device of its inputs; pick one with
:func:`default_device` (CUDA, then MPS, then CPU).

Submodules (imported on first use, so ``import cnnlib`` stays light):

- :mod:`cnnlib.ops`: convolution (loops, im2col + GEMM, FFT), padding, pooling, locally
  connected and tiled convolution, receptive fields, classic filters, transposed convolution
  and max-unpooling.
- :mod:`cnnlib.data`: the fixed MNIST-5k split, sklearn digits, scikit-image photos, DNA
  sequences with planted motifs, the MNIST IDX reader.
- :mod:`cnnlib.train`: :func:`~cnnlib.train.fit` and :class:`~cnnlib.train.History`.
- :mod:`cnnlib.viz`: image grids, kernels, feature maps, training curves.
- :mod:`cnnlib.models`: LeNet-5, AlexNet, VGG, ResNet, Inception, MobileNet v1/v2, EfficientNet.
- :mod:`cnnlib.interpret`: feature extraction, saliency maps, Grad-CAM, receptive fields, the
  patches that most excite a unit.
- :mod:`cnnlib.detection`: boxes, IoU, NMS, anchors, YOLO targets and loss, average precision.
- :mod:`cnnlib.segmentation`: U-Net, FCN, the deconvolution network, Dice loss, class weights,
  pixel accuracy, IoU and Dice per class, a confusion matrix.
- :mod:`cnnlib.restoration`: synthetic noise, DnCNN, a denoising autoencoder, Noise2Void's
  blind-spot masking, PSNR and SSIM, scikit-image's classical denoisers.
- :mod:`cnnlib.metric_learning`: pairwise distances, contrastive and triplet losses with
  batch-all, batch-hard and semi-hard mining, P x K batches, the learned-similarity head,
  softmax, CosFace and ArcFace heads, a face database, ROC, EER and TAR at a fixed FAR.
- :mod:`cnnlib.style`: Gram matrices, content, style and total-variation costs, a random
  multi-scale texture network, style transfer by L-BFGS or Adam over the image.
- :mod:`cnnlib.generative`: masked convolutions, PixelCNN and gated PixelCNN, likelihood in nats
  and bits per dimension, naive and cached samplers, DCGAN and a conditional GAN with their
  losses and training step, Fréchet distance and Inception-style score.
- :mod:`cnnlib.bench`: :func:`~cnnlib.bench.median_ms`, the timing behind the book's speed tables.

Example:
    >>> import cnnlib
    >>> cnnlib.default_device().type in {"cuda", "mps", "cpu"}
    True
"""

from __future__ import annotations

import importlib
from typing import Any

from cnnlib.device import default_device, seed_everything
from cnnlib.model_summary import summary

__version__ = "0.1.0"

_SUBMODULES = ("ops", "data", "train", "viz", "models", "interpret", "detection", "segmentation",
               "restoration", "metric_learning", "style", "generative", "bench")

__all__ = ["default_device", "seed_everything", "summary", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    """Import a submodule on first attribute access (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"cnnlib.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cnnlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
