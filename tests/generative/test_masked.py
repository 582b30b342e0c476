"""Tests for cnnlib.generative.masked: causal masks, the gated stacks' masks, MaskedConv2d.

Reference: masks written out by hand (3x3, the 5x5 mask A of the lecture, seed 002) and by the
rule in words (``tests/generative/reference.py``); the masked convolution against a loop over the
taps the rule allows, in float64; autograd for the zero gradient of the masked taps.
"""

import pytest
import torch

from cnnlib.generative import (
    MaskedConv2d, causal_mask, channel_groups, horizontal_mask, vertical_mask,
)
from tests.generative.reference import mask_loop

SEED_002_MASK_A = [[1, 1, 1, 1, 1],
                   [1, 1, 1, 1, 1],
                   [1, 1, 0, 0, 0],
                   [0, 0, 0, 0, 0],
                   [0, 0, 0, 0, 0]]


def test_hand_written_masks():
    assert causal_mask(3, "A").tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert causal_mask(3, "B").tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    assert causal_mask(5, "A").tolist() == SEED_002_MASK_A
    assert causal_mask(5, "B").tolist()[2] == [1, 1, 1, 0, 0]
    assert causal_mask(1, "A").tolist() == [[0]] and causal_mask(1, "B").tolist() == [[1]]
    assert causal_mask(3, "A").dtype == torch.float32


@pytest.mark.parametrize("k", [1, 3, 5, 7, 9, 11])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masks_follow_the_rule(k, mask_type):
    assert causal_mask(k, mask_type).tolist() == mask_loop(k, mask_type)
    c = k // 2
    v = vertical_mask(k, mask_type)
    rows_kept = c + (mask_type == "B")
    assert v[:rows_kept].eq(1).all() and v[rows_kept:].eq(0).all() and v.shape == (k, k)
    assert horizontal_mask(k, mask_type).tolist() == [mask_loop(k, mask_type)[c]]
    # A and B differ exactly at the centre
    assert (causal_mask(k, "B") - causal_mask(k, "A")).nonzero().tolist() == [[c, c]]


def test_gated_stack_masks_by_hand():
    assert vertical_mask(3, "A").tolist() == [[1, 1, 1], [0, 0, 0], [0, 0, 0]]
    assert vertical_mask(3, "B").tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]]
    assert horizontal_mask(3, "A").tolist() == [[1, 0, 0]]
    assert horizontal_mask(3, "B").tolist() == [[1, 1, 0]]


