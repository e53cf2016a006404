"""The Analytics page: lists served through the API, clicked and bought with their
``recommendation_id``, show on the page with exactly the numbers the API answers."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from lehnz.store.analytics_queries import DayActivity
from lehnz.web.period import MAX_BUCKETS, Period, buckets, parse_period
from tests.dashboard import DashboardUser, browser_for, sign_up
from tests.factories import DOMAIN, PASSWORD, eventually

_ROW = re.compile(
    r'<tr (id="attribution-total" )?data-endpoint="([^"]*)" data-placement="([^"]*)">(.*?)</tr>',
    re.S,
)
_CELL = re.compile(r'<td class="num ([a-z-]+)" data-value="([^"]*)">')
_FIELDS = {
    "impressions": "impressions",
    "clicks": "clicks",
    "ctr": "ctr",
    "add-to-carts": "add_to_carts",
    "conversions": "conversions",
    "conversion-rate": "conversion_rate",
    "revenue": "revenue",
}
# A placement a spreadsheet would run as a formula, and one that is markup.
FORMULA = "=HYPERLINK(1)"
MARKUP = "<b>hero</b>"


def _table(page: str) -> tuple[dict[tuple[str, str | None], dict[str, float]], dict[str, float]]:
    """The page's table: {(endpoint, placement): {api field: value}}, and the total row."""
    table = page.split('id="attribution-table"', 1)[1].split("</table>", 1)[0]
    rows, total = {}, {}
    for is_total, endpoint, placement, body in _ROW.findall(table):
        values = {_FIELDS[name]: float(value) for name, value in _CELL.findall(body)}
        assert set(values) == set(_FIELDS.values())
        if is_total:
            total = values
        else:
            rows[(html.unescape(endpoint), html.unescape(placement) or None)] = values
    assert 'id="attribution-total"' in table
    return rows, total


def _numbers(line: dict[str, Any]) -> dict[str, float]:
    return {field: float(line[field]) for field in _FIELDS.values()}


def _period(page: str) -> dict[str, str]:
    found = re.search(r'<p id="period" data-start="([^"]+)" data-end="([^"]+)">', page)
    assert found, "the page does not say which period it shows"
    return {"start": found.group(1), "end": found.group(2)}


def _charts(page: str) -> str:
    return page.split('id="analytics-charts"', 1)[1].split("</section>", 1)[0]


