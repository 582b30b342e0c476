"""Progress of a training run: a live bar when a person watches, plain lines in a built page.

A tqdm bar is the right thing in JupyterLab or a terminal. In an executed page of the book it is
not: a notebook bar is a widget whose state needs JavaScript from a CDN (offline it shows
"Loading widget"; online a frozen bar with the build machine's timings), and a text bar writes
carriage returns to stderr. So the book's builds (``make book``, ``make test``) set the
environment variable ``CNNLIB_PROGRESS=plain``, and :class:`EpochProgress` then prints one short
summary line per epoch to stdout instead:

    epoch 3/3: loss 0.214, acc 0.935, val_acc 0.941 (4.1 s)

``CNNLIB_PROGRESS`` takes ``bar`` (the default: a tqdm bar, a widget in notebooks), ``plain``
or ``off``. A function's own ``progress=False`` always silences it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

__all__ = ["EpochProgress", "progress", "progress_mode"]

MODES = ("bar", "plain", "off")


def progress_mode(mode: str | None = None) -> str:
    """The mode chosen by ``mode``, else by ``CNNLIB_PROGRESS`` (``"bar"`` when unset).

    Raises:
        ValueError: if the mode is something other than ``bar``, ``plain`` or ``off``.

    Example:
        >>> progress_mode("plain")
        'plain'
        >>> progress_mode() in ("bar", "plain", "off")
        True
    """
    if mode is None:
        mode = os.environ.get("CNNLIB_PROGRESS", "bar")
    mode = mode.strip().lower() or "bar"
    if mode not in MODES:
        raise ValueError(f"CNNLIB_PROGRESS must be one of {MODES}, got {mode!r}")
    return mode


class EpochProgress:
    """Iterate over epochs ``1..epochs`` and report each epoch's metrics.

    Args:
        epochs (int): number of epochs.
        enabled (bool): ``False`` prints nothing in any mode.
        desc (str): the bar's label.
        mode (str | None): ``"bar"``, ``"plain"`` or ``"off"``; default: ``CNNLIB_PROGRESS``.

    Example:
        >>> bar = EpochProgress(2, mode="plain")
        >>> for epoch in bar:
        ...     bar.report({"loss": 1.0 / epoch}, seconds=0.5)
        epoch 1/2: loss 1.000 (0.5 s)
        epoch 2/2: loss 0.500 (0.5 s)
    """

    def __init__(self, epochs: int, enabled: bool = True, desc: str = "epochs", mode: str | None = None):
        self.epochs = epochs
        self.mode = progress_mode(mode) if enabled else "off"
        self._bar = None
        self._epoch = 0
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=epochs, desc=desc, leave=True)

    def __iter__(self) -> Iterator[int]:
        try:
            for epoch in range(1, self.epochs + 1):
                self._epoch = epoch
                yield epoch
        finally:
            if self._bar is not None:
                self._bar.close()

    def report(self, metrics: dict[str, float | None], seconds: float) -> None:
        """Show the metrics of the epoch just finished (``None`` values are left out)."""
        shown = {k: f"{v:.3f}" for k, v in metrics.items() if v is not None}
        if self._bar is not None:
            self._bar.set_postfix(shown)
            self._bar.update(1)
        elif self.mode == "plain":
            text = ", ".join(f"{k} {v}" for k, v in shown.items())
            print(f"epoch {self._epoch}/{self.epochs}: {text} ({seconds:.1f} s)", flush=True)


def progress(iterable, desc: str = "", enabled: bool = True, mode: str | None = None, **tqdm_options):
    """Wrap a loop: a tqdm bar interactively, one summary line at the end in a built page.

    Args:
        iterable (Iterable): what the loop runs over.
        desc (str): the label.
        enabled (bool): ``False`` shows nothing.
        mode (str | None): ``"bar"``, ``"plain"`` or ``"off"``; default: ``CNNLIB_PROGRESS``.
        **tqdm_options: passed on to tqdm (``total``, ``leave``, ...).

    Example:
        >>> total = sum(progress(range(3), desc="steps", mode="plain"))  # doctest: +ELLIPSIS
        steps: 3 done in ... s
    """
    mode = progress_mode(mode) if enabled else "off"
    if mode == "bar":
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc, **tqdm_options)
        return
    start, count = time.perf_counter(), 0
    for item in iterable:
        count += 1
        yield item
    if mode == "plain":
        print(f"{desc or 'loop'}: {count} done in {time.perf_counter() - start:.1f} s", flush=True)
