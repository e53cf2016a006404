"""Reading records out of a file one at a time, each with the line it starts on.

Files are streamed: memory stays flat however large the file, which is why JSON arrays are
read with an incremental decoder rather than ``json.load``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal

Format = Literal["csv", "json", "ndjson"]

_CHUNK = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# A CSV field may hold a long description, but not a whole file.
csv.field_size_limit(16 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadRecord:
    line: int
    reason: str


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (not a CSV/JSON/NDJSON file, bad gzip, ...)."""


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


def read_records(binary: IO[bytes], file_format: Format) -> Iterator[Record | BadRecord]:
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    try:
        if file_format == "csv":
            yield from _csv_records(text)
        elif file_format == "ndjson":
            yield from _ndjson_records(text)
        else:
            yield from _json_array_records(text)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"the file is not UTF-8 text ({exc.reason})") from exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableFile(f"cannot read the file: {exc}") from exc
    finally:
        text.detach()


def _csv_records(text: IO[str]) -> Iterator[Record | BadRecord]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise UnreadableFile(f"line 1: {exc}") from exc
    header = [column.strip() for column in header]
    if not any(header):
        raise UnreadableFile("line 1: the CSV header row is empty")
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRecord(previous_end + 1, f"malformed CSV: {exc}")
            previous_end = reader.line_num
            continue
        line, previous_end = previous_end + 1, reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield BadRecord(line, f"expected {len(header)} columns, got {len(row)}")
            continue
        yield Record(line, {name: cell for name, cell in zip(header, row, strict=True) if name})


def _ndjson_records(text: IO[str]) -> Iterator[Record | BadRecord]:
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield BadRecord(line_number, f"malformed JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield BadRecord(line_number, "each line must be a JSON object")
            continue
        yield Record(line_number, value)


def _json_array_records(text: IO[str]) -> Iterator[Record | BadRecord]:
    """Elements of a top-level JSON array, decoded one at a time from a sliding buffer."""
    reader = _JsonArrayReader(text)
    if reader.next_char() != "[":
        raise UnreadableFile("a JSON file must hold one array of objects")
    reader.advance(1)
    if reader.next_char() == "]":
        return
    while True:
        reader.next_char()
        line = reader.line
        value = reader.decode()
        if isinstance(value, dict):
            yield Record(line, value)
        else:
            yield BadRecord(line, "each element must be a JSON object")
        separator = reader.next_char()
        if separator == ",":
            reader.advance(1)
        elif separator == "]":
            return
        else:
            raise UnreadableFile(f"line {reader.line}: expected ',' or ']' in the JSON array")


class _JsonArrayReader:
    """A read position over a text stream, refilled in chunks, that counts lines."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._decoder = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self.line = 1

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._text.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def next_char(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the file."""
        while True:
            buffer, pos = self._buffer, self._pos
            end = len(buffer)
            while pos < end and buffer[pos] in " \t\r\n":
                if buffer[pos] == "\n":
                    self.line += 1
                pos += 1
            self._pos = pos
            if pos < end:
                return buffer[pos]
            if not self._fill():
                return ""

    def advance(self, count: int) -> None:
        self._pos += count

    def decode(self) -> Any:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if not self._fill():
                    raise UnreadableFile(f"line {self.line}: malformed JSON ({exc.msg})") from exc
                continue
            if end == len(self._buffer) and not self._eof and self._fill():
                # A number at the very end of the buffer may continue in the next chunk.
                continue
            self.line += self._buffer.count("\n", self._pos, end)
            self._pos = end
            return value
