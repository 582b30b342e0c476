"""Tests for cnnlib.ops.conv_backward: conv2d_backward, Conv2dFunction, conv2d_manual.

Reference: autograd through ``torch.nn.functional.conv2d`` (float64), ``torch.autograd.gradcheck``
(finite differences) through ``conv2d_manual``, and seed 003's ``g`` and ``h`` formulas written
out as plain loops in this file.
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import Conv2dFunction, conv2d_backward, conv2d_manual

# stride, padding, dilation, kernel: odd/even/non-square kernels, stride larger than the kernel
CASES = [
    (1, 0, 1, (3, 3)), (2, 1, 1, (3, 3)), (3, 2, 2, (3, 2)), ((2, 1), (0, 1), (1, 2), (2, 4)),
    (3, 0, 1, (2, 2)), (1, 2, 2, (4, 4)), (2, (1, 0), 1, (1, 1)),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_hand_backward_matches_autograd(case, seed):
    stride, padding, dilation, k = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 10, 9, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(4, 3, *k, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    out = F.conv2d(x, w, b, stride, padding, dilation)
    dout = torch.randn(out.shape, dtype=torch.float64, generator=gen)
    out.backward(dout)
    dx, dw, db = conv2d_backward(dout, x.detach(), w.detach(), stride, padding, dilation)
    for name, mine, ref in (("dx", dx, x.grad), ("dw", dw, w.grad), ("db", db, b.grad)):
        assert mine.shape == ref.shape
        assert (mine - ref).abs().max().item() <= 1e-10, name


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, (1, 2)), ((1, 3), (2, 1), 2)])
def test_gradcheck_through_conv2d_manual(stride, padding, dilation):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 6, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(2, 2, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k, c: conv2d_manual(a, k, c, stride, padding, dilation), (x, w, b))
    assert torch.autograd.gradcheck(lambda a, k: conv2d_manual(a, k, None, stride, padding, dilation), (x, w))


def test_manual_forward_equals_f_conv2d_and_trains_like_it():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64, generator=gen)
    w = torch.randn(4, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    w_ref = w.detach().clone().requires_grad_()
    out = conv2d_manual(x, w, None, 2, 1)
    ref = F.conv2d(x, w_ref, None, 2, 1)
    assert (out - ref).abs().max().item() <= 1e-12
    out.square().mean().backward()
    ref.square().mean().backward()
    assert (w.grad - w_ref.grad).abs().max().item() <= 1e-12
    assert Conv2dFunction.apply(x, w.detach(), None, (2, 2), (1, 1), (1, 1)).shape == ref.shape


def test_seed_003_g_formula_by_loops():
    """g(G, V, s)[i,j,k,l] = sum_{m,n} G[i,m,n] V[j, m*s + k, n*s + l] (0-based, one image)."""
    gen = torch.Generator().manual_seed(5)
    s = 2
    V = torch.randn(1, 2, 7, 7, dtype=torch.float64, generator=gen)
    K = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen)
    G = torch.randn(1, 3, 3, 3, dtype=torch.float64, generator=gen)
    g = torch.zeros_like(K)
    for i, j, k, l in itertools.product(range(3), range(2), range(3), range(3)):
        g[i, j, k, l] = sum(G[0, i, m, n] * V[0, j, m * s + k, n * s + l] for m in range(3) for n in range(3))
    _, dw, _ = conv2d_backward(G, V, K, stride=s)
    assert (dw - g).abs().max().item() <= 1e-12


def test_seed_003_h_formula_by_loops():
    """h(K, G, s)[i,j,k] = sum over l,m with l*s + m = j, n,p with n*s + p = k, and q of K[q,i,m,p] G[q,l,n]."""
    gen = torch.Generator().manual_seed(6)
    s, f = 2, 3
    V = torch.randn(1, 2, 8, 7, dtype=torch.float64, generator=gen)
    K = torch.randn(3, 2, f, f, dtype=torch.float64, generator=gen)
    G = torch.randn(1, 3, 3, 3, dtype=torch.float64, generator=gen)  # output of an 8x7 input: 3x3
    h = torch.zeros_like(V)
    for i, j, k in itertools.product(range(2), range(8), range(7)):
        h[0, i, j, k] = sum(K[q, i, m, p] * G[0, q, l, n]
                            for l, m in itertools.product(range(3), range(f)) if l * s + m == j
                            for n, p in itertools.product(range(3), range(f)) if n * s + p == k
                            for q in range(3))
    dx, _, _ = conv2d_backward(G, V, K, stride=s)
    assert (dx - h).abs().max().item() <= 1e-12


def test_empty_batch_gives_zero_weight_gradient():
    x = torch.randn(0, 3, 6, 6, dtype=torch.float64)
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    dx, dw, db = conv2d_backward(torch.randn(0, 2, 6, 6, dtype=torch.float64), x, w, padding=1)
    assert dx.shape == (0, 3, 6, 6)
    assert torch.equal(dw, torch.zeros_like(w)) and torch.equal(db, torch.zeros(2, dtype=torch.float64))


def test_errors_name_the_argument():
    x, w = torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3)
    message = r"dout must have the forward output's shape \(N=1, C_out=3, H_out\*W_out=16\), got \(1, 3, 5, 5\)"
    with pytest.raises(ValueError, match=message):
        conv2d_backward(torch.randn(1, 3, 5, 5), x, w)
    message = r"weight must have shape \(C_out, 2, kH, kW\) for x with 2 channels, got \(3, 1, 3, 3\)"
    with pytest.raises(ValueError, match=message):
        conv2d_backward(torch.randn(1, 3, 4, 4), x, torch.randn(3, 1, 3, 3))
    with pytest.raises(TypeError, match="dout must have the dtype of x"):
        conv2d_backward(torch.randn(1, 3, 4, 4, dtype=torch.float64), x, w)
    with pytest.raises(ValueError, match=r"dout must have shape \(N, C_out, H_out, W_out\)"):
        conv2d_backward(torch.randn(3, 4, 4), x, w)
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(3,\), got \(2,\)"):
        conv2d_manual(x, w, torch.randn(2))
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        conv2d_manual(x, w, stride=0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_backward_and_gradcheck():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 10, 9, dtype=torch.float64, generator=gen).cuda().requires_grad_()
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, generator=gen).cuda().requires_grad_()
    out = F.conv2d(x, w, None, 2, 1, (1, 2))
    dout = torch.randn_like(out)
    out.backward(dout)
    dx, dw, _ = conv2d_backward(dout, x.detach(), w.detach(), 2, 1, (1, 2))
    assert dx.device.type == "cuda"
    assert (dx - x.grad).abs().max().item() <= 1e-10 and (dw - w.grad).abs().max().item() <= 1e-10
    xs, ws = x.detach()[:1, :2, :6, :6].clone().requires_grad_(), w.detach()[:2, :2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, k: conv2d_manual(a, k, stride=2, padding=1), (xs, ws))
