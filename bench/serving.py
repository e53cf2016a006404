"""Serving benchmark: load a dataset through the public API, train, then time every
recommendation endpoint one request at a time (p50 and p99), as a store's page would call
it. Also reports training time and artifact size.

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
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from harness import peak_rss_mb, register, serving


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    # Train explicitly, and time it.
    with serving(settings={"LEHNZ_TRAIN_CHECK_SECONDS": "86400"}) as server:
        client = httpx.Client(base_url=server.base, timeout=3600)
        org = register(client)
        sk, pk = org.secret, org.publishable
        started = time.perf_counter()
        for kind in ("items", "events"):
            path = args.dataset / f"{kind}.csv"
            with path.open("rb") as handle:
                client.post(
                    f"/api/v1/upload/{kind}", headers=sk, files={"file": (path.name, handle)}
                ).raise_for_status()
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
            response = client.get(f"/api/v1/users/{last_user}", headers=sk)
            if (
                response.status_code == 200
                and response.json()["data"]["activity"]["events"] >= expected
            ):
                break
            time.sleep(1)
        processed = time.perf_counter() - started
        trained = client.post("/api/v1/models/train", headers=sk).json()["data"]
        rng = random.Random(7)
        cases = {
            "POST /recommend": lambda: client.post(
                "/recommend", headers=pk, json={"user_id": rng.choice(users), "limit": 12}
            ),
            "POST /recommend (unknown user)": lambda: client.post(
                "/recommend", headers=pk, json={"user_id": f"new-{rng.random()}", "limit": 12}
            ),
            "GET /item/{id} (semantic)": lambda: client.get(
                f"/item/{rng.choice(items)}", headers=pk
            ),
            "GET /item/{id}?mode=collaborative": lambda: client.get(
                f"/item/{rng.choice(items)}?mode=collaborative", headers=pk
            ),
            "POST /recommend/session": lambda: client.post(
                "/recommend/session", headers=pk, json={"clicked_item_id": rng.choice(items)}
            ),
            "POST /recommend/basket (3 items)": lambda: client.post(
                "/recommend/basket", headers=pk, json={"item_ids": rng.sample(items, 3)}
            ),
            "POST /recommend/price_optimized": lambda: client.post(
                "/recommend/price_optimized", headers=pk, json={"user_id": rng.choice(users)}
            ),
        }
        results = {}
        for name, call in cases.items():
            for _ in range(20):
                call()
            times = []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                response = call()
                times.append((time.perf_counter() - t0) * 1000)
                if response.status_code not in (200, 404):
                    raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")
            results[name] = (statistics.median(times), percentile(times, 0.99))
        peak = peak_rss_mb(server.process.pid)
    print(
        f"{args.dataset.name}, SQLite, {datetime.now(UTC):%Y-%m-%d}, "
        f"{os.uname().nodename}, {os.cpu_count()} cores"
    )
    print(f"upload {loaded:.0f} s; pipeline caught up after {processed:.0f} s")
    print(
        f"training: {trained['duration_seconds']} s, "
        f"artifact {trained['artifact_bytes'] / 1e6:.1f} MB, "
        f"{trained['trained_on']['events']:,} events, {trained['trained_on']['users']:,} users, "
        f"{trained['trained_on']['items']:,} items, embeddings: {trained['embedding_method']}, "
        f"chosen: {trained['validation'].get('chosen')}, "
        f"validation: {trained['validation'].get('metrics')}"
    )
    print("| endpoint | p50 ms | p99 ms |")
    print("|---|---|---|")
    for name, (p50, p99) in results.items():
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    print(f"server peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
