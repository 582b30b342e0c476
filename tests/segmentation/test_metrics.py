"""Tests for cnnlib.segmentation.metrics: confusion matrix, pixel accuracy, IoU and Dice.

Reference: ``sklearn.metrics`` (``confusion_matrix``, ``accuracy_score``, ``jaccard_score`` and
``f1_score`` with ``average=None``, their ``zero_division`` 0 replaced by NaN for the classes absent
from both maps; Dice is the F1 score) on the
flattened maps, the per-image averages as a loop over images of the counting loop in
``tests/segmentation/reference.py``, and hand-computed 2x2 cases.
"""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, jaccard_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from cnnlib.segmentation import (
    confusion_matrix, dice_coefficient, dice_per_class, iou_per_class, mean_iou, pixel_accuracy,
)
from tests.segmentation.reference import dice_loop, iou_loop

PRED = torch.tensor([[0, 1], [1, 1]])
TARGET = torch.tensor([[0, 0], [1, 1]])


def random_maps(seed, shape=(3, 6, 7), num_classes=4, used=None):
    """Label maps whose labels come from ``range(used)`` (so classes ``>= used`` are absent)."""
    gen = torch.Generator().manual_seed(seed)
    used = used or num_classes
    return torch.randint(0, used, shape, generator=gen), torch.randint(0, used, shape, generator=gen)


def sk(metric, pred, target, num_classes):
    """sklearn's per-class score, with NaN (our convention) for the classes absent from both maps."""
    t, p = target.reshape(-1).numpy(), pred.reshape(-1).numpy()
    score = metric(t, p, labels=list(range(num_classes)), average=None, zero_division=0).astype(np.float64)
    absent = ~np.isin(np.arange(num_classes), np.concatenate([t, p]))
    score[absent] = np.nan
    return score


def same(a, b):
    return np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol=1e-6, equal_nan=True)


def test_hand_computed_case():
    assert confusion_matrix(PRED, TARGET, 2).tolist() == [[1, 1], [0, 2]]  # rows: target, columns: prediction
    assert pixel_accuracy(PRED, TARGET).item() == 0.75
    assert same(iou_per_class(PRED, TARGET, 2), [1 / 2, 2 / 3])
    assert same(dice_per_class(PRED, TARGET, 2), [2 / 3, 4 / 5])
    assert mean_iou(PRED, TARGET, 2).item() == pytest.approx(7 / 12)
    assert dice_coefficient(PRED, TARGET).item() == pytest.approx(4 / 5)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("num_classes,used", [(2, 2), (4, 4), (6, 4)])
def test_matches_sklearn(seed, num_classes, used):
    pred, target = random_maps(seed, num_classes=num_classes, used=used)
    if seed % 2:
        pred, target = pred[0], target[0]  # one (H, W) map
    labels = list(range(num_classes))
    expected = sk_confusion_matrix(target.reshape(-1).numpy(), pred.reshape(-1).numpy(), labels=labels)
    assert confusion_matrix(pred, target, num_classes).tolist() == expected.tolist()
    assert pixel_accuracy(pred, target).item() == pytest.approx(accuracy_score(target.reshape(-1), pred.reshape(-1)))
    iou = sk(jaccard_score, pred, target, num_classes)
    assert same(iou_per_class(pred, target, num_classes), iou)
    assert same(dice_per_class(pred, target, num_classes), sk(f1_score, pred, target, num_classes))
    assert mean_iou(pred, target, num_classes).item() == pytest.approx(np.nanmean(iou))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("integer_dtype", [torch.uint8, torch.int32, torch.int64])
