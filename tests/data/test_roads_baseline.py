"""Tests for cnnlib.data.roads_baseline: the colour rule the roads defeat.

Reference: the rule's thresholds checked against a brute-force search over a coarser grid of
thresholds, scored by an IoU computed in this file from the pixel features; a hand-made case of
four pixels.
"""

import numpy as np
import pytest
import torch

from cnnlib.data.roads import roads_tensors
from cnnlib.data.roads_baseline import ColourRule, colour_rule_baseline, fit_colour_rule

N_TILES = 200


def iou(pred, target):
    inter = ((pred == 1) & (target == 1)).sum().item()
    union = ((pred == 1) | (target == 1)).sum().item()
    return inter / union


def test_colour_rule_is_far_from_good():
    train_x, train_m = roads_tensors(N_TILES, seed=0)
    test_x, test_m = roads_tensors(N_TILES, seed=10_000)
    rule = fit_colour_rule(train_x, train_m)
    assert isinstance(rule, ColourRule) and 0 <= rule.min_value <= rule.max_value <= 1
    pred = colour_rule_baseline(test_x, rule)
    assert pred.shape == test_m.shape and pred.dtype == torch.int64
    assert iou(pred, test_m) <= 0.6  # measured about 0.25


def test_fit_colour_rule_beats_a_brute_force_grid():
    x, m = roads_tensors(30, seed=1)
    chroma, value = x.amax(1) - x.amin(1), x.mean(1)
    best = 0.0
    for c in np.arange(1, 17) / 16:  # a coarser grid than the fit's 64 bins: the fit must do as well
        for lo in np.arange(0, 16) / 16:
            for hi in np.arange(lo * 16 + 1, 17) / 16:
                pred = (chroma < c) & (value >= lo) & (value < hi)
                best = max(best, iou(pred.long(), m))
    rule = fit_colour_rule(x, m)
    assert iou(colour_rule_baseline(x, rule), m) >= best - 1e-3


def test_colour_rule_by_hand():
    # four pixels (rgb): chroma 0, 0.4, 0, 0.1; brightness 0.5, 0.33, 0.9, 0.5
    x = torch.tensor([[0.5, 0.5, 0.5], [0.2, 0.6, 0.2], [0.9, 0.9, 0.9], [0.45, 0.5, 0.55]])
    images = x.T.reshape(1, 3, 2, 2)
    assert colour_rule_baseline(images, ColourRule(0.12, 0.3, 0.7)).flatten().tolist() == [1, 0, 0, 1]
    assert colour_rule_baseline(images, ColourRule(0.05, 0.3, 0.7)).flatten().tolist() == [1, 0, 0, 0]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"images must be float RGB images \(N, 3, H, W\)"):
        colour_rule_baseline(torch.zeros(1, 1, 4, 4), ColourRule(0.1, 0.2, 0.8))
    with pytest.raises(TypeError, match="rule must be a ColourRule"):
        colour_rule_baseline(torch.zeros(1, 3, 4, 4), (0.1, 0.2, 0.8))
    with pytest.raises(ValueError, match="no road pixel"):
        fit_colour_rule(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="masks must have shape \\(1, 4, 4\\)"):
        fit_colour_rule(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 5, dtype=torch.long))
