"""cnnlib.progress: a tqdm bar by default, plain lines on stdout in the book's builds, or nothing.

Reference: what reaches stdout and stderr (pytest's capsys), compared with lines written out in
the test; ``fit`` and ``train_yolo`` report through it.
"""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlib.progress import EpochProgress, progress, progress_mode
from cnnlib.train import fit


def run_epochs(n=3):
    bar = EpochProgress(n)
    for epoch in bar:
        bar.report({"loss": 1 / epoch, "val_acc": None}, seconds=0.25)


def test_plain_mode_prints_one_line_per_epoch_to_stdout(monkeypatch, capsys):
    monkeypatch.setenv("CNNLIB_PROGRESS", "plain")
    run_epochs()
    out, err = capsys.readouterr()
    assert out.splitlines() == ["epoch 1/3: loss 1.000 (0.2 s)", "epoch 2/3: loss 0.500 (0.2 s)",
                                "epoch 3/3: loss 0.333 (0.2 s)"]
    assert err == ""


def test_bar_mode_draws_a_tqdm_bar_on_stderr(monkeypatch, capsys):
    monkeypatch.delenv("CNNLIB_PROGRESS", raising=False)
    assert progress_mode() == "bar"
    run_epochs()
    out, err = capsys.readouterr()
    assert out == "" and "epochs" in err and "3/3" in err and "loss=0.333" in err


@pytest.mark.parametrize("how", ["env", "argument"])
def test_off_prints_nothing(monkeypatch, capsys, how):
    monkeypatch.setenv("CNNLIB_PROGRESS", "off" if how == "env" else "plain")
    bar = EpochProgress(2, enabled=how == "env")
    for _ in bar:
        bar.report({"loss": 0.5}, 0.1)
    assert sum(progress(range(4), desc="steps", enabled=how == "env")) == 6
    assert capsys.readouterr() == ("", "")


def test_loop_wrapper_prints_a_summary_line_at_the_end(monkeypatch, capsys):
    monkeypatch.setenv("CNNLIB_PROGRESS", "plain")
    assert list(progress(iter("abc"), desc="letters")) == ["a", "b", "c"]
    out = capsys.readouterr().out
    assert out.startswith("letters: 3 done in ") and out.endswith(" s\n")


def test_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv("CNNLIB_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="CNNLIB_PROGRESS must be one of .*'fancy'"):
        EpochProgress(1)


def test_fit_reports_each_epoch_in_plain_mode(monkeypatch, capsys):
    monkeypatch.setenv("CNNLIB_PROGRESS", "plain")
    torch.manual_seed(0)
    x = torch.randn(32, 2)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)
    fit(nn.Linear(2, 2), loader, val_data=loader, epochs=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2: loss ") and "acc " in lines[1] and "val_acc " in lines[1]
