"""Hostile uploads, through HTTP on both databases: bombs are refused in the envelope with
the limit they crossed, nothing of theirs is stored, and the server answers the next request.
Out-of-range values are bad rows, never a 500."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.store.tables import events, items
from tests.conftest import make_settings
from tests.factories import Tenant, assert_error, rows_of, tenant

LIMITS = {
    "max_decompressed_bytes": 2_000_000,
    "max_record_chars": 100_000,
    "max_field_chars": 50_000,
    "max_upload_records": 10_000,
}


@pytest.fixture(scope="module")
def limited(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app with small read limits, on the database of ``settings``."""
    tmp = tmp_path_factory.mktemp("limited")
    limited_settings = make_settings(tmp, settings.database_url, embedded_worker=False, **LIMITS)
    with TestClient(create_app(limited_settings)) as client:
        yield client


def _upload(client, org, kind, name, content, **params):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/upload/{kind}",
        headers=org.secret_headers,
        files={"file": (name, content)},
        params=params,
    )


def _assert_refused_and_nothing_stored(
    client: TestClient,
    org: Tenant,
    response,
    status: int,
    *fragments: str,  # type: ignore[no-untyped-def]
) -> None:
    body = assert_error(response, status, *fragments)
    assert body["code"] == ("payload_too_large" if status == 413 else "bad_request")
    assert rows_of(client, items, organization_id=org.organization_id) == []
    # The server is still up and imports the next file.
    after = _upload(client, org, "items", "ok.csv", b"item_id\nafter\n")
    assert after.status_code == 200, after.text
    assert [r["item_id"] for r in rows_of(client, items, organization_id=org.organization_id)] == [
        "after"
    ]


# 3,000 good rows first: the old importer wrote them (a chunk of 2,000) before the bomb.
GOOD = b"".join(b"good-%d,Good\n" % n for n in range(3_000))


def test_a_gzip_bomb_in_a_csv_cell_is_400_naming_the_record_limit(limited):
    org = tenant(limited)
    bomb = gzip.compress(b"item_id,name\n" + GOOD + b"bomb," + b"0" * 50_000_000, 9)
    assert len(bomb) < 100_000
    response = _upload(limited, org, "items", "items.csv.gz", bomb)
    _assert_refused_and_nothing_stored(
        limited, org, response, 400, "line 3002", "LEHNZ_MAX_RECORD_CHARS (100000 characters)"
    )


def test_a_long_cell_is_400_naming_the_field_limit(limited):
    org = tenant(limited)
    content = gzip.compress(b"item_id,name\n" + GOOD + b'long,"' + b"0" * 60_000 + b'"\n')
    response = _upload(limited, org, "items", "items.csv.gz", content)
    _assert_refused_and_nothing_stored(
        limited, org, response, 400, "LEHNZ_MAX_FIELD_CHARS (50000 characters)"
    )


def test_unpacking_past_the_decompressed_limit_is_413(limited):
    org = tenant(limited)
    row = json.dumps({"item_id": "x", "description": "0" * 1_000}).encode() + b"\n"
    content = gzip.compress(b"".join(row.replace(b'"x"', b'"n%d"' % n) for n in range(3_000)))
    assert len(content) < 100_000
    response = _upload(limited, org, "items", "items.ndjson.gz", content)
    _assert_refused_and_nothing_stored(
        limited, org, response, 413, "decompressed size exceeds LEHNZ_MAX_DECOMPRESSED_BYTES"
    )


def test_a_csv_header_and_a_flood_of_newlines_is_413_naming_the_record_limit(limited):
    org = tenant(limited)
    content = gzip.compress(b"item_id,name\nfirst,First\n" + b"\n" * 1_000_000, 9)
    response = _upload(limited, org, "items", "items.csv.gz", content)
    _assert_refused_and_nothing_stored(
        limited, org, response, 413, "LEHNZ_MAX_UPLOAD_RECORDS (10000)"
    )


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("items.json.gz", b'[{"item_id": "a"},\n{"item_id": "b", "name": "'),
        ("items.ndjson.gz", b'{"item_id": "a"}\n{"item_id": "b", "name": "'),
    ],
)
def test_an_unterminated_json_string_is_400_naming_the_record_limit(limited, name, head):
    org = tenant(limited)
    content = gzip.compress(head + b"x" * 20_000_000, 9)
    response = _upload(limited, org, "items", name, content)
    _assert_refused_and_nothing_stored(
        limited, org, response, 400, "line 2", "LEHNZ_MAX_RECORD_CHARS"
    )


def test_strict_mode_refuses_a_bomb_the_same_way(limited):
    org = tenant(limited)
    content = gzip.compress(b"item_id,name\n" + GOOD + b"\n" * 20_000, 9)
    response = _upload(limited, org, "items", "items.csv.gz", content, strict="true")
    _assert_refused_and_nothing_stored(limited, org, response, 413, "LEHNZ_MAX_UPLOAD_RECORDS")


