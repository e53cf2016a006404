"""Embedding time per 1,000 items with the NumPy MiniLM, on a dataset's item texts.

.venv/bin/python bench/embedding.py --dataset ../shared/datasets/complete-journey --items 2000
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from lehnz.engine.minilm import MiniLMEncoder
from lehnz.engine.semantic import item_text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    with (args.dataset / "items.csv").open() as handle:
        texts = [item_text(row) for row in csv.DictReader(handle)][: args.items]
    started = time.perf_counter()
    encoder = MiniLMEncoder()
    loaded = time.perf_counter() - started
    encoder.encode(texts[:50])  # warm up
    started = time.perf_counter()
    encoder.encode(texts)
    seconds = time.perf_counter() - started
    print(
        f"{args.dataset.name}: {len(texts)} items in {seconds:.1f} s = "
        f"{seconds / len(texts) * 1000:.1f} s per 1,000 items (model load {loaded:.2f} s)"
    )


if __name__ == "__main__":
    main()
