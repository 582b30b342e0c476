"""Tests for cnnlib.metric_learning.roc: ROC, AUC, EER, TAR at FAR, threshold choice, all pairs.

Reference: sklearn.metrics ``roc_curve`` (``drop_intermediate=False``, scores ``-distance``) and
``roc_auc_score``; FAR and TAR counted by a loop over the pairs at each threshold; the equal
error rate found by a loop along sklearn's ROC; all pairs listed by a double loop.
"""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from cnnlib.metric_learning import (
    all_pairs, choose_threshold, equal_error_rate, roc_auc, roc_curve, tar_at_far, verification_rates,
)


def scores(seed, n=60, ties=False):
    g = torch.Generator().manual_seed(seed)
    same = torch.rand(n, generator=g) < 0.3
    same[:2] = torch.tensor([True, False])
    d = torch.where(same, torch.rand(n, generator=g), torch.rand(n, generator=g) + 0.4)
    return ((d * 8).round() / 8 if ties else d), same


def rates_loop(d, same, t):
    genuine = [x for x, s in zip(d.tolist(), same.tolist()) if s]
    impostor = [x for x, s in zip(d.tolist(), same.tolist()) if not s]
    return sum(x <= t for x in impostor) / len(impostor), sum(x <= t for x in genuine) / len(genuine)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("ties", [False, True])
def test_roc_and_auc_match_sklearn(seed, ties):
    d, same = scores(seed, ties=ties)
    far, tar, t = roc_curve(d, same)
    fpr, tpr, thr = sk_roc_curve(same.numpy(), -d.double().numpy(), drop_intermediate=False)
    assert np.allclose(far.numpy(), fpr) and np.allclose(tar.numpy(), tpr)
    assert np.allclose(t[1:].numpy(), -thr[1:]) and t[0] == -np.inf
    assert roc_auc(d, same) == pytest.approx(roc_auc_score(same.numpy(), -d.double().numpy()), abs=1e-12)
    for k in range(0, len(t), 5):
        assert (far[k].item(), tar[k].item()) == pytest.approx(rates_loop(d, same, t[k].item()))


@pytest.mark.parametrize("seed", range(4))
def test_equal_error_rate_matches_a_loop_along_sklearns_roc(seed):
    d, same = scores(seed, ties=seed % 2 == 1)
    fpr, tpr, thr = sk_roc_curve(same.numpy(), -d.double().numpy(), drop_intermediate=False)
    fnr = 1 - tpr
    for k in range(1, len(fpr)):
        if fpr[k] >= fnr[k]:
            a0, a1 = fpr[k - 1] - fnr[k - 1], fpr[k] - fnr[k]
            s = 0.0 if a1 == a0 else -a0 / (a1 - a0)
            expected = fpr[k - 1] + s * (fpr[k] - fpr[k - 1]) if a1 != 0 else fpr[k]
            break
    eer, threshold = equal_error_rate(d, same)
    assert eer == pytest.approx(expected, abs=1e-12)
    far, tar = rates_loop(d, same, threshold)
    assert abs(far - (1 - tar)) <= min(abs(f - (1 - t)) for f, t in zip(fpr, tpr)) + 1e-12


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("target", [0.0, 0.01, 0.1, 0.5, 1.0])
def test_tar_at_far_is_the_best_tar_within_the_far(seed, target):
    d, same = scores(seed, ties=True)
    tar, t = tar_at_far(d, same, target)
    candidates = [(-np.inf, 0.0)] + [(x, rates_loop(d, same, x)) for x in sorted(set(d.tolist()))]
    allowed = [(x, r[1]) for x, r in candidates[1:] if r[0] <= target] or [(-np.inf, 0.0)]
    assert (t, tar) == (allowed[-1][0], pytest.approx(allowed[-1][1]))
    if t > -np.inf:
        assert rates_loop(d, same, t)[0] <= target


@pytest.mark.parametrize("seed", range(3))
def test_choose_threshold_maximises_its_criterion(seed):
    d, same = scores(seed, ties=True)
    grid = sorted(set(d.tolist()))
    balanced = max(grid, key=lambda x: (lambda f, t: t - f)(*rates_loop(d, same, x)))
    acc = lambda x: verification_rates(d, same, x)["accuracy"]  # noqa: E731
    assert choose_threshold(d, same) == balanced
    assert acc(choose_threshold(d, same, "accuracy")) == pytest.approx(max(acc(x) for x in grid))
    assert choose_threshold(d, same, "far", far=0.1) == tar_at_far(d, same, 0.1)[1]
    assert choose_threshold(d, same, "eer") == equal_error_rate(d, same)[1]


def test_verification_rates_by_counting():
    d, same = scores(0)
    r = verification_rates(d, same, 0.5)
    far, tar = rates_loop(d, same, 0.5)
    accept = [x <= 0.5 for x in d.tolist()]
    accuracy = np.mean([a == s for a, s in zip(accept, same.tolist())])
    assert (r["far"], r["tar"], r["frr"], r["trr"], r["accuracy"]) == pytest.approx(
        (far, tar, 1 - tar, 1 - far, accuracy))


def test_all_pairs_matches_a_double_loop():
    g = torch.Generator().manual_seed(0)
    e, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.tensor([0, 1, 0, 2, 1, 1, 0])
    d, same = all_pairs(e, y)
    pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    assert d.tolist() == pytest.approx([float(((e[i] - e[j]) ** 2).sum()) for i, j in pairs])
    assert same.tolist() == [bool(y[i] == y[j]) for i, j in pairs]
    assert torch.allclose(all_pairs(e, y, "euclidean")[0], d.sqrt())


def test_perfect_and_inverted_verifiers():
    d, same = torch.tensor([0.1, 0.2, 0.8, 0.9]), torch.tensor([True, True, False, False])
    assert roc_auc(d, same) == 1.0 and equal_error_rate(d, same)[0] == 0.0
    assert tar_at_far(d, same, 0.0) == (1.0, pytest.approx(0.2))
    assert roc_auc(d, ~same) == 0.0 and equal_error_rate(d, ~same)[0] == 1.0


def test_errors():
    with pytest.raises(ValueError, match="need both genuine and impostor pairs, got 2 genuine of 2"):
        roc_curve(torch.tensor([0.1, 0.2]), torch.tensor([True, True]))
    with pytest.raises(ValueError, match=r"same must be a Tensor\[P\] = \(2,\)"):
        roc_curve(torch.tensor([0.1, 0.2]), torch.tensor([True]))
    with pytest.raises(ValueError, match=r"far must be in \[0.0, 1.0\]"):
        tar_at_far(torch.tensor([0.1, 0.2]), torch.tensor([True, False]), 1.5)
    with pytest.raises(ValueError, match="far is needed by criterion='far' and only by it"):
        choose_threshold(torch.tensor([0.1, 0.2]), torch.tensor([True, False]), "far")
