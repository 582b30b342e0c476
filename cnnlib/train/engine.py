"""One training loop for every task: :func:`fit` runs a *step function* over the data.

The loop is the same for a classifier, a detector, a GAN or PixelCNN: for each epoch, for each
batch, move the batch to the model's device, let the task compute what it needs, back-propagate,
step the optimiser; then do the same without gradients over the validation data. What differs
between tasks is only what happens to one batch, so the task supplies that as a step:

.. code-block:: python

    def step(model, batch, ctx) -> dict[str, Tensor]:
        x, y = batch
        logits = model(x)
        return {"loss": F.cross_entropy(logits, y), "acc": (logits.argmax(1) == y).float().mean()}

The engine back-propagates ``"loss"`` and averages every returned scalar over the epoch into a
:class:`~cnnlib.train.History`. A step that owns several optimisers (a GAN: one for the
discriminator, one for the generator) sets ``manual_optimization = True`` and calls
:meth:`StepContext.optimize` itself, once per optimiser; the engine then only loops, records,
clips gradients and runs mixed precision for it. The design follows d2l's ``Trainer.fit_epoch`` /
``Module.training_step`` and PyTorch Lightning's automatic and manual optimisation.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext

import torch
from torch import nn

from cnnlib._checks import check_int
from cnnlib.device import seed_everything
from cnnlib.progress import EpochProgress
from cnnlib.train.averaging import WeightAverage
from cnnlib.train.context import StepContext, batch_size, to_device
from cnnlib.train.history import History
from cnnlib.train.stopping import EarlyStopping

__all__ = ["fit", "evaluate", "predict"]

Step = Callable[[nn.Module, object, "StepContext"], Mapping[str, torch.Tensor | float]]


def _device_of(model: nn.Module, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _run(model, data, step, ctx: StepContext, history: History | None, schedulers=()) -> dict[str, float]:
    """One pass over ``data``: the step on every batch; returns the example-weighted means."""
    sums: dict[str, torch.Tensor] = {}
    per_step: dict[str, list[torch.Tensor]] = {}
    count = 0
    model.train(ctx.training)
    grad = torch.enable_grad() if ctx.training else torch.no_grad()
    manual = getattr(step, "manual_optimization", False)
    for batch in data:
        batch = to_device(batch, ctx.device)
        n = batch_size(batch)
        ctx.grad_norms = {}
        with grad:
            with torch.autocast(ctx.device.type, dtype=ctx.amp) if ctx.amp is not None else nullcontext():
                out = step(model, batch, ctx)
            if not isinstance(out, Mapping) or (ctx.training and not manual and "loss" not in out):
                raise TypeError(f"a step must return a dict of named scalars with a 'loss' to optimise, got "
                                f"{type(out).__name__}{sorted(out) if isinstance(out, Mapping) else ''}")
            if ctx.training and not manual:
                ctx.optimize(out["loss"])
        if ctx.training:
            for s in schedulers:
                s.step()
            if ctx.average is not None:
                ctx.average.update(model)
            ctx.step += 1
        for name, value in {**out, **ctx.grad_norms}.items():
            value = torch.as_tensor(value).detach()
            if value.numel() != 1:
                raise ValueError(f"step output {name!r} must be a scalar, got shape {tuple(value.shape)}")
            value = value.float().reshape(())
            sums[name] = sums.get(name, 0.0) + value * n
            per_step.setdefault(name, []).append(value)
        count += n
    if count == 0:
        raise ValueError("the data yielded no batch")
    if history is not None:
        history.record_steps({k: torch.stack(v).tolist() for k, v in per_step.items()})
    return {k: (v / count).item() for k, v in sums.items()}


def fit(
    model: nn.Module,
    data: Iterable,
    *,
    step: Step | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler=None,
    epochs: int = 1,
    val_data: Iterable | None = None,
    val_step: Step | None = None,
    early_stopping: EarlyStopping | None = None,
    clip_grad_norm: float | None = None,
    amp: torch.dtype | None = None,
    ema_decay: float | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    loss_fn: Callable | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs with a step function; return the :class:`History`.

    Args:
        model (nn.Module): moved to ``device``.
        data (Iterable): re-iterable batches, e.g. a ``DataLoader``; each batch is moved to the
            device (tensors inside tuples, lists and dicts too) and passed to ``step``.
        step (Callable | None): ``step(model, batch, ctx) -> dict`` of named scalar tensors (see
            the module docstring); default :func:`~cnnlib.train.steps.classification_step`
            with ``loss_fn``. Unless it sets ``manual_optimization = True``, the engine
            back-propagates its ``"loss"`` and steps ``optimizer``.
        optimizer (Optimizer | None): default ``Adam(model.parameters(), lr=1e-3)`` (not used
            by a manual step, which owns its optimisers).
        scheduler (LRScheduler | list | None): stepped after EVERY training batch (so
            ``OneCycleLR(..., total_steps=epochs * len(data))``), not once per epoch.
        epochs (int): passes over ``data`` (>= 1).
        val_data (Iterable | None): evaluated after every epoch with ``val_step`` (default
            ``step``) in eval mode without gradients; recorded as ``val_<name>``.
        early_stopping (EarlyStopping | None): stop when its metric stops improving.
        clip_grad_norm (float | None): clip the gradient norm of the optimised parameters; the
            norm before clipping is recorded as ``grad_norm``.
        amp (torch.dtype | None): run steps under ``torch.autocast`` with this dtype
            (``torch.bfloat16`` on CPU or GPU, ``torch.float16`` on CUDA with loss scaling).
            On a CPU without native bfloat16 instructions it is slower, not faster
            (``benchmarks/results/train-amp-cpu.md``).
        ema_decay (float | None): keep an exponential moving average of the weights
            (:class:`WeightAverage`), validate it, and leave it in ``model`` at the end.
        seed (int | None): seed every random generator first (shuffling, dropout, augmentation).
        device (torch.device | str | None): default: where the model's parameters are.
        progress (bool): a tqdm bar, or a plain line per epoch (:mod:`cnnlib.progress`);
            ``False`` is silent, which graded notebooks need.
        loss_fn (Callable | None): the classification step's loss (ignored with ``step``).

    Returns:
        History: the epoch means of every name a step returned, per-step values, seconds and
        learning rates.

    Raises:
        TypeError / ValueError: for ``epochs`` not an int >= 1; ValueError: for an empty ``data``, a scheduler of another optimiser, an
            ``early_stopping`` metric that is never recorded, or ``amp`` float16 off CUDA.
        TypeError: if a step returns something other than a dict with a ``"loss"``.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> _ = torch.manual_seed(0)
        >>> x = torch.randn(64, 2); y = (x[:, 0] > 0).long()
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=16)
        >>> net = nn.Linear(2, 2)
        >>> h = fit(net, loader, epochs=20, optimizer=torch.optim.SGD(net.parameters(), lr=0.5), progress=False)
        >>> h.names, h["acc"][-1] > 0.9
        (['loss', 'acc'], True)
    """
    from cnnlib.train.steps import classification_step

    check_int(epochs, "epochs")
    if hasattr(data, "__len__") and len(data) == 0:
        raise ValueError("data is empty")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be > 0, got {clip_grad_norm!r}")
    step = step or classification_step(loss_fn)
    manual = getattr(step, "manual_optimization", False)
    schedulers = [] if scheduler is None else list(scheduler) if isinstance(scheduler, (list, tuple)) else [scheduler]
    if not manual and schedulers and (optimizer is None or any(s.optimizer is not optimizer for s in schedulers)):
        raise ValueError("scheduler must schedule the optimizer passed to fit (pass both)")
    if manual and optimizer is not None:
        raise ValueError("this step optimises itself (manual_optimization): give its optimisers to the step")
    device = _device_of(model, device)
    if amp is not None and amp not in (torch.bfloat16, torch.float16):
        raise ValueError(f"amp must be torch.bfloat16, torch.float16 or None, got {amp!r}")
    if amp is torch.float16 and device.type != "cuda":
        raise ValueError("amp=torch.float16 needs CUDA; use torch.bfloat16 on the CPU")
    if seed is not None:
        seed_everything(seed)
    model.to(device)
    if optimizer is None and not manual:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda") if amp is torch.float16 else None
    average = WeightAverage(model, ema_decay) if ema_decay is not None else None
    ctx = StepContext(True, device, optimizer=optimizer, clip_grad_norm=clip_grad_norm, scaler=scaler, amp=amp,
                      average=average)
    evaluated = average.module if average is not None else model  # what validation and early stopping see
    history = History()
    best, best_state, waited = None, None, 0
    bar = EpochProgress(epochs, enabled=progress)
    for epoch in bar:
        start = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"] if optimizer is not None else None
        ctx.training, ctx.epoch = True, epoch
        metrics = _run(model, data, step, ctx, history, schedulers)
        if val_data is not None:
            ctx.training = False
            metrics |= {f"val_{k}": v for k, v in _run(evaluated, val_data, val_step or step, ctx, None).items()}
        history.record(epoch, metrics, time.perf_counter() - start, lr)
        bar.report({k: v for k, v in metrics.items() if not k.startswith("grad_norm")}, history.seconds[-1])
        if early_stopping is not None:
            if early_stopping.monitor not in metrics:
                raise ValueError(f"early_stopping monitors {early_stopping.monitor!r}, but the steps "
                                 f"recorded {sorted(metrics)}")
            value = metrics[early_stopping.monitor]
            if early_stopping.improved(value, best):
                best, waited, history.restored_epoch = value, 0, epoch
                if early_stopping.restore_best:
                    best_state = copy.deepcopy(evaluated.state_dict())
            else:
                waited += 1
                if waited >= early_stopping.patience:
                    history.stopped_epoch = epoch
                    break
    model.train()
    if average is not None:
        model.load_state_dict(average.module.state_dict())
    if early_stopping is not None and early_stopping.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    elif early_stopping is not None:
        history.restored_epoch = None
    return history


