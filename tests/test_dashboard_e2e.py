"""The dashboard end to end, in headless Chromium against a real ``lehnz serve``.

A store's developer signs up, creates both keys, uploads the demo catalog (gzipped CSV) with
the progress bar, watches events sent through the API appear live, runs the playground,
clicks a recommended item through the API with its ``recommendation_id`` and sees the
analytics move, trains a model and sees the new version, and revokes a key that the API then
refuses. Every page is also checked at 375 px (no sideways scrolling, every control
labelled) and photographed at 1280 px and 375 px (``make screenshots`` keeps them in
docs/images/).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import DESKTOP, PHONE, chromium, screenshot_dir  # noqa: F401
from tests.factories import DOMAIN, PASSWORD
from tests.processes import lehnz_serve

PAGES = {
    "login": "/login",
    "signup": "/signup",
    "developer-access": "/access",
    "catalog": "/catalog",
    "events": "/events",
    "playground": "/playground",
    "analytics": "/analytics",
    "models": "/models",
    "settings": "/settings",
}
NAV = ("Developer Access", "Catalog", "Events", "Playground", "Analytics", "Models", "Settings")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"LEHNZ_TRAIN_CHECK_SECONDS": "3600"}
    with lehnz_serve(tmp_path_factory.mktemp("dashboard"), env) as (url, _):
        yield url


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    """The API, as the store's servers and browsers call it."""
    with httpx.Client(base_url=server, headers=DOMAIN, timeout=30) as client:
        yield client


