"""Tests for cnnlib.metric_learning.distances.

Reference: a loop over coordinates (tests/metric_learning/reference.py), ``torch.cdist`` and
``F.cosine_similarity``; autograd gradients checked with ``gradcheck`` and at zero distance.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.metric_learning import pairwise_distances, pairwise_sq_distances, safe_sqrt
from tests.metric_learning.reference import sq_dist


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_squared_distances_match_a_loop(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(5, 3, generator=g).to(dtype), torch.randn(4, 3, generator=g).to(dtype)
    got = pairwise_sq_distances(a, b)
    expected = torch.tensor([[sq_dist(u, v) for v in b] for u in a], dtype=dtype)
    assert got.dtype == dtype and got.shape == (5, 4)
    assert torch.allclose(got, expected, atol=1e-5 if dtype == torch.float32 else 1e-12)


def test_metrics_match_torch():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    assert torch.allclose(pairwise_distances(a, b, "euclidean"), torch.cdist(a, b))
    assert torch.allclose(pairwise_distances(a, b, "squared"), torch.cdist(a, b) ** 2)
    cos = F.cosine_similarity(a[:, None], b[None], dim=2)
    assert torch.allclose(pairwise_distances(a, b, "cosine"), 1 - cos)


@pytest.mark.parametrize("metric", ["squared", "euclidean", "cosine"])
def test_self_distances_have_an_exact_zero_diagonal_and_finite_gradients(metric):
    x = (torch.randn(5, 3, dtype=torch.float64) * 100).requires_grad_()
    d = pairwise_distances(x, metric=metric)
    assert torch.equal(d.diagonal(), torch.zeros(5, dtype=torch.float64))
    assert torch.allclose(d, d.T)
    d.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradcheck_away_from_zero():
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    for metric in ("squared", "euclidean", "cosine"):
        assert torch.autograd.gradcheck(lambda u, v: pairwise_distances(u, v, metric), (a, b))


def test_safe_sqrt_gradient_is_zero_at_zero():
    x = torch.tensor([0.0, 1.0, 9.0], requires_grad=True)
    safe_sqrt(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.0, 0.5, 1 / 6])


def test_empty_inputs():
    assert pairwise_sq_distances(torch.zeros(0, 3), torch.zeros(2, 3)).shape == (0, 2)
    assert pairwise_distances(torch.zeros(0, 3)).shape == (0, 0)


def test_errors():
    with pytest.raises(ValueError, match=r"b must have shape \(M, 3\) to match a, got \(2, 4\)"):
        pairwise_sq_distances(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(TypeError, match="a must be a floating-point tensor"):
        pairwise_sq_distances(torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="must have the dtype of a"):
        pairwise_sq_distances(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"a must have shape \(N, D\)"):
        pairwise_sq_distances(torch.zeros(3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_distances(torch.zeros(2, 3), metric="manhattan")


@pytest.mark.gpu
def test_cuda_follows_the_inputs():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    a = torch.randn(5, 3, device="cuda")
    assert torch.allclose(pairwise_distances(a, metric="euclidean").cpu(), torch.cdist(a.cpu(), a.cpu()), atol=1e-4)
