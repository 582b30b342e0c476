"""Tests for cnnlib.data.segfolder: SegmentationFolder, read_mask, read_image_float.

Reference: small PNG and JPEG files written by the test with Pillow from numpy arrays it keeps,
read back and compared with those arrays (exactly for PNG, within JPEG's error for JPEG); label
maps applied by a dictionary loop over the pixels written in the test.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlib.data import paired
from cnnlib.data.segfolder import SegmentationFolder, read_image_float, read_mask


def write_set(root, n=3, size=(6, 8), seed=0, mask_suffix="", image_ext=".png"):
    """n random RGB images and 0..2 label masks; returns the arrays in sorted-name order."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    images, masks = [], []
    for i in range(n):
        img = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        m = rng.integers(0, 3, size, dtype=np.uint8)
        Image.fromarray(img).save(root / "images" / f"t{i:02d}{image_ext}")
        Image.fromarray(m).save(root / "masks" / f"t{i:02d}{mask_suffix}.png")
        images.append(img), masks.append(m)
    return images, masks


def test_pairs_read_back_exactly(tmp_path):
    images, masks = write_set(tmp_path, n=4)
    ds = SegmentationFolder(tmp_path)
    assert len(ds) == 4
    for i in range(4):
        x, m = ds[i]
        assert x.dtype == torch.float32 and x.shape == (3, 6, 8) and m.dtype == torch.int64 and m.shape == (6, 8)
        assert torch.equal(x, torch.from_numpy(images[i]).permute(2, 0, 1).float() / 255)
        assert torch.equal(m, torch.from_numpy(masks[i]).long())
    assert [p.name for p, _ in ds.pairs] == ["t00.png", "t01.png", "t02.png", "t03.png"]
    assert torch.equal(ds[-1][1], ds[3][1])


def test_jpeg_images_and_mask_suffix_and_other_folders(tmp_path):
    root = tmp_path / "set"
    images, masks = write_set(root, n=2, size=(16, 16), mask_suffix="_mask", image_ext=".JPG")
    (root / "images" / "notes.txt").write_text("not an image")  # ignored
    (root / "images").rename(root / "img")
    (root / "masks").rename(root / "gt")
    ds = SegmentationFolder(root, images="img", masks="gt", mask_suffix="_mask")
    assert len(ds) == 2
    x, m = ds[1]
    with Image.open(root / "img" / "t01.JPG") as im:  # JPEG is lossy: compare with Pillow's decoding
        decoded = np.array(im.convert("RGB"))
    assert torch.equal(x, torch.from_numpy(decoded).permute(2, 0, 1).float() / 255)
    assert torch.equal(m, torch.from_numpy(masks[1]).long())
    with pytest.raises(FileNotFoundError, match="no image"):
        SegmentationFolder(root, images="img", masks="gt", image_exts=(".tif",))


def test_palette_and_binary_masks(tmp_path):
    labels = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    p = Image.fromarray(labels, mode="L").convert("P")
    p.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)  # 3 colours: the stored indices count
    p.save(tmp_path / "pal.png")
    assert read_mask(tmp_path / "pal.png").tolist() == labels.tolist()
    Image.fromarray((labels > 0).astype(np.uint8) * 255).save(tmp_path / "bin.png")
    got = read_mask(tmp_path / "bin.png", label_map={0: 0, 255: 1})
    assert got.tolist() == [[0, 1, 1], [1, 1, 0]]
    with pytest.raises(ValueError, match="missing from label_map"):
        read_mask(tmp_path / "bin.png", label_map={255: 1})
    Image.fromarray(labels.astype(bool)).save(tmp_path / "one_bit.png")  # mode "1"
    assert read_mask(tmp_path / "one_bit.png").tolist() == [[0, 1, 1], [1, 1, 0]]


def test_rgb_mask_with_label_map_matches_a_pixel_loop(tmp_path):
    palette = {(0, 0, 0): 0, (128, 64, 128): 1, (70, 130, 180): 2}
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 3, (5, 7))
    colours = list(palette)
    rgb = np.array([[colours[k] for k in row] for row in idx], np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    got = read_mask(tmp_path / "rgb.png", label_map=palette)
    expected = [[palette[tuple(int(c) for c in rgb[i, j])] for j in range(7)] for i in range(5)]
    assert got.tolist() == expected
    with pytest.raises(ValueError, match="RGB image: give label_map"):
        read_mask(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match=r"missing from label_map: \[\(70, 130, 180\)\]"):
        read_mask(tmp_path / "rgb.png", label_map={(0, 0, 0): 0, (128, 64, 128): 1})
    with pytest.raises(ValueError, match="must be \\(r, g, b\\) tuples"):
        read_mask(tmp_path / "rgb.png", label_map={0: 0})


def test_read_image_float_converts_gray_and_rgba(tmp_path):
    Image.fromarray(np.full((3, 4), 51, np.uint8)).save(tmp_path / "g.png")
    x = read_image_float(tmp_path / "g.png")
    assert x.shape == (3, 3, 4) and torch.allclose(x, torch.full((3, 3, 4), 0.2))
    Image.fromarray(np.full((2, 2, 4), 255, np.uint8)).save(tmp_path / "a.png")
    assert read_image_float(tmp_path / "a.png").shape == (3, 2, 2)


def test_errors_missing_mask_size_mismatch_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="images folder"):
        SegmentationFolder(tmp_path)
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    with pytest.raises(FileNotFoundError, match="no image"):
        SegmentationFolder(tmp_path)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "b.png")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "masks" / "a.png")
    with pytest.raises(FileNotFoundError, match=r"1 image\(s\) .* have no mask .*b.png"):
        SegmentationFolder(tmp_path)
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "masks" / "b.png")
    ds = SegmentationFolder(tmp_path)
    with pytest.raises(ValueError, match=r"b.png is \(4, 4\) \(H, W\) but its mask b.png is \(5, 4\)"):
        ds[1]
    with pytest.raises(IndexError, match="out of range"):
        ds[2]
    with pytest.raises(TypeError, match="index must be an int"):
        ds[0.5]
    with pytest.raises(TypeError, match="transform must be callable"):
        SegmentationFolder(tmp_path, transform=3)
    with pytest.raises(TypeError, match="image_exts"):
        SegmentationFolder(tmp_path, image_exts=".png")
    with pytest.raises(TypeError, match="label_map must be a mapping"):
        SegmentationFolder(tmp_path, label_map=[(0, 1)])


def test_transform_gets_image_and_mask(tmp_path):
    images, masks = write_set(tmp_path, n=1)
    flip = paired.RandomHorizontalFlip(p=1.0)
    x, m = SegmentationFolder(tmp_path, transform=flip)[0]
    assert torch.equal(m, torch.from_numpy(masks[0][:, ::-1].copy()).long())
    assert torch.equal(x, torch.from_numpy(images[0][:, ::-1].copy()).permute(2, 0, 1).float() / 255)
    x2, m2 = SegmentationFolder(tmp_path, transform=lambda image, mask: (image * 0, mask + 1))[0]
    assert x2.abs().sum() == 0 and torch.equal(m2, torch.from_numpy(masks[0]).long() + 1)