class Shop:
    def __init__(self, api, user: DashboardUser) -> None:  # type: ignore[no-untyped-def]
        self.api = api
        self.user = user
        login = api.post(
            "/api/v1/auth/login", headers=DOMAIN, json={"email": user.email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.developer = {**DOMAIN, "Authorization": f"Bearer {login.json()['data']['token']}"}

    def attribution(self, **params: str) -> dict[str, Any]:
        response = self.api.get("/api/v1/stats/attribution", headers=self.developer, params=params)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


@pytest.fixture(scope="module")
def shop(api) -> Shop:  # type: ignore[no-untyped-def]
    """Lists served on three placements and two endpoints, clicked and bought through the
    API; returns once the pipeline has credited every event."""
    user = sign_up(api, organization_name="Analytics Store")
    publishable, secret = user.keys()
    items = [
        {"item_id": "lamp", "attributes": {"name": "Desk lamp", "price": 20}},
        {"item_id": "mug", "attributes": {"name": "Mug", "price": 4}},
    ]
    assert api.post("/api/v1/items", headers=secret, json=items).status_code == 200

    def serve(path: str, **body: object) -> str:
        response = api.post(path, headers=publishable, json={"limit": 4, **body})
        assert response.status_code == 200, response.text
        return str(response.json()["recommendation_id"])

    home = serve("/recommend", user_id="buyer", placement="home")
    serve("/recommend", user_id="buyer", placement="home")
    basket = serve("/recommend/basket", item_ids=["lamp"])
    formula = serve("/recommend", user_id="buyer", placement=FORMULA)
    serve("/recommend", user_id="buyer", placement=MARKUP)

    def event(name: str, item: str, recommendation: str, **context: object) -> dict[str, Any]:
        return {
            "user_id": "buyer",
            "event_name": name,
            "item_id": item,
            "recommendation_id": recommendation,
            **({"context": context} if context else {}),
        }

    shop = Shop(api, user)
    # Lists are logged in the background; an event is credited only to a list already logged.
    eventually(lambda: shop.attribution()["total"]["impressions"] == 5, timeout=10.0)
    events = [
        event("click", "lamp", home),
        event("add_to_cart", "lamp", home),
        event("purchase", "lamp", home, quantity=2),
        event("click", "mug", basket),
        event("purchase", "mug", basket, quantity=1, price=4),
        event("click", "mug", formula),
    ]
    response = api.post("/api/v1/events/ingest", headers=publishable, json=events)
    assert response.status_code == 202, response.text

    def credited() -> bool:
        total = shop.attribution()["total"]
        return bool(
            total["impressions"] == 5 and total["clicks"] == 3 and total["conversions"] == 2
        )

    eventually(credited, timeout=10.0)
    return shop


def test_the_table_shows_exactly_what_the_api_answers(shop: Shop) -> None:
    page = shop.user.client.get("/analytics")
    assert page.status_code == 200, page.text
    assert 'aria-current="page">Analytics<' in page.text
    rows, total = _table(page.text)
    report = shop.attribution(**_period(page.text))
    assert rows == {(r["endpoint"], r["placement"]): _numbers(r) for r in report["rows"]}
    assert total == _numbers(report["total"])
    # Every event of the fixture is in the default period, so the API's own default agrees.
    assert total == _numbers(shop.attribution()["total"])
    home = rows[("/recommend", "home")]
    assert (home["impressions"], home["clicks"], home["ctr"], home["revenue"]) == (2, 1, 0.5, 40)
    assert rows[("/recommend/basket", "cart")]["revenue"] == 4
    assert (total["impressions"], total["clicks"], total["conversions"]) == (5, 3, 2)
    assert total["revenue"] == 44
    # Placements are shown as text, never as markup.
    assert MARKUP not in page.text and html.escape(MARKUP) in page.text
    assert re.search(r'<td class="num ctr" data-value="0.5">50.00%</td>', page.text)


def test_an_explicit_period_matches_the_api_for_the_same_bounds(shop: Shop) -> None:
    today = datetime.now(UTC).date()
    start, end = (today - timedelta(days=6)).isoformat(), today.isoformat()
    page = shop.user.client.get("/analytics", params={"start": start, "end": end})
    assert page.status_code == 200
    bounds = _period(page.text)
    # "To" is included: the API's exclusive end is the next midnight.
    assert bounds == {
        "start": f"{start}T00:00:00+00:00",
        "end": f"{today + timedelta(days=1)}T00:00:00+00:00",
    }
    rows, total = _table(page.text)
    report = shop.attribution(**bounds)
    assert total == _numbers(report["total"]) and len(rows) == len(report["rows"]) == 4
    # Instants (not bare dates) mean what they mean to the API, end excluded.
    now = datetime.now(UTC)
    instants = {"start": (now - timedelta(hours=1)).isoformat(), "end": now.isoformat()}
    page = shop.user.client.get("/analytics", params=instants)
    assert _table(page.text)[1] == _numbers(shop.attribution(**instants)["total"])
    # The form shows the period, and the quick link for it is marked.
    page = shop.user.client.get("/analytics", params={"start": start, "end": end})
    assert f'name="start" value="{start}"' in page.text and f'name="end" value="{end}"' in page.text
    assert re.search(r'aria-current="true">Last 7 days<', page.text)
    for name in ("Last 30 days", "Last 90 days"):
        assert f">{name}</a>" in page.text


def test_the_charts_draw_the_series_per_day_and_per_placement(shop: Shop) -> None:
    today = datetime.now(UTC).date()
    page = shop.user.client.get(
        "/analytics", params={"start": (today - timedelta(days=6)).isoformat()}
    )
    assert page.status_code == 200
    charts = _charts(page.text)
    assert charts.count("<svg") == 4
    for name in ("Impressions", "Clicks", "Revenue", "CTR %", "Conversion rate %"):
        assert f">{name}</text>" in charts
    assert "Impressions and clicks per day" in charts
    assert "Impressions: total 5, peak 5; Clicks: total 3, peak 3" in charts
    assert "Revenue: total 44, peak 44" in charts
    assert f">{today:%b} {today.day}</text>" in charts  # the x axis is labelled by day
    assert "recommend · home: Revenue 40" in charts
    assert "basket · cart: Revenue 4" in charts
    assert "recommend · home: CTR % 50, Conversion rate % 50" in charts
    assert "<script" not in charts and "style=" not in charts


def test_another_organisation_never_sees_these_numbers(api, shop: Shop) -> None:  # type: ignore[no-untyped-def]
    other = sign_up(api, organization_name="Other Store")
    page = other.client.get("/analytics")
    assert page.status_code == 200
    rows, total = _table(page.text)
    assert rows == {} and set(total.values()) == {0.0}
    assert "Nothing served or credited in this period" in page.text
    assert "/recommend/basket" not in page.text and "hero" not in page.text
    assert "Impressions: total 0, peak 0" in _charts(page.text)
    assert other.client.get("/analytics.csv").text.count("\r\n") == 2  # header and total


def test_a_period_without_data_shows_zeros(shop: Shop) -> None:
    page = shop.user.client.get("/analytics", params={"start": "2020-01-01", "end": "2020-01-31"})
    assert page.status_code == 200
    rows, total = _table(page.text)
    assert rows == {} and set(total.values()) == {0.0}
    assert _numbers(shop.attribution(**_period(page.text))["total"]) == total
    charts = _charts(page.text)
    assert "Impressions: total 0, peak 0" in charts and ">Jan 31</text>" in charts


def test_a_very_long_period_charts_the_days_with_data_and_tables_everything(shop: Shop) -> None:
    page = shop.user.client.get("/analytics", params={"start": "1970-01-01", "end": "9999-12-31"})
    assert page.status_code == 200, page.text
    bounds = _period(page.text)
    assert bounds["end"] == "9999-12-31T23:59:59+00:00"
    assert _table(page.text)[1] == _numbers(shop.attribution(**bounds)["total"])
    charts = _charts(page.text)
    assert "The period is long" in charts
    assert "Impressions: total 5, peak 5" in charts
    epoch = shop.user.client.get("/analytics", params={"start": "0", "end": "1e30"})
    assert epoch.status_code == 200  # clamped into 1970-9999, as the API does


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2025-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"end": "2025-01-01'; drop table attributions; --"}, "end"),
        ({"start": "99999-01-01"}, "start"),
        ({"start": "2025-01-01", "end": "99999-12-31"}, "end"),
        ({"start": "x" * 5000}, "start"),
        ({"start": "nan"}, "start"),
        ({"start": "2025-01-02", "end": "2025-01-01"}, "end"),
        ({"start": "2025-01-01T12:00:00Z", "end": "2025-01-01T12:00:00Z"}, "end"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(shop: Shop, params, field) -> None:  # type: ignore[no-untyped-def]
    page = shop.user.client.get("/analytics", params=params)
    assert page.status_code == 400, page.text[:300]
    error = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text, re.S)
    assert error and f"{field}:" in html.unescape(error.group(1))
    assert 'id="period-form"' in page.text and 'id="attribution-table"' not in page.text
    assert "\x00" not in page.text
    # The API refuses the same values with the same status.
    api = shop.api.get("/api/v1/stats/attribution", headers=shop.developer, params=params)
    assert api.status_code == 400 and field in api.json()["message"]
    assert shop.user.client.get("/analytics.csv", params=params).status_code == 400
    script = shop.user.client.get(
        "/analytics.csv", params=params, headers={"Accept": "application/json"}
    )
    assert script.status_code == 400 and f"{field}:" in script.json()["message"]


