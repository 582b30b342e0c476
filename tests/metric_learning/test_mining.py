"""Tests for cnnlib.metric_learning.mining: triplet selection and the batch-all/hard/semi-hard losses.

Reference: loops over every (anchor, positive, negative) in tests/metric_learning/reference.py
(the semi-hard loss as TensorFlow Addons' ``triplet_semihard_loss`` defines it);
pytorch-metric-learning 2.9: ``TripletMarginMiner`` ("all" = our "violating", "hard",
"semihard"), ``BatchHardMiner``, and ``TripletMarginLoss`` (its default reducer averages over
the non-zero losses = our "active"), all with ``LpDistance(power=2, normalize_embeddings=False)``;
hand-built batches whose triplets sit exactly on the margin; ``gradcheck``.
"""

import pytest
import torch

from cnnlib.metric_learning import (
    batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss, triplet_indices, triplet_loss,
)
from tests.metric_learning.reference import batch_hard_loop, pml, semi_hard_loop, triplets_loop

PML_TYPE = {"violating": "all", "hard": "hard", "semihard": "semihard"}


def pk_batch(seed, p=4, k=3, d=4, dtype=torch.float64, spread=0.6):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(p, d, generator=g, dtype=dtype)
    labels = torch.arange(p).repeat_interleave(k)
    return centres[labels] + spread * torch.randn(p * k, d, generator=g, dtype=dtype), labels


def as_set(indices):
    return set(zip(*[t.tolist() for t in indices]))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("strategy", ["all", "violating", "hard", "semihard"])
def test_triplet_indices_match_a_loop(seed, strategy):
    e, y = pk_batch(seed)
    got = triplet_indices(e, y, strategy, margin=0.5)
    assert list(zip(*[t.tolist() for t in got])) == triplets_loop(e, y.tolist(), strategy, 0.5)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("strategy", ["violating", "hard", "semihard"])
def test_triplet_indices_match_pytorch_metric_learning(seed, strategy):
    e, y, ref = *pk_batch(seed), pml()
    miner = ref.miners.TripletMarginMiner(margin=0.5, type_of_triplets=PML_TYPE[strategy], distance=ref.squared)
    expected = miner(e, y)
    assert as_set(triplet_indices(e, y, strategy, 0.5)) == as_set(expected)


def test_triplets_on_the_boundaries():
    # one dimension; labels 0, 0, 1: d(0,1) = 1, d(0,2) = 1.25 or 1 exactly
    y = torch.tensor([0, 0, 1])
    e = torch.tensor([[0.0], [1.0], [1.5]])  # anchor 0: gap = 2.25 - 1 = 1.25 (margin 1.25 exactly)
    assert (0, 1, 2) in as_set(triplet_indices(e, y, "semihard", margin=1.25))
    assert (0, 1, 2) not in as_set(triplet_indices(e, y, "semihard", margin=1.0))
    e = torch.tensor([[0.0], [1.0], [-1.0]])  # gap exactly 0: hard, not semi-hard
    assert (0, 1, 2) in as_set(triplet_indices(e, y, "hard", 0.2))
    assert (0, 1, 2) not in as_set(triplet_indices(e, y, "semihard", 0.2))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("margin", [0.1, 0.5, 2.0])
def test_batch_all_matches_pytorch_metric_learning(seed, margin):
    e, y, ref = *pk_batch(seed), pml()
    active = ref.losses.TripletMarginLoss(margin=margin, distance=ref.squared)(e, y)
    mean = ref.losses.TripletMarginLoss(margin=margin, distance=ref.squared, reducer=ref.reducers.MeanReducer())(e, y)
    assert batch_all_triplet_loss(e, y, margin).item() == pytest.approx(active.item(), abs=1e-10)
    assert batch_all_triplet_loss(e, y, margin, "mean").item() == pytest.approx(mean.item(), abs=1e-10)
    a, p, n = triplet_indices(e, y, "all")
    assert batch_all_triplet_loss(e, y, margin, "mean").item() == pytest.approx(
        triplet_loss(e[a], e[p], e[n], margin).item(), abs=1e-10)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
