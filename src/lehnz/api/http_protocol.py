"""uvicorn's HTTP protocol, answering requests it cannot parse in the error envelope.

A garbage request line or an invalid header never reaches the app: uvicorn answers it
itself, in plain text ("Invalid HTTP request received."). A client of lehnz matches on the
envelope's ``code`` everywhere, so ``lehnz serve`` runs this subclass, which writes the same
400 as JSON. The connection is closed afterwards, as uvicorn does: after a malformed request
the stream cannot be trusted to find the next one.
"""

from __future__ import annotations

import json

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


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's default protocol (httptools), with its plain-text 400 replaced."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(envelope_400(msg, self.server_state.default_headers))
        self.transport.close()
