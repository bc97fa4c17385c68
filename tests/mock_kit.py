"""Plain helpers shared by the mock's own tests: envelope assertions, control calls (through
``mockserver.testing.sdk_kit``, over the test's own httpx client) and a raw HTTP/1.1 exchange
for requests no HTTP client library would send."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from mockserver.testing.process import RunningMock
from mockserver.testing.sdk_kit import AsyncMockControl

SOME_UUID = "660e8400-e29b-41d4-a716-446655440001"


def _percent_encoded(text: str, lower: bool = False) -> str:
    encoded = "".join(f"%{ord(c):02X}" for c in text)
    return encoded.lower() if lower else encoded


def encoded_keys(key: str) -> dict[str, str]:
    """``key`` as a client may write it where a log or the journal could keep it."""
    return {
        "underscores encoded": key.replace("_", "%5F"),
        "every character encoded": _percent_encoded(key),
        "lower-case hex": _percent_encoded(key, lower=True),
        "split by one escape": key[:12] + "%5F" + key[13:],
        "split by escapes in the body": key[:16] + "%5f" + key[17:22] + "%30" + key[23:],
        "double-encoded": key.replace("_", "%255F"),
    }


def fully_decoded(text: str) -> str:
    """``text`` with every percent-encoding (also repeated) and ``\\x`` escape undone: a key
    hidden in it by encoding shows in the result."""
    for _ in range(4):
        text = unquote(text)
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an error envelope with ``status`` and ``code``; return its ``error`` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["error"]["code"] == code, body
    return body["error"]


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """Assert a success envelope with ``status``; return its ``data``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["requestId"] == response.headers["x-request-id"]
    return body["data"]


async def create_book(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    return data_of(await client.post("/v1/stories", json=body, headers=headers), 202)


async def read_book(
    client: httpx.AsyncClient, headers: dict[str, str], book_id: str
) -> dict[str, Any]:
    return data_of(await client.get(f"/v1/stories/{book_id}", headers=headers))


def mock_control(client: httpx.AsyncClient, mock: RunningMock) -> AsyncMockControl:
    """The control client of ``mock``, its calls carried by the test's ``client``."""

    async def transport(
        method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        response = await client.request(method, path, headers=headers, content=body)
        return response.status_code, response.content

    return AsyncMockControl(mock.url, transport, keys=mock.keys, admin_token=mock.admin_token)


async def control(
    client: httpx.AsyncClient,
    mock: RunningMock,
    method: str,
    path: str,
    body: Any = None,
    status: int | None = None,
) -> Any:
    """Call ``/_mock/<path>``; return ``data``, asserting ``status`` when given."""
    reply = await mock_control(client, mock).send(method, path, body)
    if status is not None:
        assert reply.status == status, reply
    return reply.data


async def advance(client: httpx.AsyncClient, mock: RunningMock, seconds: float) -> None:
    await mock_control(client, mock).advance_clock(seconds)


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _raw_exchange(url: str, data: bytes, timeout: float) -> RawReply:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer before reading it all
            sock.sendall(data)
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"no complete response; got {buffer[:200]!r}")
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split()[1])
            if status >= 200:
                break
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        return RawReply(status, headers, buffer[:length])


async def raw_exchange(url: str, data: bytes, timeout: float = 5.0) -> RawReply:
    """Send ``data`` as-is over a fresh TCP connection and read one (final) response."""
    return await asyncio.to_thread(_raw_exchange, url, data, timeout)


def assert_raw_envelope_error(reply: RawReply) -> dict[str, Any]:
    """A client error in the JSON envelope, its request id echoed in the header."""
    assert 400 <= reply.status < 500, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["ok"] is False
    assert body["requestId"] == reply.headers["x-request-id"]
    assert set(body["error"]) >= {"code", "message"}
    return body["error"]


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
