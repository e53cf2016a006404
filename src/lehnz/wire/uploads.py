"""Answers of the file uploads (``lehnz.api.uploads``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# The same as ``lehnz.imports.readers.Format`` (a test checks), written out so this module
# does not import the importer.
Format = Literal["csv", "json", "ndjson"]


class Rejection(BaseModel):
    line: int = Field(description="Where in the file the rejected row is.")
    reason: str


class ImportReport(BaseModel):
    """What an upload of items or users did."""

    kind: Literal["items", "users"]
    format: Format = Field(description="As detected from the file name or its content.")
    rows: int
    imported: int
    updated: int = Field(description="Of those imported, how many already existed.")
    rejected: int
    errors: list[Rejection] = Field(description="The first 100 rejected rows.")
    errors_truncated: bool = Field(description="More rows were rejected than listed.")


class EventImportReport(BaseModel):
    """What an upload of events did."""

    kind: Literal["events"]
    format: Format = Field(description="As detected from the file name or its content.")
    rows: int
    imported: int
    rejected: int
    errors: list[Rejection] = Field(description="The first 100 rejected rows.")
    errors_truncated: bool = Field(description="More rows were rejected than listed.")
    duplicates: int = Field(description="Events whose `event_id` was already stored.")
