"""The GAN losses: the discriminator's, and the generator's minimax and non-saturating ones.

Goodfellow et al., *Generative adversarial nets*, NeurIPS 2014. The two players play

    min_G max_D  V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))),

with ``D(x) = sigmoid(l(x))`` the discriminator's probability that ``x`` is real. Everything is
written on the logits ``l`` through binary cross-entropy, which is computed stably
(``-log sigmoid(l) = softplus(-l)``, ``-log(1 - sigmoid(l)) = softplus(l)``).

- The discriminator maximises ``V``: its loss is ``BCE(l(x), 1) + BCE(l(G(z)), 0)``, each a mean
  over its batch (``2 ln 2`` when it cannot tell: ``D = 1/2`` everywhere).
- The generator of the minimax game minimises ``E log(1 - D(G(z)))``. Early in training ``D``
  rejects the fakes confidently, ``D(G(z)) ~ 0``, where this curve is flat: its gradient with respect
  to the logit is ``-sigmoid(l) ~ 0`` and the generator learns nothing (it *saturates*).
- The **non-saturating** generator loss (section 3 of the paper) maximises ``log D(G(z))``
  instead: ``BCE(l(G(z)), 1)``, whose gradient ``sigmoid(l) - 1 ~ -1`` is strongest exactly then.
  The same fixed point, much better gradients; this is what everyone trains with.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["discriminator_loss", "generator_loss", "generator_loss_minimax"]


def _logits(t: object, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point Tensor of logits, got "
                        f"{t.dtype if isinstance(t, torch.Tensor) else type(t).__name__}")
    if t.numel() == 0:
        raise ValueError(f"{name} must hold at least one logit, got shape {tuple(t.shape)}")
    return t


def discriminator_loss(d_real_logits: torch.Tensor, d_fake_logits: torch.Tensor) -> torch.Tensor:
    """``-[mean log D(x) + mean log(1 - D(G(z)))]``: real images labelled 1, generated ones 0.

    Args:
        d_real_logits (Tensor[N] or any shape): the discriminator's logits on real images.
        d_fake_logits (Tensor[M] or any shape): its logits on generated images (detached from the
            generator when training the discriminator).

    Returns:
        Tensor: a scalar, ``BCE(real, 1).mean() + BCE(fake, 0).mean()``.

    Raises:
        TypeError: for non-floating-point inputs.
        ValueError: for empty ones or inputs on different devices.

    Example:
        >>> round(discriminator_loss(torch.zeros(4), torch.zeros(3)).item(), 4)  # D = 1/2: 2 ln 2
        1.3863
    """
    real, fake = _logits(d_real_logits, "d_real_logits"), _logits(d_fake_logits, "d_fake_logits")
    if real.device != fake.device:
        raise ValueError(f"d_real_logits and d_fake_logits must be on one device, got {real.device} and {fake.device}")
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_loss(d_fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss ``-mean log D(G(z))`` (= ``BCE(fake, 1)``).

    Args:
        d_fake_logits (Tensor[M] or any shape): the discriminator's logits on generated images
            (not detached: the gradient flows through ``D`` into ``G``).

    Returns:
        Tensor: a scalar ``>= 0``.

    Raises:
        TypeError / ValueError: as :func:`discriminator_loss`.

    Example:
        >>> round(generator_loss(torch.tensor([0.0])).item(), 4)         # -log(1/2)
        0.6931
    """
    fake = _logits(d_fake_logits, "d_fake_logits")
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def generator_loss_minimax(d_fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's term of the minimax game, ``mean log(1 - D(G(z)))`` (= ``-BCE(fake, 0)``).

    It saturates: when ``D`` rejects the fakes its gradient vanishes (see the module docstring).

    Args:
        d_fake_logits (Tensor[M] or any shape): the discriminator's logits on generated images.

    Returns:
        Tensor: a scalar ``<= 0``.

    Raises:
        TypeError / ValueError: as :func:`discriminator_loss`.

    Example:
        >>> round(generator_loss_minimax(torch.tensor([0.0])).item(), 4)  # log(1/2)
        -0.6931
    """
    fake = _logits(d_fake_logits, "d_fake_logits")
    return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
