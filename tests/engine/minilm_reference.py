"""all-MiniLM-L6-v2 transcribed plainly from the model's definition (exact erf GELU, one
projection at a time): the specification the fast forward pass in ``lehnz.engine.minilm``
is tested against."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from scipy.special import erf

from lehnz.engine.minilm import DIMENSIONS, model_directory

_HEADS = 12
_LAYERS = 6
_EPS = 1e-12

Weights = dict[str, NDArray[np.float32]]


def weights() -> Weights:
    return load_file(str(model_directory() / "model.safetensors"))


def forward(w: Weights, ids: NDArray[np.int64]) -> NDArray[np.float32]:
    """The unit-length embedding of one unpadded token sequence."""
    width = len(ids)
    hidden = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(width)]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    hidden = _layer_norm(hidden, w, "embeddings.LayerNorm")
    head = DIMENSIONS // _HEADS
    for layer in range(_LAYERS):
        p = f"encoder.layer.{layer}."
        query, key, value = (
            _linear(hidden, w, p + f"attention.self.{name}")
            .reshape(width, _HEADS, head)
            .transpose(1, 0, 2)
            for name in ("query", "key", "value")
        )
        scores = query @ key.transpose(0, 2, 1) / math.sqrt(head)
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ value).transpose(1, 0, 2).reshape(width, DIMENSIONS)
        attended = _linear(context, w, p + "attention.output.dense")
        hidden = _layer_norm(attended + hidden, w, p + "attention.output.LayerNorm")
        inner = _linear(hidden, w, p + "intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))
        hidden = _layer_norm(
            _linear(inner, w, p + "output.dense") + hidden, w, p + "output.LayerNorm"
        )
    pooled = hidden.mean(axis=0)
    return (pooled / np.linalg.norm(pooled)).astype(np.float32)


def _linear(x: NDArray[np.float32], w: Weights, name: str) -> NDArray[np.float32]:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _layer_norm(x: NDArray[np.float32], w: Weights, name: str) -> NDArray[np.float32]:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + _EPS) * w[name + ".weight"] + w[name + ".bias"]
