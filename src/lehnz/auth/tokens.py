"""Developer tokens: short-lived HS256 JWTs naming a developer and their organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from lehnz.errors import InvalidToken
from lehnz.store.types import utcnow

_ALGORITHM = "HS256"
_AUDIENCE = "lehnz-dashboard"


@dataclass(frozen=True, slots=True)
class DeveloperIdentity:
    developer_id: str
    organization_id: str


def issue_token(
    identity: DeveloperIdentity, *, secret: str, ttl_seconds: int
) -> tuple[str, datetime]:
    issued = utcnow()
    expires = issued + timedelta(seconds=ttl_seconds)
    claims = {
        "sub": identity.developer_id,
        "org": identity.organization_id,
        "aud": _AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM), expires.replace(microsecond=0)


def verify_token(token: str, *, secret: str) -> DeveloperIdentity:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "org", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Developer token has expired; log in again") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken() from exc
    return DeveloperIdentity(developer_id=str(claims["sub"]), organization_id=str(claims["org"]))
