"""Tests for cnnlib._checks: the one module of argument and input checks.

Reference: hand cases. Each check must accept what it documents, return the value in the
documented form, and reject everything else with a message that names the argument, says what
was expected and shows what came. ``as_image_batch`` is compared with indexing written here.
"""

import math

import pytest
import torch

from cnnlib._checks import (
    as_image_batch, check_bias, check_choice, check_float, check_images, check_int, check_int_list,
    check_like, check_tensor, pair,
)


def test_check_int_accepts_ints_in_range_and_names_the_argument():
    assert check_int(1, "c_in") == 1 and check_int(0, "padding", 0) == 0
    assert check_int(5, "k", 1, maximum=5) == 5
    with pytest.raises(ValueError, match="c_in must be >= 1, got 0"):
        check_int(0, "c_in")
    with pytest.raises(ValueError, match="k must be <= 5, got 6"):
        check_int(6, "k", 1, maximum=5)
    with pytest.raises(TypeError, match="c_in must be an int, got float 2.0"):
        check_int(2.0, "c_in")
    with pytest.raises(TypeError, match="must be an int, got bool"):
        check_int(True, "stride")


def test_check_float_intervals():
    assert check_float(0, "p", 0.0, 1.0, low_inclusive=True) == 0.0
    assert check_float(1.0, "p", 0.0, 1.0, low_inclusive=True, high_inclusive=True) == 1.0
    assert isinstance(check_float(2, "width_mult", 0.0), float)
    with pytest.raises(ValueError, match=r"dropout must be in \[0.0, 1.0\), got 1.0"):
        check_float(1.0, "dropout", 0.0, 1.0, low_inclusive=True)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\], got 1.5"):
        check_float(1.5, "p", 0.0, 1.0, low_inclusive=True, high_inclusive=True)
    with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\), got -0.5"):
        check_float(-0.5, "width_mult", 0.0)
    for bad in (float("nan"), math.inf):
        with pytest.raises(ValueError, match=r"width_mult must be in \(0.0, inf\)"):
            check_float(bad, "width_mult", 0.0)
    with pytest.raises(TypeError, match="gamma must be a number, got bool True"):
        check_float(True, "gamma")
    with pytest.raises(TypeError, match="gamma must be a number, got str '2'"):
        check_float("2", "gamma")


def test_check_choice_lists_the_choices():
    assert check_choice("max", "mode", ("max", "avg")) == "max"
    assert check_choice(2, "stride", (1, 2)) == 2
    with pytest.raises(ValueError, match=r"stride must be one of \(1, 2\), got 3"):
        check_choice(3, "stride", (1, 2))
    with pytest.raises(ValueError, match=r"mode must be one of \('max', 'avg'\), got 'median'"):
        check_choice("median", "mode", ("max", "avg"))
    with pytest.raises(ValueError, match=r"mode must be one of .*got \['max'\]"):
        check_choice(["max"], "mode", {"max", "avg"})  # unhashable against a set: still a ValueError


def test_check_int_list_names_the_entry():
    assert check_int_list([2, 2], "layers") == (2, 2)
    with pytest.raises(ValueError, match=r"layers\[1\] must be >= 1, got 0"):
        check_int_list([2, 0], "layers")
    with pytest.raises(ValueError, match="non-empty sequence"):
        check_int_list([], "layers")
    with pytest.raises(ValueError, match="non-empty sequence"):
        check_int_list("22", "layers")


def test_pair():
    assert pair(3, "stride") == (3, 3) and pair((2, 1), "k") == (2, 1) and pair([0, 4], "p", 0) == (0, 4)
    assert pair(torch.Size([5, 6]), "size") == (5, 6)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints, got 1.5"):
        pair(1.5, "stride")
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, got \(1, True\)"):
        pair((1, True), "stride")
    with pytest.raises(ValueError, match=r"f must be an int or a pair of ints, got \(3, 3, 3\)"):
        pair((3, 3, 3), "f")
    with pytest.raises(ValueError, match=r"padding must be >= 0, got \(1, -1\)"):
        pair((1, -1), "padding", 0)


def test_tensor_like_and_bias_checks():
    x = torch.zeros(2, 3, 4, 4)
    assert check_tensor(x, "x", 4, "(N, C, H, W)") is x
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of shape \(N, C, H, W\), got list"):
        check_tensor([1], "x", 4, "(N, C, H, W)")
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) \(4 dims\), got shape \(3, 4\)"):
        check_tensor(torch.zeros(3, 4), "x", 4, "(N, C, H, W)")
    with pytest.raises(TypeError, match="weight must have the dtype of x .*got torch.float64"):
        check_like(x.double(), "weight", x)
    check_bias(None, (3,), x)
    check_bias(torch.zeros(3), (3,), x)
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(3,\), got \(4,\)"):
        check_bias(torch.zeros(4), (3,), x)
    with pytest.raises(TypeError, match="bias must have the dtype of x"):
        check_bias(torch.zeros(3, dtype=torch.float64), (3,), x)


def test_as_image_batch():
    img = torch.rand(3, 5, 6)
    xb, single = as_image_batch(img)
    assert single and xb.shape == (1, 3, 5, 6) and torch.equal(xb[0], img)
    batch = torch.rand(2, 3, 5, 6)
    xb, single = as_image_batch(batch)
    assert not single and xb is batch
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor of shape \(N, C, H, W\), got list"):
        as_image_batch([1.0], "images", allow_single=False)
    with pytest.raises(ValueError, match=r"x must be a floating-point tensor of shape \(N, C, H, W\), "
                                         r"got torch.float32 \(3, 5, 6\)"):
        as_image_batch(img, allow_single=False)
    with pytest.raises(ValueError, match=r"floating-point .*got torch.uint8 \(1, 3, 5, 6\)"):
        as_image_batch(torch.zeros(1, 3, 5, 6, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(C, H, W\) or \(N, C, H, W\), got torch.float32 \(5, 6\)"):
        as_image_batch(torch.zeros(5, 6))


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