def test_nul_non_utf8_and_empty_bounds(shop: Shop) -> None:
    # A NUL anywhere in a URL is refused at the door, for the API and the pages alike.
    for path in ("/analytics", "/analytics.csv", "/api/v1/stats/attribution"):
        response = shop.user.client.get(path, params={"start": "2025-01-01\x00"})
        assert response.status_code == 400 and "\x00" not in response.text
        assert "NUL" in response.text or "U+0000" in response.text
    assert shop.user.client.get("/analytics?start=%FF%FE").status_code == 400
    # Empty boxes (a form submitted as is) mean "not given": the default period.
    page = shop.user.client.get("/analytics?start=&end=")
    assert page.status_code == 200 and _table(page.text)[1]["impressions"] == 5
    assert 'aria-current="true">Last 30 days<' in page.text


def test_the_csv_is_the_table(shop: Shop) -> None:
    response = shop.user.client.get("/analytics.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    page = shop.user.client.get("/analytics").text
    rows, total = _table(page)
    assert lines[-1]["endpoint"] == "all" and lines[-1]["placement"] == ""
    assert {f: float(lines[-1][f]) for f in _FIELDS.values()} == total
    by_key = {(r["endpoint"], r["placement"] or None): r for r in lines[:-1]}
    # A placement that looks like a formula is written as text.
    assert ("/recommend", "'" + FORMULA) in by_key
    assert {f: float(by_key[("/recommend", "home")][f]) for f in _FIELDS.values()} == rows[
        ("/recommend", "home")
    ]
    assert 'href="/analytics.csv?start=' in page


def test_the_page_needs_a_session(api) -> None:  # type: ignore[no-untyped-def]
    browser = browser_for(api)
    response = browser.get("/analytics", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/analytics"
    assert browser.get("/analytics.csv", follow_redirects=False).status_code == 303


# The period rules and the chart buckets, without a database.

NOW = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)


def test_the_default_period_is_the_last_30_whole_days() -> None:
    period = parse_period(None, None, now=NOW)
    assert period.start == datetime(2025, 2, 9, tzinfo=UTC)
    assert period.end == datetime(2025, 3, 11, tzinfo=UTC)
    assert period.page_query() == "start=2025-02-09&end=2025-03-10"
    only_end = parse_period(None, "2025-03-10", now=NOW)
    assert only_end == period  # the API's rule: start is 30 days before end
    assert parse_period("2025-03-01", None, now=NOW).end == NOW


def test_the_end_of_the_range_is_clamped_not_overflowed() -> None:
    period = parse_period("9999-12-31", "9999-12-31", now=NOW)
    assert period.end == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert period.start < period.end


def _day(day: date, impressions: int = 1) -> DayActivity:
    return DayActivity(day, impressions=impressions, clicks=1, conversions=0, revenue=2.5)


def test_buckets_are_days_for_a_short_period() -> None:
    period = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC))
    drawn = buckets(period, [_day(date(2025, 1, 3), 4), _day(date(2025, 1, 7))])
    assert drawn.unit == "day" and not drawn.clipped
    assert drawn.labels[0] == "Jan 1" and drawn.labels[-1] == "Jan 7"
    assert drawn.impressions == [0, 0, 4, 0, 0, 0, 1]
    assert sum(drawn.revenue) == 5.0


