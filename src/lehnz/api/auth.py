"""Registration and login (no credential)."""

from __future__ import annotations

from fastapi import APIRouter

from lehnz.api.deps import RuntimeDep
from lehnz.api.envelope import ERROR_RESPONSES, Envelope, ok
from lehnz.api.schemas import LoginRequest, LoginResult, RegisterRequest, RegisterResult

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


@router.post(
    "/register",
    status_code=201,
    summary="Register a developer and their organisation",
    description="**Credential: none.** Creates the organisation and its first developer and "
    "returns a developer token. Duplicate email: 409. Password under 8 characters: 400.",
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
