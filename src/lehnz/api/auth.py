"""Registration and login (no credential)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from lehnz.api.deps import RuntimeDep
from lehnz.api.envelope import Envelope, ok
from lehnz.api.schemas import LoginRequest, LoginResult, RegisterRequest, RegisterResult
from lehnz.errors import RegistrationClosed

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


async def require_open_registration(runtime: RuntimeDep) -> None:
    """Refuse sign-up on a closed server, before the body is read, so any request gets the
    403 that says what to do. Checked here, not in the service: ``lehnz org create`` goes
    through the same service and is how organisations are made while sign-up is closed."""
    if runtime.settings.registration == "closed":
        raise RegistrationClosed()


@router.post(
    "/register",
    status_code=201,
    dependencies=[Depends(require_open_registration)],
    summary="Register a developer and their organisation",
    description="**Credential: none.** Creates the organisation and its first developer and "
    "returns a developer token. Duplicate email: 409. Password under 8 characters: 400. "
    "On a server with `LEHNZ_REGISTRATION=closed`: 403 `registration_closed` (an operator "
    "creates organisations with `lehnz org create`).",
)
def register(body: RegisterRequest, runtime: RuntimeDep) -> Envelope[RegisterResult]:
    registration = runtime.accounts.register(
        email=body.email, password=body.password, organization_name=body.organization_name
    )
    return ok(
        RegisterResult(
            developer_id=registration.developer_id,
            organization_id=registration.organization_id,
            token=registration.token,
        ),
        "Registered",
    )


@router.post(
    "/login",
    summary="Log in and get a developer token",
    description="**Credential: none.** Wrong email or password: 401 with the same message.",
)
def login(body: LoginRequest, runtime: RuntimeDep) -> Envelope[LoginResult]:
    token, expires_at = runtime.accounts.login(email=body.email, password=body.password)
    return ok(LoginResult(token=token, expires_at=expires_at), "Logged in")