def test_batch_hard_matches_a_loop_and_pytorch_metric_learning(seed, margin):
    e, y = pk_batch(seed, k=2 + seed % 3)
    got = batch_hard_triplet_loss(e, y, margin)
    assert got.item() == pytest.approx(batch_hard_loop(e, y.tolist(), margin), abs=1e-10)
    ref = pml()
    mined = ref.miners.BatchHardMiner(distance=ref.squared)(e, y)
    loss = ref.losses.TripletMarginLoss(margin=margin, distance=ref.squared, reducer=ref.reducers.MeanReducer())
    assert got.item() == pytest.approx(loss(e, y, mined).item(), abs=1e-10)


def test_batch_hard_picks_the_hardest_not_the_easiest():
    y = torch.tensor([0, 0, 0, 1, 1])
    e = torch.tensor([[0.0], [0.1], [2.0], [0.5], [9.0]], dtype=torch.float64)
    # per anchor: farthest positive - nearest negative + 0.2 (squared distances)
    per_anchor = [4.0 - 0.25 + 0.2, 3.61 - 0.16 + 0.2, 4.0 - 2.25 + 0.2, 72.25 - 0.16 + 0.2, 72.25 - 49.0 + 0.2]
    assert batch_hard_triplet_loss(e, y).item() == pytest.approx(sum(per_anchor) / 5, rel=1e-12)
    easiest = [max(0.01 - 81 + 0.2, 0), 0, 0, 0, 0]  # the mutant: nearest positive, farthest negative
    assert batch_hard_triplet_loss(e, y).item() != pytest.approx(sum(easiest) / 5)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_semi_hard_matches_the_facenet_loop(seed, margin):
    e, y = pk_batch(seed, spread=1.0)
    got = batch_semi_hard_triplet_loss(e, y, margin)
    assert got.item() == pytest.approx(semi_hard_loop(e, y.tolist(), margin), abs=1e-10)


def test_anchors_without_positive_or_negative_are_left_out():
    e = torch.tensor([[0.0], [0.3], [1.0], [5.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 2])  # people 1 and 2 have no positive
    assert batch_hard_triplet_loss(e, y, 0.5).item() == pytest.approx(batch_hard_loop(e, y.tolist(), 0.5))
    for loss in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss):
        x = torch.randn(3, 2, requires_grad=True)
        out = loss(x, torch.tensor([0, 1, 2]), 0.2)  # no positives at all
        assert out.item() == 0.0 and out.requires_grad
        out.backward()
        assert torch.equal(x.grad, torch.zeros(3, 2))
        assert loss(x, torch.tensor([4, 4, 4]), 0.2).item() == 0.0  # no negatives


def test_gradcheck():
    e, y = pk_batch(5, p=3, k=2)
    e.requires_grad_()
    for loss in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss):
        assert torch.autograd.gradcheck(lambda x: loss(x, y, 0.5), (e,))


def test_float32_agrees_with_float64():
    e, y = pk_batch(2)
    for loss in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss):
        assert loss(e.float(), y).item() == pytest.approx(loss(e, y).item(), rel=1e-4)


def test_errors():
    e = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"labels must have one entry per embedding \(4\), got 3"):
        batch_hard_triplet_loss(e, torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        batch_hard_triplet_loss(e, torch.zeros(4))
    with pytest.raises(ValueError, match="strategy must be one of"):
        triplet_indices(e, torch.zeros(4, dtype=torch.long), "easy")
    with pytest.raises(ValueError, match="reduction must be one of"):
        batch_all_triplet_loss(e, torch.zeros(4, dtype=torch.long), reduction="sum")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    e, y = pk_batch(0, dtype=torch.float32)
    for loss in (batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss):
        assert loss(e.cuda(), y.cuda()).item() == pytest.approx(loss(e, y).item(), rel=1e-4)
