"""A list cut from the kept head is the list a full ranking gives, whatever the request
filters out, and the answer cache stays within its bounds."""

from __future__ import annotations

import numpy as np
import pytest

from lehnz.serving.answer_cache import AnswerCache
from lehnz.serving.candidates import HEAD, MAX_LIST, Candidates, choose


def _reference(
    scores: np.ndarray, active: np.ndarray, excluded: set[int], item_ids: list[str], keep: object
) -> tuple[list[int], list[float]]:
    """A full stable sort of the finite, active, not excluded, kept scores, cut to MAX_LIST."""
    masked = np.where(active, scores, -np.inf).astype(np.float32)
    order = [
        int(p)
        for p in np.argsort(-masked, kind="stable")
        if np.isfinite(masked[p]) and int(p) not in excluded and (keep is None or keep(item_ids[p]))  # type: ignore[operator]
    ][:MAX_LIST]
    return order, [float(masked[p]) for p in order]


def _scores(rng: np.random.Generator, n: int) -> np.ndarray:
    # Few distinct values, so ties (broken by position) are everywhere; some -inf.
    scores = rng.integers(0, 50, n).astype(np.float32) / 7
    scores[rng.random(n) < 0.1] = -np.inf
    return scores


@pytest.mark.parametrize("n", [30, HEAD - 1, HEAD + 5, 5_000])
@pytest.mark.parametrize("kept_share", [None, 1.0, 0.5, 0.03])
def test_a_list_from_the_head_is_the_full_rankings_list(n: int, kept_share: float | None) -> None:
    rng = np.random.default_rng(n)
    item_ids = [f"item-{i}" for i in range(n)]
    for _ in range(5):
        scores = _scores(rng, n)
        active = rng.random(n) > 0.05
        excluded = {int(p) for p in rng.integers(0, n, rng.integers(0, 20))}
        passing = {i for i in item_ids if kept_share is not None and rng.random() < kept_share}
        keep = None if kept_share is None else passing.__contains__
        full_rankings: list[int] = []

        def all_scores(scores: np.ndarray = scores, asked: list[int] = full_rankings) -> np.ndarray:
            asked.append(1)
            return scores

        candidates = Candidates.of(scores, lambda targets: ["x"] * len(targets), {})
        chosen = choose(
            candidates,
            active=active,
            excluded=np.array(sorted(excluded), dtype=np.intp),
            item_ids=item_ids,
            keep=keep,
            all_scores=all_scores,
        )
        assert (chosen.positions.tolist(), chosen.scores.tolist()) == _reference(
            scores, active, excluded, item_ids, keep
        )
        if kept_share == 0.03 and n == 5_000:
            assert full_rankings, "a head this filtered cannot fill a list"
        if kept_share in (None, 1.0) and n <= HEAD:
            assert not full_rankings, "a head holding every item never needs the full ranking"


def test_reasons_are_worded_once_per_catalog_version() -> None:
    asked: list[list[int]] = []

    def reasons(targets):  # type: ignore[no-untyped-def]
        asked.append(list(targets))
        return [f"reason {t}" for t in targets]

    candidates = Candidates.of(np.arange(10, dtype=np.float32), reasons, {})
    assert candidates.reasons_for([9, 8], 1) == ["reason 9", "reason 8"]
    assert candidates.reasons_for([8, 7], 1) == ["reason 8", "reason 7"]
    assert candidates.reasons_for([8], 2) == ["reason 8"]
    assert asked == [[9, 8], [7], [8]]


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache: AnswerCache[str] = AnswerCache(max_entries=2, max_age=60)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # "b" is now the least recently used
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 1)


def test_the_cache_forgets_entries_past_their_age() -> None:
    now = [0.0]
    cache: AnswerCache[str] = AnswerCache(max_entries=10, max_age=5, clock=lambda: now[0])
    cache.put("a", "A")
    now[0] = 5.0
    assert cache.get("a") == "A"
    now[0] = 5.5
    assert cache.get("a") is None
    assert len(cache) == 0


def test_a_cache_of_no_entries_keeps_nothing() -> None:
    cache: AnswerCache[str] = AnswerCache(max_entries=0, max_age=60)
    cache.put("a", "A")
    assert cache.get("a") is None
    assert len(cache) == 0
