"""What reading one file may cost, and the errors that say which bound it crossed.

An uploaded file is hostile until read: a megabyte of gzip can unpack to a gigabyte held in one
cell, and a header followed by a billion newlines keeps a core busy for minutes. The readers
check these bounds as they go, so memory and time are bounded by the limits, never by the file.
Each message names the setting that raises the limit.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import IO


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (not a CSV/JSON/NDJSON file, bad gzip, ...)."""


class FileTooLarge(UnreadableFile):
    """The file crosses a size or time limit (413), as opposed to being malformed (400)."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds for reading one file. ``seconds`` is ``None`` for no time limit."""

    decompressed_bytes: int = 4 * 1024**3
    record_chars: int = 4 * 1024**2
    field_chars: int = 1024**2
    records: int = 50_000_000
    seconds: float | None = None

    def record_too_long(self, line: int) -> UnreadableFile:
        return UnreadableFile(
            f"line {line}: a record is longer than LEHNZ_MAX_RECORD_CHARS "
            f"({self.record_chars} characters)"
        )

    def field_too_long(self, line: int) -> UnreadableFile:
        return UnreadableFile(
            f"line {line}: a field is longer than LEHNZ_MAX_FIELD_CHARS "
            f"({self.field_chars} characters)"
        )

    def too_many_records(self, line: int) -> FileTooLarge:
        return FileTooLarge(
            f"line {line}: the file holds more than LEHNZ_MAX_UPLOAD_RECORDS "
            f"({self.records}) records or lines"
        )


class BoundedStream(io.RawIOBase):
    """``inner`` (maybe a gunzipping view), refusing to yield more than
    ``limits.decompressed_bytes`` or to be read past ``limits.seconds``.

    Every reader pulls its bytes through here in small chunks, so the clock is looked at
    every few kilobytes, however the reader spends its time.
    """

    def __init__(self, inner: IO[bytes], limits: ReadLimits) -> None:
        super().__init__()
        self._inner = inner
        self._limits = limits
        self._read = 0
        self._deadline = None if limits.seconds is None else time.monotonic() + limits.seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise FileTooLarge(
                f"reading the file took longer than LEHNZ_UPLOAD_TIMEOUT_SECONDS "
                f"({self._limits.seconds:g} s)"
            )
        chunk = self._inner.read(len(buffer))
        size = len(chunk)
        self._read += size
        if self._read > self._limits.decompressed_bytes:
            raise FileTooLarge(
                f"decompressed size exceeds LEHNZ_MAX_DECOMPRESSED_BYTES "
                f"({self._limits.decompressed_bytes} bytes)"
            )
        buffer[:size] = chunk
        return size
