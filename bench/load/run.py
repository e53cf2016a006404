"""The five recommendation endpoints under load, each beside its ceiling, in one run.

Loads the first 120,000 events of Online Retail into a real ``lehnz serve`` (SQLite, real
keys, rate limits on but out of reach, every list logged), waits for the pipeline, trains,
then drives each endpoint with ``wrk -t1 -c32 -d15s`` for users or items drawn at random
(``endpoints.lua``), and the same against ``bare_app.py`` answering the same bytes. Prints
requests/s, p50 and p99, the server's CPU per request (all its processes), and the ratio.

    apt-get install -y wrk
    .venv/bin/python bench/load/run.py --dataset ../shared/datasets/online-retail

``--workers N`` serves with ``lehnz serve --workers N`` (default 1, one process); the bare
app always runs one process. ``--keep DIR`` keeps the loaded store in ``DIR`` and
``--reuse DIR`` serves it again without loading (minutes saved per run).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402

from lehnz.client import Lehnz, NotFoundError  # noqa: E402

RESULT = re.compile(
    r"RESULT requests=(\d+) duration_us=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)"
)
ENDPOINTS = ("recommend", "price_optimized", "item", "session", "basket")


def wrk(
    base: str,
    key: str,
    work: Path,
    endpoint: str,
    *,
    connections: int,
    seconds: int,
    strict: bool = True,
) -> dict[str, float]:
    """requests/s, p50 and p99 of one run; a failed request ends it when ``strict`` (the
    warm-up, repeated until one passes), and is counted and reported otherwise."""
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(HERE / "endpoints.lua"),
            base,
        ],
        env={
            **os.environ,
            "LEHNZ_KEY": key,
            "LEHNZ_ENDPOINT": endpoint,
            "LEHNZ_USERS": str(work / "users.txt"),
            "LEHNZ_ITEMS": str(work / "items.txt"),
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = RESULT.search(output)
    if not found:
        raise SystemExit(f"wrk said:\n{output}")
    requests, duration, errors, p50, p99 = map(int, found.groups())
    if errors and strict:
        raise SystemExit(f"{errors} failed requests against {base}:\n{output}")
    return {
        "errors": errors,
        "requests": requests,
        "rps": requests / (duration / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and its children (``--workers``' processes)."""
    total = 0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in [pid, *map(int, children)]:
        with contextlib.suppress(FileNotFoundError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measured(
    process: subprocess.Popen[bytes],
    base: str,
    key: str,
    work: Path,
    endpoint: str,
    args: Any,
    *,
    strict: bool = True,
) -> dict[str, float]:
    # Warm up until a round has no failures: with --workers, one worker may still be
    # starting (importing, loading the model) while another answers, and requests it
    # takes wait for it, past wrk's 2 s timeout on a busy machine.
    for _ in range(5):
        try:
            wrk(base, key, work, endpoint, connections=args.connections, seconds=3)
            break
        except SystemExit:
            continue
    before = cpu_seconds(process.pid)
    figures = wrk(
        base, key, work, endpoint, connections=args.connections, seconds=args.seconds, strict=strict
    )
    figures["cpu_ms"] = (cpu_seconds(process.pid) - before) / figures["requests"] * 1000
    return figures


def _caught_up(lehnz: Lehnz, user_id: str, expected: int) -> bool:
    try:
        activity = lehnz.users.get(user_id).activity
    except NotFoundError:
        return False
    return activity is not None and activity.events >= expected


def load(server: harness.Server, dataset: Path, events: int, work: Path) -> str:
    """The store's data in, the pipeline caught up, a model trained; writes the files of
    user and item ids to draw from, and returns the publishable key."""
    with httpx.Client(base_url=server.base, timeout=60) as http:
        org = harness.register(http)
    lehnz = harness.client(server, org, timeout=3600)
    with (dataset / "events.csv").open() as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(itertools.islice(reader, events))
    sample = work / "events.csv"
    with sample.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    lehnz.uploads.items(dataset / "items.csv")
    lehnz.uploads.events(sample)
    user_column, item_column = header.index("user_id"), header.index("item_id")
    last = rows[-1][user_column]
    expected = sum(1 for row in rows if row[user_column] == last)
    deadline = time.monotonic() + 1800
    while not _caught_up(lehnz, last, expected):
        if time.monotonic() > deadline:
            raise SystemExit("the pipeline did not catch up")
        time.sleep(1)
    lehnz.models.train()
    lehnz.close()
    with (dataset / "items.csv").open() as handle:
        catalog = {row["item_id"] for row in csv.DictReader(handle)}
    seen = {row[item_column] for row in rows}
    users = sorted({row[user_column] for row in rows} - {""})
    plain = [user for user in users if '"' not in user and "\\" not in user]
    (work / "users.txt").write_text("\n".join(plain) + "\n")
    # Items the model can answer for (a catalog's postage and fee lines are not products).
    headers = {**harness.DOMAIN, "X-API-KEY": org.publishable_key}
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as http:
        answerable = [
            item
            for item in sorted(seen & catalog)[:3000]
            if '"' not in item
            and "\\" not in item
            and http.get(f"/item/{quote(item, safe='')}", params={"limit": 1}).status_code == 200
        ]
    (work / "items.txt").write_text("\n".join(answerable) + "\n")
    return org.publishable_key


@contextlib.contextmanager
def lehnz_server(args: argparse.Namespace, settings: dict[str, str]) -> Iterator[tuple[Any, str]]:
    """A server over a freshly loaded store, or over ``--reuse``'s: (server, key)."""
    if args.reuse:
        meta = json.loads((args.reuse / "meta.json").read_text())
        env = harness.lehnz_env(settings)
        port = harness.free_port()
        process = harness.start(["serve", "--data-dir", meta["data_dir"], "--port", str(port)], env)
        server = harness.Server(f"http://127.0.0.1:{port}", process, Path(meta["data_dir"]))
        try:
            harness.wait_ready(server.base, process)
            yield server, meta["key"]
        finally:
            harness.stop(process)
        return
    with harness.serving(settings=settings) as server:
        key = load(server, args.dataset, args.events, args.work)
        meta = {"key": key, "data_dir": str(server.data_dir)}
        (args.work / "meta.json").write_text(json.dumps(meta))
        yield server, key


def answer_of(base: str, key: str, work: Path, endpoint: str) -> dict[str, Any]:
    user = (work / "users.txt").read_text().split()[0]
    item = (work / "items.txt").read_text().split()[0]
    headers = {**harness.DOMAIN, "X-API-KEY": key}
    if endpoint == "item":
        return httpx.get(f"{base}/item/{item}?limit=12", headers=headers).json()
    path, body = {
        "recommend": ("/recommend", {"user_id": user, "limit": 12}),
        "price_optimized": ("/recommend/price_optimized", {"user_id": user, "limit": 12}),
        "session": ("/recommend/session", {"clicked_item_id": item, "limit": 12}),
        "basket": ("/recommend/basket", {"item_ids": [item], "limit": 12}),
    }[endpoint]
    return httpx.post(f"{base}{path}", headers=headers, json=body).json()


def bare(args: argparse.Namespace, key: str, endpoint: str, answer: Path) -> dict[str, float]:
    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, str(HERE / "bare_app.py"), "--port", str(port), "--answer", str(answer)]
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/docs")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the bare app did not start") from None
                time.sleep(0.2)
        return measured(process, base, key, args.work, endpoint, args, strict=False)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1, help="lehnz serve --workers")
    parser.add_argument("--endpoint", action="append", choices=ENDPOINTS)
    parser.add_argument("--keep", type=Path, help="load into this directory and keep it")
    parser.add_argument("--reuse", type=Path, help="serve a store --keep loaded before")
    parser.add_argument(
        "--setting", action="append", default=[], help="LEHNZ_NAME=value for the server"
    )
    args = parser.parse_args()
    if not args.reuse and not args.dataset:
        parser.error("--dataset is needed unless --reuse")
    args.work = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="lehnz-load-"))
    args.work.mkdir(parents=True, exist_ok=True)
    endpoints = args.endpoint or list(ENDPOINTS)
    settings = {"LEHNZ_TRAIN_CHECK_SECONDS": "86400", "LEHNZ_WORKERS": str(args.workers)}
    settings.update(item.split("=", 1) for item in args.setting)
    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    lehnz_figures: dict[str, dict[str, float]] = {}
    with lehnz_server(args, settings) as (server, key):
        for endpoint in endpoints:
            answer = answer_of(server.base, key, args.work, endpoint)
            (args.work / f"answer-{endpoint}.json").write_text(json.dumps(answer))
            lehnz_figures[endpoint] = measured(
                server.process, server.base, key, args.work, endpoint, args, strict=False
            )
    for endpoint in endpoints:
        ceiling = bare(args, key, endpoint, args.work / f"answer-{endpoint}.json")
        results[endpoint] = (lehnz_figures[endpoint], ceiling)
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {os.uname().nodename}, {os.cpu_count()} cores; "
        f"first {args.events:,} events of Online Retail; lehnz workers {args.workers}; "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s; {' '.join(args.setting)}"
    )
    print(
        "| endpoint | lehnz req/s | p50 ms | p99 ms | CPU ms/req "
        "| bare req/s | bare p99 ms | bare CPU ms/req | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for endpoint, (mine, ceiling) in results.items():
        print(
            f"| {endpoint} | {mine['rps']:.0f} | {mine['p50_ms']:.1f} | {mine['p99_ms']:.1f} "
            f"| {mine['cpu_ms']:.2f} | {ceiling['rps']:.0f} | {ceiling['p99_ms']:.1f} "
            f"| {ceiling['cpu_ms']:.2f} | {mine['rps'] / ceiling['rps']:.2f} |"
        )
    for endpoint, pair in results.items():
        for name, figures in zip(("lehnz", "bare app"), pair, strict=True):
            if figures["errors"]:
                print(f"{name}, {endpoint}: {figures['errors']:.0f} failed requests")


if __name__ == "__main__":
    main()
