"""Model cost: parameters and multiply-accumulate operations (MACs) of a forward pass.

A *MAC* is one multiplication and one addition, ``acc += w * x``; one MAC is two FLOPs.
:func:`count_macs` runs one forward pass with forward hooks on every convolution and linear
layer and adds up, for each call,

- ``nn.Conv1d/2d/3d``: ``N * C_out * prod(output spatial) * (C_in / groups) * prod(kernel)``,
  the work of a direct convolution (so a depthwise ``groups = C_in`` convolution costs
  ``C * H_out * W_out * kH * kW``, MobileNet's point);
- ``nn.ConvTranspose1d/2d/3d``: ``N * C_in * prod(input spatial) * (C_out / groups) * prod(kernel)``;
- ``nn.Linear``: ``numel(output) * in_features``.

Nothing else is counted: not biases, batch norm, activations, pooling, softmax, nor element-wise
products and sums (residual additions, squeeze-and-excitation scaling); these cost a few
operations per activation instead of per weight. This is also what
``torch.utils.flop_counter.FlopCounterMode`` counts for such networks (convolutions and matrix
products, at 2 FLOPs per MAC), and what the "GFLOPS" column of torchvision's model table reports
as MACs (ResNet-50: 4.09 G).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from cnnlib._checks import check_int, check_int_list

__all__ = ["count_params", "count_macs", "complexity_table"]


def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (weights and biases; buffers such as running means excluded).

    Parameters shared between layers count once (``module.parameters()`` deduplicates them).

    Args:
        module (nn.Module): any module.
        trainable_only (bool): count only parameters with ``requires_grad``.

    Returns:
        int: the count.

    Raises:
        TypeError: if ``module`` is not an ``nn.Module``.

    Example:
        >>> conv = nn.Conv2d(3, 8, 3)  # 8 * 3 * 3 * 3 weights + 8 biases
        >>> count_params(conv), count_params(conv.requires_grad_(False), trainable_only=True)
        (224, 0)
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _macs_of(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    kernel = math.prod(module.kernel_size)
    if module.transposed:  # every input value is spread over a kernel of C_out/groups channels
        return inputs[0].numel() * (module.out_channels // module.groups) * kernel
    return output.numel() * (module.in_channels // module.groups) * kernel


def count_macs(model: nn.Module, input_shape: Sequence[int], batch_size: int = 1,
               device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> int:
    """Multiply-accumulates of the convolutions and linear layers in one forward pass.

    Args:
        model (nn.Module): the network; run once in eval mode without gradients on a zero input
            (its train/eval mode is restored afterwards).
        input_shape (Sequence[int]): the shape of ONE example, without the batch axis:
            ``(C, H, W)`` for images, ``(C, L)`` for sequences, ``(features,)`` for an MLP.
        batch_size (int): examples in the probe batch; the count covers all of them.
        device (torch.device | str | None): where to run; default: the model's first parameter's
            device (``"meta"`` works: shapes only, no arithmetic, no memory).
        dtype (torch.dtype): dtype of the probe input.

    Returns:
        int: the number of MACs (FLOPs = 2 x MACs). See the module docstring for what counts.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: for an empty shape, a non-positive size or batch size, or if the forward
            pass fails (the message includes the model's own error).

    Example:
        >>> conv = nn.Conv2d(192, 32, 5, padding=2)  # the naive Inception 5x5 branch
        >>> count_macs(conv, (192, 28, 28)) == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
        True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    shape = (check_int(batch_size, "batch_size"), *check_int_list(tuple(input_shape), "input_shape"))
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += _macs_of(module, inputs, output)

    counted = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
               nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, counted)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(shape, dtype=dtype, device=device))
    except (RuntimeError, ValueError, TypeError) as err:
        raise ValueError(f"forward pass failed for input of shape {shape}: {err}") from err
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def complexity_table(models: Mapping[str, nn.Module], input_shape: Sequence[int],
                     device: torch.device | str | None = None) -> list[dict[str, object]]:
    """Parameters and MACs of several models on the same input, one row per model.

    Args:
        models (Mapping[str, nn.Module]): name -> model.
        input_shape (Sequence[int]): ``(C, H, W)`` of one example; MACs are per example.
        device (torch.device | str | None): passed to :func:`count_macs`; ``"meta"`` counts big
            models without memory (build them under ``with torch.device("meta"):``).

    Returns:
        list[dict]: rows ``{"model", "params", "macs", "input"}`` in the order given
        (``pandas.DataFrame(rows)`` makes a table of it).

    Raises:
        TypeError: if ``models`` is not a mapping of names to modules.

    Example:
        >>> rows = complexity_table({"fc": nn.Linear(4, 2), "conv": nn.Conv1d(1, 1, 3)}, (1, 4))
        >>> [(r["model"], r["params"], r["macs"]) for r in rows]
        [('fc', 10, 8), ('conv', 4, 6)]
    """
    if not isinstance(models, Mapping):
        raise TypeError(f"models must be a mapping of names to nn.Modules, got {type(models).__name__}")
    rows = []
    for name, model in models.items():
        rows.append({"model": name, "params": count_params(model),
                     "macs": count_macs(model, input_shape, device=device), "input": tuple(input_shape)})
    return rows
