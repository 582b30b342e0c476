"""Tests for cnnlib.detection.draw: draw_boxes and plot_pr_curve (Agg backend, no display).

Reference: the boxes and captions read back from the matplotlib artists; the envelope's area
recomputed by hand for a three-detection curve.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnlib.detection.draw import draw_boxes, plot_pr_curve  # noqa: E402


def test_draw_boxes_places_rectangles_and_captions():
    boxes = torch.tensor([[4.0, 5, 20, 12], [1, 1, 3, 9]])
    ax = draw_boxes(torch.rand(3, 32, 32), boxes, torch.tensor([0, 1]), torch.tensor([0.5, 0.25]), ["disc", "square"])
    rects = ax.patches
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [(4, 5, 16, 7), (1, 1, 2, 8)]
    assert [t.get_text() for t in ax.texts] == ["disc 0.50", "square 0.25"]
    assert rects[0].get_edgecolor() != rects[1].get_edgecolor()  # one colour per class
    plt.close("all")


def test_draw_boxes_accepts_grey_uint8_and_empty():
    ax = draw_boxes(torch.zeros(1, 8, 8, dtype=torch.uint8), torch.zeros(0, 4))
    assert len(ax.patches) == 0 and ax.images[0].get_array().shape == (8, 8)
    ax = draw_boxes(np.zeros((8, 8, 3)), torch.tensor([[0.0, 0, 2, 2]]), labels=[3])
    assert [t.get_text() for t in ax.texts] == ["3"]
    plt.close("all")


def test_draw_errors():
    with pytest.raises(ValueError, match=r"boxes\[0\].*x2 < x1"):
        draw_boxes(torch.zeros(3, 4, 4), torch.tensor([[3.0, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"labels must have one entry per box \(1\), got 2"):
        draw_boxes(torch.zeros(3, 4, 4), torch.tensor([[0.0, 0, 1, 1]]), labels=[0, 1])
    with pytest.raises(ValueError, match="Tensor\\[C, H, W\\]"):
        draw_boxes(torch.zeros(5, 4, 4), torch.zeros(0, 4))
    plt.close("all")


def test_pr_curve_envelope_area():
    p, r = torch.tensor([1.0, 0.5, 2 / 3]), torch.tensor([0.5, 0.5, 1.0])
    ax = plot_pr_curve(p, r, label="class 0")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["class 0", f"envelope, AP = {0.5 * 1 + 0.5 * 2 / 3:.3f}"]
    x, y = ax.lines[0].get_data()
    assert np.allclose(x, r.numpy()) and np.allclose(y, p.numpy())
    with pytest.raises(ValueError, match="same length"):
        plot_pr_curve(p, r[:2])
    plt.close("all")


def test_draw_boxes_puts_pixel_edges_at_integer_coordinates_and_can_omit_captions():
    """Reference: the box (0, 0, W, H) must coincide with the image's extent."""
    ax = draw_boxes(torch.rand(3, 6, 10), torch.tensor([[0.0, 0, 10, 6]]), labels=[0], captions=False)
    assert tuple(ax.images[0].get_extent()) == (0, 10, 6, 0)
    rect = ax.patches[0]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (0, 0, 10, 6)
    assert not ax.texts
