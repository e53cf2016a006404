"""Saving and loading an ``OrgModel``: NumPy arrays in one ``.npz`` plus a JSON manifest.

Never pickle: ``np.load(..., allow_pickle=False)``, so a tampered artifact cannot run code.
A model whose arrays are not finite is refused before it is announced.

Each array is stored once. The embedding cache (text hash to vector, for the next training
run to reuse unchanged items' embeddings) is stored as keys only, ``cache.rows``: the hash of
each catalog row's text, aligned with ``embeddings`` ("" for a row with no cached vector),
and rebuilt from the embedding rows on load. Format 1 stored the vectors a second time
(``cache.vectors``: 82% of a 347 MB artifact at 100,000 items); it is still read.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from lehnz.engine.ann import restore
from lehnz.engine.model import OrgModel, Params
from lehnz.engine.semantic import text_hash
from lehnz.engine.types import CatalogArrays

FORMAT = 2
_READABLE = (1, 2)  # format 1: the cache's vectors stored beside the embeddings
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
    """The model as ``.npz`` bytes. ``embedding_cache`` holds the vectors of the rows of
    ``model.embeddings`` (as ``semantic.embed`` returns them): only which row holds which
    key is stored, so a cache entry that is no row's text is not kept."""
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
        arrays["cache.rows"] = np.array(_row_keys(model, embedding_cache), dtype=np.str_)
    if model.semantic_index is not None:
        arrays["semantic_index"] = model.semantic_index.to_array()
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
    return _npz(arrays)


def _npz(arrays: dict[str, NDArray[Any]]) -> bytes:
    """An ``.npz`` as ``np.load`` reads it, deflating only what deflate shrinks: indices,
    ids and the manifest to about a third or less, while float32 scores and embeddings
    shrink by under 10% for most of ``np.savez_compressed``'s time. Level 1 compresses
    nearly as well as the default 6 at a fifth of the time (figures in bench/RESULTS.md)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
        for name, value in arrays.items():
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            if value.dtype.kind == "f":
                entry.compress_type = zipfile.ZIP_STORED
                with archive.open(entry, "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, value, allow_pickle=False)
            else:
                npy = io.BytesIO()
                np.lib.format.write_array(npy, value, allow_pickle=False)
                archive.writestr(
                    entry, npy.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=1
                )
    return buffer.getvalue()


def _row_keys(model: OrgModel, cache: dict[str, NDArray[np.float32]]) -> list[str]:
    texts = model.catalog.texts
    if len(texts) != len(model.catalog):
        raise ValueError("an embedding cache is stored against the catalog's texts")
    keys = []
    for text in texts:
        key = text_hash(text) if text else ""
        keys.append(key if key in cache else "")
    return keys


def loads(blob: bytes) -> tuple[OrgModel, dict[str, NDArray[np.float32]]]:
    """The model and its embedding cache (for the next training run)."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"unreadable artifact: {exc}") from exc
    manifest = json.loads(str(arrays["manifest"]))
    if manifest.get("format") not in _READABLE:
        raise ArtifactError(f"artifact format {manifest.get('format')} is not one of {_READABLE}")
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
    if "semantic_index" in arrays:  # optional: without it, semantic search is exact
        model.semantic_index = restore(arrays["semantic_index"], model.embeddings)
    return model, _cache(arrays, model.embeddings)


def _cache(
    arrays: dict[str, NDArray[Any]], embeddings: NDArray[np.float32]
) -> dict[str, NDArray[np.float32]]:
    """The embedding cache: views of the embedding rows (format 2), or the stored vectors
    (format 1)."""
    if "cache.rows" in arrays:
        keys = arrays["cache.rows"]
        if len(keys) != len(embeddings):
            raise ArtifactError("the embedding cache's keys do not match the embeddings")
        return {str(key): embeddings[row] for row, key in enumerate(keys.tolist()) if key}
    if "cache.keys" in arrays:
        return {
            str(k): v for k, v in zip(arrays["cache.keys"], arrays["cache.vectors"], strict=True)
        }
    return {}
