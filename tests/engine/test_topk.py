"""``top_k`` and ``ranked`` give exactly what a full stable sort gives, ties and all."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lehnz.serving.topk import ranked, top_k


def _reference(scores: np.ndarray) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return order[: int(np.isfinite(scores).sum())].tolist()


@pytest.mark.parametrize("size", [0, 1, 5, 3000, 20_000])
@pytest.mark.parametrize("k", [1, 12, 500, 5000])
@pytest.mark.parametrize("kind", ["random", "ties", "masked", "all_masked"])
def test_top_k_is_the_stable_sorts_prefix(size: int, k: int, kind: str) -> None:
    rng = np.random.default_rng(size + k)
    scores = rng.random(size).astype(np.float32)
    if kind == "ties":
        scores = np.round(scores * 7).astype(np.float32)  # few distinct values: many ties
    if kind == "masked":
        scores[rng.random(size) < 0.6] = -np.inf
    if kind == "all_masked":
        scores[:] = -np.inf
    assert top_k(scores, k).tolist() == _reference(scores)[:k]


def test_ranked_goes_on_past_the_head_in_the_same_order() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(10_000) * 50).astype(np.float32)
    scores[rng.random(10_000) < 0.3] = -np.inf
    expected = _reference(scores)
    assert list(ranked(scores, first=500)) == expected
    assert list(itertools.islice(ranked(scores, first=500), 700)) == expected[:700]
