"""Tests for cnnlib.train.engine (fit, evaluate, predict, EarlyStopping, StepContext).

Reference: training loops written out by hand in these tests (zero_grad, backward, clip, step),
run from the same initial weights on the same batches; ``torch.nn.utils.clip_grad_norm_`` and
autograd for the gradient norms; scripted metric sequences for early stopping.
"""

import copy
import json

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.train import EarlyStopping, History, StepContext, batch_size, evaluate, fit, predict, to_device


def separable(seed=0, n=256, shuffle=True):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=gen)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=shuffle, generator=gen)
    return train, DataLoader(TensorDataset(x, y), batch_size=64)


def mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


def test_fit_equals_a_hand_written_loop():
    train, val = separable(0, shuffle=False)
    model, ref = mlp(0), mlp(0)
    h = fit(model, train, epochs=3, optimizer=torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9),
            val_data=val, progress=False)
    opt = torch.optim.SGD(ref.parameters(), lr=0.2, momentum=0.9)
    losses, accs, step_losses = [], [], []
    for _ in range(3):
        total, correct = 0.0, 0
        for x, y in train:
            logits = ref(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step_losses.append(loss.item())
            total += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        losses.append(total / 256)
        accs.append(correct / 256)
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert h["loss"] == pytest.approx(losses, rel=1e-5) and h["acc"] == pytest.approx(accs)
    assert h.batch_loss == pytest.approx(step_losses, rel=1e-5)
    with torch.no_grad():
        x, y = val.dataset.tensors
        assert h["val_loss"][-1] == pytest.approx(F.cross_entropy(ref(x), y).item(), rel=1e-5)
    assert h.names == ["loss", "acc", "val_loss", "val_acc"] and h.epochs == [1, 2, 3]
    assert h.train_loss == h["loss"] and h.val_acc == h["val_acc"]
    assert model.training  # fit leaves the model in training mode


def test_fit_learns_and_is_silent_without_progress(capsys):
    train, val = separable()
    model = mlp(0)
    h = fit(model, train, val_data=val, epochs=8, optimizer=torch.optim.Adam(model.parameters(), 0.05),
            progress=False, seed=0)
    assert h.val_acc[-1] > 0.95 and h.train_loss[-1] < h.train_loss[0]
    assert capsys.readouterr().err == ""
    assert h.best_epoch in h.epochs


def test_seed_makes_runs_repeatable():
    runs = []
    for _ in range(2):
        train, _ = separable(5)
        model = mlp(1)
        drop = nn.Sequential(nn.Dropout(0.3), model)
        runs.append(fit(drop, train, epochs=2, progress=False, seed=7).batch_loss)
    assert runs[0] == runs[1]


def test_scheduler_is_stepped_every_batch():
    """Reference: the learning rates a OneCycleLR takes when stepped by hand."""
    train, _ = separable(2)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = 3 * len(train)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    h = fit(model, train, epochs=3, optimizer=opt, scheduler=sched, progress=False)
    ref_opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.1, total_steps=steps)
    expected = []
    for i in range(steps):
        if i % len(train) == 0:
            expected.append(ref_opt.param_groups[0]["lr"])
        ref_opt.step()
        ref.step()
    assert h.lr == pytest.approx(expected) and len(h.batch_loss) == steps


def test_gradient_clipping_matches_clip_grad_norm():
    x, y = torch.randn(8, 2) * 50, torch.randint(0, 2, (8,))
    model = nn.Linear(2, 2)
    ref = copy.deepcopy(model)
    h = fit(model, [(x, y)], optimizer=torch.optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=0.5,
            progress=False)
    F.cross_entropy(ref(x), y).backward()
    norm = torch.cat([p.grad.flatten() for p in ref.parameters()]).norm()
    assert h["grad_norm"][0] == pytest.approx(norm.item(), rel=1e-5) and norm > 0.5
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters()):
            torch.testing.assert_close(p, q - q.grad * 0.5 / norm, rtol=1e-5, atol=1e-6)


def test_bfloat16_autocast_runs_the_step_in_bfloat16():
    seen = []

    def step(model, batch, ctx):
        out = model(batch[0])
        seen.append(out.dtype)
        return {"loss": F.cross_entropy(out.float(), batch[1])}

    train, _ = separable(3)
    model = mlp(3)
    h32 = fit(copy.deepcopy(model), train, step=step, epochs=1, progress=False, seed=0)
    h16 = fit(model, train, step=step, epochs=1, progress=False, seed=0, amp=torch.bfloat16)
    assert seen[0] == torch.float32 and seen[-1] == torch.bfloat16
    assert next(model.parameters()).dtype == torch.float32  # weights stay float32
    assert h16["loss"][0] == pytest.approx(h32["loss"][0], rel=0.05)  # bfloat16 keeps ~3 digits


def test_early_stopping_stops_and_restores_the_best_weights():
    scripted = {1: 0.9, 2: 0.5, 3: 0.7, 4: 0.6, 5: 0.1}
    snapshots = {}

    def val_step(model, batch, ctx):
        snapshots[ctx.epoch] = copy.deepcopy(model.state_dict())
        return {"loss": torch.tensor(scripted[ctx.epoch])}

    train, val = separable(4)
    model = mlp(4)
    h = fit(model, train, val_data=val, val_step=val_step, epochs=5, progress=False,
            early_stopping=EarlyStopping("val_loss", "min", patience=2))
    assert h.epochs == [1, 2, 3, 4] and h.stopped_epoch == 4 and h.restored_epoch == 2
    for k, v in model.state_dict().items():
        assert torch.equal(v, snapshots[2][k])
    h = fit(mlp(4), train, val_data=val, val_step=val_step, epochs=5, progress=False,
            early_stopping=EarlyStopping("val_loss", patience=3, restore_best=False))
    assert h.epochs == [1, 2, 3, 4, 5] and h.stopped_epoch is None
    # min_delta: 0.5 -> 0.45 is not an improvement of more than 0.1
    scripted.update({3: 0.45, 4: 0.45})
    h = fit(mlp(4), train, val_data=val, val_step=val_step, epochs=5, progress=False,
            early_stopping=EarlyStopping("val_loss", patience=2, min_delta=0.1))
    assert h.stopped_epoch == 4
    with pytest.raises(ValueError, match="early_stopping monitors 'val_acc'"):
        fit(mlp(4), train, epochs=1, progress=False, early_stopping=EarlyStopping("val_acc", "max"))


