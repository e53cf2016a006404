"""The elements of a top-level JSON array, decoded one at a time from a sliding buffer.

``json.load`` would hold the whole file. Here an element that does not fit the buffer is
retried after reading as much again as is pending, so an element is re-decoded a logarithmic
number of times over a doubling buffer (linear in all), and a pending element longer than
``LEHNZ_MAX_RECORD_CHARS`` is refused instead of read on: an unterminated string costs one
record's length, not the file's length squared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

from lehnz.imports.jsonvalues import (
    DECODE_ERRORS,
    DECODER,
    decode_error_reason,
    may_have_a_problem,
)
from lehnz.imports.limits import ReadLimits, UnreadableFile

_CHUNK = 256 * 1024
_WHITESPACE = re.compile(r"[ \t\r\n]*")


def json_array_values(text: IO[str], limits: ReadLimits) -> Iterator[tuple[int, Any, bool]]:
    """``(line, value, suspect)`` for each element of the array ``text`` holds; ``suspect``
    is ``may_have_a_problem`` of its text."""
    reader = _JsonArrayReader(text, limits)
    if reader.next_char() != "[":
        raise UnreadableFile("a JSON file must hold one array of objects")
    reader.advance(1)
    if reader.next_char() == "]":
        return
    elements = 0
    while True:
        reader.next_char()
        line = reader.line
        elements += 1
        if elements > limits.records:
            raise limits.too_many_records(line)
        value, suspect = reader.decode()
        yield line, value, suspect
        separator = reader.next_char()
        if separator == ",":
            reader.advance(1)
        elif separator == "]":
            return
        else:
            raise UnreadableFile(f"line {reader.line}: expected ',' or ']' in the JSON array")


class _JsonArrayReader:
    """A read position over a text stream, refilled in chunks, that counts lines."""

    def __init__(self, text: IO[str], limits: ReadLimits) -> None:
        self._text = text
        self._limits = limits
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self.line = 1

    def _fill(self, at_least: int = _CHUNK) -> bool:
        """Append at least ``at_least`` characters (fewer at the end), dropping what was
        consumed; ``False`` at the end of the file."""
        if self._eof:
            return False
        chunk = self._text.read(max(at_least, _CHUNK))
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def _count_lines(self, start: int, end: int) -> None:
        self.line += self._buffer.count("\n", start, end)
        if self.line > self._limits.records:
            raise self._limits.too_many_records(self.line)

    def next_char(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the file."""
        if self._pos < len(self._buffer) and self._buffer[self._pos] not in " \t\r\n":
            return self._buffer[self._pos]
        while True:
            match = _WHITESPACE.match(self._buffer, self._pos)
            end = match.end() if match else self._pos
            self._count_lines(self._pos, end)
            self._pos = end
            if end < len(self._buffer):
                return self._buffer[end]
            if not self._fill():
                return ""

    def advance(self, count: int) -> None:
        self._pos += count

    def decode(self) -> tuple[Any, bool]:
        limit = self._limits.record_chars
        while True:
            try:
                value, end = DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                pending = len(self._buffer) - self._pos
                if _malformed_before_the_end(exc, len(self._buffer)):
                    raise UnreadableFile(f"line {self.line}: malformed JSON ({exc.msg})") from exc
                if pending > limit:
                    raise self._limits.record_too_long(self.line) from exc
                # As much again as is pending (never much past the limit): doubling.
                if not self._fill(min(pending, limit + 1 - pending)):
                    raise UnreadableFile(f"line {self.line}: malformed JSON ({exc.msg})") from exc
                continue
            except DECODE_ERRORS as exc:
                reason = decode_error_reason(exc)
                raise UnreadableFile(f"line {self.line}: malformed JSON ({reason})") from exc
            if end - self._pos > limit:
                raise self._limits.record_too_long(self.line)
            if end == len(self._buffer) and not self._eof and self._fill():
                # A number at the very end of the buffer may continue in the next chunk.
                continue
            suspect = may_have_a_problem(self._buffer, self._pos, end, self._limits)
            self._count_lines(self._pos, end)
            self._pos = end
            return value, suspect


def _malformed_before_the_end(exc: json.JSONDecodeError, buffered: int) -> bool:
    """Whether the decode failed for good, not for want of more text: the scanner stops where
    the text goes wrong, and only an unterminated string reports where it started; the slack
    covers a token cut by the buffer's end (``-Infinit``, ``\\u12``)."""
    return not exc.msg.startswith("Unterminated string") and exc.pos < buffered - 16
