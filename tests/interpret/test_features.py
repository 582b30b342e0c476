"""Tests for cnnlib.interpret.features: feature_maps, FeatureExtractor, resolve_layers.

References: the same network sliced by hand (``nn.Sequential[:k]``) for the values, autograd
through that hand-built forward for the gradients of a loss on features (and
``torch.autograd.gradcheck`` against finite differences in float64).
"""

import pytest
import torch
from torch import nn

from cnnlib.interpret import FeatureExtractor, feature_maps, resolve_layers
from tests.interpret.nets import small_cnn


def test_feature_maps_match_slicing_the_network():
    model = small_cnn()
    model.train()
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    maps = feature_maps(model, x, ["0.1", "0.3", "1"])
    assert list(maps) == ["0.1", "0.3", "1"]
    assert all(m.training for m in model.modules())  # modes restored
    model.eval()
    assert torch.equal(maps["0.1"], model[0][:2](x)) and torch.equal(maps["0.3"], model[0](x))
    assert torch.equal(maps["1"], model(x)) and not maps["1"].requires_grad
    assert torch.equal(feature_maps(model, x, "0.2")["0.2"], model[0][:3](x))
    assert all(not m._forward_hooks for m in model.modules())


def test_layers_by_type_and_by_module():
    model = small_cnn().eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    convs = feature_maps(model, x, nn.Conv2d)
    assert list(convs) == ["0.0", "0.3"]
    assert torch.equal(convs["0.0"], model[0][0](x)) and torch.equal(convs["0.3"], model[0](x))
    relus = feature_maps(model, x, [nn.ReLU, model[0][0], "0.1"])  # types, modules and names mix; no repeats
    assert list(relus) == ["0.1", "1.0", "0.0"]
    assert torch.equal(relus["1.0"], model[1][0](model[0](x)))
    assert list(resolve_layers(model, (nn.Conv2d, nn.MaxPool2d))) == ["0.0", "0.3", "0.2"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_features_with_graph_give_the_gradients_of_the_hand_built_forward(seed):
    """A style-transfer-like loss (Gram matrices of two layers) back-propagates to the input and the weights."""
    model = small_cnn(seed=seed).eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))

    def gram(f):
        f = f.flatten(2)  # (N, C, h*w)
        return f @ f.transpose(1, 2) / f.shape[-1]  # (N, C, C)

    def loss_of(maps):
        return gram(maps[0]).square().sum() + gram(maps[1]).abs().sum()

    xa = x.clone().requires_grad_(True)
    maps = feature_maps(model, xa, ["0.1", "0.3"], detach=False)
    assert all(m.requires_grad for m in maps.values())
    ga = torch.autograd.grad(loss_of(list(maps.values())), [xa, *model.parameters()], allow_unused=True)
    xb = x.clone().requires_grad_(True)
    by_hand = [model[0][:2](xb), model[0](xb)]  # the same features, computed by slicing
    gb = torch.autograd.grad(loss_of(by_hand), [xb, *model.parameters()], allow_unused=True)
    for a, b in zip(ga, gb):
        assert (a is None and b is None) or torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    assert ga[0].abs().sum() > 0
    with torch.no_grad():  # detach=False keeps the graph even where the caller switched it off
        assert feature_maps(model, xa, "0.3", detach=False)["0.3"].requires_grad


def test_gradcheck_through_captured_features():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.AvgPool2d(2)).double()
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: feature_maps(model, t, "1", detach=False)["1"], (x,))


def test_feature_extractor_records_the_last_pass_and_survives_in_place_ops():
    conv = nn.Conv2d(1, 2, 3)
    model = nn.Sequential(conv, nn.ReLU(inplace=True))  # the ReLU overwrites conv's output in place
    x1, x2 = torch.randn(1, 1, 5, 5), torch.randn(1, 1, 5, 5)
    with torch.no_grad(), FeatureExtractor(model, ["0", "1"]) as fx:
        model(x1)
        model(x2)
    with torch.no_grad():
        expected = conv(x2)
    assert fx.calls == {"0": 2, "1": 2}
    assert torch.equal(fx.features["0"], expected) and (expected < 0).any()  # negatives kept: a copy
    assert torch.equal(fx.features["1"], expected.clamp_min(0))
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(RuntimeError), FeatureExtractor(model, "0"):
        model(torch.randn(1, 2, 5, 5))  # wrong channels: hooks still removed
    assert all(not m._forward_hooks for m in model.modules())


def test_a_shared_module_and_a_module_that_does_not_run_are_refused():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), relu, nn.Conv2d(2, 2, 3), relu)
    with pytest.raises(ValueError, match="ran 2 times"):
        feature_maps(model, torch.randn(1, 1, 8, 8), ["1"])
    assert not relu._forward_hooks
    with pytest.raises(RuntimeError):  # a forward that raises leaves no hooks and the modes as they were
        model.train()
        feature_maps(model, torch.randn(1, 3, 8, 8), ["1"])
    assert not relu._forward_hooks and model.training


def test_bad_arguments_raise_clear_errors():
    model = small_cnn()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="layers must name modules"):
        feature_maps(model, x, ["nope"])
    with pytest.raises(ValueError, match="no submodule of type BatchNorm2d"):
        feature_maps(model, x, nn.BatchNorm2d)
    with pytest.raises(ValueError, match="not a submodule"):
        feature_maps(model, x, nn.Conv2d(1, 1, 1))
    with pytest.raises(TypeError, match="layers entries must be names, modules or nn.Module types"):
        feature_maps(model, x, [3])
    with pytest.raises(TypeError, match="detach must be a bool"):
        feature_maps(model, x, "0", detach=None)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        feature_maps(lambda t: t, x, "0")
    with pytest.raises(ValueError, match=r"x must be a floating-point tensor of shape \(N, C, H, W\)"):
        feature_maps(model, x[0], "0")
    with pytest.raises(TypeError, match="returned tuple"):
        lstm = nn.Sequential(nn.Flatten(2), nn.LSTM(64, 2, batch_first=True)).double()
        feature_maps(lstm, x, "1")
