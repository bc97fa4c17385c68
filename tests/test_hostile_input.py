"""Hostile input over real sockets: every number the mock takes has a documented range and
anything else is a 400 naming it; nothing is stored that cannot be read back; bodies that cannot
be decoded or that end early get a 400 envelope; the log stays one short line per problem."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver.spec import load_control_spec
from mockserver.testing.process import MockProcess, RunningMock
from tests.mock_kit import SOME_UUID, assert_raw_envelope_error, error_of, raw_exchange

HUGE = "9" * 5000
#: Longest line a log may hold: a few hundred characters of excerpt, plus its framing.
LONGEST_LOG_LINE = 600


def _integer_fields() -> list[tuple[str, str, str, dict]]:
    """(method, path, field, schema) for every integer of every control request body."""
    spec = load_control_spec()
    found = []
    for path, item in spec.document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None:
                continue
            schema = spec.resolve(body["content"]["application/json"]["schema"])
            for name, field in schema.get("properties", {}).items():
                if field.get("type") == "integer":
                    found.append((method.upper(), path, name, field))
    return found


CONTROL_INTEGERS = _integer_fields()


def test_every_integer_the_mock_takes_has_a_documented_range():
    header = load_control_spec().document["x-mock-scenario-header"]
    ranged = [schema for *_, schema in CONTROL_INTEGERS] + list(header.values())
    assert len(CONTROL_INTEGERS) >= 7
    assert all("enum" in s or {"minimum", "maximum"} <= set(s) for s in ranged)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningMock, MockProcess]]:
    process = MockProcess("--clock", "manual")
    with process as running:
        yield running, process


@pytest.fixture
def mock(server) -> RunningMock:
    return server[0]


def _log(server) -> str:
    return server[1].log_path.read_text()


@pytest.mark.parametrize("name", ["delay-ms", "fail-at-page", "stall-at-page", "error"])
def test_scenario_number_of_5000_digits_is_a_validation_error(server, mock, name):
    with httpx.Client(base_url=mock.url) as http:
        reply = http.get(
            f"/v1/stories/{SOME_UUID}",
            headers={"x-api-key": mock.keys["pro"], "X-Mock-Scenario": f"{name}={HUGE}"},
        )
    assert list(error_of(reply, 400, "VALIDATION_ERROR")["fields"]) == [name]
    assert "Traceback" not in _log(server)


def test_asset_name_of_5000_digits_is_not_found(server, mock):
    with httpx.Client(base_url=mock.url) as http:
        reply = http.get(f"/assets/{SOME_UUID}/{HUGE}.png")
    error_of(reply, 404, "NOT_FOUND")
    assert "Traceback" not in _log(server)


@pytest.mark.parametrize(
    ("method", "path", "field", "schema"),
    CONTROL_INTEGERS,
    ids=[f"{path}:{field}" for _, path, field, _ in CONTROL_INTEGERS],
)
@pytest.mark.parametrize("excess", [1, 10**23], ids=["just past", "1e+23"])
async def test_control_integer_past_its_maximum_is_a_validation_error_naming_it(
    backend_client, backend_mock, method, path, field, schema, excess
):
    body = {"plan": "pro"} if path == "/_mock/users" else {}
    body[field] = schema["maximum"] + excess
    url = path.replace("{userId}", "user_dev_pro")
    reply = await backend_client.request(method, url, json=body, headers=backend_mock.admin_headers)
    assert field in error_of(reply, 400, "VALIDATION_ERROR")["fields"]


async def test_usage_at_its_maximum_is_stored_so_that_it_reads_back(
    backend_client, backend_mock, create_body
):
    """orjson writes 10**23 as 1e+23, which Redis cannot read back as a counter; the largest
    value the range allows, and an integer written as 7.0, are read back exactly."""
    most = load_control_spec().schema("SetUsage")["properties"]["creditsUsed"]["maximum"]
    url, admin = "/_mock/users/user_dev_pro/usage", backend_mock.admin_headers
    for credits in (most, 7.0):
        reply = await backend_client.put(url, json={"creditsUsed": credits}, headers=admin)
        assert reply.json()["data"]["creditsUsed"] == credits
        create = await backend_client.post(
            "/v1/stories", json=create_body, headers={"x-api-key": backend_mock.keys["pro"]}
        )
        assert create.status_code in (202, 429), create.text
    assert create.status_code == 202


def _post_head(mock: RunningMock, *extra: bytes, length: int) -> bytes:
    lines = [
        b"POST /v1/stories HTTP/1.1",
        b"Host: x",
        b"content-type: application/json",
        b"x-api-key: " + mock.keys["pro"].encode(),
        b"content-length: %d" % length,
        *extra,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate", b"br"])
async def test_bogus_content_encoding_is_400_with_one_log_line_and_no_traceback(
    server, mock, encoding
):
    before = _log(server).count("\n")
    body = b"this is not compressed at all"
    head = _post_head(mock, b"Content-Encoding: " + encoding, length=len(body))
    error = assert_raw_envelope_error(await raw_exchange(mock.url, head + body))
    assert error["code"] == "BAD_REQUEST"
    await asyncio.sleep(0.3)  # anything logged after the answer
    new = _log(server).splitlines()[before:]
    assert "Traceback" not in "\n".join(new) and "Unhandled" not in "\n".join(new)
    assert len([line for line in new if "mockserver.access" not in line]) <= 1


def _half_closed_exchange(url: str, data: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


@pytest.mark.parametrize("sent", [0, 1, 40], ids=["no body", "1 byte", "40 bytes"])
async def test_body_shorter_than_its_length_then_half_close_is_400(mock, sent):
    head = _post_head(mock, length=100)
    answer = await asyncio.to_thread(_half_closed_exchange, mock.url, head + b"{" * sent)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"code":"BAD_REQUEST"' in answer


async def test_complete_request_then_half_close_is_answered(mock):
    head = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await asyncio.to_thread(_half_closed_exchange, mock.url, head)
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        b"GET /" + b"b" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: " + b"c" * 5000 + b"\x01\r\n\r\n",
    ],
    ids=["70 KB header", "long target", "control character"],
)
async def test_parser_errors_log_a_short_excerpt(server, mock, raw):
    before = _log(server).count("\n")
    assert_raw_envelope_error(await raw_exchange(mock.url, raw))
    await asyncio.sleep(0.2)
    new = _log(server).splitlines()[before:]
    assert new, "the parser error is logged"
    assert max(map(len, new)) <= LONGEST_LOG_LINE
