"""The pipeline alone, again and again on the same log: copy a data directory that
``scale.py`` imported, forget what its pipeline applied (states, identity links,
attributions; the cursor back to the start), then time what ``lehnz worker`` runs,
``runtime.pipeline.process_pending()``, until nothing is left.

    .venv/bin/python bench/load/drain.py /tmp/scale10/data-10 --copy /tmp/pipe10

SQLite data directories only. Prints events applied, wall and CPU seconds, events/s.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import time
from pathlib import Path

from lehnz.config import Settings
from lehnz.runtime import build_runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="a data directory scale.py imported")
    parser.add_argument("--copy", type=Path, required=True, help="where to copy it (replaced)")
    args = parser.parse_args()
    shutil.rmtree(args.copy, ignore_errors=True)
    shutil.copytree(args.data_dir, args.copy)
    with sqlite3.connect(args.copy / "lehnz.db") as database:
        database.executescript(
            "DELETE FROM user_states; DELETE FROM attributions; DELETE FROM identity_links; "
            "UPDATE pipeline_cursors SET last_seq = 0, last_txid = 0, generation = generation + 1;"
        )
    runtime = build_runtime(Settings(data_dir=args.copy))
    started, cpu, applied = time.perf_counter(), time.process_time(), 0
    while done := runtime.pipeline.process_pending():
        applied += done
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    runtime.close()
    rate = applied / wall
    print(f"{applied:,} events: {wall:.1f} s wall, {used:.1f} s CPU, {rate:,.0f} events/s")


if __name__ == "__main__":
    main()