def test_batches_of_any_structure_reach_the_device_and_the_step():
    batches = [{"x": torch.randn(3, 2), "y": torch.tensor([0, 1, 1]), "meta": ["a", "b", "c"]}]

    def step(model, batch, ctx):
        assert isinstance(ctx, StepContext) and batch["meta"] == ["a", "b", "c"]
        return {"loss": F.cross_entropy(model(batch["x"]), batch["y"])}

    assert fit(nn.Linear(2, 2), batches, step=step, progress=False)["loss"][0] > 0
    assert batch_size(batches[0]) == 3 and batch_size([[torch.zeros(4)], 1]) == 4
    assert to_device(batches[0], torch.device("cpu"))["meta"] == ["a", "b", "c"]
    with pytest.raises(TypeError, match="holds no tensor"):
        batch_size(("a", 1))


def test_evaluate_and_predict_match_a_hand_loop():
    _, val = separable(1)
    model = nn.Linear(2, 2)
    model.train()
    scores = evaluate(model, val)
    x, y = val.dataset.tensors
    logits = model(x)
    assert scores["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert scores["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert torch.allclose(predict(model, val), logits.detach()) and model.training


def test_errors_name_what_is_wrong():
    train, _ = separable()
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit(nn.Linear(2, 2), train, epochs=0)
    with pytest.raises(ValueError, match="data is empty"):
        fit(nn.Linear(2, 2), DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0).long())))
    net = nn.Linear(2, 2)
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler must schedule the optimizer"):
        fit(net, train, scheduler=torch.optim.lr_scheduler.StepLR(other, 1), progress=False)
    with pytest.raises(ValueError, match="amp=torch.float16 needs CUDA"):
        fit(net, train, amp=torch.float16, device="cpu", progress=False)
    with pytest.raises(ValueError, match="clip_grad_norm must be > 0"):
        fit(net, train, clip_grad_norm=0, progress=False)
    with pytest.raises(TypeError, match="'loss' to optimise"):
        fit(net, train, step=lambda m, b, c: {"acc": torch.tensor(1.0)}, progress=False)
    with pytest.raises(ValueError, match="'out' must be a scalar"):
        fit(net, train, step=lambda m, b, c: {"loss": m(b[0]).sum(), "out": m(b[0])}, progress=False)

    def manual(model, batch, ctx):
        return {"loss": torch.tensor(0.0)}

    manual.manual_optimization = True
    with pytest.raises(ValueError, match="optimises itself"):
        fit(net, train, step=manual, optimizer=torch.optim.SGD(net.parameters(), 0.1), progress=False)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        EarlyStopping(patience=0)


def test_history_records_names_and_serialises():
    h = History()
    h.record(1, {"loss": 2.0}, 0.5, 0.1)
    h.record(2, {"loss": 1.0, "val_loss": 1.5}, 0.5, 0.1)
    assert h["val_loss"] == [None, 1.5] and h.best("loss") == 2 and h.best("loss", "max") == 1
    assert json.loads(json.dumps(h.as_dict()))["metrics"]["loss"] == [2.0, 1.0]
    with pytest.raises(KeyError, match="recorded: \\['loss', 'val_loss'\\]"):
        h["acc"]
    import matplotlib

    matplotlib.use("Agg")
    fig = h.plot()
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2


@pytest.mark.gpu
def test_fit_on_cuda():
    train, val = separable()
    model = mlp(0).cuda()
    h = fit(model, train, val_data=val, epochs=3, progress=False, amp=torch.float16)
    assert next(model.parameters()).is_cuda and h["val_acc"][-1] > 0.8


def test_weight_average_equals_the_hand_written_moving_average():
    """Reference: e <- d e + (1 - d) w after every step, d = min(decay, (1 + t) / (10 + t))."""
    train, val = separable(6, shuffle=False)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    ref = copy.deepcopy(model)
    h = fit(model, train, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), ema_decay=0.9,
            val_data=val, progress=False)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    avg = {k: v.clone() for k, v in ref.state_dict().items()}
    t = 0
    for _ in range(2):
        for x, y in train:
            opt.zero_grad()
            F.cross_entropy(ref(x), y).backward()
            opt.step()
            t += 1
            d = min(0.9, (1 + t) / (10 + t))
            for k, v in ref.state_dict().items():
                avg[k] = d * avg[k] + (1 - d) * v if v.dtype.is_floating_point else v.clone()
    for k, v in model.state_dict().items():  # the model ends with the averaged weights
        torch.testing.assert_close(v, avg[k], rtol=1e-5, atol=1e-6)
    ref.load_state_dict(avg)
    ref.eval()
    with torch.no_grad():
        x, y = val.dataset.tensors
        assert h["val_loss"][-1] == pytest.approx(F.cross_entropy(ref(x), y).item(), rel=1e-5)  # validated averaged
    with pytest.raises(ValueError, match="ema_decay must be in"):
        fit(mlp(0), train, ema_decay=1.0, progress=False)
