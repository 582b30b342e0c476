"""Metric learning for faces: Siamese distances, contrastive and triplet losses, mining, margin heads, evaluation.

- :mod:`~cnnlib.metric_learning.distances`: pairwise squared Euclidean (the course's
  ``d(x1, x2) = ||f(x1) - f(x2)||^2``), Euclidean and cosine distances;
- :mod:`~cnnlib.metric_learning.losses`: contrastive loss ``y d + (1 - y) max(0, m - d)`` and
  FaceNet's triplet loss, both on the squared distance;
- :mod:`~cnnlib.metric_learning.mining`: all / violating / hard / semi-hard triplets of a batch,
  and the batch-all, batch-hard and semi-hard triplet losses;
- :mod:`~cnnlib.metric_learning.sampler`: P x K batches (``P`` people, ``K`` photos each);
- :mod:`~cnnlib.metric_learning.similarity`: the learned-similarity head
  ``sigma(sum_k w_k |f_k(x_i) - f_k(x_j)| + b)``;
- :mod:`~cnnlib.metric_learning.margins`: softmax, CosFace and ArcFace heads (margin in radians);
- :mod:`~cnnlib.metric_learning.database`: verify, identify ("not recognised" is ``None``), a
  face database to enrol people in;
- :mod:`~cnnlib.metric_learning.roc`: ROC, AUC, EER, TAR at a fixed FAR, threshold choice;
- :mod:`~cnnlib.metric_learning.few_shot`: N-way K-shot episode accuracy;
- :mod:`~cnnlib.metric_learning.steps`: the training steps for :func:`cnnlib.train.fit`;
- :mod:`~cnnlib.metric_learning.embedder`: a small face-embedding CNN, the ``f`` the book trains.

Embeddings are float ``Tensor[N, D]``, labels integer ``Tensor[N]``; distances are squared
Euclidean unless a ``metric`` says otherwise, and a pair is "same" when ``d <= threshold``.
The procedural faces to train on are :mod:`cnnlib.data.faces`.
"""

from cnnlib.metric_learning.database import FaceDatabase, identify, verify
from cnnlib.metric_learning.embedder import FaceEmbedder
from cnnlib.metric_learning.distances import METRICS, pairwise_distances, pairwise_sq_distances, safe_sqrt
from cnnlib.metric_learning.few_shot import few_shot_accuracy
from cnnlib.metric_learning.losses import contrastive_loss, pair_sq_distances, triplet_loss
from cnnlib.metric_learning.margins import MARGIN_HEADS, EmbeddingWithHead, MarginHead, arcface_logits, cosface_logits
from cnnlib.metric_learning.mining import (
    MINING_STRATEGIES, batch_all_triplet_loss, batch_hard_triplet_loss, batch_semi_hard_triplet_loss, triplet_indices,
)
from cnnlib.metric_learning.roc import (
    THRESHOLD_CRITERIA, all_pairs, choose_threshold, equal_error_rate, roc_auc, roc_curve, tar_at_far,
    verification_rates,
)
from cnnlib.metric_learning.sampler import PKBatches, PKSampler
from cnnlib.metric_learning.similarity import SimilarityHead
from cnnlib.metric_learning.steps import METRIC_LOSSES, head_step, metric_step

__all__ = [
    # distances and losses
    "METRICS", "pairwise_sq_distances", "pairwise_distances", "safe_sqrt", "pair_sq_distances",
    "triplet_loss", "contrastive_loss",
    # mining and batches
    "MINING_STRATEGIES", "triplet_indices", "batch_all_triplet_loss", "batch_hard_triplet_loss",
    "batch_semi_hard_triplet_loss", "PKSampler", "PKBatches",
    # heads
    "SimilarityHead", "MARGIN_HEADS", "arcface_logits", "cosface_logits", "MarginHead", "EmbeddingWithHead",
    # verification, recognition, evaluation
    "verify", "identify", "FaceDatabase", "all_pairs", "roc_curve", "roc_auc", "equal_error_rate", "tar_at_far",
    "THRESHOLD_CRITERIA", "choose_threshold", "verification_rates", "few_shot_accuracy",
    # training
    "METRIC_LOSSES", "metric_step", "head_step", "FaceEmbedder",
]
