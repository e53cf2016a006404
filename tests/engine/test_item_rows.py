"""Reading a few rows of an item-item matrix without scipy's slicing: the basket item a
suggestion is "bought together with" (for a page at once), and a history's or a basket's
scores, each the same as the sparse matrix's own answer."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tests.engine.blank_model import blank_model


def _one_at_a_time(matrix: sp.csr_matrix, target: int, basket: np.ndarray) -> int | None:
    column = matrix[basket, target].toarray().ravel()
    return int(basket[int(np.argmax(column))]) if column.max() > 0 else None


def test_each_target_names_the_basket_item_the_matrix_column_does() -> None:
    rng = np.random.default_rng(7)
    n = 300
    dense = rng.integers(0, 4, (n, n)).astype(np.float32)  # small counts: ties everywhere
    dense[rng.random((n, n)) < 0.9] = 0
    matrix = sp.csr_matrix(dense)
    model = blank_model(n, bought_together=matrix)
    for size in (1, 2, 5, 12):
        for _ in range(20):
            basket = rng.choice(n, size, replace=size > 5).astype(np.int32)  # repeats too
            targets = rng.choice(n, 15).tolist()
            expected = [_one_at_a_time(matrix, t, basket) for t in targets]
            assert model.basket_contributors(targets, basket) == expected
    assert model.basket_contributors([1, 2], np.array([], dtype=np.int32)) == [None, None]


def test_a_few_rows_spread_as_the_sparse_product_does_bit_for_bit() -> None:
    from lehnz.engine.model import _spread

    rng = np.random.default_rng(3)
    matrix = sp.random(2_000, 2_000, density=0.01, format="csr", dtype=np.float32, rng=rng)
    for size in (1, 2, 7, 40, 400):
        rows = rng.integers(0, 2_000, size).astype(np.int32)  # repeats too
        weights = rng.random(size).astype(np.float32)
        expected = np.asarray(matrix[rows].T @ weights, dtype=np.float32).ravel()
        assert np.array_equal(_spread(matrix, rows, weights), expected)