def test_image_average_matches_loop_over_images(seed, integer_dtype):
    pred, target = random_maps(seed, shape=(4, 5, 5), num_classes=5, used=5)
    pred[0][pred[0] == 4] = 0  # class 4 absent from image 0 in the prediction ...
    target[0][target[0] == 4] = 1  # ... and in the target: image 0 must not count for it
    per_image_iou = [iou_loop(p, t, 5) for p, t in zip(pred, target)]
    per_image_dice = [dice_loop(p, t, 5) for p, t in zip(pred, target)]
    pred, target = pred.to(integer_dtype), target.to(integer_dtype)
    for got, table in ((iou_per_class(pred, target, 5, average="image"), per_image_iou),
                       (dice_per_class(pred, target, 5, average="image"), per_image_dice)):
        expected = [np.mean([row[c] for row in table if not math.isnan(row[c])]) for c in range(5)]
        assert same(got, expected)


def test_dataset_and_image_averages_differ():
    # image 0: the class fills both maps (IoU 1); image 1: one of 8 target pixels found (IoU 1/8)
    target = torch.tensor([[[1, 1], [1, 1]], [[1, 1], [1, 1]]]).repeat(1, 1, 2)  # (2, 2, 4)
    pred = target.clone()
    pred[1] = 0
    pred[1, 0, 0] = 1
    assert iou_per_class(pred, target, 2, average="image")[1].item() == pytest.approx((1 + 1 / 8) / 2)
    assert iou_per_class(pred, target, 2, average="dataset")[1].item() == pytest.approx(9 / 16)


def test_absent_class_is_nan_and_skipped_by_the_mean():
    iou = iou_per_class(PRED, TARGET, 3)  # class 2 is in neither map
    assert torch.isnan(iou[2]) and torch.isnan(dice_per_class(PRED, TARGET, 3)[2])
    assert mean_iou(PRED, TARGET, 3).item() == pytest.approx(7 / 12)  # same as with 2 classes
    # sklearn's default zero_division=0 counts the absent class as 0 and lowers the mean
    sk_default = jaccard_score(TARGET.reshape(-1), PRED.reshape(-1), labels=[0, 1, 2], average=None, zero_division=0)
    assert sk_default[2] == 0 and np.mean(sk_default) == pytest.approx(7 / 18)
    # a class predicted but never in the target is not absent: its IoU is 0
    assert iou_per_class(torch.tensor([[2, 1], [1, 1]]), TARGET, 3)[2].item() == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_ignore_index_drops_the_pixels_everywhere(seed):
    pred, target = random_maps(seed, num_classes=3)
    void = torch.rand(target.shape, generator=torch.Generator().manual_seed(seed)) < 0.3
    target_void = torch.where(void, 255, target)
    kept_p, kept_t = pred[~void], target[~void]  # sklearn on the kept pixels only
    assert same(iou_per_class(pred, target_void, 3, ignore_index=255), sk(jaccard_score, kept_p, kept_t, 3))
    assert same(dice_per_class(pred, target_void, 3, ignore_index=255), sk(f1_score, kept_p, kept_t, 3))
    assert same(iou_per_class(pred, target_void, 3, "image", ignore_index=255),
                np.nanmean([iou_loop(p, t, 3, 255) for p, t in zip(pred, target_void)], axis=0))
    assert pixel_accuracy(pred, target_void, ignore_index=255).item() == pytest.approx(accuracy_score(kept_t, kept_p))
    assert confusion_matrix(pred, target_void, 3, ignore_index=255).sum().item() == int((~void).sum())
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 3\).*got 255.*ignore_index"):
        iou_per_class(pred, target_void, 3)


@pytest.mark.parametrize("seed", range(3))
def test_dice_is_two_iou_over_one_plus_iou(seed):
    pred, target = random_maps(seed, num_classes=3)
    iou, dice = iou_per_class(pred, target, 3), dice_per_class(pred, target, 3)
    assert torch.allclose(dice, 2 * iou / (1 + iou))


