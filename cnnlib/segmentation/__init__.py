"""Semantic segmentation: per-pixel classification with FCN, U-Net and DeconvNet, its metrics and losses.

- :mod:`~cnnlib.segmentation.unet`: ``double_conv`` and U-Net (Ronneberger et al. 2015), skips
  by concatenation, transposed-convolution or resize-then-convolve upsampling;
- :mod:`~cnnlib.segmentation.fcn`: a small FCN (Long et al. 2015) with FCN-8s-style skip fusion
  and transposed convolutions initialised as bilinear upsampling (``bilinear_kernel``);
- :mod:`~cnnlib.segmentation.deconvnet`: the deconvolution network (Noh et al. 2015), max
  unpooling with the encoder's switches;
- :mod:`~cnnlib.segmentation.losses`: soft Dice loss and class weights (inverse and median
  frequency) for weighted cross-entropy (which is ``F.cross_entropy(weight=...)``);
- :mod:`~cnnlib.segmentation.metrics`: confusion matrix, pixel accuracy, per-class and mean IoU,
  Dice, averaged over the data set or per image, and the boundary IoU of contour bands;
- :mod:`~cnnlib.segmentation.steps`: the training step for :func:`cnnlib.train.fit`;
- :mod:`~cnnlib.segmentation.draw`: masks blended over images, image / target / prediction
  grids (matplotlib, imported only when called).

Images are ``Tensor[N, C, H, W]``, label maps (masks) integer ``Tensor[N, H, W]`` with values in
``[0, K)``, logits ``Tensor[N, K, H, W]``. A class absent from both prediction and target has
IoU and Dice NaN, skipped by the means.
"""

from cnnlib.segmentation.deconvnet import DeconvNet
from cnnlib.segmentation.draw import draw_masks, overlay_mask
from cnnlib.segmentation.fcn import FCN, bilinear_kernel
from cnnlib.segmentation.losses import class_weights, dice_loss
from cnnlib.segmentation.metrics import (
    boundary_band, boundary_iou, confusion_matrix, dice_coefficient, dice_per_class, iou_per_class, mean_iou,
    pixel_accuracy,
)
from cnnlib.segmentation.steps import SEGMENTATION_LOSSES, segmentation_step
from cnnlib.segmentation.unet import UNet, double_conv

__all__ = [
    # models
    "double_conv", "UNet", "bilinear_kernel", "FCN", "DeconvNet",
    # losses
    "dice_loss", "class_weights",
    # metrics
    "confusion_matrix", "pixel_accuracy", "iou_per_class", "mean_iou", "dice_per_class", "dice_coefficient",
    "boundary_band", "boundary_iou",
    # training and pictures
    "SEGMENTATION_LOSSES", "segmentation_step", "overlay_mask", "draw_masks",
]
