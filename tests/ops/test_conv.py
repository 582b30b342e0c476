"""Tests for cnnlib.ops.conv.

Reference: ``torch.nn.functional.conv2d`` on an input padded by ``torch.nn.functional.pad``
(its own padding modes), ``F.unfold``/``F.fold``, and ``scipy.signal.convolve2d/correlate2d``;
plus hand-computed cases from the lecture notes.
"""

import itertools

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F

from cnnlib.ops import (
    col2im, conv1d, conv2d, conv2d_fft, conv2d_im2col, conv2d_naive, convolve2d, correlate2d, im2col,
)

METHODS = {"naive": conv2d_naive, "im2col": conv2d_im2col, "fft": conv2d_fft}
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def reference(x, w, b, stride, padding, dilation, groups, mode):
    ph, pw = padding
    xp = F.pad(x, (pw, pw, ph, ph), mode=TORCH_MODE[mode])
    return F.conv2d(xp, w, b, stride, 0, dilation, groups)


CASES = [  # (stride, dilation, kernel (kH, kW), padding, groups)
    (s, d, k, p, g)
    for s, d, (k, p), g in itertools.product(
        (1, 2, 3), (1, 2), (((3, 3), (1, 1)), ((2, 4), (1, 2)), ((5, 5), (2, 2))), (1, 2)
    )
]


@pytest.mark.parametrize("mode", list(TORCH_MODE))
@pytest.mark.parametrize("method", list(METHODS))
def test_every_path_matches_f_conv2d_float64(method, mode):
    for i, (s, d, k, p, g) in enumerate(CASES):
        gen = torch.Generator().manual_seed(i)
        x = torch.randn(2, 4, 11, 10, dtype=torch.float64, generator=gen)
        w = torch.randn(6, 4 // g, *k, dtype=torch.float64, generator=gen)
        b = torch.randn(6, dtype=torch.float64, generator=gen)
        out = METHODS[method](x, w, b, s, p, d, g, mode)
        ref = reference(x, w, b, (s, s), p, (d, d), g, mode)
        assert out.shape == ref.shape, (s, d, k, p, g)
        err = (out - ref).abs().max().item()
        assert err <= 1e-10, f"{method}/{mode} s={s} d={d} k={k} g={g}: max error {err}"


@pytest.mark.parametrize("method", list(METHODS) + ["torch"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_within_1e_4_and_dispatcher(method, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 3, 16, 13, generator=gen)
    w = torch.randn(5, 3, 4, 3, generator=gen)
    b = torch.randn(5, generator=gen)
    out = conv2d(x, w, b, stride=(2, 1), padding=(2, 1), dilation=(1, 2), padding_mode="reflect", method=method)
    ref = reference(x, w, b, (2, 1), (2, 1), (1, 2), 1, "reflect")
    assert out.dtype == torch.float32
    assert (out - ref).abs().max().item() <= 1e-4


def test_hand_computed_cases():
    # seed 004: the identity kernel picks the centre of the first 3x3 region, which is 9
    image = torch.tensor([[5, 0, 8, 7, 8, 1], [1, 9, 5, 0, 7, 7], [6, 0, 2, 4, 6, 6],
                          [9, 7, 6, 6, 8, 4], [8, 3, 8, 5, 1, 3], [7, 2, 7, 0, 1, 0]], dtype=torch.float64)
    ident = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    ident[0, 0, 1, 1] = 1
    for f in METHODS.values():
        out = f(image.view(1, 1, 6, 6), ident)
        assert out[0, 0, 0, 0].item() == pytest.approx(9.0)
        assert torch.allclose(out[0, 0], image[1:5, 1:5])
    # seed 003: the 5x5 binary image with the [[1,0,1],[0,1,0],[1,0,1]] kernel gives 4 top-left
    img = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
                       dtype=torch.float64).view(1, 1, 5, 5)
    k = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=torch.float64).view(1, 1, 3, 3)
    assert conv2d_naive(img, k)[0, 0].tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


def test_im2col_and_col2im_match_unfold_and_fold():
    for seed, (k, s, p, d) in enumerate([((3, 3), 1, 0, 1), ((3, 2), 2, 1, 2), ((2, 2), 3, 1, 1)]):
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=gen)
        cols = im2col(x, k, s, p, d)
        ref = F.unfold(x, k, dilation=d, padding=p, stride=s)
        assert torch.equal(cols, ref)
        c = torch.randn(ref.shape, dtype=torch.float64, generator=gen)
        assert torch.allclose(col2im(c, (9, 8), k, s, p, d), F.fold(c, (9, 8), k, dilation=d, padding=p, stride=s))


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (4, 1)])
def test_convolve_and_correlate_match_scipy(mode, kshape):
    rng = np.random.default_rng(0)
    image, kernel = rng.standard_normal((7, 6)), rng.standard_normal(kshape)
    conv = convolve2d(torch.from_numpy(image), torch.from_numpy(kernel), mode).numpy()
    corr = correlate2d(torch.from_numpy(image), torch.from_numpy(kernel), mode).numpy()
    np.testing.assert_allclose(conv, scipy.signal.convolve2d(image, kernel, mode), atol=1e-12)
    np.testing.assert_allclose(corr, scipy.signal.correlate2d(image, kernel, mode), atol=1e-12)


