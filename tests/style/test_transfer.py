"""Tests for cnnlib.style.transfer: style_transfer with L-BFGS and Adam.

Reference: the costs recomputed from scratch with cnnlib.style.costs and ``feature_maps`` on the
returned image (they must equal the history's last entry); the promises of the optimisation on
small images (the style cost falls at least 10x in texture synthesis, the content cost stays 0
at the start from the content photo); the feature network left untouched.
"""

import pytest
import torch

from cnnlib.interpret import feature_maps
from cnnlib.style import RandomTextureNet, content_cost, style_layer_cost, style_transfer, total_variation_loss

LAYERS = ["branches.k3", "branches.k5"]


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 20), torch.linspace(0, 1, 20), indexing="ij")
    content = torch.stack([yy, xx, 0.5 * torch.ones_like(xx)])           # smooth ramps
    stripes = (torch.sin(xx * 25) > 0).float()
    style = torch.stack([stripes, 1 - stripes, 0.3 * torch.ones_like(xx)]) + 0.05 * torch.rand(3, 20, 20, generator=g)
    return content, style.clamp(0, 1)


@pytest.mark.parametrize("optimizer,steps,lr", [("lbfgs", 15, None), ("adam", 40, 0.05)])
def test_costs_fall_and_the_history_is_the_costs(images, optimizer, steps, lr):
    content, style = images
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=8)
    before = [p.clone() for p in net.parameters()]
    image, h = style_transfer(net, content, style, ["branches.k3"], LAYERS, alpha=1.0, beta=1e5, tv_weight=0.01,
                              optimizer=optimizer, steps=steps, lr=lr)
    assert image.shape == (1, 3, 20, 20) and 0 <= image.min() and image.max() <= 1
    assert all(len(v) == steps + 1 for v in h.values())
    assert h["content"][0] == 0.0 and h["total"][-1] < 0.5 * h["total"][0]
    assert h["style"][-1] < 0.5 * h["style"][0]
    feats = feature_maps(net, image, LAYERS)
    targets = feature_maps(net, style[None], LAYERS)
    style_now = sum(0.5 * style_layer_cost(targets[n], feats[n]) for n in LAYERS)
    content_now = content_cost(feature_maps(net, content[None], "branches.k3")["branches.k3"], feats["branches.k3"])
    assert h["style"][-1] == pytest.approx(style_now.item(), rel=1e-4)
    assert h["content"][-1] == pytest.approx(content_now.item(), rel=1e-4)
    assert h["tv"][-1] == pytest.approx(total_variation_loss(image).item(), rel=1e-4)
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())


def test_texture_synthesis_from_noise(images):
    _, style = images
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=8)
    seen = []
    image, h = style_transfer(net, None, style, [], LAYERS, init="noise", steps=25, beta=1.0,
                              generator=torch.Generator().manual_seed(1), callback=lambda k, x: seen.append(k))
    assert h["style"][-1] < h["style"][0] / 10 and h["content"] == [0.0] * 26
    assert seen == list(range(25))
    again, _ = style_transfer(net, None, style, [], LAYERS, init="noise", steps=1, beta=1.0,
                              generator=torch.Generator().manual_seed(1))
    start, _ = style_transfer(net, None, style, [], LAYERS, init="noise", steps=1, beta=1.0,
                              generator=torch.Generator().manual_seed(2))
    assert not torch.equal(again, start)  # the generator decides the noise


def test_init_image_and_weights(images):
    content, style = images
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=8)
    _, h = style_transfer(net, content, style, "branches.k3", LAYERS, init=torch.rand(3, 20, 20),
                          style_weights={"branches.k3": 1.0, "branches.k5": 0.0}, steps=1, optimizer="adam")
    feats = feature_maps(net, style[None], LAYERS)
    assert h["content"][0] > 0
    _, h_k3 = style_transfer(net, content, style, "branches.k3", ["branches.k3"], init="content", steps=1,
                             optimizer="adam")
    assert h["style"][0] != h_k3["style"][0] and len(feats) == 2


def test_errors(images):
    content, style = images
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=4)
    with pytest.raises(ValueError, match="texture synthesis .* needs content_layers=\\[\\] and init="):
        style_transfer(net, None, style, [], LAYERS)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        style_transfer(net, content, style, [], LAYERS, optimizer="sgd")
    with pytest.raises(ValueError, match="style_weights must give lambda for exactly"):
        style_transfer(net, content, style, [], LAYERS, style_weights={"branches.k3": 1.0})
    with pytest.raises(ValueError, match="layers must name modules of model"):
        style_transfer(net, content, style, [], ["conv9"], steps=1)
    with pytest.raises(ValueError, match=r"style must be one float image"):
        style_transfer(net, content, torch.stack([style, style]), [], LAYERS)


@pytest.mark.gpu
def test_cuda_follows_the_images(images):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    content, style = (t.cuda() for t in images)
    net = RandomTextureNet(kernel_sizes=(3, 5), channels=8).cuda()
    image, h = style_transfer(net, content, style, ["branches.k3"], LAYERS, beta=1e5, steps=10)
    assert image.device.type == "cuda" and h["total"][-1] < h["total"][0]
