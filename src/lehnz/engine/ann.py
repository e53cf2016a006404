"""An approximate nearest-neighbour index over the item embeddings, for large catalogs.

Exact semantic neighbours are one product of the whole embedding matrix with a vector: at
100,000 items x 384 dimensions that reads 154 MB for every request. Above ``MIN_ITEMS`` items
an HNSW graph (usearch) finds the ``CANDIDATES`` nearest items instead, in about a millisecond,
and only those are scored, exactly, against the float32 embeddings; every other item scores
``-inf``. Below it, search stays exact, so small stores answer exactly as before.

The graph stores its vectors as 8-bit integers (usearch scales each to unit length and rounds
its components to 1/127: a third of float32's size, built in half the time). The candidates
are re-scored exactly, so the rounding can only change which items are candidates; recall
against exact search is measured in ``bench/ann.py``.

It is built once, at training (single-threaded, so one model always gives the same bytes), and
stored in the artifact: serving only loads it, and an artifact without one searches exactly.

Lists are drawn from the candidates: a list whose filters pass fewer than the serving layer's
500 of the ``CANDIDATES`` nearest items comes back shorter than it would from exact search.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from usearch.index import Index

logger = logging.getLogger("lehnz.engine")

#: From this many items on, semantic neighbours come from the index (exact below it). Up to
#: 10,000 items exact search takes under a millisecond, less than the index; at 20,000 they
#: cross, and at 100,000 exact takes 5 times the index's 2-3 ms (bench/RESULTS.md).
MIN_ITEMS = 20_000
#: How many nearest items a query returns: twice the longest list the serving layer orders
#: (``MAX_LIST``, 500), so a filtered list still fills when half the candidates pass.
CANDIDATES = 1000
# HNSW's links per node and search breadths (the paper's M, efConstruction, ef).
_CONNECTIVITY = 16
_EXPANSION_ADD = 64
_EXPANSION_SEARCH = CANDIDATES
_CHECK_ROWS = 8192  # rows compared at a time when a stored index is loaded


class SemanticIndexError(ValueError):
    """A stored index does not match the embeddings it is loaded against."""


class SemanticIndex:
    """The HNSW graph over one model's embedding rows (keys: row positions). Rows that are
    all zeros (items without text) are left out: they are nobody's neighbour."""

    def __init__(self, index: Index) -> None:
        self._index = index

    @classmethod
    def build(cls, embeddings: NDArray[np.float32]) -> SemanticIndex:
        rows = _rows(embeddings)
        index = _empty(embeddings.shape[1])
        if len(rows):
            index.add(rows.astype(np.uint64), embeddings[rows], threads=1)
        return cls(index)

    @classmethod
    def from_array(cls, blob: NDArray[np.uint8], embeddings: NDArray[np.float32]) -> SemanticIndex:
        """The index ``to_array`` stored, checked against the embeddings it serves: the same
        dimensions, exactly their non-zero rows as keys, and those rows' vectors."""
        data = np.ascontiguousarray(blob, dtype=np.uint8).data
        try:
            meta = Index.metadata(data)
        except Exception as exc:  # usearch raises RuntimeError and others for a bad header
            raise SemanticIndexError(f"unreadable semantic index: {exc}") from exc
        if not meta or meta.get("dimensions") != embeddings.shape[1]:
            raise SemanticIndexError("the semantic index does not match the embeddings")
        index = _empty(embeddings.shape[1])
        try:
            index.load(data)
        except Exception as exc:
            raise SemanticIndexError(f"unreadable semantic index: {exc}") from exc
        rows = _rows(embeddings)
        keys = np.sort(np.asarray(index.keys, dtype=np.int64)) if len(index) else rows
        if len(keys) != len(rows) or not np.array_equal(keys, rows):
            raise SemanticIndexError("the semantic index holds other items than the embeddings")
        for start in range(0, len(rows), _CHECK_ROWS):
            chunk = rows[start : start + _CHECK_ROWS]
            stored = np.asarray(index.get(chunk.astype(np.uint64)), dtype=np.float32)
            expected = _unit(embeddings[chunk]) * 127.0
            # usearch rounds toward zero: each component within 1 of the exact value.
            if stored.shape != expected.shape or np.abs(stored - expected).max() > 1.01:
                raise SemanticIndexError("the semantic index holds other vectors than the items")
        return cls(index)

    def to_array(self) -> NDArray[np.uint8]:
        saved = self._index.save()  # to a buffer: bytes, since no path is given
        assert saved is not None
        return np.frombuffer(saved, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def memory_bytes(self) -> int:
        """What the index holds in memory (its graph and 8-bit vectors)."""
        return int(self._index.memory_usage)

    def candidates(self, vector: NDArray[np.float32], count: int | None = None) -> NDArray[np.intp]:
        """Positions of (about) the ``count`` (default ``CANDIDATES``) rows with the largest
        inner product with ``vector``, in no particular order."""
        if len(self._index) == 0:
            return np.empty(0, dtype=np.intp)
        query = np.ascontiguousarray(vector, dtype=np.float32)
        found = self._index.search(query, count or CANDIDATES, threads=1)
        return np.asarray(found.keys, dtype=np.intp)


def build(embeddings: NDArray[np.float32], *, min_items: int | None = None) -> SemanticIndex | None:
    """The index for a catalog of at least ``min_items`` (default ``MIN_ITEMS``) items, else
    None (exact search)."""
    threshold = MIN_ITEMS if min_items is None else min_items
    if embeddings.ndim != 2 or len(embeddings) == 0 or len(embeddings) < threshold:
        return None
    return SemanticIndex.build(embeddings)


def restore(blob: NDArray[np.uint8], embeddings: NDArray[np.float32]) -> SemanticIndex | None:
    """An artifact's stored index, or None (exact search) when it is unreadable or does not
    match the embeddings: the rest of the model is still good to serve."""
    try:
        return SemanticIndex.from_array(blob, embeddings)
    except SemanticIndexError as exc:
        logger.warning("semantic index not used, searching exactly: %s", exc)
        return None


def inner_products(
    embeddings: NDArray[np.float32], vector: NDArray[np.float32], index: SemanticIndex | None
) -> NDArray[np.float32]:
    """Every row's inner product with ``vector``: all of them exactly without an index; with
    one, the candidates' exactly and ``-inf`` for the rest."""
    if index is None or not np.any(vector):
        return np.asarray(embeddings @ vector, dtype=np.float32)
    scores = np.full(len(embeddings), -np.inf, dtype=np.float32)
    chosen = index.candidates(vector)
    scores[chosen] = embeddings[chosen] @ vector
    return scores


def _empty(dimensions: int) -> Index:
    return Index(
        ndim=dimensions,
        metric="ip",
        dtype="i8",
        connectivity=_CONNECTIVITY,
        expansion_add=_EXPANSION_ADD,
        expansion_search=_EXPANSION_SEARCH,
    )


def _rows(embeddings: NDArray[np.float32]) -> NDArray[np.int64]:
    """The rows the index holds: those that are not all zeros."""
    return np.flatnonzero(np.any(embeddings != 0, axis=1)).astype(np.int64)


def _unit(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)
