"""The work behind ``lehnz org create``: an organisation and its first developer, made by the
operator on the server, e.g. while ``LEHNZ_REGISTRATION=closed``.

It runs the sign-up form's own checks (``RegisterRequest``) and then the very function
``POST /api/v1/auth/register`` ends in, so an account made here is held to the same rules:
the same e-mail shape, password length and unique e-mail. It needs no JWT secret (no token is
issued), so on PostgreSQL it leaves no secret file behind.
"""

from __future__ import annotations

import secrets
from typing import TextIO

from pydantic import ValidationError

from lehnz.api.envelope import describe_validation_errors
from lehnz.api.schemas import RegisterRequest
from lehnz.auth.service import NewAccount, create_account
from lehnz.config import Settings
from lehnz.errors import ValidationFailed
from lehnz.store import open_store

#: The form's field names as the command spells them, so a message names what to fix.
_OPTIONS = {"email": "--email", "organization_name": "--name", "password": "password"}


def read_password(stream: TextIO) -> str:
    """The first line of ``stream`` without its line ending, as ``docker login
    --password-stdin`` reads it: ``echo "$PW" | ...`` and a file both work."""
    return stream.readline().removesuffix("\n").removesuffix("\r")


def generate_password() -> str:
    """24 URL-safe characters (144 random bits): typed rarely, since the developer changes
    nothing with it but logs in."""
    return secrets.token_urlsafe(18)


def create_organization(settings: Settings, *, name: str, email: str, password: str) -> NewAccount:
    """Check the form, migrate the database if needed, and create the account.

    Raises ``ValidationFailed`` (a bad e-mail, name or password) or ``Conflict`` (the e-mail
    is taken), with the messages the API gives.
    """
    try:
        form = RegisterRequest(email=email, password=password, organization_name=name)
    except ValidationError as exc:
        errors = [
            {**error, "loc": tuple(_OPTIONS.get(str(part), str(part)) for part in error["loc"])}
            for error in exc.errors()
        ]
        raise ValidationFailed(describe_validation_errors(errors)) from None
    store = open_store(settings.resolved_database_url())
    try:
        return create_account(
            store,
            email=form.email,
            password=form.password,
            organization_name=form.organization_name,
        )
    finally:
        store.close()
