"""uvicorn's HTTP protocol, answering requests it cannot parse in the error envelope.

A garbage request line or an invalid header never reaches the app: uvicorn answers it
itself, in plain text ("Invalid HTTP request received."). A client of lehnz matches on the
envelope's ``code`` everywhere, so ``lehnz serve`` runs this subclass, which writes the same
400 as JSON. The connection is closed afterwards, as uvicorn does: after a malformed request
the stream cannot be trusted to find the next one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lehnz.errors import BadRequest


def envelope_400(message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete ``400 bad_request`` HTTP/1.1 response whose body is the error envelope."""
    error = BadRequest(f"Malformed HTTP request: {message}")
    body = json.dumps(
        {"success": False, "message": error.message, "error": error.detail, "code": error.code}
    ).encode()
    head = [b"HTTP/1.1 400 Bad Request\r\n"]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
        b"connection: close\r\n",
        b"\r\n",
    ]
    return b"".join(head) + body


_FLUSH_AT = 64 * 1024


class _CoalescingTransport:
    """A transport whose writes of one turn of the event loop leave in one ``send``.

    uvicorn writes a response's head and its body separately, each a system call; on the
    virtual machines measured, those calls were a fifth of the event loop's time under load
    (bench/RESULTS.md). Joined at the end of the loop's turn, they are one call, and nothing
    waits longer than that turn. Everything but ``write`` and ``close`` is the transport's.
    """

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= _FLUSH_AT:
            # A stream written in one turn leaves as it comes, so the transport's own
            # back-pressure (pause_writing) still stops a fast producer.
            self._flush()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's default protocol (httptools), with its plain-text 400 replaced and a
    response's writes coalesced (``_CoalescingTransport``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = _CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]

    def send_400_response(self, msg: str) -> None:
        self.transport.write(envelope_400(msg, self.server_state.default_headers))
        self.transport.close()
