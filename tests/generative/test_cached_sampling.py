"""Tests for cnnlib.generative.cached_sampling: the same samples as the naive sampler, much faster.

Reference: the naive sampler of :mod:`cnnlib.generative.sampling` (one full forward pass per pixel
and colour) with the same generator seed: the images must be identical, for the plain and the
gated PixelCNN, Bernoulli and categorical outputs, one and three colours, with and without class
conditioning, for sampling and for completion. The incremental logits are compared with the full
forward pass at every step, and the speed-up is measured against the naive sampler on the book's
model size at 28x28 with one thread.
"""

import time

import pytest
import torch
from torch import nn

from cnnlib.generative import (
    GatedPixelCNN, PixelCNN, complete_pixelcnn, complete_pixelcnn_cached, sample_pixelcnn, sample_pixelcnn_cached,
)
from tests.generative.reference import randomise

CASES = [(arch, C, output, K) for arch in ("plain", "gated") for C in (1, 3)
         for output in ("bernoulli", "categorical") for K in (None, 3)]


def make(arch, C, output, K, seed=0):
    """A small model whose logits depend strongly on the pixels before (weights N(0, 0.35))."""
    if arch == "plain":
        net = PixelCNN(C, 6 * C, 2, 5, 3, output, levels=6, num_classes=K)
    else:
        net = GatedPixelCNN(C, 6 * C, 2, 3, output, levels=6, num_classes=K)
    return randomise(net, std=0.35, seed=seed)


def generators(seed):
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("arch,C,output,K", CASES)
def test_cached_samples_are_identical_to_the_naive_ones(arch, C, output, K):
    net = make(arch, C, output, K)
    labels = torch.tensor([0, 2, 1]) if K else None
    for seed in (0, 1):
        g1, g2 = generators(seed)
        naive = sample_pixelcnn(net, 3, (C, 5, 6), g1, labels)
        assert torch.equal(sample_pixelcnn_cached(net, 3, (C, 5, 6), g2, labels), naive)
        if seed == 0:  # margin 0: the incremental path alone decides every draw (true here; see the module doc)
            g2 = torch.Generator().manual_seed(seed)
            assert torch.equal(sample_pixelcnn_cached(net, 3, (C, 5, 6), g2, labels, margin=0.0), naive)
        assert 0 < naive.mean() < 1 and len(naive.unique()) > 1


@pytest.mark.parametrize("arch,C,output,K", CASES)
def test_incremental_logits_equal_the_full_pass_at_every_step(arch, C, output, K):
    net = make(arch, C, output, K, seed=1)
    labels = torch.tensor([1, 0]) if K else None
    gen = torch.Generator().manual_seed(0)
    values = torch.randint(0, 6, (2, C, 5, 6), generator=gen).float() / 5
    if output == "bernoulli":
        values = values.round()
    cache = net.start_cache(torch.zeros(2, C, 5, 6), labels)
    worst, largest = 0.0, 0.0
    for i in range(5):
        for j in range(6):
            for c in range(C):
                got = net.logits_at(cache, i, j)
                with torch.no_grad():
                    full = net(cache.image.contiguous(), labels)[:, :, ..., i, j]
                # colours after c are not final yet (they read colour c of this pixel); the others are
                worst = max(worst, (got[:, : c + 1] - full[:, : c + 1]).abs().max().item())
                largest = max(largest, full.abs().max().item())
                cache.image[:, c, i, j] = values[:, c, i, j]
    assert worst < 1e-6 * max(largest, 1.0), (worst, largest)        # float32 rounding, nothing more


def test_margin_redraws_near_ties_with_the_full_pass():
    net = make("plain", 1, "bernoulli", None)
    naive = sample_pixelcnn(net, 4, (1, 6, 6), torch.Generator().manual_seed(0))
    exact_logits_at = net.logits_at
    net.logits_at = lambda cache, i, j: exact_logits_at(cache, i, j) + 0.5   # a deliberately wrong cache
    wrong = sample_pixelcnn_cached(net, 4, (1, 6, 6), torch.Generator().manual_seed(0), margin=0.0)
    assert not torch.equal(wrong, naive)                   # without the margin the error shows
    # a logit error of 0.5 moves sigmoid by at most 0.125: every draw it could flip lies within 0.15
    got = sample_pixelcnn_cached(net, 4, (1, 6, 6), torch.Generator().manual_seed(0), margin=0.15)
    assert torch.equal(got, naive)
    got = sample_pixelcnn_cached(net, 4, (1, 6, 6), torch.Generator().manual_seed(0), margin=1.0)
    assert torch.equal(got, naive)                         # margin 1: every draw from the full pass


