"""Tests for cnnlib.metric_learning.margins: ArcFace, CosFace and softmax heads.

Reference: ArcFace logits from a loop with ``math.acos`` and the paper's fallback
``cos(theta) - m sin(m)`` for ``theta > pi - m`` (tests/metric_learning/reference.py);
pytorch-metric-learning 2.9's ``ArcFaceLoss`` (its margin in DEGREES: ``math.degrees(m)``, its
weight ``W`` is ``(D, K)``: our ``weight.T``) and ``CosFaceLoss``, whose losses must equal
``F.cross_entropy`` of our logits; ``gradcheck``.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlib.metric_learning import EmbeddingWithHead, MarginHead, arcface_logits, cosface_logits
from tests.metric_learning.reference import arcface_logit_loop, pml


def case(seed, n=10, d=4, k=5):
    g = torch.Generator().manual_seed(seed)
    e, w = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(k, d, generator=g, dtype=torch.float64)
    return e, w, torch.randint(0, k, (n,), generator=g)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("m", [0.2, 0.5, 1.2])
def test_arcface_matches_the_loop(seed, m):
    e, w, y = case(seed)
    got = arcface_logits(e, w, y, s=8.0, m=m)
    expected = torch.stack([arcface_logit_loop(e[i], w, int(y[i]), 8.0, m) for i in range(len(e))])
    assert torch.allclose(got, expected, atol=1e-5)


def test_arcface_fallback_beyond_pi_minus_m():
    e = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    w = torch.tensor([[-1.0, 0.1], [0.0, 1.0]], dtype=torch.float64)  # class 0 at ~174 degrees
    m = 0.5
    got = arcface_logits(e, w, torch.tensor([0, 1]), s=1.0, m=m)
    cos0 = -1 / math.sqrt(1.01)
    assert got[0, 0].item() == pytest.approx(cos0 - m * math.sin(m))  # theta + m > pi
    assert got[1, 1].item() == pytest.approx(math.cos(math.pi / 2 + m))  # theta + m < pi
    assert got[0, 1].item() == pytest.approx(0.0, abs=1e-12) and got[1, 0].item() == pytest.approx(cos0)
    no_margin = arcface_logits(e, w, None, s=1.0, m=m)
    assert torch.allclose(no_margin, F.normalize(e, dim=1) @ F.normalize(w, dim=1).T)


def test_margin_goes_to_the_target_class_only():
    e, w, y = case(7)
    plain, margin = arcface_logits(e, w, None, 4.0), arcface_logits(e, w, y, 4.0, 0.5)
    changed = (plain != margin)
    assert torch.equal(changed, F.one_hot(y, 5).bool())
    assert (margin[changed] < plain[changed]).all()  # the margin makes the target harder


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("m", [0.3, 0.5, 1.0])
def test_arcface_loss_equals_pytorch_metric_learning(seed, m):
    e, w, y = case(seed)
    loss = pml().losses.ArcFaceLoss(num_classes=5, embedding_size=4, margin=math.degrees(m), scale=16.0)
    loss.W.data = w.T.clone()
    expected = loss(e, y)
    got = F.cross_entropy(arcface_logits(e, w, y, s=16.0, m=m), y)
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_cosface_matches_pytorch_metric_learning_and_the_formula(seed):
    e, w, y = case(seed)
    got = cosface_logits(e, w, y, s=16.0, m=0.35)
    cos = F.cosine_similarity(e[:, None], w[None], dim=2)
    assert torch.allclose(got, 16 * (cos - 0.35 * F.one_hot(y, 5)))
    loss = pml().losses.CosFaceLoss(num_classes=5, embedding_size=4, margin=0.35, scale=16.0)
    loss.W.data = w.T.clone()
    assert F.cross_entropy(got, y).item() == pytest.approx(loss(e, y).item(), abs=1e-10)


def test_gradcheck():
    e, w, y = case(3, n=4, d=3, k=3)
    e.requires_grad_(), w.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: arcface_logits(a, b, y, 2.0, 0.4), (e, w))
    assert torch.autograd.gradcheck(lambda a, b: cosface_logits(a, b, y, 2.0, 0.3), (e, w))


def test_heads_and_model():
    torch.manual_seed(0)
    e, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    soft = MarginHead(8, 5, "softmax")
    assert torch.allclose(soft(e, y), e @ soft.weight.T + soft.bias)
    arc = MarginHead(8, 5, "arcface", s=16.0)
    assert torch.allclose(arc(e, y), arcface_logits(e, arc.weight, y, 16.0, 0.5))
    assert torch.allclose(arc(e), arcface_logits(e, arc.weight, None, 16.0))
    cos = MarginHead(8, 5, "cosface", s=16.0, m=0.2)
    assert torch.allclose(cos(e, y), cosface_logits(e, cos.weight, y, 16.0, 0.2))
    model = EmbeddingWithHead(torch.nn.Linear(3, 8), arc)
    assert torch.allclose(model(torch.randn(4, 3)).norm(dim=1), torch.ones(4))
    assert "kind='arcface'" in repr(arc)


def test_errors():
    e, w, y = case(0)
    with pytest.raises(ValueError, match=r"weight must be a Tensor\[K, D\] with D = 4"):
        arcface_logits(e, w[:, :3], y)
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 5\)"):
        arcface_logits(e, w, y + 5)
    with pytest.raises(ValueError, match=r"m must be in \[0.0, 1.57"):
        arcface_logits(e, w, y, m=2.0)
    with pytest.raises(ValueError, match="must have the dtype and device of embeddings"):
        cosface_logits(e, w.float(), y)
    with pytest.raises(ValueError, match="kind must be one of"):
        MarginHead(4, 5, "sphereface")
    with pytest.raises(TypeError, match="embedder and head must be nn.Modules"):
        EmbeddingWithHead(torch.nn.Linear(2, 2), "head")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    e, w, y = (t.float() if t.is_floating_point() else t for t in case(0))
    got = arcface_logits(e.cuda(), w.cuda(), y.cuda(), 16.0, 0.5)
    assert got.device.type == "cuda" and torch.allclose(got.cpu(), arcface_logits(e, w, y, 16.0, 0.5), atol=1e-4)
