"""Running the quality benchmark: split, feed lehnz, score lehnz and the baselines alike."""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lehnz.engine.metrics import hit_at_k, ndcg_at_k, recall_at_k
from lehnz.engine.sparse import cosine_neighbours, raw_cooccurrence
from lehnz.evaluation import baselines
from lehnz.evaluation.dataset import PURCHASE_NAMES, Event, Split, read_events, split
from lehnz.evaluation.subjects import InProcess, OverHttp, Subject

Rank = Callable[[str, int], list[str]]
EASE_GRID = (50.0, 200.0, 500.0, 2000.0)
ALS_GRID = ((64, 0.05), (64, 0.5), (128, 0.1))


def score_lists(
    rank: Rank, users: Sequence[str], data: Split, catalog_size: int
) -> dict[str, float]:
    """Recall@20, NDCG@10, HitRate@10, catalog coverage of the top 10s, and NDCG@10 on the
    repeat and the explore part of each user's truth separately."""
    ndcg, recall, hits, repeat, explore = [], [], [], [], []
    shown: set[str] = set()
    for user in users:
        ranked = rank(user, 20)
        truth = data.truth[user]
        before = data.bought_before.get(user, set())
        ndcg.append(ndcg_at_k(ranked, truth, 10))
        recall.append(recall_at_k(ranked, truth, 20))
        hits.append(hit_at_k(ranked, truth, 10))
        shown.update(ranked[:10])
        if truth & before:
            repeat.append(ndcg_at_k(ranked, truth & before, 10))
        if truth - before:
            explore.append(ndcg_at_k(ranked, truth - before, 10))
    return {
        "ndcg@10": float(np.mean(ndcg)),
        "recall@20": float(np.mean(recall)),
        "hit@10": float(np.mean(hits)),
        "coverage@10": len(shown) / max(catalog_size, 1),
        "ndcg@10_repeat": float(np.mean(repeat)) if repeat else 0.0,
        "ndcg@10_explore": float(np.mean(explore)) if explore else 0.0,
        "users": len(users),
    }


def _baskets(events: Sequence[Event]) -> list[list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.session_id and event.event_name in PURCHASE_NAMES:
            items = grouped[event.session_id]
            if event.item_id not in items:
                items.append(event.item_id)
    return [items for items in grouped.values() if len(items) >= 2]


def _cooccurrence_ranker(train: Sequence[Event]) -> Callable[[list[str], int], list[str]]:
    """Plain co-occurrence counts over training baskets, summed over the given items."""
    baskets = _baskets(train)
    items = sorted({i for basket in baskets for i in basket})
    index = {item: n for n, item in enumerate(items)}
    import scipy.sparse as sp

    rows = [b for b, basket in enumerate(baskets) for _ in basket]
    cols = [index[i] for basket in baskets for i in basket]
    matrix = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(baskets), len(items))
    )
    counts = raw_cooccurrence(matrix, k=500)
    popular = np.asarray(matrix.sum(axis=0)).ravel()

    def rank(given: list[str], k: int) -> list[str]:
        known = [index[i] for i in given if i in index]
        scores = np.asarray(counts[known].sum(axis=0)).ravel() if known else np.zeros(len(items))
        scores = scores + 1e-6 * popular
        for i in known:
            scores[i] = -np.inf
        return [items[i] for i in np.argsort(-scores, kind="stable")[:k]]

    return rank


def score_baskets(subject: Subject, data: Split, *, limit: int, seed: int) -> dict[str, Any]:
    """Leave one item out of each test basket; is it in the top 10 for the rest?"""
    baskets = _baskets(data.test)
    rng = random.Random(seed)
    rng.shuffle(baskets)
    baskets = baskets[:limit]
    baseline = _cooccurrence_ranker(data.train)
    lehnz_hits, baseline_hits = [], []
    for basket in baskets:
        left_out = basket[rng.randrange(len(basket))]
        rest = [item for item in basket if item != left_out]
        lehnz_hits.append(left_out in subject.basket(rest, 10))
        baseline_hits.append(left_out in baseline(rest, 10))
    return {
        "baskets": len(baskets),
        "lehnz_hit@10": float(np.mean(lehnz_hits)) if baskets else 0.0,
        "cooccurrence_hit@10": float(np.mean(baseline_hits)) if baskets else 0.0,
    }


