"""The demo organisation ``lehnz serve --demo`` sets up: keys, a login, and real data.

Keys are stored only as hashes, so they cannot be shown again after a restart: each start
revokes the previous demo keys, issues fresh ones, and sets a fresh dashboard password. The
catalog and events (a sample of Online Retail) are imported on the first start only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib import resources

from lehnz.auth.passwords import hash_password
from lehnz.imports.rows import Kind
from lehnz.runtime import Runtime
from lehnz.store import accounts as account_queries
from lehnz.store import api_keys as key_queries
from lehnz.store import catalog as catalog_queries
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
    runtime.notices.publish("keys", organization_id)
    _load_demo_data(runtime, organization_id)
    return DemoCredentials(
        organization_id=organization_id,
        email=DEMO_EMAIL,
        password=password,
        publishable_key=publishable.key,
        secret_key=secret.key,
    )


def _load_demo_data(runtime: Runtime, organization_id: str) -> None:
    """Import the shipped sample of Online Retail (CC BY 4.0, see demo_data/NOTICE) once."""
    with runtime.store.read() as connection:
        if catalog_queries.count_items(connection, organization_id=organization_id):
            return
    data = resources.files("lehnz") / "demo_data"
    files: tuple[tuple[Kind, str], ...] = (("items", "items.csv.gz"), ("events", "events.csv.gz"))
    for kind, name in files:
        with (data / name).open("rb") as raw:
            runtime.importer.run(kind=kind, organization_id=organization_id, raw=raw, filename=name)
