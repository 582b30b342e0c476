"""Tests for cnnlib.data.identity_folder: IdentityFolder and load_identity_folder (LFW's layout).

Reference: small PNG and JPEG files written by the test with Pillow into tmp_path from numpy
arrays it keeps, read back and compared with those arrays (exactly for PNG, within JPEG's error
for JPEG); names, counts and labels checked against the layout the test wrote.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlib.data import IdentityFolder, load_identity_folder

PEOPLE = {"Zoe_Smith": 3, "Aaron_Peirsol": 2, "Bo_Li": 1}


def write_lfw(root, people=PEOPLE, size=(10, 8), ext=".png", seed=0):
    """root/<name>/<name>_0001.<ext>, random smooth RGB; returns {name: [arrays in file order]}."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, n in people.items():
        (root / name).mkdir(parents=True)
        arrays[name] = []
        for j in range(1, n + 1):
            yy, xx = np.mgrid[:size[0], :size[1]]
            slopes = rng.uniform(-4, 4, (2, 3))
            ramp = rng.uniform(40, 200, 3) + slopes[0] * yy[..., None] + slopes[1] * xx[..., None]
            a = ramp.astype(np.uint8)  # smooth, so that JPEG keeps it within a few levels
            Image.fromarray(a).save(root / name / f"{name}_{j:04d}{ext}")
            arrays[name].append(a)
    return arrays


def test_lists_people_sorted_with_their_photos_and_labels(tmp_path):
    arrays = write_lfw(tmp_path)
    (tmp_path / "README.txt").write_text("not a person")   # files in root are ignored
    (tmp_path / "Bo_Li" / "notes.txt").write_text("x")      # and non-images in a person's folder
    (tmp_path / "Empty_Person").mkdir()                     # and people without photos
    ds = IdentityFolder(tmp_path)
    assert ds.names == ["Aaron_Peirsol", "Bo_Li", "Zoe_Smith"]
    assert ds.counts == {"Aaron_Peirsol": 2, "Bo_Li": 1, "Zoe_Smith": 3}
    assert len(ds) == 6 and ds.labels.tolist() == [0, 0, 1, 2, 2, 2]
    for i, (path, label) in enumerate(ds.samples):
        image, got = ds[i]
        name = ds.names[label]
        j = int(path.stem.split("_")[-1]) - 1
        assert got == label and path.parent.name == name
        expected = torch.from_numpy(arrays[name][j]).permute(2, 0, 1).float() / 255
        assert image.dtype == torch.float32 and torch.equal(image, expected)  # PNG: exact


def test_min_images_keeps_people_with_enough_photos(tmp_path):
    write_lfw(tmp_path)
    ds = IdentityFolder(tmp_path, min_images=2)
    assert ds.names == ["Aaron_Peirsol", "Zoe_Smith"] and ds.labels.tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="min_images=4 .*the most is 3"):
        IdentityFolder(tmp_path, min_images=4)


def test_jpeg_upper_case_endings_grayscale_and_transform(tmp_path):
    arrays = write_lfw(tmp_path, {"Ann": 2}, ext=".JPG")
    ds = IdentityFolder(tmp_path)
    image, _ = ds[0]
    assert len(ds) == 2 and (image - torch.from_numpy(arrays["Ann"][0]).permute(2, 0, 1) / 255).abs().max() < 0.05
    gray = IdentityFolder(tmp_path, grayscale=True)[0][0]
    assert gray.shape == (1, 10, 8)
    assert torch.allclose(gray[0], (image * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0))
    flipped = IdentityFolder(tmp_path, transform=lambda x: x.flip(-1))[0][0]
    assert torch.equal(flipped, image.flip(-1))
    with pytest.raises(FileNotFoundError, match="no photo"):
        IdentityFolder(tmp_path, exts=("png",))


def test_load_identity_folder_into_tensors(tmp_path):
    arrays = write_lfw(tmp_path)
    images, labels, names = load_identity_folder(tmp_path, min_images=2)
    assert images.shape == (5, 3, 10, 8) and labels.tolist() == [0, 0, 1, 1, 1]
    assert names == ["Aaron_Peirsol", "Zoe_Smith"]
    assert torch.equal(images[2], torch.from_numpy(arrays["Zoe_Smith"][0]).permute(2, 0, 1).float() / 255)
    few, few_labels, _ = load_identity_folder(tmp_path, max_per_identity=1)
    assert few.shape[0] == 3 and few_labels.tolist() == [0, 1, 2]
    assert torch.equal(few[2], images[2])  # the first photo of each person


def test_resizing_and_photos_of_different_sizes(tmp_path):
    write_lfw(tmp_path, {"Ann": 1}, size=(10, 8))
    write_lfw(tmp_path, {"Ben": 1}, size=(6, 6), seed=1)
    with pytest.raises(ValueError, match="differ in size.*pass size="):
        load_identity_folder(tmp_path)
    images, labels, _ = load_identity_folder(tmp_path, size=5)
    assert images.shape == (2, 3, 5, 5) and 0 <= images.min() and images.max() <= 1
    flat = tmp_path / "flat"
    write_lfw(flat, {"C": 1}, size=(4, 4))
    (flat / "C" / "C_0001.png").unlink()
    Image.fromarray(np.full((4, 4, 3), 200, np.uint8)).save(flat / "C" / "C_0001.png")
    assert torch.allclose(load_identity_folder(flat, size=2)[0], torch.full((1, 3, 2, 2), 200 / 255))


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        IdentityFolder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"expected root/<name>/<name>_0001.jpg"):
        IdentityFolder(tmp_path)
    write_lfw(tmp_path, {"Ann": 1})
    with pytest.raises(ValueError, match="min_images must be >= 1"):
        IdentityFolder(tmp_path, min_images=0)
    with pytest.raises(TypeError, match="transform must be callable"):
        IdentityFolder(tmp_path, transform="flip")
    with pytest.raises(TypeError, match="exts must be a sequence"):
        IdentityFolder(tmp_path, exts=".png")
    with pytest.raises(IndexError):
        IdentityFolder(tmp_path)[1]
    with pytest.raises(ValueError, match="size must be >= 1"):
        load_identity_folder(tmp_path, size=0)
