"""A small, readable training loop: :func:`fit`, :func:`evaluate`, :func:`predict` and :class:`History`.

``fit`` is the loop every chapter would otherwise rewrite: for each epoch, for each batch, move
the batch to the model's device, compute the loss, back-propagate, step the optimiser; then
measure the loss and accuracy on the validation set. It records per-epoch numbers in a
:class:`History` that can plot itself, and shows its progress (a tqdm bar, or one plain line per epoch
in the book's builds: :mod:`cnnlib.progress`; ``progress=False`` keeps it
silent, which graded notebooks need: nbgrader fails a cell that writes to stderr).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from cnnlib.progress import EpochProgress

__all__ = ["History", "fit", "evaluate", "predict"]


@dataclass
class History:
    """Per-epoch training record; lists have one entry per epoch (``None`` without validation)."""

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_acc: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    #: Training loss of every optimiser step, in order (``len(train_loader)`` entries per epoch).
    batch_loss: list[float] = field(default_factory=list)
    #: Learning rate of the first parameter group at the start of each epoch.
    lr: list[float] = field(default_factory=list)

    @property
    def best_epoch(self) -> int:
        """The epoch with the highest validation accuracy (training accuracy without validation)."""
        accs = self.val_acc if self.val_acc and self.val_acc[0] is not None else self.train_acc
        if not accs:
            raise ValueError("History is empty: fit has not run an epoch")
        return self.epochs[max(range(len(accs)), key=accs.__getitem__)]

    def as_dict(self) -> dict[str, list]:
        return asdict(self)

    def plot(self, ax=None):
        """Loss and accuracy curves side by side; returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
        else:
            fig = ax[0].figure
        ax[0].plot(self.epochs, self.train_loss, "o-", label="train")
        ax[1].plot(self.epochs, self.train_acc, "o-", label="train")
        if self.val_loss and self.val_loss[0] is not None:
            ax[0].plot(self.epochs, self.val_loss, "s-", label="validation")
            ax[1].plot(self.epochs, self.val_acc, "s-", label="validation")
        for a, name in zip(ax, ("loss", "accuracy")):
            a.set_xlabel("epoch")
            a.set_ylabel(name)
            a.legend()
            a.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def _device_of(model: nn.Module, device: torch.device | str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: Callable | None = None,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier over a loader (model in eval mode, restored after).

    Returns:
        tuple[float, float]: ``(loss, accuracy)``; accuracy in [0, 1].

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> model = nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.eye(2)); _ = model.bias.zero_()
        >>> loader = DataLoader(TensorDataset(torch.tensor([[1., 0.], [0., 1.], [2., 3.]]), torch.tensor([0, 1, 0])))
        >>> round(evaluate(model, loader)[1], 3)  # the third point is misclassified
        0.667
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _device_of(model, device)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)
        total_loss += loss_fn(logits, y).item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError("loader yielded no examples")
    return total_loss / count, correct / count


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None) -> torch.Tensor:
    """Concatenated model outputs (logits) over a loader, on the CPU: ``Tensor[N, K]``.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.randn(10, 3), torch.zeros(10).long()), batch_size=4)
        >>> predict(nn.Linear(3, 5), loader).shape
        torch.Size([10, 5])
    """
    device = _device_of(model, device)
    was_training = model.training
    model.eval()
    outs = [model(batch[0].to(device)).cpu() for batch in loader]
    model.train(was_training)
    return torch.cat(outs)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    epochs: int = 1,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Callable | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> History:
    """Train a classifier for ``epochs`` epochs and return its :class:`History`.

    Args:
        model (nn.Module): maps a batch ``(N, ...)`` to logits ``(N, K)``; moved to ``device``.
        train_loader (DataLoader): yields ``(x, y)`` batches with integer labels.
        val_loader (DataLoader | None): evaluated after every epoch.
        epochs (int): number of passes over ``train_loader`` (>= 1).
        optimizer (Optimizer | None): default ``Adam(model.parameters(), lr=1e-3)``.
        loss_fn (Callable | None): default ``nn.CrossEntropyLoss()``.
        device (torch.device | str | None): default: where the model's parameters are.
        progress (bool): show the progress over epochs with the latest metrics: a tqdm bar, or
            one plain line per epoch where ``CNNLIB_PROGRESS=plain`` (the book's builds; see
            :mod:`cnnlib.progress`).
        scheduler (LRScheduler | None): a learning-rate schedule of ``optimizer``, stepped after
            EVERY optimiser step (so ``OneCycleLR(..., total_steps=epochs * len(train_loader))``
            or ``CosineAnnealingLR(..., T_max=epochs * len(train_loader))``), not once per epoch.

    Returns:
        History: per-epoch train/val loss and accuracy, seconds and learning rate, and the
        loss of every step (``batch_loss``).

    Raises:
        ValueError: if ``epochs < 1``, ``train_loader`` is empty, or ``scheduler`` is given
            without ``optimizer`` (it must schedule the optimiser that ``fit`` steps).

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> _ = torch.manual_seed(0)
        >>> x = torch.randn(64, 2); y = (x[:, 0] > 0).long()
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=16)
        >>> net = nn.Linear(2, 2)
        >>> h = fit(net, loader, epochs=20, optimizer=torch.optim.SGD(net.parameters(), lr=0.5), progress=False)
        >>> h.train_acc[-1] > 0.9
        True
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if len(train_loader) == 0:
        raise ValueError("train_loader is empty")
    if scheduler is not None and (optimizer is None or scheduler.optimizer is not optimizer):
        raise ValueError("scheduler must schedule the optimizer passed to fit (pass both)")
    device = _device_of(model, device)
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history = History()
    bar = EpochProgress(epochs, enabled=progress)
    for epoch in bar:
        start = time.perf_counter()
        history.lr.append(optimizer.param_groups[0]["lr"])
        model.train()
        total_loss, correct, count = 0.0, 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history.batch_loss.append(loss.item())
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            count += len(y)
        val_loss = val_acc = None
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        history.epochs.append(epoch)
        history.train_loss.append(total_loss / count)
        history.train_acc.append(correct / count)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        history.seconds.append(time.perf_counter() - start)
        bar.report({"loss": total_loss / count, "acc": correct / count, "val_acc": val_acc},
                   history.seconds[-1])
    return history
