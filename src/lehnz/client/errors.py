"""The Python client's exceptions: one class per kind of answer, all under ``LehnzError``.

These are the client's, apart from the server's own ``lehnz.errors`` (which the server raises
and renders as the error envelope); the client reads that envelope back into these.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "LehnzError",
    "MissingKeyError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
]


class LehnzError(Exception):
    """Anything that went wrong with a request.

    ``status`` is the HTTP status (``None`` when no answer came), ``code`` the envelope's
    stable code (``validation_error``, ``rate_limited``, ...), ``message`` its human-readable
    message, ``detail`` its ``error`` field, ``headers`` the answer's headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})

    def __str__(self) -> str:
        parts = [str(self.status)] if self.status is not None else []
        if self.code:
            parts.append(self.code)
        prefix = f"[{' '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}"


class MissingKeyError(LehnzError):
    """The method needs a key the client was not given; raised before anything is sent."""


class APIStatusError(LehnzError):
    """The server answered with an error status (4xx or 5xx)."""

    status: int


class BadRequestError(APIStatusError):
    """400: a field is missing or invalid (the message names it), or a bad ``X-Domain``."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, malformed, unknown, revoked or rotated out."""


class PermissionDeniedError(APIStatusError):
    """403: a secret key on a publishable path, or the reverse."""


class NotFoundError(APIStatusError):
    """404: an unknown item, user or path."""


class ConflictError(APIStatusError):
    """409: for instance an e-mail address already registered."""


class PayloadTooLargeError(APIStatusError):
    """413: the body is over the path's limit (events: 5 MB)."""


class RateLimitError(APIStatusError):
    """429: the organisation's request window is spent; ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, detail=detail, headers=headers)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server failed (or, 503, cannot count requests right now)."""


class APIConnectionError(LehnzError):
    """No answer: the server could not be reached or the connection broke."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's ``timeout``."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}


def error_class(status: int) -> type[APIStatusError]:
    """The class for an error status; ``APIStatusError`` for the uncatalogued ones (405,
    408, 415, ...)."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
