"""``POST /recommend`` under load beside its ceiling, in one run on one machine.

Loads the first 120,000 events of Online Retail into a real ``lehnz serve`` (SQLite, real
keys, rate limits on but out of reach), waits for the pipeline, trains, then drives
``POST /recommend`` for users drawn at random with ``wrk -t1 -c32 -d15s``, and the same
against ``bare_app.py`` answering the same bytes. Prints both, the ratio and the p99s.

    apt-get install -y wrk
    .venv/bin/python bench/load/run.py --dataset ../shared/datasets/online-retail
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
import harness  # noqa: E402

from lehnz.client import Lehnz, NotFoundError  # noqa: E402

RESULT = re.compile(
    r"RESULT requests=(\d+) duration_us=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)"
)


def wrk(base: str, key: str, users: Path, *, connections: int, seconds: int) -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(HERE / "recommend.lua"),
            base,
        ],
        env={**os.environ, "LEHNZ_KEY": key, "LEHNZ_USERS": str(users)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = RESULT.search(output)
    if not found:
        raise SystemExit(f"wrk said:\n{output}")
    requests, duration, errors, p50, p99 = map(int, found.groups())
    if errors:
        raise SystemExit(f"{errors} failed requests against {base}:\n{output}")
    return {"rps": requests / (duration / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def _caught_up(lehnz: Lehnz, user_id: str, expected: int) -> bool:
    try:
        activity = lehnz.users.get(user_id).activity
    except NotFoundError:
        return False
    return activity is not None and activity.events >= expected


def load(server: harness.Server, dataset: Path, events: int, work: Path) -> tuple[str, Path]:
    """The store's data in, the pipeline caught up, a model trained: the publishable key and
    the file of user ids to draw from."""
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
    user_column = header.index("user_id")
    users = sorted({row[user_column] for row in rows})
    last = rows[-1][user_column]
    expected = sum(1 for row in rows if row[user_column] == last)
    deadline = time.monotonic() + 1800
    while not _caught_up(lehnz, last, expected):
        if time.monotonic() > deadline:
            raise SystemExit("the pipeline did not catch up")
        time.sleep(1)
    lehnz.models.train()
    lehnz.close()
    users_file = work / "users.txt"
    users_file.write_text("\n".join(users) + "\n")
    return org.publishable_key, users_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--setting", action="append", default=[], help="LEHNZ_NAME=value for the server"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lehnz-load-"))
    settings = {"LEHNZ_TRAIN_CHECK_SECONDS": "86400"}
    settings.update(item.split("=", 1) for item in args.setting)
    with harness.serving(settings=settings) as server:
        key, users = load(server, args.dataset, args.events, work)
        answer = httpx.post(
            f"{server.base}/recommend",
            headers={**harness.DOMAIN, "X-API-KEY": key},
            json={"user_id": users.read_text().split()[0], "limit": 12},
        ).json()
        (work / "answer.json").write_text(json.dumps(answer))
        wrk(server.base, key, users, connections=args.connections, seconds=3)  # warm up
        lehnz = wrk(server.base, key, users, connections=args.connections, seconds=args.seconds)
    port = harness.free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "bare_app.py"),
            "--port",
            str(port),
            "--answer",
            str(work / "answer.json"),
        ]
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
        wrk(base, key, users, connections=args.connections, seconds=3)
        ceiling = wrk(base, key, users, connections=args.connections, seconds=args.seconds)
    finally:
        bare.terminate()
        bare.wait()
    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {os.uname().nodename}, {os.cpu_count()} cores; "
        f"first {args.events:,} events of {args.dataset.name}; "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s; answer {len(json.dumps(answer))} bytes"
    )
    print("| server | requests/s | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, figures in (("lehnz serve", lehnz), ("bare FastAPI app", ceiling)):
        print(
            f"| {name} | {figures['rps']:.0f} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} |"
        )
    print(f"ratio: {lehnz['rps'] / ceiling['rps']:.2f}")


if __name__ == "__main__":
    main()
