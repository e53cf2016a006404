"""Any id that can be written can be read, deleted and erased by path (issue 12).

Ids go into paths percent-encoded, ``quote(id, safe="")``; the server must recover exactly
the id, ``/`` and ``%`` included. Every id of the table is written (item, user, events) and
then addressed on every path, on both databases; a few go through a real ``lehnz serve``
(uvicorn), whose decoding of the path differs from ``TestClient``'s.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.factories import DOMAIN, Tenant, assert_error, tenant
from tests.processes import lehnz_serve

#: 256 characters: the most an ``ExternalId`` (catalog/models.py) allows.
LONGEST = ("x/%🛒" * 64)[:256]

AWKWARD_IDS = [
    pytest.param("a/b", id="slash"),
    pytest.param("a%2Fb", id="literal-percent-2F"),
    pytest.param("a%2fb%2F%2f", id="literal-lowercase-percent-2f"),
    pytest.param("/", id="only-slash"),
    pytest.param("a//b/", id="slashes-doubled-and-trailing"),
    pytest.param("?", id="question-mark"),
    pytest.param("#", id="hash"),
    pytest.param("%", id="percent"),
    pytest.param("%25", id="literal-percent-25"),
    pytest.param("%00", id="literal-percent-00"),
    pytest.param("%zz", id="bad-escape"),
    pytest.param(" a ", id="spaces-around"),
    pytest.param("a b", id="space-inside"),
    pytest.param("..", id="dot-dot"),
    pytest.param(".", id="dot"),
    pytest.param("v1.2", id="dot-inside"),
    pytest.param("+", id="plus"),
    pytest.param("a+b c", id="plus-and-space"),
    pytest.param("\\", id="backslash"),
    pytest.param(";", id="semicolon"),
    pytest.param("🛒", id="emoji"),
    pytest.param("cafe\u0301 \U0001d518 👩\u200d👩\u200d👧 \U0010fffd", id="non-BMP-and-combining"),
    pytest.param(LONGEST, id="256-characters"),
]


def segment(value: str) -> str:
    """``value`` as one path segment: ``quote(value, safe="")``, with an id made only of dots
    sent as ``%2E`` (HTTP clients drop ``.`` and ``..`` segments before sending)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if not encoded.strip(".") else encoded


def _write(client: httpx.Client, org: Tenant, value: str) -> None:
    item = {"item_id": value, "attributes": {"name": "Awkward"}}
    response = client.post("/api/v1/items", headers=org.secret_headers, json=item)
    assert response.status_code == 200, response.text
    user = {"user_id": value, "attributes": {"tier": "gold"}}
    response = client.post("/api/v1/users", headers=org.secret_headers, json=user)
    assert response.status_code == 200, response.text
    events = [
        {"user_id": value, "event_name": "view", "item_id": value},
        {"user_id": value, "event_name": "add_to_cart", "item_id": value},
    ]
    response = client.post("/api/v1/events/ingest", headers=org.publishable_headers, json=events)
    assert response.status_code == 202, response.text


def _address_everywhere(client: httpx.Client, org: Tenant, value: str) -> None:
    """Read, list, delete and erase ``value`` on every path that takes an id."""
    path = segment(value)
    secret = org.secret_headers

    item = client.get(f"/api/v1/items/{path}", headers=secret)
    assert item.status_code == 200, item.text
    assert item.json()["data"]["item_id"] == value
    assert item.json()["data"]["attributes"] == {"name": "Awkward"}

    user = client.get(f"/api/v1/users/{path}", headers=secret)
    assert user.status_code == 200, user.text
    assert user.json()["data"]["user_id"] == value
    assert user.json()["data"]["attributes"] == {"tier": "gold"}

    history = client.get(f"/api/v1/users/{path}/events", headers=secret)
    assert history.status_code == 200, history.text
    page = history.json()["data"]
    assert page["user_id"] == value
    assert [(e["event_name"], e["user_id"], e["item_id"]) for e in page["events"]] == [
        ("add_to_cart", value, value),
        ("view", value, value),
    ]

    # The item exists, so a list comes back (from the catalog: no model is trained here).
    similar = client.get(f"/item/{path}", headers=org.publishable_headers)
    assert similar.status_code == 200, similar.text
    assert isinstance(similar.json()["recommendations"], list)
    assert value not in similar.json()["all_item_ids"]

    deleted = client.delete(f"/api/v1/items/{path}", headers=secret)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"] == {"item_id": value, "status": "deleted"}
    after = client.get(f"/api/v1/items/{path}", headers=secret)
    assert after.json()["data"]["status"] == "deleted"

    erased = client.delete(f"/api/v1/users/{path}", headers=secret)
    assert erased.status_code == 200, erased.text
    assert erased.json()["data"]["user_id"] == value
    counts = erased.json()["data"]["erased"]
    assert counts["profile"] == 1
    assert counts["events"] == 2

    assert_error(client.get(f"/api/v1/users/{path}", headers=secret), 404, value)
    assert_error(client.delete(f"/api/v1/users/{path}", headers=secret), 404, value)
    gone = client.get(f"/api/v1/users/{path}/events", headers=secret)
    assert gone.status_code == 200, gone.text
    assert gone.json()["data"]["events"] == []


