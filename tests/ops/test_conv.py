"""Tests for cnnlib.ops.conv: conv2d_naive, conv2d_im2col, conv2d_fft, conv2d, conv1d.

Reference: ``torch.nn.functional.conv2d`` applied to the input padded by
``torch.nn.functional.pad`` in the same mode (PyTorch's own kernels, not cnnlib code), and
``F.conv1d``; hand-computed cases from the lecture notes (seed 004's identity filter on the 6x6
image, seed 003's 5x5 binary example); properties (translation equivariance under circular
padding, stride = unit stride + downsampling, seed 003).
"""

import itertools

import pytest
import torch
import torch.nn.functional as F

from cnnlib.ops import METHODS, conv1d, conv2d, conv2d_fft, conv2d_im2col, conv2d_naive

PATHS = {
    "naive": conv2d_naive,
    "im2col": conv2d_im2col,
    "fft": conv2d_fft,
    # the dispatcher, cycling through its four methods over the cases (see below)
    "dispatcher": None,
}
MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}

# (kernel (kH, kW), padding (ph, pw)): odd, even, non-square and 1x1 kernels
KERNELS = (((3, 3), (1, 1)), ((2, 4), (1, 2)), ((4, 3), (2, 0)), ((5, 5), (2, 2)), ((1, 1), (0, 1)))
CASES = list(itertools.product((1, 2, 3), (1, 2), KERNELS, (1, 2)))  # stride, dilation, kernel, groups


def reference(x, w, b, stride, padding, dilation, groups, mode):
    """F.conv2d on the input padded by F.pad: PyTorch's definition of every padding mode."""
    ph, pw = padding
    xp = F.pad(x, (pw, pw, ph, ph), mode=TORCH_MODE[mode]) if ph or pw else x
    return F.conv2d(xp, w, b, stride, 0, dilation, groups)


def run_path(path, case_index, *args):
    if path == "dispatcher":
        return conv2d(*args, method=METHODS[case_index % len(METHODS)])
    return PATHS[path](*args)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_matches_f_conv2d(path, mode, dtype):
    """Acceptance: <= 1e-10 (float64) / 1e-4 (float32) for all modes, strides 1-3, dilations 1-2."""
    for i, (s, d, (k, p), g) in enumerate(CASES):
        gen = torch.Generator().manual_seed(i)  # a different seed for every case
        x = torch.randn(2, 4, 9, 8, generator=gen, dtype=dtype)
        w = torch.randn(6, 4 // g, *k, generator=gen, dtype=dtype)
        b = torch.randn(6, generator=gen, dtype=dtype)
        out = run_path(path, i, x, w, b, s, p, d, g, mode)
        ref = reference(x, w, b, s, p, d, g, mode)
        assert out.shape == ref.shape and out.dtype == dtype, (s, d, k, g)
        err = (out - ref).abs().max().item()
        assert err <= TOLERANCE[dtype], f"{path}/{mode} s={s} d={d} k={k} g={g}: max error {err:.2e}"


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", METHODS)
def test_dispatcher_with_pair_arguments(method, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 3, 16, 13, generator=gen, dtype=torch.float64)
    w = torch.randn(5, 3, 4, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(5, generator=gen, dtype=torch.float64)
    out = conv2d(x, w, b, stride=(2, 1), padding=(2, 1), dilation=(1, 2), padding_mode="reflect", method=method)
    ref = reference(x, w, b, (2, 1), (2, 1), (1, 2), 1, "reflect")
    assert (out - ref).abs().max().item() <= 1e-10


def test_stride_larger_than_kernel():
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 11, 10, generator=gen, dtype=torch.float64)
    w = torch.randn(2, 3, 2, 2, generator=gen, dtype=torch.float64)
    for f in (conv2d_naive, conv2d_im2col, conv2d_fft):
        assert torch.allclose(f(x, w, stride=3), F.conv2d(x, w, stride=3), atol=1e-12, rtol=0)


SEED_004_IMAGE = [[5, 0, 8, 7, 8, 1], [1, 9, 5, 0, 7, 7], [6, 0, 2, 4, 6, 6],
                  [9, 7, 6, 6, 8, 4], [8, 3, 8, 5, 1, 3], [7, 2, 7, 0, 1, 0]]


@pytest.mark.parametrize("method", METHODS)
def test_seed_004_identity_filter_gives_9(method):
    """Seed 004: the first 3x3 region times the identity filter 'adds up to 9'."""
    image = torch.tensor(SEED_004_IMAGE, dtype=torch.float64).view(1, 1, 6, 6)  # 1 x 1 x 6 x 6
    identity = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    identity[0, 0, 1, 1] = 1.0
    out = conv2d(image, identity, method=method)
    assert out.shape == (1, 1, 4, 4)
    assert out[0, 0, 0, 0].item() == pytest.approx(9.0)
    assert torch.allclose(out[0, 0], image[0, 0, 1:5, 1:5])  # the identity copies the centres


@pytest.mark.parametrize("method", METHODS)
def test_seed_003_binary_example(method):
    """Seed 003's animation: 5x5 binary image, kernel [[1,0,1],[0,1,0],[1,0,1]], first output 4."""
    image = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
                         dtype=torch.float64).view(1, 1, 5, 5)
    kernel = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=torch.float64).view(1, 1, 3, 3)
    out = conv2d(image, kernel, method=method)[0, 0]
    assert torch.allclose(out, torch.tensor([[4.0, 3, 4], [2, 4, 3], [2, 3, 4]], dtype=torch.float64))


