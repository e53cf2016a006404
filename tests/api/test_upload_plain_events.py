"""A CSV of events takes a faster path for its plain rows (``lehnz.imports.plain_events``):
it must accept exactly what the model accepts and store exactly what the model stores.

The same events are uploaded as CSV (plain rows where they can be) and as NDJSON (always
the model), into two organisations; the reports and the stored rows must agree.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from lehnz.store.tables import events
from tests.factories import rows_of, tenant

FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
NEAR_FUTURE = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
COLUMNS = (
    "user_id", "item_id", "event_name", "timestamp", "session_id", "event_id",
    "recommendation_id", "previous_user_id", "quantity", "price", "colour",
)  # fmt: skip

# (cells by column; a missing or empty cell is no value) -- accepted and refused alike.
ROWS: list[dict[str, str]] = [
    {"user_id": "u1", "item_id": "i1", "event_name": "view", "timestamp": "2026-05-05T00:09:21"},
    {"user_id": "u1", "item_id": "i2", "event_name": "add_to_cart",
     "timestamp": "2026-05-05T00:09:21.5Z", "session_id": "s1", "quantity": "3"},
    {"user_id": "u2", "item_id": "i1", "event_name": "purchase",
     "timestamp": "2026-05-05T10:00:00.123456+00:00", "quantity": "2", "price": "12.50",
     "colour": "red", "event_id": "e-1"},
    {"user_id": "u2", "item_id": "i3", "event_name": "purchase", "timestamp": "1291192000",
     "price": "7"},  # epoch seconds
    {"user_id": "u3", "event_name": "search", "timestamp": "2026-05-05T10:00:00+02:00"},
    {"user_id": "u3", "item_id": "i4", "event_name": "wishlist", "timestamp": NEAR_FUTURE,
     "recommendation_id": "rec_123"},
    {"user_id": "u4", "event_name": "identify", "previous_user_id": "anon-1",
     "timestamp": "2026-05-06T00:00:00"},
    {"user_id": "u5", "item_id": "i1", "event_name": "view"},  # no time: received now
    {"user_id": "u5", "item_id": "i1", "event_name": "view", "event_id": "e-1"},  # repeat
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "quantity": "nan"},
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "timestamp": FUTURE},
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "timestamp": "1969-12-31T23:59:59"},
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "timestamp": "2026-02-30T00:00:00"},
    {"user_id": " ", "item_id": "i1", "event_name": "view"},
    {"user_id": "u6", "item_id": "i1", "event_name": "identify"},
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "session_id": "s" * 257},
    {"user_id": "u6", "item_id": "i1", "event_name": "view", "recommendation_id": "r" * 65},
    {"user_id": "u" * 257, "item_id": "i1", "event_name": "view"},
    {"user_id": "u7", "item_id": "i1", "event_name": "view", "colour": "bl\x00ue"},
    {"user_id": "u7", "item_id": "i1", "event_name": "view", "quantity": "1e400"},
    {"user_id": "u8", "item_id": "\u00e9t\u00e9", "event_name": "view", "colour": "  "},
    {"user_id": "u8", "item_id": "i9", "event_name": "click", "timestamp": " 2026-05-05T00:00:00 "},
]  # fmt: skip


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in ROWS:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue().encode()


def _ndjson() -> bytes:
    """The same records as the model sees them from a CSV: empty cells left out, epoch
    seconds as a number, times trimmed."""
    lines = []
    for row in ROWS:
        record: dict[str, object] = {key: value for key, value in row.items() if value != ""}
        stamp = record.get("timestamp")
        if isinstance(stamp, str):
            stamp = stamp.strip()
            record["timestamp"] = int(stamp) if stamp.isdigit() else stamp
        lines.append(json.dumps(record))
    return "\n".join(lines).encode()


def _stored(api, org):  # type: ignore[no-untyped-def]
    rows = rows_of(api, events, organization_id=org.organization_id)
    rows.sort(key=lambda row: row["seq"])
    kept = []
    for row in rows:
        if row["occurred_at"] == row["received_at"]:
            row["occurred_at"] = "received"
        given = row["event_id"] if not row["event_id"].startswith("evt_") else "generated"
        kept.append(
            {
                **{
                    key: value
                    for key, value in row.items()
                    if key not in ("seq", "organization_id", "received_at", "txid")
                },
                "event_id": given,
            }
        )
    return kept


def test_plain_csv_rows_are_accepted_and_stored_as_the_model_would(api):
    by_csv, by_ndjson = tenant(api), tenant(api)
    reports = []
    for org, name, content in ((by_csv, "events.csv", _csv()), (by_ndjson, "e.ndjson", _ndjson())):
        answer = api.post(
            "/api/v1/upload/events",
            headers=org.secret_headers,
            files={"file": (name, content)},
        )
        assert answer.status_code == 200, answer.text
        reports.append(answer.json()["data"])
    from_csv, from_ndjson = reports
    assert from_csv["format"] == "csv"
    assert (from_csv["rows"], from_csv["imported"], from_csv["duplicates"]) == (22, 10, 1)
    # The same rows refused (a CSV's line numbers count its header).
    assert [e["line"] - 1 for e in from_csv["errors"]] == [e["line"] for e in from_ndjson["errors"]]
    assert (from_csv["imported"], from_csv["rejected"]) == (
        from_ndjson["imported"],
        from_ndjson["rejected"],
    )
    stored = _stored(api, by_csv)
    assert stored == _stored(api, by_ndjson)
    first, cart, purchase = stored[0], stored[1], stored[2]
    assert first["occurred_at"] == datetime(2026, 5, 5, 0, 9, 21, tzinfo=UTC)
    assert first["context"] is None and first["event_id"] == "generated"
    assert cart["occurred_at"] == datetime(2026, 5, 5, 0, 9, 21, 500000, tzinfo=UTC)
    assert cart["context"] == {"quantity": 3}
    assert purchase["context"] == {"quantity": 2, "price": 12.5, "colour": "red"}
    assert purchase["event_id"] == "e-1"


def test_generated_event_ids_sort_in_the_order_they_were_made(api):
    """So that their unique index grows at its end (see ``store.events.new_event_id``)."""
    org = tenant(api)
    content = "user_id,item_id,event_name\n" + "".join(f"u{n},i{n},view\n" for n in range(50))
    answer = api.post(
        "/api/v1/upload/events",
        headers=org.secret_headers,
        files={"file": ("e.csv", content.encode())},
    )
    assert answer.json()["data"]["imported"] == 50
    rows = rows_of(api, events, organization_id=org.organization_id)
    ids = [row["event_id"] for row in sorted(rows, key=lambda row: row["seq"])]
    assert len(set(ids)) == 50
    assert all(event_id.startswith("evt_") and len(event_id) == 32 for event_id in ids)
    prefixes = [event_id[:16] for event_id in ids]
    assert prefixes == sorted(prefixes)


def test_every_utc_spelling_takes_the_plain_path_as_the_same_moment() -> None:
    """A time with no offset, with ``Z`` and with ``+00:00`` is one moment in UTC, and each is
    a plain row: a spelling the plain path stopped taking would still be stored right (by the
    model), only slower, so the path itself is checked here."""
    from lehnz.imports.plain_events import PlainEvents

    plain = PlainEvents()
    moments = set()
    for stamp in (
        "2026-05-05T00:09:21.5",
        "2026-05-05T00:09:21.5Z",
        "2026-05-05T00:09:21.500+00:00",
    ):
        row = plain.row({"user_id": "u1", "event_name": "view", "timestamp": stamp})
        assert row is not None, stamp
        assert row["occurred_at"].tzinfo is UTC, stamp
        moments.add(row["occurred_at"])
    assert moments == {datetime(2026, 5, 5, 0, 9, 21, 500000, tzinfo=UTC)}
