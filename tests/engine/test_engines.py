"""Engine pieces on tiny inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from lehnz.engine import minilm, sparse
from lehnz.engine.artifact import ArtifactError, dumps, loads
from lehnz.engine.semantic import embed
from lehnz.engine.sparse import cosine_neighbours, lift_neighbours, raw_cooccurrence, top_k_per_row
from lehnz.engine.trainer import TrainingInput, train
from lehnz.engine.types import CatalogArrays, EventArrays

from . import minilm_reference


def test_minilm_matches_the_reference_model():
    encoder = minilm.MiniLMEncoder()
    vectors = encoder.encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # sentence-transformers' documented similarity for this pair with all-MiniLM-L6-v2.
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.7553, abs=0.002)
    assert float(vectors[0] @ vectors[2]) < 0.3


def test_the_fast_forward_pass_agrees_with_the_plain_transcription_of_the_model():
    """Batched, fused and padded to the longest text of its batch, with GELU's tanh form:
    still the model's embeddings, text by text."""
    texts = [
        "red running shoes",
        "Premium red tape measure | A premium tape measure in red rattan. | tools | Ostelto",
        "Über-leichte Daunenjacke, wasserdicht — 100 % recycelt 🧥",
        "ok",
        " ".join(f"word{n}" for n in range(400)),  # truncated at 256 tokens
    ]
    encoder = minilm.MiniLMEncoder()
    fast = encoder.encode(texts, batch_size=3)
    w = minilm_reference.weights()
    for text, vector in zip(texts, fast, strict=True):
        ids = np.array(encoder._tokenizer.encode(text).ids, dtype=np.int64)
        assert float(vector @ minilm_reference.forward(w, ids)) > 0.99999, text


def test_weights_with_the_wrong_hash_are_refused(tmp_path):
    source = minilm.model_directory()
    for name in ("tokenizer.json",):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(minilm.ModelUnavailable, match="SHA-256"):
        minilm.MiniLMEncoder(tmp_path)


def test_embeddings_are_reused_for_unchanged_texts_and_tfidf_stands_in():
    texts = ["red running shoes", "wool winter hat", ""]
    vectors, method, cache = embed(texts, {})
    assert method == "minilm" and len(cache) == 2 and not vectors[2].any()
    poisoned = {key: np.full(384, 7.0, dtype=np.float32) for key in cache}
    again, _, _ = embed(texts, poisoned)
    assert again[0][0] == 7.0  # came from the cache, not the model
    fallback, method, cache = embed(
        ["red running shoes", "red running shoe", "wool hat"], {}, use_model=False
    )
    assert method == "tfidf" and cache == {}
    assert fallback[0] @ fallback[1] > fallback[0] @ fallback[2]


def test_top_k_keeps_the_largest_positive_entries_without_the_diagonal():
    dense = np.array([[9, 3, 1, 2], [4, 9, -1, 0], [0, 0, 9, 0], [1, 2, 3, 9]], dtype=np.float32)
    for matrix in (dense, sp.csr_matrix(dense)):
        top = top_k_per_row(matrix, 2).toarray()
        assert top.tolist() == [[0, 3, 0, 2], [4, 0, 0, 0], [0, 0, 0, 0], [0, 2, 3, 0]]
        assert top_k_per_row(matrix, 0).nnz == 0


def test_normalised_bought_together_demotes_the_best_seller():
    # Item 0 is in every basket; item 2 is always with item 1 and never otherwise.
    baskets = sp.csr_matrix(
        np.array(
            [
                [1, 1, 1, 0],
                [1, 1, 1, 0],
                [1, 0, 0, 1],
                [1, 0, 0, 1],
                [1, 0, 0, 1],
                [1, 0, 0, 0],
                [1, 1, 0, 0],
            ],
            dtype=np.float32,
        )
    )
    raw = raw_cooccurrence(baskets, k=3).toarray()
    lift = lift_neighbours(baskets, k=3, alpha=0.5, shrink=0.0).toarray()
    assert raw[1].argmax() == 0  # counts point at the best seller
    assert lift[1].argmax() == 2  # normalised: the real complement
    cosine = cosine_neighbours(baskets, k=3, shrink=0.0).toarray()
    assert cosine[2].argmax() == 1


