"""Tests for cnnlib.model_summary (cnnlib.summary).

Reference: ``sum(p.numel())`` over the model's parameters, and output shapes of a forward pass
written in the test; hand-counted parameters for LeNet-like layers (5*5*1*6 + 6 = 156, ...).
"""

import pytest
import torch
from torch import nn

from cnnlib import summary


def lenet_like() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 10),
    )


def test_hand_counted_rows_and_totals(capsys):
    net = lenet_like()
    s = summary(net, (1, 28, 28))
    params = {r.name: r.params for r in s.rows}
    assert params["0"] == 5 * 5 * 1 * 6 + 6 == 156
    assert params["3"] == 5 * 5 * 6 * 16 + 16
    assert params["4"] == 2 * 16  # batch-norm weight and bias; running stats are buffers
    assert params["8"] == 400 * 120 + 120
    assert s.total_params == sum(p.numel() for p in net.parameters()) == 156 + 2_416 + 32 + 48_120 + 1_210 == 51_934
    out = capsys.readouterr().out
    assert "Total params: 51,934" in out and "(N, 16, 5, 5)" in out


def test_output_shapes_match_a_forward_pass():
    net = lenet_like()
    s = summary(net, (1, 28, 28), print_table=False)
    x = torch.zeros(2, 1, 28, 28)
    expected = []
    for layer in net:
        x = layer(x)
        expected.append(tuple(x.shape))
    assert [r.output_shape for r in s.rows] == expected


def test_frozen_shared_and_container_parameters_are_counted_once():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))  # held by the container itself
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            x = self.conv(self.conv(x)) * self.scale.view(1, 3, 1, 1)  # conv shared (called twice)
            return self.head(x.mean((2, 3)))

    net = Net()
    net.head.requires_grad_(False)
    s = summary(net, (3, 8, 8), print_table=False)
    assert s.total_params == sum(p.numel() for p in net.parameters()) == 84 + 3 + 8
    assert s.trainable_params == 84 + 3
    assert s.non_trainable_params == 8
    assert sum(r.params for r in s.rows if r.name == "conv") == 84  # second call adds nothing


def test_mode_is_restored_and_full_shape_accepted():
    net = lenet_like().train()
    summary(net, (4, 1, 28, 28), print_table=False)
    assert net.training


def test_errors_name_the_problem():
    with pytest.raises(TypeError, match="nn.Module"):
        summary("not a model", (1, 28, 28))
    with pytest.raises(ValueError, match="positive"):
        summary(lenet_like(), (1, 0, 28))
    with pytest.raises(ValueError, match=r"forward pass failed for input of shape \(2, 1, 8, 8\)"):
        summary(lenet_like(), (1, 8, 8))
