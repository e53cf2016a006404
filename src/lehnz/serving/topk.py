"""The best ``k`` of a score vector, in the order a full stable sort would give, in linear time.

A list needs at most a few hundred positions of a catalog that may hold 100,000 items: a full
``argsort`` spends most of a request ordering items nobody sees. ``argpartition`` finds the
k-th score in one pass; the items above it, plus the first (lowest-index) items tied with it,
are exactly the stable sort's first k, and only those are sorted.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

#: Below this many candidates a full sort is as cheap as the partition's extra passes.
_SMALL = 2048


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.intp]:
    """Positions of the ``k`` highest finite scores, highest first, ties by position:
    ``np.argsort(-scores, kind="stable")`` cut to its finite prefix and then to ``k``."""
    finite = int(np.isfinite(scores).sum())
    k = min(k, finite)
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    if len(scores) <= _SMALL or k * 4 >= len(scores):
        return np.argsort(-scores, kind="stable")[:k]
    negated = -scores
    threshold = negated[np.argpartition(negated, k - 1)[k - 1]]
    above = np.flatnonzero(negated < threshold)
    tied = np.flatnonzero(negated == threshold)[: k - len(above)]
    chosen = np.concatenate([above, tied])
    chosen.sort()  # by position, so the stable sort below breaks ties by position
    return chosen[np.argsort(negated[chosen], kind="stable")]


def ranked(scores: NDArray[np.floating], *, first: int) -> Iterator[int]:
    """Every finite position in stable-sort order, the first ``first`` found by ``top_k``:
    a filtered list usually fills from them, and only a list that filters most of them out
    pays for ordering the rest."""
    head = top_k(scores, first)
    yield from head.tolist()
    if len(head) < first:
        return
    rest = scores.copy()
    rest[head] = -np.inf
    finite = int(np.isfinite(rest).sum())
    yield from np.argsort(-rest, kind="stable")[:finite].tolist()
