"""No password, API key or developer token reaches the server's log: a real ``lehnz serve``
is used the way a store would, with mistakes included, and its whole output searched."""

from __future__ import annotations

import httpx

from tests.factories import DOMAIN, PASSWORD, key_headers, tenant
from tests.processes import lehnz_serve


def test_the_log_of_a_real_server_holds_no_secret(tmp_path):
    with (
        lehnz_serve(tmp_path, {"LEHNZ_TRAIN_CHECK_SECONDS": "3600"}) as (base, server),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        org = tenant(client)
        event = {"user_id": "u", "event_name": "view", "item_id": "i"}
        client.post("/api/v1/events/ingest", headers=org.publishable_headers, json=event)
        client.post("/recommend", headers=org.publishable_headers, json={"user_id": "u"})
        client.post("/api/v1/items", headers=org.secret_headers, json={"item_id": "i"})
        # Mistakes a developer makes: a wrong password, a key of the wrong type, a key
        # with one character changed, a token where a key belongs.
        client.post(
            "/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": org.account.email, "password": PASSWORD + "!"},
        )
        client.post("/api/v1/items", headers=org.publishable_headers, json={"item_id": "i"})
        client.get("/api/v1/items/i", headers=key_headers(org.secret[:-1] + "x"))
        client.get("/api/v1/items/i", headers=org.account.headers)
        client.post("/recommend", headers={**DOMAIN, "X-API-KEY": f"Bearer {org.publishable}"})
        login = client.post(
            "/api/v1/auth/login",
            headers=DOMAIN,
            json={"email": org.account.email, "password": PASSWORD},
        )
        assert login.status_code == 200, login.text
        token = login.json()["data"]["token"]
    log = server.log_path.read_text(errors="replace")
    assert "POST /api/v1/auth/login" in log  # the access log is there and was searched
    secrets = {
        "password": PASSWORD,
        "publishable key": org.publishable,
        "secret key": org.secret,
        "secret key's random part": org.secret.removeprefix("lehnz_sk_"),
        "registration token": org.account.token,
        "login token": token,
        "signing key": (tmp_path / "data" / "secret_key").read_text().strip(),
    }
    for name, value in secrets.items():
        assert value not in log, f"the {name} is in the server log"
