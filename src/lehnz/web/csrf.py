"""CSRF protection for the dashboard's forms: a token that only a page of ours can know.

Each browser holds a random value in an ``HttpOnly``, ``SameSite=Strict`` cookie; every form
(and every script's ``fetch``) sends back an HMAC of it under the server's secret. Another
site can neither read the cookie nor compute the HMAC, so a forged post is refused. Tied to
the cookie rather than the session, it protects the log-in and sign-up forms too; the value
is replaced at log-in so a value planted before it is worth nothing after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "lehnz_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def token_for(cookie_value: str, *, secret: str) -> str:
    """The token the forms of a page carry, for this browser's cookie."""
    return hmac.new(secret.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()


def is_valid(cookie_value: str | None, submitted: str | None, *, secret: str) -> bool:
    if not cookie_value or not submitted or len(submitted) > 128:
        return False
    return hmac.compare_digest(token_for(cookie_value, secret=secret), submitted)
