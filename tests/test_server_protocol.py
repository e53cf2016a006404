"""A real ``lehnz serve``, spoken to over a raw socket: a body that stops short is answered
408, and a request too malformed to reach the app is answered in the envelope, not in
uvicorn's plain text."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.processes import lehnz_serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    env = {"LEHNZ_BODY_READ_TIMEOUT_SECONDS": "0.5", "LEHNZ_EMBEDDED_WORKER": "false"}
    with lehnz_serve(tmp_path_factory.mktemp("serve"), env) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def _exchange(address: tuple[str, int], request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send ``request`` and read until the server closes: status line, headers, body."""
    with socket.create_connection(address, timeout=20) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, value in (line.split(":", 1) for line in lines)
    }
    return status, headers, body


def _envelope(body: bytes, code: str) -> dict[str, object]:
    envelope = json.loads(body)
    assert envelope["success"] is False
    assert envelope["code"] == code
    assert set(envelope) >= {"message", "error"}
    return envelope


def _still_serving(address: tuple[str, int]) -> None:
    host, port = address
    assert httpx.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200


def test_a_body_that_stops_short_of_its_content_length_is_408(server):
    request = (
        b"POST /api/v1/events/ingest HTTP/1.1\r\n"
        b"Host: localhost\r\n"
        b"X-Domain: commerce\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 100\r\n"
        b"\r\n"
        b'{"user_id"'
    )
    status, headers, body = _exchange(server, request)
    assert status.startswith("HTTP/1.1 408"), (status, body)
    assert headers["content-type"] == "application/json"
    envelope = _envelope(body, "request_timeout")
    assert "LEHNZ_BODY_READ_TIMEOUT_SECONDS" in str(envelope["message"])
    _still_serving(server)


def test_an_upload_that_stops_short_is_408_too(server):
    boundary = b"lehnz-boundary"
    part = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="items.csv"\r\n\r\n'
        b"item_id\na\n"
    )
    request = (
        b"POST /api/v1/upload/items HTTP/1.1\r\n"
        b"Host: localhost\r\n"
        b"X-Domain: commerce\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
        b"Content-Length: 10000\r\n"
        b"\r\n" + part
    )
    status, _, body = _exchange(server, request)
    assert status.startswith("HTTP/1.1 408"), (status, body)
    _envelope(body, "request_timeout")
    _still_serving(server)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"this is not http\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nBad Header Name: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["garbage-request-line", "invalid-header", "invalid-content-length"],
)
def test_malformed_http_is_answered_in_the_envelope(server, request_bytes):
    status, headers, body = _exchange(server, request_bytes)
    assert status.startswith("HTTP/1.1 400"), (status, body)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    envelope = _envelope(body, "bad_request")
    assert "Malformed HTTP request" in str(envelope["message"])
    _still_serving(server)


def test_answers_on_one_kept_alive_connection_arrive_whole_small_and_large(server):
    """The coalescing transport joins a response's head and body into one send: answers
    small (health) and large (the OpenAPI document, past the 64 KiB flush mark) must still
    arrive whole, in order, on one kept-alive connection."""
    host, port = server
    with httpx.Client(base_url=f"http://{host}:{port}", timeout=20) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            document = client.get("/openapi.json")
            assert document.status_code == 200
            assert len(document.content) > 64 * 1024
            assert document.json()["openapi"].startswith("3.")
        answer = client.post("/recommend", headers={"X-Domain": "commerce"}, json={})
        assert answer.status_code == 401
        assert answer.json()["code"] == "invalid_api_key"


def test_pipelined_requests_are_answered_in_order(server):
    """Two requests sent in one packet: two whole answers, the second's head after the
    first's body, though both may leave in one turn of the event loop."""
    one = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    two = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with socket.create_connection(server, timeout=20) as sock:
        sock.sendall(one + two)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    first_head, _, rest = data.partition(b"\r\n\r\n")
    assert first_head.startswith(b"HTTP/1.1 200")
    length = int(
        next(
            line.split(b":", 1)[1]
            for line in first_head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    second = rest[length:]
    assert second.startswith(b"HTTP/1.1 404"), second[:80]