@pytest.mark.parametrize("density", [0.02, 0.3])
def test_item_products_by_blocks_equal_the_whole_product(monkeypatch, density):
    """A large store's item-item products are made a block of rows at a time, on threads:
    the same neighbours as the product made whole, sparse and nearly dense alike."""
    rng = np.random.default_rng(3)
    x = sp.random(400, 120, density=density, format="csr", dtype=np.float32, random_state=rng)
    x.data = rng.uniform(0.5, 4.0, size=x.nnz).astype(np.float32)
    baskets = x.copy()
    baskets.data[:] = 1.0
    whole = {
        "cosine": cosine_neighbours(x, k=7, shrink=2.0),
        "lift": lift_neighbours(baskets, k=7, alpha=0.75, shrink=2.0),
    }
    monkeypatch.setattr(sparse, "BLOCK_WORK", 300)
    assert len(sparse.item_blocks(baskets.T.tocsr(), baskets, 300)) > 5
    blocked = {
        "cosine": cosine_neighbours(x, k=7, shrink=2.0),
        "lift": lift_neighbours(baskets, k=7, alpha=0.75, shrink=2.0),
    }
    for name in whole:
        assert blocked[name].shape == (120, 120)
        assert np.allclose(blocked[name].toarray(), whole[name].toarray(), rtol=1e-5), name
        assert (blocked[name].getnnz(axis=1) <= 7).all()
        assert not blocked[name].diagonal().any()


def _toy_input(n_users: int = 40) -> TrainingInput:
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for user in range(n_users):
        group = user % 2  # even users like items 0-4, odd users items 5-9
        for step in range(12):
            users.append(user)
            items.append(group * 5 + int(rng.integers(0, 5)))
            times.append(1_700_000_000 + step * 86_400 + user)
    n = len(users)
    events = EventArrays(
        user=np.array(users, np.int32),
        item=np.array(items, np.int32),
        weight=np.full(n, 10, np.float32),
        time=np.array(times, np.float64),
        basket=np.arange(n, dtype=np.int64) // 2,
        is_purchase=np.ones(n, bool),
    )
    ids = [f"i{j}" for j in range(10)]
    catalog = CatalogArrays(
        ids, [f"item {j}" for j in ids], np.arange(1, 11, dtype=np.float32), [None] * 10, ids
    )
    return TrainingInput(events, catalog, n_users)


def test_training_chooses_settings_on_held_out_events_and_learns_the_groups():
    result = train(_toy_input())
    validation = result.validation
    assert validation["validation_users"] >= 10
    assert validation["metrics"]["ndcg@10"] > 0.5
    model = result.model
    history = np.array([0, 1], dtype=np.int32)
    _, _, explore = model.personal_scores(history, np.ones(2, np.float32), np.zeros(2, np.float32))
    assert set(np.argsort(-explore)[:3]) <= {0, 1, 2, 3, 4}


def test_artifacts_round_trip_and_refuse_non_finite_numbers():
    result = train(_toy_input())
    blob = dumps(result.model, manifest={"note": "x"}, embedding_cache=result.embedding_cache)
    loaded, cache = loads(blob)
    history = np.array([5], dtype=np.int32)
    one = np.ones(1, np.float32)
    before, _, _ = result.model.personal_scores(history, one, one)
    after, _, _ = loaded.personal_scores(history, one, one)
    assert np.allclose(before, after)
    assert loaded.catalog.item_ids == result.model.catalog.item_ids
    assert set(cache) == set(result.embedding_cache)
    result.model.trending[0] = np.nan
    with pytest.raises(ArtifactError):
        dumps(result.model, manifest={}, embedding_cache={})
    with pytest.raises(ArtifactError):
        loads(b"not an artifact")


def test_item_repeat_rates_are_shrunk_shares_of_buyers_who_bought_again():
    from lehnz.engine.trainer import REPEAT_RATE_PRIOR_WEIGHT, repeat_rates

    # Item 0: 2 buyers, both bought twice. Item 1: 2 buyers, once each. Item 2: never bought.
    users = np.array([0, 0, 1, 1, 0, 1, 2], dtype=np.int32)
    items = np.array([0, 0, 0, 0, 1, 1, 2], dtype=np.int32)
    purchase = np.array([True] * 6 + [False])
    events = EventArrays(
        users,
        items,
        np.ones(7, np.float32),
        np.arange(7, dtype=np.float64),
        np.full(7, -1, np.int64),
        purchase,
    )
    rates = repeat_rates(events, 3)
    prior = 2 / 4  # 2 of the 4 (buyer, item) pairs were bought again
    weight = REPEAT_RATE_PRIOR_WEIGHT
    assert np.allclose(
        rates, [(2 + weight * prior) / (2 + weight), weight * prior / (2 + weight), prior]
    )


def test_the_repeat_part_follows_item_repeat_rates_only_when_chosen():
    model = train(_toy_input()).model
    model.repeat_rate = np.linspace(0.1, 1.0, model.n_items).astype(np.float32)
    history = np.array([1, 8], dtype=np.int32)
    strengths = np.ones(2, np.float32)
    model.params.item_repeat = False
    _, plain, _ = model.personal_scores(history, strengths, strengths)
    model.params.item_repeat = True
    _, scaled, _ = model.personal_scores(history, strengths, strengths)
    assert plain[1] == plain[8]
    assert np.isclose(scaled[8] / scaled[1], model.repeat_rate[8] / model.repeat_rate[1])
