"""Assertions shared by the behaviour tests and the schemathesis checks: the envelope, request
ids and rate-limit headers, each reporting every problem it sees in one message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from contracts.client import REQUEST_ID_HEADER, SPEC, Reply
from contracts.throttle import header_int

REQUEST_ID = re.compile(SPEC.request_id_pattern)
WINDOW = SPEC.rate_limit_window
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
LIMIT_CODES = frozenset(
    code for operation_id in SPEC.operation_ids for code in SPEC.error_codes(operation_id, 429)
)


@cache
def statuses_by_code() -> dict[str, frozenset[int]]:
    """Every status the spec documents for each error code (EXTERNAL_SERVICE_ERROR: 502 and
    503), from ``x-cbk-http-status`` and the operations' error responses."""
    allowed: dict[str, set[int]] = {code: {status} for code, status in SPEC.error_status.items()}
    for operation_id in SPEC.operation_ids:
        for status in SPEC.statuses(operation_id):
            for code in SPEC.error_codes(operation_id, status):
                allowed.setdefault(code, set()).add(status)
    return {code: frozenset(statuses) for code, statuses in allowed.items()}


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def media_type(headers: Mapping[str, str]) -> str:
    return lowered(headers).get("content-type", "").split(";")[0].strip().lower()


def envelope_problems(status: int, headers: Mapping[str, str], body: Any) -> list[str]:
    """What is wrong with a response's envelope (empty: nothing)."""
    headers, problems = lowered(headers), []
    if media_type(headers) != "application/json":
        problems.append(f"content-type is {headers.get('content-type')!r}, not application/json")
    if not isinstance(body, dict):
        return [*problems, "the body is not a JSON object"]
    request_id = body.get("requestId")
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        problems.append(f"requestId {request_id!r} is not 1–64 visible ASCII characters")
    echoed = headers.get(REQUEST_ID_HEADER.lower())
    if echoed != request_id:
        problems.append(
            f"{REQUEST_ID_HEADER} header {echoed!r} differs from "
            f"the body's requestId {request_id!r}"
        )
    if 200 <= status < 300:
        if body.get("ok") is not True or "data" not in body:
            problems.append("a 2xx body must be {ok: true, requestId, data}")
        return problems
    error = body.get("error")
    if body.get("ok") is not False or not isinstance(error, dict):
        return [*problems, "an error body must be {ok: false, requestId, error: {...}}"]
    code, message = error.get("code"), error.get("message")
    if not isinstance(message, str):
        problems.append("error.message must be a string")
    if code not in statuses_by_code():
        problems.append(f"error.code {code!r} is not a code of the spec")
    elif status not in statuses_by_code()[code]:
        problems.append(f"error.code {code} does not go with status {status}")
    if "fields" in error and not (
        isinstance(error["fields"], dict)
        and all(isinstance(v, str) for v in error["fields"].values())
    ):
        problems.append("error.fields must map field names to messages")
    return problems


def rate_header_problems(
    status: int, headers: Mapping[str, str], plan_limit: int | None
) -> list[str]:
    """For a response to a request whose key was accepted."""
    headers = lowered(headers)
    values = {name: header_int(headers, name) for name in RATE_HEADERS}
    problems = [f"{name} is missing or not an integer" for name, v in values.items() if v is None]
    limit, remaining, reset = values.values()
    if limit is not None and plan_limit is not None and limit != plan_limit:
        problems.append(f"x-ratelimit-limit is {limit}, the plan's limit is {plan_limit}")
    if remaining is not None and remaining < 0:
        problems.append(f"x-ratelimit-remaining is negative ({remaining})")
    if limit is not None and remaining is not None and remaining >= limit > 0:
        problems.append(
            f"x-ratelimit-remaining {remaining} does not count this request (limit {limit})"
        )
    if reset is not None and not 0 <= reset <= WINDOW:
        problems.append(f"x-ratelimit-reset {reset} is not whole seconds within 0–{WINDOW}")
    if status == 429:
        problems += retry_after_problems(headers)
    return problems


def retry_after_problems(headers: Mapping[str, str]) -> list[str]:
    headers = lowered(headers)
    retry_after = header_int(headers, "retry-after")
    if retry_after is None or retry_after < 1:
        return [f"retry-after is {headers.get('retry-after')!r}, not whole seconds ≥ 1"]
    return []


def _fail(reply: Reply, problems: list[str]) -> None:
    if problems:
        raise AssertionError("; ".join(problems) + f"\n  exchange: {reply}")


def assert_envelope(reply: Reply) -> None:
    _fail(reply, envelope_problems(reply.status, reply.headers, reply.body))


def assert_error(reply: Reply, status: int, code: str) -> None:
    """``status`` with ``code`` in a well-formed error envelope."""
    problems = []
    if (reply.status, reply.code) != (status, code):
        problems.append(f"expected {status} {code}, got {reply.status} {reply.code}")
    _fail(reply, problems + envelope_problems(reply.status, reply.headers, reply.body))


def assert_rate_headers(reply: Reply, plan_limit: int | None = None) -> None:
    _fail(reply, rate_header_problems(reply.status, reply.headers, plan_limit))


def assert_fields(reply: Reply, *names: str, exactly: bool = False) -> None:
    """A VALIDATION_ERROR naming ``names`` (and nothing else when ``exactly``)."""
    problems = []
    if (reply.status, reply.code) != (400, "VALIDATION_ERROR"):
        problems.append(f"expected 400 VALIDATION_ERROR, got {reply.status} {reply.code}")
    named = set(reply.fields)
    missing = [n for n in names if n not in named]
    if missing:
        problems.append(
            f"error.fields does not name {', '.join(missing)} (it names {sorted(named)})"
        )
    if exactly and named - set(names):
        problems.append(f"error.fields also names {sorted(named - set(names))}")
    _fail(reply, problems)


def assert_passed_validation(reply: Reply) -> None:
    """A probe whose body was judged valid: the over-long Idempotency-Key is all that was named."""
    from contracts.client import IDEMPOTENCY_HEADER

    assert_fields(reply, IDEMPOTENCY_HEADER, exactly=True)
