"""Tests for cnnlib.generative.pixelcnn: causality by autograd, the blind spot, conditioning, outputs.

Reference: autograd (the gradient of one output pixel with respect to the input, for every pixel),
the pixels reachable through the masks composed layer by layer with Python sets
(``tests/generative/reference.py``), the forward pass rewritten with ``torch.nn.functional`` from
the module's weights and hand-written masks, and conditional models against unconditional ones
whose biases hold the class embedding.
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from cnnlib.generative import PixelCNN, blind_spot, causal_mask, causal_window
from tests.generative.reference import input_gradient, pixelcnn_reach, randomise

CONFIGS = [  # (in_channels, channels, output, levels, num_classes)
    (1, 8, "bernoulli", 256, None),
    (1, 8, "categorical", 4, 3),
    (3, 12, "bernoulli", 256, 2),
    (3, 12, "categorical", 5, None),
]


def later(i, j, H, W):
    """Bool map of the pixels after (i, j) in raster order."""
    rows, cols = torch.arange(H)[:, None], torch.arange(W)[None, :]
    return (rows > i) | ((rows == i) & (cols > j))


@pytest.mark.parametrize("C,Fc,output,levels,K", CONFIGS)
def test_every_output_pixel_ignores_itself_and_later_pixels(C, Fc, output, levels, K):
    torch.manual_seed(0)
    net = randomise(PixelCNN(C, Fc, 2, 3, 3, output, levels, K).double(), seed=1)
    H, W = 5, 4
    x = torch.rand(8, C, H, W, dtype=torch.float64)                      # 8 images: no ReLU is off for all
    labels = torch.arange(8) % K if K else None
    for i in range(H):
        for j in range(W):
            for c in range(C):
                g = input_gradient(net, x, i, j, channel=c, labels=labels).abs().sum(0)   # (C, H, W)
                assert g[:, later(i, j, H, W)].eq(0).all(), f"output ({i}, {j}) colour {c} sees later pixels"
                assert g[c:, i, j].eq(0).all(), "of the pixel itself, only the colours before c may be read"
                if c > 0:
                    assert g[c - 1, i, j] > 0, "colour c should read colour c - 1 of its own pixel"
                if j > 0:
                    assert g[:, i, j - 1].sum() > 0, "the pixel to the left should be read"


@pytest.mark.parametrize("k,kb,layers", [(3, 3, 2), (5, 3, 3), (7, 3, 5)])
def test_dependencies_are_exactly_the_composed_masks(k, kb, layers):
    torch.manual_seed(0)
    net = PixelCNN(1, 16, layers, k, kb).double()
    H, W = 13, 13
    x = torch.rand(4, 1, H, W, dtype=torch.float64)
    for i, j in [(0, 0), (6, 6), (12, 3), (9, 12), (12, 12)]:
        deps = input_gradient(net, x, i, j).abs().sum((0, 1)) > 0                     # (H, W)
        expected = torch.zeros(H, W, dtype=torch.bool)
        for a, b in pixelcnn_reach(i, j, k, kb, layers, H, W):
            expected[a, b] = True
        assert torch.equal(deps, expected), f"dependencies of ({i}, {j})"


def test_blind_spot_of_the_book_model_is_measured_and_non_empty():
    # the book's size: a 7x7 mask A and five 3x3 masks B; receptive radius 3 + 5 = 8
    torch.manual_seed(0)
    net = PixelCNN(1, 16, 5, 7, 3).double()
    assert net.receptive_radius == 8
    H = W = 28
    i, j = 20, 14
    deps = input_gradient(net, torch.rand(4, 1, H, W, dtype=torch.float64), i, j).abs().sum(0) > 0
    spot = blind_spot(deps, i, j, net.receptive_radius)
    reach = pixelcnn_reach(i, j, 7, 3, 5, H, W)
    # the causal window: 8 rows of 17 pixels above and 8 to the left (144); reached: 129
    assert len(reach) == 129 and spot.sum() == 8 * 17 + 8 - len(reach) == 15
    assert spot.sum() == (~deps[0] & causal_window((H, W), i, j, 8)).sum()
    # a triangle up and to the right: 5, 4, 3, 2, 1 pixels in rows i - 1 .. i - 5, the far right columns
    assert [int(spot[i - d].sum()) for d in range(1, 9)] == [5, 4, 3, 2, 1, 0, 0, 0]
    assert spot[i - 1, j + 4:j + 9].all() and not spot[i - 1, j + 3] and spot[i - 5, j + 8]


def reference_forward(net, x, labels=None):
    """The PixelCNN written with F.conv2d and hand-written masks."""
    def conv(layer, h, k):
        mask = causal_mask(k, "A" if layer is net.first else "B").to(h)
        return F.conv2d(h, layer.weight * mask, layer.bias, padding=k // 2)

    cond = net.embed(labels).split(net.first.out_channels, dim=1) if labels is not None else None
    h = conv(net.first, x, net.first.kernel_size[0])
    h = h + cond[0][:, :, None, None] if cond else h
    for b, block in enumerate(net.blocks):
        h = h + conv(block, F.relu(h), block.kernel_size[0])
        h = h + cond[b + 1][:, :, None, None] if cond else h
    g = F.conv2d(F.relu(h), net.head.hidden.weight, net.head.hidden.bias)
    g = g + cond[-1][:, :, None, None] if cond else g
    return F.conv2d(F.relu(g), net.head.out.weight, net.head.out.bias)


@pytest.mark.parametrize("output,levels", [("bernoulli", 256), ("categorical", 7)])
@pytest.mark.parametrize("K", [None, 4])
def test_forward_equals_functional_reference(output, levels, K):
    torch.manual_seed(0)
    net = randomise(PixelCNN(1, 6, 2, 5, 3, output, levels, K).double(), seed=2)
    x = torch.rand(2, 1, 6, 5, dtype=torch.float64)
    labels = torch.tensor([3, 0]) if K else None
    out = net(x, labels)
    expected = reference_forward(net, x, labels)
    if output == "categorical":
        assert out.shape == (2, 1, levels, 6, 5)
        expected = expected.reshape(2, 1, levels, 6, 5)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-10)


def test_categorical_logits_are_grouped_by_colour():
    torch.manual_seed(0)
    net = PixelCNN(3, 6, 1, 3, 3, "categorical", levels=4)
    assert net.head.out.out_channels == 12
    seen = []
    net.head.out.register_forward_hook(lambda m, args, out: seen.append(out))
    out = net(torch.rand(2, 3, 5, 4))
    assert out.shape == (2, 3, 4, 5, 4)
    for c in range(3):                                                    # channels [4c, 4c + 4) are colour c
        assert torch.equal(out[:, c], seen[0][:, 4 * c: 4 * c + 4])
    # output channel o belongs to colour o // 4: colour 0 never reads colours 1, 2 at the centre
    assert net.head.out.mask[:4, 2:, 0, 0].eq(0).all() and net.head.out.mask[8:, :, 0, 0].eq(1).all()


def test_class_bias_is_added_in_every_layer():
    torch.manual_seed(0)
    cond = randomise(PixelCNN(1, 6, 2, 3, 3, num_classes=3).double(), seed=3)
    plain = PixelCNN(1, 6, 2, 3, 3).double()
    plain.load_state_dict({k: v for k, v in cond.state_dict().items() if not k.startswith("embed")})
    x = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    for y in range(3):
        shifted = copy.deepcopy(plain)
        pieces = cond.embed.weight[y].detach().split(6)
        for layer, piece in zip([shifted.first, *shifted.blocks, shifted.head.hidden], pieces):
            layer.bias.data += piece
        torch.testing.assert_close(cond(x, torch.tensor([y, y])), shifted(x), rtol=0, atol=1e-10)
    a, b = cond(x, torch.tensor([0, 0])), cond(x, torch.tensor([1, 1]))
    assert (a - b).abs().max() > 1e-3
    fresh = PixelCNN(1, 6, 2, 3, 3, num_classes=3)                        # zero embedding: starts unconditional
    assert fresh.embed.weight.abs().max() == 0


def test_shapes_and_sizes():
    net = PixelCNN(1, 8, 3, 7, 5)
    assert net.receptive_radius == 3 + 3 * 2
    for H, W in [(1, 1), (3, 8), (28, 28)]:
        assert net(torch.zeros(2, 1, H, W)).shape == (2, 1, H, W)
    assert net(torch.zeros(0, 1, 4, 4)).shape == (0, 1, 4, 4)
    assert PixelCNN(num_layers=0, channels=4)(torch.zeros(1, 1, 3, 3)).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("make,call,error,match", [
    (lambda: PixelCNN(3, 8), None, ValueError, r"channels must be divisible by in_channels = 3 \(.*got 8"),
    (lambda: PixelCNN(kernel_size=4), None, ValueError, "kernel_size must be odd"),
    (lambda: PixelCNN(output="gaussian"), None, ValueError, "output must be one of"),
    (lambda: PixelCNN(levels=1, output="categorical"), None, ValueError, "levels must be >= 2"),
    (lambda: PixelCNN(num_layers=-1), None, ValueError, "num_layers must be >= 0"),
    (lambda: PixelCNN(channels=4), lambda m: m(torch.zeros(2, 3, 4, 4)), ValueError, "expects 1 input channels, got 3"),
    (lambda: PixelCNN(channels=4), lambda m: m(torch.zeros(2, 1, 4, 4, dtype=torch.long)), TypeError, "floating"),
    (lambda: PixelCNN(channels=4), lambda m: m(torch.zeros(2, 1, 4, 4), torch.zeros(2).long()), ValueError,
     "unconditional"),
    (lambda: PixelCNN(channels=4, num_classes=3), lambda m: m(torch.zeros(2, 1, 4, 4)), TypeError,
     r"class-conditional \(num_classes=3\)"),
    (lambda: PixelCNN(channels=4, num_classes=3), lambda m: m(torch.zeros(2, 1, 4, 4), torch.tensor([0, 3])),
     ValueError, r"labels must be in \[0, 3\)"),
    (lambda: PixelCNN(channels=4, num_classes=3), lambda m: m(torch.zeros(2, 1, 4, 4), torch.tensor([0])),
     ValueError, r"labels must have shape \(2,\)"),
])
def test_errors(make, call, error, match):
    with pytest.raises(error, match=match):
        model = make()
        call(model)
