"""Tests for cnnlib.data.batches.

Reference: the same batches built by hand in the test from ``torch.randperm`` / ``torch.randint``
with an identically seeded generator, and the rows' contents (every row once per pass).
"""

import pytest
import torch

from cnnlib.data.batches import RandomBatches, ShuffledBatches


@pytest.mark.parametrize("n, bs, drop", [(10, 3, False), (10, 3, True), (9, 3, False), (1, 4, False)])
def test_shuffled_batches_cover_every_row_once_in_the_generators_order(n, bs, drop):
    x, y = torch.arange(n), torch.arange(n) * 10
    batches = ShuffledBatches(x, y, batch_size=bs, generator=torch.Generator().manual_seed(3), drop_last=drop)
    ref = torch.Generator().manual_seed(3)
    for _ in range(2):  # a new order each pass
        perm = torch.randperm(n, generator=ref)
        want = [perm[k:k + bs] for k in range(0, n, bs) if not drop or k + bs <= n]
        got = list(batches)
        assert len(got) == len(batches) == len(want)
        for (bx, by), w in zip(got, want):
            assert torch.equal(bx, w) and torch.equal(by, w * 10)


def test_random_batches_draw_with_replacement_lazily():
    x = torch.arange(20)
    g = torch.Generator().manual_seed(1)
    batches = RandomBatches(x, batch_size=4, num_batches=3, generator=g)
    ref = torch.Generator().manual_seed(1)
    got = []
    for (b,) in batches:
        got.append(b)
        torch.rand(2, generator=g)  # a step drawing from the same generator between batches
    want = []
    for _ in range(3):
        want.append(torch.randint(20, (4,), generator=ref))
        torch.rand(2, generator=ref)
    assert all(torch.equal(a, b) for a, b in zip(got, want)) and len(batches) == 3


def test_errors():
    with pytest.raises(ValueError, match="same number of rows"):
        ShuffledBatches(torch.zeros(3), torch.zeros(4), batch_size=2)
    with pytest.raises(TypeError, match="need one or more tensors"):
        ShuffledBatches([1, 2], batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        RandomBatches(torch.zeros(3), batch_size=0, num_batches=1)
    with pytest.raises(ValueError, match="num_batches must be >= 1"):
        RandomBatches(torch.zeros(3), batch_size=1, num_batches=0)
