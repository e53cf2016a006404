"""The approximate index over item embeddings (``lehnz.engine.ann``) against exact search.

Clustered unit vectors (categories, sub-categories, items around them) stand in for text
embeddings: random unit vectors have no near neighbours and make any index look good or bad
by accident. The threshold is lowered so the index serves a catalog small enough for a test.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lehnz.engine import ann
from lehnz.engine.artifact import dumps, loads
from lehnz.engine.model import OrgModel
from lehnz.serving import topk
from tests.engine.blank_model import blank_model


def clustered(n: int, dimensions: int = 384, *, seed: int = 3) -> np.ndarray:
    """Unit vectors in 40 categories of 25 sub-categories each, items spread around them
    (nearest neighbours at a cosine of about 0.75, as with product titles)."""
    rng = np.random.default_rng(seed)

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    tops = unit(rng.standard_normal((40, dimensions)))
    subs = unit(
        tops[rng.integers(0, 40, 1000)] + 0.35 * unit(rng.standard_normal((1000, dimensions)))
    )
    items = subs[rng.integers(0, 1000, n)] + 0.6 * unit(rng.standard_normal((n, dimensions)))
    return unit(items).astype(np.float32)


def model_over(embeddings: np.ndarray, index: ann.SemanticIndex | None) -> OrgModel:
    return blank_model(len(embeddings), embeddings=embeddings, semantic_index=index)


def ranked(scores: np.ndarray, k: int) -> list[int]:
    return topk.top_k(scores, k).tolist()


def top(scores: np.ndarray, k: int) -> set[int]:
    return set(ranked(scores, k))


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered(8000)


@pytest.fixture(scope="module")
def index(vectors: np.ndarray) -> ann.SemanticIndex:
    built = ann.build(vectors, min_items=1000)
    assert built is not None and len(built) == len(vectors)
    return built


def test_similar_items_through_the_index_recall_exact_search(vectors, index):
    exact, approximate = model_over(vectors, None), model_over(vectors, index)
    queries = np.random.default_rng(5).choice(len(vectors), 100, replace=False)
    recall_10, recall_100 = [], []
    for item in queries.tolist():
        truth, found = exact.similar_semantic(item), approximate.similar_semantic(item)
        assert found.shape == truth.shape == (len(vectors),) and found.dtype == np.float32
        assert found[item] == -np.inf
        truth_order, found_order = ranked(truth, 100), ranked(found, 100)
        recall_10.append(len(set(truth_order[:10]) & set(found_order[:10])) / 10)
        recall_100.append(len(set(truth_order) & set(found_order)) / 100)
    assert np.mean(recall_10) >= 0.95
    assert np.mean(recall_100) >= 0.95


def test_candidates_score_exactly_and_everything_else_is_out(vectors, index):
    exact, approximate = model_over(vectors, None), model_over(vectors, index)
    truth, found = exact.similar_semantic(42), approximate.similar_semantic(42)
    kept = np.isfinite(found)
    assert ann.CANDIDATES - 1 <= kept.sum() <= ann.CANDIDATES
    assert np.allclose(found[kept], truth[kept], atol=1e-5)
    assert top(truth, 10) <= set(np.flatnonzero(kept).tolist())


def test_a_history_profile_is_searched_through_the_index_too(vectors, index):
    exact, approximate = model_over(vectors, None), model_over(vectors, index)
    history = np.array([3, 17, 256], dtype=np.int32)
    strengths = np.array([1.0, 0.5, 2.0], dtype=np.float32)
    truth = exact.semantic_profile(history, strengths)
    found = approximate.semantic_profile(history, strengths)
    assert np.allclose(truth, vectors @ (vectors[history] * strengths[:, None]).sum(axis=0))
    assert len(top(truth, 10) & top(found, 10)) >= 9


def test_small_catalogs_search_exactly():
    assert ann.build(clustered(500)) is None  # below ann.MIN_ITEMS
    assert ann.build(np.zeros((0, 384), dtype=np.float32), min_items=0) is None


def test_items_without_text_are_nobodys_neighbour():
    vectors = clustered(1500)
    vectors[[7, 8]] = 0.0
    index = ann.build(vectors, min_items=0)
    assert index is not None and len(index) == 1498
    model = model_over(vectors, index)
    assert not np.any(model.similar_semantic(7))  # no text, no neighbours: all zeros
    assert not np.isfinite(model.similar_semantic(9)[[7, 8]]).any()


def test_the_index_is_stored_in_the_artifact_and_built_the_same_every_time(vectors, index):
    again = ann.build(vectors, min_items=1000)
    assert again is not None and np.array_equal(again.to_array(), index.to_array())
    blob = dumps(model_over(vectors, index), manifest={}, embedding_cache={})
    loaded, _ = loads(blob)
    assert loaded.semantic_index is not None
    for item in (0, 999, 4321):
        assert np.array_equal(
            loaded.similar_semantic(item), model_over(vectors, index).similar_semantic(item)
        )


def test_an_artifact_without_an_index_loads_and_searches_exactly(vectors):
    loaded, _ = loads(dumps(model_over(vectors, None), manifest={}, embedding_cache={}))
    assert loaded.semantic_index is None
    assert np.array_equal(
        loaded.similar_semantic(11), model_over(vectors, None).similar_semantic(11)
    )


def test_an_index_that_does_not_fit_its_embeddings_is_not_used(vectors, index, caplog):
    stored = index.to_array()
    other = clustered(len(vectors), seed=4)
    damaged = stored.copy()
    damaged[len(damaged) // 3 : len(damaged) // 3 + 4096] ^= 0x5A
    with caplog.at_level(logging.WARNING, logger="lehnz.engine"):
        assert ann.restore(stored[: len(stored) // 2], vectors) is None  # truncated
        assert ann.restore(np.zeros(100, dtype=np.uint8), vectors) is None  # not an index
        assert ann.restore(stored, other) is None  # another catalog's vectors
        assert ann.restore(stored, vectors[:-1]) is None  # a different item count
        assert ann.restore(stored, vectors[:, :128]) is None  # other dimensions
        assert ann.restore(damaged, vectors) is None  # bytes changed
    assert caplog.text.count("semantic index not used") == 6
    assert ann.restore(stored, vectors) is not None
