"""Tests for cnnlib.generative.evaluation: Fréchet distance, Inception-style score, class histogram.

Reference: closed forms of the Fréchet distance (one dimension: ``(m1 - m2)^2 + (s1 - s2)^2``;
diagonal or commuting covariances: ``||mu1 - mu2||^2 + sum (sqrt a_i - sqrt b_i)^2``), the FID
formula with ``scipy.linalg.sqrtm`` and ``np.cov`` for full covariances, Inception scores computed
by hand and by a loop with ``math``, and class counts by a loop.
"""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from cnnlib.generative import class_histogram, frechet_distance, frechet_distance_gaussians, inception_score


def test_one_dimensional_closed_form():
    value = frechet_distance_gaussians(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-2.0]),
                                       torch.tensor([[9.0]]))
    assert value == pytest.approx((1 + 2) ** 2 + (2 - 3) ** 2, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_diagonal_and_commuting_covariances(seed):
    gen = torch.Generator().manual_seed(seed)
    D = 6
    mu1, mu2 = torch.randn(D, generator=gen, dtype=torch.float64), torch.randn(D, generator=gen, dtype=torch.float64)
    a, b = torch.rand(D, generator=gen, dtype=torch.float64) * 3, torch.rand(D, generator=gen, dtype=torch.float64)
    expected = ((mu1 - mu2) ** 2).sum().item() + sum((math.sqrt(x) - math.sqrt(y)) ** 2 for x, y in zip(a, b))
    got = frechet_distance_gaussians(mu1, torch.diag(a), mu2, torch.diag(b))
    assert got == pytest.approx(expected, rel=1e-10)
    q, _ = torch.linalg.qr(torch.randn(D, D, generator=gen, dtype=torch.float64))  # a common eigenbasis
    got = frechet_distance_gaussians(mu1, q @ torch.diag(a) @ q.T, mu2, q @ torch.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("seed", [0, 1])
def test_full_covariances_against_scipy_sqrtm(seed):
    rng = np.random.default_rng(seed)
    D = 5
    A, B = rng.normal(size=(D, D)), rng.normal(size=(D, D))
    s1, s2 = A @ A.T + 0.1 * np.eye(D), B @ B.T + 0.1 * np.eye(D)
    m1, m2 = rng.normal(size=D), rng.normal(size=D)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)
    assert frechet_distance_gaussians(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance_gaussians(m2, s2, m1, s1) == pytest.approx(expected, rel=1e-8)   # symmetric
    assert abs(frechet_distance_gaussians(m1, s1, m1, s1)) < 1e-9


def test_frechet_distance_of_features_uses_means_and_unbiased_covariances():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 4))
    b = rng.normal(size=(150, 4)) @ rng.normal(size=(4, 4)) + 1.0
    expected = frechet_distance_gaussians(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)
    a32, b32 = torch.from_numpy(a).float(), torch.from_numpy(b).float()
    assert frechet_distance(a32, b32) == pytest.approx(expected, rel=1e-5)
    shift = np.array([1.0, -2.0, 0.5, 0.0])                               # a shift adds its squared length
    assert frechet_distance(a, a + shift) == pytest.approx(1 + 4 + 0.25, rel=1e-9)
    assert abs(frechet_distance(a, a)) < 1e-9


def test_inception_score_by_hand():
    for K in (1, 2, 4, 10):
        assert inception_score(torch.eye(K)) == pytest.approx(K, rel=1e-12)  # confident and spread: K
        assert inception_score(torch.eye(K).repeat(3, 1)) == pytest.approx(K, rel=1e-12)
    assert inception_score(torch.tensor([[0.2, 0.8]] * 5)) == pytest.approx(1.0)  # identical predictions: 1
    assert inception_score(torch.zeros(4, 3).index_fill_(1, torch.tensor([1]), 1.0)) == pytest.approx(1.0)
    # p1 = (1, 0), p2 = (1/2, 1/2): p(y) = (3/4, 1/4)
    kl1 = math.log(1 / 0.75)
    kl2 = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert inception_score(torch.tensor([[1.0, 0.0], [0.5, 0.5]])) == pytest.approx(math.exp((kl1 + kl2) / 2))


def test_inception_score_equals_a_loop():
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(7, 5, generator=gen, dtype=torch.float64) * 2, dim=1)
    rows = p.tolist()
    marginal = [sum(r[k] for r in rows) / 7 for k in range(5)]
    kl = [sum(r[k] * math.log(r[k] / marginal[k]) for k in range(5)) for r in rows]
    assert inception_score(p) == pytest.approx(math.exp(sum(kl) / 7), rel=1e-12)
    assert 1 <= inception_score(p) <= 5


def test_class_histogram_equals_counting():
    labels = torch.tensor([3, 0, 3, 3, 1, 0, 3])
    counts = [sum(1 for v in labels.tolist() if v == k) / 7 for k in range(5)]
    assert class_histogram(labels, 5).tolist() == pytest.approx(counts)
    assert class_histogram(labels, 5).sum().item() == pytest.approx(1.0)
    assert class_histogram(torch.zeros(0, dtype=torch.long), 3).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("call,error,match", [
    (lambda: frechet_distance(torch.zeros(1, 3), torch.zeros(4, 3)), ValueError, "at least 2 rows"),
    (lambda: frechet_distance(torch.zeros(3, 3), torch.zeros(4, 2)), ValueError, "the same D"),
    (lambda: frechet_distance([[0.0]], torch.zeros(4, 2)), TypeError, "features_a must be a torch.Tensor"),
    (lambda: frechet_distance_gaussians(torch.zeros(2), torch.eye(3), torch.zeros(2), torch.eye(2)), ValueError,
     r"sigma1 must have shape \(2, 2\)"),
    (lambda: inception_score(torch.tensor([[0.5, 0.6]])), ValueError, "probability vectors"),
    (lambda: inception_score(torch.tensor([[1.5, -0.5]])), ValueError, "probability vectors"),
    (lambda: inception_score(torch.zeros(0, 3)), ValueError, "at least one row"),
    (lambda: class_histogram(torch.tensor([0.0, 1.0]), 2), TypeError, "integer Tensor"),
    (lambda: class_histogram(torch.tensor([0, 2]), 2), ValueError, r"labels must be in \[0, 2\)"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
