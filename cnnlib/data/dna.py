"""DNA on a grid: IUPAC one-hot encoding and a seeded data set of sequences with planted motifs.

A DNA sequence is 1-D data with 4 channels (A, C, G, T). Ambiguity codes of the IUPAC
nomenclature spread one position's weight over the bases it may be (seed 000's table): ``R``
(purine) is half A, half G; ``N`` (any) is a quarter of each; ``Z`` (a gap) is all zeros.

Dataset card (:func:`make_dna_dataset`)
---------------------------------------
- **What**: ``n`` random sequences of length ``length`` over ACGT (uniform, independent bases).
  A fraction ``positive_fraction`` are positives: the ``motif`` (default ``TATAAT``, the bacterial
  Pribnow box) is written at a uniformly random position, each of its bases mutated with
  probability ``mutation_rate``. Negatives are re-drawn until they do not contain the motif.
- **Labels**: 1 for a planted motif, 0 otherwise; ``motif_positions`` holds the start (or -1).
- **Use**: 1-D convolution as a motif detector: a kernel equal to the motif's one-hot fires
  where the motif is.
- **Limits**: synthetic; real promoters are variable and their background is not uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlib._checks import check_int

__all__ = ["IUPAC_CODES", "one_hot_dna", "DNADataset", "make_dna_dataset"]

_h, _t, _q = 1 / 2, 1 / 3, 1 / 4
#: Weight of each base (A, C, G, T) for each IUPAC letter, as in seed 000's table.
IUPAC_CODES: dict[str, tuple[float, float, float, float]] = {
    "A": (1, 0, 0, 0), "C": (0, 1, 0, 0), "G": (0, 0, 1, 0), "T": (0, 0, 0, 1),
    "W": (_h, 0, 0, _h), "S": (0, _h, _h, 0), "M": (_h, _h, 0, 0), "K": (0, 0, _h, _h),
    "R": (_h, 0, _h, 0), "Y": (0, _h, 0, _h),
    "B": (0, _t, _t, _t), "D": (_t, 0, _t, _t), "H": (_t, _t, 0, _t), "V": (_t, _t, _t, 0),
    "N": (_q, _q, _q, _q), "Z": (0, 0, 0, 0),
}


def one_hot_dna(seq: str) -> torch.Tensor:
    """Encode a DNA string (IUPAC letters, any case) as a ``(4, L)`` float tensor.

    Args:
        seq (str): the sequence.

    Returns:
        Tensor[4, L]: rows A, C, G, T; ambiguity codes give fractional columns.

    Raises:
        TypeError: if ``seq`` is not a string.
        ValueError: naming the first letter that is not an IUPAC code and its position.

    Example:
        >>> one_hot_dna("ARN")[:, 1].tolist()
        [0.5, 0.0, 0.5, 0.0]
    """
    if not isinstance(seq, str):
        raise TypeError(f"seq must be a str, got {type(seq).__name__}")
    seq = seq.upper()
    for i, letter in enumerate(seq):
        if letter not in IUPAC_CODES:
            raise ValueError(f"{letter!r} at position {i} is not an IUPAC code; valid: {''.join(IUPAC_CODES)}")
    table = torch.tensor([IUPAC_CODES[c] for c in seq], dtype=torch.float32).reshape(len(seq), 4)
    return table.T.contiguous()  # (4, L)


@dataclass(frozen=True)
class DNADataset:
    """Sequences, their one-hot encodings ``x (n, 4, L)``, labels ``y (n,)`` and motif starts."""

    sequences: list[str]
    x: torch.Tensor
    y: torch.Tensor
    motif_positions: torch.Tensor
    motif: str


def make_dna_dataset(
    n: int,
    length: int = 100,
    motif: str = "TATAAT",
    seed: int = 0,
    positive_fraction: float = 0.5,
    mutation_rate: float = 0.0,
) -> DNADataset:
    """Generate the planted-motif data set described in the module's dataset card.

    Args:
        n (int): number of sequences (>= 1).
        length (int): sequence length (>= len(motif)).
        motif (str): the motif to plant (A/C/G/T only).
        seed (int): the same seed gives the same data set.
        positive_fraction (float): fraction of positives, in [0, 1].
        mutation_rate (float): per-base probability that a planted base is replaced, in [0, 1).

    Returns:
        DNADataset

    Example:
        >>> d = make_dna_dataset(4, length=20, seed=1)
        >>> tuple(d.x.shape), d.y.tolist()
        ((4, 4, 20), [1, 1, 0, 0])
        >>> d.sequences[0][d.motif_positions[0]:d.motif_positions[0] + 6]
        'TATAAT'
    """
    if not isinstance(motif, str) or not motif or set(motif.upper()) - set("ACGT"):
        raise ValueError(f"motif must be a non-empty string over ACGT, got {motif!r}")
    motif = motif.upper()
    check_int(n, "n")
    if not isinstance(length, int) or length < len(motif):
        raise ValueError(f"length must be an int >= len(motif) = {len(motif)}, got {length!r}")
    if not 0 <= positive_fraction <= 1 or not 0 <= mutation_rate < 1:
        raise ValueError(f"positive_fraction must be in [0, 1] and mutation_rate in [0, 1), got "
                         f"{positive_fraction} and {mutation_rate}")
    gen = torch.Generator().manual_seed(seed)
    bases = "ACGT"
    n_pos = round(n * positive_fraction)
    sequences, positions = [], []
    for i in range(n):
        while True:
            seq = "".join(bases[j] for j in torch.randint(0, 4, (length,), generator=gen).tolist())
            if i < n_pos or motif not in seq:
                break
        pos = -1
        if i < n_pos:
            pos = int(torch.randint(0, length - len(motif) + 1, (1,), generator=gen))
            planted = [
                bases[int(torch.randint(0, 4, (1,), generator=gen))] if torch.rand(1, generator=gen).item() < mutation_rate else b
                for b in motif
            ]
            seq = seq[:pos] + "".join(planted) + seq[pos + len(motif):]
        sequences.append(seq)
        positions.append(pos)
    x = torch.stack([one_hot_dna(s) for s in sequences])  # (n, 4, length)
    y = torch.tensor([1] * n_pos + [0] * (n - n_pos))
    return DNADataset(sequences, x, y, torch.tensor(positions), motif)
