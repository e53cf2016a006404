"""Sparse item-item matrices: keeping the top k per row, and building them from data."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numpy.typing import NDArray


def top_k_per_row(matrix: sp.csr_matrix | NDArray[np.float32], k: int) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row, diagonal removed, as CSR float32."""
    if not sp.issparse(matrix):
        dense = np.asarray(matrix, dtype=np.float32).copy()
        np.fill_diagonal(dense, 0.0)
        n = dense.shape[0]
        keep = min(k, dense.shape[1])
        cols = (
            np.argpartition(-dense, keep - 1, axis=1)[:, :keep] if keep else np.zeros((n, 0), int)
        )
        rows = np.repeat(np.arange(n), cols.shape[1])
        values = dense[rows, cols.ravel()]
        positive = values > 0
        return sp.csr_matrix(
            (values[positive], (rows[positive], cols.ravel()[positive])),
            shape=dense.shape,
            dtype=np.float32,
        )
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    n_rows, n_cols = csr.shape
    if csr.nnz > 0.2 * n_rows * n_cols and n_rows * n_cols <= 100_000_000:
        # Nearly dense (small catalogs with a lot of behaviour): row-wise argpartition on the
        # dense array is far faster than sorting tens of millions of entries.
        return top_k_per_row(csr.toarray(), k)
    coo = csr.tocoo()
    keep = (coo.data > 0) & (coo.row != coo.col)
    rows, cols, values = coo.row[keep], coo.col[keep], coo.data[keep]
    # Sort by row, then by value descending; an entry's rank within its row decides.
    order = np.lexsort((-values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(coo.shape[0]))
    rank = np.arange(len(rows)) - starts[rows]
    top = rank < k
    return sp.csr_matrix((values[top], (rows[top], cols[top])), shape=coo.shape, dtype=np.float32)


def cosine_neighbours(x: sp.csr_matrix, *, k: int, shrink: float) -> sp.csr_matrix:
    """Item-item cosine over the columns of ``x`` (users or baskets x items), shrunk toward
    zero for pairs seen together rarely: ``c_ij / (|i||j|) * n_ij / (n_ij + shrink)``."""
    x = sp.csr_matrix(x, dtype=np.float32)
    x.eliminate_zeros()
    gram = (x.T @ x).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()).astype(np.float32)
    binary = x.copy()
    binary.data[:] = 1.0
    together = (binary.T @ binary).tocsr()
    # Non-negative inputs: both products have the same sparsity, so once sorted their
    # entries line up one to one.
    gram.sort_indices()
    together.sort_indices()
    counts = together.data
    gram = gram.tocoo()
    denominator = norms[gram.row] * norms[gram.col]
    values = gram.data / np.maximum(denominator, 1e-9) * (counts / (counts + shrink))
    similarity = sp.csr_matrix((values.astype(np.float32), (gram.row, gram.col)), shape=gram.shape)
    return top_k_per_row(similarity, k)


def lift_neighbours(
    baskets: sp.csr_matrix, *, k: int, alpha: float, shrink: float
) -> sp.csr_matrix:
    """Bought-together strength from a binary baskets x items matrix:
    ``n_ij / (n_i^alpha * n_j^(1-alpha)) * n_ij / (n_ij + shrink)``. With ``alpha`` 0.5 it is
    cosine; larger ``alpha`` penalises popular *targets* less and popular *sources* more.
    Raw counts would put the best-sellers after every item."""
    b = sp.csr_matrix(baskets, dtype=np.float32)
    b.data[:] = 1.0
    counts = (b.T @ b).tocoo()
    per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float32)
    n_ij = counts.data
    values = (
        n_ij
        / (np.power(per_item[counts.row], alpha) * np.power(per_item[counts.col], 1.0 - alpha))
        * (n_ij / (n_ij + shrink))
    )
    matrix = sp.csr_matrix(
        (values.astype(np.float32), (counts.row, counts.col)), shape=counts.shape
    )
    return top_k_per_row(matrix, k)


def raw_cooccurrence(baskets: sp.csr_matrix, *, k: int) -> sp.csr_matrix:
    """Plain co-occurrence counts (the baseline the normalised form must beat)."""
    b = sp.csr_matrix(baskets, dtype=np.float32)
    b.data[:] = 1.0
    return top_k_per_row((b.T @ b).tocsr(), k)


def ease_neighbours(x: sp.csr_matrix, *, l2: float, max_items: int, k: int) -> sp.csr_matrix:
    """EASE (Steck 2019) on the ``max_items`` items with most interactions, sparsified to the
    top ``k`` weights per item: ``B = I - P diag(1/diag P)``, ``P = (XᵀX + λI)⁻¹``, zero
    diagonal. The cubic cost is why the item set is capped."""
    n_items = x.shape[1]
    support = np.asarray((x > 0).sum(axis=0)).ravel()
    chosen = np.argsort(-support, kind="stable")[: min(max_items, int((support > 0).sum()))]
    if len(chosen) < 2:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    sub = x[:, chosen]
    gram = (sub.T @ sub).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    # The Gram matrix plus λI is symmetric positive definite: a Cholesky inverse is about
    # twice as fast as a general one.
    factor, _ = scipy.linalg.lapack.dpotrf(gram, lower=True, overwrite_a=True)
    precision, _ = scipy.linalg.lapack.dpotri(factor, lower=True, overwrite_c=True)
    precision = np.tril(precision) + np.tril(precision, -1).T
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    local = top_k_per_row(weights.astype(np.float32), k).tocoo()
    return sp.csr_matrix(
        (local.data, (chosen[local.row], chosen[local.col])),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
