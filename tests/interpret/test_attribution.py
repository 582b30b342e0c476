"""Tests for cnnlib.interpret.attribution: saliency and grad_cam.

References: Grad-CAM computed by hand in the test from its formula (the network split into
features and head by hand, ``torch.autograd.grad`` for dy^c/dA, mean, ReLU, ``F.interpolate``,
division by the maximum); central finite differences (float64) and per-image autograd for the
saliency map; and a small fully convolutional net with global average pooling trained in the
test on digits pasted into one corner of an empty canvas, where the evidence for the class is
known to be.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.interpret import grad_cam, saliency
from tests.interpret.nets import cpu_and_cuda, small_cnn


def grad_cam_by_hand(features, head, x, classes, relu=True):
    A = features(x).detach().requires_grad_(True)  # (N, K, h, w)
    y = head(A)  # class scores before the softmax
    (dA,) = torch.autograd.grad(y[torch.arange(len(x)), classes].sum(), A)
    alpha = dA.mean(dim=(2, 3))  # alpha_k = 1/Z sum_ij dy^c/dA^k_ij
    cam = (alpha[:, :, None, None] * A).sum(1)
    cam = F.relu(cam) if relu else cam
    cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).abs().amax(1).clamp_min(1e-30)[:, None, None]
    return (cam / peak).detach()


# ---------------------------------------------------------------------------------- Grad-CAM
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("head", ["gap", "dense"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grad_cam_matches_the_formula_computed_by_hand(seed, head, dtype):
    model = small_cnn(head, dtype, seed).eval()
    x = torch.randn(4, 3, 8, 8, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    classes = torch.tensor([0, 3, 9, 3])
    cam = grad_cam(model, x, classes, layer=model[0])
    ref = grad_cam_by_hand(model[0], model[1], x, classes)
    assert cam.shape == (4, 8, 8) and cam.dtype == dtype and not cam.requires_grad
    assert (cam - ref).abs().max() < 1e-6
    assert cam.min() >= 0 and torch.allclose(cam.flatten(1).amax(1)[ref.flatten(1).amax(1) > 0], torch.ones((), dtype=dtype))
    one = grad_cam(model, x[1], 3, layer=model[0])  # a single (C, H, W) image gives (H, W)
    assert one.shape == (8, 8) and (one - ref[1]).abs().max() < 1e-6
    same_class = grad_cam(model, x, 3, layer=model[0])  # one int for the whole batch
    assert (same_class[1] - ref[1]).abs().max() < 1e-6


def evidence_net():
    """Hand-built: A = 2x2-average of a 2-channel image; class 0 scores mean(A0) - mean(A1)."""
    head = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, -1.0]]))
    return nn.Sequential(nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).double()


def test_grad_cam_relu_drops_negative_evidence_and_a_zero_map_has_no_nan():
    x = torch.zeros(1, 2, 8, 8, dtype=torch.float64)
    x[0, 0, :, :4] = torch.rand(8, 4, dtype=torch.float64) + 0.5  # evidence for class 0 on the left
    x[0, 1, :, 4:] = torch.rand(8, 4, dtype=torch.float64) + 0.5  # evidence against it on the right
    model = evidence_net()
    cam = grad_cam(model, x, 0, model[0])
    with_relu = grad_cam_by_hand(model[0], model[1:], x, torch.tensor([0]))
    without_relu = grad_cam_by_hand(model[0], model[1:], x, torch.tensor([0]), relu=False)
    assert (cam - with_relu).abs().max() < 1e-12
    assert without_relu.min() < -0.5 and (cam - without_relu).abs().max() > 0.5  # a missing ReLU shows
    assert cam[0, :, 5:].abs().max() == 0 and cam[0, :, :3].min() > 0.3  # only the left half lights up
    zero = grad_cam(model, x, 1, model[0])  # class 1: all evidence negative -> ReLU leaves nothing
    assert torch.equal(zero, torch.zeros_like(zero))


def paste(digits, corners, size=56):
    """Each 28x28 digit in corner 0 (top left), 1 (top right), 2 (bottom left) or 3 (bottom right)."""
    canvas = digits.new_zeros(len(digits), 1, size, size)
    for i, c in enumerate(corners.tolist()):
        r, col = (c // 2) * (size - 28), (c % 2) * (size - 28)
        canvas[i, :, r:r + 28, col:col + 28] = digits[i]
    return canvas


def quadrant(maps):
    peak = maps.flatten(1).argmax(1)
    return (peak // maps.shape[-1] >= maps.shape[-2] // 2).long() * 2 + (peak % maps.shape[-1] >= maps.shape[-1] // 2).long()


@pytest.fixture(scope="module")
def corner_net():
    """A fully convolutional net + global average pooling, trained here for ~2 s (seeded).

    Trained rather than hand-built: a hand-built "ink detector" would put the peak on any digit,
    whatever the class; a trained net must find the evidence of the class itself, and the
    two-digit test below checks that it does.
    """
    from cnnlib.data import mnist_split

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    s = mnist_split()
    x = paste(s.x_train, torch.randint(0, 4, (len(s.x_train),), generator=gen))  # (3500, 1, 56, 56)
    net = nn.Sequential(nn.Conv2d(1, 12, 4, stride=4), nn.ReLU(),  # 14x14
                        nn.Conv2d(12, 24, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(24, 24, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(4):
        for b in torch.randperm(len(x), generator=gen).split(64):
            loss = F.cross_entropy(net(x[b]), s.y_train[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval(), s.x_test[:200], s.y_test[:200]


@pytest.mark.parametrize("corner", [0, 1, 2, 3])
def test_grad_cam_peak_lands_on_the_digit_in_each_corner(corner_net, corner):
    net, digits, labels = corner_net
    x = paste(digits, torch.full((len(digits),), corner))
    with torch.no_grad():
        right = net(x).argmax(1) == labels
    assert right.float().mean() > 0.7  # the net learned the digits (about 85 % here)
    cam = grad_cam(net, x, labels, layer=net[5])
    assert cam.shape == (200, 56, 56) and torch.all(cam[right].flatten(1).amax(1) == 1)  # no empty map (argmax 0)
    assert (quadrant(cam) == corner)[right].float().mean() > 0.95  # 99-100 % measured


def test_grad_cam_is_class_discriminative_with_two_digits(corner_net):
    net, digits, labels = corner_net
    a, b = slice(0, 100), slice(100, 200)
    x = paste(digits[a], torch.zeros(100, dtype=torch.long)) + paste(digits[b], torch.full((100,), 3))
    differ = labels[a] != labels[b]
    hit_a = quadrant(grad_cam(net, x, labels[a], net[5])) == 0
    hit_b = quadrant(grad_cam(net, x, labels[b], net[5])) == 3
    # an explanation that ignored the class would hit each corner about half of the time
    assert hit_a[differ].float().mean() > 0.7 and hit_b[differ].float().mean() > 0.7


# ---------------------------------------------------------------------------------- saliency
def test_saliency_matches_finite_differences_and_per_image_autograd():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 16, 5)).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    target = torch.tensor([1, 4])
    sal = saliency(model, x, target)
    assert sal.shape == (2, 6, 6) and not sal.requires_grad
    eps, fd, D = 1e-6, torch.zeros_like(x), x[0].numel()
    with torch.no_grad():
        for n in range(2):  # central differences, one input element per row of a batch of D copies
            step = torch.eye(D, dtype=torch.float64).view(D, *x.shape[1:]) * eps  # (D, C, H, W)
            up, down = model(x[n] + step)[:, target[n]], model(x[n] - step)[:, target[n]]
            fd[n] = ((up - down) / (2 * eps)).view(x.shape[1:])
    assert (sal - fd.abs().amax(1)).abs().max() < 1e-7
    for n in range(2):  # one image at a time: batching must not mix images
        xi = x[n:n + 1].clone().requires_grad_(True)
        model(xi)[0, target[n]].backward()
        assert torch.allclose(saliency(model, x[n], int(target[n])), xi.grad[0].abs().amax(0), atol=1e-12)


def test_saliency_and_grad_cam_leave_the_model_and_inputs_as_they_were():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model.train()
    model[1].eval()  # mixed modes must come back exactly
    model[0].weight.requires_grad_(False)  # a frozen parameter stays frozen, the others trainable
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    with torch.no_grad():  # works even where the caller switched gradients off
        sal = saliency(model, x, 2)
        cam = grad_cam(model, x, 2, model[2])
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters()) and x.grad is None and x.requires_grad
    assert all(not m._forward_hooks for m in model.modules())
    reference = model.eval()  # both ran in eval mode: dropout off, running batch-norm statistics
    assert torch.equal(sal, saliency(reference, x, 2)) and torch.equal(cam, grad_cam(reference, x, 2, model[2]))


def test_hooks_are_removed_when_the_forward_raises():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5, 3))  # wrong Linear size
    model.train()
    x = torch.randn(2, 1, 6, 6)
    for call in (lambda: grad_cam(model, x, 0, model[1]), lambda: saliency(model, x, 0)):
        with pytest.raises(RuntimeError):
            call()
        assert all(not m._forward_hooks for m in model.modules())
        assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match=r"feature maps \(N, K, h, w\)"):  # the hook itself raises
        grad_cam(model, x, 0, model[2])
    assert not model[2]._forward_hooks


def test_a_shared_module_is_refused():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), relu, nn.Conv2d(2, 2, 3), relu)
    with pytest.raises(ValueError, match="ran 2 times"):
        grad_cam(nn.Sequential(model, nn.Flatten(), nn.LazyLinear(3)), torch.randn(1, 1, 8, 8), 0, relu)
    assert not relu._forward_hooks


def test_bad_arguments_raise_clear_errors():
    model = small_cnn()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    outsider = nn.Conv2d(3, 3, 1)
    with pytest.raises(ValueError, match="not a submodule"):
        grad_cam(model, x, 0, outsider)
    with pytest.raises(TypeError, match="layer must be an nn.Module"):
        grad_cam(model, x, 0, "0")
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        saliency(lambda t: t, x, 0)
    for bad in (x[0, 0], x[None], x.long()):
        with pytest.raises(ValueError, match=r"x must be a floating-point tensor of shape \(C, H, W\) or \(N, C, H, W\)"):
            grad_cam(model, bad, 0, model[0])
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        saliency(model, x.numpy(), 0)
    for cls in (10, -1, torch.tensor([0, 10])):
        with pytest.raises(ValueError, match=r"target_class must lie in \[0, 10\)"):
            grad_cam(model, x, cls, model[0])
    with pytest.raises(ValueError, match="target must lie in"):
        saliency(model, x, 10)
    with pytest.raises(ValueError, match=r"Tensor\[N=2\]"):
        grad_cam(model, x, torch.tensor([0, 1, 2]), model[0])
    for cls in (1.0, True, torch.tensor([0.0, 1.0])):
        with pytest.raises(TypeError, match="integer"):
            grad_cam(model, x, cls, model[0])
    with pytest.raises(ValueError, match=r"class scores of shape \(N=2, num_classes\)"):
        grad_cam(model[0], x, 0, model[0][1])


def test_empty_batches():
    model = small_cnn()
    empty = torch.zeros(0, 3, 8, 8, dtype=torch.float64)
    assert grad_cam(model, empty, 0, model[0]).shape == (0, 8, 8)
    assert saliency(model, empty, 0).shape == (0, 8, 8)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    model, cuda, x = cpu_and_cuda()
    classes = torch.tensor([1, 2, 3])
    cam, sal = grad_cam(cuda, x.cuda(), classes.cuda(), cuda[0]), saliency(cuda, x.cuda(), 4)
    assert cam.device.type == "cuda" and torch.allclose(cam.cpu(), grad_cam(model, x, classes, model[0]))
    assert torch.allclose(sal.cpu(), saliency(model, x, 4))
