"""The file readers stream: records come out before the file has been read to its end."""

from __future__ import annotations

import io

import pytest

from lehnz.imports.readers import BadRecord, Record, UnreadableFile, read_records


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
