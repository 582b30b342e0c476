"""Tests for cnnlib.generative.likelihood: NLL in nats, bits per dimension, the training step.

Reference: ``-log p`` summed pixel by pixel in Python loops with ``math`` (sigmoid and log-softmax
by hand), ``F.binary_cross_entropy_with_logits`` and ``F.cross_entropy`` summed by hand, and
bits per dimension computed by hand (``nll / (D ln 2)``: a fair coin per pixel is one bit).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.generative import (
    PixelCNN, bernoulli_nll, bits_per_dim, categorical_nll, pixelcnn_nll, pixelcnn_step,
)
from cnnlib.train import evaluate, fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bernoulli_nll_equals_a_loop_and_bce(seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(3, 2, 4, 5, generator=gen, dtype=torch.float64) * 3
    x = (torch.rand(3, 2, 4, 5, generator=gen) < 0.4).double()
    got = bernoulli_nll(logits, x)
    assert got.shape == (3,)
    for n in range(3):
        total = 0.0
        for c in range(2):
            for i in range(4):
                for j in range(5):
                    p = 1 / (1 + math.exp(-logits[n, c, i, j].item()))
                    total -= math.log(p if x[n, c, i, j] == 1 else 1 - p)
        assert got[n].item() == pytest.approx(total, rel=1e-12)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    torch.testing.assert_close(got.sum(), bce)
    torch.testing.assert_close(bernoulli_nll(logits, x.bool()), got)      # any dtype of 0s and 1s


@pytest.mark.parametrize("seed", [0, 1])
def test_categorical_nll_equals_a_loop_and_cross_entropy(seed):
    gen = torch.Generator().manual_seed(seed)
    L = 5
    logits = torch.randn(2, 3, L, 3, 4, generator=gen, dtype=torch.float64)
    levels = torch.randint(0, L, (2, 3, 3, 4), generator=gen)
    x = levels.double() / (L - 1)
    got = categorical_nll(logits, x)
    for n in range(2):
        total = 0.0
        for c in range(3):
            for i in range(3):
                for j in range(4):
                    z = [logits[n, c, k, i, j].item() for k in range(L)]
                    log_norm = math.log(sum(math.exp(v) for v in z))
                    total -= z[levels[n, c, i, j]] - log_norm
        assert got[n].item() == pytest.approx(total, rel=1e-12)
    ce = sum(F.cross_entropy(logits[:, c, :, i, j], levels[:, c, i, j], reduction="sum")
             for c in range(3) for i in range(3) for j in range(4))
    torch.testing.assert_close(got.sum(), ce)
    torch.testing.assert_close(categorical_nll(logits, levels), got)       # integer levels
    torch.testing.assert_close(categorical_nll(logits.float(), x.float()), got.float())  # float32 k / (L - 1)
    torch.testing.assert_close(pixelcnn_nll(logits, x), got)


def test_uniform_models_cost_one_bit_or_eight():
    D = 2 * 28 * 28
    x = (torch.rand(4, 2, 28, 28) < 0.5).float()
    nll = bernoulli_nll(torch.zeros(4, 2, 28, 28), x)
    assert [bits_per_dim(v, D) for v in nll] == pytest.approx([1.0] * 4, rel=1e-6)
    nll = categorical_nll(torch.zeros(1, 1, 256, 4, 4), torch.randint(0, 256, (1, 1, 4, 4)))
    assert bits_per_dim(nll, 16) == pytest.approx(8.0, rel=1e-6)


def test_bits_per_dim_by_hand():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0, rel=1e-15)
    assert bits_per_dim(80.0, 784) == pytest.approx(80 / 784 / 0.6931471805599453, rel=1e-15)
    assert bits_per_dim(torch.tensor(80.0), 784) == pytest.approx(0.147214, abs=1e-6)
    assert bits_per_dim(torch.tensor([3 * math.log(2)]), 3) == pytest.approx(1.0)
    assert bits_per_dim(0, 10) == 0.0 and isinstance(bits_per_dim(1, 1), float)
    # nats are natural logarithms: base 2 would make this 1 / ln 2 times too small
    assert bits_per_dim(math.log(2), 1) == pytest.approx(1.0) and bits_per_dim(1.0, 1) == pytest.approx(1.4427, 1e-4)


def test_step_inside_fit_reports_nats_per_image_and_learns():
    torch.manual_seed(0)
    images = (torch.rand(48, 1, 6, 6) < 0.3).float()
    images[:, :, 1::2] = images[:, :, ::2]                                  # odd rows copy the row above
    data = DataLoader(TensorDataset(images), batch_size=16)
    model = PixelCNN(channels=8, num_layers=1, kernel_size=3)
    before = evaluate(model, data, step=pixelcnn_step())
    with torch.no_grad():
        expected = bernoulli_nll(model(images), images).mean().item()
    assert before["loss"] == pytest.approx(expected, rel=1e-5)
    assert before["bits_per_dim"] == pytest.approx(expected / (36 * math.log(2)), rel=1e-5)
    h = fit(model, data, step=pixelcnn_step(), epochs=40, optimizer=torch.optim.Adam(model.parameters(), 0.02),
            progress=False)
    assert h["loss"][-1] < 0.8 * before["loss"]


def test_conditional_step_passes_the_labels():
    torch.manual_seed(0)
    model = PixelCNN(1, 8, 1, 3, output="categorical", levels=4, num_classes=2)
    with torch.no_grad():
        model.embed.weight.normal_()
    x, y = torch.randint(0, 4, (5, 1, 4, 4)).float() / 3, torch.tensor([0, 1, 1, 0, 1])
    out = pixelcnn_step(conditional=True)(model, (x, y), None)
    with torch.no_grad():
        assert out["loss"].item() == pytest.approx(categorical_nll(model(x, y), x).mean().item(), rel=1e-6)
        assert out["loss"].item() != pytest.approx(categorical_nll(model(x, 1 - y), x).mean().item(), rel=1e-6)
    with pytest.raises(TypeError, match="needs batches"):
        pixelcnn_step(conditional=True)(model, (x,), None)


@pytest.mark.parametrize("call,error,match", [
    (lambda: bernoulli_nll(torch.zeros(2, 1, 3, 3), torch.full((2, 1, 3, 3), 0.5)), ValueError, "only 0s and 1s"),
    (lambda: bernoulli_nll(torch.zeros(2, 1, 3, 3), torch.zeros(2, 1, 3, 4)), ValueError, r"x must have shape"),
    (lambda: bernoulli_nll(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3)), ValueError, r"\(N, C, H, W\)"),
    (lambda: categorical_nll(torch.zeros(1, 1, 4, 2, 2), torch.full((1, 1, 2, 2), 0.5)), ValueError,
     r"levels k / \(L - 1\)"),
    (lambda: categorical_nll(torch.zeros(1, 1, 4, 2, 2), torch.full((1, 1, 2, 2), 4)), ValueError,
     r"levels in \[0, 4\)"),
    (lambda: categorical_nll(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)), ValueError, r"\(N, C, L, H, W\)"),
    (lambda: bits_per_dim(float("nan"), 4), ValueError, "nll_nats must be finite"),
    (lambda: bits_per_dim(torch.zeros(2), 4), TypeError, "one-element tensor"),
    (lambda: bits_per_dim("1", 4), TypeError, "nll_nats must be a number"),
    (lambda: bits_per_dim(1.0, 0), ValueError, "num_dims must be >= 1"),
    (lambda: pixelcnn_step(conditional=1), TypeError, "conditional must be a bool"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