def score_sessions(subject: Subject, data: Split, *, limit: int, seed: int) -> dict[str, Any]:
    """For consecutive items of a test session: is the next one in the top 10 for the first?"""
    sessions: dict[str, list[str]] = defaultdict(list)
    for event in data.test:
        if event.session_id:
            items = sessions[event.session_id]
            if not items or items[-1] != event.item_id:
                items.append(event.item_id)
    pairs = [(a, b) for items in sessions.values() for a, b in itertools.pairwise(items) if a != b]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    pairs = pairs[:limit]
    data_train = baselines.Interactions(data.train)
    neighbours = cosine_neighbours(data_train.x, k=100, shrink=10.0)

    def knn(item: str) -> list[str]:
        row = data_train.item_index.get(item)
        if row is None:
            return []
        scores = neighbours[row].toarray().ravel() + 1e-9 * data_train.popular
        scores[row] = -np.inf
        return data_train.top(scores, 10)

    lehnz_hits = [b in subject.session(a, 10) for a, b in pairs]
    knn_hits = [b in knn(a) for a, b in pairs]
    return {
        "pairs": len(pairs),
        "lehnz_hit@10": float(np.mean(lehnz_hits)) if pairs else 0.0,
        "item_knn_hit@10": float(np.mean(knn_hits)) if pairs else 0.0,
    }


def run(
    dataset: Path,
    *,
    test_fraction: float = 0.1,
    users: int = 1000,
    http: str | None = None,
    seed: int = 7,
    say: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    started = time.perf_counter()
    events = read_events(dataset)
    data = split(events, test_fraction=test_fraction)
    with (dataset / "items.csv").open() as handle:
        catalog_size = sum(1 for _ in handle) - 1
    test_users = sorted(data.truth)
    sample = sorted(random.Random(seed).sample(test_users, min(users, len(test_users))))
    say(
        f"{len(events):,} events; test window from event {len(data.train):,}; "
        f"{len(sample):,} test users"
    )

    say("feeding lehnz the training events and training it")
    subject: Subject = (
        OverHttp(http, dataset, data.train) if http else InProcess(dataset, data.train)
    )
    try:
        results: dict[str, dict[str, float]] = {}
        say("asking lehnz")
        results["lehnz"] = score_lists(subject.recommend, sample, data, catalog_size)
        say("fitting and tuning the baselines")
        interactions = baselines.Interactions(data.train)
        l2, _ = baselines.tuned(data.train, baselines.ease, EASE_GRID)
        als_params, _ = baselines.tuned(
            data.train, lambda d, v: baselines.als(d, v[0], v[1]), ALS_GRID
        )
        rankers: dict[str, Rank] = {
            "popularity": baselines.popularity(interactions),
            "buy_again": baselines.buy_again(interactions, data.train),
            "item_knn": baselines.item_knn(interactions),
            f"ease(l2={l2})": baselines.ease(interactions, l2),
            f"als{als_params}": baselines.als(interactions, *als_params),
        }
        for name, rank in rankers.items():
            results[name] = score_lists(rank, sample, data, catalog_size)
        say("scoring baskets and sessions")
        basket = score_baskets(subject, data, limit=1000, seed=seed)
        session = score_sessions(subject, data, limit=1000, seed=seed)
        report = subject.model_report
    finally:
        subject.close()
    best_name, best = max(
        ((name, metrics) for name, metrics in results.items() if name != "lehnz"),
        key=lambda pair: pair[1]["ndcg@10"],
    )
    ratio = results["lehnz"]["ndcg@10"] / best["ndcg@10"] if best["ndcg@10"] else float("inf")
    return {
        "dataset": dataset.name,
        "events": len(events),
        "train_events": len(data.train),
        "test_events": len(data.test),
        "test_users": len(sample),
        "test_fraction": test_fraction,
        "seed": seed,
        "mode": "http" if http else "in-process",
        "results": results,
        "best_baseline": best_name,
        "ndcg_ratio_to_best_baseline": ratio,
        "basket": basket,
        "session": session,
        "lehnz_model": {
            "chosen": report.get("validation", {}).get("chosen"),
            "validation": report.get("validation", {}).get("metrics"),
            "basket_validation": report.get("validation", {}).get("basket"),
            "trained_on": report.get("trained_on"),
            "embedding_method": report.get("embedding_method"),
        },
        "repeat_share_of_truth": _repeat_share(data, sample),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _repeat_share(data: Split, users: Sequence[str]) -> float:
    counts: Counter[str] = Counter()
    for user in users:
        truth = data.truth[user]
        before = data.bought_before.get(user, set())
        counts["repeat"] += len(truth & before)
        counts["all"] += len(truth)
    return counts["repeat"] / counts["all"] if counts["all"] else 0.0
