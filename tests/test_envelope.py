"""Envelope and transport decisions: every body is the JSON envelope (aiohttp's own errors
included), request ids, 404/405, content type, JSON parsing and the body-size limit."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from urllib.parse import urlsplit

import pytest

from mockserver.http.control import control_spec
from mockserver.spec import load_spec
from tests.mock_kit import (
    SOME_UUID,
    assert_raw_envelope_error,
    create_book,
    data_of,
    error_of,
    is_uuid,
    raw_exchange,
)

SPEC = load_spec()
MAX_BODY = SPEC.max_body_bytes
PRO_KEY_HEADER = b"x-api-key: cbk_live_pro_dev_key_00000000000000000000\r\n"


def _json_bytes_of_size(body: dict, size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


# --- the envelope ------------------------------------------------------------------------
async def test_accepted_create_is_a_success_envelope(client, pro_headers, create_body):
    response = await client.post("/v1/stories", json=create_body, headers=pro_headers)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert set(response.json()) == {"ok", "requestId", "data"}
    assert data_of(response, 202)["status"] == "pending"


async def test_error_is_an_error_envelope(client, create_body):
    response = await client.post("/v1/stories", json=create_body)
    assert set(response.json()) == {"ok", "requestId", "error"}
    error = error_of(response, 401, "UNAUTHORIZED")
    assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize(
    "path", ["/", "/v2/stories", "/v1/story", "/v1/stories/a/b", "/assets", "/_mockx", "/%00"]
)
async def test_unknown_path_is_404_not_found(client, pro_headers, path):
    error_of(await client.get(path, headers=pro_headers), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/stories", "POST"),
        ("PUT", "/v1/stories", "POST"),
        ("DELETE", "/v1/stories", "POST"),
        ("POST", f"/v1/stories/{SOME_UUID}", "GET"),
        ("PATCH", f"/v1/stories/{SOME_UUID}", "GET"),
        ("DELETE", f"/v1/stories/{SOME_UUID}", "GET"),
        ("OPTIONS", f"/v1/stories/{SOME_UUID}", "GET"),
        ("TRACE", "/v1/stories", "POST"),
        ("POST", "/_mock/health", "GET"),
        ("PUT", "/_mock/scenarios", "GET, POST, DELETE"),
    ],
)
async def test_known_path_with_other_method_is_405_with_allow(
    client, pro_headers, method, path, allow
):
    response = await client.request(method, path, headers=pro_headers)
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allow


def _declared_paths() -> list[tuple[str, list[str]]]:
    """Every path of openapi.yaml and control-api.yaml with its methods, parameters filled."""
    paths = []
    for document in (SPEC.document, control_spec().document):
        for path, item in document["paths"].items():
            methods = [m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")]
            paths.append((re.sub(r"\{[^}]+\}", "x", path), methods))
    return paths


@pytest.mark.parametrize(("path", "declared"), _declared_paths(), ids=lambda v: str(v))
async def test_every_declared_path_allows_exactly_its_declared_methods(
    client, pro_headers, path, declared
):
    undeclared = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in declared)
    response = await client.request(undeclared, path, headers=pro_headers)
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"].split(", ") == declared


async def test_head_on_a_post_only_path_is_405_with_allow(client, pro_headers):
    response = await client.head("/v1/stories", headers=pro_headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- request ids -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_id", ["a", "x" * 64, "01HZXK3M6Q8EXAMPLE00RVW5T9A", "!~{}[]<>", "trace:1/2;3"]
)
async def test_valid_request_id_is_echoed_in_header_and_body(client, pro_headers, request_id):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={**pro_headers, "X-Request-Id": request_id}
    )
    assert response.headers["x-request-id"] == request_id
    assert response.json()["requestId"] == request_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/stories"),
        ("GET", "/nowhere"),
        ("DELETE", "/v1/stories"),
        ("GET", "/_mock/health"),
    ],
)
async def test_request_id_is_echoed_on_every_kind_of_response(client, method, path):
    response = await client.request(method, path, headers={"X-Request-Id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    assert response.json()["requestId"] == "trace-42"


@pytest.mark.parametrize(
    "request_id", ["", "x" * 65, "has space", "tab\there", "caf\u00e9"], ids=repr
)
async def test_unusable_request_id_is_replaced_by_a_generated_one(client, pro_headers, request_id):
    headers = [*pro_headers.items(), ("X-Request-Id", request_id.encode("utf-8"))]
    response = await client.get(f"/v1/stories/{SOME_UUID}", headers=headers)
    generated = response.headers["x-request-id"]
    assert generated != request_id and is_uuid(generated)
    assert response.json()["requestId"] == generated


async def test_repeated_request_id_is_replaced_by_a_generated_one(client, pro_headers):
    headers = [*pro_headers.items(), ("X-Request-Id", "one"), ("X-Request-Id", "two")]
    response = await client.get(f"/v1/stories/{SOME_UUID}", headers=headers)
    assert is_uuid(response.headers["x-request-id"])


async def test_generated_request_ids_differ_between_requests(client, pro_headers):
    ids = {
        (await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers)).headers["x-request-id"]
        for _ in range(3)
    }
    assert len(ids) == 3


# --- content type ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "Application/JSON",
    ],
)
async def test_json_content_type_is_accepted(client, pro_headers, create_body, content_type):
    response = await client.post(
        "/v1/stories",
        content=json.dumps(create_body),
        headers={**pro_headers, "content-type": content_type},
    )
    data_of(response, 202)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json-patch+json",
        "application/jsonx",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "*/*",
    ],
)
async def test_other_content_type_is_bad_request(client, pro_headers, create_body, content_type):
    headers = dict(pro_headers)
    if content_type is not None:
        headers["content-type"] = content_type
    response = await client.post("/v1/stories", content=json.dumps(create_body), headers=headers)
    error_of(response, 400, "BAD_REQUEST")


async def test_repeated_content_type_is_bad_request(client, pro_headers, create_body):
    headers = [
        *pro_headers.items(),
        ("content-type", "application/json"),
        ("content-type", "application/json"),
    ]
    response = await client.post("/v1/stories", content=json.dumps(create_body), headers=headers)
    error_of(response, 400, "BAD_REQUEST")


async def test_key_is_checked_before_the_content_type(client, create_body):
    response = await client.post(
        "/v1/stories", content=json.dumps(create_body), headers={"content-type": "text/plain"}
    )
    error_of(response, 401, "UNAUTHORIZED")


# --- JSON --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'storyIdea': 'x'}", b"nul", b'{"a": 1}}', b'{"a": 1} {"b": 2}', b"\x00"],
    ids=repr,
)
async def test_unparseable_json_is_bad_request(client, pro_headers, raw):
    response = await client.post(
        "/v1/stories", content=raw, headers={**pro_headers, "content-type": "application/json"}
    )
    error_of(response, 400, "BAD_REQUEST")


# --- body size ---------------------------------------------------------------------------
async def test_body_of_exactly_the_size_limit_is_accepted(client, pro_headers, create_body):
    response = await client.post(
        "/v1/stories",
        content=_json_bytes_of_size(create_body, MAX_BODY),
        headers={**pro_headers, "content-type": "application/json"},
    )
    data_of(response, 202)


async def test_body_one_byte_over_the_size_limit_is_bad_request(client, pro_headers, create_body):
    response = await client.post(
        "/v1/stories",
        content=_json_bytes_of_size(create_body, MAX_BODY + 1),
        headers={**pro_headers, "content-type": "application/json"},
    )
    error_of(response, 400, "BAD_REQUEST")


async def test_huge_body_is_bad_request(client, pro_headers, create_body):
    response = await client.post(
        "/v1/stories",
        content=_json_bytes_of_size(create_body, 8 * 1024 * 1024),
        headers={**pro_headers, "content-type": "application/json"},
    )
    error_of(response, 400, "BAD_REQUEST")


async def test_huge_chunked_body_is_bad_request(client, pro_headers):
    async def chunks():
        for _ in range(64):
            yield b" " * 65536

    response = await client.post(
        "/v1/stories", content=chunks(), headers={**pro_headers, "content-type": "application/json"}
    )
    error_of(response, 400, "BAD_REQUEST")


async def test_declared_oversized_body_is_refused_before_it_is_sent(mock):
    request = (
        b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n" + PRO_KEY_HEADER + b"content-type: "
        b"application/json\r\nContent-Length: 1000000000\r\n\r\n{"
    )
    reply = await raw_exchange(mock.url, request)
    assert assert_raw_envelope_error(reply)["code"] == "BAD_REQUEST"


# --- aiohttp's own errors ----------------------------------------------------------------
FRAMEWORK_ERRORS = {
    "malformed request line": b"GARBAGE\r\n\r\n",
    "invalid method token": b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown method": b"FROB /v1/stories HTTP/1.1\r\nHost: x\r\n\r\n",
    "unsupported HTTP version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    "relative target without slash": b"GET v1/stories HTTP/1.1\r\nHost: x\r\n\r\n",
    "over-long target": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "over-long header": b"GET / HTTP/1.1\r\nHost: x\r\nx-api-key: cbk_live_"
    + b"a" * 20000
    + b"\r\n\r\n",
    "header name with a space": b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n",
    "too many headers": b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"x-h%d: v\r\n" % i for i in range(500))
    + b"\r\n",
    "duplicate content-length": b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "bad chunk size": b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n"
    + PRO_KEY_HEADER
    + b"content-type:"
    b" application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
    "undecodable gzip body": b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n"
    + PRO_KEY_HEADER
    + b"content-type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n"
    b"hello",
    "unknown expectation": b"POST /v1/stories HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    "asterisk target": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "CONNECT": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "raw bytes in the path": b"GET /v1/stories/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in a header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\x00b\r\n\r\n",
}


@pytest.mark.parametrize("raw", FRAMEWORK_ERRORS.values(), ids=FRAMEWORK_ERRORS.keys())
async def test_framework_error_is_a_json_envelope(mock, raw):
    assert_raw_envelope_error(await raw_exchange(mock.url, raw))


async def test_unparseable_request_is_bad_request(mock):
    reply = await raw_exchange(mock.url, FRAMEWORK_ERRORS["malformed request line"])
    assert reply.status == 400
    assert assert_raw_envelope_error(reply)["code"] == "BAD_REQUEST"


async def test_expect_100_continue_is_honoured(mock, create_body):
    body = json.dumps(create_body).encode()
    request = (
        b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n" + PRO_KEY_HEADER + b"content-type: "
        b"application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    reply = await raw_exchange(mock.url, request + body)
    assert reply.status == 202


def _send_after_continue(url: str, head: bytes, body: bytes) -> tuple[bytes, bytes]:
    """Send ``head``, wait (≤ 2 s) for the interim answer, then the body: what curl does."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=2) as sock:
        sock.sendall(head)
        interim = sock.recv(65536)
        sock.sendall(body)
        final = b""
        while b"\r\n\r\n" not in final:
            final += sock.recv(65536)
        return interim, final


