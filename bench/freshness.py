"""Freshness: time from an event's 202 to the event showing in that user's /recommend,
measured while 4 clients ingest batches of 500 in the background.

A probe user (new each time) sends one add_to_cart; the probe then polls /recommend until
the answer is personalised (the user's history reached the serving side). The time from
the 202 to that answer is one sample.

Everything after registration goes through ``lehnz.client`` (``track``, ``recommend``,
uploads, ``users.get``, ``models.train``), as a store's back end would: one client per
background thread, as each had its own httpx client before.

    .venv/bin/python bench/freshness.py --dataset ../shared/datasets/online-retail
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import harness
from harness import register, serving

from lehnz.client import LehnzError, NotFoundError


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--postgres", help="server URL; a fresh database is made on it")
    parser.add_argument("--clients", type=int, default=4, help="background ingest clients")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds each client waits between batches"
    )
    args = parser.parse_args()
    stop = threading.Event()
    ingested = [0]
    with serving(postgres=args.postgres, settings={"LEHNZ_TRAIN_CHECK_SECONDS": "86400"}) as server:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            org = register(http)
        client = harness.client(server, org, timeout=600)
        client.uploads.items(args.dataset / "items.csv")
        with (args.dataset / "events.csv").open() as handle:
            rows = list(csv.DictReader(handle))[:50_000]
        history = "user_id,item_id,event_name,timestamp,session_id\n" + "".join(
            f"{r['user_id']},{r['item_id']},purchase,{r['timestamp']},{r['session_id']}\n"
            for r in rows
        )
        client.uploads.events(history.encode(), filename="events.csv")
        last = rows[-1]["user_id"]
        expected = sum(1 for r in rows if r["user_id"] == last)
        while True:  # let the pipeline apply the history first
            try:
                activity = client.users.get(last).activity
            except NotFoundError:
                activity = None
            if activity is not None and activity.events >= expected:
                break
            time.sleep(0.5)
        client.models.train()
        items = sorted({r["item_id"] for r in rows})

        def load(worker: int) -> None:
            rng = random.Random(worker)
            with harness.client(server, org, timeout=600) as own:
                while not stop.is_set():
                    batch = [
                        {
                            "user_id": f"load-{worker}-{rng.randrange(2000)}",
                            "event_name": "view",
                            "item_id": rng.choice(items),
                        }
                        for _ in range(500)
                    ]
                    try:
                        own.track(batch)
                        ingested[0] += 500
                    except LehnzError:
                        pass  # counted only when accepted, as before
                    stop.wait(args.pause)

        workers = [
            threading.Thread(target=load, args=(n,), daemon=True) for n in range(args.clients)
        ]
        for worker in workers:
            worker.start()
        time.sleep(2)
        started = time.perf_counter()
        samples = []
        rng = random.Random(7)
        for n in range(args.samples):
            user = f"probe-{n}"
            event = {"user_id": user, "event_name": "add_to_cart", "item_id": rng.choice(items)}
            client.track(event)  # raises unless the server answered 202
            accepted = time.perf_counter()
            while True:
                try:
                    source = client.recommend(user, limit=5).source
                except LehnzError:
                    source = None  # not an answer yet: ask again, as before
                if source == "personalized":
                    samples.append(time.perf_counter() - accepted)
                    break
                if time.perf_counter() - accepted > 30:
                    samples.append(float("inf"))
                    break
        elapsed = time.perf_counter() - started
        stop.set()
        client.close()
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {datetime.now(UTC):%Y-%m-%d}, {os.uname().nodename}, {os.cpu_count()} cores")
    print(
        f"freshness over {len(samples)} probes: p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms; background ingest "
        f"{ingested[0] / elapsed:,.0f} events/s from {args.clients} clients "
        f"(pause {args.pause} s between batches)"
    )


if __name__ == "__main__":
    main()
