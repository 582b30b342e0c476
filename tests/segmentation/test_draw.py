"""Tests for cnnlib.segmentation.draw: overlay_mask and draw_masks (Agg backend, no display).

Reference: blended pixel values computed by hand, matplotlib's own "tab10" colours, and the
pictures and titles read back from the matplotlib axes.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnlib.segmentation import draw_masks, overlay_mask  # noqa: E402


def test_overlay_blends_by_hand():
    image = torch.full((3, 2, 3), 0.5)
    mask = torch.tensor([[0, 1, 2], [2, 1, 0]])
    out = overlay_mask(image, mask, colors=[None, (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)], alpha=0.25)
    assert out.shape == (2, 3, 3) and out.dtype == np.float64
    assert out[0, 0].tolist() == [0.5, 0.5, 0.5]  # class without a colour: the image
    assert np.allclose(out[0, 1], [0.75 * 0.5 + 0.25, 0.375, 0.375])
    assert np.allclose(out[1, 0], [0.375, 0.375, 0.625])


def test_overlay_default_colours_grey_and_uint8_images():
    tab10 = matplotlib.colormaps["tab10"]
    grey = np.full((4, 4), 255, dtype=np.uint8)  # white, uint8, no channel axis
    mask = np.zeros((4, 4), dtype=np.int64)
    mask[1, 1], mask[2, 2], mask[3, 3] = 1, 11, 255
    out = overlay_mask(grey, mask, ignore_index=255)
    assert out[0, 0].tolist() == [1.0, 1.0, 1.0] and out[3, 3].tolist() == [1.0, 1.0, 1.0]  # background, void
    assert np.allclose(out[1, 1], 0.5 + 0.5 * np.array(tab10(1)[:3]), atol=1e-3)
    assert np.allclose(out[2, 2], out[1, 1])  # class 11 wraps round to tab10's colour 1
    assert np.allclose(overlay_mask(torch.ones(1, 4, 4), torch.from_numpy(mask), alpha=0.0), 1.0)


def test_overlay_errors():
    with pytest.raises(ValueError, match=r"mask must be a label map of shape \(4, 4\), got shape \(4, 5\)"):
        overlay_mask(torch.zeros(3, 4, 4), torch.zeros(4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="colors has 2 entries, but mask holds label 2"):
        overlay_mask(torch.zeros(3, 2, 2), torch.tensor([[0, 2], [1, 1]]), colors=[None, (1, 0, 0)])
    with pytest.raises(TypeError, match="mask must hold integer class labels"):
        overlay_mask(torch.zeros(3, 2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"alpha must be in \[0.0, 1.0\]"):
        overlay_mask(torch.zeros(3, 2, 2), torch.zeros(2, 2, dtype=torch.long), alpha=1.5)


def test_draw_masks_grid():
    gen = torch.Generator().manual_seed(0)
    images, masks = torch.rand(3, 3, 8, 8, generator=gen), torch.randint(0, 2, (3, 8, 8), generator=gen)
    logits = torch.zeros(3, 2, 8, 8)
    logits[:, 1] = 2.0 * masks - 1  # the prediction is the target: IoU 1
    fig = draw_masks(images, masks, logits, max_images=2)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "target", "prediction, IoU 1.00"]
    assert np.allclose(fig.axes[0].images[0].get_array(), images[0].permute(1, 2, 0).numpy())
    assert np.allclose(fig.axes[4].images[0].get_array(), overlay_mask(images[1], masks[1]))
    fig = draw_masks(list(images), list(masks))
    assert len(fig.axes) == 6 and fig.axes[1].get_title() == "target"
    with pytest.raises(ValueError, match=r"masks must have one entry per image \(3\), got 2"):
        draw_masks(images, masks[:2])
    plt.close("all")
