"""Implicit ALS (Hu, Koren, Volinsky 2008) fitted by the ``implicit`` library; a new user is
folded in with one least-squares solve at request time, mirroring ``implicit``'s own update,
so lists move with every event without retraining."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray


def fit_item_factors(
    x: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    seed: int,
) -> NDArray[np.float32]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    confidence = sp.csr_matrix(x, dtype=np.float32)
    confidence.data = 1.0 + alpha * confidence.data
    # implicit asks for single-threaded BLAS so its own threads do not oversubscribe; its
    # check of that setting warns before the limit applies, hence the filter.
    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            random_state=seed,
            calculate_training_loss=False,
        )
        model.fit(confidence, show_progress=False)
    item_factors = np.asarray(model.item_factors, dtype=np.float32)
    if not np.all(np.isfinite(item_factors)):
        raise ValueError("ALS produced non-finite factors")
    return item_factors


def fold_in(
    item_factors: NDArray[np.float32],
    gram: NDArray[np.float32],
    indices: NDArray[np.int32],
    strengths: NDArray[np.float32],
    *,
    regularization: float,
    alpha: float,
) -> NDArray[np.float32]:
    """The user's factor vector from their history: ``(YᵀY + Yᵀ(C-I)Y + λI) u = YᵀCp``."""
    y = item_factors[indices]
    confidence = 1.0 + alpha * strengths
    a = (
        gram
        + (y.T * (confidence - 1.0)) @ y
        + regularization * np.eye(gram.shape[0], dtype=np.float32)
    )
    b = y.T @ confidence
    return np.linalg.solve(a, b).astype(np.float32)
