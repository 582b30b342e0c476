"""Tests for cnnlib.ops.pool: pool2d, pool2d_backward, global_avg_pool2d.

Reference: ``F.max_pool2d``, ``F.avg_pool2d(count_include_pad=True)``, ``F.lp_pool2d(norm_type=2)``
(on a zero-padded input when padded) and ``F.adaptive_avg_pool2d``; autograd through them
(float64); seed 003's two worked pooling examples computed by hand.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import POOL_MODES, global_avg_pool2d, pool2d, pool2d_backward


def reference(mode, x, k, s, p=0):
    if mode == "max":
        return F.max_pool2d(x, k, s, p)
    if mode == "avg":
        return F.avg_pool2d(x, k, s, p, count_include_pad=True)
    ph, pw = (p, p) if isinstance(p, int) else p  # F.lp_pool2d has no padding: pad with zeros first
    return F.lp_pool2d(F.pad(x, (pw, pw, ph, ph)), 2, k, s)


def test_seed_003_max_and_average_pooling():
    x = torch.tensor([[12.0, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]).view(1, 1, 4, 4)
    assert pool2d(x, 2, 2, mode="max")[0, 0].tolist() == [[20, 30], [112, 37]]
    assert pool2d(x, 2, 2, mode="avg")[0, 0].tolist() == [[13, 8], [79, 19.5]]  # the slide rounds 19.5 to 20


def test_seed_003_three_by_three_max_pooling_with_unit_stride():
    x = torch.tensor([[3.0, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]])
    assert pool2d(x.view(1, 1, 5, 5), 3, 1)[0, 0].tolist() == [[3, 3, 3], [3, 3, 3], [3, 2, 3]]


def test_max_pooling_ignores_a_shift_inside_the_window():
    """Seed 003: max pooling is approximately invariant to small translations."""
    a, b = torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    a[0, 0, 0, 0] = b[0, 0, 1, 1] = 1.0  # the same feature, moved by one pixel diagonally
    assert torch.equal(pool2d(a, 2), pool2d(b, 2))
    assert not torch.equal(a, b)


KSP = [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1)), (2, 3, 0), (4, 2, 2)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("k,s,p", KSP)
def test_forward_matches_pytorch(k, s, p, mode, dtype):
    for seed in (0, 1):
        x = torch.randn(2, 3, 9, 10, dtype=dtype, generator=torch.Generator().manual_seed(seed))
        out, ref = pool2d(x, k, s, p, mode), reference(mode, x, k, s, p)
        assert out.shape == ref.shape and out.dtype == dtype
        assert (out - ref).abs().max().item() <= (1e-12 if dtype == torch.float64 else 1e-5)


@pytest.mark.parametrize("mode", POOL_MODES)
@pytest.mark.parametrize("k,s,p", KSP)
def test_backward_matches_autograd(k, s, p, mode):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, 9, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    out = reference(mode, x, k, s, p)
    dout = torch.randn(out.shape, dtype=torch.float64, generator=gen)
    out.backward(dout)
    dx = pool2d_backward(dout, x.detach(), k, s, mode, padding=p)
    assert (dx - x.grad).abs().max().item() <= 1e-10


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (2, 1)])
def test_max_backward_on_ties_matches_pytorch(k, s):
    """Integer-valued inputs have many ties: the gradient goes to the first maximum of each window."""
    x = torch.randint(0, 3, (2, 2, 7, 6), generator=torch.Generator().manual_seed(2)).double().requires_grad_()
    out = F.max_pool2d(x, k, s)
    out.backward(torch.ones_like(out))
    assert torch.equal(pool2d_backward(torch.ones_like(out), x.detach(), k, s, "max"), x.grad)


def test_max_backward_routes_to_one_position_per_window():
    x = torch.tensor([[[[1.0, 3.0], [2.0, 0.0]]]])
    assert pool2d_backward(torch.full((1, 1, 1, 1), 5.0), x, 2).tolist() == [[[[0, 5], [0, 0]]]]


def test_global_average_pool():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(global_avg_pool2d(x), F.adaptive_avg_pool2d(x, 1).flatten(1), atol=1e-14)
    assert global_avg_pool2d(torch.ones(1, 2, 7, 3)).tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("mode", POOL_MODES)
def test_empty_batch(mode):
    x = torch.randn(0, 3, 6, 6)
    assert pool2d(x, 2, mode=mode).shape == (0, 3, 3, 3)
    assert pool2d_backward(torch.randn(0, 3, 3, 3), x, 2, mode=mode).shape == (0, 3, 6, 6)
    assert global_avg_pool2d(x).shape == (0, 3)


def test_errors_name_the_argument():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"mode must be one of \('max', 'avg', 'l2'\), got 'median'"):
        pool2d(x, 2, mode="median")
    with pytest.raises(ValueError, match=r"padding must be at most half the kernel size \(2, 2\), got \(2, 2\)"):
        pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"kernel_size \(6, 6\) is larger than the padded input \(5, 4\)"):
        pool2d(x, 6)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 2, 2\), got \(2, 3, 1, 1\)"):
        pool2d_backward(torch.randn(2, 3, 1, 1, dtype=torch.float64), x, 2)
    with pytest.raises(TypeError, match=r"dout must have the dtype of x \(torch.float64\), got torch.float32"):
        pool2d_backward(torch.randn(2, 3, 2, 2), x, 2)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints"):
        pool2d(x, 2, stride="2")
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        global_avg_pool2d(x[0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", POOL_MODES)
def test_cuda_forward_and_backward(mode):
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).cuda().requires_grad_()
    out = reference(mode, x, 3, 2)
    dout = torch.randn_like(out)
    out.backward(dout)
    mine = pool2d(x.detach(), 3, 2, mode=mode)
    assert mine.device.type == "cuda" and torch.allclose(mine, out.detach(), atol=1e-12)
    assert torch.allclose(pool2d_backward(dout, x.detach(), 3, 2, mode), x.grad, atol=1e-10)
