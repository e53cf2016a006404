"""An ``OrgModel`` of ``n`` items with nothing learned, for tests that set one part of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from lehnz.engine.model import OrgModel, Params
from lehnz.engine.types import CatalogArrays


def blank_model(n: int, **parts: Any) -> OrgModel:
    """Items ``item-0`` … without prices, names or categories; empty item-item matrices,
    zero popularity and embeddings, unless ``parts`` gives them."""
    empty = sp.csr_matrix((n, n), dtype=np.float32)
    zeros = np.zeros(n, dtype=np.float32)
    catalog = CatalogArrays(
        item_ids=[f"item-{i}" for i in range(n)],
        texts=[],
        prices=np.full(n, np.nan, dtype=np.float32),
        categories=[None] * n,
        names=[None] * n,
    )
    fields: dict[str, Any] = {
        "catalog": catalog,
        "params": Params(),
        "trending": zeros,
        "popular": zeros,
        "support": zeros,
        "neighbours": empty,
        "cf": empty,
        "item_factors": None,
        "bought_together": empty,
        "embeddings": np.zeros((n, 4), dtype=np.float32),
        "embedding_method": "minilm",
        "repeat_share": 0.0,
    }
    return OrgModel(**{**fields, **parts})
