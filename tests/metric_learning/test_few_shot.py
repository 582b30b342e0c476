"""Tests for cnnlib.metric_learning.few_shot: N-way K-shot episode accuracy.

Reference: cases whose answer is known without running episodes: well separated people (1.0),
embeddings that carry no identity (chance, 1/n_way, within a binomial margin), a two-shot case
where only the prototype (mean of the support) answers right; an episode loop written here
with its own random draws, which must agree on average.
"""

import numpy as np
import pytest
import torch

from cnnlib.metric_learning import few_shot_accuracy


def clusters(people=8, photos=4, spread=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(people, 5, generator=g) * 3
    labels = torch.arange(people).repeat_interleave(photos)
    return centres[labels] + spread * torch.randn(len(labels), 5, generator=g), labels


def test_separated_people_are_always_recognised():
    e, y = clusters()
    assert few_shot_accuracy(e, y, n_way=5, episodes=50) == 1.0
    assert few_shot_accuracy(e, y, n_way=3, k_shot=2, queries=2, episodes=50, metric="cosine") == 1.0


@pytest.mark.parametrize("n_way", [2, 5])
def test_no_identity_gives_chance(n_way):
    g = torch.Generator().manual_seed(1)
    e, y = torch.randn(400, 8, generator=g), torch.arange(100).repeat_interleave(4)
    acc = few_shot_accuracy(e, y, n_way=n_way, episodes=400)
    sd = (1 / n_way * (1 - 1 / n_way) / (400 * n_way)) ** 0.5
    assert abs(acc - 1 / n_way) < 4 * sd


def test_two_shots_use_the_prototype():
    # person 0: photos at -1 and +1 (prototype 0); person 1: photos at 1.2 and 1.4 (prototype 1.3)
    e = torch.tensor([[-1.0], [1.0], [0.1], [1.2], [1.4], [1.3]])
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    # a query 0.1 of person 0 is nearer to the single photo 1.0... but also to prototype 0 than to 1.3
    acc = few_shot_accuracy(e, y, n_way=2, k_shot=2, queries=1, episodes=200)
    assert 0.5 < acc <= 1.0
    loop = []
    rng = np.random.default_rng(0)
    for _ in range(400):
        rows = {p: rng.permutation(np.flatnonzero(y.numpy() == p)) for p in (0, 1)}
        protos = {p: e[rows[p][:2]].mean().item() for p in (0, 1)}
        for p in (0, 1):
            q = e[rows[p][2]].item()
            loop.append(min(protos, key=lambda c: (q - protos[c]) ** 2) == p)
    assert acc == pytest.approx(np.mean(loop), abs=0.08)


def test_reproducible_with_a_generator():
    e, y = clusters(spread=3.0)
    a = few_shot_accuracy(e, y, episodes=30, generator=torch.Generator().manual_seed(5))
    b = few_shot_accuracy(e, y, episodes=30, generator=torch.Generator().manual_seed(5))
    assert a == b == few_shot_accuracy(e, y, episodes=30, generator=torch.Generator().manual_seed(5))


def test_errors():
    e, y = clusters(people=4, photos=2)
    with pytest.raises(ValueError, match="n_way=5 people per episode, but only 4 have k_shot \\+ queries = 2"):
        few_shot_accuracy(e, y, n_way=5)
    with pytest.raises(ValueError, match="only 0 have"):
        few_shot_accuracy(e, y, n_way=2, k_shot=2)
    with pytest.raises(ValueError, match="n_way must be >= 2"):
        few_shot_accuracy(e, y, n_way=1)
    with pytest.raises(TypeError, match="generator must be"):
        few_shot_accuracy(e, y, generator=0)
