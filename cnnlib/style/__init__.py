"""Neural style transfer and texture synthesis with a feature network that needs no download.

- :mod:`~cnnlib.style.costs`: the content cost, the (normalised) Gram matrix, the style cost of
  a layer and over layers, total variation;
- :mod:`~cnnlib.style.random_net`: :class:`RandomTextureNet`, random multi-scale filters
  (Ustyuzhaninov et al. 2017), a feature network without training or download;
- :mod:`~cnnlib.style.transfer`: :func:`style_transfer`, ``J(G) = alpha J_content + beta J_style``
  (+ total variation) minimised over the image with L-BFGS or Adam, from noise or from the
  content photo; with no content image, texture synthesis.

Features are taken from named layers of any ``nn.Module`` with
:func:`cnnlib.interpret.feature_maps` (``detach=False`` keeps the graph to the image).
Images are float ``(N, C, H, W)`` (or one ``(C, H, W)``) in [0, 1].
"""

from cnnlib.style.costs import content_cost, gram_matrix, style_cost, style_layer_cost, total_variation_loss
from cnnlib.style.random_net import RandomTextureNet
from cnnlib.style.transfer import OPTIMIZERS, style_transfer

__all__ = ["gram_matrix", "content_cost", "style_layer_cost", "style_cost", "total_variation_loss",
           "RandomTextureNet", "OPTIMIZERS", "style_transfer"]
