"""Registering developers, logging them in, and managing their organisation's API keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from lehnz.auth.api_keys import KeyType, generate_key
from lehnz.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from lehnz.auth.tokens import DeveloperIdentity, issue_token
from lehnz.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from lehnz.notices import Notices
from lehnz.store import Store
from lehnz.store import accounts as account_queries
from lehnz.store import api_keys as key_queries
from lehnz.store.api_keys import ApiKeyRecord
from lehnz.store.types import utcnow


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class NewAccount:
    developer_id: str
    organization_id: str
    email: str


@dataclass(frozen=True, slots=True)
class Registration:
    developer_id: str
    organization_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    key: str


class AccountService:
    def __init__(self, store: Store, *, secret: str, token_ttl_seconds: int) -> None:
        self._store = store
        self._secret = secret
        self._ttl = token_ttl_seconds

    def register(self, *, email: str, password: str, organization_name: str) -> Registration:
        """Create an organisation and its first developer; ``Conflict`` if the e-mail is taken."""
        account = create_account(
            self._store, email=email, password=password, organization_name=organization_name
        )
        identity = DeveloperIdentity(account.developer_id, account.organization_id)
        token, expires_at = issue_token(identity, secret=self._secret, ttl_seconds=self._ttl)
        return Registration(account.developer_id, account.organization_id, token, expires_at)

    def login(self, *, email: str, password: str) -> tuple[str, datetime]:
        """A fresh token; the same ``Unauthorized`` for an unknown e-mail and a wrong password."""
        identity = self.authenticate(email=email, password=password)
        return issue_token(identity, secret=self._secret, ttl_seconds=self._ttl)

    def authenticate(self, *, email: str, password: str) -> DeveloperIdentity:
        """Who these credentials belong to, for the API's token and the dashboard's session
        alike; the same ``Unauthorized`` for an unknown e-mail and a wrong password."""
        with self._store.read() as connection:
            developer = account_queries.find_developer_by_email(connection, normalise_email(email))
        if not verify_password(developer.password_hash if developer else None, password):
            raise Unauthorized("Invalid email or password")
        assert developer is not None
        return DeveloperIdentity(developer.id, developer.organization_id)


class KeyService:
    def __init__(self, store: Store, notices: Notices) -> None:
        self._store = store
        self._notices = notices

    def create(self, *, organization_id: str, key_type: KeyType, name: str) -> IssuedKey:
        with self._store.write() as connection:
            return self._insert(connection, organization_id, key_type, name)

    def list(self, *, organization_id: str) -> list[ApiKeyRecord]:
        with self._store.read() as connection:
            return key_queries.list_usable(
                connection, organization_id=organization_id, now=utcnow()
            )

    def rotate(self, *, organization_id: str, key_id: str, grace_seconds: int = 0) -> IssuedKey:
        """A new key of the same type and name; the old one stops working now, or after
        ``grace_seconds`` so that deployed clients can be switched without downtime."""
        now = utcnow()
        with self._store.write() as connection:
            old = self._usable(connection, organization_id, key_id)
            issued = self._insert(connection, organization_id, key_type_of(old), old.name)
            if grace_seconds > 0:
                key_queries.expire(
                    connection,
                    organization_id=organization_id,
                    key_id=key_id,
                    expires_at=now + timedelta(seconds=grace_seconds),
                )
            else:
                key_queries.revoke(
                    connection, organization_id=organization_id, key_id=key_id, revoked_at=now
                )
        self._notices.publish("keys", organization_id)
        return issued

    def revoke(self, *, organization_id: str, key_id: str) -> None:
        with self._store.write() as connection:
            self._usable(connection, organization_id, key_id)
            key_queries.revoke(
                connection, organization_id=organization_id, key_id=key_id, revoked_at=utcnow()
            )
        self._notices.publish("keys", organization_id)

    def _usable(self, connection: Connection, organization_id: str, key_id: str) -> ApiKeyRecord:
        record = key_queries.find_by_id(
            connection,
            organization_id=organization_id,
            key_id=key_id,
        )
        if record is None or record.revoked_at is not None:
            raise NotFound(f"No API key with id '{key_id}'")
        if record.expires_at is not None and record.expires_at <= utcnow():
            raise NotFound(f"No API key with id '{key_id}'")
        return record

    def _insert(
        self, connection: Connection, organization_id: str, key_type: KeyType, name: str
    ) -> IssuedKey:
        new = generate_key(key_type)
        record = ApiKeyRecord(
            id=new_id("key"),
            organization_id=organization_id,
            type=key_type,
            name=name,
            key_hash=new.key_hash,
            prefix=new.prefix,
            last4=new.last4,
            created_at=utcnow(),
            last_used_at=None,
            revoked_at=None,
            expires_at=None,
        )
        key_queries.insert_api_key(connection, record)
        return IssuedKey(record=record, key=new.key)


def create_account(
    store: Store, *, email: str, password: str, organization_name: str
) -> NewAccount:
    """An organisation and its first developer, for sign-up and for ``lehnz org create``
    alike (which needs no token, so no JWT secret): one set of rules for both.

    ``Conflict`` if the e-mail is taken, ``ValidationFailed`` for a short password.
    """
    email = normalise_email(email)
    check_password(password)
    now = utcnow()
    organization_id = new_id("org")
    developer_id = new_id("dev")
    password_hash = hash_password(password)
    try:
        with store.write() as connection:
            if account_queries.find_developer_by_email(connection, email):
                raise Conflict("A developer with this email is already registered")
            account_queries.insert_organization(
                connection, organization_id=organization_id, name=organization_name, created_at=now
            )
            account_queries.insert_developer(
                connection,
                developer_id=developer_id,
                organization_id=organization_id,
                email=email,
                password_hash=password_hash,
                created_at=now,
            )
    except Conflict:
        # Also raised by the store when a concurrent registration won the race.
        raise Conflict("A developer with this email is already registered") from None
    return NewAccount(developer_id=developer_id, organization_id=organization_id, email=email)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            [f"password: must be at least {MIN_PASSWORD_LENGTH} characters long"]
        )


def key_type_of(record: ApiKeyRecord) -> KeyType:
    return "secret" if record.type == "secret" else "publishable"
