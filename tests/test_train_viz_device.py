"""Tests for cnnlib.viz and cnnlib.device (cnnlib.train: tests/train/).

Reference: matplotlib's own figure objects, and torch's RNG re-run with the same seed.
"""

import inspect
import matplotlib

matplotlib.use("Agg")

import pytest
import torch

import cnnlib
from cnnlib.train import History, fit
from cnnlib.viz import image_grid, plot_history, show_feature_maps, show_kernels, show_source


def test_viz_returns_figures_with_the_right_number_of_images():
    fig = image_grid(torch.rand(10, 1, 8, 8), nrow=4, titles=[str(i) for i in range(10)])
    assert len(fig.axes) == 12 and sum(bool(ax.images) for ax in fig.axes) == 10
    fig = image_grid(torch.rand(3, 3, 8, 8))
    assert fig.axes[0].images[0].get_array().shape == (8, 8, 3)
    assert sum(bool(ax.images) for ax in show_kernels(torch.randn(6, 1, 3, 3)).axes) == 6
    assert sum(bool(ax.images) for ax in show_feature_maps(torch.randn(1, 20, 5, 5), max_maps=16).axes) == 16
    h = History()
    h.record(1, {"loss": 1.0, "acc": 0.5, "val_loss": 1.1, "val_acc": 0.4}, 0.1)
    h.record(2, {"loss": 0.5, "acc": 0.8, "val_loss": 0.6, "val_acc": 0.7}, 0.1)
    assert [len(ax.lines) for ax in plot_history(h).axes] == [2, 2]
    with pytest.raises(ValueError, match="got 2 titles for 3 images"):
        image_grid(torch.rand(3, 1, 4, 4), titles=["a", "b"])
    assert "def fit(" in show_source(fit).data


def test_device_and_seeding():
    assert cnnlib.default_device().type == ("cuda" if torch.cuda.is_available() else cnnlib.default_device().type)
    cnnlib.seed_everything(3)
    a = torch.rand(3)
    cnnlib.seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="non-negative"):
        cnnlib.seed_everything(-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        cnnlib.seed_everything("0")


def test_show_source_between_two_lines_dedented_and_bad_markers():
    from cnnlib.segmentation import UNet
    full = inspect.getsource(UNet.forward).splitlines()
    part = show_source(UNet.forward, "skips = [", "return self.head").data.splitlines()
    i = next(k for k, line in enumerate(full) if "skips = [" in line)
    j = next(k for k, line in enumerate(full) if "return self.head" in line)
    assert part == [line[8:] for line in full[i:j + 1]]  # the same lines, two indent levels removed
    assert show_source(UNet.forward, "return self.head").data.startswith("return self.head(x)")
    with pytest.raises(ValueError, match="no line"):
        show_source(UNet.forward, "not in the source")
    with pytest.raises(ValueError, match="after"):
        show_source(UNet.forward, "return self.head", "skips = [")