@pytest.mark.parametrize("arch,C,output,K", [("plain", 1, "bernoulli", None), ("gated", 3, "categorical", 3),
                                             ("gated", 1, "bernoulli", 3), ("plain", 3, "categorical", None)])
def test_cached_completion_is_identical_and_keeps_the_known_pixels(arch, C, output, K):
    net = make(arch, C, output, K, seed=2)
    gen = torch.Generator().manual_seed(5)
    x = torch.randint(0, 6, (3, C, 6, 5), generator=gen).float() / 5
    x = x.round() if output == "bernoulli" else x
    known = torch.rand(3, 6, 5, generator=gen) < 0.5
    known[0, :3] = True                                                    # image 0: the lower half to fill
    labels = torch.tensor([2, 0, 1]) if K else None
    naive = complete_pixelcnn(net, x, known, torch.Generator().manual_seed(3), labels)
    cached = complete_pixelcnn_cached(net, x, known, torch.Generator().manual_seed(3), labels)
    assert torch.equal(cached, naive)
    mask = known[:, None].expand_as(x)
    assert torch.equal(cached[mask], x[mask])
    everything = torch.ones(6, 5, dtype=torch.bool)
    assert torch.equal(complete_pixelcnn_cached(net, x, everything, labels=labels), x)


def test_model_modes_are_restored():
    net = PixelCNN(channels=4, num_layers=1).train()
    sample_pixelcnn_cached(net, 1, (1, 3, 3))
    assert net.training and all(p.grad is None for p in net.parameters())


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, min(times)


def test_at_least_ten_times_faster_at_28x28_on_one_cpu_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        plain = PixelCNN(1, 64, 5, 7, 3).eval()           # the book's size: 7x7 mask A, five 3x3 blocks
        naive, t_naive = best_of(lambda: sample_pixelcnn(plain, 1, (1, 28, 28), torch.Generator().manual_seed(0)), 1)
        cached, t_cached = best_of(
            lambda: sample_pixelcnn_cached(plain, 1, (1, 28, 28), torch.Generator().manual_seed(0)), 2)
        assert torch.equal(naive, cached)
        assert t_naive / t_cached >= 10, f"naive {t_naive:.2f} s, cached {t_cached:.3f} s"
        # the gated one: complete the last four rows (112 pixels) of a 28x28 image
        gated = GatedPixelCNN(1, 64, 7, 3).eval()
        x, known = torch.zeros(1, 1, 28, 28), torch.arange(28)[:, None].expand(28, 28) < 24
        naive, t_naive = best_of(lambda: complete_pixelcnn(gated, x, known, torch.Generator().manual_seed(0)), 1)
        cached, t_cached = best_of(
            lambda: complete_pixelcnn_cached(gated, x, known, torch.Generator().manual_seed(0)), 2)
        assert torch.equal(naive, cached)
        assert t_naive / t_cached >= 10, f"naive {t_naive:.2f} s, cached {t_cached:.3f} s"
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("call,error,match", [
    (lambda: sample_pixelcnn_cached(nn.Conv2d(1, 1, 1), 1, (1, 3, 3)), TypeError, "start_cache and logits_at"),
    (lambda: sample_pixelcnn_cached(PixelCNN(channels=4), 1, (1, 3, 3), margin=-0.1), ValueError,
     r"margin must be in \[0.0, 1.0\]"),
    (lambda: sample_pixelcnn_cached(PixelCNN(channels=4, num_classes=2), 1, (1, 3, 3)), TypeError,
     "class-conditional"),
    (lambda: sample_pixelcnn_cached(PixelCNN(channels=4), 1, (2, 3, 3)), ValueError, "expects 1 input channels"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.gpu
def test_cuda_samples_equal_the_cpu_naive_ones():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    net = make("gated", 1, "categorical", 3)
    labels = torch.tensor([0, 1])
    cpu = sample_pixelcnn(net, 2, (1, 5, 5), torch.Generator().manual_seed(0), labels)
    net = net.cuda()
    naive = sample_pixelcnn(net, 2, (1, 5, 5), torch.Generator().manual_seed(0), labels.cuda())
    cached = sample_pixelcnn_cached(net, 2, (1, 5, 5), torch.Generator().manual_seed(0), labels.cuda())
    assert naive.device.type == "cuda" and torch.equal(naive, cached)
    assert torch.equal(naive.cpu(), cpu)                   # CPU uniforms: the same draws on every device
