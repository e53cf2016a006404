"""The quality benchmark's arithmetic on hand-made cases, and one small run end to end."""

from __future__ import annotations

import math

import pytest

from lehnz.engine.metrics import hit_at_k, ndcg_at_k, recall_at_k
from lehnz.evaluation.dataset import Event, split
from lehnz.evaluation.quality import run, score_lists


def test_metrics_on_a_hand_made_list():
    ranked = ["a", "b", "c", "d"]
    assert ndcg_at_k(ranked, {"b"}, 10) == pytest.approx(1 / math.log2(3))
    # Two relevant, one found at rank 1: DCG 1, ideal 1 + 1/log2(3).
    assert ndcg_at_k(ranked, {"a", "z"}, 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(ranked, {"d"}, 3) == 0.0
    assert recall_at_k(ranked, {"a", "d", "z"}, 2) == pytest.approx(1 / 2)
    assert recall_at_k(ranked, {"a", "d", "z"}, 20) == pytest.approx(2 / 3)
    assert hit_at_k(ranked, {"c"}, 3) == 1.0 and hit_at_k(ranked, {"c"}, 2) == 0.0


def _events() -> list[Event]:
    return [
        Event("u1", "a", "purchase", 1.0, "s1"),
        Event("u1", "b", "purchase", 2.0, "s1"),
        Event("u2", "c", "purchase", 3.0, "s2"),
        Event("u3", "a", "view", 4.0, None),
        Event("u1", "a", "purchase", 5.0, "s3"),  # test window: u1 rebuys a, buys d
        Event("u1", "d", "purchase", 6.0, "s3"),
        Event("u2", "b", "view", 7.0, None),  # a view is not truth
        Event("u9", "a", "purchase", 8.0, None),  # unknown before the window
    ]


def test_the_split_is_by_time_and_truth_is_purchases_of_known_users():
    data = split(_events(), test_fraction=0.5)
    assert [e.time for e in data.train] == [1.0, 2.0, 3.0, 4.0]
    assert data.truth == {"u1": {"a", "d"}}
    assert data.bought_before == {"u1": {"a", "b"}}


def test_scores_of_a_fixed_ranker_split_repeat_from_explore():
    data = split(_events(), test_fraction=0.5)
    metrics = score_lists(lambda _user, _k: ["d", "x", "a"], ["u1"], data, catalog_size=4)
    ideal = 1 + 1 / math.log2(3)
    assert metrics["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert metrics["recall@20"] == 1.0 and metrics["hit@10"] == 1.0
    assert metrics["ndcg@10_repeat"] == pytest.approx(1 / math.log2(4))  # a, at rank 3
    assert metrics["ndcg@10_explore"] == 1.0  # d, at rank 1
    assert metrics["coverage@10"] == pytest.approx(3 / 4)


def test_a_small_dataset_runs_end_to_end_through_lehnz(tmp_path):
    items = ["item_id,name,category"] + [
        f"i{n},{'Red' if n < 5 else 'Blue'} thing {n},{'red' if n < 5 else 'blue'}"
        for n in range(10)
    ]
    (tmp_path / "items.csv").write_text("\n".join(items) + "\n")
    rows = ["user_id,item_id,event_name,timestamp,session_id"]
    for step in range(10):
        for user in range(24):
            group = user % 2
            item = group * 5 + (user + step) % 5
            stamp = f"2024-01-{1 + step:02d}T10:{user:02d}:00"
            rows.append(f"u{user},i{item},purchase,{stamp},b{user}-{step // 2}")
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    result = run(tmp_path, test_fraction=0.2, users=50)
    assert result["test_users"] == 24
    assert set(result["results"]) >= {"lehnz", "popularity", "buy_again", "item_knn"}
    lehnz = result["results"]["lehnz"]
    assert lehnz["ndcg@10"] > result["results"]["popularity"]["ndcg@10"]
    assert result["basket"]["baskets"] > 0 and result["session"]["pairs"] > 0
    assert result["lehnz_model"]["trained_on"]["events"] == 192
