"""The costs of neural style transfer: content, Gram matrices, style over layers, total variation.

Gatys, Ecker and Bethge (*A Neural Algorithm of Artistic Style*, 2015; *Image Style Transfer
Using Convolutional Neural Networks*, CVPR 2016), in the notation of seed 001, for a layer ``l``
with activations ``a`` of shape ``(n_C, n_H, n_W)``:

- content: ``J_content(C, G) = 1/2 ||a(C) - a(G)||^2``, summed over every activation;
- style matrix: ``G_kk' = sum_ij a_ijk a_ijk'``, the correlations between channels, blind to
  *where* things are. :func:`gram_matrix` returns it **normalised** by ``n_C n_H n_W`` so that
  its size does not grow with the image;
- style of a layer: ``J_style(S, G) = 1 / (2 n_H n_W n_C)^2 ||G(S) - G(G)||_F^2`` with the
  unnormalised ``G``, which is exactly ``1/4 ||gram(S) - gram(G)||_F^2`` with the normalised
  one (:func:`style_layer_cost`); the style image may have another size than the generated one;
- over layers: ``J_style = sum_l lambda_l J_style^l`` (:func:`style_cost`);
- total variation (Mahendran and Vedaldi, *Understanding Deep Image Representations by
  Inverting Them*, CVPR 2015): the mean absolute difference of neighbouring pixels, which
  discourages the high-frequency noise the optimisation otherwise leaves.

Everything is differentiable; a batch of ``N`` images adds up ``N`` costs.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from cnnlib._checks import as_image_batch, check_float

__all__ = ["gram_matrix", "content_cost", "style_layer_cost", "style_cost", "total_variation_loss"]


def _maps(a: object, name: str) -> torch.Tensor:
    """Activations as ``(N, C, H, W)`` (one map ``(C, H, W)`` becomes a batch of one)."""
    return as_image_batch(a, name)[0]


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """The Gram (style) matrix of feature maps, normalised: ``G_kk' = sum_ij a_ijk a_ijk' / (C H W)``.

    Args:
        features (Tensor[N, C, H, W] | Tensor[C, H, W]): activations of one layer.

    Returns:
        Tensor[N, C, C] (or Tensor[C, C] for one map): symmetric, positive semi-definite.

    Raises:
        TypeError, ValueError: for a non-tensor, an integer tensor or another number of dims.

    Example:
        >>> a = torch.tensor([[[1.0, 2.0]], [[3.0, 0.0]]])  # C=2, H=1, W=2
        >>> gram_matrix(a)  # [[1+4, 3+0], [3+0, 9+0]] / 4
        tensor([[1.2500, 0.7500],
                [0.7500, 2.2500]])
    """
    single = isinstance(features, torch.Tensor) and features.dim() == 3
    a = _maps(features, "features")
    N, C, H, W = a.shape
    f = a.reshape(N, C, H * W)                    # (N, C, H*W)
    g = f @ f.transpose(1, 2) / (C * H * W)       # (N, C, C)
    return g[0] if single else g


def content_cost(a_c: torch.Tensor, a_g: torch.Tensor) -> torch.Tensor:
    """``1/2 ||a(C) - a(G)||^2`` summed over all activations (seed 001).

    Args:
        a_c (Tensor[N, C, H, W] | Tensor[C, H, W]): activations of the content image.
        a_g (Tensor): activations of the generated image, the same shape.

    Returns:
        Tensor: a scalar.

    Raises:
        ValueError: for different shapes.

    Example:
        >>> content_cost(torch.zeros(1, 2, 2), torch.ones(1, 2, 2))  # 4 values, each (0 - 1)^2 / 2
        tensor(2.)
    """
    c, g = _maps(a_c, "a_c"), _maps(a_g, "a_g")
    if c.shape != g.shape:
        raise ValueError(f"a_c and a_g must have the same shape, got {tuple(a_c.shape)} and {tuple(a_g.shape)}")
    return 0.5 * (c - g).pow(2).sum()


def style_layer_cost(a_s: torch.Tensor, a_g: torch.Tensor) -> torch.Tensor:
    """One layer's style cost ``1/4 ||gram(a_s) - gram(a_g)||_F^2`` (seed 001's ``J_style^[l]``).

    Equal to ``1 / (2 n_H n_W n_C)^2 sum_kk' (G_kk'(S) - G_kk'(G))^2`` with unnormalised Gram
    matrices when the two maps have the same size.

    Args:
        a_s (Tensor[N, C, H, W] | Tensor[C, H, W]): activations of the style image (a batch of
            one is compared with every generated image).
        a_g (Tensor[N, C, H', W'] | Tensor[C, H', W']): activations of the generated image(s),
            the same channels; the size may differ.

    Returns:
        Tensor: a scalar (summed over the batch).

    Raises:
        ValueError: for another number of channels or batch size.

    Example:
        >>> a_s, a_g = torch.tensor([[[1.0, 2.0]], [[3.0, 0.0]]]), torch.zeros(2, 1, 2)
        >>> style_layer_cost(a_s, a_g)  # (1.25^2 + 2 * 0.75^2 + 2.25^2) / 4
        tensor(1.9375)
    """
    s, g = _maps(a_s, "a_s"), _maps(a_g, "a_g")
    if s.shape[1] != g.shape[1] or len(s) not in (1, len(g)):
        raise ValueError(f"a_s must have the channels of a_g and a batch of 1 or {len(g)}, got "
                         f"{tuple(a_s.shape)} and {tuple(a_g.shape)}")
    return 0.25 * (gram_matrix(s) - gram_matrix(g)).pow(2).sum()


def style_cost(style_features: Mapping[str, torch.Tensor], generated_features: Mapping[str, torch.Tensor],
               weights: Mapping[str, float] | None = None) -> torch.Tensor:
    """``J_style = sum_l lambda_l J_style^[l]`` over the layers of ``generated_features``.

    Args:
        style_features (Mapping[str, Tensor]): layer name -> activations of the style image.
        generated_features (Mapping[str, Tensor]): layer name -> activations of the generated image.
        weights (Mapping[str, float] | None): ``lambda_l`` per layer (>= 0); default ``1 / L`` each.

    Returns:
        Tensor: a scalar.

    Raises:
        ValueError: for a layer missing from ``style_features`` or ``weights``, or no layer.

    Example:
        >>> s = {"a": torch.ones(1, 2, 2), "b": torch.zeros(1, 2, 2)}
        >>> g = {"a": torch.zeros(1, 2, 2), "b": torch.zeros(1, 2, 2)}
        >>> style_cost(s, g), style_cost(s, g, {"a": 2.0, "b": 1.0})  # J^[a] = 1/4, J^[b] = 0
        (tensor(0.1250), tensor(0.5000))
    """
    layers = list(generated_features)
    if not layers:
        raise ValueError("generated_features must name at least one layer")
    missing = [name for name in layers if name not in style_features]
    if missing:
        raise ValueError(f"style_features lacks the layers {missing}; it has {list(style_features)}")
    if weights is None:
        weights = {name: 1 / len(layers) for name in layers}
    elif any(name not in weights for name in layers):
        raise ValueError(f"weights must give lambda for every layer {layers}, got {list(weights)}")
    return sum(check_float(weights[name], f"weights[{name!r}]", 0.0, low_inclusive=True)
               * style_layer_cost(style_features[name], generated_features[name]) for name in layers)


def total_variation_loss(x: torch.Tensor, squared: bool = False) -> torch.Tensor:
    """Mean absolute (or squared) difference of vertically and horizontally neighbouring pixels.

    ``(sum |x[i+1, j] - x[i, j]| + sum |x[i, j+1] - x[i, j]|) / (N C H W)``: the anisotropic total
    variation, per pixel value so that its weight does not depend on the image size.

    Args:
        x (Tensor[N, C, H, W] | Tensor[C, H, W]): images.
        squared (bool): square the differences (smoother, kinder to edges' neighbours).

    Returns:
        Tensor: a scalar (0 for a constant image).

    Example:
        >>> total_variation_loss(torch.tensor([[[0.0, 1.0], [0.0, 1.0]]]))  # 2 jumps of 1 over 4 pixels
        tensor(0.5000)
    """
    xb = _maps(x, "x")
    dv = xb[:, :, 1:, :] - xb[:, :, :-1, :]  # (N, C, H-1, W)
    dh = xb[:, :, :, 1:] - xb[:, :, :, :-1]  # (N, C, H, W-1)
    f = torch.square if squared else torch.abs
    return (f(dv).sum() + f(dh).sum()) / xb.numel()
