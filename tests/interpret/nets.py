"""Small networks shared by the tests of cnnlib.interpret."""

import torch
from torch import nn


def small_cnn(head="gap", dtype=torch.float64, seed=0):
    """``nn.Sequential(features, head)`` with ten classes; ``features`` outputs (N, 6, 4, 4) on 8x8."""
    torch.manual_seed(seed)
    features = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(5, 6, 3, padding=1))
    if head == "gap":
        top = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 10))
    else:  # a dense head: dy/dA varies over space, so the spatial mean in alpha matters
        top = nn.Sequential(nn.Tanh(), nn.Flatten(), nn.Linear(6 * 16, 10))
    return nn.Sequential(features, top).to(dtype)


def positive(net):
    """Weights made positive and biases zero, so no gradient cancels (the support is the field)."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.abs() + 0.1 if p.dim() > 1 else torch.zeros_like(p))
    return net.double()


class Unused(nn.Module):
    """``conv`` runs in forward, ``extra`` never does."""

    def __init__(self):
        super().__init__()
        self.conv, self.extra = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 1)

    def forward(self, x):
        return self.conv(x)


def cpu_and_cuda():
    """``(model on the CPU, its copy on CUDA, a float64 batch (3, 3, 8, 8) on the CPU)``."""
    import copy

    model = small_cnn(dtype=torch.float64).eval()
    return model, copy.deepcopy(model).cuda(), torch.randn(3, 3, 8, 8, dtype=torch.float64)
