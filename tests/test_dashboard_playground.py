"""The Playground page: every recommendation endpoint asked from the dashboard, answered by
the API's own code for the signed-in organisation, logged, and written out as curl and SDK
code.

The store is the small synthetic one of ``tests/shop.py`` (shoes, hats, socks), trained once,
plus three items with awkward ids; a second organisation's catalog must never show.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from urllib.parse import quote

import pytest

from lehnz.store.tables import recommendation_logs
from tests.dashboard import DashboardUser, sign_up
from tests.factories import eventually, key_headers, rows_of
from tests.shop import catalog, history

AWKWARD = {"a/b": "Slash item", "%2F": "Percent item", "é": "Accent item"}
RIVAL_ITEM = "rival-only-item"
RIVAL_NAME = "Rival secret widget"

_ROW = re.compile(r'<tr data-item-id="([^"]*)">(.*?)</tr>', re.S)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_REC_ID = re.compile(r'id="recommendation-id">([^<]+)<')


class Store:
    def __init__(self, user: DashboardUser, publishable: dict[str, str]) -> None:
        self.user = user
        self.publishable = publishable


def _events_seen(api, secret, user):
    response = api.get(f"/api/v1/users/{user}", headers=secret)
    return response.json()["data"]["activity"]["events"] if response.status_code == 200 else 0


@pytest.fixture(scope="module")
def store(api):
    user = sign_up(api)
    publishable, secret = user.keys()
    items = catalog() + [
        {"item_id": item_id, "attributes": {"name": name, "category": "odd", "price": 5 + n}}
        for n, (item_id, name) in enumerate(AWKWARD.items())
    ]
    assert api.post("/api/v1/items", headers=secret, json=items).status_code == 200
    events = history()
    for start in range(0, len(events), 1000):
        response = api.post(
            "/api/v1/events/ingest", headers=publishable, json=events[start : start + 1000]
        )
        assert response.status_code == 202, response.text
    eventually(lambda: _events_seen(api, secret, "hat-fan-14") >= 8)
    trained = api.post("/api/v1/models/train", headers=secret)
    assert trained.status_code == 200, trained.text
    return Store(user, publishable)


@pytest.fixture(scope="module")
def rival(api):
    """Another organisation, no model, one item of its own."""
    user = sign_up(api, organization_name="Rival Store")
    publishable, secret = user.keys()
    item = {"item_id": RIVAL_ITEM, "attributes": {"name": RIVAL_NAME, "price": 999}}
    assert api.post("/api/v1/items", headers=secret, json=item).status_code == 200
    events = {"user_id": "rival-shopper", "event_name": "view", "item_id": RIVAL_ITEM}
    assert api.post("/api/v1/events/ingest", headers=publishable, json=events).status_code == 202
    return Store(user, publishable)


def _run(store: Store, status: int = 200, **form: str):
    response = store.user.client.get("/playground", params=form)
    assert response.status_code == status, response.text
    return response


def _rows(page: str) -> list[tuple[str, list[str]]]:
    return [
        (html.unescape(item_id), [html.unescape(c).strip() for c in _CELL.findall(cells)])
        for item_id, cells in _ROW.findall(page)
    ]


def _recommendation_id(page: str) -> str:
    found = _REC_ID.search(page)
    assert found, "no recommendation id on the page"
    return found.group(1)


def _snippet(page: str, name: str) -> str:
    found = re.search(rf'<pre id="snippet-{name}"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert found, f"no {name} snippet"
    return html.unescape(found.group(1))


def _curl_body(page: str) -> dict:
    words = shlex.split(_snippet(page, "curl").replace("\\\n", " "))
    return json.loads(words[words.index("-d") + 1])


def _logged(api, store: Store, recommendation_id: str) -> dict:
    (row,) = eventually(
        lambda: rows_of(
            api,
            recommendation_logs,
            id=recommendation_id,
            organization_id=store.user.organization_id,
        )
    )
    return row


def test_the_form_offers_every_endpoint_and_suggests_this_organisations_ids(api, store, rival):
    page = store.user.client.get("/playground")
    assert page.status_code == 200
    text = page.text
    assert 'id="playground-form"' in text and 'method="get"' in text
    for label in ("Endpoint", "User id", "Item id", "Item ids", "Placement", "Limit", "Mode"):
        assert f">{label}</label>" in text
    assert ">Filters</label>" in text and ">Run</button>" in text
    for value in ("recommend", "item", "session", "basket", "price_optimized"):
        assert f'<option value="{value}"' in text
    assert 'list="recent-user-ids"' in text and 'list="recent-item-ids"' in text
    assert '<option value="hat-fan-' in text or '<option value="shoe-fan-' in text
    assert '<option value="shoe-0">' in text
    assert "rival-shopper" not in text and RIVAL_ITEM not in text
    assert 'id="playground-results"' not in text  # nothing is run before the form is sent


def test_a_recommendation_is_the_apis_own_answer_logged_with_names_and_prices(api, store):
    page = _run(store, endpoint="recommend", user_id="shoe-fan-3", limit="5").text
    rows = _rows(page)
    assert len(rows) == 5
    names = {i["item_id"]: i["attributes"] for i in catalog()}
    for rank, (item_id, cells) in enumerate(rows, start=1):
        assert cells[0] == str(rank) and cells[1] == item_id
        assert cells[2] == names[item_id]["name"]
        assert cells[3] == f"{names[item_id]['price']:,.2f}"
        assert float(cells[4]) != 0.0 and cells[5]  # a model's score, and a reason
    recommendation_id = _recommendation_id(page)
    logged = _logged(api, store, recommendation_id)
    assert logged["endpoint"] == "/recommend" and logged["placement"] == "playground"
    assert logged["user_id"] == "shoe-fan-3"
    assert logged["item_ids"] == [item_id for item_id, _ in rows]
    # The snippet is the request that was answered: the API gives the same list for it.
    body = _curl_body(page)
    assert body == {"user_id": "shoe-fan-3", "limit": 5, "placement": "playground"}
    assert "-H 'X-API-KEY: lehnz_pk_…' -H 'X-Domain: commerce'" in _snippet(page, "curl")
    assert "curl -X POST 'http://testserver/recommend'" in _snippet(page, "curl")
    direct = api.post("/recommend", headers=store.publishable, json=body).json()
    assert direct["all_item_ids"] == logged["item_ids"]
    assert direct["recommendation_id"] != recommendation_id
    ts, py = _snippet(page, "ts"), _snippet(page, "py")
    assert "lehnz.recommend(" + json.dumps(body) + ")" in ts
    assert 'baseUrl: "http://testserver"' in ts
    assert "lehnz.recommend(user_id='shoe-fan-3', limit=5, placement='playground')" in py
    assert "model_version" in page and "personalized" in page


@pytest.mark.parametrize(
    ("form", "path", "ts", "py"),
    [
        (
            {"endpoint": "item", "item_id": "shoe-1", "limit": "3", "mode": "collaborative"},
            "/item",
            'lehnz.similarItems("shoe-1", {"limit": 3, "mode": "collaborative"})',
            "lehnz.similar_items('shoe-1', limit=3, mode='collaborative')",
        ),
        (
            {"endpoint": "session", "item_id": "shoe-1", "limit": "3"},
            "/recommend/session",
            'lehnz.sessionRecommendations({"clicked_item_id": "shoe-1", "limit": 3})',
            "lehnz.session_recommendations(clicked_item_id='shoe-1', limit=3)",
        ),
        (
            {"endpoint": "basket", "item_ids": "shoe-0, hat-1", "limit": "3"},
            "/recommend/basket",
            'lehnz.basket({"item_ids": ["shoe-0", "hat-1"], "limit": 3})',
            "lehnz.basket(item_ids=['shoe-0', 'hat-1'], limit=3)",
        ),
        (
            {"endpoint": "price_optimized", "user_id": "hat-fan-2", "limit": "3"},
            "/recommend/price_optimized",
            'lehnz.priceOptimized({"user_id": "hat-fan-2", "limit": 3, "placement": "playground"})',
            "lehnz.price_optimized(user_id='hat-fan-2', limit=3, placement='playground')",
        ),
    ],
)
def test_each_endpoint_answers_through_the_page(api, store, form, path, ts, py):
    page = _run(store, **form).text
    rows = _rows(page)
    assert len(rows) == 3
    ours = {i["item_id"]: i["attributes"] for i in catalog()}
    for item_id, cells in rows:
        assert cells[2] == ours[item_id]["name"] and cells[3] == f"{ours[item_id]['price']:,.2f}"
        assert cells[5]
    assert form.get("item_id") not in {item_id for item_id, _ in rows}
    logged = _logged(api, store, _recommendation_id(page))
    assert logged["endpoint"] == path and logged["item_ids"] == [i for i, _ in rows]
    assert ts in _snippet(page, "ts") and py in _snippet(page, "py")
    if form["endpoint"] == "item":
        assert "curl 'http://testserver/item/shoe-1?limit=3&mode=collaborative'" in _snippet(
            page, "curl"
        )
    else:
        assert _curl_body(page) == json.loads(ts[ts.index("(") + 1 : -1])


def test_awkward_ids_are_asked_about_and_percent_encoded_in_the_url(api, store):
    for item_id in AWKWARD:
        page = _run(store, endpoint="item", item_id=item_id, limit="2").text
        curl = _snippet(page, "curl")
        assert f"http://testserver/item/{quote(item_id, safe='')}?limit=2" in curl
        assert f"lehnz.similarItems({json.dumps(item_id, ensure_ascii=False)}" in _snippet(
            page, "ts"
        )
        assert f"lehnz.similar_items({item_id!r}, limit=2)" in _snippet(page, "py")
        assert item_id not in [i for i, _ in _rows(page)]
        # The API answers the snippet's URL, encoded the same way, for the same item.
        direct = api.get(f"/item/{quote(item_id, safe='')}?limit=2", headers=store.publishable)
        assert direct.status_code == 200 and direct.json()["item_id"] == item_id
    page = _run(store, endpoint="basket", item_ids="a/b,%2F,é", limit="2").text
    assert _curl_body(page) == {"item_ids": ["a/b", "%2F", "é"], "limit": 2}
    assert '<dt>basket_items</dt><dd class="mono">["a/b", "%2F", "é"]</dd>' in html.unescape(page)
    assert len(_rows(page)) == 2


def test_filters_are_the_apis_filters(api, store):
    page = _run(
        store, endpoint="recommend", user_id="shoe-fan-1", filters='{"category": "hats"}'
    ).text
    rows = _rows(page)
    assert rows and all(cells[2].startswith("Wool winter hat") for _, cells in rows)
    assert _curl_body(page)["filters"] == {"category": "hats"}
    refused = _run(
        store, 400, endpoint="recommend", user_id="u", filters='{"price": {"less": 3}}'
    ).text
    assert "filters.price.less: unknown operator" in html.unescape(refused)


def test_fields_an_endpoint_does_not_take_are_not_sent(store):
    page = _run(store, endpoint="item", item_id="shoe-2", user_id="x", filters='{"a": 1}').text
    assert "Not sent" in page and "user_id, filters" in page
    assert "user_id" not in _snippet(page, "curl")


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"endpoint": "recommend", "user_id": "u", "limit": "0"}, "limit"),
        ({"endpoint": "recommend", "user_id": "u", "limit": str(10**9)}, "limit"),
        ({"endpoint": "recommend", "user_id": "u", "limit": "abc"}, "limit"),
        ({"endpoint": "recommend", "user_id": "u", "limit": "2.5"}, "limit"),
        ({"endpoint": "recommend", "user_id": "u", "limit": "9" * 5000}, "limit"),
        ({"endpoint": "item", "item_id": "shoe-1", "limit": "-1"}, "limit"),
        ({"endpoint": "session", "item_id": "shoe-1", "page": "0"}, "page"),
        ({"endpoint": "nope"}, "endpoint"),
        ({"endpoint": "recommend"}, "user_id"),
        ({"endpoint": "recommend", "user_id": "   "}, "user_id"),
        ({"endpoint": "price_optimized", "user_id": "u" * 300}, "user_id"),
        ({"endpoint": "session"}, "clicked_item_id"),
        ({"endpoint": "item", "item_id": "i" * 300}, "item_id"),
        ({"endpoint": "basket", "item_ids": " , "}, "item_ids"),
        ({"endpoint": "basket", "item_ids": ",".join(f"x{n}" for n in range(101))}, "item_ids"),
        ({"endpoint": "basket", "item_ids": "ok," + "b" * 300}, "item_ids[1]"),
        ({"endpoint": "recommend", "user_id": "u", "mode": "fast"}, "mode"),
        ({"endpoint": "recommend", "user_id": "u", "placement": "p" * 300}, "placement"),
        ({"endpoint": "recommend", "user_id": "u", "filters": "price < 3"}, "filters"),
        ({"endpoint": "recommend", "user_id": "u", "filters": "[1]"}, "filters"),
        ({"endpoint": "recommend", "user_id": "u", "filters": '{"p": NaN}'}, "filters"),
        ({"endpoint": "recommend", "user_id": "u", "filters": "[" * 9000}, "filters"),
        ({"endpoint": "recommend", "user_id": "u", "filters": "{" * 3000}, "filters"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(store, form, named):
    response = _run(store, 400, **form)
    error = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S)
    assert error, "no error shown"
    assert html.unescape(error.group(1)).startswith(named) or f"; {named}" in html.unescape(
        error.group(1)
    )
    assert 'id="playground-form"' in response.text  # the form, to correct and resend
    assert 'id="playground-results"' not in response.text


def test_an_unknown_item_is_a_404_naming_the_item(store):
    for endpoint in ("item", "session"):
        response = _run(store, 404, endpoint=endpoint, item_id="no-such-item")
        assert "item_id: No item with item_id" in html.unescape(response.text)


def test_nul_and_non_utf8_bytes_are_refused_or_replaced_never_a_500(store):
    client = store.user.client
    nul = client.get("/playground", params={"endpoint": "recommend", "user_id": "a\x00b"})
    assert nul.status_code == 400 and "NUL" in nul.text
    odd = client.get("/playground?endpoint=recommend&user_id=%FF%FE&limit=2")
    assert odd.status_code == 200 and len(_rows(odd.text)) == 2


def test_another_organisations_items_never_show(api, store, rival):
    refused = _run(store, 404, endpoint="item", item_id=RIVAL_ITEM)
    assert RIVAL_NAME not in refused.text
    for form in (
        {"endpoint": "recommend", "user_id": "rival-shopper", "limit": "100"},
        {"endpoint": "basket", "item_ids": RIVAL_ITEM, "limit": "100"},
    ):
        page = _run(store, **form).text
        assert RIVAL_ITEM not in {i for i, _ in _rows(page)} and RIVAL_NAME not in page
    # The rival, without a model, gets its own catalog's newest items, and only those.
    page = _run(rival, endpoint="recommend", user_id="rival-shopper").text
    assert [i for i, _ in _rows(page)] == [RIVAL_ITEM]
    assert RIVAL_NAME in page and "999.00" in page
    assert '<dt>source</dt><dd class="mono">catalog</dd>' in page
    logged = _logged(api, rival, _recommendation_id(page))
    assert logged["organization_id"] == rival.user.organization_id
    assert "shoe-0" not in rival.user.client.get("/playground").text


def test_the_page_needs_a_session(api):
    from tests.dashboard import browser_for

    response = browser_for(api).get("/playground?endpoint=recommend", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_shared_url_and_the_api_key_headers_are_what_the_snippets_say(api, store):
    page = _run(store, endpoint="recommend", user_id="hat-fan-1", placement="home", limit="2")
    body = _curl_body(page.text)
    assert body == {"user_id": "hat-fan-1", "placement": "home", "limit": 2}
    answer = api.post("/recommend", headers=key_headers(store.publishable["X-API-KEY"]), json=body)
    assert answer.status_code == 200
    assert answer.json()["all_item_ids"] == [i for i, _ in _rows(page.text)]
