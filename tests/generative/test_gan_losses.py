"""Tests for cnnlib.generative.gan_losses: the discriminator loss and both generator losses.

Reference: the log-sigmoid formulas evaluated with ``math`` on Python floats
(``-[mean log s(r) + mean log(1 - s(f))]``, ``-mean log s(f)``, ``mean log(1 - s(f))``), and
their derivatives with respect to the logits worked out by hand (``(s - 1) / M`` and ``-s / M``),
checked by autograd: the minimax loss saturates where the non-saturating one does not.
"""

import math

import pytest
import torch

from cnnlib.generative import discriminator_loss, generator_loss, generator_loss_minimax


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


@pytest.mark.parametrize("seed,n_real,n_fake", [(0, 5, 5), (1, 3, 7), (2, 1, 2)])
def test_losses_equal_the_log_sigmoid_formulas(seed, n_real, n_fake):
    gen = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, generator=gen, dtype=torch.float64) * 3
    fake = torch.randn(n_fake, generator=gen, dtype=torch.float64) * 3
    r, f = real.tolist(), fake.tolist()
    expected_d = -(sum(math.log(sigmoid(v)) for v in r) / len(r) + sum(math.log(1 - sigmoid(v)) for v in f) / len(f))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-12)
    assert generator_loss(fake).item() == pytest.approx(-sum(math.log(sigmoid(v)) for v in f) / len(f), rel=1e-12)
    assert generator_loss_minimax(fake).item() == pytest.approx(
        sum(math.log(1 - sigmoid(v)) for v in f) / len(f), rel=1e-12)


def test_equilibrium_and_label_direction():
    assert discriminator_loss(torch.zeros(3), torch.zeros(4)).item() == pytest.approx(2 * math.log(2))
    # a discriminator that is right (real high, fake low) has a small loss; swapped labels a large one
    right = discriminator_loss(torch.full((4,), 5.0), torch.full((4,), -5.0)).item()
    wrong = discriminator_loss(torch.full((4,), -5.0), torch.full((4,), 5.0)).item()
    assert right < 0.02 < 10 < wrong
    assert generator_loss(torch.full((2,), 5.0)) < generator_loss(torch.full((2,), -5.0))
    assert discriminator_loss(torch.zeros(2, 1), torch.zeros(3, 1)).shape == ()


def test_gradients_saturate_only_for_the_minimax_loss():
    logits = torch.tensor([-8.0, -2.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    M = len(logits)
    s = [sigmoid(v) for v in logits.tolist()]
    (g_ns,) = torch.autograd.grad(generator_loss(logits), logits)
    (g_mm,) = torch.autograd.grad(generator_loss_minimax(logits), logits)
    assert g_ns.tolist() == pytest.approx([(v - 1) / M for v in s], rel=1e-12)
    assert g_mm.tolist() == pytest.approx([-v / M for v in s], rel=1e-12)
    # D rejects the fake (logit -8): the minimax gradient is ~3e-4 / M, the non-saturating ~1 / M
    assert abs(g_mm[0]) < 1e-3 / M and abs(g_ns[0]) > 0.99 / M


def test_extreme_logits_stay_finite():
    big = torch.tensor([100.0, -100.0])
    for value in (discriminator_loss(big, big), generator_loss(big), generator_loss_minimax(big)):
        assert torch.isfinite(value)
    assert generator_loss(torch.tensor([-100.0])).item() == pytest.approx(100.0)


@pytest.mark.parametrize("call,error,match", [
    (lambda: discriminator_loss(torch.zeros(2, dtype=torch.long), torch.zeros(2)), TypeError, "d_real_logits"),
    (lambda: discriminator_loss(torch.zeros(2), [0.0]), TypeError, "d_fake_logits must be a floating-point"),
    (lambda: generator_loss(torch.zeros(0)), ValueError, "at least one logit"),
    (lambda: generator_loss_minimax(torch.zeros(0, 1)), ValueError, "at least one logit"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