def test_reading_past_the_upload_time_limit_is_413_and_writes_nothing(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
):
    tmp = tmp_path_factory.mktemp("slow")
    slow = make_settings(
        tmp, settings.database_url, embedded_worker=False, upload_timeout_seconds=0.001
    )
    with TestClient(create_app(slow)) as client:
        org = tenant(client)
        content = b"item_id,name\n" + b"".join(b"i%d,Item\n" % n for n in range(200_000))
        response = _upload(client, org, "items", "items.csv", content)
        body = assert_error(response, 413, "LEHNZ_UPLOAD_TIMEOUT_SECONDS (0.001 s)")
        assert body["code"] == "payload_too_large"
        assert rows_of(client, items, organization_id=org.organization_id) == []
        assert client.get("/healthz").status_code == 200


# Out-of-range numbers: bad rows with their line, never a 500.

GOOD_EVENTS = [
    {"user_id": f"u{n % 50}", "event_name": "view", "item_id": f"i{n % 30}",
     "timestamp": "2024-01-02T03:04:05Z", "event_id": f"e{n}"}
    for n in range(2_000)
]  # fmt: skip


def _events_file(last: bytes) -> bytes:
    return b"\n".join(json.dumps(event).encode() for event in GOOD_EVENTS) + b"\n" + last + b"\n"


def test_an_out_of_range_timestamp_after_two_thousand_good_events_is_one_bad_row(api):
    org = tenant(api)
    bad = b'{"user_id": "u", "event_name": "view", "timestamp": 1e20}'
    response = _upload(api, org, "events", "events.ndjson", _events_file(bad))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["imported"], data["rejected"]) == (2_000, 1)
    assert data["errors"][0]["line"] == 2_001
    assert "timestamp" in data["errors"][0]["reason"]
    assert len(rows_of(api, events, organization_id=org.organization_id)) == 2_000


def test_strict_mode_refuses_the_out_of_range_timestamp_and_stores_nothing(api):
    org = tenant(api)
    bad = b'{"user_id": "u", "event_name": "view", "timestamp": 1e20}'
    response = _upload(api, org, "events", "events.ndjson", _events_file(bad), strict="true")
    body = assert_error(response, 400, "strict mode stored nothing")
    assert body["data"]["errors"][0]["line"] == 2_001
    assert rows_of(api, events, organization_id=org.organization_id) == []


@pytest.mark.parametrize("stamp", ["1e20", "-1e20", "1e400", "-1e400", "99999999999999999999"])
def test_csv_timestamps_out_of_range_are_bad_rows(api, stamp):
    org = tenant(api)
    content = (
        b"user_id,event_name,timestamp\n"
        b"u1,view,2024-01-02T03:04:05Z\n"
        b"u2,view," + stamp.encode() + b"\n"
    )
    response = _upload(api, org, "events", "events.csv", content)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["imported"], data["rejected"]) == (1, 1)
    assert data["errors"][0]["line"] == 3
    assert "timestamp" in data["errors"][0]["reason"]


@pytest.mark.parametrize("kind", ["events.ndjson", "events.json"])
def test_json_timestamps_out_of_range_or_not_json_are_bad_rows(api, kind):
    org = tenant(api)
    stamps = [b"1e20", b"-1e20", b"1e400", b"-1e400", b"Infinity", b"-Infinity", b"NaN"]
    rows = [b'{"user_id": "ok", "event_name": "view", "timestamp": 1700000000}'] + [
        b'{"user_id": "u", "event_name": "view", "timestamp": %s}' % stamp for stamp in stamps
    ]
    content = b"[" + b",\n".join(rows) + b"]" if kind == "events.json" else b"\n".join(rows)
    response = _upload(api, org, "events", kind, content)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["imported"], data["rejected"]) == (1, len(stamps))
    assert [e["line"] for e in data["errors"]] == list(range(2, 2 + len(stamps)))
    reasons = [e["reason"] for e in data["errors"]]
    assert all("timestamp" in r or "not valid JSON" in r for r in reasons), reasons


def test_values_that_break_the_json_module_are_bad_rows(api):
    org = tenant(api)
    content = b"\n".join(
        [
            b'{"item_id": "ok"}',
            b'{"item_id": "digits", "n": ' + b"9" * 5_000 + b"}",
            b'{"item_id": "deep", "n": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            b'{"item_id": "nested", "n": ' + b"[" * 200 + b"]" * 200 + b"}",
        ]
    )
    response = _upload(api, org, "items", "items.ndjson", content)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["imported"], data["rejected"]) == (1, 3)
    csv_content = b'item_id,tags\nok2,"[' + b"9" * 5_000 + b']"\n'
    response = _upload(api, org, "items", "items.csv", csv_content)
    assert response.status_code == 200, response.text
    item = api.get("/api/v1/items/ok2", headers=org.secret_headers).json()["data"]
    assert item["attributes"]["tags"] == "[" + "9" * 5_000 + "]"  # not JSON here: kept as text
