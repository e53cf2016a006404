"""The Events page over HTTP: events sent through the API show on the page and in the live
feed after a cursor, counts by name match what was sent, the rate and the pipeline's lag move,
and nothing of another organisation ever shows."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from lehnz.config import Settings
from lehnz.pipeline.worker import Pipeline
from tests.dashboard import DashboardUser, sign_up
from tests.factories import assert_error, eventually

JSON = {"Accept": "application/json"}


class _Tables(HTMLParser):
    """Rows of cell texts of every table with an id, and each body row's ``data-seq``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.seqs: dict[str, list[str]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id"):
            self._table = found["id"]
            self.tables[self._table] = []
            self.seqs[self._table] = []
        elif self._table and tag == "tbody":
            self._in_body = True
        elif self._table and self._in_body and tag == "tr":
            self._row = []
            if found.get("data-seq"):
                self.seqs[self._table].append(found["data-seq"] or "")
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def send(api: TestClient, publishable: dict[str, str], events: list[dict]) -> None:
    response = api.post("/api/v1/events/ingest", headers=publishable, json=events)
    assert response.status_code == 202, response.text


def feed(user: DashboardUser, after: int | str | None = None) -> dict:
    params = {} if after is None else {"after": str(after)}
    response = user.client.get("/events/feed", params=params, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def new_events(user: DashboardUser, after: int | None, item_id: str) -> dict:
    """The feed after ``after`` once it lists the event about ``item_id``. On PostgreSQL a row
    is listed once every older transaction has ended (the embedded pipeline's may be open)."""

    def answer() -> dict | None:
        found = feed(user, after)
        return found if any(e["item_id"] == item_id for e in found["events"]) else None

    return eventually(answer)


def live_page(user: DashboardUser, newest_item_id: str) -> str:
    """The page once its newest row is the event about ``newest_item_id``."""

    def page() -> str | None:
        response = user.client.get("/events")
        assert response.status_code == 200, response.text
        rows = tables_of(response.text).tables["live-events"]
        return response.text if rows and rows[0][3] == newest_item_id else None

    return eventually(page)


def counts_by_name(page: str) -> dict[str, int]:
    """Column sums of the counts table: {event name or "other": total}."""
    parsed = tables_of(page)
    header = _header_of(page)
    rows = parsed.tables["event-counts-table"]
    return {
        name: sum(int(row[index]) for row in rows)
        for index, name in enumerate(header)
        if index and name != "Total"
    }


def _header_of(page: str) -> list[str]:
    start = page.index('id="event-counts-table"')
    head = page[page.index("<thead>", start) : page.index("</thead>", start)]
    parser = _Tables()
    parser.feed(f'<table id="h"><tbody>{head.replace("<thead>", "")}</tbody></table>')
    return parser.tables["h"][0]


@pytest.fixture(scope="module")
def store_a(api: TestClient) -> tuple[DashboardUser, dict[str, str]]:
    user = sign_up(api, organization_name="Events A")
    publishable, _ = user.keys()
    return user, publishable


def test_sent_events_show_on_the_page_newest_first_with_their_fields(api, store_a):
    user, publishable = store_a
    send(
        api,
        publishable,
        [
            {"user_id": "ann", "event_name": "view", "item_id": "lamp"},
            {
                "user_id": "ann",
                "event_name": "purchase",
                "item_id": "lamp",
                "recommendation_id": "rec_123",
                "context": {"price": 19.5, "quantity": 2},
            },
        ],
    )
    text = live_page(user, "lamp")
    assert '/static/events.js" defer' in text
    parsed = tables_of(text)
    rows = parsed.tables["live-events"]
    assert rows[0][1:] == ["purchase", "ann", "lamp", "rec_123", "19.5"]
    assert rows[1][1:] == ["view", "ann", "lamp", "", ""]
    seqs = [int(s) for s in parsed.seqs["live-events"]]
    assert seqs == sorted(seqs, reverse=True)
    assert f'data-last-seq="{seqs[0]}"' in text
    for widget in ("ingest-rate-minute", "ingest-rate-hour", "pipeline-lag", "event-counts"):
        assert f'id="{widget}"' in text


def test_the_feed_gives_only_events_after_the_cursor(api, store_a):
    user, publishable = store_a
    send(api, publishable, [{"user_id": "bob", "event_name": "view", "item_id": "before"}])
    cursor = new_events(user, None, "before")["last_seq"]
    assert feed(user, cursor)["events"] == []
    assert feed(user, cursor)["last_seq"] == cursor  # nothing new: the same cursor back
    send(
        api,
        publishable,
        [
            {"user_id": "bob", "event_name": "click", "item_id": "after-1"},
            {"user_id": "bob", "event_name": "add_to_cart", "item_id": "after-2"},
        ],
    )
    answer = new_events(user, cursor, "after-2")
    assert [e["item_id"] for e in answer["events"]] == ["after-2", "after-1"]  # newest first
    assert answer["last_seq"] == answer["events"][0]["seq"] > cursor
    assert answer["more"] is False
    assert {"last_minute", "last_hour", "minute_text", "hour_text"} <= set(answer["rate"])
    assert {"unapplied", "up_to_date", "text"} <= set(answer["lag"])
    assert feed(user, answer["last_seq"])["events"] == []
    # The page starts the script at its newest row: the feed after it is empty.
    page = live_page(user, "after-2")
    assert feed(user, int(tables_of(page).seqs["live-events"][0]))["events"] == []


def test_a_burst_larger_than_a_poll_gives_the_newest(api):
    user = sign_up(api)
    publishable, _ = user.keys()
    send(api, publishable, [{"user_id": "u", "event_name": "view", "item_id": "first"}])
    cursor = new_events(user, None, "first")["last_seq"]
    send(
        api,
        publishable,
        [{"user_id": "u", "event_name": "view", "item_id": f"i{n}"} for n in range(130)],
    )
    answer = new_events(user, cursor, "i129")
    assert len(answer["events"]) == 100
    assert answer["more"] is True
    assert answer["events"][0]["item_id"] == "i129"
    assert answer["events"][-1]["item_id"] == "i30"
    page = live_page(user, "i129")
    assert len(tables_of(page).tables["live-events"]) == 50
    assert feed(user, answer["last_seq"])["events"] == []


def test_counts_by_name_match_what_was_sent(api):
    user = sign_up(api)
    publishable, _ = user.keys()
    sent = {"view": 9, "click": 5, "add_to_cart": 3, "purchase": 2, "search": 2, "wish": 1}
    sent |= {"share": 1, "review": 1}  # 8 names: the 2 least frequent are "other"
    send(
        api,
        publishable,
        [
            {"user_id": f"u{n}", "event_name": name, "item_id": "x"}
            for name, count in sent.items()
            for n in range(count)
        ],
    )
    for window in ("24h", "7d"):
        response = user.client.get("/events", params={"window": window})
        assert response.status_code == 200, response.text
        counts = counts_by_name(response.text)
        # Ties are broken by name: "review" is charted, "share" and "wish" are "other".
        assert counts == {
            "view": 9,
            "click": 5,
            "add_to_cart": 3,
            "purchase": 2,
            "search": 2,
            "review": 1,
            "other": 2,
        }
        rows = tables_of(response.text).tables["event-counts-table"]
        assert len(rows) == (24 if window == "24h" else 7)
        assert sum(int(row[-1]) for row in rows) == 24
        assert int(rows[-1][-1]) == 24  # all received in the current hour / day
        assert "<svg" in response.text and "Events received" in response.text
    assert 'value="7d" selected' in user.client.get("/events?window=7d").text


def test_rate_counts_the_last_minute_and_hour(api):
    user = sign_up(api)
    publishable, _ = user.keys()
    assert feed(user)["rate"]["last_minute"] == 0
    send(api, publishable, [{"user_id": "r", "event_name": "view"} for _ in range(12)])
    rate = feed(user)["rate"]
    assert (rate["last_minute"], rate["last_hour"]) == (12, 12)
    assert rate["minute_text"] == "12"
    assert rate["hour_text"] == "0.20 / min"
    page = user.client.get("/events").text
    card = page[page.index('id="ingest-rate-minute"') :]
    assert '<div class="value" data-field="value">12</div>' in card[:300]


def test_another_organisations_events_never_show(api, store_a):
    user, _ = store_a
    other = sign_up(api, organization_name="Events B")
    other_publishable, _ = other.keys()
    send(
        api,
        other_publishable,
        [{"user_id": "secret-shopper", "event_name": "b_only_event", "item_id": "b-item"}] * 3,
    )
    page = user.client.get("/events").text
    assert "secret-shopper" not in page and "b_only_event" not in page and "b-item" not in page
    answer = feed(user, 0)
    assert all(e["event_name"] != "b_only_event" for e in answer["events"])
    assert "b_only_event" not in user.client.get("/events?window=7d").text
    # The other organisation's own feed has only its rows, and its cursor is one of its rows.
    theirs = new_events(other, 0, "b-item")
    assert {e["event_name"] for e in theirs["events"]} == {"b_only_event"}
    assert theirs["last_seq"] == theirs["events"][0]["seq"]
    assert feed(other, 0)["rate"]["last_minute"] == 3
    # A cursor well below the other organisation's rows still gives none of them.
    assert "b_only_event" not in str(feed(user, 1))


def test_event_fields_are_shown_as_text_not_markup(api):
    user = sign_up(api)
    publishable, _ = user.keys()
    hostile = '<img src=x onerror="alert(1)">'
    send(api, publishable, [{"user_id": hostile, "event_name": "<b>bold</b>", "item_id": hostile}])
    page = live_page(user, hostile)
    assert hostile not in page and "<b>bold</b>" not in page
    assert "&lt;img src=x" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert (
        new_events(user, None, hostile)["events"][0]["user_id"] == hostile
    )  # JSON: the script sets textContent


@pytest.mark.parametrize(
    "after", ["-1", "abc", "1" + "0" * 30, "9223372036854775808", "1.5", "١٢", " 1"]
)
def test_a_bad_cursor_is_refused_naming_it(api, store_a, after):
    user, _ = store_a
    response = user.client.get("/events/feed", params={"after": after}, headers=JSON)
    assert_error(response, 400, "after")


@pytest.mark.parametrize("window", ["bogus", "7D", "", "x" * 5000, "é", "24h "])
def test_a_bad_window_is_refused_naming_it(api, store_a, window):
    user, _ = store_a
    response = user.client.get("/events", params={"window": window})
    assert response.status_code == 400, response.text
    assert "window" in response.text and 'id="live-events"' in response.text


def test_a_nul_in_either_parameter_is_refused_before_any_query(api, store_a):
    """The app refuses a NUL anywhere in a URL (400 naming it) before any page runs."""
    user, _ = store_a
    for path, params in (("/events/feed", {"after": "1\x00"}), ("/events", {"window": "24h\x00"})):
        response = user.client.get(path, params=params, headers=JSON)
        assert_error(response, 400, "nul")


def test_without_a_session_the_feed_is_401_and_the_page_goes_to_log_in(api):
    client = TestClient(api.app, base_url="http://testserver")
    response = client.get("/events/feed?after=0", headers=JSON)
    assert_error(response, 401)
    page = client.get("/events", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


# -- The pipeline's lag: an app of its own whose pipeline runs only when the test says.


@pytest.fixture(scope="module")
def quiet_api(isolated_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(isolated_settings)) as client:
        yield client


def test_lag_counts_unapplied_events_until_the_pipeline_runs(quiet_api):
    user = sign_up(quiet_api)
    publishable, _ = user.keys()
    other = sign_up(quiet_api)
    other_publishable, _ = other.keys()
    assert feed(user)["lag"]["up_to_date"] is True
    send(quiet_api, publishable, [{"user_id": "l", "event_name": "view"} for _ in range(7)])
    send(quiet_api, other_publishable, [{"user_id": "o", "event_name": "view"}] * 5)
    lag = feed(user)["lag"]
    assert (lag["unapplied"], lag["up_to_date"], lag["text"]) == (7, False, "7 behind")
    assert lag["oldest_seconds"] is not None and 0 <= lag["oldest_seconds"] < 60
    html = user.client.get("/events").text
    card = html[html.index('id="pipeline-lag"') :][:400]
    assert "7 behind" in card and "oldest unapplied event received" in card
    Pipeline(quiet_api.app.state.runtime.store).process_pending()
    lag = feed(user)["lag"]
    assert (lag["unapplied"], lag["up_to_date"], lag["text"]) == (0, True, "up to date")
    assert "up to date" in user.client.get("/events").text
    send(quiet_api, publishable, [{"user_id": "l", "event_name": "click"}])
    assert feed(user)["lag"]["unapplied"] == 1
