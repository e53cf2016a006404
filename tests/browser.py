"""Headless Chromium driven by Playwright, for the dashboard's end-to-end tests.

Debian's ``chromium`` is used as it is (``executable_path``); Playwright downloads nothing.
Skipped when Chromium is missing, unless ``LEHNZ_TEST_REQUIRE_BROWSER=1`` (``.ci/run`` sets
it and installs Chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def require_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("LEHNZ_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required but not installed (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser for the module; each test opens its own context (cookies, storage)."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(tmp: Path) -> Path:
    """Where page screenshots go: ``LEHNZ_TEST_SCREENSHOTS`` (``make screenshots`` sets it to
    docs/images) or a temporary directory, so a test run never rewrites the docs."""
    target = Path(os.environ.get("LEHNZ_TEST_SCREENSHOTS") or tmp / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target
