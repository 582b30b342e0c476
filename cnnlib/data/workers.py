"""Which worker process read an item: a dataset wrapper for looking inside ``DataLoader``.

A ``DataLoader(num_workers=k)`` reads batches in ``k`` worker processes. To see which process
built which batch (the book's section on augmentation does), wrap the dataset in
:class:`WithWorkerId`. It lives in the library, not in a notebook, because worker processes
started with the *spawn* method (the default on macOS and Windows) import the dataset's class by
name: a class defined in a notebook cannot be found there.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset, get_worker_info

__all__ = ["WithWorkerId"]


class WithWorkerId(Dataset):
    """``dataset[i]`` followed by the id of the worker process that read it (``-1``: the main one).

    Args:
        dataset (Dataset): any map-style dataset whose items are tuples (or single values).

    Example:
        >>> import torch
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> data = WithWorkerId(TensorDataset(torch.arange(4.0)))
        >>> data[0]
        (tensor(0.), -1)
        >>> [batch[1].tolist() for batch in DataLoader(data, batch_size=2)]
        [[-1, -1], [-1, -1]]
    """

    def __init__(self, dataset: Dataset):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"dataset must be a map-style Dataset (with __getitem__ and __len__), "
                            f"got {type(dataset).__name__}")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: Any) -> tuple:
        item = self.dataset[i]
        info = get_worker_info()
        worker = -1 if info is None else info.id
        return (*item, worker) if isinstance(item, tuple) else (item, worker)
