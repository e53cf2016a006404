"""A user's history as the engines see it: item -> interaction strength.

Training and serving build it with the same formula, so what a model learned from and what
it is asked about agree: the summed event weight of each item, decayed by the time since the
item's latest event (relative to the user's own latest event, so a backfilled history scores
as if it were today), then ``log1p`` so a hundred repeat purchases do not drown everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.types import SECONDS_PER_DAY


def strength(
    weight: NDArray[np.float64], age_seconds: NDArray[np.float64], half_life_days: float
) -> NDArray[np.float64]:
    decay = np.power(0.5, age_seconds / (half_life_days * SECONDS_PER_DAY))
    return np.log1p(np.maximum(weight, 0.0) * decay)


def history_vector(
    items: Mapping[str, Sequence[float]],
    index: Mapping[str, int],
    *,
    half_life_days: float,
) -> tuple[NDArray[np.int32], NDArray[np.float32], NDArray[np.float32]]:
    """From a user state's ``items`` (item -> [weight, purchases, last_ts]): the known item
    indices, their strengths and their purchase counts; unknown items are skipped."""
    known = [(index[item], entry) for item, entry in items.items() if item in index]
    if not known:
        empty = np.zeros(0, dtype=np.float32)
        return np.zeros(0, dtype=np.int32), empty, empty
    indices = np.array([i for i, _ in known], dtype=np.int32)
    weights = np.array([entry[0] for _, entry in known], dtype=np.float64)
    purchases = np.array([entry[1] for _, entry in known], dtype=np.float32)
    last = np.array([entry[2] for _, entry in known], dtype=np.float64)
    values = strength(weights, last.max() - last, half_life_days).astype(np.float32)
    return indices, values, purchases
