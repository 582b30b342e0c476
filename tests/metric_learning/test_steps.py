"""Tests for cnnlib.metric_learning.steps: metric_step and head_step with cnnlib.train.fit.

Reference: the loss functions called directly on the normalised embeddings of the same batch
(contrastive loss over every pair by a loop); training on Gaussian clusters must separate them
(loss falls, the positive/negative distance gap opens, one-shot accuracy on held-out people).
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.metric_learning import (
    EmbeddingWithHead, MarginHead, PKBatches, batch_all_triplet_loss, batch_hard_triplet_loss,
    batch_semi_hard_triplet_loss, contrastive_loss, few_shot_accuracy, head_step, metric_step,
)
from cnnlib.train import evaluate, fit


def people(n_people, photos, seed, dim=10):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_people, dim, generator=g)
    labels = torch.arange(n_people).repeat_interleave(photos)
    x = 2 * centres[labels] + 0.5 * torch.randn(len(labels), dim, generator=g)
    x[:, dim // 2:] = 3 * torch.randn(len(labels), dim - dim // 2, generator=g)  # nuisance dimensions
    return x, labels


@pytest.mark.parametrize("loss,fn", [("batch_all", batch_all_triplet_loss), ("batch_hard", batch_hard_triplet_loss),
                                     ("semi_hard", batch_semi_hard_triplet_loss)])
def test_triplet_steps_equal_the_losses(loss, fn):
    torch.manual_seed(0)
    model = nn.Linear(10, 4)
    x, y = people(4, 3, seed=0)
    out = metric_step(loss, margin=0.3)(model, (x, y), None)
    e = F.normalize(model(x), dim=1)
    assert out["loss"].item() == pytest.approx(fn(e, y, 0.3).item(), abs=1e-6)
    assert 0 <= out["violating"].item() <= 1 and out["pos_dist"] > 0 and out["neg_dist"] > 0


def test_contrastive_step_uses_every_pair():
    torch.manual_seed(0)
    model = nn.Linear(10, 4)
    x, y = people(3, 2, seed=1)
    out = metric_step("contrastive", margin=0.8)(model, (x, y), None)
    e = F.normalize(model(x), dim=1)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    a, b = e[[i for i, _ in pairs]], e[[j for _, j in pairs]]
    same = torch.tensor([int(y[i] == y[j]) for i, j in pairs])
    assert out["loss"].item() == pytest.approx(contrastive_loss(a, b, same, 0.8).item(), abs=1e-6)
    unnormalised = metric_step("contrastive", margin=0.8, normalize=False)(model, (x, y), None)
    assert unnormalised["loss"].item() != pytest.approx(out["loss"].item())


@pytest.mark.parametrize("loss", ["batch_all", "semi_hard", "contrastive"])
def test_fit_learns_an_embedding_for_new_people(loss):
    torch.manual_seed(0)
    x, y = people(40, 6, seed=2)
    x_new, y_new = people(20, 4, seed=3)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 8))
    before = few_shot_accuracy(model(x_new).detach(), y_new, episodes=100)
    data = PKBatches(x, y, p=8, k=3, num_batches=10)
    step = metric_step(loss, margin=0.5)
    h = fit(model, data, step=step, epochs=15, optimizer=torch.optim.Adam(model.parameters(), 3e-3), progress=False)
    assert h["loss"][-1] < 0.7 * h["loss"][0]
    after = evaluate(model, data, step=step)
    assert after["neg_dist"] - after["pos_dist"] > 0.8  # measured 1.3-1.7
    assert few_shot_accuracy(model(x_new).detach(), y_new, episodes=100) > max(before + 0.3, 0.8)  # measured 0.92


def test_head_step_trains_an_arcface_model():
    torch.manual_seed(0)
    x, y = people(10, 8, seed=4)
    model = EmbeddingWithHead(nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 8)),
                              MarginHead(8, 10, "arcface", s=16.0, m=0.3))
    step = head_step()
    out = step(model, (x, y), None)
    assert out["loss"].item() == pytest.approx(F.cross_entropy(model.head(model(x), y), y).item())
    data = [(x[i::4], y[i::4]) for i in range(4)]
    h = fit(model, data, step=step, epochs=40, optimizer=torch.optim.Adam(model.parameters(), 3e-3), progress=False)
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["acc"][-1] > 0.8


def test_errors():
    with pytest.raises(ValueError, match="loss must be one of"):
        metric_step("triplet")
    with pytest.raises(TypeError, match=r"a batch is \(images, labels\)"):
        metric_step()(nn.Linear(2, 2), torch.zeros(2, 2), None)
    with pytest.raises(TypeError, match="head_step needs a model with a head"):
        head_step()(nn.Linear(2, 2), (torch.zeros(2, 2), torch.tensor([0, 1])), None)
