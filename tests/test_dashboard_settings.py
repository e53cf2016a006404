"""The Settings page: each form changes what the API's settings endpoints answer, and refuses
bad input with a 400 naming the field, as the API does, leaving the setting as it was."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from lehnz.store.tables import organizations
from tests.dashboard import DashboardUser, browser_for, csrf_of, sign_up
from tests.factories import DOMAIN, rows_of


def _api_headers(api: TestClient, user: DashboardUser) -> dict[str, str]:
    """A developer token of the same account, for the API's settings endpoints."""
    from tests.factories import PASSWORD

    response = api.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {**DOMAIN, "Authorization": f"Bearer {response.json()['data']['token']}"}


@pytest.fixture(scope="module")
def kept(api: TestClient) -> tuple[DashboardUser, dict[str, str]]:
    """One organisation (named "Kept", with one custom family) that every refused post
    must leave exactly as it was, and its developer token."""
    user = sign_up(api, organization_name="Kept")
    headers = _api_headers(api, user)
    response = user.post("/settings/event_families", {"event_families": "keep = conversion"})
    assert response.status_code == 200
    return user, headers


def _unchanged(api: TestClient, user: DashboardUser, headers: dict[str, str]) -> None:
    (row,) = rows_of(api, organizations, id=user.organization_id)
    assert row["name"] == "Kept"
    assert _families(api, headers) == {"keep": "conversion"}
    assert _limit(api, headers)["source"] == "server"


def _families(api: TestClient, headers: dict[str, str]) -> dict[str, str]:
    return api.get("/api/v1/settings/event_families", headers=headers).json()["data"]


def _limit(api: TestClient, headers: dict[str, str]) -> dict[str, object]:
    return api.get("/api/v1/settings/rate_limit", headers=headers).json()["data"]


def test_the_page_shows_each_setting_with_labels(api: TestClient) -> None:
    user = sign_up(api, organization_name="Settings Shop")
    page = user.client.get("/settings")
    assert page.status_code == 200
    for label in ("Organisation name", "Requests per window", "Window (seconds)", "Event families"):
        assert f">{label}</label>" in page.text
    assert 'value="Settings Shop"' in page.text
    assert "(the server-wide default)" in page.text
    assert "No custom event families yet." in page.text
    assert "<code>requests</code>" in page.text and "<code>window_seconds</code>" in page.text


def test_event_families_form_sets_what_the_api_answers(api: TestClient) -> None:
    user = sign_up(api)
    headers = _api_headers(api, user)
    text = "# ours\nwishlist = conversion\n\n  share=engagement  \nsize=m = conversion\n"
    response = user.post("/settings/event_families", {"event_families": text})
    assert response.status_code == 200 and "Event families saved." in response.text
    assert _families(api, headers) == {
        "wishlist": "conversion",
        "share": "engagement",
        "size=m": "conversion",
    }
    assert "share = engagement\nsize=m = conversion\nwishlist = conversion" in response.text
    # An empty box removes them all.
    user.post("/settings/event_families", {"event_families": ""})
    assert _families(api, headers) == {}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("wishlist conversion", "event_families: line 1: write event_name = family"),
        ("ok = engagement\n= conversion", "event_families: line 2"),
        ("wishlist = sometimes", "event_families: wishlist: must be 'engagement' or 'conversion'"),
        ("purchase = engagement", "purchase: a standard event name"),
        ("a = conversion\na = engagement", "line 2: 'a' is given twice"),
        ("x" * 300 + " = conversion", "an event name has 1 to 256 characters"),
        ("wish\x00list = conversion", "event_families: must not contain the NUL"),
        ("\n".join(f"e{i} = conversion" for i in range(1001)), "at most 1000 custom event names"),
        ("a = conversion\n" * 40_000, "event_families: at most 300000 characters"),
    ],
)
def test_bad_event_families_are_refused_by_field(
    api: TestClient, kept: tuple[DashboardUser, dict[str, str]], text: str, named: str
) -> None:
    user, headers = kept
    response = user.post("/settings/event_families", {"event_families": text})
    assert response.status_code == 400, response.text[:500]
    assert named in html.unescape(response.text)
    _unchanged(api, user, headers)


