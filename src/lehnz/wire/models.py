"""A trained model version, as ``lehnz.api.models`` answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ModelOut(BaseModel):
    id: str
    version: int
    serving: bool
    created_at: datetime
    trained_at: datetime | None
    artifact_bytes: int | None
    duration_seconds: float | None
    trained_on: dict[str, Any]
    validation: dict[str, Any]
    embedding_method: str | None
