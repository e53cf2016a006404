"""Request and response bodies of the account and key paths."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lehnz.auth.passwords import MIN_PASSWORD_LENGTH


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    # The length is checked by the accounts service (its message names the rule); the
    # document states it too.
    password: str = Field(max_length=1024, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})
    organization_name: str = Field(min_length=1, max_length=200)


class RegisterResult(BaseModel):
    developer_id: str
    organization_id: str
    token: str


class LoginRequest(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class LoginResult(BaseModel):
    token: str
    expires_at: datetime


class CreateKeyRequest(BaseModel):
    type: Literal["publishable", "secret"]
    name: str = Field(default="", max_length=200)


class RotateKeyRequest(BaseModel):
    grace_seconds: int = Field(default=0, ge=0, le=30 * 24 * 3600)


class IssuedKeyOut(BaseModel):
    id: str
    type: str
    name: str
    key: str = Field(description="The whole key. Shown only in this answer; store it now.")
    created_at: datetime


class KeyOut(BaseModel):
    id: str
    type: str
    name: str
    prefix: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = Field(
        default=None, description="Set while a rotated key is in its grace period."
    )


class KeyList(BaseModel):
    keys: list[KeyOut]
