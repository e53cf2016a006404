"""What a handler needs, as named types: the credential a path takes reads off its signature.

``PublishableKey``, ``SecretKey`` and ``Developer`` match the table in API-CONTRACT.md. The
security schemes also put each path's credential into the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lehnz.api.client_ip import client_ip
from lehnz.auth.tokens import DeveloperIdentity, verify_token
from lehnz.errors import DomainRequired, InvalidToken, RateLimited, WrongKeyType
from lehnz.ratelimit import Decision
from lehnz.runtime import Runtime
from lehnz.store.api_keys import ApiKeyRecord

DOMAIN = "commerce"


# The cheap dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in its
# thread pool, a hand-over to another thread and back for a line of work.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_domain(
    x_domain: Annotated[
        str | None, Header(alias="X-Domain", description="Must be `commerce`.")
    ] = None,
) -> None:
    check_domain(x_domain)


def check_domain(x_domain: str | None) -> None:
    if x_domain is None:
        raise DomainRequired("Missing X-Domain header; send 'X-Domain: commerce'")
    if x_domain != DOMAIN:
        raise DomainRequired(f"Unsupported X-Domain '{x_domain}'; send 'X-Domain: commerce'")


_publishable_scheme = APIKeyHeader(
    name="X-API-KEY",
    scheme_name="PublishableKey",
    description="A publishable key, `lehnz_pk_…`; safe in browsers.",
    auto_error=False,
)
_secret_scheme = APIKeyHeader(
    name="X-API-KEY",
    scheme_name="SecretKey",
    description="A secret key, `lehnz_sk_…`; server side only.",
    auto_error=False,
)
_developer_scheme = HTTPBearer(
    scheme_name="DeveloperToken",
    description="A developer JWT from `POST /api/v1/auth/login`.",
    auto_error=False,
)


def _apply(request: Request, decision: Decision | None, message: str) -> None:
    """Leave the decision for the headers middleware; refuse if the window is spent."""
    if decision is None:
        return  # the limiter's store is unreachable and LEHNZ_RATE_LIMIT_FAILURE=open
    request.state.rate_limit = decision  # written into the answer by the headers middleware
    if not decision.allowed:
        raise RateLimited(f"{message}; retry in {decision.reset_seconds} s")


def limit_by_client_ip(runtime: RuntimeDep, request: Request) -> None:
    """The auth endpoints' own window, per client address."""
    peer = request.client.host if request.client else None
    address = client_ip(
        peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_networks()
    )
    decision = runtime.rate_limits.charge_auth(address)
    _apply(request, decision, "Too many sign-up and log-in attempts from this address")


def _charge_organization(runtime: Runtime, request: Request, record: ApiKeyRecord) -> None:
    decision = runtime.rate_limits.charge_organization(record.organization_id)
    _apply(request, decision, "This organisation's request limit is reached")


def _admit(runtime: Runtime, request: Request, record: ApiKeyRecord, key_type: str) -> ApiKeyRecord:
    if record.type != key_type:
        raise WrongKeyType(_WRONG_TYPE[key_type])
    _charge_organization(runtime, request, record)
    return record


def _check_key(runtime: Runtime, request: Request, key: str | None, key_type: str) -> ApiKeyRecord:
    return _admit(runtime, request, runtime.verifier.verify(key), key_type)


async def _checked_key(
    runtime: Runtime, request: Request, key: str | None, key_type: str
) -> ApiKeyRecord:
    """The key's record, its type checked and its organisation's request counted. On the
    event loop when both answer from memory (the usual case: keys and limits are cached for
    seconds), otherwise on a request thread, since a look-up or Redis would block the loop:
    a hand-over to a thread and back costs more than the check itself."""
    record = runtime.verifier.verify_from_memory(key)
    if record is not None and runtime.rate_limits.counts_in_memory(record.organization_id):
        return _admit(runtime, request, record, key_type)
    return await run_in_threadpool(_check_key, runtime, request, key, key_type)


_WRONG_TYPE = {
    "publishable": "This endpoint takes a publishable key (lehnz_pk_...), not a secret key; "
    "never send a secret key from a browser",
    "secret": "This endpoint takes a secret key (lehnz_sk_...), not a publishable key",
}


async def require_publishable_key(
    runtime: RuntimeDep,
    request: Request,
    key: Annotated[str | None, Security(_publishable_scheme)],
) -> ApiKeyRecord:
    return await _checked_key(runtime, request, key, "publishable")


async def require_publishable_request(
    request: Request, key: Annotated[str | None, Security(_publishable_scheme)]
) -> ApiKeyRecord:
    """``require_domain`` and ``require_publishable_key`` as one dependency, for the
    recommendation endpoints: FastAPI's solving of each dependency (four a request, with the
    runtime's) was a tenth of an answer's CPU. The same checks in the same order: the domain,
    then the key, then the organisation's limit."""
    check_domain(request.headers.get("x-domain"))
    return await _checked_key(request.app.state.runtime, request, key, "publishable")


async def require_secret_key(
    runtime: RuntimeDep, request: Request, key: Annotated[str | None, Security(_secret_scheme)]
) -> ApiKeyRecord:
    return await _checked_key(runtime, request, key, "secret")


def require_developer(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_developer_scheme)],
) -> DeveloperIdentity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidToken("Missing 'Authorization: Bearer <developer token>' header")
    return verify_token(credentials.credentials, secret=runtime.jwt_secret)


PublishableKey = Annotated[ApiKeyRecord, Depends(require_publishable_key)]
#: The domain and a publishable key; the routes using it take no ``require_domain``.
PublishableRequest = Annotated[ApiKeyRecord, Depends(require_publishable_request)]
SecretKey = Annotated[ApiKeyRecord, Depends(require_secret_key)]
Developer = Annotated[DeveloperIdentity, Depends(require_developer)]
