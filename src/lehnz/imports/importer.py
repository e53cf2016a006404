"""The importer behind ``/api/v1/upload/*`` and ``lehnz import``: stream, validate, write.

Valid records are written in chunks of ``CHUNK_SIZE``, each chunk one transaction, so memory
stays flat (10,000 rows: a few MB, and a fraction of a second of SQLite's one writer; fewer,
larger commits rewrite each touched index page fewer times). Every rejected record is
counted and the first ``MAX_REPORTED`` are reported with their line.

The file is read twice. The first read writes nothing: it checks the file against every
``ReadLimits`` bound (size, record and field length, records, time) and, in strict mode,
validates every record. Only then does the second read write. Reading is deterministic, so
the second read cannot cross a bound the first did not: a file refused for any limit, or in
strict mode for any bad row, leaves the stored data as it was, on both databases, without one
long transaction holding SQLite's only writer for the whole file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from lehnz.catalog.models import ItemIn, UserIn
from lehnz.catalog.service import write_items, write_users
from lehnz.config import Settings
from lehnz.errors import ValidationFailed
from lehnz.events.log import event_row
from lehnz.events.models import EventIn
from lehnz.imports.plain_events import PlainEvents
from lehnz.imports.readers import (
    BadRecord,
    FileTooLarge,
    Format,
    ReadLimits,
    Record,
    UnreadableFile,
    detect_format,
    open_binary,
    read_records,
)
from lehnz.imports.rows import Kind, to_object
from lehnz.signals import Signal
from lehnz.store import Store
from lehnz.store import events as event_queries
from lehnz.store.types import utcnow
from lehnz.validation import NUL_REASON, describe, nul_paths

CHUNK_SIZE = 10_000
MAX_REPORTED = 100

_MODELS: dict[Kind, type[BaseModel]] = {"items": ItemIn, "users": UserIn, "events": EventIn}


@dataclass
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    kind: Kind
    format: Format
    rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[Rejection] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(Rejection(line, reason))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "format": self.format,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "rejected": self.rejected,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
            "errors_truncated": self.rejected > len(self.errors),
        }
        if self.kind == "events":
            data["duplicates"] = self.duplicates
            del data["updated"]
        return data


Progress = Callable[[int], None]


def read_limits(settings: Settings) -> ReadLimits:
    """The ``LEHNZ_MAX_*`` bounds on reading a file (the time limit is per call: uploads
    have one, ``lehnz import`` on the server's own machine has none)."""
    return ReadLimits(
        decompressed_bytes=settings.resolved_max_decompressed_bytes(),
        record_chars=settings.max_record_chars,
        field_chars=settings.max_field_chars,
        records=settings.max_upload_records,
    )


class Importer:
    def __init__(
        self,
        store: Store,
        events_appended: Signal | None = None,
        catalog_changed: Signal | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        self._store = store
        self._limits = limits or ReadLimits()
        self._events_appended = events_appended or Signal()
        self._catalog_changed = catalog_changed or Signal()

    def run(
        self,
        *,
        kind: Kind,
        organization_id: str,
        raw: IO[bytes],
        filename: str | None,
        strict: bool = False,
        progress: Progress | None = None,
        timeout_seconds: float | None = None,
    ) -> ImportReport:
        """Import ``raw`` (seekable; gzip or not). ``UnreadableFile`` (``FileTooLarge`` for a
        size or time limit) if it cannot be read within the limits, having written nothing;
        in strict mode ``ValidationFailed`` (with the report) if any record is bad.
        ``timeout_seconds`` bounds the checking read, where a hostile file spends its time;
        the writing read then handles only what was checked."""
        binary = open_binary(raw)
        file_format = detect_format(filename, binary)
        checking = replace(self._limits, seconds=timeout_seconds)
        if strict:
            check = ImportReport(kind, file_format)
            for _ in self._valid(kind, binary, file_format, check, checking):
                pass
            if check.rejected:
                raise _strict_failure(check)
        else:
            for _ in read_records(binary, file_format, checking):
                pass
        raw.seek(0)
        binary = open_binary(raw)
        report = ImportReport(kind, file_format)
        chunk: list[Any] = []
        for obj in self._valid(kind, binary, file_format, report, self._limits):
            chunk.append(obj)
            if len(chunk) >= CHUNK_SIZE:
                self._write(kind, organization_id, chunk, report)
                chunk = []
                if progress:
                    progress(raw.tell())
        if chunk:
            self._write(kind, organization_id, chunk, report)
        if progress:
            progress(raw.tell())
        return report

    def _valid(
        self,
        kind: Kind,
        binary: IO[bytes],
        file_format: Format,
        report: ImportReport,
        limits: ReadLimits,
    ) -> Iterator[Any]:
        model = _MODELS[kind]
        # CSV events: the plain path for the rows it is sure of (see ``plain_events``).
        plain = PlainEvents() if kind == "events" and file_format == "csv" else None
        for record in read_records(binary, file_format, limits):
            report.rows += 1
            if isinstance(record, BadRecord):
                report.reject(record.line, record.reason)
                continue
            if plain is not None:
                if report.rows % CHUNK_SIZE == 0:
                    plain.refresh()
                row = plain.row(record.values)
                if row is not None:
                    yield row
                    continue
            yield from _validated(model, kind, record, file_format, report)

    def _write(
        self, kind: Kind, organization_id: str, chunk: list[Any], report: ImportReport
    ) -> None:
        if kind == "events":
            rows = _event_rows(organization_id, chunk)
        with self._store.write() as connection:
            if kind == "events":
                stored = event_queries.append(
                    connection, organization_id=organization_id, rows=rows
                )
                report.imported += stored
                report.duplicates += len(chunk) - stored
            else:
                writer = write_items if kind == "items" else write_users
                result = writer(connection, organization_id=organization_id, batch=chunk)
                report.imported += result.created
                report.updated += result.updated
        if kind == "events":
            self._events_appended.fire()
        elif kind == "items":
            self._catalog_changed.fire()


def _event_rows(organization_id: str, chunk: list[Any]) -> list[dict[str, Any]]:
    """Log rows of a chunk of validated events (``EventIn``) and plain rows (dicts),
    received now; as ``append_events`` makes them."""
    received_at = utcnow()
    rows = []
    for event in chunk:
        if isinstance(event, EventIn):
            rows.append(event_row(organization_id, event, received_at))
        else:
            event["organization_id"] = organization_id
            event["received_at"] = received_at
            if event["occurred_at"] is None:
                event["occurred_at"] = received_at
            rows.append(event)
    return rows


def _validated(
    model: type[BaseModel], kind: Kind, record: Record, file_format: Format, report: ImportReport
) -> Iterator[Any]:
    try:
        obj = to_object(kind, record.values, from_csv=file_format == "csv")
        validated = model.model_validate(obj)
    except ValidationError as exc:
        report.reject(record.line, "; ".join(describe(exc, prefix="")))
        return
    except (ArithmeticError, ValueError, RecursionError) as exc:
        # A validator that raised past pydantic (an out-of-range number overflowing a
        # conversion) is still one bad row: it must never fail the whole file with a 500.
        report.reject(record.line, f"invalid value: {exc}")
        return
    nul = nul_paths(obj, "")  # PostgreSQL cannot store U+0000: refuse it on both databases
    if nul:
        report.reject(record.line, "; ".join(f"{path}: {NUL_REASON}" for path in nul))
        return
    yield validated


def _strict_failure(report: ImportReport) -> ValidationFailed:
    shown = [f"line {e.line}: {e.reason}" for e in report.errors]
    error = ValidationFailed(
        shown,
        message=f"{report.rejected} of {report.rows} rows invalid; strict mode stored nothing",
    )
    error.extra = {"data": report.as_dict()}
    return error


__all__ = [
    "FileTooLarge",
    "ImportReport",
    "Importer",
    "ReadLimits",
    "UnreadableFile",
    "read_limits",
]
