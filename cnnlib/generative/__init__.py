"""Generative models: PixelCNN (masked convolutions, likelihood, sampling) and GANs (DCGAN, conditional).

PixelCNN, an autoregressive model ``p(x) = prod_i p(x_i | x_<i)`` in raster order:

- :mod:`~cnnlib.generative.masked`: causal masks A and B (any odd size), the gated PixelCNN's
  vertical and horizontal masks, colour groups, :class:`MaskedConv2d`;
- :mod:`~cnnlib.generative.pixelcnn`: :class:`PixelCNN` (van den Oord et al. 2016), Bernoulli or
  categorical outputs, optional class conditioning;
- :mod:`~cnnlib.generative.gated`: :class:`GatedPixelCNN` (vertical and horizontal stacks, gated
  activations, no blind spot);
- :mod:`~cnnlib.generative.causality`: which inputs an output pixel depends on (autograd), the
  causal window and the blind spot;
- :mod:`~cnnlib.generative.likelihood`: negative log-likelihood in nats, bits per dimension, the
  training step for :func:`cnnlib.train.fit`;
- :mod:`~cnnlib.generative.sampling`: raster-order sampling and image completion, one full
  forward pass per pixel;
- :mod:`~cnnlib.generative.cached_sampling`: the same samples, recomputing only what each new
  pixel changes (in the spirit of Ramachandran et al. 2017).

GANs (Goodfellow et al. 2014):

- :mod:`~cnnlib.generative.dcgan`: the DCGAN :class:`Generator` and :class:`Discriminator`
  (Radford et al. 2016) for 28x28 and other sizes;
- :mod:`~cnnlib.generative.conditional_gan`: :class:`ConditionalGenerator` and
  :class:`ConditionalDiscriminator` (Mirza & Osindero 2014);
- :mod:`~cnnlib.generative.gan_losses`: the discriminator loss, the non-saturating and the
  minimax generator losses;
- :mod:`~cnnlib.generative.gan_step`: :class:`GAN` (both networks in one module) and
  :class:`GANStep`, the two-optimiser step for :func:`cnnlib.train.fit`;
- :mod:`~cnnlib.generative.evaluation`: Fréchet distance of classifier features, an
  Inception-style score, the class histogram of samples.

Images are float tensors ``(N, C, H, W)``: 0/1 for Bernoulli PixelCNNs, level ``k`` of ``L`` as
``k / (L - 1)`` for categorical ones, in [0, 1] for the GANs (``tanh`` generators: [-1, 1]).
"""

from cnnlib.generative.cached_sampling import complete_pixelcnn_cached, sample_pixelcnn_cached
from cnnlib.generative.causality import blind_spot, causal_window, receptive_dependencies
from cnnlib.generative.conditional_gan import ConditionalDiscriminator, ConditionalGenerator
from cnnlib.generative.dcgan import Discriminator, Generator, dcgan_init, gan_stages
from cnnlib.generative.evaluation import class_histogram, frechet_distance, frechet_distance_gaussians, inception_score
from cnnlib.generative.gan_losses import discriminator_loss, generator_loss, generator_loss_minimax
from cnnlib.generative.gan_step import GAN, GENERATOR_LOSSES, GANStep
from cnnlib.generative.gated import GatedLayer, GatedPixelCNN, gate
from cnnlib.generative.likelihood import bernoulli_nll, bits_per_dim, categorical_nll, pixelcnn_nll, pixelcnn_step
from cnnlib.generative.masked import (
    MASK_TYPES, STACKS, MaskedConv2d, causal_mask, channel_groups, horizontal_mask, vertical_mask,
)
from cnnlib.generative.pixelcnn import PixelCNN
from cnnlib.generative.sampling import complete_pixelcnn, sample_pixelcnn

__all__ = [
    # masked convolutions and the PixelCNNs
    "MASK_TYPES", "STACKS", "causal_mask", "vertical_mask", "horizontal_mask", "channel_groups", "MaskedConv2d",
    "PixelCNN", "gate", "GatedLayer", "GatedPixelCNN",
    # causality and likelihood
    "receptive_dependencies", "causal_window", "blind_spot",
    "bernoulli_nll", "categorical_nll", "pixelcnn_nll", "bits_per_dim", "pixelcnn_step",
    # sampling
    "sample_pixelcnn", "complete_pixelcnn", "sample_pixelcnn_cached", "complete_pixelcnn_cached",
    # GANs
    "gan_stages", "dcgan_init", "Generator", "Discriminator", "ConditionalGenerator", "ConditionalDiscriminator",
    "discriminator_loss", "generator_loss", "generator_loss_minimax", "GAN", "GANStep", "GENERATOR_LOSSES",
    # evaluation
    "frechet_distance_gaussians", "frechet_distance", "inception_score", "class_histogram",
]
