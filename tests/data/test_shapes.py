"""Tests for cnnlib.data.shapes.

Reference: loops written in the test over the pixels of each instance mask (tight boxes, the
semantic mask), and the data set's own promises (seeded, counts, value ranges) checked directly.
"""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from cnnlib.data.shapes import (
    CLASS_NAMES, SEGMENTATION_CLASSES, ShapesConfig, ShapesDataset, detection_collate, make_scene,
)

N_SCENES = 120


@pytest.fixture(scope="module")
def scenes():
    ds = ShapesDataset(N_SCENES, seed=5)
    return [ds.scene(i) for i in range(N_SCENES)]


def test_same_seed_same_scene_and_different_seeds_differ():
    a, b = make_scene(np.random.default_rng(7)), make_scene(np.random.default_rng(7))
    for name in ("image", "boxes", "labels", "masks", "semantic"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    c = make_scene(np.random.default_rng(8))
    assert not torch.equal(a.image, c.image)
    x0, t0 = ShapesDataset(4, seed=1)[2]
    x1, t1 = ShapesDataset(50, seed=1)[2]  # scene i does not depend on the size of the set
    assert torch.equal(x0, x1) and torch.equal(t0["boxes"], t1["boxes"])
    assert not torch.equal(x0, ShapesDataset(4, seed=2)[2][0])
    assert not torch.equal(ShapesDataset(4, seed=1)[1][0], x0)  # scenes of one set differ


def test_generation_uses_no_global_state():
    torch.manual_seed(0); np.random.seed(0)
    a = ShapesDataset(3, seed=9)[1][0]
    torch.manual_seed(1); np.random.seed(1)
    assert torch.equal(a, ShapesDataset(3, seed=9)[1][0])


def test_types_shapes_and_value_range(scenes):
    for s in scenes:
        K = len(s.labels)
        assert s.image.dtype == torch.float32 and s.image.shape == (3, 64, 64)
        assert 0 <= s.image.min() and s.image.max() <= 1
        assert s.boxes.dtype == torch.float32 and s.boxes.shape == (K, 4)
        assert s.labels.dtype == torch.int64 and s.masks.dtype == torch.bool and s.masks.shape == (K, 64, 64)
        assert s.semantic.dtype == torch.int64 and s.semantic.shape == (64, 64)
        assert ((0 <= s.labels) & (s.labels < len(CLASS_NAMES))).all()
    assert SEGMENTATION_CLASSES[0] == "background" and SEGMENTATION_CLASSES[1:] == CLASS_NAMES


def test_counts_cover_zero_to_five_and_all_classes(scenes):
    counts = [len(s.labels) for s in scenes]
    assert set(counts) == set(range(6))
    labels = torch.cat([s.labels for s in scenes])
    assert torch.bincount(labels, minlength=3).min() > len(labels) / 6  # no class is rare


def test_boxes_are_tight_around_each_visible_mask(scenes):
    checked = 0
    for s in scenes:
        for box, mask in zip(s.boxes.tolist(), s.masks):
            ys, xs = [], []
            for i in range(64):  # the loop reference: every pixel of the instance
                for j in range(64):
                    if mask[i, j]:
                        ys.append(i); xs.append(j)
            assert ys, "an object without visible pixels"
            assert box == [min(xs), min(ys), max(xs) + 1, max(ys) + 1]
            checked += 1
        if checked > 60:
            break
    for s in scenes:  # and all of them with tensor ops
        for box, mask in zip(s.boxes, s.masks):
            rows, cols = mask.any(1).nonzero()[:, 0], mask.any(0).nonzero()[:, 0]
            assert box.tolist() == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
            assert mask.sum() >= 6 and (box[2:] - box[:2]).min() >= 2


def test_masks_are_disjoint_and_semantic_holds_the_label_on_top(scenes):
    for s in scenes[:40]:
        assert (s.masks.sum(0) <= 1).all()
        expected = torch.zeros(64, 64, dtype=torch.int64)
        for k in range(len(s.labels)):  # later objects are drawn on top
            expected[s.masks[k]] = s.labels[k] + 1
        assert torch.equal(s.semantic, expected)


def test_objects_stand_out_from_what_surrounds_them(scenes):
    gaps = []
    for s in scenes:
        for mask in s.masks:
            ring = torch.nn.functional.max_pool2d(mask[None, None].float(), 3, 1, 1)[0, 0].bool() & ~mask
            if ring.sum() >= 4:
                inside, outside = s.image[:, mask].mean(1), s.image[:, ring].mean(1)
                gaps.append((inside - outside).norm().item())
    assert np.median(gaps) > 0.2 and np.mean(np.array(gaps) > 0.1) > 0.9


def test_96_pixel_scenes_and_config_overrides():
    ds = ShapesDataset(20, seed=3, image_size=96, max_objects=2)
    for i in range(20):
        image, target = ds[i]
        assert image.shape == (3, 96, 96) and target["masks"].shape[1:] == (96, 96)
        assert len(target["labels"]) <= 2
        assert (target["boxes"] >= 0).all() and (target["boxes"] <= 96).all()
    assert ds.config.image_size == 96 and ds.config.max_objects == 2
    one = ShapesDataset(10, seed=0, max_objects=1, min_size=0.3)
    sizes = [(t["boxes"][:, 2:] - t["boxes"][:, :2]).prod(1) for _, t in (one[i] for i in range(10))]
    assert all(len(s) <= 1 for s in sizes)


def test_collate_handles_different_numbers_of_boxes():
    ds = ShapesDataset(16, seed=4)
    images, targets = next(iter(DataLoader(ds, batch_size=16, collate_fn=detection_collate)))
    assert images.shape == (16, 3, 64, 64) and len(targets) == 16
    assert len({len(t["boxes"]) for t in targets}) > 1
    assert torch.equal(targets[3]["boxes"], ds[3][1]["boxes"])
    with pytest.raises(ValueError, match="batch is empty"):
        detection_collate([])
    with pytest.raises(ValueError, match="one shape"):
        detection_collate([ds[0], ShapesDataset(1, image_size=96)[0]])


def test_validation_errors():
    with pytest.raises(ValueError, match="image_size must be >= 16"):
        ShapesConfig(image_size=8)
    with pytest.raises(ValueError, match="min_size <= max_size"):
        ShapesConfig(min_size=0.5, max_size=0.2)
    with pytest.raises(ValueError, match="max_objects"):
        ShapesConfig(max_objects=-1)
    with pytest.raises(ValueError, match="min_visible"):
        ShapesConfig(min_visible=0)
    with pytest.raises(ValueError, match="noise"):
        ShapesConfig(noise=(0.2, 0.1))
    with pytest.raises(ValueError, match="n must be >= 0"):
        ShapesDataset(-1)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        ShapesDataset(3, seed=-2)
    with pytest.raises(ValueError, match=r"unknown ShapesConfig fields \['colour'\]"):
        ShapesDataset(3, colour="red")
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        make_scene(0)
    with pytest.raises(IndexError, match="out of range"):
        ShapesDataset(3)[3]
    assert len(ShapesDataset(0)) == 0
    assert torch.equal(ShapesDataset(3)[-1][0], ShapesDataset(3)[2][0])
