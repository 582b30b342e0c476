"""Tests for cnnlib.data.dna and cnnlib.data.idx.

Reference: seed 000's IUPAC table, entries copied by hand into the test; IDX files written
byte by byte with ``struct`` in the test (the format of yann.lecun.com/exdb/mnist).
"""

import gzip
import struct

import numpy as np
import pytest
import torch

from cnnlib.data import IUPAC_CODES, load_mnist_idx, make_dna_dataset, one_hot_dna, read_idx


def test_iupac_table_matches_seed_000():
    expected = {  # column of seed 000's table, rows A, C, G, T
        "A": (1, 0, 0, 0), "W": (1 / 2, 0, 0, 1 / 2), "S": (0, 1 / 2, 1 / 2, 0), "M": (1 / 2, 1 / 2, 0, 0),
        "K": (0, 0, 1 / 2, 1 / 2), "R": (1 / 2, 0, 1 / 2, 0), "Y": (0, 1 / 2, 0, 1 / 2),
        "B": (0, 1 / 3, 1 / 3, 1 / 3), "D": (1 / 3, 0, 1 / 3, 1 / 3), "H": (1 / 3, 1 / 3, 0, 1 / 3),
        "V": (1 / 3, 1 / 3, 1 / 3, 0), "N": (1 / 4,) * 4, "Z": (0, 0, 0, 0),
    }
    for letter, column in expected.items():
        assert IUPAC_CODES[letter] == pytest.approx(column), letter
    assert len(IUPAC_CODES) == 16
    for letter, column in IUPAC_CODES.items():
        assert sum(column) == pytest.approx(0 if letter == "Z" else 1)


def test_one_hot_dna():
    x = one_hot_dna("acgtN")
    assert x.shape == (4, 5)
    assert x[:, :4].tolist() == torch.eye(4).tolist()
    assert x[:, 4].tolist() == [0.25] * 4
    with pytest.raises(ValueError, match="'X' at position 2 is not an IUPAC code"):
        one_hot_dna("ACXT")
    with pytest.raises(TypeError, match="seq must be a str"):
        one_hot_dna(list("ACGT"))


def test_dna_dataset_plants_the_motif():
    d = make_dna_dataset(40, length=50, motif="TATAAT", seed=7)
    assert d.x.shape == (40, 4, 50) and d.y.sum() == 20
    for seq, label, pos in zip(d.sequences, d.y.tolist(), d.motif_positions.tolist()):
        if label:
            assert seq[pos:pos + 6] == "TATAAT"
        else:
            assert "TATAAT" not in seq and pos == -1
    again = make_dna_dataset(40, length=50, motif="TATAAT", seed=7)
    assert again.sequences == d.sequences
    assert make_dna_dataset(40, length=50, seed=8).sequences != d.sequences
    with pytest.raises(ValueError, match="motif must be a non-empty string over ACGT"):
        make_dna_dataset(3, motif="TANAAT")


def write_idx(path, array, code):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx_round_trip(tmp_path, dtype, code):
    array = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array, code)
        out = read_idx(tmp_path / name)
        assert out.shape == (2, 3, 4) and np.array_equal(out, array)


def test_load_mnist_idx_from_a_folder(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, 0x08)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels, 0x08)
    x, y = load_mnist_idx(tmp_path, "test")
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte\\[.gz\\] not found .*cnnlib.data.download_mnist"):
        load_mnist_idx(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist_idx(tmp_path / "nope", "test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist_idx(tmp_path, "validation")


def test_corrupt_and_truncated_files(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match="magic number"):
        read_idx(bad)
    write_idx(tmp_path / "t.idx", np.arange(10, dtype=np.uint8), 0x08)
    (tmp_path / "cut.idx").write_bytes((tmp_path / "t.idx").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated or corrupt: shape \\(10,\\) needs 10 bytes"):
        read_idx(tmp_path / "cut.idx")
    (tmp_path / "code.idx").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01a")
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        read_idx(tmp_path / "code.idx")