@pytest.fixture
def page(chromium: Any, server: str) -> Iterator[Any]:  # noqa: F811
    context = chromium.new_context(base_url=server, viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    # No script error and no refused resource (the CSP would log one) on any page.
    assert not [e for e in errors if "401" not in e and "403" not in e], errors


def _demo_file(name: str) -> Path:
    return Path(str(resources.files("lehnz") / "demo_data" / name))


def _sign_up(page: Any) -> str:
    email = f"e2e-{secrets.token_hex(4)}@example.com"
    page.goto("/signup")
    page.get_by_label("Organisation name").fill("Browser Store")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/access")
    return email


def _create_key(page: Any, key_type: str, name: str) -> str:
    page.goto("/access")
    page.get_by_label("Type", exact=True).select_option(key_type)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create key").click()
    key = page.locator("[data-new-key]").input_value()
    assert key.startswith(f"lehnz_{key_type[0]}k_")
    return str(key)


def _shoot(page: Any, name: str, target: Path) -> None:
    for label, viewport in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(target / f"dashboard-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def _check_phone_and_labels(page: Any, path: str) -> None:
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= PHONE["width"], f"{path} scrolls sideways at 375 px ({overflow} px)"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !e.labels?.length && !e.getAttribute('aria-label')
                         && !e.getAttribute('aria-labelledby'))
            .map(e => e.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == [], f"{path} has controls without a label: {unlabelled}"
    page.set_viewport_size(DESKTOP)


def test_a_store_developer_uses_the_dashboard_end_to_end(
    page: Any, api: httpx.Client, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    pages = dict(PAGES)

    # Signed out: the log-in and sign-up pages, then sign up.
    for name in ("login", "signup"):
        page.goto(pages[name])
        _check_phone_and_labels(page, pages[name])
        _shoot(page, name, shots)
    _sign_up(page)
    # From the keyboard: the first Tab reaches "Skip to content", which moves focus to the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    nav = page.get_by_role("navigation", name="Main")
    for link in NAV:
        assert nav.get_by_role("link", name=link, exact=True).is_visible()

    # Developer Access: both keys, each shown whole once.
    publishable = _create_key(page, "publishable", "storefront")
    secret = _create_key(page, "secret", "backend")
    page.goto("/access")
    assert page.locator("[data-new-key]").count() == 0  # never shown again
    assert secret[-4:] in page.locator("table.keys").inner_text()
    pk_headers = {"X-API-KEY": publishable}

    # Catalog: the demo catalog, gzipped CSV, through the upload form with its progress bar.
    page.goto("/catalog")
    page.get_by_label("Kind").select_option("items")
    page.get_by_label("File").set_input_files(str(_demo_file("items.csv.gz")))
    page.get_by_role("button", name="Upload").click()
    report = page.locator("#upload-report")
    report.get_by_text(re.compile(r"1575 items? imported")).wait_for()
    assert page.locator("#upload-progress").count() == 1
    page.get_by_label("Kind").select_option("events")
    page.get_by_label("File").set_input_files(str(_demo_file("events.csv.gz")))
    page.get_by_role("button", name="Upload").click()
    report.get_by_text(re.compile(r"\d+ events? imported")).wait_for()
    page.get_by_label("Search items").fill("PENCILS")
    page.get_by_label("Search items").press("Enter")
    page.get_by_text("COLOURING PENCILS BROWN TUBE").first.wait_for()

    # Events: sent through the API, they appear without a reload.
    page.goto("/events")
    page.evaluate("window.__sameDocument = true")
    user = f"visitor-{secrets.token_hex(3)}"
    sent = [
        {"user_id": user, "event_name": "view", "item_id": "85123A"},
        {"user_id": user, "event_name": "add_to_cart", "item_id": "85123A"},
    ]
    accepted = api.post("/api/v1/events/ingest", headers=pk_headers, json=sent)
    assert accepted.status_code == 202, accepted.text
    live = page.locator("#live-events tbody tr", has_text=user)
    live.first.wait_for(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert "add_to_cart" in page.locator("#live-events").inner_text()

    # Models: train now, and see the new version serving.
    page.goto("/models")
    page.get_by_role("button", name="Train now").click()
    page.locator("#train-status", has_text=re.compile(r"serving$")).wait_for(timeout=120_000)
    page.goto("/models")
    assert page.locator("#model-versions [data-version]").count() >= 1

    # Playground: a real list for a demo shopper, with names and prices.
    page.goto("/playground")
    page.get_by_label("Endpoint").select_option("recommend")
    page.get_by_label("User id", exact=True).fill("c17949")
    page.get_by_label("Placement").fill("home")
    page.get_by_role("button", name="Run").click()
    rows = page.locator("#playground-results [data-item-id]")
    rows.first.wait_for()
    pages["playground"] = page.url  # the run's own address (a GET form), for its screenshot
    recommendation_id = page.locator("#recommendation-id").inner_text().strip()
    clicked = rows.first.get_attribute("data-item-id")
    assert recommendation_id and clicked

    # Click it through the API with the recommendation_id: the analytics move.
    click = {
        "user_id": "c17949",
        "event_name": "click",
        "item_id": clicked,
        "recommendation_id": recommendation_id,
    }
    assert api.post("/api/v1/events/ingest", headers=pk_headers, json=click).status_code == 202
    clicks = page.locator("#attribution-total .clicks")
    for _ in range(60):
        page.goto("/analytics")
        if clicks.inner_text().strip() not in ("", "0"):
            break
        page.wait_for_timeout(500)
    assert int(clicks.inner_text()) >= 1
    assert page.locator("#analytics-charts svg").count() >= 1

    # Screenshots and the phone check of every signed-in page, now that each has data.
    for name in list(pages)[2:]:  # every page but log-in and sign-up, done above
        page.goto(pages[name])
        _check_phone_and_labels(page, pages[name])
        _shoot(page, name, shots)

    # Revoke the publishable key: the API refuses it at once.
    page.goto("/access")
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator("tr", has_text="storefront")
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    page.get_by_text("Key revoked").wait_for()
    refused = api.post("/recommend", headers=pk_headers, json={"user_id": "c17949"})
    assert refused.status_code == 401

    # Log out: the pages want a log-in again.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto("/access")
    page.wait_for_url("**/login?next=/access")


def test_a_form_posted_without_its_token_is_refused(page: Any) -> None:
    _sign_up(page)
    page.goto("/access")
    # Strip the token from the real form, as a forged cross-site post would lack it.
    page.evaluate(
        "document.querySelector('form[action=\"/access/keys\"] [name=csrf_token]').remove()"
    )
    page.get_by_label("Name", exact=True).fill("forged")
    page.get_by_role("button", name="Create key").click()
    assert page.get_by_text("security token").is_visible()
    page.goto("/access")
    assert page.locator("[data-key-id]").count() == 0
