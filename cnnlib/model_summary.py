"""A Keras-style layer table for any ``nn.Module``: output shapes and parameter counts.

``summary(model, (1, 28, 28))`` runs one forward pass on a zero batch with forward hooks on
every leaf module, records each leaf's output shape and its own parameters, and prints a table
with the totals at the bottom. Parameters that belong to a container itself (not to a leaf) are
listed on a row of their own, so the rows always add up to ``sum(p.numel() for p in
model.parameters())``; parameters shared between layers are counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["LayerRow", "ModelSummary", "summary"]


@dataclass(frozen=True)
class LayerRow:
    """One row of the table: a leaf module's name, class, output shape and own parameters."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | str
    params: int
    trainable: int


@dataclass
class ModelSummary:
    """The result of :func:`summary`: rows plus totals; ``str()`` gives the printed table."""

    rows: list[LayerRow] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()
    total_params: int = 0
    trainable_params: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        headers = ("Layer (type)", "Output shape", "Param #")
        body = [
            (f"{r.name} ({r.kind})", _fmt_shape(r.output_shape), f"{r.params:,}") for r in self.rows
        ]
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h)
                  for i, h in enumerate(headers)]
        line = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
        rule = "=" * (sum(widths) + 4)
        out = [rule, line.format(*headers), rule]
        out += [line.format(*row) for row in body]
        out += [
            rule,
            f"Input shape: {_fmt_shape(self.input_shape)}",
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            rule,
        ]
        return "\n".join(out)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table, not the dataclass
        printer.text(str(self))


def _fmt_shape(shape: tuple[int, ...] | str) -> str:
    if isinstance(shape, str):
        return shape
    return "(" + ", ".join("N" if i == 0 else str(s) for i, s in enumerate(shape)) + ")"


def _shape_of(output: object) -> tuple[int, ...] | str:
    if isinstance(output, torch.Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return ", ".join(_fmt_shape(_shape_of(o)) for o in output)
    return type(output).__name__


def summary(
    model: nn.Module,
    input_shape: Sequence[int],
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    print_table: bool = True,
) -> ModelSummary:
    """Print and return a layer table of ``model`` (Keras's ``model.summary()``).

    Args:
        model (nn.Module): the network; its mode (train/eval) is restored afterwards.
        input_shape (Sequence[int]): shape of ONE example, ``(C, H, W)``; a full
            ``(N, C, H, W)`` is accepted too (N is replaced by 2 so batch norm works).
        device (torch.device | str | None): where to run the probe pass; default: the device of
            the model's first parameter (CPU for a parameter-free model).
        dtype (torch.dtype): dtype of the probe input.
        print_table (bool): print the table as well as returning it.

    Returns:
        ModelSummary: rows (leaf modules in call order) and totals. Output shapes show the
        batch axis as ``N``.

    Raises:
        TypeError: if ``model`` is not an ``nn.Module``.
        ValueError: if ``input_shape`` is empty or has a non-positive size, or if the forward
            pass fails for that shape (the message includes PyTorch's error).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
        >>> s = summary(net, (1, 28, 28), print_table=False)
        >>> s.total_params == sum(p.numel() for p in net.parameters())
        True
        >>> s.rows[0].output_shape
        (2, 4, 26, 26)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 0 or any(s <= 0 for s in shape):
        raise ValueError(f"input_shape must be non-empty with positive sizes, got {tuple(input_shape)}")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    probe = torch.zeros((2, *shape) if len(shape) != 4 else (2, *shape[1:]), dtype=dtype, device=device)

    rows: list[LayerRow] = []
    seen: set[int] = set()  # parameters already counted (shared weights count once)

    def own_params(module: nn.Module) -> tuple[int, int]:
        total = trainable = 0
        for p in module.parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            total += p.numel()
            trainable += p.numel() if p.requires_grad else 0
        return total, trainable

    def make_hook(name: str):
        def hook(module: nn.Module, args: tuple, output: object) -> None:
            total, trainable = own_params(module)
            rows.append(LayerRow(name, type(module).__name__, _shape_of(output), total, trainable))
        return hook

    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):  # leaves only
            handles.append(module.register_forward_hook(make_hook(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(probe)
    except Exception as err:  # report the shape that failed, with PyTorch's reason
        raise ValueError(f"forward pass failed for input of shape {tuple(probe.shape)}: {err}") from err
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    # Parameters held directly by containers, and leaves never called in forward.
    for name, module in model.named_modules():
        total, trainable = own_params(module)
        if total:
            rows.append(LayerRow(name or type(model).__name__, type(module).__name__, "(not called)"
                                 if not list(module.children()) else "(container)", total, trainable))
    result = ModelSummary(
        rows=rows,
        input_shape=tuple(probe.shape),
        total_params=sum(r.params for r in rows),
        trainable_params=sum(r.trainable for r in rows),
    )
    if print_table:
        print(result)
    return result
