"""What a training run records: :class:`History`, one list per named metric and epoch.

A step function (:mod:`cnnlib.train.engine`) returns named scalars: ``{"loss": ..., "acc": ...}``
for a classifier, ``{"loss": ..., "coord": ..., "noobj": ...}`` for YOLO, ``{"loss_d": ...,
"loss_g": ...}`` for a GAN. The history keeps every name it is given, without knowing the task:
the epoch means of training steps under the step's own names, those of validation under
``val_<name>``, and the value of every training step in :attr:`History.steps`.
"""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """Per-epoch record of :func:`~cnnlib.train.fit`: every metric a step returns, by name.

    Attributes:
        epochs (list[int]): the epochs run, from 1.
        metrics (dict[str, list[float | None]]): epoch means of each named value; validation
            values carry the prefix ``val_``. A name missing in an epoch holds ``None``.
        steps (dict[str, list[float]]): the value of every training step, in order.
        seconds (list[float]): wall-clock seconds of each epoch (training and validation).
        lr (list[float]): learning rate of the first parameter group at the start of each epoch.
        stopped_epoch (int | None): the epoch after which early stopping ended the run.
        restored_epoch (int | None): the epoch whose weights early stopping restored.

    Example:
        >>> h = History()
        >>> h.record(1, {"loss": 0.9, "val_acc": 0.6}, seconds=1.0, lr=0.1)
        >>> h.record(2, {"loss": 0.5, "val_acc": 0.8}, seconds=1.0, lr=0.1)
        >>> h["val_acc"], h.best_epoch, h.val_acc == h["val_acc"]
        ([0.6, 0.8], 2, True)
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.metrics: dict[str, list[float | None]] = {}
        self.steps: dict[str, list[float]] = {}
        self.seconds: list[float] = []
        self.lr: list[float] = []
        self.stopped_epoch: int | None = None
        self.restored_epoch: int | None = None

    def record(self, epoch: int, metrics: dict[str, float | None], seconds: float, lr: float | None = None) -> None:
        """Append one epoch: its metric means, its duration and learning rate."""
        n = len(self.epochs)
        for name, value in metrics.items():
            self.metrics.setdefault(name, [None] * n).append(None if value is None else float(value))
        for name, values in self.metrics.items():
            if len(values) == n:  # a name this epoch did not report
                values.append(None)
        self.epochs.append(epoch)
        self.seconds.append(float(seconds))
        if lr is not None:
            self.lr.append(float(lr))

    def record_steps(self, values: dict[str, list[float]]) -> None:
        """Append the per-step values of one epoch's training steps."""
        for name, vals in values.items():
            self.steps.setdefault(name, []).extend(vals)

    @property
    def names(self) -> list[str]:
        """The recorded metric names (training first, then validation)."""
        return [k for k in self.metrics if not k.startswith("val_")] + [k for k in self.metrics if k.startswith("val_")]

    def __getitem__(self, name: str) -> list[float | None]:
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r} in this history; recorded: {self.names}")
        return self.metrics[name]

    def __contains__(self, name: str) -> bool:
        return name in self.metrics

    def _get(self, name: str) -> list[float | None]:
        return self.metrics.get(name, [None] * len(self.epochs))

    # Names of the classification step, kept as attributes for readability in the book.
    train_loss = property(lambda self: self._get("loss"), doc="Epoch means of the training loss.")
    train_acc = property(lambda self: self._get("acc"), doc="Epoch means of the training accuracy.")
    val_loss = property(lambda self: self._get("val_loss"), doc="Validation loss after each epoch.")
    val_acc = property(lambda self: self._get("val_acc"), doc="Validation accuracy after each epoch.")
    batch_loss = property(lambda self: self.steps.get("loss", []), doc="The loss of every training step.")

    def best(self, monitor: str, mode: str = "min") -> int:
        """The epoch where ``monitor`` was lowest (``mode="min"``) or highest (``"max"``).

        Raises:
            KeyError: if ``monitor`` was not recorded; ValueError: for another ``mode`` or no value.
        """
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        pairs = [(v, e) for v, e in zip(self[monitor], self.epochs) if v is not None and not math.isnan(v)]
        if not pairs:
            raise ValueError(f"{monitor!r} has no value to compare")
        pick = min if mode == "min" else max
        return pick(pairs, key=lambda p: p[0])[1]

    @property
    def best_epoch(self) -> int:
        """Highest ``val_acc`` (else ``acc``), or lowest ``val_loss`` (else ``loss``)."""
        if not self.epochs:
            raise ValueError("History is empty: fit has not run an epoch")
        for name, mode in (("val_acc", "max"), ("acc", "max"), ("val_loss", "min"), ("loss", "min")):
            if any(v is not None for v in self._get(name)):
                return self.best(name, mode)
        raise ValueError(f"no accuracy or loss recorded; names: {self.names}")

    def as_dict(self) -> dict:
        """Plain lists and dicts (JSON-serialisable)."""
        return {"epochs": list(self.epochs), "metrics": {k: list(v) for k, v in self.metrics.items()},
                "seconds": list(self.seconds), "lr": list(self.lr), "stopped_epoch": self.stopped_epoch,
                "restored_epoch": self.restored_epoch}

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.metrics.items() if v and v[-1] is not None}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items())
        return f"History({len(self.epochs)} epochs; last: {shown})"

    def plot(self, names: list[str] | None = None, axes=None):
        """One panel per metric (training and validation curves together); returns the Figure.

        Args:
            names (list[str] | None): the training names to draw (default: every recorded one
                that has values, e.g. ``["loss", "acc"]``); ``val_<name>`` is drawn beside each.
            axes: matplotlib axes to draw in, one per name.
        """
        import matplotlib.pyplot as plt

        if names is None:
            bases = [k[4:] if k.startswith("val_") else k for k in self.names]
            names = [k for i, k in enumerate(bases) if k not in bases[:i]]
        if axes is None:
            fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
            axes = axes[0]
        fig = axes[0].figure
        for ax, name in zip(axes, names):
            for key, style, label in ((name, "o-", "train"), (f"val_{name}", "s-", "validation")):
                values = self._get(key)
                if any(v is not None for v in values):
                    ax.plot(self.epochs, [math.nan if v is None else v for v in values], style, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.legend()
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig
