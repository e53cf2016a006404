"""Sparse item-item matrices: keeping the top k per row, and building them from data.

The item-item products (``XᵀX``) are computed a block of item rows at a time, each block cut
to its top ``k`` per row before the next: the whole product of a large store (100,000 items
bought together by a million shoppers) holds hundreds of millions of entries, gigabytes
that were only ever cut to 100 per row. Blocks hold about ``BLOCK_WORK`` multiply-adds each
and run on a thread per core (SciPy's sparse products release the GIL).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numpy.typing import NDArray

#: Multiply-adds of the item-item product per block of rows: a block at this size, with its
#: top-k cut, peaks at a few hundred MB (two run at once on two cores).
BLOCK_WORK = 4_000_000


def top_k_per_row(
    matrix: sp.csr_matrix | NDArray[np.float32], k: int, *, first_row: int = 0
) -> sp.csr_matrix:
    """The ``k`` largest positive entries of each row, diagonal removed, as CSR float32.
    ``first_row``: the rows are those from this one of a larger square matrix (a block),
    so the diagonal is at column ``first_row + row``."""
    if not sp.issparse(matrix):
        dense = np.asarray(matrix, dtype=np.float32).copy()
        n = dense.shape[0]
        own = np.arange(n)
        inside = own + first_row < dense.shape[1]
        dense[own[inside], own[inside] + first_row] = 0.0
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
    if k <= 0:
        return sp.csr_matrix(csr.shape, dtype=np.float32)
    if csr.nnz > 0.2 * n_rows * n_cols and n_rows * n_cols <= 100_000_000:
        # Nearly dense (small catalogs with a lot of behaviour): row-wise argpartition on the
        # dense array is far faster than sorting tens of millions of entries.
        return top_k_per_row(csr.toarray(), k, first_row=first_row)
    coo = csr.tocoo()
    keep = (coo.data > 0) & (coo.row + first_row != coo.col)
    kept = sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=coo.shape, dtype=np.float32
    )
    kept.sum_duplicates()  # sorted columns: among equal values the lowest column wins
    lengths = np.diff(kept.indptr)
    chosen = np.ones(kept.nnz, dtype=np.bool_)
    # Rows with more than k entries keep their k largest. A row at a time: partitioning
    # costs its length, where sorting every entry of the matrix at once (by row, then
    # value) was most of a large catalog's neighbour search.
    for row in np.flatnonzero(lengths > k).tolist():
        start, stop = int(kept.indptr[row]), int(kept.indptr[row + 1])
        values = kept.data[start:stop]
        kth = np.partition(values, len(values) - k)[len(values) - k]  # the k-th largest
        above = values > kth
        ties = np.flatnonzero(values == kth)[: k - int(above.sum())]
        above[ties] = True
        chosen[start:stop] = above
    rows = np.repeat(np.arange(kept.shape[0]), lengths)
    return sp.csr_matrix(
        (kept.data[chosen], (rows[chosen], kept.indices[chosen])),
        shape=kept.shape,
        dtype=np.float32,
    )


def cosine_neighbours(x: sp.csr_matrix, *, k: int, shrink: float) -> sp.csr_matrix:
    """Item-item cosine over the columns of ``x`` (users or baskets x items), shrunk toward
    zero for pairs seen together rarely: ``c_ij / (|i||j|) * n_ij / (n_ij + shrink)``."""
    x = sp.csr_matrix(x, dtype=np.float32)
    x.eliminate_zeros()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()).astype(np.float32)
    binary = _binary(x)
    x_t, binary_t = x.T.tocsr(), binary.T.tocsr()

    def block(start: int, stop: int) -> sp.csr_matrix:
        gram = (x_t[start:stop] @ x).tocsr()
        together = (binary_t[start:stop] @ binary).tocsr()
        # Non-negative inputs: both products have the same sparsity, so once sorted their
        # entries line up one to one.
        gram.sort_indices()
        together.sort_indices()
        counts = together.data
        coo = gram.tocoo()
        denominator = norms[coo.row + start] * norms[coo.col]
        values = coo.data / np.maximum(denominator, 1e-9) * (counts / (counts + shrink))
        similarity = sp.csr_matrix(
            (values.astype(np.float32), (coo.row, coo.col)), shape=gram.shape
        )
        return top_k_per_row(similarity, k, first_row=start)

    return _by_blocks(binary_t, binary, block)


def lift_neighbours(
    baskets: sp.csr_matrix, *, k: int, alpha: float, shrink: float
) -> sp.csr_matrix:
    """Bought-together strength from a binary baskets x items matrix:
    ``n_ij / (n_i^alpha * n_j^(1-alpha)) * n_ij / (n_ij + shrink)``. With ``alpha`` 0.5 it is
    cosine; larger ``alpha`` penalises popular *targets* less and popular *sources* more.
    Raw counts would put the best-sellers after every item."""
    b = _binary(sp.csr_matrix(baskets, dtype=np.float32))
    b_t = b.T.tocsr()
    per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float32)

    def block(start: int, stop: int) -> sp.csr_matrix:
        counts = (b_t[start:stop] @ b).tocoo()
        n_ij = counts.data
        values = (
            n_ij
            / (
                np.power(per_item[counts.row + start], alpha)
                * np.power(per_item[counts.col], 1.0 - alpha)
            )
            * (n_ij / (n_ij + shrink))
        )
        matrix = sp.csr_matrix(
            (values.astype(np.float32), (counts.row, counts.col)), shape=counts.shape
        )
        return top_k_per_row(matrix, k, first_row=start)

    return _by_blocks(b_t, b, block)


def _binary(x: sp.csr_matrix) -> sp.csr_matrix:
    binary = x.copy()
    binary.data[:] = 1.0
    return binary


def item_blocks(binary_t: sp.csr_matrix, binary: sp.csr_matrix, work: int) -> list[tuple[int, int]]:
    """Ranges of item rows whose share of ``binary_t @ binary`` costs about ``work``
    multiply-adds each (an item's cost: the entries of the rows it appears in)."""
    n_items = binary_t.shape[0]
    if n_items == 0:
        return []
    per_item = binary_t @ np.diff(binary.indptr).astype(np.float64)
    cumulative = np.cumsum(per_item)
    cuts = np.searchsorted(cumulative, np.arange(work, cumulative[-1], work), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [n_items])))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds.tolist())]


def _by_blocks(
    binary_t: sp.csr_matrix,
    binary: sp.csr_matrix,
    block: Callable[[int, int], sp.csr_matrix],
) -> sp.csr_matrix:
    blocks = item_blocks(binary_t, binary, BLOCK_WORK)
    if len(blocks) <= 1:
        n_items = binary_t.shape[0]
        return block(0, n_items) if n_items else sp.csr_matrix((0, 0), dtype=np.float32)
    threads = min(len(blocks), len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lehnz-items") as pool:
        parts = list(pool.map(lambda bounds: block(*bounds), blocks))
    return sp.vstack(parts, format="csr", dtype=np.float32)


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
