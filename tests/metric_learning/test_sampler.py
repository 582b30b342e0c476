"""Tests for cnnlib.metric_learning.sampler: PKSampler and PKBatches.

Reference: the promises counted directly on the batches (P distinct people, K rows each, rows
that belong to their person, every person once per pass, reproducible passes); a DataLoader
that uses the sampler as its ``batch_sampler``.
"""

import collections

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.metric_learning import PKBatches, PKSampler


def labels_with_counts(counts):
    return torch.cat([torch.full((c,), person) for person, c in enumerate(counts)])


def test_batches_hold_p_people_with_k_rows_of_their_own():
    y = labels_with_counts([5, 4, 6, 3, 5, 4, 7, 2])
    sampler = PKSampler(y, p=3, k=4, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 8 // 3
    for batch in batches:
        people = collections.Counter(int(y[i]) for i in batch)
        assert len(batch) == 12 and len(people) == 3 and set(people.values()) == {4}
        blocks = [batch[k:k + 4] for k in range(0, 12, 4)]
        assert all(len({int(y[i]) for i in block}) == 1 for block in blocks)  # person by person


def test_a_pass_visits_every_person_once_and_passes_differ_reproducibly():
    y = labels_with_counts([3] * 10)
    sampler = PKSampler(y, p=2, k=2, seed=0)
    first, second = list(sampler), list(sampler)
    seen = [int(y[b[0]]) for batch in first for b in (batch[:2], batch[2:])]
    assert sorted(seen) == list(range(10))
    assert first != second
    again = PKSampler(y, p=2, k=2, seed=0)
    assert list(again) == first and list(again) == second
    again.set_epoch(0)
    assert list(again) == first
    assert list(PKSampler(y, p=2, k=2, seed=1)) != first


def test_people_with_few_photos():
    y = labels_with_counts([1, 2, 6, 5])  # person 0 has no positive: never drawn
    sampler = PKSampler(y, p=3, k=4, num_batches=20, seed=3)
    for batch in sampler:
        people = collections.Counter(int(y[i]) for i in batch)
        assert 0 not in people and set(people.values()) == {4}
        rows_of_1 = {i for i in batch if y[i] == 1}
        assert rows_of_1 == set(torch.nonzero(y == 1).flatten().tolist())  # both photos, then repeats


def test_dataloader_and_tensor_batches():
    x = torch.arange(24.0)[:, None]
    y = labels_with_counts([4] * 6)
    loader = DataLoader(TensorDataset(x, y), batch_sampler=PKSampler(y, p=2, k=3))
    for xb, yb in loader:
        assert xb.shape == (6, 1) and torch.equal(y[xb[:, 0].long()], yb)
    batches = PKBatches(x, y, p=3, k=2, num_batches=5)
    got = list(batches)
    assert len(got) == len(batches) == 5 and all(torch.equal(y[xb[:, 0].long()], yb) for xb, yb in got)
    first, = PKBatches(y, x, p=3, k=2, num_batches=1, label_index=0)
    assert torch.equal(first[0], y[first[1][:, 0].long()])


def test_errors():
    y = labels_with_counts([2, 2, 1])
    with pytest.raises(ValueError, match="p=3 people per batch, but only 2 people have two or more photos"):
        PKSampler(y, p=3, k=2)
    with pytest.raises(ValueError, match="k must be >= 2"):
        PKSampler(y, p=2, k=1)
    with pytest.raises(ValueError, match="labels must be a 1-D sequence of integer"):
        PKSampler(torch.zeros(4), p=2, k=2)
    with pytest.raises(ValueError, match="same number of rows"):
        PKBatches(torch.zeros(3, 1), y, p=2, k=2)
