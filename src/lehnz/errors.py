"""Every error lehnz answers with, in one catalogue.

The tree::

    LehnzError                      500 internal_error
    ├── BadRequest                  400 bad_request
    │   ├── ValidationFailed        400 validation_error   (names each field and index)
    │   └── DomainRequired          400 invalid_domain     (X-Domain missing or wrong)
    ├── Unauthorized                401 unauthorized
    │   ├── InvalidApiKey           401 invalid_api_key
    │   └── InvalidToken            401 invalid_token
    ├── Forbidden                   403 forbidden
    │   ├── WrongKeyType            403 wrong_key_type
    │   └── RegistrationClosed      403 registration_closed
    ├── NotFound                    404 not_found
    ├── MethodNotAllowed            405 method_not_allowed
    ├── RequestTimeout              408 request_timeout
    ├── Conflict                    409 conflict
    ├── PayloadTooLarge             413 payload_too_large
    ├── UnsupportedMediaType        415 unsupported_media_type
    ├── RateLimited                 429 rate_limited
    └── ServiceUnavailable          503 service_unavailable

Services, the store and the engines raise these; they never mention HTTP themselves beyond
the status each class carries. One handler in ``lehnz.api.envelope`` renders them as
``{"success": false, "message": ..., "error": ..., "code": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping


class LehnzError(Exception):
    status_code = 500
    code = "internal_error"
    default_message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.detail = detail or self.message
        self.headers = dict(headers or {})
        #: More fields for the error envelope, e.g. an import report under ``data``.
        self.extra: dict[str, object] = {}
        super().__init__(self.message)


class BadRequest(LehnzError):
    status_code = 400
    code = "bad_request"
    default_message = "Bad request"


class ValidationFailed(BadRequest):
    """One or more fields are invalid; ``problems`` lists them as ``path: reason``."""

    code = "validation_error"
    default_message = "Validation failed"

    def __init__(self, problems: list[str], *, message: str | None = None) -> None:
        self.problems = problems
        shown = "; ".join(problems[:20])
        more = len(problems) - 20
        if more > 0:
            shown += f"; and {more} more"
        super().__init__(message or f"Validation failed: {shown}", detail=shown)


class DomainRequired(BadRequest):
    code = "invalid_domain"
    default_message = "The X-Domain header is required and must be 'commerce'"


class Unauthorized(LehnzError):
    status_code = 401
    code = "unauthorized"
    default_message = "Unauthorized"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"
    default_message = "Missing or invalid X-API-KEY"


class InvalidToken(Unauthorized):
    code = "invalid_token"
    default_message = "Missing or invalid developer token"


class Forbidden(LehnzError):
    status_code = 403
    code = "forbidden"
    default_message = "Forbidden"


class WrongKeyType(Forbidden):
    code = "wrong_key_type"
    default_message = "Wrong key type for this endpoint"


class RegistrationClosed(Forbidden):
    """Sign-up is switched off (``LEHNZ_REGISTRATION=closed``): a code of its own, so a
    client can tell it from a wrong credential and send the person to the operator."""

    code = "registration_closed"
    default_message = (
        "Registration is closed on this server; an operator creates organisations with "
        "`lehnz org create`"
    )


class NotFound(LehnzError):
    status_code = 404
    code = "not_found"
    default_message = "Not found"


class MethodNotAllowed(LehnzError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "Method not allowed"


class RequestTimeout(LehnzError):
    """The request body stopped arriving (``LEHNZ_BODY_READ_TIMEOUT_SECONDS``)."""

    status_code = 408
    code = "request_timeout"
    default_message = "The request body was not received in time"


class Conflict(LehnzError):
    status_code = 409
    code = "conflict"
    default_message = "Conflict"


class PayloadTooLarge(LehnzError):
    status_code = 413
    code = "payload_too_large"
    default_message = "Request body too large"


class UnsupportedMediaType(LehnzError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "Unsupported content type"


class RateLimited(LehnzError):
    status_code = 429
    code = "rate_limited"
    default_message = "Rate limit exceeded"


class ServiceUnavailable(LehnzError):
    """Something the answer depends on cannot be reached for now; ``Retry-After`` says when
    to try again."""

    status_code = 503
    code = "service_unavailable"
    default_message = "Service temporarily unavailable"
