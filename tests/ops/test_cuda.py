"""CUDA runs of cnnlib.ops: every op computes on the device of its inputs and matches the CPU.

Reference: the same op on the CPU in float64 (itself tested against PyTorch's kernels), and
``torch.nn.functional`` on the GPU. Skipped without CUDA (conftest.py).
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import (
    conv2d_backward, conv2d_manual, locally_connected2d, pad2d, pool2d, pool2d_backward, tiled_conv2d,
)

pytestmark = pytest.mark.gpu


def pair(*shape, seed=0):
    t = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return t, t.cuda()


def test_padding_pooling_and_backward_on_cuda():
    x, xc = pair(2, 3, 9, 8)
    for mode in ("zeros", "reflect", "replicate", "circular"):
        out = pad2d(xc, 2, mode)
        assert out.device.type == "cuda" and torch.equal(out.cpu(), pad2d(x, 2, mode))
    for mode in ("max", "avg", "l2"):
        assert torch.allclose(pool2d(xc, 3, 2, mode=mode).cpu(), pool2d(x, 3, 2, mode=mode))
        d, dc = pair(2, 3, 4, 3, seed=1)
        assert torch.allclose(pool2d_backward(dc, xc, 3, 2, mode).cpu(), pool2d_backward(d, x, 3, 2, mode))
    assert torch.equal(pool2d(xc, 2), F.max_pool2d(xc, 2))


def test_conv_backward_and_gradcheck_on_cuda():
    x, xc = pair(2, 3, 10, 9)
    w, wc = pair(4, 3, 3, 3, seed=1)
    d, dc = pair(2, 4, 5, 5, seed=2)
    for mine, ref in zip(conv2d_backward(dc, xc, wc, 2, 1), conv2d_backward(d, x, w, 2, 1)):
        assert mine.device.type == "cuda" and torch.allclose(mine.cpu(), ref)
    xg, wg = xc[:1, :2, :6, :6].clone().requires_grad_(), wc[:2, :2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: conv2d_manual(a, b, stride=2, padding=1), (xg, wg))


def test_local_and_tiled_on_cuda():
    x, xc = pair(2, 3, 7, 7)
    w, wc = pair(5, 5, 4, 3, 3, 3, seed=1)
    t, tc = pair(2, 2, 4, 3, 3, 3, seed=2)
    assert torch.allclose(locally_connected2d(xc, wc).cpu(), locally_connected2d(x, w))
    assert torch.allclose(tiled_conv2d(xc, tc).cpu(), tiled_conv2d(x, t))
