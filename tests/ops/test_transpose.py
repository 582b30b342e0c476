"""Tests for cnnlib.ops.transpose: transposed convolution three ways and its overlap.

Reference: ``torch.nn.functional.conv_transpose2d`` (values and output shapes, float64 to 1e-10),
the adjoint identity ``<F.conv2d(y, w), x> == <y, conv_transpose2d(x, w)>``, ``conv_output_size``
(the inverse size rule), ``torch.autograd.gradcheck``, and hand-computed cases (nearest-neighbour blocks, a 1-D kernel
painted twice).
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import (
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_as_gradient,
    conv_transpose2d_zero_insertion,
    conv_transpose_output_size,
    transpose_overlap,
)

IMPLS = [conv_transpose2d, conv_transpose2d_zero_insertion, conv_transpose2d_as_gradient]
IDS = ["col2im", "zero_insertion", "as_gradient"]

# kernel, stride, padding, output_padding, dilation, groups: odd/even/non-square kernels, stride
# larger than the kernel, padding beyond d*(k-1) (zero insertion crops), output_padding >= stride
# (allowed by a larger dilation)
CASES = [
    ((3, 3), 1, 0, 0, 1, 1), ((3, 3), 2, 1, 1, 1, 1), ((4, 4), 2, 1, 0, 1, 2),
    ((2, 3), (3, 1), (0, 1), (2, 0), 1, 1),
    ((3, 2), 2, (1, 2), 0, (2, 3), 2), ((2, 2), 1, 2, 0, 1, 1), ((1, 1), 3, 0, 2, 1, 4),
    ((3, 3), 1, 1, 2, 3, 1), ((5, 3), (2, 3), 2, (1, 2), (1, 2), 2),
]


def random_inputs(case, seed, dtype=torch.float64, batch=2):
    k, _, _, _, _, groups = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 4, 5, 6, dtype=dtype, generator=gen)
    w = torch.randn(4, 2, *k, dtype=dtype, generator=gen)  # (C_in, C_out/groups, kH, kW)
    b = torch.randn(2 * groups, dtype=dtype, generator=gen)
    return x, w, b


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_f_conv_transpose2d_float64(case, seed, impl):
    x, w, b = random_inputs(case, seed, batch=1 + seed)
    _, s, p, op, d, groups = case
    ref = F.conv_transpose2d(x, w, b, s, p, op, groups, d)
    out = impl(x, w, b, s, p, op, groups, d)
    assert out.shape == ref.shape and out.dtype == torch.float64
    assert (out - ref).abs().max().item() <= 1e-10
    assert (impl(x, w, None, s, p, op, groups, d) - (ref - b.view(1, -1, 1, 1))).abs().max().item() <= 1e-10


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_f_conv_transpose2d_float32(impl, seed):
    for case in CASES[::2]:
        x, w, b = random_inputs(case, seed, torch.float32)
        _, s, p, op, d, groups = case
        out = impl(x, w, b, s, p, op, groups, d)
        assert out.dtype == torch.float32
        ref = F.conv_transpose2d(x, w, b, s, p, op, groups, d)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_the_three_agree_with_each_other():
    for seed, case in enumerate(CASES):
        x, w, b = random_inputs(case, seed)
        a, z, g = (impl(x, w, b, *case[1:4], case[5], case[4]) for impl in IMPLS)
        assert (a - z).abs().max().item() <= 1e-10 and (a - g).abs().max().item() <= 1e-10, case


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_adjoint_of_f_conv2d(impl):
    """<conv(y), x> == <y, conv^T(x)> for y of the transposed output's shape."""
    gen = torch.Generator().manual_seed(4)
    for _, s, p, op, d, groups in CASES:
        x = torch.randn(2, 4, 5, 6, dtype=torch.float64, generator=gen)
        w = torch.randn(4, 2, 3, 2, dtype=torch.float64, generator=gen)
        out = impl(x, w, None, s, p, op, groups, d)
        y = torch.randn(out.shape, dtype=torch.float64, generator=gen)
        conv = F.conv2d(y, w, None, s, p, d, groups)[:, :, :5, :6]  # rows past x's come from output_padding
        assert abs((conv * x).sum().item() - (y * out).sum().item()) <= 1e-9


def test_hand_cases():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    blocks = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # nearest-neighbour 2x upsampling
    w = torch.tensor([[[[1.0, 10.0, 100.0]]]])
    for impl in IMPLS:
        assert torch.equal(impl(x, torch.ones(1, 1, 2, 2), stride=2), blocks)
        assert impl(x[:, :, :1], w, stride=2)[0, 0].tolist() == [[1, 10, 102, 20, 200]]  # overlap at 2
        assert impl(x[:, :, :1], w, stride=2, padding=(0, 1))[0, 0].tolist() == [[10, 102, 20]]  # cropped


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
@pytest.mark.parametrize("case", [CASES[1], CASES[4], CASES[7]], ids=str)
def test_gradcheck(impl, case):
    _, s, p, op, d, groups = case
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(4, 1, *case[0], dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(groups, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k, c: impl(a, k, c, s, p, op, groups, d), (x, w, b))


def test_as_gradient_is_twice_differentiable_and_leaves_no_graph_when_none_is_needed():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a, k: conv_transpose2d_as_gradient(a, k, stride=2), (x, w))
    assert not conv_transpose2d_as_gradient(x.detach(), w.detach()).requires_grad
    with torch.no_grad():
        assert not conv_transpose2d_as_gradient(x, w).requires_grad


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_empty_batch(impl):
    out = impl(torch.randn(0, 2, 3, 4), torch.randn(2, 3, 3, 3), stride=2)
    assert out.shape == (0, 3, 7, 9)


