"""EfficientNet (Tan & Le, ICML 2019): MBConv blocks and compound scaling.

**Compound scaling** (seed 004: "optimal resolution, width and depth"): scale depth by
``alpha^phi``, width by ``beta^phi`` and resolution by ``gamma^phi`` together, with
``alpha = 1.2, beta = 1.1, gamma = 1.15`` found by a grid search on B0 under
``alpha * beta^2 * gamma^2 ~ 2``, so each step of ``phi`` roughly doubles the FLOPs (FLOPs grow
linearly with depth and quadratically with width and resolution). Widths are rounded to
multiples of 8 (:func:`~cnnlib.models.mobilenet.make_divisible`) and layer counts rounded up
(``ceil``). :func:`compound_scaling` evaluates the formula; the released B1..B7 used hand-rounded
coefficients instead (:data:`EFFICIENTNET_PARAMS`, from the official TensorFlow code), and
:func:`efficientnet_scaling_table` lists both side by side.

**MBConv**: MobileNet v2's inverted residual with a 3x3 or 5x5 depthwise kernel, SiLU
activations, squeeze-and-excitation on the expanded channels (squeezed to ``c_in / 4``) and
stochastic depth on the residual branch. :func:`efficientnet_b0` is torchvision's layout with
its 5,288,548 parameters (batch-norm hyperparameters are PyTorch's defaults).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cnnlib._checks import check_choice, check_float, check_images, check_int, check_int_list
from cnnlib.models.attention import SqueezeExcitation
from cnnlib.models.layers import Conv2dNormActivation, PooledClassifier, init_weights
from cnnlib.models.mobilenet import make_divisible

__all__ = ["StochasticDepth", "MBConv", "EfficientNet", "EFFICIENTNET_B0_CONFIG", "EFFICIENTNET_PARAMS",
           "compound_scaling", "scale_config", "efficientnet_scaling_table", "efficientnet_b0",
           "efficientnet_b", "EFFICIENTNET_SMALL_CONFIG", "efficientnet_small"]

#: B0's stages (paper table 1): ``(expand_ratio, kernel, stride, c_in, c_out, layers)``.
EFFICIENTNET_B0_CONFIG: list[tuple[int, int, int, int, int, int]] = [
    (1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1),
]
#: The released models: ``name -> (width_mult, depth_mult, resolution, dropout)`` (official code;
#: torchvision's B2 weights are evaluated at 288 instead of 260).
EFFICIENTNET_PARAMS: dict[str, tuple[float, float, int, float]] = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}


def compound_scaling(phi: float, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15,
                     base_resolution: int = 224) -> tuple[float, float, int]:
    """``(depth_mult, width_mult, resolution) = (alpha^phi, beta^phi, round(base * gamma^phi))``.

    Example:
        >>> d, w, r = compound_scaling(1)
        >>> round(d, 4), round(w, 4), r, round(1.2 * 1.1 ** 2 * 1.15 ** 2, 4)  # FLOPs x ~2 per step
        (1.2, 1.1, 258, 1.9203)
    """
    check_float(phi, "phi", 0.0, low_inclusive=True)
    for name, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        check_float(v, name, 1.0, low_inclusive=True)
    check_int(base_resolution, "base_resolution")
    return alpha ** phi, beta ** phi, round(base_resolution * gamma ** phi)


def scale_config(config: Sequence[tuple[int, ...]], width_mult: float = 1.0, depth_mult: float = 1.0
                 ) -> list[tuple[int, int, int, int, int, int]]:
    """Scale stages: channels ``make_divisible(c * width_mult, 8)``, layers ``ceil(n * depth_mult)``.

    Example:
        >>> scale_config(EFFICIENTNET_B0_CONFIG, *EFFICIENTNET_PARAMS["b7"][:2])[-1]  # B7's last stage
        (6, 3, 1, 384, 640, 4)
    """
    check_float(width_mult, "width_mult", 0.0)
    check_float(depth_mult, "depth_mult", 0.0)
    out = []
    for i, entry in enumerate(config):
        if len(entry) != 6:
            raise ValueError(f"config[{i}] must be (expand_ratio, kernel, stride, c_in, c_out, layers), "
                             f"got {entry!r}")
        t, k, s, c_in, c_out, n = check_int_list(entry, f"config[{i}]")
        out.append((t, k, s, make_divisible(c_in * width_mult), make_divisible(c_out * width_mult),
                    int(math.ceil(n * depth_mult))))
    return out


def efficientnet_scaling_table(base_resolution: int = 224) -> list[dict[str, float | int | str]]:
    """B0..B7: the formula's ``(depth, width, resolution)`` at ``phi = 0..7`` and the released ones.

    Returns:
        list[dict]: one row per model with keys ``name, phi, depth_formula, width_formula,
        resolution_formula, depth, width, resolution, dropout`` (the last four as released).

    Example:
        >>> row = efficientnet_scaling_table()[7]
        >>> row["name"], round(row["depth_formula"], 2), round(row["width_formula"], 2)
        ('b7', 3.58, 1.95)
        >>> row["depth"], row["width"], row["resolution"]  # as released
        (3.1, 2.0, 600)
    """
    rows = []
    for phi, (name, (w, d, r, p)) in enumerate(EFFICIENTNET_PARAMS.items()):
        df, wf, rf = compound_scaling(phi, base_resolution=base_resolution)
        rows.append({"name": name, "phi": phi, "depth_formula": df, "width_formula": wf,
                     "resolution_formula": rf, "depth": d, "width": w, "resolution": r, "dropout": p})
    return rows


class StochasticDepth(nn.Module):
    """Drop a residual branch for whole examples with probability ``p`` while training
    (Huang et al., 2016), scaling the kept ones by ``1 / (1 - p)``; identity in eval mode.

    Example:
        >>> StochasticDepth(0.5).eval()(torch.ones(3, 2)).tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = check_float(p, "p", 0.0, 1.0, low_inclusive=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        return x * keep.bernoulli_(1 - self.p) / (1 - self.p)


class MBConv(nn.Module):
    """1x1 expand -> BN -> SiLU, depthwise kxk -> BN -> SiLU, SE, 1x1 project -> BN (+ input).

    The input is added (after stochastic depth on the branch) exactly when ``stride == 1 and
    c_in == c_out``; with ``expand_ratio == 1`` there is no expansion layer.

    Args:
        c_in (int): input channels.
        c_out (int): output channels.
        kernel_size (int): 3 or 5, the depthwise kernel.
        stride (int): 1 or 2.
        expand_ratio (int): ``t >= 1``; expanded width ``make_divisible(t * c_in)``.
        stochastic_depth_prob (float): probability of dropping the branch in training, [0, 1).

    Shape:
        ``(N, c_in, H, W) -> (N, c_out, floor((H - 1) / stride) + 1, ...)``.

    Raises:
        TypeError / ValueError: for non-positive channels, a bad kernel, stride or expansion.

    Example:
        >>> block = MBConv(16, 24, kernel_size=3, stride=2, expand_ratio=6)
        >>> block(torch.zeros(2, 16, 8, 8)).shape, block.use_res_connect
        (torch.Size([2, 24, 4, 4]), False)
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, expand_ratio: int,
                 stochastic_depth_prob: float = 0.0) -> None:
        super().__init__()
        self.c_in, self.c_out = check_int(c_in, "c_in"), check_int(c_out, "c_out")
        check_choice(check_int(kernel_size, "kernel_size"), "kernel_size", (3, 5))
        self.stride = check_choice(check_int(stride, "stride"), "stride", (1, 2))
        check_int(expand_ratio, "expand_ratio", 1)
        self.use_res_connect = stride == 1 and c_in == c_out
        hidden = make_divisible(c_in * expand_ratio)
        layers: list[nn.Module] = []
        if hidden != c_in:
            layers.append(Conv2dNormActivation(c_in, hidden, 1, activation=nn.SiLU))             # expand
        layers += [
            Conv2dNormActivation(hidden, hidden, kernel_size, stride, hidden, nn.SiLU),  # depthwise
            SqueezeExcitation(hidden, max(1, c_in // 4), activation=nn.SiLU),                      # SE
            Conv2dNormActivation(hidden, c_out, 1, activation=None),                               # project
        ]
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "MBConv", self.c_in, 1)
        out = self.block(x)
        return x + self.stochastic_depth(out) if self.use_res_connect else out


class EfficientNet(PooledClassifier):
    """EfficientNet: 3x3 stem, MBConv stages, 1x1 conv to ``4 x`` the last width, GAP, FC.

    Args:
        config (Sequence[tuple]): unscaled stages ``(expand_ratio, kernel, stride, c_in, c_out, layers)``.
        width_mult (float): width coefficient.
        depth_mult (float): depth coefficient.
        num_classes (int): output logits.
        in_channels (int): image channels.
        dropout (float): dropout before the FC layer, in [0, 1).
        stochastic_depth_prob (float): rises linearly from 0 to this over the blocks.
        stem_stride (int): 2 for ImageNet, 1 for 28x28 digits.

    Shape:
        ``(N, in_channels, H, W) -> (N, num_classes)``.

    Example:
        >>> net = efficientnet_small()
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, config: Sequence[tuple[int, ...]] = tuple(EFFICIENTNET_B0_CONFIG),
                 width_mult: float = 1.0, depth_mult: float = 1.0, num_classes: int = 1000,
                 in_channels: int = 3, dropout: float = 0.2, stochastic_depth_prob: float = 0.2,
                 stem_stride: int = 2) -> None:
        super().__init__()
        if len(config) == 0:
            raise ValueError("config must list at least one stage, got []")
        stages = scale_config(config, width_mult, depth_mult)
        self.check_classifier_args(num_classes, in_channels, dropout)
        check_float(stochastic_depth_prob, "stochastic_depth_prob", 0.0, 1.0, low_inclusive=True)
        check_int(stem_stride, "stem_stride")
        c = stages[0][3]
        layers: list[nn.Module] = [Conv2dNormActivation(in_channels, c, 3, stem_stride, activation=nn.SiLU)]
        total, block_id = sum(s[5] for s in stages), 0
        for t, k, s, _, c_out, n in stages:
            stage = []
            for j in range(n):
                sd = stochastic_depth_prob * block_id / total
                stage.append(MBConv(c, c_out, k, s if j == 0 else 1, t, sd))
                c, block_id = c_out, block_id + 1
            layers.append(nn.Sequential(*stage))
        self.last_channel = 4 * c
        layers.append(Conv2dNormActivation(c, self.last_channel, 1, activation=nn.SiLU))
        self.set_features(nn.Sequential(*layers), self.last_channel)
        init_weights(self, linear="uniform")  # torchvision's initialisation


