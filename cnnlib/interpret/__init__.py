"""Looking inside a CNN: feature maps, receptive fields, the patches that excite a unit, saliency and Grad-CAM.

One concept per module:

- :mod:`~cnnlib.interpret.features`: the activations of any layers, by name, module or type,
  detached for pictures or with their graph for losses on features (:func:`feature_maps`,
  :class:`FeatureExtractor`).
- :mod:`~cnnlib.interpret.attribution`: which pixels a class score rests on (:func:`saliency`,
  Simonyan et al. 2014; :func:`grad_cam`, Selvaraju et al. 2017).
- :mod:`~cnnlib.interpret.receptive_field`: the input pixels each unit of a layer sees, traced
  through the autograd graph, transposed convolutions and upsampling included
  (:func:`layer_receptive_field`, :func:`receptive_field_intervals`).
- :mod:`~cnnlib.interpret.patches`: the image patches that excite a unit most
  (:func:`top_k_patches`, Zeiler & Fergus 2014).

Example:
    >>> import torch
    >>> from torch import nn
    >>> from cnnlib.interpret import feature_maps
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    >>> tuple(feature_maps(net, torch.rand(1, 1, 5, 5), nn.ReLU)["1"].shape)
    (1, 2, 3, 3)
"""

from cnnlib.interpret.attribution import grad_cam, saliency
from cnnlib.interpret.features import FeatureExtractor, feature_maps, resolve_layers
from cnnlib.interpret.patches import TopPatches, top_k_patches
from cnnlib.interpret.receptive_field import layer_receptive_field, receptive_field_intervals

__all__ = [
    "feature_maps", "FeatureExtractor", "resolve_layers",
    "saliency", "grad_cam",
    "layer_receptive_field", "receptive_field_intervals",
    "top_k_patches", "TopPatches",
]