@pytest.mark.parametrize("method", METHODS)
def test_translation_equivariance_with_circular_padding(method):
    """conv(shift(x)) == shift(conv(x)) exactly when the image is a torus (circular padding)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 12, 10, generator=gen, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 5, generator=gen, dtype=torch.float64)

    def conv(t, stride=1):
        return conv2d(t, w, stride=stride, padding=(1, 2), padding_mode="circular", method=method)

    def shift(t, dy, dx):
        return torch.roll(t, shifts=(dy, dx), dims=(2, 3))

    assert torch.allclose(conv(shift(x, 3, -4)), shift(conv(x), 3, -4), atol=1e-12)
    # with stride 2, a shift by 2 input pixels is a shift by 1 output pixel
    assert torch.allclose(conv(shift(x, 2, -4), 2), shift(conv(x, 2), 1, -2), atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_stride_is_unit_stride_then_downsampling(method):
    """Seed 003: convolution with stride s equals unit-stride convolution keeping every s-th output."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 13, 11, generator=gen, dtype=torch.float64)
    w = torch.randn(2, 3, 3, 3, generator=gen, dtype=torch.float64)
    full = conv2d(x, w, padding=1, method=method)
    assert torch.allclose(conv2d(x, w, stride=(2, 3), padding=1, method=method), full[:, :, ::2, ::3], atol=1e-12)


@pytest.mark.parametrize("path", list(PATHS))
def test_empty_batch(path):
    x, w = torch.randn(0, 3, 8, 7, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64)
    for i in range(len(METHODS) if path == "dispatcher" else 1):
        out = run_path(path, i, x, w, b, 2, 1, 1, 1, "zeros")
        assert out.shape == F.conv2d(x, w, b, 2, 1).shape == (0, 4, 4, 4)
        assert out.dtype == torch.float64


def test_conv1d_matches_f_conv1d():
    for seed, (s, p, d) in enumerate([(1, 0, 1), (2, 1, 2), (3, 2, 1)]):
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(2, 4, 30, generator=gen, dtype=torch.float64)
        w = torch.randn(3, 4, 6, generator=gen, dtype=torch.float64)
        b = torch.randn(3, generator=gen, dtype=torch.float64)
        for method in METHODS:
            out = conv1d(x, w, b, s, p, d, method=method)
            assert (out - F.conv1d(x, w, b, s, p, d)).abs().max().item() <= 1e-10


