"""Tests for cnnlib.models.complexity: count_params, count_macs, complexity_table.

Reference: multiply-add formulas written in the test for each layer type, and
``torch.utils.flop_counter.FlopCounterMode`` (PyTorch's own FLOP counter; FLOPs = 2 x MACs for
convolutions and linear layers) on whole networks; parameter counts by hand.
"""

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib.models import (
    SMALL_MODELS, complexity_table, count_macs, count_params, efficientnet_b0, mobilenet_v2, resnet50, vgg11,
)


def flops(model, shape, device="cpu"):
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape, device=device))
    return counter.get_total_flops()


def test_count_params_by_hand():
    assert count_params(nn.Linear(4, 3)) == 15
    assert count_params(nn.Conv2d(3, 8, 3, bias=False)) == 216
    assert count_params(nn.BatchNorm2d(5)) == 10  # running statistics are buffers, not parameters
    shared = nn.Linear(4, 4)
    assert count_params(nn.Sequential(shared, nn.ReLU(), shared)) == 20  # shared weights count once
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    net[0].requires_grad_(False)
    assert count_params(net) == 23 and count_params(net, trainable_only=True) == 8
    assert count_params(nn.ReLU()) == 0


@pytest.mark.parametrize("layer,shape,expected", [
    (nn.Conv2d(3, 8, 3), (3, 10, 12), 8 * 8 * 10 * 3 * 9),                           # valid 3x3
    (nn.Conv2d(4, 6, 3, stride=2, padding=1), (4, 9, 9), 6 * 5 * 5 * 4 * 9),         # strided
    (nn.Conv2d(6, 6, 3, padding=1, groups=6), (6, 7, 7), 6 * 7 * 7 * 1 * 9),         # depthwise
    (nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2), (4, 8, 8), 8 * 8 * 8 * 2 * 9),
    (nn.Conv2d(4, 8, (1, 5)), (4, 6, 9), 8 * 6 * 5 * 4 * 5),                         # rectangular
    (nn.Conv1d(4, 5, 3), (4, 20), 5 * 18 * 4 * 3),
    (nn.Conv3d(2, 3, 3), (2, 5, 5, 5), 3 * 27 * 2 * 27),
    (nn.ConvTranspose2d(4, 6, 3, stride=2), (4, 5, 5), 4 * 25 * 6 * 9),              # per input pixel
    (nn.Linear(7, 5), (7,), 35),
    (nn.Linear(7, 5), (4, 7), 4 * 5 * 7),                                            # applied per row
])
def test_count_macs_by_hand_and_against_flop_counter(layer, shape, expected):
    assert count_macs(layer, shape) == expected
    assert count_macs(layer, shape, batch_size=3) == 3 * expected
    assert flops(layer, (3, *shape)) == 2 * 3 * expected


def test_real_forward_against_flop_counter():
    torch.manual_seed(0)
    model = SMALL_MODELS["resnet_small"]()
    assert flops(model, (2, 1, 28, 28)) == 2 * count_macs(model, (1, 28, 28), batch_size=2)


@pytest.mark.parametrize("name", list(SMALL_MODELS))
def test_small_models_against_flop_counter(name):
    with torch.device("meta"):  # shapes only: the counts do not depend on the values
        model = SMALL_MODELS[name]()
    assert flops(model, (2, 1, 28, 28), "meta") == 2 * count_macs(model, (1, 28, 28), batch_size=2)


@pytest.mark.parametrize("make", [vgg11, resnet50, mobilenet_v2, efficientnet_b0])
def test_full_models_against_flop_counter(make):
    with torch.device("meta"):
        model = make()
    assert flops(model, (1, 3, 224, 224), "meta") == 2 * count_macs(model, (3, 224, 224))


def test_a_module_called_twice_counts_twice_and_modes_are_restored():
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared).train()
    assert count_macs(net, (4,)) == 2 * 16
    assert net.training
    assert not shared._forward_hooks  # the hooks are removed


def test_complexity_table_rows():
    models = {"lenet5": SMALL_MODELS["lenet5"](), "resnet_small": SMALL_MODELS["resnet_small"]()}
    rows = complexity_table(models, (1, 28, 28))
    assert [r["model"] for r in rows] == ["lenet5", "resnet_small"]
    for row, model in zip(rows, models.values()):
        assert row["params"] == count_params(model) and row["macs"] == count_macs(model, (1, 28, 28))
        assert row["input"] == (1, 28, 28)
    assert rows[0]["macs"] == 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10


def test_errors():
    with pytest.raises(TypeError, match="module must be an nn.Module, got str"):
        count_params("resnet")
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        count_macs(None, (1, 2))
    with pytest.raises(ValueError, match=r"input_shape\[1\] must be >= 1, got 0"):
        count_macs(nn.Conv2d(1, 1, 3), (1, 0, 28))
    with pytest.raises(ValueError, match=r"input_shape must be a non-empty sequence of ints, got \(\)"):
        count_macs(nn.Conv2d(1, 1, 3), ())
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        count_macs(nn.Conv2d(1, 1, 3), (1, 5, 5), batch_size=0)
    with pytest.raises(ValueError, match=r"forward pass failed for .* \(1, 3, 28, 28\).*expects 1 input channels"):
        count_macs(SMALL_MODELS["lenet5"](), (3, 28, 28))
    with pytest.raises(TypeError, match="models must be a mapping"):
        complexity_table([nn.Linear(2, 2)], (2,))
