"""The Catalog page: uploads through the form (and its script's JSON), the item listing with
search and keyset paging, status changes, user lookup and erasure, tenant isolation, CSRF,
and hostile input.

Through HTTP against the real app on SQLite and PostgreSQL (the ``api`` fixture); each test
signs up its own organisation in its own cookie jar and checks what the API then answers.
"""

from __future__ import annotations

import gzip
import html
import re
from urllib.parse import quote

import httpx
from fastapi.testclient import TestClient

from lehnz.store.tables import items, recommendation_logs, users
from tests.dashboard import DashboardUser, sign_up
from tests.factories import DOMAIN, assert_error, eventually, rows_of

ITEMS_CSV = (
    b"item_id,name,price,category\n"
    b"lamp,White Metal Lantern,12.50,home\n"
    b'mug,"Mug, large",3,kitchen\n'
    b",Nameless,1,home\n"
    b"desk,Desk,expensive,office\n"
)
JSON = {"Accept": "application/json"}


def _upload(
    user: DashboardUser,
    kind: str,
    name: str,
    content: bytes,
    *,
    strict: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    data = {"kind": kind, **({"strict": "on"} if strict else {})}
    return user.post("/catalog/upload", data, files={"file": (name, content)}, headers=headers)


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def _put_items(api: TestClient, secret: dict[str, str], batch: list[dict[str, object]]) -> None:
    response = api.post("/api/v1/items", headers=secret, json=batch)
    assert response.status_code == 200, response.text


def _listed_ids(response: httpx.Response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<tr data-item-id="([^"]*)"', response.text)]


def test_upload_csv_through_the_form_reports_rows_and_stores_them(api: TestClient) -> None:
    user = sign_up(api)
    page = user.client.get("/catalog")
    assert page.status_code == 200
    for widget in ('id="upload-form"', 'id="upload-progress"', 'id="upload-report"'):
        assert widget in page.text
    for label in (">File<", ">Kind<", ">Upload<", ">Search items<", ">User id<"):
        assert label in page.text
    assert "catalog.js" in page.text

    response = _upload(user, "items", "items.csv", ITEMS_CSV)
    assert response.status_code == 200, response.text
    text = _text(response)
    assert "Import report" in text
    report = text[text.index('id="upload-report"') :]
    assert "2 items imported, 2 rejected" in report[: report.index('id="items-title"')]
    assert 'data-field="imported">2<' in text and 'data-field="rejected">2<' in text
    assert '<td class="num">4</td><td>item_id: field required</td>' in text
    assert "price must be a number, got 'expensive'" in text
    # Shown in the listing of the same answer, and stored for the API.
    assert _listed_ids(response) == ["lamp", "mug"]
    _, secret = user.keys()
    lamp = api.get("/api/v1/items/lamp", headers=secret).json()["data"]
    assert lamp["attributes"] == {"name": "White Metal Lantern", "price": 12.5, "category": "home"}


def test_upload_gzipped_ndjson_users_and_events_and_strict_mode(api: TestClient) -> None:
    user = sign_up(api)
    people = gzip.compress(b'{"user_id": "u1", "tier": "gold"}\n{"user_id": "u2"}\n')
    response = _upload(user, "users", "users.ndjson.gz", people)
    assert response.status_code == 200, response.text
    assert 'data-field="imported">2<' in response.text
    assert {
        row["user_id"] for row in rows_of(api, users, organization_id=user.organization_id)
    } == {
        "u1",
        "u2",
    }
    events_file = b'{"user_id": "u1", "event_name": "view", "item_id": "lamp"}\n{"user_id": ""}\n'
    response = _upload(user, "events", "events.ndjson", events_file)
    assert response.status_code == 200
    assert 'data-field="duplicates">0<' in response.text
    assert 'data-field="rejected">1<' in response.text

    # Strict: the whole file refused, the report shown, nothing stored.
    response = _upload(user, "items", "items.csv", ITEMS_CSV, strict=True)
    assert response.status_code == 400
    text = _text(response)
    assert "strict mode stored nothing" in text
    assert "item_id: field required" in text
    assert 'id="upload-strict" name="strict" type="checkbox" value="on" checked' in text
    assert rows_of(api, items, organization_id=user.organization_id) == []


