"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998), adapted to 28x28 MNIST digits.

The original network read 32x32 images: C1 (six 5x5 filters, 28x28 maps), S2 (2x2
subsampling), C3 (sixteen 5x5 filters, 10x10), S4 (2x2, 5x5), C5/F6 (120 and 84 units) and
an output of 10 units. MNIST digits are 28x28, so the first convolution pads by 2: the maps
then have exactly the original sizes (seed 002: C1 has 6x28x28 = 4,704 neurons, C3 16x10x10 =
1,600; S4 passes 16x5x5 = 400 values to the fully connected layers).

What differs from 1998, and why:

- **Activation**: ReLU by default instead of the scaled tanh ``1.7159 tanh(2x/3)``. ReLU does
  not saturate for positive inputs, so gradients do not vanish and the net trains in a few
  epochs with Adam; ``activation="tanh"`` gives the classic choice for comparison.
- **Pooling**: max pooling by default. S2/S4 in the paper multiplied a 2x2 *sum* by a trained
  coefficient and added a trained bias; ``pooling="avg"`` is the parameter-free version of that
  average subsampling. Max pooling keeps the strongest response and trains a little better.
- **C3** is fully connected to the six S2 maps (the paper's sparse connection table broke
  symmetry with 1998 compute budgets; it saved parameters, not accuracy).
- **Output**: plain logits for ``nn.CrossEntropyLoss`` instead of the Euclidean RBF units.

Parameters: ``6(25 + 1) + 16(6*25 + 1) + (400*120 + 120) + (120*84 + 84) + (84 K + K)``,
61,706 for ``K = 10``.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_choice, check_images, check_int

__all__ = ["LeNet5"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class LeNet5(nn.Module):
    """LeNet-5 for ``1 x 28 x 28`` images: conv5(pad 2) -> pool -> conv5 -> pool -> FC 120, 84, K.

    Args:
        num_classes (int): number of output logits ``K``.
        activation (str): ``"relu"`` (default) or ``"tanh"`` (the 1998 choice).
        pooling (str): ``"max"`` (default) or ``"avg"`` (the 1998 average subsampling).

    Shape:
        ``(N, 1, 28, 28) -> (N, num_classes)`` logits. The first fully connected layer sees a
        ``16 x 5 x 5`` map, so the input must be exactly 28x28.

    Raises:
        TypeError / ValueError: for a non-positive ``num_classes`` or an unknown activation or
            pooling; in ``forward``, for an input that is not ``(N, 1, 28, 28)``.

    Example:
        >>> net = LeNet5()
        >>> net(torch.zeros(2, 1, 28, 28)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([2, 10]), 61706)
    """

    input_size = 28
    in_channels = 1

    def __init__(self, num_classes: int = 10, activation: str = "relu", pooling: str = "max") -> None:
        super().__init__()
        check_int(num_classes, "num_classes")
        check_choice(activation, "activation", tuple(_ACTIVATIONS))
        check_choice(pooling, "pooling", tuple(_POOLS))
        act, pool = _ACTIVATIONS[activation], _POOLS[pooling]
        self.num_classes = num_classes
        self.min_input_size = self.input_size
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), act(), pool(2),  # C1, S2: (N, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5), act(), pool(2),             # C3, S4: (N, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),                                                # (N, 400)
            nn.Linear(16 * 5 * 5, 120), act(),                           # C5
            nn.Linear(120, 84), act(),                                   # F6
            nn.Linear(84, num_classes),                                  # output logits
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "LeNet5", self.in_channels, self.input_size, exact_size=self.input_size)
        return self.classifier(self.features(x))
