"""``LEHNZ_REGISTRATION``: sign-up open (the default) or closed, with login working either way.

``lehnz org create``, the way in while sign-up is closed, is tested in tests/test_org_create.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from lehnz.app import create_app
from lehnz.config import Settings
from tests.conftest import make_settings
from tests.factories import DOMAIN, PASSWORD, assert_error, register


def test_closed_registration_is_403_saying_what_to_do_and_login_still_works(
    tmp_path: Path,
) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        account = register(client)  # open by default

    with TestClient(create_app(make_settings(tmp_path, registration="closed"))) as client:
        refused = client.post(
            "/api/v1/auth/register",
            headers=DOMAIN,
            json={"email": "late@example.com", "password": PASSWORD, "organization_name": "L"},
        )
        body = assert_error(refused, 403, "registration is closed", "`lehnz org create`")
        assert body["code"] == "registration_closed"
        # Whatever the body: the answer is about sign-up being closed, not about the fields.
        assert client.post("/api/v1/auth/register", headers=DOMAIN, json={}).status_code == 403
        login = client.post(
            "/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": account.email, "password": PASSWORD},
        )
        assert login.status_code == 200, login.text
        assert "registration_closed" in client.get("/openapi.json").text


def test_the_setting_takes_open_or_closed_only(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).registration == "open"
    with pytest.raises(ValidationError, match="registration"):
        Settings(data_dir=tmp_path, registration="invite-only")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="rate_limit_failure"):
        Settings(data_dir=tmp_path, rate_limit_failure="maybe")  # type: ignore[arg-type]
