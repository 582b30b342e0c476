"""Tests for cnnlib.data.roads: the roads-from-above tiles.

Reference: the data set's promises checked directly on the drawn tiles (seeding, shapes, value
ranges, a binary mask, houses off the road, trees over it); road widths measured independently
from the mask with scipy's Euclidean distance transform.
"""

import numpy as np
import pytest
import torch
from scipy import ndimage

from cnnlib.data import paired
from cnnlib.data.roads import ROAD_CLASSES, RoadsConfig, RoadsDataset, make_roads_tile, roads_tensors

N_TILES = 200


@pytest.fixture(scope="module")
def tiles():
    return [make_roads_tile(np.random.default_rng([5, i]), return_layers=True) for i in range(N_TILES)]


def iou(pred, target):
    inter = ((pred == 1) & (target == 1)).sum().item()
    union = ((pred == 1) | (target == 1)).sum().item()
    return inter / union


def test_same_seed_same_tile_in_any_order_and_seeds_differ():
    a, b = make_roads_tile(np.random.default_rng(7)), make_roads_tile(7)  # an int is a seed
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], make_roads_tile(8)[0])
    ds = RoadsDataset(6, seed=1)
    forward = [ds[i] for i in range(6)]
    backward = [ds[i] for i in reversed(range(6))][::-1]
    for (x0, m0), (x1, m1) in zip(forward, backward):
        assert torch.equal(x0, x1) and torch.equal(m0, m1)
    x_big, m_big = RoadsDataset(50, seed=1)[4]  # tile i does not depend on the size of the set
    assert torch.equal(x_big, forward[4][0]) and torch.equal(m_big, forward[4][1])
    assert torch.equal(ds[-1][0], forward[5][0])
    assert not torch.equal(RoadsDataset(6, seed=2)[4][0], forward[4][0])
    assert not torch.equal(forward[0][0], forward[1][0])


def test_generation_uses_no_global_state():
    torch.manual_seed(0); np.random.seed(0)
    a = RoadsDataset(3, seed=9)[1][0]
    torch.manual_seed(1); np.random.seed(1)
    assert torch.equal(a, RoadsDataset(3, seed=9)[1][0])


def test_types_shapes_range_and_binary_mask(tiles):
    for image, mask, layers in tiles:
        assert image.dtype == torch.float32 and image.shape == (3, 64, 64)
        assert 0 <= image.min() and image.max() <= 1
        assert mask.dtype == torch.int64 and mask.shape == (64, 64)
        assert set(mask.unique().tolist()) <= {0, 1}
        for name in ("trees", "houses", "occluded"):
            assert layers[name].dtype == torch.bool and layers[name].shape == (64, 64)
    assert ROAD_CLASSES == ("background", "road")
    x, m = RoadsDataset(2, seed=0, image_size=96)[1]
    assert x.shape == (3, 96, 96) and m.shape == (96, 96)


def test_road_fraction_within_stated_band(tiles):
    fractions = torch.stack([m.float().mean() for _, m, _ in tiles])
    assert 0.10 <= fractions.mean() <= 0.18  # the card states 13.6 % over 2,000 tiles
    assert (fractions == 0).float().mean() < 0.15  # few tiles without a road
    assert fractions.max() > 0.25


def test_roads_have_varied_widths_measured_from_the_mask(tiles):
    drawn, measured = [], []
    for _, mask, layers in tiles:
        widths = layers["widths"]
        if len(widths) == 1:  # one road: its widest inscribed disc is the road's width
            radius = ndimage.distance_transform_edt(np.pad(mask.numpy(), 1)).max()
            drawn.append(widths.item()), measured.append(2 * radius)
    drawn, measured = np.array(drawn), np.array(measured)
    assert len(drawn) >= 20
    assert drawn.min() < 3 and drawn.max() > 6
    assert np.corrcoef(drawn, measured)[0, 1] > 0.9
    assert np.abs(drawn - measured).max() < 2.5
    all_widths = torch.cat([layers["widths"] for _, _, layers in tiles])
    assert ((all_widths >= 2) & (all_widths <= 7)).all()


