"""Hostile uploads against a real ``lehnz serve`` with its default limits: what each one costs
the server (peak memory, wall time) and what it answers.

The files are built here, small on the wire and huge unpacked: the issue's reproductions of
a gzip bomb in one CSV cell and one NDJSON line, an unterminated JSON string, and a newline
flood. After each, the server must still answer ``/healthz``.

    .venv/bin/python bench/bombs.py [--cell-mb 1100] [--newlines-m 200]

Raw httpx on purpose, not ``lehnz.client``: these are hostile files, not a store's back
end, and what is measured and printed is the server's raw answer to each (its status and
envelope, error or not), sent once, without the client's retries or exceptions.
"""

from __future__ import annotations

import argparse
import gzip
import io
import time
from collections.abc import Callable

import httpx
from harness import peak_rss_mb, register, serving

CHUNK = 8 * 1024 * 1024


def _gzip(parts: Callable[[gzip.GzipFile], None]) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as packed:
        parts(packed)
    return buffer.getvalue()


def _repeat(packed: gzip.GzipFile, byte: bytes, total: int) -> None:
    block = byte * CHUNK
    for _ in range(total // CHUNK):
        packed.write(block)


def csv_cell(megabytes: int) -> bytes:
    def parts(packed: gzip.GzipFile) -> None:
        packed.write(b"item_id,description\nlamp,")
        _repeat(packed, b"a", megabytes * 1024 * 1024)
        packed.write(b"\n")

    return _gzip(parts)


def ndjson_line(megabytes: int) -> bytes:
    def parts(packed: gzip.GzipFile) -> None:
        packed.write(b'{"item_id": "lamp", "description": "')
        _repeat(packed, b"a", megabytes * 1024 * 1024)
        packed.write(b'"}\n')

    return _gzip(parts)


def json_unterminated(megabytes: int) -> bytes:
    def parts(packed: gzip.GzipFile) -> None:
        packed.write(b'[{"item_id": "lamp", "description": "')
        _repeat(packed, b"a", megabytes * 1024 * 1024)

    return _gzip(parts)


def newline_flood(millions: int) -> bytes:
    def parts(packed: gzip.GzipFile) -> None:
        packed.write(b"item_id,description\n")
        _repeat(packed, b"\n", millions * 1_000_000)

    return _gzip(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-mb", type=int, default=1100, help="unpacked size of one cell")
    parser.add_argument("--newlines-m", type=int, default=200, help="millions of newlines")
    args = parser.parse_args()
    bombs = [
        ("items.csv.gz", "one cell", csv_cell(args.cell_mb)),
        ("items.ndjson.gz", "one NDJSON line", ndjson_line(args.cell_mb)),
        ("items.json.gz", "unterminated JSON string", json_unterminated(args.cell_mb)),
        ("items.csv.gz", "newline flood", newline_flood(args.newlines_m)),
    ]
    print("| file | what | on the wire | answer | wall s | server peak RSS MB (before) |")
    print("|---|---|---|---|---|---|")
    with serving() as server, httpx.Client(base_url=server.base, timeout=900) as client:
        org = register(client)
        for name, what, body in bombs:
            before = peak_rss_mb(server.process.pid)
            started = time.perf_counter()
            answer = client.post(
                "/api/v1/upload/items", headers=org.secret, files={"file": (name, body)}
            )
            wall = time.perf_counter() - started
            peak = peak_rss_mb(server.process.pid)
            assert client.get("/healthz").status_code == 200, "the server is down"
            data = answer.json()
            print(
                f"| `{name}` | {what} | {len(body) / 1e6:.2f} MB | {answer.status_code} "
                f"`{data.get('code', 'ok')}`: {data['message']} | {wall:.1f} | "
                f"{peak:.0f} ({before:.0f}) |"
            )


if __name__ == "__main__":
    main()
