"""One access-log line per request (method, path, status, latency, request id), and API keys
masked wherever a log line could quote one: paths, query strings, request ids, parser errors."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from mockserver.core.accounts import dev_keys
from mockserver.core.config import MockConfig
from mockserver.core.runtime import build_service
from mockserver.serve import app as aiohttp_app
from mockserver.testing.process import MockProcess, RunningMock
from tests.mock_kit import SOME_UUID, encoded_keys, fully_decoded, raw_exchange

PRO_KEY = dev_keys()["pro"]
MASKED = "cbk_live_…" + PRO_KEY[-4:]
ENCODED_KEYS = encoded_keys(PRO_KEY)


@pytest.fixture
async def logged(caplog: pytest.LogCaptureFixture) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process mock with its access log on, and a client for it."""
    caplog.set_level(logging.DEBUG)
    app = aiohttp_app.create_app(build_service(MockConfig(validate_responses=True)))
    runner, url = await aiohttp_app.start(app, "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            yield client
    finally:
        await runner.cleanup()


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mockserver.access"]


def _server_text(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the server side logged (the test's own httpx client logs keys, of course)."""
    formatter = logging.Formatter()
    return "\n".join(
        formatter.format(record)
        for record in caplog.records
        if record.name.startswith(("mockserver", "aiohttp"))
    )


async def test_access_log_line_has_method_path_status_latency_and_request_id(logged, caplog):
    await logged.get(
        f"/v1/stories/{SOME_UUID}", headers={"x-api-key": PRO_KEY, "X-Request-Id": "trace-7"}
    )
    (line,) = _access_lines(caplog)
    assert re.fullmatch(rf"GET /v1/stories/{SOME_UUID} 404 \d+\.\dms trace-7", line), line


async def test_access_log_has_one_line_per_request(logged, caplog):
    for path in ("/_mock/health", "/nowhere", "/v1/stories"):
        await logged.get(path)
    assert [line.split()[:3] for line in _access_lines(caplog)] == [
        ["GET", "/_mock/health", "200"],
        ["GET", "/nowhere", "404"],
        ["GET", "/v1/stories", "405"],
    ]


async def test_access_log_shows_the_generated_request_id(logged, caplog):
    response = await logged.get("/_mock/health")
    (line,) = _access_lines(caplog)
    assert line.endswith(" " + response.headers["x-request-id"])


async def test_unparseable_request_gets_an_access_log_line(logged, caplog):
    await raw_exchange(str(logged.base_url), b"GARBAGE\r\n\r\n")
    assert any(" 400 " in line for line in _access_lines(caplog))


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"/v1/stories/{PRO_KEY}", {}),
        (f"/v1/stories/{SOME_UUID}?api_key={PRO_KEY}", {}),
        ("/_mock/health", {"X-Request-Id": PRO_KEY}),
        (f"/v1/stories/{SOME_UUID}", {"x-api-key": PRO_KEY, "X-Request-Id": f"req:{PRO_KEY}"}),
    ],
    ids=["path", "query", "request id", "prefixed request id"],
)
async def test_access_log_masks_keys(logged, caplog, path, headers):
    await logged.get(path, headers=headers)
    text = _server_text(caplog)
    assert PRO_KEY not in text
    assert MASKED in "\n".join(_access_lines(caplog))


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nx-api-key: " + PRO_KEY.encode() + b" " + b"a" * 9000,
        b"GET / HTTP/1.1\r\nHost: x\r\nx-api-key: " + PRO_KEY.encode() + b"\x01\r\n\r\n",
        b"GET /" + PRO_KEY.encode() + b"/\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["over-long header", "control character", "bad target"],
)
async def test_parser_error_logs_mask_keys(logged, caplog, raw):
    await raw_exchange(str(logged.base_url), raw + b"\r\n\r\n")
    assert "unparseable request" in _server_text(caplog)
    assert PRO_KEY not in _server_text(caplog)


def test_server_log_of_the_cli_never_contains_a_key():
    process = MockProcess()
    with process as running, httpx.Client(base_url=running.url) as client:
        client.get(f"/v1/stories/{SOME_UUID}", headers={"x-api-key": PRO_KEY})
        client.get(f"/v1/stories/{PRO_KEY}?key={PRO_KEY}", headers={"X-Request-Id": PRO_KEY})
        client.get("/_mock/health", headers={"Authorization": f"Bearer {PRO_KEY}"})
        over_long = b"GET / HTTP/1.1\r\nHost: x\r\nx-api-key: " + PRO_KEY.encode() + b" "
        over_long += b"a" * 9000 + b"\r\n\r\n"
        asyncio.run(raw_exchange(running.url, over_long))
        log = process.log_path.read_text()
    assert " 404 " in log and "unparseable request" in log  # the log is really written
    assert all(key not in log for key in dev_keys().values())
    assert MASKED in log


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[RunningMock, MockProcess]]:
    process = MockProcess()
    with process as running:
        yield running, process


def _requests(written: str) -> dict[str, bytes]:
    head = "Host: x\r\n"
    return {
        "path": f"GET /v1/stories/{written} HTTP/1.1\r\n{head}\r\n",
        "query": f"GET /v1/stories/{SOME_UUID}?api_key={written} HTTP/1.1\r\n{head}\r\n",
        "request id": f"GET /_mock/health HTTP/1.1\r\n{head}X-Request-Id: {written}\r\n\r\n",
        "parser error": f"GET / HTTP/1.1\r\n{head}x-api-key: {written}\x01\r\n\r\n",
    }


@pytest.mark.parametrize("where", ["path", "query", "request id", "parser error"])
@pytest.mark.parametrize("written", list(ENCODED_KEYS.values()), ids=list(ENCODED_KEYS))
async def test_keys_are_masked_however_they_are_encoded(served, written, where):
    running, process = served
    before = len(process.log_path.read_text())
    await raw_exchange(running.url, _requests(written)[where].encode())
    await asyncio.sleep(0.1)
    logged = process.log_path.read_text()[before:]
    assert logged.strip(), "the request is logged"
    decoded = fully_decoded(logged)
    assert PRO_KEY not in decoded
    assert PRO_KEY[9:-4] not in decoded  # no part of the secret but the last four
    assert written not in logged