@pytest.mark.parametrize("value", AWKWARD_IDS)
def test_an_awkward_id_is_addressable_on_every_path(api, value):
    org = tenant(api)
    _write(api, org, value)
    _address_everywhere(api, org, value)


def test_ids_differing_only_by_escapes_stay_apart(api):
    org = tenant(api)
    family = ["a/b", "a%2Fb", "a%252Fb", "a%2fb", "a%b", "a%25b"]
    for value in family:
        item = {"item_id": value, "attributes": {"name": value}}
        response = api.post("/api/v1/items", headers=org.secret_headers, json=item)
        assert response.status_code == 200, response.text
    for value in family:
        response = api.get(f"/api/v1/items/{segment(value)}", headers=org.secret_headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["attributes"]["name"] == value


@pytest.mark.parametrize("value", ["no/such", "no%2Fsuch", "🛒 gone", "%"])
def test_a_404_names_the_id_that_does_not_exist(api, value):
    org = tenant(api)
    path = segment(value)
    secret = org.secret_headers
    for response in (
        api.get(f"/api/v1/items/{path}", headers=secret),
        api.delete(f"/api/v1/items/{path}", headers=secret),
        api.get(f"/api/v1/users/{path}", headers=secret),
        api.delete(f"/api/v1/users/{path}", headers=secret),
        api.get(f"/item/{path}", headers=org.publishable_headers),
        api.delete(f"/api/v1/keys/{path}", headers=org.account.headers),
        api.post(f"/api/v1/keys/{path}/rotate", headers=org.account.headers),
    ):
        assert_error(response, 404, f"'{value}'")


def test_a_nul_in_a_path_is_still_refused(api):
    org = tenant(api)
    for path in ("/api/v1/items/a%00b", "/api/v1/users/%00", "/item/x%00"):
        headers = org.publishable_headers if path.startswith("/item/") else org.secret_headers
        assert_error(api.get(path, headers=headers), 400, "NUL")


def test_a_lone_space_is_no_id_so_it_is_never_stored(api):
    org = tenant(api)
    response = api.post("/api/v1/items", headers=org.secret_headers, json={"item_id": " "})
    assert_error(response, 400, "item_id")
    too_long = {"item_id": "x" * 257}
    assert_error(api.post("/api/v1/items", headers=org.secret_headers, json=too_long), 400)


def test_paths_with_ids_keep_their_plain_templates_in_openapi_and_metrics(sqlite_api):
    paths = sqlite_api.get("/openapi.json").json()["paths"]
    templated = {path for path in paths if "{" in path}
    assert templated == {
        "/api/v1/items/{item_id}",
        "/api/v1/users/{user_id}",
        "/api/v1/users/{user_id}/events",
        "/item/{item_id}",
        "/api/v1/keys/{key_id}",
        "/api/v1/keys/{key_id}/rotate",
    }
    parameter = paths["/api/v1/items/{item_id}"]["get"]["parameters"][0]
    assert (parameter["name"], parameter["in"]) == ("item_id", "path")

    org = tenant(sqlite_api)
    sqlite_api.get(f"/api/v1/items/{segment('m/1')}", headers=org.secret_headers)
    metrics = sqlite_api.get("/metrics").text
    assert 'route="/api/v1/items/{item_id}",status="404"' in metrics
    assert ":id}" not in metrics


# uvicorn decodes the path itself (TestClient does it differently, twice), so a few ids go
# through a real server too, with escapes in either case.
SERVED_IDS = ["a/b", "a%2Fb", "%", "..", "a b+c", "🛒/\u0301", LONGEST]


def test_a_real_server_recovers_the_exact_ids(tmp_path):
    with (
        lehnz_serve(tmp_path, {"LEHNZ_TRAIN_CHECK_SECONDS": "3600"}) as (base, _),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        org = tenant(client)
        for value in SERVED_IDS:
            _write(client, org, value)
            _address_everywhere(client, org, value)
        # Lower-case escapes are the same bytes to the server.
        _write(client, org, "x/%y")
        lower = client.get("/api/v1/items/x%2f%25y", headers=org.secret_headers)
        assert lower.status_code == 200, lower.text
        assert lower.json()["data"]["item_id"] == "x/%y"
        refused = client.get("/api/v1/items/a%00b", headers=org.secret_headers)
        assert_error(refused, 400, "NUL")
        unknown = client.get(f"/api/v1/items/{segment('no/such')}", headers=org.secret_headers)
        assert_error(unknown, 404, "'no/such'")
        assert client.get("/healthz", headers=DOMAIN).status_code == 200
