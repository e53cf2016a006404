"""Build the demo catalog and event history shipped in ``src/lehnz/demo_data``.

Takes 200 customers (seed 7) with 5 to 60 purchase lines since 2011-09-01 from the Online
Retail dataset (Daqing Chen, UCI Machine Learning Repository, CC BY 4.0) and the items they
bought. Run from the repository root on a machine that has ``../shared/datasets``:

    .venv/bin/python scripts/make_demo_data.py
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import defaultdict
from pathlib import Path

SOURCE = Path("../shared/datasets/online-retail")
TARGET = Path("src/lehnz/demo_data")
SINCE = "2011-09-01"


def main() -> None:
    with (SOURCE / "events.csv").open() as handle:
        events = [row for row in csv.DictReader(handle) if row["timestamp"] >= SINCE]
    by_user: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in events:
        by_user[row["user_id"]].append(row)
    eligible = sorted(user for user, rows in by_user.items() if 5 <= len(rows) <= 60)
    chosen = set(random.Random(7).sample(eligible, 200))
    sample = [row for row in events if row["user_id"] in chosen]
    item_ids = {row["item_id"] for row in sample}
    with (SOURCE / "items.csv").open() as handle:
        items = [row for row in csv.DictReader(handle) if row["item_id"] in item_ids]
    _write(TARGET / "items.csv.gz", items)
    _write(TARGET / "events.csv.gz", sample)
    print(f"{len(items)} items, {len(sample)} events from {len(chosen)} customers")


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    # mtime=0 keeps the file byte-identical across runs.
    path.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))


if __name__ == "__main__":
    main()
