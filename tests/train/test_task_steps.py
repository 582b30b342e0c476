"""The engine serves the tasks of chapters 4-6 without a new loop: a GAN step with two
optimisers, a PixelCNN likelihood step and a metric-learning step with a miner, on small models.

These steps are written here, as a later chapter would write them, to prove the API of
:func:`cnnlib.train.fit`. Reference: the same updates written out by hand (two optimisers
stepped in turn from the same noise), the Bernoulli log-likelihood summed pixel by pixel in a
loop, and batch-hard triplet mining by a loop over anchors.
"""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.train import evaluate, fit


# --- GAN: two optimisers, the step optimises itself ----------------------------------------------
class GANStep:
    """Discriminator step on real vs generated, then a non-saturating generator step."""

    manual_optimization = True

    def __init__(self, opt_d, opt_g, latent=2, seed=0):
        self.opt_d, self.opt_g, self.latent = opt_d, opt_g, latent
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, model, batch, ctx):
        real = batch[0]
        z = torch.randn(len(real), self.latent, generator=self.gen).to(ctx.device)
        fake = model.g(z)
        d_real, d_fake = model.d(real), model.d(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        if ctx.training:
            ctx.optimize(loss_d, self.opt_d, "d")
        d_fake = model.d(fake)
        loss_g = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))  # non-saturating
        if ctx.training:
            ctx.optimize(loss_g, self.opt_g, "g")
        return {"loss_d": loss_d, "loss_g": loss_g, "d_real": torch.sigmoid(d_real).mean()}


class GAN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.g = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
        self.d = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))


def test_gan_step_with_two_optimisers_equals_the_hand_written_updates():
    real = torch.randn(32, 2) + 3
    data = DataLoader(TensorDataset(real), batch_size=8)
    gan, ref = GAN(), GAN()
    step = GANStep(torch.optim.Adam(gan.d.parameters(), 1e-2), torch.optim.Adam(gan.g.parameters(), 1e-2))
    h = fit(gan, data, step=step, epochs=2, progress=False, clip_grad_norm=10.0)
    opt_d, opt_g = torch.optim.Adam(ref.d.parameters(), 1e-2), torch.optim.Adam(ref.g.parameters(), 1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):
        for (x,) in data:
            z = torch.randn(len(x), 2, generator=gen)
            fake = ref.g(z)
            ld = (F.binary_cross_entropy_with_logits(ref.d(x), torch.ones(len(x), 1))
                  + F.binary_cross_entropy_with_logits(ref.d(fake.detach()), torch.zeros(len(x), 1)))
            opt_d.zero_grad(); ld.backward(); nn.utils.clip_grad_norm_(ref.d.parameters(), 10.0); opt_d.step()
            lg = F.binary_cross_entropy_with_logits(ref.d(fake), torch.ones(len(x), 1))
            opt_g.zero_grad(); lg.backward(); nn.utils.clip_grad_norm_(ref.g.parameters(), 10.0); opt_g.step()
    for p, q in zip(gan.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    assert {"loss_d", "loss_g", "d_real", "grad_norm_d", "grad_norm_g"} <= set(h.names)
    assert len(h.steps["loss_g"]) == 8
    scores = evaluate(gan, data, step=step)  # validation: no optimiser runs, no parameter moves
    assert set(scores) == {"loss_d", "loss_g", "d_real"}


# --- PixelCNN: likelihood of binary images ------------------------------------------------------
class MaskedConv2d(nn.Conv2d):
    """Type-A masked convolution: each output sees only the pixels before it in raster order."""

    def __init__(self, c_in, c_out, k):
        super().__init__(c_in, c_out, k, padding=k // 2)
        mask = torch.ones_like(self.weight)
        mask[:, :, k // 2, k // 2:] = 0
        mask[:, :, k // 2 + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def nll_step(model, batch, ctx):
    """Bernoulli negative log-likelihood per image in nats, and bits per dimension."""
    x = batch[0]
    logits = model(x)
    nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
    return {"loss": nll, "bits_per_dim": nll / (x[0].numel() * math.log(2))}


def test_pixelcnn_likelihood_step_reports_nats_and_bits_per_dimension():
    torch.manual_seed(0)
    images = (torch.rand(64, 1, 5, 5) < 0.3).float()
    images[:, :, :, 1::2] = images[:, :, :, ::2][..., :2]  # columns repeat: predictable from the left
    data = DataLoader(TensorDataset(images), batch_size=16)
    model = MaskedConv2d(1, 1, 3)
    before = evaluate(model, data, step=nll_step)
    # Reference: -log p(x) summed pixel by pixel with Python floats.
    with torch.no_grad():
        probs = torch.sigmoid(model(images))
    total = 0.0
    for n in range(len(images)):
        for i in range(5):
            for j in range(5):
                p, v = probs[n, 0, i, j].item(), images[n, 0, i, j].item()
                total -= math.log(p if v == 1 else 1 - p)
    assert before["loss"] == pytest.approx(total / len(images), rel=1e-5)
    assert before["bits_per_dim"] == pytest.approx(total / len(images) / 25 / math.log(2), rel=1e-5)
    h = fit(model, data, step=nll_step, epochs=30, optimizer=torch.optim.Adam(model.parameters(), 0.05),
            progress=False)
    assert h["bits_per_dim"][-1] < 0.85 * before["bits_per_dim"]


# --- Metric learning: batch-hard triplet loss on P x K batches ----------------------------------
def batch_hard_step(margin):
    def step(model, batch, ctx):
        x, labels = batch
        emb = F.normalize(model(x), dim=1)
        d = torch.cdist(emb, emb)  # (B, B)
        same = labels[:, None] == labels[None, :]
        hardest_pos = (d * same).max(dim=1).values
        hardest_neg = d.masked_fill(same, float("inf")).min(dim=1).values
        loss = F.relu(hardest_pos - hardest_neg + margin).mean()
        return {"loss": loss, "active": (hardest_pos - hardest_neg + margin > 0).float().mean()}

    return step


def pk_batches(x, y, p, k, seed):
    gen = torch.Generator().manual_seed(seed)
    classes = y.unique()
    out = []
    for _ in range(6):
        picked = classes[torch.randperm(len(classes), generator=gen)[:p]]
        idx = torch.cat([torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=gen)[:k]]
                         for c in picked])
        out.append((x[idx], y[idx]))
    return out


def test_metric_learning_step_with_a_miner_equals_a_loop_and_trains():
    torch.manual_seed(0)
    centres = torch.randn(6, 8) * 2
    y = torch.arange(6).repeat_interleave(20)
    x = centres[y] + torch.randn(120, 8) * 1.5
    batches = pk_batches(x, y, p=4, k=4, seed=0)
    model = nn.Linear(8, 4)
    step = batch_hard_step(0.3)
    got = evaluate(model, batches[:1], step=step)["loss"]
    xb, yb = batches[0]
    with torch.no_grad():
        e = F.normalize(model(xb), dim=1)
    losses = []
    for a in range(len(xb)):
        pos = max(((e[a] - e[j]).norm().item() for j in range(len(xb)) if yb[j] == yb[a]))
        neg = min(((e[a] - e[j]).norm().item() for j in range(len(xb)) if yb[j] != yb[a]))
        losses.append(max(0.0, pos - neg + 0.3))
    assert got == pytest.approx(sum(losses) / len(losses), rel=1e-4, abs=1e-6)
    h = fit(model, batches, step=step, epochs=15, optimizer=torch.optim.Adam(model.parameters(), 0.02),
            progress=False)
    assert h["loss"][-1] < 0.7 * h["loss"][0]