def test_buckets_of_a_long_period_follow_the_data_and_stay_bounded() -> None:
    everything = Period(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))
    near = buckets(everything, [_day(date(2025, 1, 3)), _day(date(2025, 2, 3))])
    assert near.unit == "day" and near.clipped and len(near.labels) == 32
    one_day = buckets(everything, [_day(date(2025, 1, 3))])
    assert one_day.labels == [f"Dec {n}" for n in range(28, 32)] + ["Jan 1", "Jan 2", "Jan 3"]
    assert one_day.impressions[-1] == 1
    far = buckets(everything, [_day(date(1971, 5, 3)), _day(date(9999, 12, 30))])
    assert far.unit == "month" and len(far.labels) == MAX_BUCKETS
    assert far.labels[-1] == "Dec 9999" and sum(far.impressions) == 1
    empty = buckets(everything, [])
    assert len(empty.labels) == MAX_BUCKETS and sum(empty.impressions) == 0
    years = buckets(
        Period(datetime(2000, 1, 1, tzinfo=UTC), datetime(2010, 1, 1, tzinfo=UTC)),
        [_day(date(2000, 1, 1)), _day(date(2009, 12, 31), 3)],
    )
    assert years.unit == "month" and len(years.labels) == 120
    assert years.impressions[0] == 1 and years.impressions[-1] == 3
