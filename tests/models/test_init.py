"""Tests for cnnlib.models (the package): public API, the small configurations, input checks.

Reference: ``cnnlib.summary`` (the book's layer table) and ``sum(p.numel())``; PyTorch's own
layers (they must fail, or not, where the models' input checks say); forward pre-hooks recording
which layers ran before a check refused an input.
"""

import inspect

import pytest
import torch

import cnnlib
from cnnlib import models
from cnnlib.models import SMALL_MODELS


def test_all_names_resolve_and_are_documented():
    assert len(set(models.__all__)) == len(models.__all__)
    for name in models.__all__:
        obj = getattr(models, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
    assert cnnlib.models is models  # the lazy submodule of cnnlib


@pytest.mark.parametrize("name", list(SMALL_MODELS))
def test_small_configuration_summary_and_forward(name):
    torch.manual_seed(0)
    model = SMALL_MODELS[name]()
    table = cnnlib.summary(model, (1, 28, 28), print_table=False)
    assert table.total_params == models.count_params(model) > 0
    assert table.rows[-1].output_shape == (2, 10)  # the probe batch of 2, then the logits
    assert model.eval()(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert model.in_channels == 1 and model.num_classes == 10


@pytest.mark.parametrize("name", list(SMALL_MODELS))
@pytest.mark.parametrize("shape,match", [
    ((2, 3, 28, 28), "expects 1 input channels, got 3"),
    ((1, 28, 28), r"\(4 dims\), got shape \(1, 28, 28\)"),
    ((2, 1, 28, 28, 1), r"\(4 dims\), got shape \(2, 1, 28, 28, 1\)"),
])
def test_bad_input_is_refused_before_any_layer_runs(name, shape, match):
    model, entered = SMALL_MODELS[name](), []
    for m in model.modules():
        m.register_forward_pre_hook(lambda m, args: entered.append(m))
    with pytest.raises(ValueError, match=match):
        model(torch.zeros(shape))
    assert entered == [model]


def test_minimum_sizes_of_the_small_configurations():
    sizes = {name: make().min_input_size for name, make in SMALL_MODELS.items()}
    assert sizes == {"lenet5": 28, "alexnet_small": 15, "vgg_small": 8, "resnet_small": 1, "inception_small": 1,
                     "mobilenet_v1_small": 1, "mobilenet_v2_small": 1, "efficientnet_small": 1}


@pytest.mark.parametrize("name", ["alexnet_small", "vgg_small"])
def test_too_small_input_names_the_minimum(name, monkeypatch):
    model = SMALL_MODELS[name]().eval()
    m = model.min_input_size
    assert model(torch.zeros(1, 1, m, m)).shape == (1, 10)
    with pytest.raises(ValueError, match=f"at least {m}x{m} .*got {m}x{m - 1}"):
        model(torch.zeros(1, 1, m, m - 1))
    module = inspect.getmodule(type(model))
    monkeypatch.setattr(module, "check_images", lambda *a, **k: None)
    with pytest.raises(RuntimeError):  # without the check, PyTorch itself fails deeper inside
        model(torch.zeros(1, 1, m, m - 1))


@pytest.mark.parametrize("make", [models.alexnet, models.vgg16, models.resnet18, models.resnet50,
                                  models.mobilenet_v1, models.mobilenet_v2, models.efficientnet_b0])
def test_num_classes_changes_only_the_last_layer(make):
    with torch.device("meta"):
        a, b = make(num_classes=1000), make(num_classes=7)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    differ = [k for k in sa if sa[k].shape != sb[k].shape]
    assert len(differ) == 2 and differ[0].endswith("weight") and differ[1].endswith("bias")
    last = dict(a.named_modules())[differ[0].rsplit(".", 1)[0]]
    assert isinstance(last, torch.nn.Linear) and last is list(a.modules())[-1]
    assert models.count_params(a) - models.count_params(b) == (1000 - 7) * (last.in_features + 1)


@pytest.mark.parametrize("make", [models.alexnet, models.vgg16, models.resnet18, models.resnet50,
                                  models.mobilenet_v2, models.efficientnet_b0])
def test_full_models_at_224_on_meta(make):
    with torch.device("meta"):
        net = make()
    assert net(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 1000)
    with pytest.raises(ValueError, match="expects 3 input channels, got 1"):
        net(torch.empty(2, 1, 224, 224, device="meta"))


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["vgg_small", "inception_small", "mobilenet_v1_small"])
def test_cuda_matches_cpu(name):
    torch.manual_seed(0)
    net, x = SMALL_MODELS[name]().eval(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(net.cuda()(x.cuda()).cpu(), net.cpu()(x), atol=1e-4, rtol=1e-4)
