"""Ranking metrics, shared by training-time validation and the offline benchmark."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np


def ndcg_at_k(ranked: Sequence[Hashable], relevant: set[Any], k: int) -> float:
    if not relevant:
        return 0.0
    gains = sum(1.0 / np.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return float(gains / ideal)


def recall_at_k(ranked: Sequence[Hashable], relevant: set[Any], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / min(len(relevant), k)


def hit_at_k(ranked: Sequence[Hashable], relevant: set[Any], k: int) -> float:
    return 1.0 if set(ranked[:k]) & relevant else 0.0