async def test_expect_100_continue_gets_the_interim_answer_before_the_body(mock, create_body):
    body = json.dumps(create_body).encode()
    head = (
        b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n" + PRO_KEY_HEADER + b"content-type: "
        b"application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    interim, final = await asyncio.to_thread(_send_after_continue, mock.url, head, body)
    assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
    assert final.startswith(b"HTTP/1.1 202 ")


async def test_unknown_expectation_is_refused_without_the_body(mock):
    request = (
        b"POST /v1/stories HTTP/1.1\r\nHost: x\r\n" + PRO_KEY_HEADER + b"content-type: "
        b"application/json\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n"
    )
    reply = await raw_exchange(mock.url, request)
    assert reply.status == 400
    assert assert_raw_envelope_error(reply)["code"] == "BAD_REQUEST"


# --- hostile headers: never a 5xx, always the envelope ------------------------------------
HOSTILE_HEADERS = {
    "empty x-api-key": [("x-api-key", b"")],
    "over-long x-api-key": [("x-api-key", b"cbk_live_" + b"a" * 7000)],
    "repeated x-api-key": [("x-api-key", b"cbk_live_a" * 4), ("x-api-key", b"cbk_live_b" * 4)],
    "undecodable x-api-key": [("x-api-key", b"cbk_live_\xff\xfe" + b"a" * 30)],
    "empty authorization": [("authorization", b"")],
    "bearer without token": [("authorization", b"Bearer")],
    "basic authorization": [("authorization", b"Basic dXNlcjpwYXNz")],
    "undecodable authorization": [("authorization", b"Bearer \xff" * 3)],
    "empty content-type": [("content-type", b"")],
    "undecodable content-type": [("content-type", b"application/json\xff")],
    "over-long content-type": [("content-type", b"application/json; x=" + b"y" * 7000)],
    "empty request id": [("x-request-id", b"")],
    "undecodable request id": [("x-request-id", b"\xff\xfe")],
    "over-long request id": [("x-request-id", b"r" * 7000)],
    "empty idempotency key": [("idempotency-key", b"")],
    "undecodable idempotency key": [("idempotency-key", b"\xff\xfe")],
    "repeated idempotency key": [("idempotency-key", b"a"), ("idempotency-key", b"b")],
    "empty scenario": [("x-mock-scenario", b"")],
    "undecodable scenario": [("x-mock-scenario", b"\xff")],
    "repeated scenario": [("x-mock-scenario", b"delay-ms=1"), ("x-mock-scenario", b"delay-ms=2")],
    "undecodable admin token": [("x-mock-admin-token", b"\xff\xfe")],
}


@pytest.mark.parametrize("extra", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
async def test_hostile_header_never_gives_a_5xx_or_a_bare_body(client, mock, create_body, extra):
    for base in ([("x-api-key", mock.keys["pro"].encode())], []):
        headers = [*base, ("content-type", b"application/json"), *extra]
        for method, path, body in (
            ("POST", "/v1/stories", json.dumps(create_body)),
            ("GET", f"/v1/stories/{SOME_UUID}", None),
            ("POST", "/_mock/scenarios", "{}"),
        ):
            response = await client.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, response.text
            assert response.json()["requestId"] == response.headers["x-request-id"]


# --- x-ratelimit headers on responses to an accepted key -----------------------------------
@pytest.mark.parametrize("case", ["202", "200", "400", "404"])
async def test_responses_to_an_accepted_key_carry_rate_limit_headers(
    client, pro_headers, create_body, case
):
    if case in ("202", "200"):
        book = await create_book(client, pro_headers, create_body)
        if case == "202":
            response = await client.post("/v1/stories", json=create_body, headers=pro_headers)
        else:
            response = await client.get(f"/v1/stories/{book['bookId']}", headers=pro_headers)
    elif case == "400":
        response = await client.post("/v1/stories", json={}, headers=pro_headers)
    else:
        response = await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers)
    assert str(response.status_code) == case
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers[name].isdigit()


async def test_absolute_form_request_line_is_routed_like_origin_form(mock):
    """RFC 9112 §3.2.2: a server must accept ``GET http://host/path HTTP/1.1``."""
    request = (
        f"GET {mock.url}/v1/stories/{SOME_UUID} HTTP/1.1\r\nHost: x\r\n".encode()
        + PRO_KEY_HEADER
        + b"Connection: close\r\n\r\n"
    )
    reply = await raw_exchange(mock.url, request)
    assert (reply.status, reply.json()["error"]["code"]) == (404, "NOT_FOUND")
    assert "x-ratelimit-limit" in reply.headers


@pytest.mark.parametrize("body", [b'{"\\ud800": 1}', b'"\\ud800"', b'{"storyIdea": "\\udfff"}'])
async def test_lone_surrogate_in_json_is_bad_request(client, pro_headers, body):
    response = await client.post(
        "/v1/stories", content=body, headers={**pro_headers, "content-type": "application/json"}
    )
    assert error_of(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("name", ["%C2%B2.png", "00.png", "%D9%A1.png"])
async def test_asset_names_in_other_digits_or_with_leading_zeros_are_not_found(
    client, pro_headers, create_body, mock, name
):
    book = await create_book(client, pro_headers, create_body)
    await mock.service.clock.advance(3600)
    assert (await client.get(f"/assets/{book['bookId']}/0.png")).status_code == 200
    assert error_of(await client.get(f"/assets/{book['bookId']}/{name}"), 404, "NOT_FOUND")
