"""Tests for cnnlib.ops.conv_backward and cnnlib.ops.pool.

Reference: autograd through ``torch.nn.functional.conv2d`` and through
``F.max_pool2d``/``F.avg_pool2d``/``F.lp_pool2d`` (float64), ``torch.autograd.gradcheck``, and
seed 003's worked pooling example computed by hand.
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import conv2d_backward, conv2d_manual, global_avg_pool2d, pool2d, pool2d_backward


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (3, 2, 2), ((2, 1), (0, 1), (1, 2))])
@pytest.mark.parametrize("seed", [0, 1])
def test_hand_backward_matches_autograd(stride, padding, dilation, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 10, 9, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    out = F.conv2d(x, w, b, stride, padding, dilation)
    dout = torch.randn(out.shape, dtype=torch.float64, generator=gen)
    out.backward(dout)
    dx, dw, db = conv2d_backward(dout, x.detach(), w.detach(), stride, padding, dilation)
    for mine, ref in ((dx, x.grad), (dw, w.grad), (db, b.grad)):
        assert (mine - ref).abs().max().item() <= 1e-10


def test_gradcheck_through_the_manual_function():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 7, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, k, c: conv2d_manual(a, k, c, 2, 1, (1, 2)), (x, w, b))
    assert torch.autograd.gradcheck(lambda a, k: conv2d_manual(a, k), (x, w))


def test_seed_003_g_formula_by_loops():
    """dJ/dK[i,j,k,l] = sum_mn G[i,m,n] V[j, m*s + k, n*s + l], written as loops."""
    gen = torch.Generator().manual_seed(5)
    s = 2
    V = torch.randn(1, 2, 7, 7, dtype=torch.float64, generator=gen)
    K = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen)
    G = torch.randn(1, 3, 3, 3, dtype=torch.float64, generator=gen)
    g = torch.zeros_like(K)
    for i in range(3):
        for j in range(2):
            for k in range(3):
                for l in range(3):
                    g[i, j, k, l] = sum(G[0, i, m, n] * V[0, j, m * s + k, n * s + l] for m in range(3) for n in range(3))
    _, dw, _ = conv2d_backward(G, V, K, stride=s)
    assert torch.allclose(dw, g, atol=1e-12)


def test_backward_rejects_wrong_dout_shape():
    x, w = torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="dout must have the forward output's shape"):
        conv2d_backward(torch.randn(1, 3, 5, 5), x, w)


def test_pool_hand_example_from_seed_003():
    x = torch.tensor([[12., 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]).view(1, 1, 4, 4)
    assert pool2d(x, 2, 2, mode="max")[0, 0].tolist() == [[20, 30], [112, 37]]
    assert pool2d(x, 2, 2, mode="avg")[0, 0].tolist() == [[13, 8], [79, 19.5]]  # the slide rounds 19.5 to 20


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))])
def test_pool_forward_matches_pytorch(k, s, p):
    x = torch.randn(2, 3, 9, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(pool2d(x, k, s, p, "max"), F.max_pool2d(x, k, s, p))
    assert torch.allclose(pool2d(x, k, s, p, "avg"), F.avg_pool2d(x, k, s, p, count_include_pad=True))
    if p == 0:
        assert torch.allclose(pool2d(x, k, s, 0, "l2"), F.lp_pool2d(x, 2, k, s))


@pytest.mark.parametrize("mode", ["max", "avg", "l2"])
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1)])
def test_pool_backward_matches_autograd(mode, k, s):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, 9, 8, dtype=torch.float64, generator=gen, requires_grad=True)
    ref = {"max": lambda t: F.max_pool2d(t, k, s), "avg": lambda t: F.avg_pool2d(t, k, s),
           "l2": lambda t: F.lp_pool2d(t, 2, k, s)}[mode]
    out = ref(x)
    dout = torch.randn(out.shape, dtype=torch.float64, generator=gen)
    out.backward(dout)
    assert torch.allclose(pool2d_backward(dout, x.detach(), k, s, mode), x.grad, atol=1e-10)


def test_max_pool_backward_routes_to_one_position_per_window():
    x = torch.tensor([[[[1., 3.], [2., 0.]]]])
    assert pool2d_backward(torch.full((1, 1, 1, 1), 5.0), x, 2).tolist() == [[[[0, 5], [0, 0]]]]


def test_global_average_pool_and_errors():
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    assert torch.allclose(global_avg_pool2d(x), F.adaptive_avg_pool2d(x, 1).flatten(1))
    with pytest.raises(ValueError, match="mode must be one of"):
        pool2d(x, 2, mode="median")
    with pytest.raises(ValueError, match="at most half the kernel size"):
        pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        pool2d_backward(torch.randn(2, 3, 1, 1), x, 2)
