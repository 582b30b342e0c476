"""Tests for cnnlib.interpret.patches: top_k_patches.

References: a loop in the test that evaluates the unit at every position, on the crop alone
where the net has no padding, and a field computed by hand where it has padding.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.interpret import top_k_patches
from cnnlib.ops import RF
from tests.interpret.nets import Unused, cpu_and_cuda, small_cnn


def brute_force_top(values, k, one_per_image):
    """values: list of (activation, image, row, col); the k largest, at most one per image if asked."""
    best = sorted(values, key=lambda t: -t[0])
    chosen, used = [], set()
    for a, i, r, c in best:
        if one_per_image and i in used:
            continue
        chosen.append((a, i, r, c))
        used.add(i)
    return chosen[:k]


@pytest.mark.parametrize("one_per_image", [True, False])
def test_top_k_patches_matches_evaluating_the_unit_on_every_crop(one_per_image):
    """No padding: every unit sees an 8x8 crop at stride 2 (3x3 conv, 2x2 pool, 3x3 conv), and the
    unit computed from that crop ALONE must equal its value in the whole image."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.ReLU(),
                          nn.Flatten(), nn.LazyLinear(5)).double()
    images = torch.randn(6, 2, 14, 13, dtype=torch.float64)
    where = [(i, r, c) for i in range(len(images)) for r in range(4) for c in range(3)]  # (14-8)/2+1, (13-8)//2+1
    crops = torch.stack([images[i, :, 2 * r:2 * r + 8, 2 * c:2 * c + 8] for i, r, c in where])  # (72, 2, 8, 8)
    with torch.no_grad():
        units = model[:4](crops)  # every unit evaluated on its own crop
    assert units.shape[-2:] == (1, 1)  # an 8x8 crop holds exactly one unit: the field is 8x8
    values = [(units[n, 1, 0, 0].item(), *where[n]) for n in range(len(where))]
    top = top_k_patches(model, model[3], images, channel=1, k=5, one_per_image=one_per_image)
    expected = brute_force_top(values, 5, one_per_image)
    assert torch.allclose(top.activations, torch.tensor([e[0] for e in expected], dtype=torch.float64), atol=1e-12)
    assert top.image_index.tolist() == [e[1] for e in expected]
    assert top.positions.tolist() == [[e[2], e[3]] for e in expected]
    for patch, box, (_, i, r, c) in zip(top.patches, top.boxes.tolist(), expected):
        assert box == [2 * c, 2 * r, 2 * c + 8, 2 * r + 8]
        assert torch.equal(patch, images[i, :, 2 * r:2 * r + 8, 2 * c:2 * c + 8])
    assert len(set(top.image_index.tolist())) == (5 if one_per_image else len(set(e[1] for e in expected)))


def test_top_k_patches_with_padding_cuts_the_field_and_pads_at_the_border():
    """3x3 conv p1, 2x2 pool, 3x3 conv p1: field 8, jump 2, first row -3 (by hand: -(1*1 + 0*1 + 1*2))."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 2, 3, padding=1))
    images = torch.rand(5, 1, 10, 10)
    with torch.no_grad():
        maps = model(images)[:, 0]  # (5, 5, 5)
    values = [(maps[i, r, c].item(), i, r, c) for i in range(5) for r in range(5) for c in range(5)]
    top = top_k_patches(model, model[3], images, channel=0, k=25, one_per_image=False, fill=-1.0)
    expected = brute_force_top(values, 25, False)
    assert top.positions.tolist() == [[e[2], e[3]] for e in expected]
    padded = F.pad(images, (3, 3, 3, 3), value=-1.0)  # (5, 1, 16, 16): image pixel (y, x) at (y+3, x+3)
    for patch, box, (_, i, r, c) in zip(top.patches, top.boxes.tolist(), expected):
        y1, x1 = 2 * r - 3, 2 * c - 3
        assert box == [x1, y1, x1 + 8, y1 + 8]
        assert torch.equal(patch, padded[i, :, y1 + 3:y1 + 11, x1 + 3:x1 + 11])
    own = top_k_patches(model, model[3], images, 0, k=3, rf=(RF(2, 2, 0.5), RF(2, 2, 0.5)))  # given rf
    assert own.patches.shape == (3, 1, 2, 2)


def test_hooks_are_removed_when_the_forward_raises():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5, 3))  # wrong Linear size
    model.train()
    with pytest.raises(RuntimeError):
        top_k_patches(model, model[1], torch.randn(2, 1, 6, 6), 0, k=1)
    assert all(not m._forward_hooks for m in model.modules()) and all(m.training for m in model.modules())


def test_a_layer_that_does_not_run_is_refused():
    net = Unused()
    with pytest.raises(ValueError, match="ran 0 times"):
        top_k_patches(net, net.extra, torch.randn(1, 1, 16, 16), 0, k=1)


def test_bad_arguments_raise_clear_errors():
    model = small_cnn()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"images must be a floating-point tensor of shape \(N, C, H, W\)"):
        top_k_patches(model, model[0], x[0], 0)
    with pytest.raises(ValueError, match=r"channel must lie in \[0, 6\)"):
        top_k_patches(model, model[0], x, 6)
    with pytest.raises(ValueError, match="k=3 exceeds the 2 images"):
        top_k_patches(model, model[0], x, 0, k=3)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        top_k_patches(model, model[0], x, 0, k=0)
    with pytest.raises(TypeError, match=r"rf must be None or a pair \(rf_h, rf_w\)"):
        top_k_patches(model, model[0], x, 0, k=1, rf=(3, 1))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    model, cuda, x = cpu_and_cuda()
    top = top_k_patches(cuda, cuda[0], x.cuda(), channel=2, k=3)
    assert top.patches.device.type == "cuda"
    assert torch.equal(top.image_index.cpu(), top_k_patches(model, model[0], x, channel=2, k=3).image_index)