def test_trees_hide_roads_that_stay_labelled_road(tiles):
    occluded_tiles, greenness_hidden, greenness_open = 0, [], []
    for image, mask, layers in tiles:
        occ = layers["occluded"]
        assert torch.equal(occ, layers["trees"] & (mask == 1))
        green = image[1] - (image[0] + image[2]) / 2  # (H, W) green excess
        if occ.any():
            occluded_tiles += 1
            assert mask[occ].eq(1).all()  # the convention: a road under a canopy is road
            greenness_hidden.append(green[occ])
        greenness_open.append(green[(mask == 1) & ~layers["trees"]])
    assert occluded_tiles > N_TILES // 4
    assert torch.cat(greenness_hidden).mean() > torch.cat(greenness_open).mean() + 0.05  # canopy colour shows


def test_houses_never_cover_a_road(tiles):
    with_houses = 0
    for _, mask, layers in tiles:
        assert not (layers["houses"] & (mask == 1)).any()
        with_houses += bool(layers["houses"].any())
    assert with_houses > N_TILES // 2


def test_roads_tensors_same_with_workers():
    x0, m0 = roads_tensors(12, seed=3)
    x2, m2 = roads_tensors(12, seed=3, workers=2)
    assert torch.equal(x0, x2) and torch.equal(m0, m2)
    assert x0.shape == (12, 3, 64, 64) and m0.shape == (12, 64, 64) and m0.dtype == torch.int64
    assert torch.equal(x0[7], RoadsDataset(12, seed=3)[7][0])


def test_dataset_transform_and_overrides():
    flip = paired.RandomHorizontalFlip(p=1.0)
    (x, m), (xf, mf) = RoadsDataset(2, seed=4)[0], RoadsDataset(2, seed=4, transform=flip)[0]
    assert torch.equal(xf, x.flip(-1)) and torch.equal(mf, m.flip(-1))
    ds = RoadsDataset(2, seed=4, transform=lambda image, mask: (image[:1], mask * 2))
    assert ds[0][0].shape == (1, 64, 64) and ds[0][1].max() <= 2
    narrow = RoadsDataset(1, config=RoadsConfig(width=(2.0, 2.0)), max_roads=1, p_no_road=0.0)
    assert narrow.config.width == (2.0, 2.0) and narrow.config.max_roads == 1


def test_config_validation():
    with pytest.raises(ValueError, match="image_size must be >= 32"):
        RoadsConfig(image_size=16)
    with pytest.raises(TypeError, match="max_roads must be an int"):
        RoadsConfig(max_roads=2.5)
    with pytest.raises(ValueError, match=r"p_dirt must be in \[0.0, 1.0\]"):
        RoadsConfig(p_dirt=1.5)
    with pytest.raises(ValueError, match="width must have low <= high"):
        RoadsConfig(width=(6.0, 3.0))
    with pytest.raises(ValueError, match="width must be a \\(low, high\\) pair"):
        RoadsConfig(width=3.0)
    with pytest.raises(ValueError, match=r"noise\[1\] must be in"):
        RoadsConfig(noise=(0.0, 2.0))
    with pytest.raises(ValueError, match="unknown RoadsConfig fields \\['colour'\\]"):
        RoadsDataset(2, colour=1)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        RoadsDataset(2, seed=-1)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an int seed"):
        make_roads_tile(1.5)
    with pytest.raises(TypeError, match="config must be a RoadsConfig"):
        make_roads_tile(0, config={"image_size": 64})
    with pytest.raises(IndexError, match="out of range"):
        RoadsDataset(2)[2]
    with pytest.raises(ValueError, match="n must be >= 1"):
        roads_tensors(0)
