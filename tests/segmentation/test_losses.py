"""Tests for cnnlib.segmentation.losses: soft Dice loss and class weights.

Reference: the Dice loss written pixel by pixel with ``exp`` in ``tests/segmentation/reference.py``
(values, and its autograd gradient), ``torch.autograd.gradcheck`` in float64, a hand formula for
the binary case; class weights against pixel counts made by hand and sklearn's
``compute_class_weight("balanced")``.
"""

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from cnnlib.segmentation import class_weights, dice_loss
from tests.segmentation.reference import dice_loss_loop


def random_case(seed, N=2, K=3, H=3, W=4, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(N, K, H, W, generator=gen)).to(dtype)
    return logits, torch.randint(0, K, (N, H, W), generator=gen)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("options", [{}, {"eps": 0.0}, {"ignore_background": True}, {"ignore_index": 255}])
def test_dice_loss_and_gradient_match_the_loop(seed, options):
    logits, target = random_case(seed)
    if "ignore_index" in options:
        target[0, 0] = 255
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    got, expected = dice_loss(a, target, **options), dice_loss_loop(b, target, **options)
    assert torch.allclose(got, expected, atol=1e-12)
    got.backward()
    expected.backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-12)
    if "ignore_index" in options:
        assert (a.grad[0, :, 0] == 0).all()  # ignored pixels get no gradient


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dice_loss_dtypes(dtype):
    logits, target = random_case(0, dtype=dtype)
    got = dice_loss(logits, target)
    assert got.dtype == dtype
    assert got.item() == pytest.approx(dice_loss_loop(logits.double(), target).item(), abs=1e-5)


def test_gradcheck():
    logits, target = random_case(1, N=1, K=3, H=2, W=3)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: dice_loss(z, target), (logits,))
    binary = logits[:, :1].detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: dice_loss(z, target.clamp(max=1)), (binary,))


def test_binary_case_by_hand():
    logits = torch.tensor([[[[0.0, 1.0], [-2.0, 3.0]]]], dtype=torch.float64)  # (1, 1, 2, 2)
    target = torch.tensor([[[1, 0], [0, 1]]])
    p, t = torch.sigmoid(logits).reshape(-1), target.reshape(-1).double()
    for eps in (0.0, 1.0):
        expected = 1 - (2 * (p * t).sum() + eps) / (p.sum() + t.sum() + eps)
        assert dice_loss(logits, target, eps=eps).item() == pytest.approx(expected.item())
        assert dice_loss(logits[:, 0], target.bool(), eps=eps).item() == pytest.approx(expected.item())
        assert dice_loss(logits[:, 0], target.double(), eps=eps).item() == pytest.approx(expected.item())


def test_dice_loss_limits():
    target = torch.tensor([[[0, 1], [2, 1]]])
    perfect = 50.0 * torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).double()
    assert dice_loss(perfect, target, eps=0.0).item() == pytest.approx(0.0, abs=1e-12)
    # a class in neither target nor prediction scores eps / eps = 1 with smoothing, so the loss stays 0
    four = torch.cat([perfect, torch.full_like(perfect[:, :1], -50.0)], dim=1)
    assert dice_loss(four, target).item() == pytest.approx(0.0, abs=1e-12)


def test_dice_loss_errors():
    logits, target = random_case(0)
    with pytest.raises(ValueError, match=r"logits must have shape \(N, K, \*\) for a target \(N, \*\)"):
        dice_loss(logits, target[:, :2])
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 3\).*got values in \[0, 7\]"):
        dice_loss(logits, target.index_fill(2, torch.tensor([0]), 7))
    with pytest.raises(TypeError, match="logits must be floating point"):
        dice_loss(target[:, None], target)
    with pytest.raises(TypeError, match="multi-class target must hold integer labels"):
        dice_loss(logits, target.double())
    with pytest.raises(ValueError, match="ignore_background needs multi-class logits"):
        dice_loss(logits[:, :1], target.clamp(max=1), ignore_background=True)
    with pytest.raises(ValueError, match="binary target must hold 0 and 1 only"):
        dice_loss(logits[:, :1], target)
    with pytest.raises(ValueError, match="eps must be in"):
        dice_loss(logits, target, eps=-0.5)


def test_class_weights_by_hand():
    # image 0: 6 background, 2 class-1 pixels; image 1: 8 background; class 2 never occurs
    target = torch.zeros(2, 2, 4, dtype=torch.long)
    target[0, 0, :2] = 1
    inverse = class_weights(target, 3)
    assert torch.allclose(inverse, torch.tensor([16 / (3 * 14), 16 / (3 * 2), 0.0]))
    # median frequency: freq_0 = 14 / 16 (both images), freq_1 = 2 / 8 (only image 0 has it)
    freq = torch.tensor([14 / 16, 2 / 8])
    median = freq.median() if len(freq) % 2 else freq.mean()  # the median of two values is their mean
    assert torch.allclose(class_weights(target, 3, "median"), torch.tensor([median / freq[0], median / freq[1], 0.0]))
    void = target.clone()
    void[1, 1] = 255  # 4 background pixels fewer
    assert torch.allclose(class_weights(void, 3, ignore_index=255), torch.tensor([12 / (3 * 10), 12 / (3 * 2), 0.0]))


@pytest.mark.parametrize("seed", range(3))
def test_class_weights_inverse_matches_sklearn_balanced(seed):
    gen = torch.Generator().manual_seed(seed)
    target = (torch.rand(3, 10, 10, generator=gen) ** 3 * 4).long()  # skewed towards class 0
    expected = compute_class_weight("balanced", classes=np.arange(4), y=target.reshape(-1).numpy())
    w = class_weights(target, 4)
    assert np.allclose(w.numpy(), expected, rtol=1e-6)
    counts = torch.bincount(target.reshape(-1), minlength=4)
    assert torch.allclose(counts * w, torch.full((4,), target.numel() / 4))  # every class weighs the same


def test_class_weights_errors():
    with pytest.raises(ValueError, match=r"method must be one of \('inverse', 'median'\)"):
        class_weights(torch.zeros(2, 2, dtype=torch.long), 2, "log")
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 2\)"):
        class_weights(torch.full((2, 2), 2), 2)
    with pytest.raises(TypeError, match="target must hold integer class labels"):
        class_weights(torch.zeros(2, 2), 2)