def test_the_script_gets_the_apis_envelope(api: TestClient) -> None:
    user = sign_up(api)
    token = user.csrf()
    response = user.client.post(
        "/catalog/upload",
        data={"kind": "items"},
        files={"file": ("items.csv", ITEMS_CSV)},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "2 items imported, 2 rejected"
    assert set(body["data"]) == {
        "kind",
        "format",
        "rows",
        "imported",
        "updated",
        "rejected",
        "errors",
        "errors_truncated",
    }
    assert body["data"]["errors"][0] == {"line": 4, "reason": "item_id: field required"}
    # Strict refusal: the envelope carries the report under data, as the API's does.
    response = user.client.post(
        "/catalog/upload?strict=true",
        data={"kind": "users", "strict": "on"},
        files={"file": ("u.json", b'[{"user_id": "ok"}, {"user_id": 5}]')},
        headers={**JSON, "X-CSRF-Token": token},
    )
    refused = assert_error(response, 400, "strict mode stored nothing")
    assert refused["data"]["rejected"] == 1
    # Unreadable files: the same errors as the API.
    response = user.client.post(
        "/catalog/upload",
        data={"kind": "items"},
        files={"file": ("x.csv", b"\xff\xfe\x00bad")},
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert_error(response, 400, "UTF-8")


def test_upload_refuses_bad_forms_and_missing_tokens(api: TestClient) -> None:
    user = sign_up(api)
    response = _upload(user, "items", "x.csv", b"\xff\xfe\x00bad")
    assert response.status_code == 400
    assert "UTF-8" in response.text
    response = _upload(user, "items", "x.csv.gz", b"\x1f\x8bnot gzip")
    assert response.status_code == 400
    response = _upload(user, "gadgets", "x.csv", b"item_id\na\n")
    assert response.status_code == 400
    assert "kind: choose items, users or events" in response.text
    response = user.post("/catalog/upload", {"kind": "items"})
    assert response.status_code == 400
    assert "file: choose a" in response.text
    response = user.client.post(
        "/catalog/upload", data={"kind": "items"}, files={"file": ("a.csv", b"item_id\na\n")}
    )
    assert response.status_code == 403
    assert rows_of(api, items, organization_id=user.organization_id) == []


def test_upload_path_has_the_upload_body_limit() -> None:
    from lehnz.api.limits import EVENTS_LIMIT, body_limit

    assert body_limit("/catalog/upload", 10 * EVENTS_LIMIT) == 10 * EVENTS_LIMIT
    assert body_limit("/catalog/uploads", 10 * EVENTS_LIMIT) == EVENTS_LIMIT


def test_items_are_listed_searched_and_paged(api: TestClient) -> None:
    user = sign_up(api)
    _, secret = user.keys()
    batch: list[dict[str, object]] = [
        {"item_id": f"sku-{n:03d}", "attributes": {"name": f"Thing {n}", "price": n}}
        for n in range(55)
    ]
    batch += [
        {"item_id": "a/b", "attributes": {"title": "Slash Lamp", "category": "home"}},
        {"item_id": "%2F", "attributes": {"name": "100% cotton_shirt"}},
        {"item_id": "é", "attributes": {"name": "Accented CAFÉ"}},
    ]
    _put_items(api, secret, batch)

    first = user.client.get("/catalog")
    assert first.status_code == 200
    assert "58 items in the catalog" in first.text
    shown = _listed_ids(first)
    assert shown == ["%2F", "a/b", *[f"sku-{n:03d}" for n in range(23)]]
    assert 'rel="prev"' not in first.text
    seen = list(shown)
    page = first
    while 'rel="next"' in page.text:
        link = html.unescape(re.search(r'href="([^"]+)" rel="next"', page.text).group(1))  # type: ignore[union-attr]
        page = user.client.get(link)
        assert page.status_code == 200
        seen += _listed_ids(page)
    assert len(seen) == 58 and len(set(seen)) == 58
    assert seen[-1] == "é"
    # Back from the last page.
    link = html.unescape(re.search(r'href="([^"]+)" rel="prev"', page.text).group(1))  # type: ignore[union-attr]
    assert _listed_ids(user.client.get(link)) == seen[25:50]

    # Each listed id links to its page, "/" and "%" included.
    assert f'href="/catalog/items/{quote("a/b", safe="")}"' in first.text
    detail = user.client.get("/catalog/items/" + quote("%2F", safe=""))
    assert detail.status_code == 200
    assert "100% cotton_shirt" in _text(detail)

    # Search: by id or name/title, case-insensitive, wildcards literal.
    assert _listed_ids(user.client.get("/catalog", params={"q": "slash"})) == ["a/b"]
    assert _listed_ids(user.client.get("/catalog", params={"q": "THING 5"})) == [
        "sku-005",
        *[f"sku-{n:03d}" for n in range(50, 55)],
    ]
    assert _listed_ids(user.client.get("/catalog", params={"q": "%"})) == ["%2F"]
    assert _listed_ids(user.client.get("/catalog", params={"q": "thi_g"})) == []
    assert _listed_ids(user.client.get("/catalog", params={"q": "cotton_"})) == ["%2F"]
    assert _listed_ids(user.client.get("/catalog", params={"q": "É"})) == ["é"]
    nothing = user.client.get("/catalog", params={"q": "no such thing"})
    assert nothing.status_code == 200 and "No item matches" in _text(nothing)


def test_listing_refuses_hostile_parameters(api: TestClient) -> None:
    user = sign_up(api)
    long_search = user.client.get("/catalog", params={"q": "x" * 201})
    assert long_search.status_code == 400
    assert "q: search for at most 200 characters" in long_search.text
    assert user.client.get("/catalog", params={"q": "a\x00b"}).status_code == 400
    long_cursor = user.client.get("/catalog", params={"after": "x" * 300})
    assert long_cursor.status_code == 400 and "after: not an item id" in long_cursor.text
    both = user.client.get("/catalog", params={"after": "a", "before": "b"})
    assert both.status_code == 400 and "before: give either" in both.text
    # A cursor past the end (the "page out of range"): an empty page with a way back.
    past = user.client.get("/catalog", params={"after": "\uffff" * 5})
    assert past.status_code == 200 and "Back to the first page" in past.text
    assert user.client.get("/catalog", params={"q": "' OR 1=1 --"}).status_code == 200


def test_status_change_goes_through_the_service(api: TestClient) -> None:
    user = sign_up(api)
    _, secret = user.keys()
    _put_items(api, secret, [{"item_id": "a/b", "attributes": {"name": "Lamp", "price": 5}}])
    path = "/catalog/items/" + quote("a/b", safe="")
    page = user.client.get(path)
    assert page.status_code == 200 and ">Change status<" in page.text
    for status in ("active", "inactive", "deleted"):
        assert f'<option value="{status}"' in page.text

    response = user.post(path + "/status", {"status": "inactive"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == path
    after = api.get("/api/v1/items/" + quote("a/b", safe=""), headers=secret).json()["data"]
    assert after["status"] == "inactive"
    assert after["attributes"] == {"name": "Lamp", "price": 5}  # kept
    shown = user.client.get(path)
    assert 'id="item-status">inactive<' in shown.text and "set to inactive" in shown.text
    # The catalog cache heard of it: an inactive item is not recommended.
    publishable, _ = user.keys()
    listed = api.post("/recommend", headers=publishable, json={"user_id": "v1"}).json()
    assert "a/b" not in listed["all_item_ids"]

    bad = user.post(path + "/status", {"status": "archived"})
    assert bad.status_code == 400 and "status: choose one of active, inactive, deleted" in bad.text
    assert user.post("/catalog/items/nope/status", {"status": "active"}).status_code == 404
    assert rows_of(api, items, organization_id=user.organization_id, item_id="nope") == []
    assert user.client.post(path + "/status", data={"status": "deleted"}).status_code == 403
    assert user.client.get("/catalog/items/" + "x" * 300).status_code == 404


def test_user_lookup_shows_profile_events_and_an_unlogged_list(api: TestClient) -> None:
    user = sign_up(api)
    publishable, secret = user.keys()
    _put_items(
        api,
        secret,
        [{"item_id": f"i{n}", "attributes": {"name": f"Item {n}", "price": n}} for n in range(5)],
    )
    api.post(
        "/api/v1/users", headers=secret, json={"user_id": "u/1", "attributes": {"tier": "gold"}}
    )
    for name, item in (("view", "i1"), ("add_to_cart", "i2")):
        response = api.post(
            "/api/v1/events/ingest",
            headers=publishable,
            json={"user_id": "u/1", "event_name": name, "item_id": item},
        )
        assert response.status_code == 202

    def looked_up() -> httpx.Response | None:
        response = user.client.get("/catalog/users", params={"user_id": "u/1"})
        return response if "add_to_cart" in response.text else None

    page = eventually(looked_up)
    assert page.status_code == 200
    text = _text(page)
    assert ">gold<" in text
    assert text.index("add_to_cart") < text.index(">view<")  # newest first
    assert 'id="user-list"' in text and "Item 3" in text
    assert "not logged as an impression" in text
    assert 'data-confirm="' in page.text and 'id="erase-form"' in page.text
    assert rows_of(api, recommendation_logs, organization_id=user.organization_id) == []

    # The same page at a path of its own.
    assert user.client.get("/catalog/users/" + quote("u/1", safe="")).status_code == 200

    unknown = user.client.get("/catalog/users", params={"user_id": "nobody"})
    assert unknown.status_code == 404 and "No user with user_id" in unknown.text
    for hostile, field in (("x" * 300, "at most 256"), ("   ", "not blank")):
        response = user.client.get("/catalog/users", params={"user_id": hostile})
        assert response.status_code == 400 and "user_id: " in response.text, hostile
        assert field in response.text
    assert user.client.get("/catalog/users", params={"user_id": "a\x00"}).status_code == 400
    stale = user.client.get("/catalog/users", params={"user_id": "u/1", "before": "abc"})
    assert stale.status_code == 400 and "before: not a cursor" in stale.text
    assert user.client.get("/catalog/users").status_code == 200


def test_erasing_a_user_needs_confirmation_and_removes_everything(api: TestClient) -> None:
    user = sign_up(api)
    _, secret = user.keys()
    api.post("/api/v1/users", headers=secret, json={"user_id": "é/1", "attributes": {}})
    path = "/catalog/users/" + quote("é/1", safe="") + "/erase"

    refused = user.post(path, {"confirm": "someone else"})
    assert refused.status_code == 400 and "confirm: type the user id" in refused.text
    assert user.post(path, {}).status_code == 400
    assert user.client.post(path, data={"confirm": "é/1"}).status_code == 403
    assert rows_of(api, users, organization_id=user.organization_id, user_id="é/1")

    done = user.post(path, {"confirm": "é/1"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/catalog/users"
    assert "erased" in _text(user.client.get("/catalog/users"))
    gone = api.get("/api/v1/users/" + quote("é/1", safe=""), headers=secret)
    assert_error(gone, 404)
    again = user.post(path, {"confirm": "yes"})
    assert again.status_code == 404 and "No data stored" in _text(again)


def test_another_organisations_catalog_never_shows(api: TestClient) -> None:
    owner = sign_up(api, organization_name="Owner")
    _, secret = owner.keys()
    _put_items(api, secret, [{"item_id": "secret-sku", "attributes": {"name": "Hidden"}}])
    api.post("/api/v1/users", headers=secret, json={"user_id": "their-user", "attributes": {}})

    other = sign_up(api, organization_name="Other")
    listing = other.client.get("/catalog", params={"q": "hidden"})
    assert _listed_ids(listing) == [] and "secret-sku" not in listing.text
    assert "secret-sku" not in other.client.get("/catalog").text
    assert other.client.get("/catalog/items/secret-sku").status_code == 404
    assert other.post("/catalog/items/secret-sku/status", {"status": "deleted"}).status_code == 404
    looked = other.client.get("/catalog/users", params={"user_id": "their-user"})
    assert looked.status_code == 404
    erased = other.post("/catalog/users/their-user/erase", {"confirm": "their-user"})
    assert erased.status_code == 404
    assert rows_of(api, users, organization_id=owner.organization_id, user_id="their-user")
    item = api.get("/api/v1/items/secret-sku", headers=secret).json()["data"]
    assert item["status"] == "active"


def test_signed_out_script_gets_401(api: TestClient) -> None:
    client = TestClient(api.app, headers={**DOMAIN, **JSON})
    assert_error(client.get("/catalog"), 401)
    response = client.post("/catalog/upload", files={"file": ("a.csv", b"item_id\na\n")})
    assert response.status_code in (401, 403)


HOSTILE = ["", " ", "é", "a/b", "%2F", "..", "-1", "99999999999999999999999", "x" * 5000]
HOSTILE += ["<script>alert(1)</script>", "' OR 1=1 --", "%", "_", "\uffff", "\ud7ff"]


def test_hostile_values_in_every_field_never_answer_5xx(api: TestClient) -> None:
    user = sign_up(api)
    _, secret = user.keys()
    _put_items(api, secret, [{"item_id": "a/b", "attributes": {"name": "<b>bold</b>"}}])
    api.post("/api/v1/users", headers=secret, json={"user_id": "a/b", "attributes": {}})
    token = user.csrf()
    headers = {"X-CSRF-Token": token}
    for value in HOSTILE:
        segment = quote(value, safe="") or "%20"
        checks = [
            user.client.get("/catalog", params={"q": value}),
            user.client.get("/catalog", params={"after": value}),
            user.client.get("/catalog", params={"before": value}),
            user.client.get(f"/catalog/items/{segment}"),
            user.client.get("/catalog/users", params={"user_id": value}),
            user.client.get("/catalog/users", params={"user_id": "a/b", "before": value}),
            user.client.get(f"/catalog/users/{segment}"),
            user.client.post(
                "/catalog/items/a%2Fb/status", data={"status": value}, headers=headers
            ),
            user.client.post(
                f"/catalog/items/{segment}/status", data={"status": "active"}, headers=headers
            ),
            user.client.post(
                f"/catalog/users/{segment}/erase", data={"confirm": "no"}, headers=headers
            ),
            user.client.post(
                "/catalog/upload",
                data={"kind": value, "strict": value},
                files={"file": (value[:200], value.encode("utf-8", "replace"))},
                headers=headers,
            ),
        ]
        for response in checks:
            assert response.status_code < 500, (value[:40], response.request.url, response.text)
            assert "<script>alert(1)</script>" not in response.text
            assert "<b>bold</b>" not in response.text
    # Nothing hostile was stored: the one item kept its status, no stray items or users.
    assert {
        row["item_id"] for row in rows_of(api, items, organization_id=user.organization_id)
    } == {"a/b"}
