"""Feature extraction: the activations of any layers of a network, by name, module or type.

A forward hook on each chosen module records its output (seed 004: "what each layer
computes"). Two uses need two behaviours:

- visualisation (``detach=True``, the default): the maps are detached copies, computed without a
  graph, so a loop over a test set keeps no memory alive;
- losses on features (``detach=False``): style transfer's Gram matrices and a perceptual loss
  back-propagate through the features to the input image (Gatys et al., *A Neural Algorithm of
  Artistic Style*, 2015), so the recorded outputs keep their graph.

:class:`FeatureExtractor` is the context manager (hooks on while the ``with`` block runs, the
last output of each layer in ``.features``); :func:`feature_maps` runs one forward pass in eval
mode and returns ``{name: map}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnlib.interpret._common import _check_model, _eval_mode, _images

__all__ = ["FeatureExtractor", "feature_maps", "resolve_layers"]

Layers = str | nn.Module | type | Sequence[str | nn.Module | type]


def resolve_layers(model: nn.Module, layers: Layers) -> dict[str, nn.Module]:
    """The modules that ``layers`` names, keyed by their qualified names in ``model``.

    Args:
        model (nn.Module): the network.
        layers (str | nn.Module | type | Sequence): each entry is a name from
            ``model.named_modules()`` (``"features.3"``), a submodule itself, or a module class
            (``nn.Conv2d``: every submodule of that type, in definition order).

    Returns:
        dict[str, nn.Module]: name -> module, in the order asked, without repeats.

    Raises:
        TypeError: for a non-module model or an entry that is none of the three kinds.
        ValueError: for an unknown name, a module outside ``model`` or a type that matches nothing.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3))
        >>> list(resolve_layers(net, nn.Conv2d)), list(resolve_layers(net, ["1", net[0]]))
        (['0', '2'], ['1', '0'])
    """
    _check_model(model)
    entries = [layers] if isinstance(layers, (str, nn.Module, type)) else layers
    if not isinstance(entries, Sequence):
        raise TypeError(f"layers must be a name, a module, a module type or a sequence of them, got {layers!r}")
    named = dict(model.named_modules())
    out: dict[str, nn.Module] = {}
    for entry in entries:
        if isinstance(entry, str):
            if entry not in named:
                raise ValueError(f"layers must name modules of model (see model.named_modules(): "
                                 f"{[n for n in named if n][:8]}...), got {entry!r}")
            out.setdefault(entry, named[entry])
        elif isinstance(entry, nn.Module):
            name = next((n for n, m in named.items() if m is entry), None)
            if name is None:
                raise ValueError(f"layer {type(entry).__name__} is not a submodule of model {type(model).__name__}")
            out.setdefault(name, entry)
        elif isinstance(entry, type) and issubclass(entry, nn.Module):
            found = {n: m for n, m in named.items() if n and isinstance(m, entry)}
            if not found:
                raise ValueError(f"layers: model has no submodule of type {entry.__name__}")
            for n, m in found.items():
                out.setdefault(n, m)
        else:
            raise TypeError(f"layers entries must be names, modules or nn.Module types, got {entry!r}")
    return out


class FeatureExtractor:
    """Record the outputs of chosen layers while the ``with`` block runs.

    Args:
        model (nn.Module): the network (its mode is left alone; see :func:`feature_maps`).
        layers (str | nn.Module | type | Sequence): as :func:`resolve_layers`.
        detach (bool): store detached copies (visualisation) or keep the graph (losses on
            features back-propagate to the input and the weights).

    Attributes:
        features (dict[str, Tensor]): the last output of each layer that has run.
        calls (dict[str, int]): how many times each layer ran inside the block.

    Raises:
        TypeError: during the forward pass, if a chosen layer returns something else than a tensor.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3))
        >>> x = torch.rand(1, 1, 6, 6, requires_grad=True)
        >>> with FeatureExtractor(net, nn.Conv2d, detach=False) as fx:
        ...     _ = net(x)
        >>> loss = sum(f.square().sum() for f in fx.features.values())  # a loss on features...
        >>> loss.backward(); tuple(x.grad.shape)                       # ...reaches the input
        (1, 1, 6, 6)
    """

    def __init__(self, model: nn.Module, layers: Layers, detach: bool = True):
        if not isinstance(detach, bool):
            raise TypeError(f"detach must be a bool, got {detach!r}")
        self.model, self.layers, self.detach = model, resolve_layers(model, layers), detach
        self.features: dict[str, torch.Tensor] = {}
        self.calls: dict[str, int] = {name: 0 for name in self.layers}
        self._handles: list = []

    def _hook(self, name: str):
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {name!r} returned {type(output).__name__}, expected a tensor")
            self.calls[name] += 1
            # a copy: an in-place operation after the layer (ReLU(inplace=True)) cannot change it
            self.features[name] = output.detach().clone() if self.detach else output.clone()
        return hook

    def __enter__(self) -> "FeatureExtractor":
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self.layers.items()]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def feature_maps(model: nn.Module, x: torch.Tensor, layers: Layers, detach: bool = True) -> dict[str, torch.Tensor]:
    """Activations of chosen layers for a batch, from one forward pass in eval mode (seed 004).

    Args:
        model (nn.Module): the network (run in eval mode, its modes restored afterwards).
        x (Tensor[N, C, H, W]): input images.
        layers (str | nn.Module | type | Sequence): names from ``model.named_modules()`` such as
            ``"features.3"``, submodules, or module types (every ``nn.Conv2d``); see
            :func:`resolve_layers`.
        detach (bool): ``True``: detached copies computed without a graph; ``False``: the maps
            keep the graph from ``x`` and the weights, for losses on features.

    Returns:
        dict[str, Tensor]: layer name -> its output, in the order asked.

    Raises:
        TypeError: for a model that is not an ``nn.Module`` or a non-tensor ``x``.
        ValueError: for an unknown layer, a wrong shape, or a layer that did not run exactly once.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
        >>> {k: tuple(v.shape) for k, v in feature_maps(net, torch.randn(2, 1, 8, 8), ["0", "2"]).items()}
        {'0': (2, 4, 6, 6), '2': (2, 4, 3, 3)}
    """
    _check_model(model)
    xb, _ = _images(x, allow_single=False, detach=detach)
    with FeatureExtractor(model, layers, detach) as fx, _eval_mode(model), torch.set_grad_enabled(not detach):
        model(xb)
    for name, n in fx.calls.items():
        if n != 1:
            raise ValueError(f"layer {name!r} ran {n} times in one forward pass; "
                             "choose a module that runs exactly once (not a shared one)")
    return {name: fx.features[name] for name in fx.layers}
