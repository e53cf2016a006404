"""``lehnz org create`` run as a real process, on SQLite and on PostgreSQL, and the account it
makes used through the API of an app on the same database, with sign-up closed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lehnz.app import create_app
from tests.conftest import make_settings
from tests.factories import DOMAIN, assert_error


@dataclass
class Database:
    """Where the command and the app meet: a data directory, and PostgreSQL's URL if any."""

    data_dir: Path
    url: str | None

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LEHNZ_")}
        env = {**clean, **({"LEHNZ_DATABASE_URL": self.url} if self.url else {})}
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "lehnz",
                "org",
                "create",
                *args,
                "--data-dir",
                str(self.data_dir),
            ],
            input=stdin,
            # No input: an empty pipe, not a terminal, and nothing to read.
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    def closed_app(self) -> TestClient:
        return TestClient(create_app(make_settings(self.data_dir, self.url, registration="closed")))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_database_url")
    yield Database(tmp_path / "data", url)


def _printed(output: str) -> dict[str, str]:
    return dict(re.findall(r"^(Organisation|Developer|E-mail|Password) +(\S+)", output, re.M))


def _login(client: TestClient, email: str, password: str) -> dict:
    response = client.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    data: dict = response.json()["data"]
    return data


def test_a_generated_password_is_printed_once_and_logs_in(database: Database) -> None:
    result = database.run("--name", "Corner Shop", "--email", "Owner@Corner.example")
    assert result.returncode == 0, result.stderr
    printed = _printed(result.stdout)
    assert printed["Organisation"].startswith("org_")
    assert printed["Developer"].startswith("dev_")
    assert printed["E-mail"] == "owner@corner.example"
    assert len(printed["Password"]) >= 20
    assert "shown only this once" in result.stdout
    if database.url is not None:
        # No token is issued, so nothing needs a JWT secret on disk.
        assert not (database.data_dir / "secret_key").exists()

    with database.closed_app() as client:
        login = _login(client, "owner@corner.example", printed["Password"])
        keys = client.post(
            "/api/v1/keys",
            headers={**DOMAIN, "Authorization": f"Bearer {login['token']}"},
            json={"type": "secret", "name": "backend"},
        )
        assert keys.status_code == 201, keys.text
        item = client.get(
            "/api/v1/items/nothing", headers={**DOMAIN, "X-API-KEY": keys.json()["data"]["key"]}
        )
        assert item.status_code == 404  # the key belongs to a real organisation
        refused = client.post(
            "/api/v1/auth/register",
            headers=DOMAIN,
            json={"email": "new@example.com", "password": "long enough", "organization_name": "N"},
        )
        body = assert_error(refused, 403, "registration is closed", "lehnz org create")
        assert body["code"] == "registration_closed"


def test_a_password_from_stdin_is_used_and_the_rules_of_sign_up_hold(database: Database) -> None:
    created = database.run(
        "--name", "Shop", "--email", "dev@shop.example", "--password-stdin", stdin="my own pass\n"
    )
    assert created.returncode == 0, created.stderr
    assert "Password" not in created.stdout
    assert _printed(created.stdout)["Organisation"].startswith("org_")

    again = database.run(
        "--name", "Other", "--email", "DEV@shop.example", "--password-stdin", stdin="another one\n"
    )
    assert again.returncode == 1
    assert "already registered" in again.stderr

    with database.closed_app() as client:
        # The password is the line without its newline, and the refused run changed nothing.
        login = _login(client, "dev@shop.example", "my own pass")
        settings = client.get(
            "/api/v1/settings/rate_limit",
            headers={**DOMAIN, "Authorization": f"Bearer {login['token']}"},
        )
        assert settings.status_code == 200
        wrong = client.post(
            "/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": "dev@shop.example", "password": "another one"},
        )
        assert_error(wrong, 401)


def test_a_short_password_a_bad_email_or_name_or_an_empty_stdin_is_refused(
    tmp_path: Path,
) -> None:
    database = Database(tmp_path, None)
    short = database.run(
        "--name", "Shop", "--email", "x@shop.example", "--password-stdin", stdin="1234567\n"
    )
    assert short.returncode == 1
    assert "password: must be at least 8 characters long" in short.stderr
    bad = database.run("--name", "", "--email", "not-an-email")
    assert bad.returncode == 1
    assert "--email: string should match pattern" in bad.stderr
    assert "--name: string should have at least 1 character" in bad.stderr
    empty = database.run("--name", "Shop", "--email", "a@b.example", "--password-stdin", stdin="")
    assert empty.returncode == 1
    assert "stdin held no password" in empty.stderr
    missing = database.run("--email", "a@b.example")
    assert missing.returncode == 2  # a usage error, from the option parser
    assert "--name" in missing.stderr