def test_rate_limit_form_sets_and_resets_what_the_api_answers(api: TestClient) -> None:
    user = sign_up(api)
    headers = _api_headers(api, user)
    server = _limit(api, headers)
    assert server["source"] == "server"
    response = user.post("/settings/rate_limit", {"requests": "2500", "window_seconds": "60"})
    assert response.status_code == 200
    assert "2500 requests per 60 s" in response.text
    assert "(the organisation's own limit)" in html.unescape(response.text)
    assert _limit(api, headers) == {
        "requests": 2500,
        "window_seconds": 60,
        "source": "organization",
    }
    response = user.post("/settings/rate_limit/reset")
    assert response.status_code == 200 and "server-wide default" in response.text
    assert _limit(api, headers) == server


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"requests": "0", "window_seconds": "60"}, "requests: input should be greater than"),
        ({"requests": "-5", "window_seconds": "60"}, "requests: input should be greater than"),
        ({"requests": "10", "window_seconds": "86401"}, "window_seconds: input should be less"),
        ({"requests": "9" * 40, "window_seconds": "60"}, "requests: input should be less"),
        ({"requests": "1e3", "window_seconds": "60"}, "requests: input should be a valid integer"),
        ({"requests": "", "window_seconds": "60"}, "requests: input should be a valid integer"),
        (
            {"requests": "10", "window_seconds": "6\x000"},
            "window_seconds: must not contain the NUL",
        ),
        ({"requests": "x" * 10_000, "window_seconds": "x"}, "requests: input should be a valid"),
    ],
)
def test_bad_rate_limits_are_refused_by_field(
    api: TestClient, kept: tuple[DashboardUser, dict[str, str]], form: dict[str, str], named: str
) -> None:
    user, headers = kept
    response = user.post("/settings/rate_limit", form)
    assert response.status_code == 400
    assert named in html.unescape(response.text)
    _unchanged(api, user, headers)


def test_rename_shows_in_the_header_and_is_stored(api: TestClient) -> None:
    user = sign_up(api, organization_name="Old Name")
    response = user.post("/settings/name", {"name": "  New <Name> & Co  "})
    assert response.status_code == 200
    assert '<span class="who" title="' in response.text
    assert ">New &lt;Name&gt; &amp; Co</span>" in response.text
    (row,) = rows_of(api, organizations, id=user.organization_id)
    assert row["name"] == "New <Name> & Co"
    other = sign_up(api, organization_name="Neighbour")
    (row,) = rows_of(api, organizations, id=other.organization_id)
    assert row["name"] == "Neighbour"


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("", "name: 1 to 200 characters"),
        ("   ", "name: 1 to 200 characters"),
        ("x" * 201, "name: 1 to 200 characters"),
        ("x" * 10_000, "name: 1 to 200 characters"),
        ("Nul\x00Shop", "name: must not contain the NUL"),
        ("Line\nbreak", "name: no control characters"),
    ],
)
def test_bad_names_are_refused_by_field(
    api: TestClient, kept: tuple[DashboardUser, dict[str, str]], name: str, named: str
) -> None:
    user, headers = kept
    response = user.post("/settings/name", {"name": name})
    assert response.status_code == 400
    assert named in html.unescape(response.text)
    _unchanged(api, user, headers)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/settings/name", {"name": "Hijacked"}),
        ("/settings/event_families", {"event_families": "x = conversion"}),
        ("/settings/rate_limit", {"requests": "1", "window_seconds": "1"}),
        ("/settings/rate_limit/reset", {}),
    ],
)
def test_posts_without_the_token_are_refused(
    api: TestClient, kept: tuple[DashboardUser, dict[str, str]], path: str, data: dict[str, str]
) -> None:
    user, headers = kept
    assert user.client.post(path, data=data).status_code == 403
    other_browser = browser_for(api)
    token = csrf_of(other_browser.get("/login").text)
    assert user.client.post(path, data={**data, "csrf_token": token}).status_code == 403
    assert user.client.post(path, data=data, headers={"X-CSRF-Token": "forged"}).status_code == 403
    _unchanged(api, user, headers)
