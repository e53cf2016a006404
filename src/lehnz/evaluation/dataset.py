"""A dataset in the generic form, split by time.

``events.csv``: ``user_id,item_id,event_name,timestamp[,session_id]`` (extra columns
allowed); ``items.csv``: ``item_id`` and whatever else is known.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PURCHASE_NAMES = {"purchase"}


@dataclass(frozen=True)
class Event:
    user_id: str
    item_id: str
    event_name: str
    time: float
    session_id: str | None


@dataclass
class Split:
    train: list[Event]
    test: list[Event]
    split_time: float
    truth: dict[str, set[str]]  # test user -> distinct items purchased in the test window
    bought_before: dict[str, set[str]]  # test user -> items purchased in train


def _time(value: str) -> float:
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    stamp = datetime.fromisoformat(value)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def read_events(directory: Path) -> list[Event]:
    with (directory / "events.csv").open(newline="") as handle:
        events = [
            Event(
                row["user_id"],
                row["item_id"],
                row.get("event_name") or "purchase",
                _time(row["timestamp"]),
                row.get("session_id") or None,
            )
            for row in csv.DictReader(handle)
            if row.get("user_id") and row.get("item_id")
        ]
    events.sort(key=lambda e: e.time)
    return events


def split(events: list[Event], *, test_fraction: float) -> Split:
    """The last ``test_fraction`` of events (in time order) are the test window; test users
    are those with events before it; their truth is what they purchased in it."""
    cut = int(len(events) * (1.0 - test_fraction))
    train, test = events[:cut], events[cut:]
    known = {e.user_id for e in train}
    truth: dict[str, set[str]] = {}
    for event in test:
        if event.event_name in PURCHASE_NAMES and event.user_id in known:
            truth.setdefault(event.user_id, set()).add(event.item_id)
    bought: dict[str, set[str]] = {}
    for event in train:
        if event.event_name in PURCHASE_NAMES and event.user_id in truth:
            bought.setdefault(event.user_id, set()).add(event.item_id)
    return Split(train, test, test[0].time if test else 0.0, truth, bought)
