"""Tests for cnnlib.detection.focal: sigmoid_focal_loss.

Reference: the formula of Lin et al. (2017, eq. 5) written out in this file with p = 1/(1+e^-x)
in float64; ``F.binary_cross_entropy_with_logits`` for gamma = 0 without alpha; autograd
gradcheck in float64.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.detection import sigmoid_focal_loss


def focal_formula(x, t, alpha, gamma):
    """-alpha_t (1 - p_t)^gamma log p_t, element by element over Python floats."""
    out = []
    for xi, ti in zip(x.tolist(), t.tolist()):
        p = 1 / (1 + math.exp(-xi))
        p_t = p if ti == 1 else 1 - p
        a_t = 1.0 if alpha is None else (alpha if ti == 1 else 1 - alpha)
        out.append(-a_t * (1 - p_t) ** gamma * math.log(p_t))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.5, 1.0), (None, 2.0), (0.75, 0.0), (0.25, 0.5), (None, 5.0)])
@pytest.mark.parametrize("seed", range(3))
def test_matches_the_formula(seed, alpha, gamma):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50, dtype=torch.float64, generator=g) * 3
    t = (torch.rand(50, generator=g) < 0.3).double()
    out = sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma)
    assert torch.allclose(out, focal_formula(x, t, alpha, gamma), rtol=1e-10, atol=1e-14)
    assert sigmoid_focal_loss(x, t, alpha, gamma, "sum").item() == pytest.approx(out.sum().item(), rel=1e-12)
    assert sigmoid_focal_loss(x, t, alpha, gamma, "mean").item() == pytest.approx(out.mean().item(), rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("alpha", [None, -1])
def test_gamma_zero_without_alpha_is_bce(alpha, dtype):
    x = torch.randn(4, 7, 3, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 4
    t = (torch.rand(4, 7, 3, generator=torch.Generator().manual_seed(1)) < 0.5).to(dtype)
    for reduction in ("none", "mean", "sum"):
        out = sigmoid_focal_loss(x, t, alpha=alpha, gamma=0.0, reduction=reduction)
        ref = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
        assert out.dtype == dtype and torch.allclose(out, ref, rtol=1e-6)


def test_easy_examples_are_down_weighted():
    x = torch.tensor([4.0, 0.0])  # an easy positive (p = 0.98) and a hard one (p = 0.5)
    t = torch.ones(2)
    ratio = sigmoid_focal_loss(x, t, None, 2.0) / F.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert ratio[0] < 1e-3 and ratio[1] == pytest.approx(0.25)  # (1 - p_t)^2


def test_stable_for_large_logits():
    x = torch.tensor([100.0, -100.0, 100.0])
    t = torch.tensor([1.0, 0.0, 0.0])
    out = sigmoid_focal_loss(x, t)
    assert torch.isfinite(out).all() and out[:2].eq(0).all() and out[2].item() == pytest.approx(0.75 * 100)


def test_gradcheck():
    x = torch.randn(12, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(0))
    t = (torch.rand(12, generator=torch.Generator().manual_seed(1)) < 0.5).double()
    assert torch.autograd.gradcheck(lambda z: sigmoid_focal_loss(z, t, 0.25, 2.0, "sum"), (x,))


def test_errors():
    x = torch.zeros(3)
    with pytest.raises(ValueError, match=r"targets must have the shape of inputs \(3,\), got \(2,\)"):
        sigmoid_focal_loss(x, torch.zeros(2))
    with pytest.raises(ValueError, match="alpha must be in"):
        sigmoid_focal_loss(x, x, alpha=1.5)
    with pytest.raises(ValueError, match="gamma must be"):
        sigmoid_focal_loss(x, x, gamma=-1.0)
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\)"):
        sigmoid_focal_loss(x, x, reduction="avg")
    with pytest.raises(TypeError, match="floating-point logits"):
        sigmoid_focal_loss(torch.zeros(3, dtype=torch.long), x)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    x, t = torch.randn(100), (torch.rand(100) < 0.2).float()
    assert torch.allclose(sigmoid_focal_loss(x.cuda(), t.cuda()).cpu(), sigmoid_focal_loss(x, t), atol=1e-6)
