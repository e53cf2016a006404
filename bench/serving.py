"""Serving benchmark: load a dataset through the public API, train, then time every
recommendation endpoint one request at a time (p50 and p99), as a store's page would call
it. Also reports training time and artifact size.

Everything after registration goes through ``lehnz.client``, as a store's back end would
call the server: the timed numbers include the client's own few µs per call (building the
body, reading the answer into its model), which is the point.

    .venv/bin/python bench/serving.py --dataset ../shared/datasets/online-retail
    .venv/bin/python bench/serving.py --dataset ../shared/datasets/complete-journey --requests 300
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import harness
from harness import peak_rss_mb, register, serving

from lehnz.client import LehnzError, NotFoundError


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timed(name: str, call: Callable[[], object]) -> float:
    """Milliseconds one call took; a 404 (an item without a catalog row) counts as an
    answer, any other error stops the benchmark."""
    started = time.perf_counter()
    try:
        call()
    except NotFoundError:
        pass
    except LehnzError as error:
        raise SystemExit(f"{name}: {error}") from error
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    # Train explicitly, and time it.
    with serving(settings={"LEHNZ_TRAIN_CHECK_SECONDS": "86400"}) as server:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            org = register(http)
        lehnz = harness.client(server, org, timeout=3600)
        started = time.perf_counter()
        lehnz.uploads.items(args.dataset / "items.csv")
        lehnz.uploads.events(args.dataset / "events.csv")
        loaded = time.perf_counter() - started
        with (args.dataset / "events.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        users = sorted({r["user_id"] for r in rows})
        items = sorted({r["item_id"] for r in rows})
        last_user = rows[-1]["user_id"]
        # Wait for the pipeline to catch up with the whole history.
        deadline = time.monotonic() + 1800
        expected = sum(1 for r in rows if r["user_id"] == last_user)
        while time.monotonic() < deadline:
            try:
                activity = lehnz.users.get(last_user).activity
            except NotFoundError:
                activity = None
            if activity is not None and activity.events >= expected:
                break
            time.sleep(1)
        processed = time.perf_counter() - started
        trained = lehnz.models.train()
        rng = random.Random(7)
        cases = {
            "POST /recommend": lambda: lehnz.recommend(rng.choice(users), limit=12),
            "POST /recommend (unknown user)": lambda: lehnz.recommend(
                f"new-{rng.random()}", limit=12
            ),
            "GET /item/{id} (semantic)": lambda: lehnz.similar_items(rng.choice(items)),
            "GET /item/{id}?mode=collaborative": lambda: lehnz.similar_items(
                rng.choice(items), mode="collaborative"
            ),
            "POST /recommend/session": lambda: lehnz.session_recommendations(rng.choice(items)),
            "POST /recommend/basket (3 items)": lambda: lehnz.basket(rng.sample(items, 3)),
            "POST /recommend/price_optimized": lambda: lehnz.price_optimized(rng.choice(users)),
        }
        results = {}
        for name, call in cases.items():
            for _ in range(20):
                timed(name, call)
            times = [timed(name, call) for _ in range(args.requests)]
            results[name] = (statistics.median(times), percentile(times, 0.99))
        lehnz.close()
        peak = peak_rss_mb(server.process.pid)
    print(
        f"{args.dataset.name}, SQLite, {datetime.now(UTC):%Y-%m-%d}, "
        f"{os.uname().nodename}, {os.cpu_count()} cores"
    )
    print(f"upload {loaded:.0f} s; pipeline caught up after {processed:.0f} s")
    print(
        f"training: {trained.duration_seconds} s, "
        f"artifact {(trained.artifact_bytes or 0) / 1e6:.1f} MB, "
        f"{trained.trained_on['events']:,} events, {trained.trained_on['users']:,} users, "
        f"{trained.trained_on['items']:,} items, embeddings: {trained.embedding_method}, "
        f"chosen: {trained.validation.get('chosen')}, "
        f"validation: {trained.validation.get('metrics')}"
    )
    print("| endpoint | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, (p50, p99) in results.items():
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    print(f"server peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
