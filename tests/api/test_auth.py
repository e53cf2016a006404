from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import create_engine, select

from lehnz.store.tables import developers
from tests.factories import DOMAIN, PASSWORD, assert_error, register


def test_register_creates_organization_and_developer_with_token(api):
    response = api.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={
            "email": "Founder@Shop.example",
            "password": "s3cret-enough",
            "organization_name": "Shop",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["organization_id"].startswith("org_")
    assert data["developer_id"].startswith("dev_")
    keys = api.get("/api/v1/keys", headers={**DOMAIN, "Authorization": f"Bearer {data['token']}"})
    assert keys.status_code == 200


def test_duplicate_email_is_409_whatever_its_case(api):
    account = register(api)
    response = api.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={"email": account.email.upper(), "password": PASSWORD, "organization_name": "Again"},
    )
    assert_error(response, 409, "already registered")


def test_password_under_eight_characters_is_400_naming_the_field(api):
    response = api.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={"email": "short@example.com", "password": "1234567", "organization_name": "S"},
    )
    assert_error(response, 400, "password", "8 characters")


def test_missing_fields_are_named(api):
    response = api.post("/api/v1/auth/register", headers=DOMAIN, json={"email": "x@example.com"})
    body = assert_error(response, 400, "password: field required", "organization_name")
    assert body["code"] == "validation_error"


def test_invalid_email_is_400(api):
    response = api.post(
        "/api/v1/auth/register",
        headers=DOMAIN,
        json={"email": "not-an-email", "password": PASSWORD, "organization_name": "S"},
    )
    assert_error(response, 400, "email")


def test_login_returns_token_and_expiry(api):
    account = register(api)
    response = api.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": account.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    expires = datetime.fromisoformat(data["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    headers = {**DOMAIN, "Authorization": f"Bearer {data['token']}"}
    assert api.get("/api/v1/keys", headers=headers).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(api):
    account = register(api)
    wrong_password = api.post(
        "/api/v1/auth/login", headers=DOMAIN, json={"email": account.email, "password": "nope-nope"}
    )
    unknown_email = api.post(
        "/api/v1/auth/login",
        headers=DOMAIN,
        json={"email": "nobody@example.com", "password": PASSWORD},
    )
    first = assert_error(wrong_password, 401)
    second = assert_error(unknown_email, 401)
    assert first == second


def test_expired_or_forged_tokens_are_401(api, settings):
    account = register(api)
    secret = settings.resolved_secret_key()
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {"sub": account.developer_id, "org": account.organization_id, "aud": "lehnz-dashboard"}
    expired = jwt.encode({**claims, "exp": int(past.timestamp())}, secret, algorithm="HS256")
    forged = jwt.encode(
        {**claims, "exp": int((past + timedelta(days=1)).timestamp())},
        "another-secret-of-sufficient-length-0000000",
        algorithm="HS256",
    )
    for token, fragment in [(expired, "expired"), (forged, "invalid"), ("garbage", "invalid")]:
        response = api.get("/api/v1/keys", headers={**DOMAIN, "Authorization": f"Bearer {token}"})
        assert_error(response, 401, fragment)


def test_passwords_are_stored_as_argon2_hashes(api, settings):
    account = register(api)
    engine = create_engine(settings.resolved_database_url())
    with engine.connect() as connection:
        stored = connection.execute(
            select(developers.c.password_hash).where(developers.c.email == account.email)
        ).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
