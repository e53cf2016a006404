"""The demo organisation ``lehnz serve --demo`` sets up, so a newcomer has keys at once.

Keys are stored only as hashes, so they cannot be shown again after a restart: each start
revokes the previous demo keys, issues fresh ones, and sets a fresh dashboard password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from lehnz.auth.passwords import hash_password
from lehnz.runtime import Runtime
from lehnz.store import accounts as account_queries
from lehnz.store import api_keys as key_queries
from lehnz.store.types import utcnow

DEMO_EMAIL = "demo@lehnz.local"
DEMO_ORGANIZATION = "Demo Store"
DEMO_KEY_NAME = "demo"


@dataclass(frozen=True)
class DemoCredentials:
    organization_id: str
    email: str
    password: str
    publishable_key: str
    secret_key: str


def prepare_demo(runtime: Runtime) -> DemoCredentials:
    password = secrets.token_urlsafe(12)
    with runtime.store.read() as connection:
        developer = account_queries.find_developer_by_email(connection, DEMO_EMAIL)
    if developer is None:
        registration = runtime.accounts.register(
            email=DEMO_EMAIL, password=password, organization_name=DEMO_ORGANIZATION
        )
        organization_id = registration.organization_id
    else:
        organization_id = developer.organization_id
        with runtime.store.write() as connection:
            account_queries.set_password_hash(
                connection, developer_id=developer.id, password_hash=hash_password(password)
            )
            key_queries.revoke_by_name(
                connection, organization_id=organization_id, name=DEMO_KEY_NAME, revoked_at=utcnow()
            )
    publishable = runtime.keys.create(
        organization_id=organization_id, key_type="publishable", name=DEMO_KEY_NAME
    )
    secret = runtime.keys.create(
        organization_id=organization_id, key_type="secret", name=DEMO_KEY_NAME
    )
    runtime.verifier.invalidate()
    return DemoCredentials(
        organization_id=organization_id,
        email=DEMO_EMAIL,
        password=password,
        publishable_key=publishable.key,
        secret_key=secret.key,
    )