def efficientnet_b(variant: str, num_classes: int = 1000) -> EfficientNet:
    """EfficientNet-B0..B7 from :data:`EFFICIENTNET_PARAMS` (``variant`` ``"b0"`` .. ``"b7"``)."""
    check_choice(variant, "variant", tuple(EFFICIENTNET_PARAMS))
    w, d, _, p = EFFICIENTNET_PARAMS[variant]
    return EfficientNet(EFFICIENTNET_B0_CONFIG, w, d, num_classes, dropout=p)


def efficientnet_b0(num_classes: int = 1000) -> EfficientNet:
    """torchvision's EfficientNet-B0 for 224x224 ImageNet images (5,288,548 parameters).

    Example:
        >>> with torch.device("meta"):
        ...     net = efficientnet_b0()
        >>> sum(p.numel() for p in net.parameters()), net(torch.empty(1, 3, 224, 224, device="meta")).shape
        (5288548, torch.Size([1, 1000]))
    """
    return efficientnet_b("b0", num_classes)


#: Four stages for 28x28 digits (28 -> 14 -> 7), same block types as B0.
EFFICIENTNET_SMALL_CONFIG: list[tuple[int, int, int, int, int, int]] = [
    (1, 3, 1, 16, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 1, 40, 80, 2),
]


def efficientnet_small(num_classes: int = 10, in_channels: int = 1, width_mult: float = 1.0,
                       depth_mult: float = 1.0) -> EfficientNet:
    """A small EfficientNet for 28x28 digits (stride-1 stem), scalable like B0 by ``width_mult``
    and ``depth_mult``; dropout 0.1, stochastic depth 0.1."""
    return EfficientNet(EFFICIENTNET_SMALL_CONFIG, width_mult, depth_mult, num_classes, in_channels,
                        dropout=0.1, stochastic_depth_prob=0.1, stem_stride=1)
