"""Array shapes and small value types shared by the engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

ItemIndices = NDArray[np.int32]  # (n,) indices into the model's item list
Scores = NDArray[np.float32]  # (n_items,) or (n,) aligned with indices
Mode = Literal["auto", "semantic", "collaborative", "popular"]
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class EventArrays:
    """One organisation's events, as parallel arrays (users and items already indexed)."""

    user: NDArray[np.int32]
    item: NDArray[np.int32]
    weight: NDArray[np.float32]
    time: NDArray[np.float64]  # epoch seconds
    basket: NDArray[np.int64]  # a session / basket number, -1 when none
    is_purchase: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask: NDArray[np.bool_]) -> EventArrays:
        return EventArrays(
            self.user[mask],
            self.item[mask],
            self.weight[mask],
            self.time[mask],
            self.basket[mask],
            self.is_purchase[mask],
        )


@dataclass
class CatalogArrays:
    """The items a model knows, in index order."""

    item_ids: list[str]
    texts: list[str]
    prices: NDArray[np.float32]  # NaN when unknown
    categories: list[str | None]
    names: list[str | None]
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {item_id: i for i, item_id in enumerate(self.item_ids)}

    def __len__(self) -> int:
        return len(self.item_ids)
