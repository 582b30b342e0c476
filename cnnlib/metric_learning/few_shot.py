"""N-way K-shot episodes: one-shot recognition of people never seen in training.

An episode draws ``n_way`` people, ``k_shot`` photos of each as the "database" (the support
set) and ``queries`` other photos of each to recognise; a query is answered by the nearest
person, the mean of their support encodings (a prototype: Snell et al., *Prototypical Networks
for Few-shot Learning*, 2017; with one shot it is the photo itself). Accuracy is averaged over
many episodes. Chance is ``1 / n_way``. The same function scores raw pixels
(``images.flatten(1)``), an untrained network and a trained one.
"""

from __future__ import annotations

import torch

from cnnlib._checks import check_generator, check_int
from cnnlib.metric_learning._common import embeddings as _embeddings
from cnnlib.metric_learning._common import labels as _labels
from cnnlib.metric_learning.distances import pairwise_distances

__all__ = ["few_shot_accuracy"]


def few_shot_accuracy(embeddings: torch.Tensor, labels: torch.Tensor, n_way: int = 5, k_shot: int = 1,
                      queries: int = 1, episodes: int = 600, metric: str = "squared",
                      generator: torch.Generator | None = None) -> float:
    """Mean accuracy of nearest-prototype recognition over random ``n_way``-way ``k_shot``-shot episodes.

    Args:
        embeddings (Tensor[N, D]): encodings of every photo (any features: raw pixels flattened too).
        labels (Tensor[N]): integer identities; people with fewer than ``k_shot + queries``
            photos are never drawn.
        n_way (int): people per episode (>= 2).
        k_shot (int): support photos per person (>= 1).
        queries (int): query photos per person (>= 1).
        episodes (int): number of episodes (>= 1).
        metric (str): as :func:`~cnnlib.metric_learning.pairwise_distances`.
        generator (torch.Generator | None): the episodes' randomness (default: seeded 0), on the CPU.

    Returns:
        float: the fraction of queries recognised, over all episodes.

    Raises:
        ValueError: if fewer than ``n_way`` people have enough photos, or an argument is out of range.

    Example:
        >>> e = torch.tensor([[0.0], [0.1], [5.0], [5.1], [9.0], [9.2]])
        >>> few_shot_accuracy(e, torch.tensor([0, 0, 1, 1, 2, 2]), n_way=3, episodes=10)
        1.0
    """
    for name, value, low in (("n_way", n_way, 2), ("k_shot", k_shot, 1), ("queries", queries, 1),
                             ("episodes", episodes, 1)):
        check_int(value, name, low)
    gen = check_generator(generator)
    gen = gen if gen is not None else torch.Generator().manual_seed(0)
    e = _embeddings(embeddings)
    y = _labels(labels, len(e)).cpu()
    people, counts = torch.unique(y, return_counts=True)
    people = people[counts >= k_shot + queries]
    if len(people) < n_way:
        raise ValueError(f"n_way={n_way} people per episode, but only {len(people)} have k_shot + queries = "
                         f"{k_shot + queries} photos")
    rows = {int(p): torch.nonzero(y == p).flatten() for p in people}
    correct = 0
    for _ in range(episodes):
        chosen = people[torch.randperm(len(people), generator=gen)[:n_way]]
        support, query = [], []
        for p in chosen.tolist():
            r = rows[p][torch.randperm(len(rows[p]), generator=gen)[:k_shot + queries]]
            support.append(r[:k_shot])
            query.append(r[k_shot:])
        protos = torch.stack([e[s.to(e.device)].mean(0) for s in support])  # (n_way, D)
        q = e[torch.cat(query).to(e.device)]                                 # (n_way * queries, D)
        guess = pairwise_distances(q, protos, metric).argmin(dim=1).cpu()
        correct += int((guess == torch.arange(n_way).repeat_interleave(queries)).sum())
    return correct / (episodes * n_way * queries)