def evaluate(
    model: nn.Module,
    data: Iterable,
    *,
    step: Step | None = None,
    device: torch.device | str | None = None,
    amp: torch.dtype | None = None,
    loss_fn: Callable | None = None,
) -> dict[str, float]:
    """The example-weighted means of a step's outputs over ``data``, in eval mode without gradients.

    The model's train/eval mode is restored afterwards.

    Returns:
        dict[str, float]: e.g. ``{"loss": ..., "acc": ...}`` for the default classification step.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> model = nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.eye(2)); _ = model.bias.zero_()
        >>> loader = DataLoader(TensorDataset(torch.tensor([[1., 0.], [0., 1.], [2., 3.]]), torch.tensor([0, 1, 0])))
        >>> round(evaluate(model, loader)["acc"], 3)  # the third point is misclassified
        0.667
    """
    from cnnlib.train.steps import classification_step

    device = _device_of(model, device)
    was_training = model.training
    try:
        return _run(model, data, step or classification_step(loss_fn), StepContext(False, device, amp=amp), None)
    finally:
        model.train(was_training)


@torch.no_grad()
def predict(model: nn.Module, data: Iterable, device: torch.device | str | None = None) -> torch.Tensor:
    """Concatenated model outputs over the first element of each batch, on the CPU.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.randn(10, 3), torch.zeros(10).long()), batch_size=4)
        >>> predict(nn.Linear(3, 5), loader).shape
        torch.Size([10, 5])
    """
    device = _device_of(model, device)
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(to_device(batch[0], device)).cpu() for batch in data])
    finally:
        model.train(was_training)
