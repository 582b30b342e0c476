"""Early stopping: end a run when a named metric stops improving, and keep the best weights."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlib._checks import check_int

__all__ = ["EarlyStopping"]


@dataclass
class EarlyStopping:
    """Stop :func:`fit` when a named metric stops improving, and keep the best weights.

    Args:
        monitor (str): a recorded name, e.g. ``"val_loss"`` or ``"val_acc"``.
        mode (str): ``"min"`` (lower is better) or ``"max"``.
        patience (int): epochs without an improvement of more than ``min_delta`` before stopping.
        min_delta (float): the smallest change that counts as an improvement.
        restore_best (bool): load the weights of the best epoch when the run ends.
    """

    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        check_int(self.patience, "patience")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta!r}")

    def improved(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value < best - self.min_delta if self.mode == "min" else value > best + self.min_delta