def test_conv1d_finds_a_motif_in_one_hot_dna():
    """Hand case: a kernel equal to the one-hot motif 'CG' scores 2 exactly where 'CG' occurs."""
    seq = "ACGTCG"
    x = torch.zeros(1, 4, len(seq))
    for i, base in enumerate(seq):
        x[0, "ACGT".index(base), i] = 1.0
    motif = torch.zeros(1, 4, 2)
    motif[0, 1, 0] = motif[0, 2, 1] = 1.0  # C then G
    assert conv1d(x, motif)[0, 0].tolist() == [0.0, 2.0, 0.0, 0.0, 2.0]


def test_errors_name_the_argument():
    x, w = torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C_in, H, W\) \(4 dims\), got shape \(3, 8, 8\)"):
        conv2d_naive(torch.randn(3, 8, 8), w)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        conv2d_im2col(x.numpy(), w)
    with pytest.raises(ValueError, match=r"weight must have shape \(C_out, C_in/groups, kH, kW\)"):
        conv2d_fft(x, torch.randn(3, 3, 3))
    with pytest.raises(ValueError, match=r"x has 3 channels and weight has shape \(4, 2, 3, 3\)"):
        conv2d_im2col(x, torch.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="with groups=2"):
        conv2d_naive(x, torch.randn(4, 1, 3, 3), groups=2)
    modes = r"\('zeros', 'reflect', 'replicate', 'circular'\)"
    with pytest.raises(ValueError, match=rf"padding_mode must be one of {modes}, got 'mirror'"):
        conv2d_fft(x, w, padding=1, padding_mode="mirror")
    with pytest.raises(ValueError, match="does not fit in input of size 8"):
        conv2d_naive(x, torch.randn(4, 3, 9, 9))
    with pytest.raises(ValueError, match="method must be one of .* got 'winograd'"):
        conv2d(x, w, method="winograd")
    with pytest.raises(ValueError, match=r"bias must be None or a Tensor of shape \(4,\), got \(3,\)"):
        conv2d(x, w, torch.randn(3))
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints, got 1.5"):
        conv2d(x, w, stride=1.5)
    with pytest.raises(ValueError, match=r"dilation must be >= 1, got 0"):
        conv2d(x, w, dilation=0)
    with pytest.raises(ValueError, match=r"padding must be >= 0, got \(1, -1\)"):
        conv2d(x, w, padding=(1, -1))
    with pytest.raises(TypeError, match=r"weight must have the dtype of x \(torch.float32\), got torch.float64"):
        conv2d(x, w.double())
    with pytest.raises(ValueError, match="reflect padding .* must be smaller than the height 8"):
        conv2d(x, w, padding=(8, 1), padding_mode="reflect")
    with pytest.raises(TypeError, match="x must be a floating-point tensor for the FFT, got torch.int64"):
        conv2d_fft(x.long(), w.long())
    with pytest.raises(ValueError, match=r"x must have shape \(N, C_in, L\)"):
        conv1d(x, w)
    with pytest.raises(TypeError, match="stride must be an int"):
        conv1d(x[:, :, 0], w[:, :, 0], stride=(1, 2))


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("mode", MODES)
def test_cuda_every_method_matches_f_conv2d(mode, dtype):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 12, 11, generator=gen, dtype=dtype)
    w, b = torch.randn(6, 2, 4, 3, generator=gen, dtype=dtype), torch.randn(6, generator=gen, dtype=dtype)
    ref = reference(x, w, b, (2, 1), (2, 1), (1, 2), 2, mode)  # on the CPU
    allow_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's TF32 would round F.conv2d's float32 to ~1e-3
    try:
        for method in METHODS:
            out = conv2d(x.cuda(), w.cuda(), b.cuda(), (2, 1), (2, 1), (1, 2), 2, mode, method=method)
            assert out.device.type == "cuda" and out.dtype == dtype
            assert (out.cpu() - ref).abs().max().item() <= TOLERANCE[dtype], method
    finally:
        torch.backends.cudnn.allow_tf32 = allow_tf32
