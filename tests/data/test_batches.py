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


# --- TileBatches: crops and square symmetries, the same for an image and its mask -------------

def dihedral_views(x: torch.Tensor) -> list[torch.Tensor]:
    """The 8 symmetries of a square array's last two dims, written with transpose and flips."""
    views = []
    for t in (x, x.transpose(-2, -1)):
        views += [t, t.flip(-1), t.flip(-2), t.flip(-2).flip(-1)]
    return views


def test_tile_batches_cut_and_turn_image_and_mask_alike():
    from cnnlib.data import TileBatches
    N, H, W, c = 12, 9, 7, 5
    images = torch.arange(N * 2 * H * W, dtype=torch.float64).reshape(N, 2, H, W)  # every value unique
    masks = images[:, 0].long() * 3                                                  # pairs with channel 0
    batches = TileBatches(images, masks, batch_size=5, crop=c, generator=torch.Generator().manual_seed(3))
    assert len(batches) == 2                                         # 12 // 5, the short batch dropped
    seen, transforms = [], set()
    for x, m in batches:
        assert x.shape == (5, 2, c, c) and m.shape == (5, c, c) and x.is_contiguous() and m.dtype == torch.long
        assert torch.equal(m, x[:, 0].long() * 3)                     # the mask moved with its image
        for view in x:
            i = int(view[0].min().item()) // (2 * H * W)              # which image it came from
            seen.append(i)
            found = [(top, left, k) for top in range(H - c + 1) for left in range(W - c + 1)
                     for k, v in enumerate(dihedral_views(images[i, :, top:top + c, left:left + c]))
                     if torch.equal(v, view)]
            assert len(found) == 1, "each view is exactly one window of its image under one symmetry"
            transforms.add(found[0][2])
    assert len(set(seen)) == len(seen) == 10                          # without replacement within a pass
    again = [x for x, _ in TileBatches(images, masks, batch_size=5, crop=c, generator=torch.Generator().manual_seed(3))]
    assert torch.equal(torch.cat(again), torch.cat([x for x, _ in TileBatches(images, masks, 5, c,
                                                    generator=torch.Generator().manual_seed(3))]))
    many = TileBatches(images[:, :, :c, :c], masks[:, :c, :c], batch_size=12, generator=torch.Generator().manual_seed(0))
    for _ in range(10):
        for x, _ in many:
            for view, i in zip(x, (x[:, 0, :, :].amin(dim=(1, 2)).long() // (2 * H * W)).tolist()):
                transforms.add(next(k for k, v in enumerate(dihedral_views(images[i, :, :c, :c])) if torch.equal(v, view)))
    assert transforms == set(range(8)), "all 8 symmetries of the square are drawn"


def test_tile_batches_without_symmetry_or_crop_and_bad_arguments():
    from cnnlib.data import TileBatches
    images, masks = torch.arange(4 * 3 * 36.).reshape(4, 3, 6, 6), torch.randint(0, 2, (4, 6, 6))
    x, m = next(iter(TileBatches(images, masks, batch_size=4, dihedral=False)))
    order = (x[:, 0, 0, 0] // 108).long().tolist()
    assert sorted(order) == [0, 1, 2, 3] and torch.equal(x, images[order]) and torch.equal(m, masks[order])   # whole tiles, untouched
    with pytest.raises(ValueError, match="masks"):
        TileBatches(images, masks[:, :5], batch_size=2)
    with pytest.raises(ValueError, match="larger than the 4 images"):
        TileBatches(images, masks, batch_size=5)
    with pytest.raises(ValueError, match="crop 7"):
        TileBatches(images, masks, batch_size=2, crop=7)
    with pytest.raises(ValueError, match="square"):
        TileBatches(torch.rand(4, 3, 6, 5), torch.zeros(4, 6, 5), batch_size=2)
    with pytest.raises(TypeError, match="generator"):
        TileBatches(images, masks, batch_size=2, generator=0)
    with pytest.raises(TypeError, match="images"):
        TileBatches(images[0], masks, batch_size=2)
