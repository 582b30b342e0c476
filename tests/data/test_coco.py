"""Tests for cnnlib.data.coco: save_coco / load_coco round trip, pycocotools compatibility.

Reference: the scenes generated in this file (random boxes, labels and masks) read back exactly;
``pycocotools.coco.COCO`` loading the written JSON (its boxes, categories and ``annToMask``);
a COCO file with polygons and gapped category ids written by hand in the test.
"""

import contextlib
import io
import json
import zipfile

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from cnnlib.data import download_coco_annotations, load_coco, read_image, save_coco

# pycocotools' annToMask triggers a numpy-2 DeprecationWarning inside pycocotools itself
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def scenes(n, seed, size=(24, 32), masks=True):
    g = torch.Generator().manual_seed(seed)
    H, W = size
    images, targets = [], []
    for i in range(n):
        images.append(torch.randint(0, 256, (3, H, W), dtype=torch.uint8, generator=g))
        k = i % 4  # 0 to 3 objects; image 0 has none
        xy = torch.rand(k, 2, generator=g) * torch.tensor([W - 8.0, H - 8.0])
        boxes = torch.cat([xy, xy + 1 + torch.rand(k, 2, generator=g) * 7], dim=1)  # float32, not round
        t = {"boxes": boxes, "labels": torch.randint(0, 3, (k,), generator=g)}
        if masks:
            m = torch.zeros(k, H, W, dtype=torch.bool)
            for j, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
                m[j, y1:y2 + 1, x1:x2 + 1] = torch.rand(y2 + 1 - y1, x2 + 1 - x1, generator=g) > 0.3
            t["masks"] = m
        targets.append(t)
    return images, targets


@pytest.mark.parametrize("seed", range(2))
def test_round_trip(tmp_path, seed):
    images, targets = scenes(6, seed)
    path = save_coco(tmp_path / "ann.json", images, targets, ["rectangle", "ellipse", "triangle"])
    infos, back, cats = load_coco(path, load_images=True, load_masks=True)
    assert [c["name"] for c in cats] == ["rectangle", "ellipse", "triangle"] and [c["id"] for c in cats] == [1, 2, 3]
    assert [i["id"] for i in infos] == [1, 2, 3, 4, 5, 6] and [t["image_id"] for t in back] == [1, 2, 3, 4, 5, 6]
    ann_ids = [a for t in back for a in t["ids"]]
    assert ann_ids == list(range(1, len(ann_ids) + 1))
    for img, t, info, b in zip(images, targets, infos, back):
        assert torch.equal(b["boxes"], t["boxes"])  # bit for bit (float32 -> float64 xywh -> float32)
        assert b["boxes"].dtype == torch.float32 and b["boxes"].shape == (len(t["labels"]), 4)
        assert torch.equal(b["labels"], t["labels"]) and b["labels"].dtype == torch.long
        assert torch.equal(b["masks"], t["masks"])
        assert torch.equal(info["image"], img)  # PNG is lossless
        assert (info["height"], info["width"]) == (24, 32) and info["path"].exists()
        assert torch.equal(b["area"], t["masks"].sum(dim=(1, 2)).float()) and not b["iscrowd"].any()


def test_pycocotools_reads_the_file(tmp_path):
    images, targets = scenes(5, 3)
    path = save_coco(tmp_path / "sub" / "ann.json", images, targets, ["a", "b", "c"])
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == [1, 2, 3, 4, 5] and coco.getCatIds() == [1, 2, 3]
    for i, t in enumerate(targets):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[i + 1]))
        assert len(anns) == len(t["labels"])
        for ann, box, label, mask in zip(anns, t["boxes"].double().tolist(), t["labels"].tolist(), t["masks"]):
            x1, y1, x2, y2 = box
            assert ann["bbox"] == [x1, y1, x2 - x1, y2 - y1] and ann["category_id"] == label + 1
            assert np.array_equal(coco.annToMask(ann).astype(bool), mask.numpy())
    assert coco.loadImgs([2])[0]["file_name"] == "000002.png"
    assert (tmp_path / "sub" / "images" / "000002.png").exists()


def test_without_masks_and_grey_images(tmp_path):
    images, targets = scenes(3, 1, masks=False)
    grey = [img[0] for img in images]  # (H, W)
    path = save_coco(tmp_path / "g.json", grey, targets, ["a", "b", "c"])
    infos, back, _ = load_coco(path, load_images=True)
    assert "masks" not in back[1] and torch.equal(infos[1]["image"][0], grey[1])
    assert torch.allclose(back[2]["area"], ((targets[2]["boxes"][:, 2:] - targets[2]["boxes"][:, :2]).prod(dim=1)))
    saved = json.loads(path.read_text())
    assert all("segmentation" not in a for a in saved["annotations"])


