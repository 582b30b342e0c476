"""Training a GAN with the one engine: a step that owns two optimisers (discriminator, then generator).

Each batch of real images makes one update of each player (Goodfellow et al. 2014, algorithm 1
with ``k = 1``; Radford et al. 2016 for the optimiser settings):

1. draw ``z``, generate ``G(z)``; the discriminator's loss on the real batch and on ``G(z)``
   *detached* (no gradient reaches ``G``); step the discriminator's optimiser only;
2. the generator's loss on ``D(G(z))`` with the *updated* ``D``; the gradient flows through ``D``
   into ``G``, and only the generator's optimiser steps (``D``'s gradients are thrown away by
   the next discriminator update, which zeroes them first).

The step sets ``manual_optimization = True`` and calls ``ctx.optimize`` itself
(:mod:`cnnlib.train`); in validation it only measures. The noise comes from the global generator,
so ``fit(..., seed=s)`` makes a run repeatable.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_choice, check_int
from cnnlib.generative.gan_losses import discriminator_loss, generator_loss, generator_loss_minimax

__all__ = ["GAN", "GANStep", "GENERATOR_LOSSES"]

#: The generator losses :class:`GANStep` knows.
GENERATOR_LOSSES = {"non_saturating": generator_loss, "minimax": generator_loss_minimax}


class GAN(nn.Module):
    """A generator and a discriminator in one module: what :func:`cnnlib.train.fit` trains and moves.

    Args:
        generator (nn.Module): ``G(z)`` or ``G(z, labels)``; has ``latent_dim``.
        discriminator (nn.Module): ``D(x)`` or ``D(x, labels)`` -> logits ``(N,)``.

    Shape:
        ``forward(z[, labels])`` is ``generator(z[, labels])``: samples.

    Example:
        >>> from cnnlib.generative import Discriminator, Generator
        >>> gan = GAN(Generator(latent_dim=8, features=8), Discriminator(features=8))
        >>> gan(torch.randn(2, 8)).shape
        torch.Size([2, 1, 28, 28])
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        for name, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, nn.Module):
                raise TypeError(f"{name} must be an nn.Module, got {type(net).__name__}")
        self.generator, self.discriminator = generator, discriminator

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z) if labels is None else self.generator(z, labels)


class GANStep:
    """The GAN step for :func:`cnnlib.train.fit`: one discriminator update, then one generator update.

    A call ``step(model, batch, ctx)`` returns ``loss_d``, ``loss_g``, ``d_real`` (the mean
    ``D(x)``) and ``d_fake`` (the mean ``D(G(z))`` before the discriminator's update); the
    engine adds ``grad_norm_d`` and ``grad_norm_g`` when it clips gradients.

    Args:
        gan (GAN): the two networks (the step checks that each optimiser holds only its own).
        opt_d (Optimizer | None): the discriminator's optimiser; default Adam(2e-4, betas (0.5, 0.999)).
        opt_g (Optimizer | None): the generator's; the same default.
        loss (str): the generator loss, ``"non_saturating"`` or ``"minimax"``.
        conditional (bool): batches are ``(images, labels)`` and both networks get the labels
            (the fakes are generated for the labels of the real batch).
        latent_dim (int | None): dimension of ``z``; default ``gan.generator.latent_dim``.

    Raises:
        TypeError / ValueError: for an unknown ``loss``, a ``gan`` that is not a :class:`GAN`, a
            missing ``latent_dim``, or an optimiser that holds a parameter of the other network.

    Example:
        >>> from cnnlib.generative import Discriminator, Generator
        >>> from cnnlib.train import fit
        >>> gan = GAN(Generator(latent_dim=8, features=4), Discriminator(features=4))
        >>> h = fit(gan, [(torch.rand(4, 1, 28, 28),)] * 2, step=GANStep(gan), epochs=1, progress=False)
        >>> h.names
        ['loss_d', 'loss_g', 'd_real', 'd_fake']
    """

    manual_optimization = True

    def __init__(self, gan: GAN, opt_d: torch.optim.Optimizer | None = None,
                 opt_g: torch.optim.Optimizer | None = None, loss: str = "non_saturating",
                 conditional: bool = False, latent_dim: int | None = None) -> None:
        if not isinstance(gan, GAN):
            raise TypeError(f"gan must be a cnnlib.generative.GAN, got {type(gan).__name__}")
        check_choice(loss, "loss", tuple(GENERATOR_LOSSES))
        if not isinstance(conditional, bool):
            raise TypeError(f"conditional must be a bool, got {type(conditional).__name__}")
        latent_dim = getattr(gan.generator, "latent_dim", None) if latent_dim is None else latent_dim
        if latent_dim is None:
            raise ValueError("latent_dim is needed: the generator has no latent_dim attribute")
        self.latent_dim = check_int(latent_dim, "latent_dim")
        self.opt_d = opt_d or torch.optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = opt_g or torch.optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        for name, opt, other, net in (("opt_d", self.opt_d, "generator", gan.generator),
                                      ("opt_g", self.opt_g, "discriminator", gan.discriminator)):
            foreign = {id(p) for p in net.parameters()}
            if any(id(p) in foreign for group in opt.param_groups for p in group["params"]):
                raise ValueError(f"{name} holds parameters of the {other}: each optimiser must update its own "
                                 "network only")
        self.loss, self.generator_loss = loss, GENERATOR_LOSSES[loss]
        self.conditional = conditional

    def __call__(self, model: GAN, batch, ctx) -> dict[str, torch.Tensor]:
        real = batch if isinstance(batch, torch.Tensor) else batch[0]
        extra = ()
        if self.conditional:
            if isinstance(batch, torch.Tensor) or len(batch) < 2:
                raise TypeError("a conditional GAN step needs batches (images, labels)")
            extra = (batch[1],)
        G, D = model.generator, model.discriminator
        z = torch.randn(len(real), self.latent_dim, device=real.device, dtype=real.dtype)
        fake = G(z, *extra)
        d_real, d_fake = D(real, *extra), D(fake.detach(), *extra)      # no gradient into G here
        loss_d = discriminator_loss(d_real, d_fake)
        if ctx.training:
            ctx.optimize(loss_d, self.opt_d, "d")
        loss_g = self.generator_loss(D(fake, *extra))                   # through the updated D into G
        if ctx.training:
            ctx.optimize(loss_g, self.opt_g, "g")
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": torch.sigmoid(d_real).mean().detach(), "d_fake": torch.sigmoid(d_fake).mean().detach()}
