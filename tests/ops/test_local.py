"""Tests for cnnlib.ops.local: locally_connected2d and tiled_conv2d.

Reference: seed 003's unshared and tiled convolution formulas written as loops over output
positions in this file, and ``torch.nn.functional.conv2d`` (tiled convolution with t = 1).
"""

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import locally_connected2d, tiled_conv2d


def local_loop(x, w, b, s):
    """Z[:, i, j, k] = sum_{l,m,n} V[:, l, j*s + m, k*s + n] w[j, k, i, l, m, n] (+ b[i, j, k])."""
    Ho, Wo, Co, _, kH, kW = w.shape
    out = torch.zeros(x.shape[0], Co, Ho, Wo, dtype=x.dtype)
    for j in range(Ho):
        for k in range(Wo):
            patch = x[:, :, j * s[0]:j * s[0] + kH, k * s[1]:k * s[1] + kW]
            for i in range(Co):
                out[:, i, j, k] = (patch * w[j, k, i]).sum(dim=(1, 2, 3)) + (0 if b is None else b[i, j, k])
    return out


def tiled_loop(x, K, b, s):
    """Seed 003: output position (j, k) uses kernel stack K[j % t_h, k % t_w]."""
    t_h, t_w, Co, _, kH, kW = K.shape
    Ho, Wo = (x.shape[2] - kH) // s + 1, (x.shape[3] - kW) // s + 1
    out = torch.zeros(x.shape[0], Co, Ho, Wo, dtype=x.dtype)
    for j in range(Ho):
        for k in range(Wo):
            patch = x[:, :, j * s:j * s + kH, k * s:k * s + kW]  # (N, C_in, kH, kW)
            out[:, :, j, k] = torch.einsum("nlmk,olmk->no", patch, K[j % t_h, k % t_w]) + b
    return out


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride", [1, 2, (2, 1), (1, 3)])
def test_locally_connected_matches_a_loop(stride, bias):
    s = (stride, stride) if isinstance(stride, int) else stride
    gen = torch.Generator().manual_seed(s[0] * 10 + s[1])
    x = torch.randn(2, 3, 8, 7, dtype=torch.float64, generator=gen)
    Ho, Wo = (8 - 3) // s[0] + 1, (7 - 2) // s[1] + 1
    w = torch.randn(Ho, Wo, 4, 3, 3, 2, dtype=torch.float64, generator=gen)
    b = torch.randn(4, Ho, Wo, dtype=torch.float64, generator=gen) if bias else None
    out = locally_connected2d(x, w, b, stride)
    assert (out - local_loop(x, w, b, s)).abs().max().item() <= 1e-12


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_tiled_with_t_1_is_ordinary_convolution(stride):
    gen = torch.Generator().manual_seed(stride)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen)
    k = torch.randn(4, 3, 3, 2, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    out = tiled_conv2d(x, k.view(1, 1, 4, 3, 3, 2), b, stride)
    assert (out - F.conv2d(x, k, b, stride)).abs().max().item() <= 1e-12


@pytest.mark.parametrize("stride", [1, 2])
def test_tiled_with_t_equal_to_the_output_size_is_locally_connected(stride):
    gen = torch.Generator().manual_seed(stride)
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64, generator=gen)
    n_out = (7 - 3) // stride + 1
    w = torch.randn(n_out, n_out, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    local_b = b.view(4, 1, 1).expand(4, n_out, n_out)
    assert (tiled_conv2d(x, w, b, stride) - locally_connected2d(x, w, local_b, stride)).abs().max().item() <= 1e-12


@pytest.mark.parametrize("tiles", [(2, 2), (2, 3), (3, 1)])
def test_tiled_matches_a_loop(tiles):
    gen = torch.Generator().manual_seed(sum(tiles))
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen)
    K = torch.randn(*tiles, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    for s in (1, 2):
        assert (tiled_conv2d(x, K, b, s) - tiled_loop(x, K, b, s)).abs().max().item() <= 1e-12


def test_empty_batch():
    x = torch.randn(0, 2, 5, 5)
    assert locally_connected2d(x, torch.randn(3, 3, 4, 2, 3, 3)).shape == (0, 4, 3, 3)
    assert tiled_conv2d(x, torch.randn(2, 2, 4, 2, 3, 3), torch.randn(4)).shape == (0, 4, 3, 3)


def test_errors_name_the_argument():
    x = torch.randn(1, 3, 7, 7)
    message = (r"weight must have shape \(5, 5, C_out, 3, 3, 3\) for x of shape \(1, 3, 7, 7\) "
               r"and stride \(1, 1\), got \(4, 4, 2, 3, 3, 3\)")
    with pytest.raises(ValueError, match=message):
        locally_connected2d(x, torch.randn(4, 4, 2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"weight must have shape \(5, 5, C_out, 3, 3, 3\)"):
        locally_connected2d(x, torch.randn(5, 5, 2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(2, 5, 5\), got \(2,\)"):
        locally_connected2d(x, torch.randn(5, 5, 2, 3, 3, 3), torch.randn(2))
    with pytest.raises(ValueError, match=r"weight must have shape \(t_h, t_w, C_out, C_in, kH, kW\) \(6 dims\)"):
        tiled_conv2d(x, torch.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(2,\), got \(2, 5, 5\)"):
        tiled_conv2d(x, torch.randn(1, 1, 2, 3, 3, 3), torch.randn(2, 5, 5))
    with pytest.raises(TypeError, match=r"weight must have the dtype of x \(torch.float32\), got torch.float64"):
        locally_connected2d(x, torch.randn(5, 5, 2, 3, 3, 3, dtype=torch.float64))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_local_and_tiled():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64, generator=gen)
    w = torch.randn(5, 5, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    t = torch.randn(2, 2, 4, 3, 3, 3, dtype=torch.float64, generator=gen)
    b = torch.randn(4, dtype=torch.float64, generator=gen)
    out = locally_connected2d(x.cuda(), w.cuda())
    assert out.device.type == "cuda" and torch.allclose(out.cpu(), local_loop(x, w, None, (1, 1)))
    assert torch.allclose(tiled_conv2d(x.cuda(), t.cuda(), b.cuda()).cpu(), tiled_loop(x, t, b, 1))
