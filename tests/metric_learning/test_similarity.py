"""Tests for cnnlib.metric_learning.similarity: the learned-similarity head.

Reference: seed 001's formula sigma(sum_k w_k |f_k(x_i) - f_k(x_j)| + b) written with a loop
over k and math.exp; ``gradcheck``; a few steps of BCE training that separate same from different.
"""

import math

import pytest
import torch

from cnnlib.metric_learning import SimilarityHead


def test_matches_the_formula_with_a_loop():
    torch.manual_seed(0)
    head = SimilarityHead(4).double()
    torch.nn.init.normal_(head.linear.weight), torch.nn.init.normal_(head.linear.bias)
    fi, fj = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    w, b = head.linear.weight[0].tolist(), head.linear.bias.item()
    expected = []
    for n in range(5):
        z = sum(w[k] * abs(fi[n, k].item() - fj[n, k].item()) for k in range(4)) + b
        expected.append(1 / (1 + math.exp(-z)))
    assert head(fi, fj).tolist() == pytest.approx(expected, abs=1e-12)
    assert torch.allclose(head(fi, fj), head(fj, fi))  # symmetric
    assert head(fi[0], fj[0]).shape == (1,)


def test_initial_head_says_same_for_equal_encodings():
    head = SimilarityHead(3)
    x = torch.randn(2, 3)
    assert (head(x, x) > 0.5).all() and (head(x, x + 5) < 0.5).all()


def test_gradcheck_and_training():
    head = SimilarityHead(3).double()
    fi, fj = torch.randn(4, 3, dtype=torch.float64, requires_grad=True), torch.randn(4, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: head(a, fj), (fi,))
    torch.manual_seed(0)
    a = torch.randn(64, 3)
    same = torch.rand(64) < 0.5
    b = torch.where(same[:, None], a + 0.1 * torch.randn(64, 3), torch.randn(64, 3))
    b[:, 2] = torch.randn(64) * 3  # a useless coordinate: its weight should go to 0
    opt = torch.optim.SGD(head.float().parameters(), lr=0.5)
    for _ in range(200):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head.logits(a, b), same.float())
        opt.zero_grad(), loss.backward(), opt.step()
    assert ((head(a, b) > 0.5) == same).float().mean() > 0.9
    w = head.linear.weight[0].abs()
    assert w[2] < 0.5 * min(w[0], w[1])


def test_errors():
    with pytest.raises(ValueError, match=r"SimilarityHead\(4\) expects encodings of size 4, got 3"):
        SimilarityHead(4)(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"f_j must have shape \(2, 3\) to match f_i"):
        SimilarityHead(3)(torch.zeros(2, 3), torch.zeros(3, 3))
