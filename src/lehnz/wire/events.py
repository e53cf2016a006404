"""The answer of event ingest (``lehnz.api.events``)."""

from __future__ import annotations

from pydantic import BaseModel


class Accepted(BaseModel):
    accepted: int