@pytest.mark.parametrize("n,c,chunks", [(6, 3, 1), (12, 3, 2), (4, 1, 1), (8, 2, 2), (3, 3, 1)])
def test_channel_groups_are_equal_consecutive_blocks(n, c, chunks):
    per_chunk = n // chunks
    expected = [(ch % per_chunk) // (per_chunk // c) for ch in range(n)]
    assert channel_groups(n, c, chunks).tolist() == expected


def masked_conv_loop(x, weight, bias, mask_type, image_channels):
    """out[n, o, i, j] = bias[o] + sum of w x over the raster-earlier taps (and the centre by colour)."""
    N, C_in, H, W = x.shape
    C_out, _, k, _ = weight.shape
    r = k // 2
    g_in = [ch * image_channels // C_in for ch in range(C_in)]
    g_out = [ch * image_channels // C_out for ch in range(C_out)]
    out = torch.zeros(N, C_out, H, W, dtype=x.dtype)
    for o in range(C_out):
        for i in range(H):
            for j in range(W):
                total = bias[o].expand(N).clone()
                for a in range(max(0, i - r), min(H, i + r + 1)):
                    for b in range(max(0, j - r), min(W, j + r + 1)):
                        for ch in range(C_in):
                            if (a, b) == (i, j):
                                ok = g_in[ch] < g_out[o] if mask_type == "A" else g_in[ch] <= g_out[o]
                            else:
                                ok = (a, b) < (i, j)                     # raster order
                            if ok:
                                total += weight[o, ch, a - i + r, b - j + r] * x[:, ch, a, b]
                out[:, o, i, j] = total
    return out


@pytest.mark.parametrize("k,mask_type,c_in,c_out,colours", [
    (3, "A", 1, 2, 1), (5, "B", 2, 3, 1), (3, "A", 3, 6, 3), (3, "B", 6, 6, 3), (1, "B", 4, 2, 2)])
def test_masked_conv_equals_the_loop(k, mask_type, c_in, c_out, colours):
    torch.manual_seed(k + c_in)
    conv = MaskedConv2d(c_in, c_out, k, mask_type, image_channels=colours).double()
    x = torch.randn(2, c_in, 5, 4, dtype=torch.float64)
    expected = masked_conv_loop(x, conv.weight.detach(), conv.bias.detach(), mask_type, colours)
    torch.testing.assert_close(conv(x).detach(), expected, rtol=0, atol=1e-12)


def test_masked_taps_never_matter_and_get_no_gradient():
    torch.manual_seed(0)
    conv = MaskedConv2d(2, 3, 5, "A").double()
    x = torch.randn(2, 2, 7, 6, dtype=torch.float64)
    before = conv(x).detach()
    with torch.no_grad():
        conv.weight.add_(1e6 * (1 - conv.mask))           # write into the masked taps only
    torch.testing.assert_close(conv(x), before, rtol=0, atol=1e-9)
    conv(x).square().sum().backward()
    assert conv.weight.grad[conv.mask == 0].abs().max() == 0
    assert conv.weight.grad[conv.mask == 1].abs().min() > 0
    kept = conv.weight.detach().clone()
    torch.optim.SGD(conv.parameters(), lr=0.1, momentum=0.9).step()
    assert torch.equal(conv.weight.detach()[conv.mask == 0], kept[conv.mask == 0])


@pytest.mark.parametrize("stack,shape", [("full", (5, 5)), ("vertical", (5, 5)), ("horizontal", (1, 5))])
def test_stacks_build_their_masks_and_keep_the_size(stack, shape):
    conv = MaskedConv2d(2, 4, 5, "B", stack=stack)
    assert tuple(conv.weight.shape[2:]) == shape and tuple(conv.mask.shape) == (4, 2, *shape)
    expected = {"full": causal_mask, "vertical": vertical_mask, "horizontal": horizontal_mask}[stack](5, "B")
    assert all(torch.equal(conv.mask[o, c], expected) for o in range(4) for c in range(2))
    for H, W in [(1, 1), (4, 7), (9, 2)]:
        assert conv(torch.zeros(1, 2, H, W)).shape == (1, 4, H, W)


def test_colour_order_at_the_centre_tap():
    conv = MaskedConv2d(3, 6, 3, "A", image_channels=3)                  # image R, G, B -> 2 features each
    centre = conv.mask[:, :, 1, 1]
    assert centre.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]]
    conv_b = MaskedConv2d(6, 6, 1, "B", image_channels=3)
    assert conv_b.mask[:, :, 0, 0].tolist() == [[1.0 if c // 2 <= o // 2 else 0.0 for c in range(6)] for o in range(6)]
    gated = MaskedConv2d(3, 12, 3, "B", stack="horizontal", image_channels=3, chunks=2)
    groups = [o % 6 // 2 for o in range(12)]                             # tanh half and sigmoid half alike
    assert gated.mask[:, :, 0, 1].tolist() == [[1.0 if c <= groups[o] else 0.0 for c in range(3)] for o in range(12)]
    vertical = MaskedConv2d(3, 6, 3, "B", stack="vertical", image_channels=3)  # rows above: no colour order
    assert vertical.mask[:, :, 1, 1].eq(1).all()


def test_gradcheck_float64():
    conv = MaskedConv2d(2, 2, 3, "B").double()
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,))


@pytest.mark.parametrize("call,error,match", [
    (lambda: causal_mask(4, "A"), ValueError, "kernel_size must be odd.*got 4"),
    (lambda: causal_mask(0, "B"), ValueError, "kernel_size must be >= 1, got 0"),
    (lambda: causal_mask(3.0, "B"), TypeError, "kernel_size must be an int"),
    (lambda: causal_mask(3, "C"), ValueError, r"mask_type must be one of \('A', 'B'\), got 'C'"),
    (lambda: vertical_mask(3, "a"), ValueError, "mask_type must be one of"),
    (lambda: MaskedConv2d(1, 2, 3, "A", stack="diagonal"), ValueError, "stack must be one of"),
    (lambda: MaskedConv2d(3, 4, 3, "A", image_channels=3), ValueError, "out_channels must be divisible by .* 3"),
    (lambda: MaskedConv2d(2, 6, 3, "A", image_channels=3), ValueError,
     r"in_channels must be divisible by image_channels = 3 \(.*got 2"),
    (lambda: MaskedConv2d(3, 9, 3, "A", image_channels=3, chunks=2), ValueError, "out_channels .* = 6.*got 9"),
    (lambda: channel_groups(9, 3, 2), ValueError, "num_channels must be divisible by .* = 6"),
    (lambda: channel_groups(0, 1), ValueError, "num_channels must be >= 1"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
