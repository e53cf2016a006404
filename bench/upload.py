"""Upload benchmark: a whole dataset through /api/v1/upload/*, rows per second and the
server's peak memory.

Starts a real ``lehnz serve`` on a fresh data directory (SQLite) or a fresh PostgreSQL
database, registers an organisation, and uploads ``items.csv`` then ``events.csv``:

    .venv/bin/python bench/upload.py --dataset ../shared/datasets/online-retail
    .venv/bin/python bench/upload.py --dataset ../shared/datasets/online-retail \
        --postgres postgresql://postgres@127.0.0.1:5432/test

Peak memory is the server process's VmHWM (high-water resident set) from /proc. The files go
through ``lehnz.client`` (``uploads.items``, ``uploads.events``), as a store's back end would
send its nightly export.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import harness
from harness import peak_rss_mb, register, serving

from lehnz.client.types import EventImportReport, ImportReport


def repeated(path: Path, times: int, directory: Path) -> Path:
    """``path`` with its data rows written ``times`` times, to test memory on a big file."""
    target = directory / f"events-x{times}.csv"
    with path.open("rb") as source:
        header = source.readline()
        body = source.read()
    with target.open("wb") as out:
        out.write(header)
        for _ in range(times):
            out.write(body)
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--postgres", help="server URL; a fresh database is made on it")
    parser.add_argument(
        "--repeat", type=int, default=1, help="upload events.csv repeated N times in one file"
    )
    args = parser.parse_args()
    with serving(postgres=args.postgres) as server:
        baseline = peak_rss_mb(server.process.pid)
        with httpx.Client(base_url=server.base, timeout=60) as http:
            org = register(http)
        results: list[tuple[str, int, ImportReport | EventImportReport, float]] = []
        with harness.client(server, org, timeout=3600) as lehnz:
            for kind in ("items", "events"):
                path = args.dataset / f"{kind}.csv"
                if kind == "events" and args.repeat > 1:
                    path = repeated(path, args.repeat, server.data_dir)
                started = time.perf_counter()
                report = (
                    lehnz.uploads.items(path) if kind == "items" else lehnz.uploads.events(path)
                )
                elapsed = time.perf_counter() - started
                results.append((kind, path.stat().st_size, report, elapsed))
        peak = peak_rss_mb(server.process.pid)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {args.dataset.name}, {datetime.now(UTC):%Y-%m-%d}, {platform.node()}")
    print("| file | size | rows | imported | rejected | seconds | rows/s |")
    print("|---|---|---|---|---|---|---|")
    for kind, size, report, elapsed in results:
        print(
            f"| {kind} | {size / 1e6:.1f} MB | {report.rows:,} | {report.imported:,} | "
            f"{report.rejected:,} | {elapsed:.1f} | {report.rows / elapsed:,.0f} |"
        )
    print(f"server peak RSS: {peak:.0f} MB (after start-up: {baseline:.0f} MB)")


if __name__ == "__main__":
    main()
