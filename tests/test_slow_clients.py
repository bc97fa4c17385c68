"""Slow and silent clients against the real server (``cbk-mock serve`` over sockets): a request
head must arrive within ``--header-timeout``, its body within the same time after it, and an
idle keep-alive connection closes after ``--keepalive-timeout``. A slowloris crowd of a few
hundred sockets does not keep a normal client from being served."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver.testing.process import MockProcess, RunningMock
from tests.mock_kit import SOME_UUID

HEADER_TIMEOUT = 1.0
KEEPALIVE_TIMEOUT = 3.0
#: Far longer than either timeout: a socket still open by then was never going to be closed.
GIVE_UP = 8.0
CROWD = 300


@pytest.fixture(scope="module")
def server() -> Iterator[RunningMock]:
    args = ("--header-timeout", str(HEADER_TIMEOUT), "--keepalive-timeout", str(KEEPALIVE_TIMEOUT))
    with MockProcess(*args, "--no-access-log") as running:
        yield running


async def _connect(server: RunningMock) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(server.url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _closed_after(reader: asyncio.StreamReader, started: float) -> float:
    """Seconds from ``started`` until the server closed the connection (reading to the end; a
    reset, when it closed while we were still sending, counts as closed too)."""
    async with asyncio.timeout(GIVE_UP):
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
    return time.monotonic() - started


async def test_silent_connection_is_closed_after_the_header_timeout(server):
    started = time.monotonic()
    reader, writer = await _connect(server)
    assert HEADER_TIMEOUT * 0.9 <= await _closed_after(reader, started) < GIVE_UP
    writer.close()


async def test_request_line_without_the_blank_line_is_closed(server):
    started = time.monotonic()
    reader, writer = await _connect(server)
    writer.write(b"GET /v1/stories HTTP/1.1\r\nHost: x\r\n")
    assert await _closed_after(reader, started) < GIVE_UP
    writer.close()


async def test_a_head_dripping_in_is_closed_although_bytes_keep_coming(server):
    reader, writer = await _connect(server)
    started = time.monotonic()

    async def drip() -> None:
        for byte in b"GET /v1/stories HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)

    dripping = asyncio.ensure_future(drip())
    try:
        assert await _closed_after(reader, started) < HEADER_TIMEOUT + 2
    finally:
        dripping.cancel()
        writer.close()


async def test_idle_keep_alive_outlives_the_header_timeout_then_closes(server):
    reader, writer = await _connect(server)
    request = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n"
    writer.write(request)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await reader.read(65536)
    await asyncio.sleep(HEADER_TIMEOUT * 1.8)  # idle: the keep-alive timeout's, not the head's
    writer.write(request)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    await reader.read(65536)
    assert KEEPALIVE_TIMEOUT * 0.8 <= await _closed_after(reader, started) < GIVE_UP
    writer.close()


async def test_body_that_stops_arriving_is_answered_and_closed(server):
    reader, writer = await _connect(server)
    writer.write(
        b"POST /v1/stories HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"x-api-key: " + server.keys["pro"].encode() + b"\r\ncontent-length: 100\r\n\r\n{"
    )
    started = time.monotonic()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GIVE_UP)
    assert head.startswith(b"HTTP/1.1 400")
    assert b'"code":"BAD_REQUEST"' in await reader.read(65536)
    assert await _closed_after(reader, started) < GIVE_UP
    writer.close()


async def _normal_latencies(server: RunningMock, count: int) -> list[float]:
    headers = {"x-api-key": server.keys["premium"]}
    latencies = []
    async with httpx.AsyncClient(base_url=server.url, timeout=GIVE_UP) as client:
        for _ in range(count):
            started = time.monotonic()
            reply = await client.get(f"/v1/stories/{SOME_UUID}", headers=headers)
            latencies.append(time.monotonic() - started)
            assert reply.status_code == 404 and reply.json()["error"]["code"] == "NOT_FOUND"
            await asyncio.sleep(0.01)
    return latencies


async def test_slowloris_crowd_does_not_starve_a_normal_client(server):
    baseline = statistics.median(await _normal_latencies(server, 30))
    connections = [await _connect(server) for _ in range(CROWD)]
    started = time.monotonic()

    async def slow(writer: asyncio.StreamWriter) -> None:
        for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 100:
            if writer.is_closing():
                return
            writer.write(bytes([byte]))
            await asyncio.sleep(0.25)

    crowd = [asyncio.ensure_future(slow(writer)) for _, writer in connections]
    try:
        during = statistics.median(await _normal_latencies(server, 30))
        closed = await asyncio.gather(*(_closed_after(r, started) for r, _ in connections))
    finally:
        for task in crowd:
            task.cancel()
        for _, writer in connections:
            writer.close()
    print(
        f"\nnormal client median latency: {baseline * 1000:.1f} ms alone, {during * 1000:.1f} ms "
        f"among {CROWD} slow sockets (ratio {during / baseline:.2f}); slow sockets closed after "
        f"{min(closed):.1f}–{max(closed):.1f} s"
    )
    assert max(closed) < GIVE_UP
