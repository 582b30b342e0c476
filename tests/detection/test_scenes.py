"""Tests for cnnlib.detection.scenes.scene_tensors.

Reference: the data set read item by item in the test.
"""

import pytest
import torch

from cnnlib.data.shapes import ShapesDataset
from cnnlib.detection import scene_tensors


@pytest.mark.parametrize("workers", [0, 2])
def test_items_in_order_with_and_without_worker_processes(workers):
    data = ShapesDataset(37, seed=4)  # not a multiple of the chunk size
    images, boxes, labels = scene_tensors(data, workers=workers)
    assert images.shape == (37, 3, 64, 64) and len(boxes) == len(labels) == 37
    for i in range(37):
        image, target = data[i]
        assert torch.equal(images[i], image)
        assert torch.equal(boxes[i], target["boxes"]) and torch.equal(labels[i], target["labels"])
    assert len({len(b) for b in boxes}) > 1  # ragged: the chunks' boxes were split at the right places


def test_a_triple_passes_through_and_bad_input_is_named():
    images, boxes, labels = torch.zeros(2, 3, 8, 8), [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2
    out = scene_tensors((images, boxes, labels))
    assert out[0] is images and len(out[1]) == 2
    with pytest.raises(ValueError, match="empty"):
        scene_tensors(ShapesDataset(0))
    with pytest.raises(TypeError, match="train"):
        scene_tensors(42, "train")
    with pytest.raises(ValueError, match="train: need images"):
        scene_tensors((torch.zeros(2, 1, 8, 8), boxes, labels), "train")
    with pytest.raises(ValueError, match="workers"):
        scene_tensors(ShapesDataset(2), workers=-1)
    with pytest.raises(TypeError, match="workers"):
        scene_tensors(ShapesDataset(2), workers=1.5)
