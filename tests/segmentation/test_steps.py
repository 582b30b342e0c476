"""Tests for cnnlib.segmentation.steps: the segmentation step, alone and inside cnnlib.train.fit.

Reference: ``F.cross_entropy`` (with ``weight=``), the pixel-by-pixel Dice loss and IoU loops of
``tests/segmentation/reference.py``, accuracy counted by hand; one epoch of :func:`cnnlib.train.fit`
on a small synthetic data set of bright squares (mask = the square).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.segmentation import UNet, segmentation_step
from cnnlib.train import evaluate, fit
from tests.segmentation.reference import dice_loss_loop, iou_loop


class Fixed(nn.Module):
    """A 'model' that returns given logits (and so lets the test know them)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, x):
        return self.logits


def case(seed, K=3):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, K, 4, 5, generator=gen, dtype=torch.float64)
    return logits, torch.randint(0, K, (2, 4, 5), generator=gen)


@pytest.mark.parametrize("K", [2, 3])
def test_losses_and_metrics(K):
    logits, mask = case(K, K)
    x, weight = torch.zeros(2, 1, 4, 5), torch.arange(1.0, K + 1)
    pred = logits.argmax(1)
    ious = iou_loop(pred, mask, K)
    present = [v for v in ious if not math.isnan(v)]
    expected_iou = ious[1] if K == 2 else sum(present) / len(present)
    ce, dice = F.cross_entropy(logits, mask), dice_loss_loop(logits, mask)
    wce = F.cross_entropy(logits, mask, weight=weight.double())
    for loss, w, expected in (("ce", None, ce), ("weighted_ce", weight, wce), ("dice", None, dice),
                              ("ce+dice", None, ce + dice), ("ce+dice", weight, wce + dice)):
        out = segmentation_step(loss, weight=w)(Fixed(logits.clone()), (x, mask), None)
        assert sorted(out) == ["iou", "loss", "pixel_acc"]
        assert out["loss"].item() == pytest.approx(expected.item(), abs=1e-10)
        assert out["pixel_acc"].item() == pytest.approx((pred == mask).double().mean().item())
        assert out["iou"].item() == pytest.approx(expected_iou)


def test_masks_with_a_channel_axis_void_pixels_and_an_empty_foreground():
    logits, mask = case(0, 2)
    x = torch.zeros(2, 1, 4, 5)
    out = segmentation_step()(Fixed(logits), (x, mask[:, None].float()), None)  # (N, 1, H, W) float masks
    assert out["loss"].item() == pytest.approx(F.cross_entropy(logits, mask).item())
    void = mask.clone()
    void[:, 0] = 255
    out = segmentation_step("ce+dice", ignore_index=255)(Fixed(logits), (x, void), None)
    kept = void != 255
    expected = F.cross_entropy(logits, void, ignore_index=255) + dice_loss_loop(logits, void, ignore_index=255)
    assert out["loss"].item() == pytest.approx(expected.item())
    assert out["pixel_acc"].item() == pytest.approx((logits.argmax(1) == void)[kept].double().mean().item())
    background = torch.zeros_like(logits)
    background[:, 0] = 1.0  # predicts class 0 everywhere
    out = segmentation_step()(Fixed(background), (x, torch.zeros_like(mask)), None)
    assert out["iou"].item() == 1.0 and out["pixel_acc"].item() == 1.0  # nothing to find, nothing found


def test_fit_one_epoch_on_squares():
    gen = torch.Generator().manual_seed(0)
    x = 0.2 * torch.rand(24, 1, 16, 16, generator=gen)
    mask = torch.zeros(24, 16, 16, dtype=torch.long)
    for i in range(24):
        r, c = torch.randint(0, 10, (2,), generator=gen).tolist()
        mask[i, r:r + 6, c:c + 6] = 1
        x[i, 0, r:r + 6, c:c + 6] += 0.8
    loader = DataLoader(TensorDataset(x, mask), batch_size=8)
    model = UNet(1, 2, base=4, depth=2)
    step = segmentation_step("ce+dice", num_classes=2)
    history = fit(model, loader, step=step, epochs=1, val_data=loader, progress=False, seed=0,
                  optimizer=torch.optim.Adam(model.parameters(), lr=1e-2))
    assert history.names == ["loss", "pixel_acc", "iou", "val_loss", "val_pixel_acc", "val_iou"]
    assert all(math.isfinite(history[name][-1]) for name in history.names)
    assert 0 <= history["val_iou"][-1] <= 1
    assert set(evaluate(model, loader, step=step)) == {"loss", "pixel_acc", "iou"}


def test_errors():
    logits, mask = case(0, 2)
    x = torch.zeros(2, 1, 4, 5)
    with pytest.raises(ValueError, match=r"loss must be one of \('ce', 'weighted_ce', 'dice', 'ce\+dice'\)"):
        segmentation_step("focal")
    with pytest.raises(ValueError, match="loss='weighted_ce' needs weight"):
        segmentation_step("weighted_ce")
    with pytest.raises(ValueError, match="weight is used by loss='weighted_ce' or 'ce\\+dice', not loss='ce'"):
        segmentation_step("ce", weight=torch.ones(2))
    with pytest.raises(ValueError, match=r"weight must have one entry per class \(2\), got 3"):
        segmentation_step("weighted_ce", weight=torch.ones(3))(Fixed(logits), (x, mask), None)
    with pytest.raises(ValueError, match=r"masks must have shape \(N, H, W\) = \(2, 4, 5\)"):
        segmentation_step()(Fixed(logits), (x, mask[:, :3]), None)
    with pytest.raises(ValueError, match=r"the model must return logits \(N, K, H, W\) = \(N, 3, 4, 5\)"):
        segmentation_step(num_classes=3)(Fixed(logits), (x, mask), None)
    with pytest.raises(ValueError, match="floating-point masks must hold whole class labels"):
        segmentation_step()(Fixed(logits), (x, mask + 0.5), None)
    with pytest.raises(TypeError, match=r"a segmentation batch is \(images, masks\)"):
        segmentation_step()(Fixed(logits), x, None)


@pytest.mark.gpu
def test_fit_on_cuda():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    x, mask = torch.rand(8, 1, 16, 16), torch.randint(0, 3, (8, 16, 16))
    weight = torch.ones(3)  # on the CPU: the step moves it to the model's device
    model = UNet(1, 3, base=4, depth=2).cuda()
    history = fit(model, DataLoader(TensorDataset(x, mask), batch_size=4), epochs=1, progress=False,
                  step=segmentation_step("ce+dice", weight=weight))
    assert all(math.isfinite(v[-1]) for v in (history["loss"], history["iou"], history["pixel_acc"]))
