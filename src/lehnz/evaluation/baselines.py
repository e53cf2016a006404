"""Classic recommenders on the training events, tuned where they have a knob.

Each baseline maps a user to a ranked list of item ids from the training events alone. EASE's
λ and ALS's factors and regularisation are tuned on a validation slice carved from the end of
the training window, the same way lehnz tunes itself, so no baseline is left weak.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from lehnz.engine.als import fit_item_factors
from lehnz.engine.metrics import ndcg_at_k
from lehnz.engine.sparse import cosine_neighbours, ease_neighbours
from lehnz.evaluation.dataset import PURCHASE_NAMES, Event

Ranker = Callable[[str, int], list[str]]
T = TypeVar("T")


class Interactions:
    def __init__(self, events: Sequence[Event]) -> None:
        self.users = {u: i for i, u in enumerate(sorted({e.user_id for e in events}))}
        self.items = sorted({e.item_id for e in events})
        self.item_index = {item: i for i, item in enumerate(self.items)}
        rows = [self.users[e.user_id] for e in events]
        cols = [self.item_index[e.item_id] for e in events]
        counts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(self.users), len(self.items)),
        )
        counts.sum_duplicates()
        self.counts = counts
        self.x = counts.copy()
        self.x.data = np.log1p(self.x.data)
        self.popular = np.asarray(counts.sum(axis=0)).ravel()

    def top(self, scores: np.ndarray, k: int) -> list[str]:
        order = np.argsort(-scores, kind="stable")[:k]
        return [self.items[i] for i in order]


def popularity(data: Interactions) -> Ranker:
    ranked = data.top(data.popular.astype(np.float64), 500)
    return lambda _user, k: ranked[:k]


def buy_again(data: Interactions, events: Sequence[Event]) -> Ranker:
    """Each user's most-bought items, most recent first among equals, then popularity."""
    bought: dict[str, Counter[str]] = {}
    last: dict[tuple[str, str], float] = {}
    for event in events:
        if event.event_name in PURCHASE_NAMES:
            bought.setdefault(event.user_id, Counter())[event.item_id] += 1
            last[(event.user_id, event.item_id)] = event.time
    fallback = popularity(data)

    def rank(user: str, k: int) -> list[str]:
        own = sorted(
            bought.get(user, Counter()).items(),
            key=lambda pair: (-pair[1], -last[(user, pair[0])]),
        )
        ranked = [item for item, _ in own][:k]
        seen = set(ranked)
        ranked += [item for item in fallback(user, k + len(seen)) if item not in seen]
        return ranked[:k]

    return rank


def _from_scores(data: Interactions, score: Callable[[int], np.ndarray]) -> Ranker:
    fallback = popularity(data)

    def rank(user: str, k: int) -> list[str]:
        row = data.users.get(user)
        if row is None:
            return fallback(user, k)
        return data.top(score(row) + 1e-9 * data.popular, k)

    return rank


def item_knn(data: Interactions) -> Ranker:
    neighbours = cosine_neighbours(data.x, k=100, shrink=10.0)
    return _from_scores(data, lambda row: np.asarray((data.x[row] @ neighbours).toarray()).ravel())


def ease(data: Interactions, l2: float) -> Ranker:
    weights = ease_neighbours(data.x, l2=l2, max_items=3000, k=200)
    return _from_scores(data, lambda row: np.asarray((data.x[row] @ weights).toarray()).ravel())


def als(data: Interactions, factors: int, regularization: float) -> Ranker:
    item_factors = fit_item_factors(
        data.x, factors=factors, regularization=regularization, alpha=10.0, iterations=15, seed=7
    )
    gram = item_factors.T @ item_factors

    def score(row: int) -> np.ndarray:
        from lehnz.engine.als import fold_in

        start, end = data.x.indptr[row], data.x.indptr[row + 1]
        indices = data.x.indices[start:end].astype(np.int32)
        user = fold_in(
            item_factors,
            gram,
            indices,
            data.x.data[start:end],
            regularization=regularization,
            alpha=10.0,
        )
        return item_factors @ user

    return _from_scores(data, score)


def tuned(
    events: Sequence[Event],
    build: Callable[[Interactions, T], Ranker],
    grid: Sequence[T],
    *,
    users: int = 300,
) -> tuple[T, float]:
    """The grid value with the best NDCG@10 on the last 10% of ``events``."""
    cut = int(len(events) * 0.9)
    inner, held = events[:cut], events[cut:]
    known = {e.user_id for e in inner}
    truth: dict[str, set[str]] = {}
    for event in held:
        if event.event_name in PURCHASE_NAMES and event.user_id in known:
            truth.setdefault(event.user_id, set()).add(event.item_id)
    sample = sorted(truth)[:users]
    data = Interactions(inner)
    best: tuple[T, float] = (grid[0], -1.0)
    for value in grid:
        ranker = build(data, value)
        score = (
            float(np.mean([ndcg_at_k(ranker(u, 10), truth[u], 10) for u in sample]))
            if sample
            else 0.0
        )
        if score > best[1]:
            best = (value, score)
    return best