def test_category_dicts_with_gaps_map_to_contiguous_labels(tmp_path):
    cats = [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}, {"id": 10, "name": "bird"}]
    images, targets = scenes(4, 2, masks=False)
    path = save_coco(tmp_path / "c.json", images, targets, cats)
    saved = json.loads(path.read_text())
    for ann in saved["annotations"]:
        assert ann["category_id"] in (3, 7, 10)
    _, back, loaded = load_coco(path)
    assert [c["id"] for c in loaded] == [3, 7, 10]
    assert all(torch.equal(b["labels"], t["labels"]) for b, t in zip(back, targets))


def test_reads_a_hand_written_file_with_polygons(tmp_path):
    data = {
        "images": [{"id": 42, "file_name": "x.jpg", "height": 10, "width": 10}, {"id": 7, "file_name": "y.jpg", "height": 10, "width": 10}],
        "annotations": [
            {"id": 5, "image_id": 42, "category_id": 90, "bbox": [1, 2, 3, 4], "area": 12, "iscrowd": 0,
             "segmentation": [[1, 2, 4, 2, 4, 6, 1, 6]]},
            {"id": 9, "image_id": 42, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 1},
        ],
        "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}],
    }
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(data))
    infos, targets, cats = load_coco(path, image_dir="imgs", load_masks=True)
    assert [c["name"] for c in cats] == ["person", "toothbrush"]  # sorted by id: person = 0
    assert [i["id"] for i in infos] == [42, 7] and infos[0]["path"] == tmp_path / "imgs" / "x.jpg"
    assert targets[0]["boxes"].tolist() == [[1, 2, 4, 6], [0, 0, 10, 10]] and targets[0]["labels"].tolist() == [1, 0]
    assert targets[0]["iscrowd"].tolist() == [False, True] and targets[0]["ids"] == [5, 9]
    assert targets[1]["boxes"].shape == (0, 4) and targets[1]["masks"].shape == (0, 10, 10)
    m = targets[0]["masks"][0]
    assert m[3:6, 2:4].all() and not m[8:].any() and not targets[0]["masks"][1].any()


def test_errors(tmp_path):
    img = [torch.zeros(3, 8, 8, dtype=torch.uint8)]
    ok = [{"boxes": torch.tensor([[0.0, 0, 2, 2]]), "labels": torch.tensor([0])}]
    with pytest.raises(ValueError, match=r"labels'\] must be in \[0, 0\], got \[1\]"):
        save_coco(tmp_path / "a.json", img, [{**ok[0], "labels": torch.tensor([1])}], ["only"])
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\]\[0\] = \[3.0, 0.0, 2.0, 2.0\] has x2 < x1"):
        save_coco(tmp_path / "a.json", img, [{**ok[0], "boxes": torch.tensor([[3.0, 0, 2, 2]])}], ["only"])
    with pytest.raises(ValueError, match="same length"):
        save_coco(tmp_path / "a.json", img * 2, ok, ["only"])
    with pytest.raises(TypeError, match=r"images\[0\] must be a uint8"):
        save_coco(tmp_path / "a.json", [torch.zeros(3, 8, 8)], ok, ["only"])
    with pytest.raises(ValueError, match="masks'\\] must be a bool Tensor of shape \\(1, 8, 8\\)"):
        save_coco(tmp_path / "a.json", img, [{**ok[0], "masks": torch.zeros(1, 4, 4, dtype=torch.bool)}], ["only"])
    with pytest.raises(ValueError, match="increasing"):
        save_coco(tmp_path / "a.json", img, ok, [{"id": 2, "name": "a"}, {"id": 1, "name": "b"}])
    bad = {"images": [{"id": 1, "file_name": "a.png", "height": 4, "width": 4}],
           "annotations": [{"id": 3, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1]}], "categories": []}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="annotation 3 has category_id 5"):
        load_coco(tmp_path / "bad.json")


def test_read_image_and_download_from_a_local_archive(tmp_path):
    images, targets = scenes(2, 0, masks=False)
    path = save_coco(tmp_path / "instances_val2017.json", images, targets, ["a", "b", "c"])
    assert torch.equal(read_image(tmp_path / "images" / "000001.png"), images[0])
    archive = tmp_path / "annotations.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(path, "annotations/instances_val2017.json")
        z.writestr("annotations/captions_val2017.json", "{}")
    out = download_coco_annotations(tmp_path / "dl", url=archive.as_uri())
    assert [p.name for p in out] == ["instances_val2017.json"]
    assert load_coco(out[0])[1][1]["boxes"].tolist() == targets[1]["boxes"].tolist()
