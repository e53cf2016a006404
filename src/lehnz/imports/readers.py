"""Reading records out of a file one at a time, each with the line it starts on.

Files are streamed: memory stays flat however large the file, which is why JSON arrays are
read with an incremental decoder rather than ``json.load``, and lines are read with a bound
rather than whole. Every reader stays within ``ReadLimits`` (see ``lehnz.imports.limits``).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

from lehnz.imports.json_array import json_array_values
from lehnz.imports.jsonvalues import (
    DECODE_ERRORS,
    DECODER,
    decode_error_reason,
    may_have_a_problem,
    problem,
)
from lehnz.imports.limits import BoundedStream, FileTooLarge, ReadLimits, UnreadableFile

Format = Literal["csv", "json", "ndjson"]

_GZIP_MAGIC = b"\x1f\x8b"
# The csv module's own field limit is process-wide; the bound that matters is
# ReadLimits.record_chars, checked on the lines the CSV reader is fed (see _Lines).
csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadRecord:
    line: int
    reason: str


def open_binary(raw: IO[bytes]) -> IO[bytes]:
    """``raw`` itself, or a gunzipping view of it when it starts with the gzip magic."""
    head = raw.read(2)
    raw.seek(0)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def detect_format(filename: str | None, binary: IO[bytes]) -> Format:
    """From the file name (``.csv``, ``.json``, ``.ndjson``/``.jsonl``, each maybe ``.gz``),
    else from the first character: ``[`` a JSON array, ``{`` NDJSON, anything else CSV."""
    name = (filename or "").lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if name.endswith(".json"):
        return "json" if _first_char(binary) != "{" else "ndjson"
    first = _first_char(binary)
    if first == "[":
        return "json"
    if first == "{":
        return "ndjson"
    return "csv"


def _first_char(binary: IO[bytes]) -> str:
    if not binary.seekable():
        raise UnreadableFile("the file cannot be re-read")
    position = binary.tell()
    try:
        head = binary.read(4096)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(f"cannot read the file: {exc}") from exc
    binary.seek(position)
    return head.decode("utf-8-sig", errors="ignore").lstrip()[:1]


def read_records(
    binary: IO[bytes], file_format: Format, limits: ReadLimits | None = None
) -> Iterator[Record | BadRecord]:
    """The records of ``binary`` (already gunzipped), read within ``limits``: raises
    ``FileTooLarge`` or ``UnreadableFile`` the moment the file crosses one."""
    limits = limits or ReadLimits()
    bounded = io.BufferedReader(BoundedStream(binary, limits))
    text = io.TextIOWrapper(bounded, encoding="utf-8-sig", errors="strict", newline="")
    try:
        if file_format == "csv":
            yield from _csv_records(text, limits)
        elif file_format == "ndjson":
            yield from _ndjson_records(text, limits)
        else:
            yield from _json_array_records(text, limits)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is not UTF-8 text ({exc.reason})") from exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"cannot read the file: {exc}") from exc
    finally:
        text.detach()


class _Lines:
    """The lines of ``text``, each read with a bound, counted against ``limits.records``;
    raises once the record being read (one line, or a CSV record's several) grows longer
    than ``limits.record_chars``, before it is ever held whole."""

    def __init__(self, text: IO[str], limits: ReadLimits) -> None:
        self._readline = text.readline
        self._limits = limits
        self._pending = 0
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        limits = self._limits
        line = self._readline(limits.record_chars + 2)
        if not line:
            raise StopIteration
        self.count += 1
        if self.count > limits.records:
            raise limits.too_many_records(self.count)
        self._pending += len(line)
        if self._pending > limits.record_chars:  # the line ending is not part of the record
            ending = len(line) - len(line.rstrip("\r\n"))
            if self._pending - ending > limits.record_chars:
                raise limits.record_too_long(self.count)
        return line

    def record_done(self) -> None:
        self._pending = 0


def _csv_records(text: IO[str], limits: ReadLimits) -> Iterator[Record | BadRecord]:
    lines = _Lines(text, limits)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from exc
    lines.record_done()
    header = [column.strip() for column in header]
    if not any(header):
        raise UnreadableFile("line 1: the CSV header row is empty")
    _check_fields(header, limits, 1)
    names = tuple(header)
    named = all(names)  # then a record is dict(zip(names, row)), the fast way
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.record_done()
            yield BadRecord(previous_end + 1, f"malformed CSV: {exc}")
            previous_end = reader.line_num
            continue
        lines.record_done()
        line, previous_end = previous_end + 1, reader.line_num
        if not "".join(row).strip():  # blank cells only (or none): not a record
            continue
        _check_fields(row, limits, line)
        if len(row) != len(names):
            yield BadRecord(line, f"expected {len(names)} columns, got {len(row)}")
            continue
        if named:
            yield Record(line, dict(zip(names, row, strict=True)))
        else:
            yield Record(line, {name: cell for name, cell in zip(names, row, strict=True) if name})


def _check_fields(row: list[str], limits: ReadLimits, line: int) -> None:
    """A field this long is a wrong file (an unbalanced quote swallows the rest of a CSV),
    not a long description: the file is refused."""
    if row and max(map(len, row)) > limits.field_chars:
        raise limits.field_too_long(line)


def _ndjson_records(text: IO[str], limits: ReadLimits) -> Iterator[Record | BadRecord]:
    lines = _Lines(text, limits)
    for line in lines:
        lines.record_done()
        if not line.strip():
            continue
        try:
            value = DECODER.decode(line)
        except DECODE_ERRORS as exc:
            yield BadRecord(lines.count, f"malformed JSON: {decode_error_reason(exc)}")
            continue
        suspect = may_have_a_problem(line, 0, len(line), limits)
        yield _record(lines.count, value, suspect, limits, "each line must be a JSON object")


def _json_array_records(text: IO[str], limits: ReadLimits) -> Iterator[Record | BadRecord]:
    for line, value, suspect in json_array_values(text, limits):
        yield _record(line, value, suspect, limits, "each element must be a JSON object")


def _record(
    line: int, value: Any, suspect: bool, limits: ReadLimits, not_an_object: str
) -> Record | BadRecord:
    if not isinstance(value, dict):
        return BadRecord(line, not_an_object)
    reason = problem(value, limits, line) if suspect else None
    if reason:
        return BadRecord(line, reason)
    return Record(line, value)


__all__ = [
    "BadRecord",
    "FileTooLarge",
    "Format",
    "ReadLimits",
    "Record",
    "UnreadableFile",
    "detect_format",
    "open_binary",
    "read_records",
]
