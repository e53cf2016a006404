"""The artifact stores each array once: the embedding cache is its keys, aligned with the
embedding rows, and comes back whole. Artifacts written before (format 1, the cache's
vectors stored a second time) still load."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from lehnz.engine.artifact import ArtifactError, dumps, loads
from lehnz.engine.semantic import embed
from lehnz.engine.trainer import train
from tests.engine.test_engines import _toy_input


def _arrays(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _format_1(blob: bytes, cache: dict[str, np.ndarray]) -> bytes:
    """The same model in the layout format 1 wrote: ``cache.keys`` and ``cache.vectors``,
    every entry deflated by ``np.savez_compressed``."""
    arrays = _arrays(blob)
    del arrays["cache.rows"]
    arrays["cache.keys"] = np.array(list(cache), dtype=np.str_)
    arrays["cache.vectors"] = np.stack(list(cache.values())).astype(np.float32)
    manifest = json.loads(str(arrays["manifest"]))
    arrays["manifest"] = np.array(json.dumps({**manifest, "format": 1}))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def test_the_embeddings_are_stored_once_and_the_cache_comes_back_whole():
    inp = _toy_input()
    inp.catalog.texts[3] = ""  # an item with no text has no cached vector
    result = train(inp)
    assert result.model.embedding_method == "minilm" and len(result.embedding_cache) == 9
    blob = dumps(result.model, manifest={}, embedding_cache=result.embedding_cache)
    arrays = _arrays(blob)
    assert "cache.vectors" not in arrays
    assert sum(a.nbytes for a in arrays.values() if a.dtype == np.float32 and a.ndim == 2) == (
        result.model.embeddings.nbytes
    )
    assert arrays["cache.rows"].tolist()[3] == ""
    # Float arrays are stored as they are (deflate barely shrinks them), the rest deflated.
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds["embeddings.npy"] == zipfile.ZIP_STORED
    assert kinds["neighbours.indices.npy"] == zipfile.ZIP_DEFLATED

    loaded, cache = loads(blob)
    assert json.loads(str(arrays["manifest"]))["format"] == 2
    assert cache.keys() == result.embedding_cache.keys()
    for key, vector in result.embedding_cache.items():
        assert np.array_equal(cache[key], vector)
    assert np.array_equal(loaded.embeddings, result.model.embeddings)
    # The next run reuses them: the same vectors, none encoded again.
    again, method, kept = embed(inp.catalog.texts, cache)
    assert method == "minilm" and np.array_equal(again, result.model.embeddings)
    assert kept.keys() == cache.keys()


def test_an_artifact_in_the_old_layout_still_loads():
    result = train(_toy_input())
    blob = dumps(result.model, manifest={"note": "x"}, embedding_cache=result.embedding_cache)
    old = _format_1(blob, result.embedding_cache)
    model, cache = loads(old)
    assert model.manifest["format"] == 1 and model.manifest["note"] == "x"
    assert model.catalog.item_ids == result.model.catalog.item_ids
    assert np.array_equal(model.embeddings, result.model.embeddings)
    assert cache.keys() == result.embedding_cache.keys()
    for key, vector in result.embedding_cache.items():
        assert np.array_equal(cache[key], vector)


def test_tfidf_embeddings_keep_no_cache():
    """TF-IDF vectors depend on the whole catalog's text, so none is reused (as before)."""
    inp = _toy_input()
    inp.use_semantic_model = False
    result = train(inp)
    assert result.model.embedding_method == "tfidf" and result.embedding_cache == {}
    blob = dumps(result.model, manifest={}, embedding_cache=result.embedding_cache)
    assert "cache.rows" not in _arrays(blob)
    _, cache = loads(blob)
    assert cache == {}


def test_a_cache_that_does_not_match_the_embeddings_is_refused():
    result = train(_toy_input())
    arrays = _arrays(dumps(result.model, manifest={}, embedding_cache=result.embedding_cache))
    arrays["cache.rows"] = arrays["cache.rows"][:-1]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    with pytest.raises(ArtifactError, match="cache"):
        loads(buffer.getvalue())
    arrays["manifest"] = np.array(json.dumps({"format": 99}))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    with pytest.raises(ArtifactError, match="format 99"):
        loads(buffer.getvalue())
