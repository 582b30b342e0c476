"""Tests for cnnlib.generative.gan_step: one discriminator update, then one generator update, in fit.

Reference: the same two updates written out by hand (Adam on each network, the losses as
``-log sigmoid`` formulas through ``F.logsigmoid``, the same noise from the same seed), compared
parameter by parameter and buffer by buffer; parameters that must not move are checked unchanged.
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from cnnlib.generative import (
    GAN, ConditionalDiscriminator, ConditionalGenerator, Discriminator, GANStep, Generator,
    generator_loss_minimax,
)
from cnnlib.train import evaluate, fit


def small_gan(seed=0):
    torch.manual_seed(seed)
    return GAN(Generator(4, 1, 8, 4), Discriminator(1, 8, 4))


def data(seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.rand(6, 1, 8, 8, generator=gen),) for _ in range(3)]


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_step_in_fit_equals_the_hand_written_updates(loss):
    gan, ref = small_gan(), small_gan()
    step = GANStep(gan, torch.optim.Adam(gan.discriminator.parameters(), 1e-2),
                   torch.optim.Adam(gan.generator.parameters(), 1e-2), loss=loss)
    torch.manual_seed(5)
    h = fit(gan, data(), step=step, epochs=2, progress=False)
    opt_d = torch.optim.Adam(ref.discriminator.parameters(), 1e-2)
    opt_g = torch.optim.Adam(ref.generator.parameters(), 1e-2)
    G, D = ref.generator, ref.discriminator
    torch.manual_seed(5)
    for _ in range(2):
        for (x,) in data():
            z = torch.randn(len(x), 4)
            fake = G(z)
            loss_d = -F.logsigmoid(D(x)).mean() - F.logsigmoid(-D(fake.detach())).mean()
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            logits = D(fake)
            loss_g = -F.logsigmoid(logits).mean() if loss == "non_saturating" else F.logsigmoid(-logits).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
    for (name, a), b in zip(gan.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    assert h.names == ["loss_d", "loss_g", "d_real", "d_fake"] and len(h.steps["loss_g"]) == 6


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_each_optimiser_moves_only_its_own_network(frozen):
    gan = small_gan()
    opt_d = torch.optim.SGD(gan.discriminator.parameters(), lr=0.0 if frozen == "discriminator" else 0.1)
    opt_g = torch.optim.SGD(gan.generator.parameters(), lr=0.0 if frozen == "generator" else 0.1)
    before = {n: p.detach().clone() for n, p in gan.named_parameters()}
    fit(gan, data(), step=GANStep(gan, opt_d, opt_g), epochs=1, progress=False)
    for name, p in gan.named_parameters():
        moved = not torch.equal(p, before[name])
        if name.startswith(frozen):
            assert not moved, f"{name} moved although its optimiser has lr=0"
    assert any(not torch.equal(p, before[n]) for n, p in gan.named_parameters() if not n.startswith(frozen))


def test_validation_only_measures():
    gan = small_gan()
    gan.eval()                                                             # evaluate() uses running statistics
    step = GANStep(gan)
    before = state(gan)
    scores = evaluate(gan, data(), step=step)
    assert set(scores) == {"loss_d", "loss_g", "d_real", "d_fake"}
    for name, value in state(gan).items():
        assert torch.equal(value, before[name]), name


def test_conditional_step_gives_the_batch_labels_to_both_networks():
    torch.manual_seed(0)
    gan = GAN(ConditionalGenerator(3, 4, 1, 8, 4), ConditionalDiscriminator(3, 1, 8, 4))
    seen = {"g": [], "d": []}
    gan.generator.register_forward_pre_hook(lambda m, args: seen["g"].append(args[1]))
    gan.discriminator.register_forward_pre_hook(lambda m, args: seen["d"].append(args[1]))
    labels = torch.tensor([0, 2, 1, 1])
    out = GANStep(gan, conditional=True)(gan, (torch.rand(4, 1, 8, 8), labels), type("Ctx", (), {"training": False}))
    assert len(seen["g"]) == 1 and len(seen["d"]) == 3
    assert all(torch.equal(y, labels) for y in seen["g"] + seen["d"])
    assert set(out) == {"loss_d", "loss_g", "d_real", "d_fake"}
    with pytest.raises(TypeError, match=r"needs batches \(images, labels\)"):
        GANStep(gan, conditional=True)(gan, (torch.rand(4, 1, 8, 8),), None)


def test_minimax_option_reports_the_minimax_loss():
    gan = small_gan()
    step = GANStep(gan, loss="minimax")
    torch.manual_seed(3)
    ctx = type("Ctx", (), {"training": False})
    out = step(gan, data()[0], ctx)
    torch.manual_seed(3)
    z = torch.randn(6, 4)
    with torch.no_grad():
        expected = generator_loss_minimax(gan.discriminator(gan.generator(z)))
    assert out["loss_g"].item() == pytest.approx(expected.item(), rel=1e-6) and out["loss_g"] < 0


def test_gan_forward_and_defaults():
    gan = small_gan()
    assert gan(torch.randn(2, 4)).shape == (2, 1, 8, 8)
    step = GANStep(gan)
    assert step.opt_d.defaults["lr"] == 2e-4 and step.opt_d.defaults["betas"] == (0.5, 0.999)
    assert step.latent_dim == 4 and step.manual_optimization


@pytest.mark.parametrize("call,error,match", [
    (lambda g: GANStep(g, opt_d=torch.optim.SGD(g.parameters(), 0.1)), ValueError,
     "opt_d holds parameters of the generator"),
    (lambda g: GANStep(g, opt_g=torch.optim.SGD(g.discriminator.parameters(), 0.1)), ValueError,
     "opt_g holds parameters of the discriminator"),
    (lambda g: GANStep(g, loss="wasserstein"), ValueError, "loss must be one of"),
    (lambda g: GANStep(g.generator), TypeError, "gan must be a cnnlib.generative.GAN"),
    (lambda g: GANStep(GAN(torch.nn.Linear(2, 2), g.discriminator)), ValueError, "latent_dim is needed"),
    (lambda g: GAN(g.generator, lambda x: x), TypeError, "discriminator must be an nn.Module"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(copy.deepcopy(small_gan()))