@pytest.mark.parametrize("seed", range(4))
def test_dice_coefficient_is_the_f1_score_of_binary_masks(seed):
    gen = torch.Generator().manual_seed(seed)
    a, b = torch.rand(2, 9, 9, generator=gen) < 0.4, torch.rand(2, 9, 9, generator=gen) < 0.4
    expected = f1_score(b.reshape(-1).numpy(), a.reshape(-1).numpy())
    assert dice_coefficient(a, b).item() == pytest.approx(expected, abs=1e-6)
    assert dice_coefficient(a.long(), b.float()).item() == pytest.approx(expected, abs=1e-6)
    assert dice_per_class(a.long(), b.long(), 2)[1].item() == pytest.approx(expected, abs=1e-6)


def test_dice_coefficient_edges():
    empty = torch.zeros(3, 3)
    assert dice_coefficient(empty, empty).item() == 0.0  # 0 / eps; dice_per_class says NaN
    assert dice_coefficient(empty, empty, eps=0.0).isnan()
    soft = torch.tensor([0.5, 0.5], dtype=torch.float64)
    out = dice_coefficient(soft, torch.tensor([1.0, 0.0], dtype=torch.float64), eps=0.0)
    assert out.dtype == torch.float64 and out.item() == pytest.approx(2 * 0.5 / 2)
    with pytest.raises(ValueError, match=r"pred must be a binary \(or soft\) mask with values in \[0, 1\]"):
        dice_coefficient(torch.tensor([2.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="same shape"):
        dice_coefficient(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="eps must be in"):
        dice_coefficient(empty, empty, eps=-1.0)


def test_empty_batch():
    pred = target = torch.zeros(0, 4, 4, dtype=torch.long)
    assert confusion_matrix(pred, target, 2).tolist() == [[0, 0], [0, 0]]
    assert pixel_accuracy(pred, target).isnan()
    assert iou_per_class(pred, target, 2).isnan().all() and iou_per_class(pred, target, 2, "image").isnan().all()


def test_errors():
    with pytest.raises(TypeError, match="pred must hold integer class labels, got dtype torch.float32"):
        iou_per_class(PRED.float(), TARGET, 2)
    with pytest.raises(ValueError, match=r"pred and target must have the same shape, got \(2, 2\) and \(1, 2\)"):
        confusion_matrix(PRED, TARGET[:1], 2)
    with pytest.raises(ValueError, match=r"target must have shape \(N, H, W\) or \(H, W\), got shape \(4,\)"):
        pixel_accuracy(PRED, TARGET.reshape(4))
    with pytest.raises(ValueError, match=r"pred labels must lie in \[0, 2\) for num_classes=2, got 2"):
        iou_per_class(PRED + 1, TARGET, 2)
    with pytest.raises(ValueError, match=r"average must be one of \('dataset', 'image'\), got 'pixel'"):
        iou_per_class(PRED, TARGET, 2, average="pixel")
    with pytest.raises(TypeError, match="target must be a torch.Tensor"):
        mean_iou(PRED, TARGET.numpy(), 2)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        confusion_matrix(PRED, TARGET, 0)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    pred, target = random_maps(0, shape=(4, 33, 17), num_classes=5)
    target[0, 0] = 255
    for fn in (iou_per_class, dice_per_class, confusion_matrix):
        for kw in ({}, {"average": "image"}) if fn is not confusion_matrix else ({},):
            got = fn(pred.cuda(), target.cuda(), 5, ignore_index=255, **kw)
            assert got.device.type == "cuda"
            assert same(got.cpu(), fn(pred, target, 5, ignore_index=255, **kw))
    expected = pixel_accuracy(pred, target, 255).item()
    assert pixel_accuracy(pred.cuda(), target.cuda(), 255).item() == pytest.approx(expected)


# --- boundary IoU: the band by scipy's erosion and by a loop over the (2d+1)-square -----------

def band_by_scipy(mask: np.ndarray, d: int) -> np.ndarray:
    """Mask minus its erosion by a (2d+1)-square, outside the image counted as background."""
    from scipy.ndimage import binary_erosion
    eroded = binary_erosion(mask, structure=np.ones((2 * d + 1, 2 * d + 1), bool), border_value=0)
    return mask & ~eroded


def band_by_loop(mask: np.ndarray, d: int) -> np.ndarray:
    H, W = mask.shape
    out = np.zeros_like(mask)
    for i in range(H):
        for j in range(W):
            if not mask[i, j]:
                continue
            for a in range(i - d, i + d + 1):
                for b in range(j - d, j + d + 1):
                    if not (0 <= a < H and 0 <= b < W) or not mask[a, b]:
                        out[i, j] = True
    return out


@pytest.mark.parametrize("d", [1, 2, 3])
def test_boundary_band_matches_scipy_erosion_and_a_loop(d):
    from cnnlib.segmentation import boundary_band
    gen = torch.Generator().manual_seed(d)
    masks = (torch.rand(4, 11, 9, generator=gen) < 0.7).long()
    band = boundary_band(masks, d)
    assert band.dtype == torch.bool and band.shape == masks.shape
    for m, b in zip(masks.numpy().astype(bool), band.numpy()):
        np.testing.assert_array_equal(b, band_by_scipy(m, d))
        np.testing.assert_array_equal(b, band_by_loop(m, d))
    np.testing.assert_array_equal(boundary_band(masks[0].bool(), d).numpy(), band[0].numpy())  # (H, W) too


def test_boundary_iou_hand_computed_shift_and_dataset_sums():
    from cnnlib.segmentation import boundary_iou
    target = torch.zeros(8, 8, dtype=torch.long)
    target[2:6, 2:6] = 1                      # a 4x4 square: with d = 2 every pixel is on its band
    assert boundary_iou(target, target).item() == 1.0
    assert boundary_iou(target.roll(1, 1), target).item() == pytest.approx(12 / 20)
    big = torch.zeros(20, 20, dtype=torch.long)
    big[2:18, 2:18] = 1                       # 16x16: band of width 1 = 60 px, its interior does not count
    shifted = big.roll(1, 1)
    band_t = torch.from_numpy(band_by_loop(big.numpy().astype(bool), 1))
    band_p = torch.from_numpy(band_by_loop(shifted.numpy().astype(bool), 1))
    expected = (band_t & band_p).sum().item() / (band_t | band_p).sum().item()
    assert boundary_iou(shifted, big, width=1).item() == pytest.approx(expected)
    assert boundary_iou(shifted, big, width=1) < iou_per_class(shifted, big, 2)[1]  # harsher than mask IoU
    # data set level: sums over images, not the mean of per-image ratios
    both = boundary_iou(torch.stack([target.roll(1, 1), shifted[:8, :8]]), torch.stack([target, big[:8, :8]]))
    b = [(torch.from_numpy(band_by_loop(x.numpy().astype(bool), 2))) for x in
         (target.roll(1, 1), target, shifted[:8, :8], big[:8, :8])]
    inter = (b[0] & b[1]).sum() + (b[2] & b[3]).sum()
    union = (b[0] | b[1]).sum() + (b[2] | b[3]).sum()
    assert both.item() == pytest.approx((inter / union).item())
    assert math.isnan(boundary_iou(torch.zeros(3, 4, 4, dtype=torch.long), torch.zeros(3, 4, 4, dtype=torch.long)))


def test_boundary_iou_rejects_bad_inputs():
    from cnnlib.segmentation import boundary_band, boundary_iou
    m = torch.zeros(4, 4, dtype=torch.long)
    with pytest.raises(TypeError, match="float"):
        boundary_iou(m.float(), m)
    with pytest.raises(ValueError, match="0 .* and 1"):
        boundary_iou(m + 2, m)
    with pytest.raises(ValueError, match="same shape"):
        boundary_iou(m, torch.zeros(4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="width"):
        boundary_band(m, 0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        boundary_band(np.zeros((4, 4)), 1)
