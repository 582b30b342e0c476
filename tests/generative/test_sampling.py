"""Tests for cnnlib.generative.sampling: raster order, the inverse-transform draws, completion.

Reference: hand-built "models" whose logits follow a rule (each pixel the opposite of the one
before it in raster order; each pixel a copy of the one above), so the correct samples are known
by a loop; the inverse transform of the same uniforms computed in the test with ``math``; a
frequency over many draws against ``sigmoid(logit)``.
"""

import math

import pytest
import torch
from torch import nn

from cnnlib.generative import PixelCNN, complete_pixelcnn, sample_pixelcnn


class OppositeOfPrevious(nn.Module):
    """Logit +40 (surely 1) if the previous pixel in raster order is 0 (or there is none), else -40."""

    def forward(self, x):
        N, C, H, W = x.shape
        flat = x.reshape(N, C, H * W)
        prev = torch.cat([torch.zeros(N, C, 1, dtype=x.dtype), flat[:, :, :-1]], dim=2)
        return (40 * (1 - 2 * prev)).reshape(N, C, H, W)


class CopyAbove(nn.Module):
    """Logit +40 if the pixel above is 1, -40 otherwise (row 0: -40)."""

    def forward(self, x):
        above = torch.cat([torch.zeros_like(x[:, :, :1]), x[:, :, :-1]], dim=2)
        return 40 * (2 * above - 1)


class Fixed(nn.Module):
    """Logits that do not depend on the image: a parameter broadcast over the batch."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(logits)

    def forward(self, x):
        return self.logits.expand(len(x), *self.logits.shape[1:])


def test_pixels_are_drawn_in_raster_order():
    out = sample_pixelcnn(OppositeOfPrevious(), 2, (1, 3, 5), torch.Generator().manual_seed(0))
    expected = torch.tensor([1.0 if q % 2 == 0 else 0.0 for q in range(15)]).reshape(1, 1, 3, 5)
    assert torch.equal(out, expected.expand(2, 1, 3, 5))


def test_inverse_transform_of_the_same_uniforms():
    gen = torch.Generator().manual_seed(3)
    L = 5
    logits = torch.randn(1, 2, L, 3, 4, generator=gen, dtype=torch.float64)
    out = sample_pixelcnn(Fixed(logits), 4, (2, 3, 4), torch.Generator().manual_seed(7))
    u = torch.rand((4, 2, 3, 4), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    for n in range(4):
        for c in range(2):
            for i in range(3):
                for j in range(4):
                    z = [math.exp(logits[0, c, k, i, j].item()) for k in range(L)]
                    cdf = [sum(z[: k + 1]) / sum(z) for k in range(L - 1)]
                    k = sum(1 for f in cdf if f <= u[n, c, i, j].item())
                    assert out[n, c, i, j].item() == k / (L - 1)
    bern = torch.randn(1, 1, 3, 4, generator=gen, dtype=torch.float64)
    out = sample_pixelcnn(Fixed(bern), 4, (1, 3, 4), torch.Generator().manual_seed(7))
    u = torch.rand((4, 1, 3, 4), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    assert torch.equal(out, (u < torch.sigmoid(bern)).double())


def test_frequencies_follow_the_probabilities():
    model = Fixed(torch.tensor([[[[0.8]]]]).expand(1, 1, 6, 6).clone())
    out = sample_pixelcnn(model, 300, (1, 6, 6), torch.Generator().manual_seed(0))
    assert out.mean().item() == pytest.approx(1 / (1 + math.exp(-0.8)), abs=0.015)


def test_sampling_is_completion_with_nothing_known():
    torch.manual_seed(0)
    net = PixelCNN(channels=8, num_layers=1)
    a = sample_pixelcnn(net, 3, (1, 4, 5), torch.Generator().manual_seed(1))
    b = complete_pixelcnn(net, torch.zeros(3, 1, 4, 5), torch.zeros(4, 5, dtype=torch.bool),
                          torch.Generator().manual_seed(1))
    c = sample_pixelcnn(net, 3, (1, 4, 5), torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_completion_keeps_the_known_pixels_and_continues_them():
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 1, 6, 5, generator=gen) < 0.5).float()
    known = torch.zeros(3, 6, 5, dtype=torch.bool)
    known[:, :3] = True                                                    # the upper half is given
    known[1, 4, 2] = True                                                  # and one pixel below, in image 1
    garbage = torch.where(known[:, None], x, torch.full_like(x, 7.0))      # unknown values are ignored
    out = complete_pixelcnn(CopyAbove(), garbage, known, torch.Generator().manual_seed(1))
    assert torch.equal(out[known[:, None].expand_as(out)], x[known[:, None].expand_as(x)])
    for n in range(3):
        for i in range(3, 6):
            for j in range(5):
                if not known[n, i, j]:
                    assert out[n, 0, i, j] == out[n, 0, i - 1, j]          # copied from above
    assert torch.equal(out, complete_pixelcnn(CopyAbove(), x, known, torch.Generator().manual_seed(1)))


def test_model_runs_in_eval_mode_and_its_mode_is_restored():
    seen = []

    class Spy(OppositeOfPrevious):
        def forward(self, x):
            seen.append(self.training)
            return super().forward(x)

    spy = Spy().train()
    sample_pixelcnn(spy, 1, (1, 2, 2))
    assert seen == [False] * 4 and spy.training


@pytest.mark.parametrize("call,error,match", [
    (lambda: sample_pixelcnn(PixelCNN(channels=4), 0, (1, 3, 3)), ValueError, "n must be >= 1"),
    (lambda: sample_pixelcnn(PixelCNN(channels=4), 1, (3, 3)), ValueError, r"shape must be \(C, H, W\)"),
    (lambda: sample_pixelcnn(PixelCNN(channels=4), 1, (1, 3, 3), generator=0), TypeError, "generator must be"),
    (lambda: sample_pixelcnn(lambda x: x, 1, (1, 3, 3)), TypeError, "model must be an nn.Module"),
    (lambda: sample_pixelcnn(nn.Conv2d(1, 2, 1), 1, (1, 3, 3)), ValueError, r"model must return logits"),
    (lambda: complete_pixelcnn(PixelCNN(channels=4), torch.zeros(2, 1, 3, 3), torch.zeros(3, 3)), TypeError,
     "known must be a bool"),
    (lambda: complete_pixelcnn(PixelCNN(channels=4), torch.zeros(2, 1, 3, 3), torch.zeros(2, 3, 4).bool()),
     ValueError, r"known must have shape \(N, H, W\) = \(2, 3, 3\)"),
    (lambda: complete_pixelcnn(PixelCNN(channels=4), torch.zeros(2, 1, 3, 3).long(), torch.zeros(3, 3).bool()),
     ValueError, "floating-point"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
