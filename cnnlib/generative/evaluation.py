"""Scoring generated images offline with a classifier: Fréchet distance, Inception-style score, class histogram.

GAN samples have no likelihood to report, so they are judged through a trained classifier:

- **Fréchet distance** (Heusel et al., *GANs trained by a two time-scale update rule converge to
  a local Nash equilibrium*, NeurIPS 2017: the FID). Fit a Gaussian to the classifier's
  penultimate features of real images and one to those of generated images; their distance is

      d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}).

  The FID uses Inception-v3 features of ImageNet; with a classifier trained on the data at hand
  the number is a *classifier-FID*, comparable only with itself (report real-vs-real and an
  untrained generator beside it). The square-root term is computed as
  ``Tr((S_1^{1/2} S_2 S_1^{1/2})^{1/2})`` (the same eigenvalues as ``S_1 S_2``), with symmetric
  eigendecompositions that stay real, in float64.
- **Inception score** (Salimans et al., *Improved techniques for training GANs*, NeurIPS 2016):
  ``exp(E_x KL(p(y|x) || p(y)))`` with ``p(y)`` the mean prediction: high when each sample is
  classified confidently (low entropy of ``p(y|x)``) and the classes are diverse (high entropy of
  ``p(y)``). It lies in ``[1, K]``: ``K`` for confident predictions spread evenly over ``K`` classes.
- **Class histogram**: the share of samples per predicted class; a class with (almost) no
  samples is a dropped mode (mode collapse).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cnnlib._checks import check_int, check_tensor

__all__ = ["frechet_distance_gaussians", "frechet_distance", "inception_score", "class_histogram"]


def _as_float64(a: object, name: str) -> torch.Tensor:
    if isinstance(a, np.ndarray):
        a = torch.from_numpy(a)
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or a numpy array, got {type(a).__name__}")
    return a.detach().to(torch.float64)


def _sqrt_psd(s: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = torch.linalg.eigh((s + s.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance_gaussians(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                               sigma2: torch.Tensor) -> float:
    """The squared Fréchet (2-Wasserstein) distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1 (Tensor[D] or ndarray): mean of the first Gaussian.
        sigma1 (Tensor[D, D] or ndarray): its covariance (symmetric positive semi-definite).
        mu2 (Tensor[D] or ndarray): mean of the second.
        sigma2 (Tensor[D, D] or ndarray): its covariance.

    Returns:
        float: ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})``, ``>= 0``
        up to rounding.

    Raises:
        TypeError: for inputs that are not tensors or arrays.
        ValueError: for shapes that are not ``(D,)`` and ``(D, D)`` with one ``D``, or devices that differ.

    Example:
        >>> eye = torch.eye(2)
        >>> frechet_distance_gaussians(torch.zeros(2), eye, torch.tensor([3.0, 4.0]), 4 * eye)  # 25 + 2 (1 - 2)^2
        27.0
    """
    mu1, mu2 = _as_float64(mu1, "mu1"), _as_float64(mu2, "mu2")
    sigma1, sigma2 = _as_float64(sigma1, "sigma1"), _as_float64(sigma2, "sigma2")
    D = mu1.shape[0] if mu1.dim() == 1 else -1
    for name, t, shape in (("mu1", mu1, (D,)), ("mu2", mu2, (D,)), ("sigma1", sigma1, (D, D)),
                           ("sigma2", sigma2, (D, D))):
        if D < 1 or tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {shape if D >= 1 else '(D,)'} (mu1 is {tuple(mu1.shape)}), "
                             f"got {tuple(t.shape)}")
        if t.device != mu1.device:
            raise ValueError(f"{name} must be on the device of mu1 ({mu1.device}), got {t.device}")
    root1 = _sqrt_psd(sigma1)
    cross = torch.linalg.eigvalsh(root1 @ sigma2 @ root1).clamp(min=0).sqrt().sum()  # Tr (S1 S2)^{1/2}
    value = (mu1 - mu2).square().sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2 * cross
    return float(value)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors (the FID's formula).

    Means and unbiased covariances (``np.cov(rowvar=False)``, as the FID code) of each set, then
    :func:`frechet_distance_gaussians`.

    Args:
        features_a (Tensor[N, D] or ndarray): e.g. a classifier's penultimate features of real images.
        features_b (Tensor[M, D] or ndarray): the same features of generated images.

    Returns:
        float

    Raises:
        TypeError: for inputs that are not tensors or arrays.
        ValueError: for inputs that are not 2-D with one ``D``, or with fewer than 2 rows.

    Example:
        >>> a = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
        >>> round(frechet_distance(a, a), 6), round(frechet_distance(a, a + 1.0), 6)  # a shift of 1 in 3 dims
        (0.0, 3.0)
    """
    a, b = _as_float64(features_a, "features_a"), _as_float64(features_b, "features_b")
    for name, t in (("features_a", a), ("features_b", b)):
        check_tensor(t, name, 2, "(N, D)")
        if len(t) < 2:
            raise ValueError(f"{name} needs at least 2 rows to estimate a covariance, got {len(t)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_a and features_b must have the same D, got {a.shape[1]} and {b.shape[1]}")
    if a.device != b.device:
        raise ValueError(f"features_a and features_b must be on one device, got {a.device} and {b.device}")
    return frechet_distance_gaussians(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


def inception_score(probs: torch.Tensor) -> float:
    """``exp(mean_x KL(p(y|x) || p(y)))`` from a classifier's predicted class probabilities.

    Args:
        probs (Tensor[N, K] or ndarray): each row a probability vector (a softmax), N >= 1.

    Returns:
        float: in ``[1, K]``.

    Raises:
        TypeError: for an input that is not a tensor or array.
        ValueError: for a shape other than ``(N, K)``, negative entries or rows that do not sum to 1.

    Example:
        >>> inception_score(torch.eye(4)), inception_score(torch.full((5, 4), 0.25))
        (4.0, 1.0)
    """
    p = check_tensor(_as_float64(probs, "probs"), "probs", 2, "(N, K)")
    if len(p) == 0 or p.shape[1] == 0:
        raise ValueError(f"probs must have at least one row and one class, got shape {tuple(p.shape)}")
    if bool((p < 0).any()) or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype, device=p.device),
                                                  atol=1e-4):
        raise ValueError("probs must hold probability vectors (non-negative rows that sum to 1; apply a softmax)")
    marginal = p.mean(dim=0, keepdim=True)                                   # p(y), (1, K)
    kl = (torch.xlogy(p, p) - torch.xlogy(p, marginal)).sum(dim=1)           # KL(p(y|x) || p(y)), 0 log 0 = 0
    return float(math.exp(kl.mean().item()))


def class_histogram(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The fraction of samples in each class (e.g. of a classifier's predictions on generated images).

    Args:
        labels (Tensor[N]): integer classes in ``[0, num_classes)``.
        num_classes (int): ``K``.

    Returns:
        Tensor[K]: float64 fractions summing to 1 (zeros for an empty input).

    Raises:
        TypeError / ValueError: for a non-integer or non-1-D ``labels``, or classes out of range.

    Example:
        >>> class_histogram(torch.tensor([0, 2, 2, 2]), 4)
        tensor([0.2500, 0.0000, 0.7500, 0.0000], dtype=torch.float64)
    """
    K = check_int(num_classes, "num_classes")
    check_tensor(labels, "labels", 1, "(N,)")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer Tensor[N], got {labels.dtype}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(f"labels must be in [0, {K}), got values from {int(labels.min())} to {int(labels.max())}")
    counts = torch.bincount(labels.long(), minlength=K).to(torch.float64)
    return counts / max(len(labels), 1)
