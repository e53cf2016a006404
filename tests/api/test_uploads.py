from __future__ import annotations

import gzip
import json

from lehnz.store.tables import events
from tests.factories import assert_error, rows_of, tenant

ITEMS_CSV = (
    b"item_id,name,price,category,tags\n"
    b'lamp,White Metal Lantern,12.50,home,"[""light"", ""metal""]"\n'
    b'mug,"Mug, large",3,kitchen,\n'
    b",Nameless,1,home,\n"
    b"desk,Desk,expensive,office,\n"
    b'chair,"Chair\nwith arms",40,office,\n'
    b"stool,Stool,9\n"
)


def _upload(api, org, kind, name, content, **params):
    return api.post(
        f"/api/v1/upload/{kind}",
        headers=org.secret_headers,
        files={"file": (name, content)},
        params=params,
    )


def test_csv_items_import_valid_rows_and_report_bad_ones_by_line(api):
    org = tenant(api)
    response = _upload(api, org, "items", "items.csv", ITEMS_CSV)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["format"] == "csv"
    assert (data["rows"], data["imported"], data["updated"], data["rejected"]) == (6, 3, 0, 3)
    assert data["errors"] == [
        {"line": 4, "reason": "item_id: field required"},
        {"line": 5, "reason": "attributes: price must be a number, got 'expensive'"},
        {"line": 8, "reason": "expected 5 columns, got 3"},
    ]
    lamp = api.get("/api/v1/items/lamp", headers=org.secret_headers).json()["data"]
    assert lamp["attributes"] == {
        "name": "White Metal Lantern",
        "price": 12.5,
        "category": "home",
        "tags": ["light", "metal"],
    }
    chair = api.get("/api/v1/items/chair", headers=org.secret_headers).json()["data"]
    assert chair["attributes"]["name"] == "Chair\nwith arms"
    again = _upload(api, org, "items", "items.csv", ITEMS_CSV).json()["data"]
    assert (again["imported"], again["updated"]) == (0, 3)


def test_json_array_and_ndjson_gzip_or_not(api):
    org = tenant(api)
    array = (
        b'[\n  {"item_id": "j1", "name": "One", "price": "2.5"},\n  {"item_id": 7},\n'
        b'  {"item_id": "j2", "attributes": {"brand": "B"}}\n]'
    )
    data = _upload(api, org, "items", "items.json", array).json()["data"]
    assert (data["format"], data["imported"], data["rejected"]) == ("json", 2, 1)
    assert data["errors"] == [{"line": 3, "reason": "item_id: input should be a valid string"}]
    j1 = api.get("/api/v1/items/j1", headers=org.secret_headers).json()["data"]
    assert j1["attributes"] == {"name": "One", "price": 2.5}

    ndjson = b'{"user_id": "n1", "age": 30}\n\nnot json\n{"user_id": "n2"}\n[1]\n'
    data = _upload(api, org, "users", "users.ndjson.gz", gzip.compress(ndjson)).json()["data"]
    assert (data["format"], data["imported"], data["rejected"]) == ("ndjson", 2, 2)
    assert [e["line"] for e in data["errors"]] == [3, 5]
    user = api.get("/api/v1/users/n1", headers=org.secret_headers).json()["data"]
    assert user["attributes"] == {"age": 30}


def test_format_is_detected_from_content_when_the_name_says_nothing(api):
    org = tenant(api)
    for content, expected in [
        (b'[{"item_id": "a"}]', "json"),
        (b'{"item_id": "b"}\n', "ndjson"),
        (b"item_id\nc\n", "csv"),
        (gzip.compress(b"item_id\nd\n"), "csv"),
    ]:
        data = _upload(api, org, "items", "upload", content).json()["data"]
        assert (data["format"], data["imported"]) == (expected, 1)


def test_strict_mode_refuses_the_whole_file_on_any_error(api):
    org = tenant(api)
    body = assert_error(
        _upload(api, org, "items", "items.csv", ITEMS_CSV, strict="true"), 400, "strict"
    )
    assert body["data"]["rejected"] == 3
    assert_error(api.get("/api/v1/items/lamp", headers=org.secret_headers), 404)
    clean = b"item_id,price\nok-1,1\nok-2,2\n"
    data = _upload(api, org, "items", "items.csv", clean, strict="true").json()["data"]
    assert data["imported"] == 2


def test_events_in_the_generic_form_with_quantity_and_duplicates(api):
    org = tenant(api)
    content = (
        b"user_id,item_id,event_name,timestamp,session_id,quantity,event_id\n"
        b"c1,85123A,purchase,2010-12-01T08:26:00,inv536365,6,e-1\n"
        b"c1,71053,purchase,1291192000,inv536365,2,e-2\n"
        b"c1,71053,purchase,2010-12-01T08:26:00,inv536365,2,e-2\n"
        b"c2,71053,,2010-12-01T08:26:00,inv9,1,\n"
    )
    data = _upload(api, org, "events", "events.csv", content).json()["data"]
    assert (data["imported"], data["duplicates"], data["rejected"]) == (2, 1, 1)
    assert data["errors"] == [{"line": 5, "reason": "event_name: field required"}]
    stored = rows_of(api, events, organization_id=org.organization_id)
    assert len(stored) == 2
    first = next(row for row in stored if row["event_id"] == "e-1")
    assert first["context"] == {"quantity": 6}
    assert first["session_id"] == "inv536365"
    assert first["occurred_at"].isoformat() == "2010-12-01T08:26:00+00:00"
    second = next(row for row in stored if row["event_id"] == "e-2")
    assert second["occurred_at"].timestamp() == 1291192000
    # The same file again: every id it carries is stored already.
    again = _upload(api, org, "events", "events.csv", content).json()["data"]
    assert (again["imported"], again["duplicates"], again["rejected"]) == (0, 3, 1)
    assert len(rows_of(api, events, organization_id=org.organization_id)) == 2


def test_more_than_a_hundred_bad_rows_reports_the_first_hundred_and_counts_all(api):
    org = tenant(api)
    lines = [json.dumps({"item_id": ""}) for _ in range(150)]
    content = ("\n".join(lines)).encode()
    data = _upload(api, org, "items", "bad.ndjson", content).json()["data"]
    assert data["rejected"] == 150
    assert len(data["errors"]) == 100
    assert data["errors_truncated"] is True


def test_unreadable_files_are_400(api):
    org = tenant(api)
    assert_error(_upload(api, org, "items", "x.csv", b"\xff\xfe\x00bad"), 400, "UTF-8")
    assert_error(_upload(api, org, "items", "x.json", b'[{"item_id": "a"} {'), 400, "JSON")
    assert_error(_upload(api, org, "items", "x.csv.gz", b"\x1f\x8bnot gzip"), 400, "cannot")


def test_missing_file_field_is_400(api):
    org = tenant(api)
    response = api.post(
        "/api/v1/upload/items", headers=org.secret_headers, files={"other": ("x.csv", b"a")}
    )
    assert_error(response, 400, "file: field required")
