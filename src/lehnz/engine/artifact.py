"""Saving and loading an ``OrgModel``: NumPy arrays in one ``.npz`` plus a JSON manifest.

Never pickle: ``np.load(..., allow_pickle=False)``, so a tampered artifact cannot run code.
A model whose arrays are not finite is refused before it is announced.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lehnz.engine.model import OrgModel, Params
from lehnz.engine.types import CatalogArrays

FORMAT = 1
_SPARSE = ("neighbours", "cf", "bought_together")
_DENSE = ("trending", "popular", "support", "embeddings", "item_factors", "repeat_rate")


class ArtifactError(ValueError):
    """The artifact is malformed or its numbers are not finite."""


def check(model: OrgModel) -> None:
    for name in _DENSE:
        value = getattr(model, name)
        if value is not None and not np.all(np.isfinite(value)):
            raise ArtifactError(f"{name} holds non-finite values")
    for name in _SPARSE:
        value = getattr(model, name)
        if value is not None and not np.all(np.isfinite(value.data)):
            raise ArtifactError(f"{name} holds non-finite values")


def dumps(
    model: OrgModel, *, manifest: dict[str, Any], embedding_cache: dict[str, NDArray[np.float32]]
) -> bytes:
    check(model)
    arrays: dict[str, NDArray[Any]] = {
        "item_ids": np.array(model.catalog.item_ids, dtype=np.str_),
        "prices": model.catalog.prices,
    }
    for name in _DENSE:
        value = getattr(model, name)
        if value is not None:
            arrays[name] = value
    for name in _SPARSE:
        value = getattr(model, name)
        if value is None:
            continue
        csr = sp.csr_matrix(value)
        arrays[f"{name}.data"] = csr.data.astype(np.float32)
        arrays[f"{name}.indices"] = csr.indices.astype(np.int32)
        arrays[f"{name}.indptr"] = csr.indptr.astype(np.int64)
    if embedding_cache:
        arrays["cache.keys"] = np.array(list(embedding_cache), dtype=np.str_)
        arrays["cache.vectors"] = np.stack(list(embedding_cache.values())).astype(np.float32)
    full_manifest = {
        **manifest,
        "format": FORMAT,
        "params": model.params.as_dict(),
        "embedding_method": model.embedding_method,
        "repeat_share": model.repeat_share,
        "cf_is_neighbours": model.cf is model.neighbours,
        "names": model.catalog.names,
        "categories": model.catalog.categories,
    }
    arrays["manifest"] = np.array(json.dumps(full_manifest))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # NumPy's stub: allow_pickle
    return buffer.getvalue()


def loads(blob: bytes) -> tuple[OrgModel, dict[str, NDArray[np.float32]]]:
    """The model and its embedding cache (for the next training run)."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"unreadable artifact: {exc}") from exc
    manifest = json.loads(str(arrays["manifest"]))
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"artifact format {manifest.get('format')} is not {FORMAT}")
    item_ids = [str(x) for x in arrays["item_ids"]]
    n = len(item_ids)

    def sparse(name: str) -> sp.csr_matrix | None:
        if f"{name}.data" not in arrays:
            return None
        return sp.csr_matrix(
            (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
            shape=(n, n),
        )

    neighbours = sparse("neighbours")
    together = sparse("bought_together")
    if neighbours is None or together is None:
        raise ArtifactError("artifact lacks its item-item matrices")
    cf = neighbours if manifest.get("cf_is_neighbours") else sparse("cf")
    catalog = CatalogArrays(
        item_ids=item_ids,
        texts=[],
        prices=arrays["prices"],
        categories=manifest["categories"],
        names=manifest["names"],
    )
    model = OrgModel(
        catalog=catalog,
        params=Params(**manifest["params"]),
        trending=arrays["trending"],
        popular=arrays["popular"],
        support=arrays["support"],
        neighbours=neighbours,
        cf=cf,
        item_factors=arrays.get("item_factors"),
        bought_together=together,
        embeddings=arrays["embeddings"],
        embedding_method=manifest["embedding_method"],
        repeat_share=float(manifest["repeat_share"]),
        repeat_rate=arrays.get("repeat_rate"),
        manifest=manifest,
    )
    check(model)
    cache: dict[str, NDArray[np.float32]] = {}
    if "cache.keys" in arrays:
        cache = {
            str(k): v for k, v in zip(arrays["cache.keys"], arrays["cache.vectors"], strict=True)
        }
    return model, cache
