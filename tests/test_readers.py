"""The file readers stream: records come out before the file has been read to its end, and
no file, however hostile, makes them read or hold more than their limits."""

from __future__ import annotations

import gzip
import io

import pytest

from lehnz.imports.readers import (
    BadRecord,
    FileTooLarge,
    ReadLimits,
    Record,
    UnreadableFile,
    open_binary,
    read_records,
)


class CountingStream(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.consumed += len(chunk)
        return len(chunk)


@pytest.mark.parametrize(
    ("file_format", "make"),
    [
        (
            "csv",
            lambda n: b"item_id,name\n" + b"".join(b"i%d,name %d\n" % (i, i) for i in range(n)),
        ),
        ("ndjson", lambda n: b"".join(b'{"item_id": "i%d"}\n' % i for i in range(n))),
        ("json", lambda n: b"[" + b",\n".join(b'{"item_id": "i%d"}' % i for i in range(n)) + b"]"),
    ],
)
def test_first_record_arrives_before_the_file_is_read_through(file_format, make):
    data = make(300_000)
    stream = CountingStream(data)
    records = read_records(io.BufferedReader(stream), file_format)
    first = next(records)
    assert isinstance(first, Record)
    assert first.values["item_id"] == "i0"
    assert stream.consumed < len(data) / 4
    assert sum(1 for _ in records) == 299_999


def test_json_array_line_numbers_follow_the_file():
    data = b'[\n{"a": 1},\n\n  {"b":\n 2},\n  3\n]'
    records = list(read_records(io.BytesIO(data), "json"))
    assert records == [
        Record(2, {"a": 1}),
        Record(4, {"b": 2}),
        BadRecord(6, "each element must be a JSON object"),
    ]


def test_a_json_file_that_is_not_an_array_is_unreadable():
    with pytest.raises(UnreadableFile):
        list(read_records(io.BytesIO(b'{"a": 1}'), "json"))


# Hostile files: every reader stops within its limits, having read little more than a limit.

SMALL = ReadLimits(
    decompressed_bytes=2_000_000, record_chars=10_000, field_chars=5_000, records=1_000
)


def _refusal(data: bytes, file_format, limits=SMALL) -> tuple[UnreadableFile, int]:  # type: ignore[no-untyped-def]
    stream = CountingStream(data)
    with pytest.raises(UnreadableFile) as caught:
        list(read_records(io.BufferedReader(stream), file_format, limits))
    return caught.value, stream.consumed


@pytest.mark.parametrize(
    ("file_format", "head", "line"),
    [
        ("json", b'[{"item_id": "a"},\n {"item_id": "b", "name": "', 2),
        ("ndjson", b'{"item_id": "a"}\n{"item_id": "b", "name": "', 2),
        ("csv", b'item_id,name\na,A\nb,"', 3),
    ],
)
def test_an_endless_record_is_refused_after_reading_about_one_limit(file_format, head, line):
    # An unterminated string: the old JSON reader re-decoded its growing buffer to the end.
    data = head + b"x" * 20_000_000
    error, consumed = _refusal(data, file_format)
    assert not isinstance(error, FileTooLarge)
    expected = f"line {line}: a record is longer than LEHNZ_MAX_RECORD_CHARS (10000 characters)"
    assert str(error) == expected
    # The reader never held, let alone re-decoded, more than a chunk past the limit.
    assert consumed < 1_000_000


def test_a_record_of_exactly_the_limit_is_read():
    cell = "x" * (SMALL.record_chars - len('{"item_id": ""}'))
    limits = ReadLimits(record_chars=SMALL.record_chars)
    for file_format, data in [
        ("ndjson", b'{"item_id": "%s"}\r\n' % cell.encode()),
        ("json", b'[{"item_id": "%s"}]' % cell.encode()),
    ]:
        (record,) = list(read_records(io.BytesIO(data), file_format, limits))
        assert isinstance(record, Record)
        assert record.values["item_id"] == cell


def test_a_long_field_refuses_the_file_naming_the_setting():
    for file_format, data in [
        ("csv", b"item_id,name\na,A\nb," + b"y" * 6_000 + b"\n"),
        ("ndjson", b'{"item_id": "a"}\n{"item_id": "b", "tags": ["' + b"y" * 6_000 + b'"]}\n'),
        ("json", b'[{"item_id": "a"},\n{"item_id": "b", "' + b"y" * 6_000 + b'": 1}]'),
    ]:
        error, _ = _refusal(data, file_format)
        assert "a field is longer than LEHNZ_MAX_FIELD_CHARS (5000 characters)" in str(error)
        assert "line " in str(error)


@pytest.mark.parametrize(
    ("file_format", "data"),
    [
        ("csv", b"item_id\n" + b"\n" * 5_000_000),
        ("ndjson", b"\r\n" * 5_000_000),
        ("json", b"[" + b"\n" * 5_000_000 + b"]"),
        ("json", b"[" + b"{}," * 5_000_000 + b"{}]"),
    ],
)
def test_blank_lines_and_tiny_records_count_against_the_record_limit(file_format, data):
    error, consumed = _refusal(data, file_format)
    assert isinstance(error, FileTooLarge)
    assert "more than LEHNZ_MAX_UPLOAD_RECORDS (1000) records or lines" in str(error)
    assert consumed < 1_000_000


def test_a_gzip_bomb_is_refused_at_the_decompressed_limit():
    bomb = gzip.compress(b"item_id,name\na," + b"0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    limits = ReadLimits(decompressed_bytes=1_000_000, record_chars=10**9, field_chars=10**9)
    with pytest.raises(FileTooLarge, match=r"LEHNZ_MAX_DECOMPRESSED_BYTES \(1000000 bytes\)"):
        list(read_records(open_binary(io.BytesIO(bomb)), "csv", limits))


def test_reading_past_the_time_limit_is_refused():
    data = b"item_id\n" + b"a\n" * 100_000
    with pytest.raises(FileTooLarge, match=r"LEHNZ_UPLOAD_TIMEOUT_SECONDS \(0 s\)"):
        list(read_records(io.BytesIO(data), "csv", ReadLimits(seconds=0)))


def test_a_syntax_error_early_in_a_large_json_array_is_malformed_at_once():
    data = b'[{"item_id": "a"},\n{"item_id": "b" "c"},\n' + b'{"item_id": "x"},\n' * 500_000
    error, consumed = _refusal(data, "json", ReadLimits(record_chars=10_000))
    assert str(error).startswith("line 2: malformed JSON")
    assert consumed < 1_000_000


def test_non_standard_json_is_a_bad_row_and_the_rest_still_reads():
    # RFC 8259 has no NaN or Infinity, though Python's json accepts them; an integer of
    # 5,000 digits and nesting past the stack raise outside JSONDecodeError.
    rows = [
        b'{"item_id": "a", "price": NaN}',
        b'{"item_id": "b", "price": -Infinity}',
        b'{"item_id": "c", "n": ' + b"1" * 5_000 + b"}",
        b'{"item_id": "d", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"item_id": "e", "deep": ' + b"[" * 70 + b"]" * 70 + b"}",
        b'{"item_id": "f", "big": 1e400}',
    ]
    limits = ReadLimits(record_chars=10**6)
    ndjson = list(read_records(io.BytesIO(b"\n".join(rows)), "ndjson", limits))
    assert [type(r).__name__ for r in ndjson] == ["BadRecord"] * 5 + ["Record"]
    assert ndjson[0] == BadRecord(1, "malformed JSON: NaN is not valid JSON (RFC 8259)")
    assert ndjson[1] == BadRecord(2, "malformed JSON: -Infinity is not valid JSON (RFC 8259)")
    assert ndjson[2].line == 3 and "4300 digits" in ndjson[2].reason  # type: ignore[union-attr]
    assert ndjson[3] == BadRecord(4, "malformed JSON: nested too deeply")
    assert ndjson[4] == BadRecord(5, "nested deeper than 64 levels")
    assert ndjson[5] == Record(6, {"item_id": "f", "big": float("inf")})  # left to validation

    array = b"[" + b",\n".join(rows[:2] + rows[4:]) + b"]"
    records = list(read_records(io.BytesIO(array), "json", limits))
    assert [(type(r).__name__, r.line) for r in records] == [
        ("BadRecord", 1),
        ("BadRecord", 2),
        ("BadRecord", 3),
        ("Record", 4),
    ]
