"""Tests for cnnlib.models._checks: the shared argument and input checks.

Reference: PyTorch's own layers. The smallest input of a chain of convolutions / pools is found
by brute force, running ``F.conv2d`` on growing inputs until it no longer raises, and compared
with :func:`min_input_size`'s closed form.
"""

import random

import pytest
import torch
import torch.nn.functional as F

from cnnlib.models._checks import (
    check_choice, check_float, check_images, check_int, check_int_list, conv_output_size, min_input_size,
)


def runs(n, ops):
    x = torch.zeros(1, 1, n, n, device="meta")  # the meta device runs PyTorch's shape checks only
    try:
        for k, s, p, d in ops:
            x = F.conv2d(x, torch.zeros(1, 1, k, k, device="meta"), stride=s, padding=p, dilation=d)
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_min_input_size_is_the_smallest_size_pytorch_accepts(seed):
    rng = random.Random(seed)
    ops = []
    for _ in range(rng.randint(1, 5)):
        k, d = rng.choice([1, 2, 3, 5, 7, 11]), rng.choice([1, 1, 2])
        ops.append((k, rng.choice([1, 2, 3, 4]), rng.randint(0, (k - 1) * d // 2), d))
    brute = next(n for n in range(1, 400) if runs(n, ops))
    assert min_input_size(ops) == brute
    assert all(runs(n, ops) for n in range(brute, brute + 5))  # and every larger size works


def test_min_input_size_hand_cases():
    assert min_input_size([]) == 1
    assert min_input_size([(2, 2, 0, 1)] * 5) == 32           # VGG: five 2x2 pools
    assert min_input_size([(3, 2, 1, 1)] * 10) == 1           # padded stride-2 convs never empty a map
    assert min_input_size([(5, 1, 0, 1), (5, 1, 0, 1)]) == 9  # two valid 5x5 convolutions


def test_conv_output_size_matches_pytorch():
    for n, k, s, p, d in [(28, 5, 1, 2, 1), (224, 11, 4, 2, 1), (7, 3, 2, 1, 1), (10, 3, 1, 0, 2)]:
        out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
        assert conv_output_size(n, k, s, p, d) == out.shape[-1]


def test_argument_checks_name_the_argument_and_the_value():
    with pytest.raises(ValueError, match="c_in must be >= 1, got 0"):
        check_int(0, "c_in")
    with pytest.raises(TypeError, match="c_in must be an int, got float 2.0"):
        check_int(2.0, "c_in")
    with pytest.raises(TypeError, match="must be an int, got bool"):
        check_int(True, "stride")
    with pytest.raises(ValueError, match=r"dropout must be in \[0.0, 1.0\), got 1.0"):
        check_float(1.0, "dropout", 0.0, 1.0, low_inclusive=True)
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got -0.5"):
        check_float(-0.5, "width_mult", 0.0)
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got nan"):
        check_float(float("nan"), "width_mult", 0.0)
    with pytest.raises(ValueError, match=r"stride must be one of \(1, 2\), got 3"):
        check_choice(3, "stride", (1, 2))
    with pytest.raises(ValueError, match=r"layers\[1\] must be >= 1, got 0"):
        check_int_list([2, 0], "layers")
    with pytest.raises(ValueError, match="non-empty sequence"):
        check_int_list([], "layers")


def test_check_images_messages():
    check_images(torch.zeros(2, 3, 8, 8), "Net", 3, 8)  # passes
    with pytest.raises(TypeError, match=r"Net expects a torch.Tensor of shape \(N, 3, H, W\), got list"):
        check_images([1.0], "Net", 3, 1)
    with pytest.raises(ValueError, match=r"\(4 dims\), got shape \(3, 8, 8\)"):
        check_images(torch.zeros(3, 8, 8), "Net", 3, 1)
    with pytest.raises(ValueError, match="Net expects 3 input channels, got 1"):
        check_images(torch.zeros(2, 1, 8, 8), "Net", 3, 1)
    with pytest.raises(ValueError, match="at least 8x8 .* got 8x7"):
        check_images(torch.zeros(2, 3, 8, 7), "Net", 3, 8)
    with pytest.raises(ValueError, match="exactly 28x28, got 32x32"):
        check_images(torch.zeros(2, 3, 32, 32), "Net", 3, 28, exact_size=28)
