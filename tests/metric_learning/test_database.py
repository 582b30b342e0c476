"""Tests for cnnlib.metric_learning.database: verify, identify and FaceDatabase.

Reference: distances by a loop over coordinates (tests/metric_learning/reference.py), the
nearest person found by a loop over the database; queries built to sit exactly on the threshold
(dyadic numbers, exact in float32); an ``embed`` function whose output the test knows.
"""

import math

import pytest
import torch

from cnnlib.metric_learning import FaceDatabase, identify, verify
from tests.metric_learning.reference import sq_dist


def identify_loop(q, database, threshold):
    best, best_d = None, math.inf
    for name, enrolled in database.items():
        rows = enrolled if enrolled.dim() == 2 else enrolled[None]
        for row in rows:
            d = sq_dist(q, row)
            if d < best_d:
                best, best_d = name, d
    return (best if best_d <= threshold else None), best_d


def test_verify_single_and_batched():
    d, same = verify(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5]), 0.25)
    assert d.shape == () and d.item() == 0.25 and bool(same)  # exactly at the threshold: same
    assert not bool(verify(torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5]), 0.2)[1])
    g = torch.Generator().manual_seed(0)
    q, e = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    d, same = verify(q, e, 4.0)
    assert d.tolist() == pytest.approx([sq_dist(a, b) for a, b in zip(q, e)], abs=1e-5)
    assert torch.equal(same, d <= 4.0)
    d_one, _ = verify(q, e[0], 4.0)  # one enrolled encoding for every query
    assert d_one.tolist() == pytest.approx([sq_dist(a, e[0]) for a in q], abs=1e-5)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("threshold", [0.5, 2.0, 6.0])
def test_identify_matches_a_loop(seed, threshold):
    g = torch.Generator().manual_seed(seed)
    database = {f"p{i}": torch.randn(int(torch.randint(1, 4, (1,), generator=g)), 4, generator=g) for i in range(6)}
    database["single"] = torch.randn(4, generator=g)
    for _ in range(10):
        q = torch.randn(4, generator=g) * 1.5
        name, d = identify(q, database, threshold)
        expected_name, expected_d = identify_loop(q, database, threshold)
        assert name == expected_name and d == pytest.approx(expected_d, abs=1e-5)


def test_identify_threshold_is_inclusive_and_unknown_is_none():
    database = {"ada": torch.tensor([0.0, 0.0]), "alan": torch.tensor([[3.0, 0.0], [1.0, 1.0]])}
    assert identify(torch.tensor([1.0, 0.5]), database, 0.25) == ("alan", 0.25)  # on the threshold
    assert identify(torch.tensor([1.0, 0.5]), database, 0.125) == (None, 0.25)   # "not recognised"
    assert identify(torch.tensor([1.0, 0.5]), {}, 1.0) == (None, math.inf)


def test_face_database_with_an_embedding_function():
    embed = lambda x: x.flatten(1)[:, :2] * 2  # noqa: E731  images -> known encodings
    db = FaceDatabase(threshold=1.0, embed=embed)
    ada, alan = torch.zeros(3, 2, 2), torch.ones(3, 2, 2)
    db.enrol("ada", ada)              # one image (C, H, W)
    db.enrol("alan", alan[None])      # a batch of one
    db.enrol("alan", alan[None] * 2)  # a second photo
    assert db.names == ["ada", "alan"] and len(db) == 2 and "ada" in db and db.entries["alan"].shape == (2, 2)
    assert db.identify(torch.full((3, 2, 2), 0.25)) == ("ada", 0.5)
    assert db.identify(torch.full((3, 2, 2), 1.75)) == ("alan", 0.5)  # nearest of alan's two photos
    assert db.identify(torch.full((3, 2, 2), 5.0))[0] is None
    d, same = db.verify(torch.full((3, 2, 2), 0.25), "alan")
    assert d == pytest.approx(2 * 1.5 ** 2) and not same
    names, dists = db.identify_batch(torch.stack([torch.full((3, 2, 2), v) for v in (0.25, 1.75, 5.0)]))
    assert names == ["ada", "alan", None] and dists.tolist() == pytest.approx([0.5, 0.5, 2 * 6.0 ** 2])
    db.remove("ada")
    assert db.names == ["alan"]
    with pytest.raises(KeyError, match="'ada' is not enrolled"):
        db.verify(ada, "ada")


def test_identify_batch_agrees_with_identify():
    g = torch.Generator().manual_seed(1)
    db = FaceDatabase(threshold=3.0)
    for i in range(5):
        db.enrol(f"p{i}", torch.randn(2, 6, generator=g))
    queries = torch.randn(20, 6, generator=g)
    names, dists = db.identify_batch(queries)
    for q, name, d in zip(queries, names, dists):
        assert (name, pytest.approx(d.item())) == identify(q, db.entries, 3.0)
    assert FaceDatabase(1.0).identify_batch(queries)[0] == [None] * 20


def test_errors():
    with pytest.raises(ValueError, match=r"query_emb must be one encoding, a Tensor\[D\], got \(2, 2\)"):
        identify(torch.zeros(2, 2), {}, 1.0)
    with pytest.raises(ValueError, match=r"database\['a'\] must have shape \(M, 2\)"):
        identify(torch.zeros(2), {"a": torch.zeros(3)}, 1.0)
    with pytest.raises(TypeError, match="database must be a mapping"):
        identify(torch.zeros(2), [torch.zeros(2)], 1.0)
    with pytest.raises(ValueError, match="threshold must be in"):
        verify(torch.zeros(2), torch.zeros(2), math.nan)
    db = FaceDatabase(1.0)
    with pytest.raises(TypeError, match="name must be a non-empty str"):
        db.enrol("", torch.zeros(2))
    db.enrol("a", torch.zeros(2))
    with pytest.raises(ValueError, match="x must have shape"):
        db.enrol("a", torch.zeros(3))
    with pytest.raises(ValueError, match="identify takes one photo"):
        db.identify(torch.zeros(2, 2))
