"""``OrgModel.contributions``: which history item did most to recommend an item (the
"Because you viewed X" line), read from flattened rows, must name the very item the
(history x catalog) matrix it replaced named, for every item, history and model shape."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from lehnz.engine.model import OrgModel, Params
from tests.engine.blank_model import blank_model


def _reference(
    neighbours: sp.csr_matrix,
    cf: sp.csr_matrix | None,
    indices: np.ndarray,
    strengths: np.ndarray,
    target: int,
) -> int | None:
    """The former implementation, kept as the specification."""
    weights = sp.diags(strengths.astype(np.float32))
    block = weights @ neighbours[indices]
    if cf is not None and cf is not neighbours:
        block = block + weights @ cf[indices]
    contributions = sp.csc_matrix(block)
    start, end = contributions.indptr[target], contributions.indptr[target + 1]
    if start == end:
        return None
    values = contributions.data[start:end]
    best = int(np.argmax(values))
    if values[best] <= 0:
        return None
    return int(indices[contributions.indices[start + best]])


def _sparse(rng: np.random.Generator, n: int, per_row: int, *, signed: bool) -> sp.csr_matrix:
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, n * per_row)
    values = rng.random(n * per_row).astype(np.float32)
    if signed:
        values -= 0.3
    # Ties: a few equal values, so "the first among equals" is tested too.
    values[rng.random(len(values)) < 0.1] = 0.5
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(n, n), dtype=np.float32)
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    return matrix


def _model(neighbours: sp.csr_matrix, cf: sp.csr_matrix | None) -> OrgModel:
    return blank_model(
        neighbours.shape[0], neighbours=neighbours, cf=cf, bought_together=neighbours
    )


@pytest.mark.parametrize("shape", ["knn", "ease", "als"])
def test_the_top_contributor_is_the_one_the_full_matrix_named(shape: str) -> None:
    rng = np.random.default_rng(7)
    n = 120
    neighbours = _sparse(rng, n, 12, signed=False)
    cf = {"knn": neighbours, "ease": _sparse(rng, n, 12, signed=True), "als": None}[shape]
    model = _model(neighbours, cf)
    checked = named = 0
    for _ in range(25):
        size = int(rng.integers(1, 40))
        indices = rng.choice(n, size, replace=False).astype(np.int32)
        strengths = rng.random(size).astype(np.float32)
        strengths[rng.random(size) < 0.1] = 0.0  # an item whose weight decayed to nothing
        contributions = model.contributions(indices, strengths)
        for target in range(n):
            expected = _reference(neighbours, cf, indices, strengths, target)
            assert contributions.top(target) == expected, (shape, target)
            checked += 1
            named += expected is not None
    assert named > checked // 20  # the comparison covered real answers, not only None


def test_an_empty_history_names_nobody() -> None:
    model = _model(_sparse(np.random.default_rng(1), 20, 3, signed=False), None)
    empty = model.contributions(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
    assert empty.top(3) is None


@pytest.mark.parametrize("shape", ["knn", "ease"])
def test_a_history_item_of_strength_zero_is_scored_not_refused(shape: str) -> None:
    """A shopper who viewed, carted and removed an item twice holds it at strength 0; the
    sparse row keeps it stored, and scoring must not misalign it with purchases (it raised
    a broadcasting error: a 500 on /recommend for 5.5% of a synthetic store's shoppers)."""
    rng = np.random.default_rng(3)
    neighbours = _sparse(rng, 50, 6, signed=False)
    cf = neighbours if shape == "knn" else _sparse(rng, 50, 6, signed=True)
    model = _model(neighbours, cf)
    model.params = Params(cf_model=shape)
    indices = np.array([3, 7, 11], dtype=np.int32)
    strengths = np.array([0.7, 0.0, 1.2], dtype=np.float32)
    purchases = np.array([1.0, 0.0, 2.0], dtype=np.float32)
    blended, repeat, _ = model.personal_scores(indices, strengths, purchases)
    assert np.all(np.isfinite(blended))
    assert repeat[7] == 0.0 and repeat[3] > 0.0 and repeat[11] > repeat[3]
