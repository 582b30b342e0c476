"""The networks of the architectures chapter, full size and small, with their costs.

Full-size ImageNet models have torchvision's layouts and parameter counts (:func:`alexnet`,
:func:`vgg16`, :func:`resnet18`, :func:`resnet50`, :func:`mobilenet_v2`, :func:`efficientnet_b0`,
...); the same classes build small configurations for ``1 x 28 x 28`` MNIST digits
(:func:`vgg_small`, :func:`resnet_small`, ...) that train on a CPU in seconds. One concept per
module:

- :mod:`~cnnlib.models.lenet`: LeNet-5.
- :mod:`~cnnlib.models.alexnet`, :mod:`~cnnlib.models.vgg`: AlexNet and VGG.
- :mod:`~cnnlib.models.resnet`: basic and bottleneck residual blocks, ResNet, plain networks.
- :mod:`~cnnlib.models.inception`: the Inception module (with and without 1x1 bottlenecks).
- :mod:`~cnnlib.models.mobilenet`: depthwise separable convolution, inverted residual, MobileNet v1/v2.
- :mod:`~cnnlib.models.efficientnet`: MBConv and compound scaling.
- :mod:`~cnnlib.models.attention`: squeeze-and-excitation and CBAM.
- :mod:`~cnnlib.models.layers`: the conv -> batch norm -> activation unit.
- :mod:`~cnnlib.models.complexity`: parameter and multiply-accumulate counts.

Every network checks its input at the top of ``forward`` (4-D, channel count, at least
``min_input_size``) and every constructor its arguments, raising ``ValueError`` with the
expected and the received value. Nothing here downloads weights.

Example:
    >>> import torch
    >>> from cnnlib.models import count_macs, count_params, resnet_small
    >>> net = resnet_small()
    >>> net(torch.zeros(2, 1, 28, 28)).shape, count_params(net), count_macs(net, (1, 28, 28))
    (torch.Size([2, 10]), 174970, 20183936)
"""

from cnnlib.models.alexnet import AlexNet, alexnet, alexnet_small
from cnnlib.models.attention import CBAM, ChannelAttention, SpatialAttention, SqueezeExcitation
from cnnlib.models.complexity import complexity_table, count_macs, count_params
from cnnlib.models.efficientnet import (
    EFFICIENTNET_B0_CONFIG, EFFICIENTNET_PARAMS, EFFICIENTNET_SMALL_CONFIG, EfficientNet, MBConv,
    StochasticDepth, compound_scaling, efficientnet_b, efficientnet_b0, efficientnet_scaling_table,
    efficientnet_small, scale_config,
)
from cnnlib.models.inception import (
    INCEPTION_SMALL_CONFIG, InceptionModule, InceptionNet, NaiveInceptionModule, inception_small,
)
from cnnlib.models.layers import Conv2dNormActivation, PooledClassifier, init_weights
from cnnlib.models.lenet import LeNet5
from cnnlib.models.mobilenet import (
    MOBILENET_V1_CONFIG, MOBILENET_V2_CONFIG, DepthwiseSeparableConv, InvertedResidual, MobileNetV1,
    MobileNetV2, make_divisible, mobilenet_v1, mobilenet_v1_small, mobilenet_v2, mobilenet_v2_small,
)
from cnnlib.models.resnet import (
    BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152, resnet_small,
)
from cnnlib.models.vgg import VGG, VGG_CONFIGS, VGG_SMALL_CONFIG, vgg11, vgg13, vgg16, vgg19, vgg_small

#: The small configurations for ``1 x 28 x 28`` digits, by name (each a function ``(num_classes=10)``).
SMALL_MODELS = {
    "lenet5": LeNet5, "alexnet_small": alexnet_small, "vgg_small": vgg_small,
    "resnet_small": resnet_small, "inception_small": inception_small,
    "mobilenet_v1_small": mobilenet_v1_small, "mobilenet_v2_small": mobilenet_v2_small,
    "efficientnet_small": efficientnet_small,
}

__all__ = [
    # LeNet, AlexNet, VGG
    "LeNet5", "AlexNet", "alexnet", "alexnet_small",
    "VGG", "VGG_CONFIGS", "VGG_SMALL_CONFIG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg_small",
    # ResNet
    "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101",
    "resnet152", "resnet_small",
    # Inception
    "InceptionModule", "NaiveInceptionModule", "InceptionNet", "INCEPTION_SMALL_CONFIG", "inception_small",
    # MobileNet
    "DepthwiseSeparableConv", "MobileNetV1", "MOBILENET_V1_CONFIG", "mobilenet_v1", "mobilenet_v1_small",
    "make_divisible", "InvertedResidual", "MobileNetV2", "MOBILENET_V2_CONFIG", "mobilenet_v2",
    "mobilenet_v2_small",
    # EfficientNet
    "StochasticDepth", "MBConv", "EfficientNet", "EFFICIENTNET_B0_CONFIG", "EFFICIENTNET_PARAMS",
    "EFFICIENTNET_SMALL_CONFIG", "compound_scaling", "scale_config", "efficientnet_scaling_table",
    "efficientnet_b0", "efficientnet_b", "efficientnet_small",
    # building blocks, attention, cost
    "Conv2dNormActivation", "PooledClassifier", "init_weights",
    "SqueezeExcitation", "ChannelAttention", "SpatialAttention", "CBAM",
    "count_params", "count_macs", "complexity_table", "SMALL_MODELS",
]