def test_output_size_matches_f_conv_transpose2d_over_a_grid():
    x1 = torch.zeros(1, 1, 1, 1)
    for n, f, s, p, d in itertools.product((1, 2, 5), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2)):
        for op in range(max(s, d)):
            x = x1.expand(1, 1, n, 1)
            try:  # the rule along H; W stays 1
                expected = F.conv_transpose2d(x, torch.zeros(1, 1, f, 1), None, (s, 1), (p, 0), (op, 0), 1,
                                              (d, 1)).shape[2]
            except RuntimeError:  # PyTorch: output too small
                with pytest.raises(ValueError, match="removes the whole output"):
                    conv_transpose_output_size(n, f, s, p, op, d)
                continue
            assert conv_transpose_output_size(n, f, s, p, op, d) == expected, (n, f, s, p, op, d)


def test_output_size_inverts_conv_output_size():
    """The s sizes a convolution maps to n are exactly the transposed sizes over output_padding < s."""
    for n, f, s, p, d in itertools.product((1, 2, 5), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2)):
        transposed = {conv_transpose_output_size(n, f, s, p, op, d) for op in range(s)
                      if (n - 1) * s - 2 * p + d * (f - 1) + op + 1 >= 1}
        preimage = {m for m in range(1, 30) if m + 2 * p >= d * (f - 1) + 1
                    and conv_output_size(m, f, p, s, d) == n}
        assert transposed == preimage, (n, f, s, p, d)


def test_output_size_errors():
    message = "output_padding must be smaller than the stride s=2 or the dilation d=1, got output_padding=2"
    with pytest.raises(ValueError, match=message):
        conv_transpose_output_size(4, 3, s=2, output_padding=2)
    with pytest.raises(ValueError, match="padding p=3 removes the whole output"):
        conv_transpose_output_size(2, 3, p=3)
    with pytest.raises(TypeError, match="n must be an int"):
        conv_transpose_output_size(2.0, 3)
    with pytest.raises(ValueError, match="output_padding must be >= 0, got -1"):
        conv_transpose_output_size(4, 3, output_padding=-1)


@pytest.mark.parametrize("impl", IMPLS, ids=IDS)
def test_errors_name_the_argument(impl):
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"C_in = x's 3 channels divisible by groups=1, got \(4, 2, 3, 3\)"):
        impl(x[:, :3], w)
    with pytest.raises(ValueError, match=r"divisible by groups=3, got \(4, 2, 3, 3\)"):
        impl(x, w, groups=3)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C_in, H, W\) \(4 dims\), got shape \(4,"):
        impl(x[0], w)
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(4,\), got \(2,\)"):
        impl(x, w, torch.zeros(2), groups=2)
    with pytest.raises(TypeError, match="weight must have the dtype of x"):
        impl(x, w.double())
    with pytest.raises(ValueError, match="output_padding must be smaller than the stride s=1"):
        impl(x, w, output_padding=1)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints, got 1.5"):
        impl(x, w, stride=1.5)
    with pytest.raises(ValueError, match="removes the whole output"):
        impl(x, w, padding=4)


def test_transpose_overlap_matches_f_conv_transpose2d_with_ones():
    for n, k, s in itertools.product((1, 3, (2, 4)), (1, 2, 3, (3, 4)), (1, 2, 3, (2, 3))):
        H, W = (n, n) if isinstance(n, int) else n
        kH, kW = (k, k) if isinstance(k, int) else k
        ref = F.conv_transpose2d(torch.ones(1, 1, H, W), torch.ones(1, 1, kH, kW), stride=s)[0, 0]
        counts = transpose_overlap(n, k, s)
        assert counts.dtype == torch.int64 and torch.equal(counts, ref.long()), (n, k, s)


def test_transpose_overlap_is_even_inside_only_when_the_stride_divides_the_kernel():
    for k, s in itertools.product((2, 3, 4, 5, 6), (2, 3)):
        counts = transpose_overlap(6, k, s)
        row = transpose_overlap((1, 6), (1, k), (1, s))[0]  # the 1-D pattern
        assert torch.equal(counts, row[:, None] * row[None, :])  # 2-D = outer product: a checkerboard
        inside = row[k:-k]  # away from the borders every pixel is covered by a full set of windows
        assert (inside.unique().numel() == 1) == (k % s == 0), (k, s)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_reference():
    for seed, case in enumerate(CASES):
        x, w, b = random_inputs(case, seed)
        _, s, p, op, d, groups = case
        ref = F.conv_transpose2d(x, w, b, s, p, op, groups, d)  # on the CPU
        for impl in IMPLS:
            out = impl(x.cuda(), w.cuda(), b.cuda(), s, p, op, groups, d)
            assert out.device.type == "cuda"
            assert (out.cpu() - ref).abs().max().item() <= 1e-10, (impl.__name__, case)
    assert transpose_overlap(3, 3, 2).device.type == "cpu"
