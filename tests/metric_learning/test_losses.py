"""Tests for cnnlib.metric_learning.losses: triplet and contrastive losses on given triplets and pairs.

Reference: hand-computed cases; loops over the triplets/pairs (tests/metric_learning/reference.py);
pytorch-metric-learning 2.9's ``TripletMarginLoss`` and ``ContrastiveLoss`` with
``LpDistance(power=2, normalize_embeddings=False)`` (our ``d`` is the squared distance; PML's
default is the plain Euclidean one on normalised embeddings) and explicit index tuples;
``gradcheck`` in float64.
"""

import pytest
import torch

from cnnlib.metric_learning import contrastive_loss, pair_sq_distances, triplet_loss
from tests.metric_learning.reference import pml, sq_dist


def random_triplets(seed, n=7, d=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=dtype) * 0.5 for _ in range(3)]


def test_hand_cases():
    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.3, 0.0]]), torch.tensor([[0.0, 0.4]])
    assert triplet_loss(a, p, n, margin=0.2).item() == pytest.approx(0.09 - 0.16 + 0.2)
    assert triplet_loss(a, p, n, margin=0.0).item() == 0.0  # the hinge
    b = torch.tensor([[0.5, 0.0], [0.6, 0.0], [2.0, 0.0]])
    z = torch.zeros(3, 2)
    got = contrastive_loss(z, b, torch.tensor([1, 0, 0]), margin=1.0)
    assert got.item() == pytest.approx((0.25 + (1 - 0.36) + 0.0) / 3)
    swapped = contrastive_loss(z, b, torch.tensor([0, 1, 1]), margin=1.0)  # labels matter
    assert swapped.item() == pytest.approx((0.75 + 0.36 + 4.0) / 3)


def test_distance_is_squared_and_margin_boundary_is_zero():
    a, p, n = torch.tensor([[0.0]]), torch.tensor([[0.5]]), torch.tensor([[1.0]])  # d(a,p) = 0.25, d(a,n) = 1
    assert triplet_loss(a, p, n, margin=0.75).item() == 0.0  # exactly on the margin
    assert triplet_loss(a, p, n, margin=1.0).item() == 0.25
    assert contrastive_loss(a, n, torch.tensor([0]), margin=1.0).item() == 0.0  # d = m exactly
    assert contrastive_loss(a, n, torch.tensor([1]), margin=1.0).item() == 1.0


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
def test_triplet_loss_matches_a_loop_and_pytorch_metric_learning(seed, margin):
    a, p, n = random_triplets(seed)
    got = triplet_loss(a, p, n, margin)
    loop = sum(max(sq_dist(a[i], p[i]) - sq_dist(a[i], n[i]) + margin, 0.0) for i in range(len(a))) / len(a)
    assert got.item() == pytest.approx(loop, abs=1e-12)
    ref, N = pml(), len(a)
    idx = torch.arange(N)
    loss = ref.losses.TripletMarginLoss(margin=margin, distance=ref.squared, reducer=ref.reducers.MeanReducer())
    triplets = (idx, idx + N, idx + 2 * N)
    expected = loss(torch.cat([a, p, n]), torch.zeros(3 * N, dtype=torch.long), indices_tuple=triplets)
    assert got.item() == pytest.approx(expected.item(), abs=1e-10)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
def test_contrastive_loss_matches_a_loop_and_pytorch_metric_learning(seed, margin):
    a, b, _ = random_triplets(seed, n=8)
    same = torch.tensor([1, 0, 1, 1, 0, 0, 0, 1])
    got = contrastive_loss(a, b, same, margin)
    loop = sum(sq_dist(a[i], b[i]) if same[i] else max(0.0, margin - sq_dist(a[i], b[i])) for i in range(8)) / 8
    assert got.item() == pytest.approx(loop, abs=1e-12)
    # PML's ContrastiveLoss(pos_margin=0, neg_margin=m) is relu(d) for positives plus relu(m - d) for
    # negatives, each averaged over its own pairs; ours averages over all pairs.
    ref, N = pml(), len(a)
    loss = ref.losses.ContrastiveLoss(pos_margin=0, neg_margin=margin, distance=ref.squared,
                                      reducer=ref.reducers.MeanReducer())
    pos, neg = torch.nonzero(same).flatten(), torch.nonzero(same == 0).flatten()
    expected = loss(torch.cat([a, b]), torch.zeros(2 * N, dtype=torch.long), indices_tuple=(pos, pos + N, neg, neg + N))
    mine = contrastive_loss(a[pos], b[pos], same[pos], margin) + contrastive_loss(a[neg], b[neg], same[neg], margin)
    assert mine.item() == pytest.approx(expected.item(), abs=1e-10)


def test_bool_labels_float32_and_single_vectors():
    a, b, _ = random_triplets(0, dtype=torch.float32)
    same = torch.tensor([True, False] * 3 + [True])
    assert contrastive_loss(a, b, same).item() == pytest.approx(contrastive_loss(a, b, same.long()).item())
    assert contrastive_loss(a, b, same).dtype == torch.float32
    one = triplet_loss(a[0], b[0], a[1])
    assert one.item() == pytest.approx(triplet_loss(a[:1], b[:1], a[1:2]).item())
    assert torch.allclose(pair_sq_distances(a, b), ((a - b) ** 2).sum(1))


def test_gradcheck():
    a, p, n = (t.requires_grad_() for t in random_triplets(1, n=4))
    assert torch.autograd.gradcheck(lambda x, y, z: triplet_loss(x, y, z, 0.5), (a, p, n))
    same = torch.tensor([1, 0, 0, 1])
    assert torch.autograd.gradcheck(lambda x, y: contrastive_loss(x, y, same, 0.7), (a, p))


def test_empty_batch_gives_zero():
    z = torch.zeros(0, 3)
    assert triplet_loss(z, z, z).item() == 0.0
    assert contrastive_loss(z, z, torch.zeros(0)).item() == 0.0


def test_errors():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"positive must have shape \(3, 2\) to match anchor, got \(2, 2\)"):
        triplet_loss(x, torch.zeros(2, 2), x)
    with pytest.raises(ValueError, match=r"margin must be in \[0.0, inf\)"):
        triplet_loss(x, x, x, margin=-0.1)
    with pytest.raises(ValueError, match=r"same must be a Tensor\[N\] = \(3,\)"):
        contrastive_loss(x, x, torch.ones(2))
    with pytest.raises(ValueError, match="same must hold only 0 and 1"):
        contrastive_loss(x, x, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="anchor must be a floating-point tensor"):
        triplet_loss(x.long(), x, x)
