"""The learned-similarity head: verification as a binary classification of two encodings.

Instead of thresholding a fixed distance, a Siamese network can learn how to weigh the
differences of the two encodings (Taigman et al., *DeepFace*, CVPR 2014; seed 001):

    y_hat = sigma( sum_k w_k |f_k(x_i) - f_k(x_j)| + b )

a logistic regression on the element-wise absolute difference, trained with binary
cross-entropy on pairs labelled same (1) / different (0). A new person still needs no
retraining: the head compares any two encodings, and the database stores precomputed ones.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib._checks import check_int
from cnnlib.metric_learning._common import embeddings, paired

__all__ = ["SimilarityHead"]


class SimilarityHead(nn.Module):
    """``sigma(sum_k w_k |f_k(x_i) - f_k(x_j)| + b)``: the probability that two encodings show one person.

    Args:
        dim (int): the encoding size ``D``.

    Shape:
        - ``f_i``, ``f_j``: ``(N, D)`` (a vector ``(D,)`` counts as one row).
        - output: ``(N,)``, probabilities in (0, 1); :meth:`logits` gives the value inside
          ``sigma``, for ``nn.BCEWithLogitsLoss``.

    Attributes:
        linear (nn.Linear): ``w`` (``linear.weight``, ``(1, D)``) and ``b``; initialised to
            ``w_k = -1, b = 1`` so that near encodings start as "same" and far ones as
            "different".

    Raises:
        ValueError, TypeError: for encodings of other shapes, dtypes or devices.

    Example:
        >>> head = SimilarityHead(2)
        >>> head(torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [2.0, 1.0]]))
        tensor([0.7311, 0.1192], grad_fn=<SigmoidBackward0>)
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = check_int(dim, "dim")
        self.linear = nn.Linear(dim, 1)
        with torch.no_grad():
            self.linear.weight.fill_(-1.0)
            self.linear.bias.fill_(1.0)

    def logits(self, f_i: torch.Tensor, f_j: torch.Tensor) -> torch.Tensor:
        """``sum_k w_k |f_k(x_i) - f_k(x_j)| + b``, shape ``(N,)``."""
        f_i, f_j = embeddings(f_i, "f_i", allow_single=True), embeddings(f_j, "f_j", allow_single=True)
        paired(f_i, f_j, "f_i", "f_j")
        if f_i.shape[1] != self.dim:
            raise ValueError(f"SimilarityHead({self.dim}) expects encodings of size {self.dim}, got {f_i.shape[1]}")
        return self.linear((f_i - f_j).abs())[:, 0]  # (N, 1) -> (N,)

    def forward(self, f_i: torch.Tensor, f_j: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(f_i, f_j))
