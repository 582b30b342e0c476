"""Tests for cnnlib.detection.sliding: sliding windows naive vs convolutional, fc_to_conv.

Reference: the window classifier itself, applied to every crop by a loop written in this file
(and by ``sliding_window_naive``); the convolutional version must give the same score for every
window (1e-5 in float32, 1e-10 in float64). Seed 001's example: a 14x14 classifier on a 16x16
image gives a 2x2 map of window scores (stride 2).
"""

import pytest
import torch
from torch import nn

from cnnlib.detection import fc_to_conv, sliding_window_naive, total_stride, window_boxes


def window_classifier(dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    clf = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 5), nn.ReLU(), nn.MaxPool2d(2)),  # 14 -> 10 -> 5
        nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(),  # 5 -> 3
        nn.Flatten(), nn.Linear(16 * 3 * 3, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, 4), nn.Softmax(dim=1),
    ).to(dtype)
    for bn in (clf[2], clf[6]):  # non-trivial running statistics
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return clf.eval()


def test_seed_001_example_shapes():
    clf = window_classifier()
    conv = fc_to_conv(clf, 14)
    assert total_stride(clf) == 2
    assert conv(torch.randn(1, 3, 14, 14)).shape == (1, 4, 1, 1)
    assert conv(torch.randn(1, 3, 16, 16)).shape == (1, 4, 2, 2)
    assert conv(torch.randn(1, 3, 28, 28)).shape == (1, 4, 8, 8)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("seed", range(3))
def test_conv_version_scores_every_window_like_the_classifier(seed, dtype, tol):
    clf = window_classifier(dtype, seed)
    conv = fc_to_conv(clf, 14)
    images = torch.randn(2, 3, 24, 20, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        fast = conv(images)  # (N, K, H_out, W_out) in one pass
        slow = sliding_window_naive(clf, images, 14, total_stride(clf))
        assert fast.shape == slow.shape == (2, 4, 6, 4)
        assert (fast - slow).abs().max().item() <= tol
        boxes = window_boxes(fast.shape[-2:], 14, 2)  # the window of each cell, checked by a loop
        for k, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
            i, j = divmod(k, fast.shape[-1])
            crop = images[:, :, y1:y2, x1:x2]
            assert (clf(crop) - fast[:, :, i, j]).abs().max().item() <= tol


def test_conversion_copies_and_keeps_the_mode():
    clf = window_classifier()
    conv = fc_to_conv(clf, 14)
    assert not conv.training
    with torch.no_grad():
        next(conv.parameters()).add_(1.0)
    assert not torch.equal(next(conv.parameters()), next(clf.parameters()))  # the original is untouched
    assert fc_to_conv(clf.train(), 14).training


def test_naive_by_hand():
    mean = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    with torch.no_grad():
        mean[1].weight.fill_(0.25)
        mean[1].bias.zero_()
    img = torch.arange(16.0).view(1, 1, 4, 4)
    assert sliding_window_naive(mean, img, 2, 2)[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert sliding_window_naive(mean, img, (2, 2), (1, 2)).shape == (1, 1, 3, 2)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="padding"):
        fc_to_conv(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)), 6)
    with pytest.raises(TypeError, match="AdaptiveAvgPool2d"):
        fc_to_conv(nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)), 6)
    with pytest.raises(ValueError, match="exactly one nn.Flatten"):
        fc_to_conv(nn.Sequential(nn.Conv2d(3, 4, 3)), 6)
    with pytest.raises(TypeError, match="nn.Sequential"):
        fc_to_conv(nn.Conv2d(3, 4, 3), 6)
    with pytest.raises(ValueError, match=r"expects 10 inputs but the window's feature map is \(4, 4, 4\)"):
        fc_to_conv(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2)), 6)
    with pytest.raises(TypeError, match="cannot convert classifier layer"):
        fc_to_conv(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(64, 2), nn.LayerNorm(2)), 6)
    with pytest.raises(ValueError, match="larger than the images"):
        sliding_window_naive(nn.Identity(), torch.zeros(1, 1, 4, 4), 5, 1)


@pytest.mark.gpu
def test_cuda_conv_version_matches_cpu():
    clf = window_classifier()
    conv = fc_to_conv(clf.cuda(), 14)
    images = torch.randn(1, 3, 30, 30)
    with torch.no_grad():
        assert torch.allclose(conv(images.cuda()).cpu(), fc_to_conv(clf.cpu(), 14)(images), atol=1e-4)