def test_convolution_is_commutative_and_correlation_is_not():
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(5, 4, dtype=torch.float64, generator=gen), torch.randn(3, 3, dtype=torch.float64, generator=gen)
    assert torch.allclose(convolve2d(a, b), convolve2d(b, a))
    assert not torch.allclose(correlate2d(a, b), correlate2d(b, a))


def test_conv1d_matches_f_conv1d():
    gen = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(2, 4, 30, generator=gen), torch.randn(3, 4, 6, generator=gen), torch.randn(3, generator=gen)
    assert torch.allclose(conv1d(x, w, b, stride=2, padding=1, dilation=2), F.conv1d(x, w, b, 2, 1, 2), atol=1e-5)


def test_translation_equivariance_with_circular_padding():
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(1, 2, 12, 12, dtype=torch.float64, generator=gen), torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen)

    def shift(t):
        return torch.roll(t, shifts=(2, -3), dims=(2, 3))

    for f in METHODS.values():
        assert torch.allclose(f(shift(x), w, padding=1, padding_mode="circular"),
                              shift(f(x, w, padding=1, padding_mode="circular")))


def test_empty_batch_and_device_dtype_follow_input():
    x, w = torch.randn(0, 3, 8, 8, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    for f in METHODS.values():
        out = f(x, w)
        assert out.shape == (0, 4, 6, 6) and out.dtype == torch.float64


def test_errors_name_the_problem():
    x, w = torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C_in, H, W\)"):
        conv2d_naive(torch.randn(3, 8, 8), w)
    with pytest.raises(ValueError, match="x has 3 channels"):
        conv2d_im2col(x, torch.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        conv2d_fft(x, w, padding_mode="mirror")
    with pytest.raises(ValueError, match="does not fit"):
        conv2d_naive(x, torch.randn(4, 3, 9, 9))
    with pytest.raises(ValueError, match="method must be one of"):
        conv2d(x, w, method="winograd")
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(4,\)"):
        conv2d(x, w, torch.randn(3))
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv2d(x, w, stride=1.5)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    gen = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(2, 3, 20, 20, generator=gen), torch.randn(8, 3, 5, 5, generator=gen), torch.randn(8, generator=gen)
    ref = reference(x, w, b, (2, 2), (2, 2), (1, 1), 1, "zeros")
    for method in ("naive", "im2col", "fft", "torch"):
        out = conv2d(x.cuda(), w.cuda(), b.cuda(), 2, 2, method=method)
        assert out.device.type == "cuda"
        assert (out.cpu() - ref).abs().max().item() <= 1e-3
