"""cnnlib.data.workers: WithWorkerId names the process that read each item.

Reference: ``torch.utils.data.get_worker_info`` semantics (round-robin batches over workers),
checked with real worker processes, forked and spawned.
"""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.data import AugmentedDataset, RandomAffine, WithWorkerId


def test_main_process_is_minus_one_and_items_are_kept():
    data = WithWorkerId(TensorDataset(torch.arange(6.0), torch.arange(6)))
    assert len(data) == 6
    x, y, worker = data[3]
    assert x.item() == 3.0 and y.item() == 3 and worker == -1


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_two_workers_build_alternate_batches(context):
    # spawn imports the dataset class by name in each worker: it must live in an importable module
    data = WithWorkerId(AugmentedDataset(torch.rand(64, 1, 8, 8), torch.zeros(64, dtype=torch.long),
                                         RandomAffine(degrees=10)))
    loader = DataLoader(data, batch_size=8, num_workers=2, multiprocessing_context=context)
    ids = [batch[2].unique().tolist() for batch in loader]
    assert ids == [[0], [1]] * 4


def test_rejects_what_is_not_a_dataset():
    with pytest.raises(TypeError, match="map-style Dataset"):
        WithWorkerId(3)
