"""Item text embeddings for "customers also viewed": MiniLM when its package is installed,
TF-IDF otherwise. Embeddings are cached by a hash of the text, so a retrain embeds only new
or changed items."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lehnz.engine.minilm import DIMENSIONS, MiniLMEncoder, ModelUnavailable

logger = logging.getLogger("lehnz.engine")

TEXT_FIELDS = ("name", "title", "description", "category", "brand", "tags")

_encoder: MiniLMEncoder | None = None
_encoder_failed = False


def item_text(attributes: Mapping[str, Any]) -> str:
    """Name, title, description, category, brand and tags, as one line of text."""
    parts: list[str] = []
    for field in TEXT_FIELDS:
        value = attributes.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value if v is not None)
        elif value not in (None, ""):
            parts.append(str(value))
    return " | ".join(parts)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def encoder() -> MiniLMEncoder | None:
    """The shared MiniLM encoder, loaded once; None when unavailable (then TF-IDF)."""
    global _encoder, _encoder_failed
    if _encoder is None and not _encoder_failed:
        try:
            _encoder = MiniLMEncoder()
        except ModelUnavailable as exc:
            logger.warning("semantic model unavailable, using TF-IDF: %s", exc)
            _encoder_failed = True
    return _encoder


def embed(
    texts: list[str], cache: Mapping[str, NDArray[np.float32]], *, use_model: bool = True
) -> tuple[NDArray[np.float32], str, dict[str, NDArray[np.float32]]]:
    """Unit vectors for ``texts`` (a zero row for an empty text), the method used
    (``minilm`` or ``tfidf``), and the cache entries for the next run (MiniLM only)."""
    model = encoder() if use_model else None
    if model is None:
        return _tfidf(texts), "tfidf", {}
    hashes = [text_hash(t) for t in texts]
    missing = sorted(
        {h: t for h, t in zip(hashes, texts, strict=True) if t and h not in cache}.items()
    )
    fresh = dict(cache)
    if missing:
        vectors = model.encode([t for _, t in missing])
        fresh.update({h: v for (h, _), v in zip(missing, vectors, strict=True)})
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for row, (h, t) in enumerate(zip(hashes, texts, strict=True)):
        if t:
            out[row] = fresh[h]
    used = {h: fresh[h] for h, t in zip(hashes, texts, strict=True) if t}
    return out, "minilm", used


def _tfidf(texts: list[str]) -> NDArray[np.float32]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(texts):
        return np.zeros((len(texts), 1), dtype=np.float32)
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 4), min_df=1, sublinear_tf=True
    )
    matrix = vectorizer.fit_transform(texts)
    dims = min(128, matrix.shape[1] - 1, matrix.shape[0] - 1)
    dense = (
        TruncatedSVD(dims, random_state=0).fit_transform(matrix) if dims >= 2 else matrix.toarray()
    )
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return (dense / np.maximum(norms, 1e-12)).astype(np.float32)
