"""Assertions shared by the behaviour tests and the schemathesis checks: the envelope, request
ids and rate-limit headers. Each problem is reported with the clause it breaks (``None``: the
clause of the test that asked), so a test of one clause never passes off another clause's
failure as its own, and ``--profile page`` can let a broken decision through as a warning."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from contracts.client import ApiAnswer
from contracts.terms import (
    RATE_HEADERS,
    RATE_LIMIT_LIMIT,
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_RESET,
    REQUEST_ID_HEADER,
    RETRY_AFTER,
    SPEC,
    VALIDATION_ERROR,
)
from contracts.throttle import header_int
from contracts.verdict import VERDICT

REQUEST_ID = re.compile(SPEC.request_id_pattern)
WINDOW = SPEC.rate_limit_window
#: A problem and the clause it breaks (None: the clause of the test that checks).
Problem = tuple[str | None, str]
#: ``claimed_by`` default: envelope problems break the envelope clauses.
ENVELOPE = "envelope"
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


def envelope_problems(
    status: int, headers: Mapping[str, str], body: Any, *, claimed_by: str | None = ENVELOPE
) -> list[Problem]:
    """What is wrong with a response's envelope (empty: nothing). ``claimed_by``: the clause
    whose rule the JSON envelope is here — ``ENVELOPE`` for the API's answers; the test's own
    (None) where only a decision puts the envelope on an answer (unknown paths, wrong methods)."""
    shape = "envelope.json" if claimed_by == ENVELOPE else claimed_by
    kind = "envelope.media-type" if claimed_by == ENVELOPE else claimed_by
    headers, problems = lowered(headers), []
    if media_type(headers) != "application/json":
        problems.append(
            (kind, f"content-type is {headers.get('content-type')!r}, not application/json")
        )
    if not isinstance(body, dict):
        return [*problems, (shape, "the body is not a JSON object")]
    request_id = body.get("requestId")
    if request_id is not None and not (isinstance(request_id, str) and request_id):
        problems.append((shape, f"requestId {request_id!r} is not a non-empty string"))
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        problems.append(
            (
                "envelope.request-id-header",
                f"requestId {request_id!r} is not 1–64 visible ASCII characters",
            )
        )
    echoed = headers.get(REQUEST_ID_HEADER.lower())
    if echoed != request_id:
        problems.append(
            (
                "envelope.request-id-header",
                f"{REQUEST_ID_HEADER} header {echoed!r} differs from "
                f"the body's requestId {request_id!r}",
            )
        )
    if 200 <= status < 300:
        if body.get("ok") is not True or "data" not in body:
            problems.append((shape, "a 2xx body must be {ok: true, requestId, data}"))
        return problems
    error = body.get("error")
    if body.get("ok") is not False or not isinstance(error, dict):
        return [*problems, (shape, "an error body must be {ok: false, requestId, error: {...}}")]
    code, message = error.get("code"), error.get("message")
    if not isinstance(message, str):
        problems.append((shape, "error.message must be a string"))
    if not isinstance(code, str):
        problems.append((shape, f"error.code {code!r} is not a string"))
    elif code not in statuses_by_code():
        problems.append(("envelope.codes", f"error.code {code!r} is not a code of the spec"))
    elif status not in statuses_by_code()[code]:
        problems.append(("envelope.codes", f"error.code {code} does not go with status {status}"))
    if "fields" in error and not (
        isinstance(error["fields"], dict)
        and all(isinstance(v, str) for v in error["fields"].values())
    ):
        problems.append((shape, "error.fields must map field names to messages"))
    if "meta" in error and not isinstance(error["meta"], dict):
        problems.append((shape, "error.meta must be an object"))
    return problems


def rate_header_problems(
    status: int, headers: Mapping[str, str], plan_limit: int | None
) -> list[Problem]:
    """For a response to a request whose key was accepted."""
    headers = lowered(headers)
    limit, remaining, reset = (header_int(headers, name) for name in RATE_HEADERS)
    problems: list[Problem] = []
    if remaining is None or remaining < 0:
        problems.append(
            (
                "limits.remaining",
                f"{RATE_LIMIT_REMAINING} is {headers.get(RATE_LIMIT_REMAINING)!r}, "
                "not a whole number ≥ 0",
            )
        )
    for name, value in ((RATE_LIMIT_LIMIT, limit), (RATE_LIMIT_RESET, reset)):
        if value is None:
            problems.append(("limits.headers", f"{name} is missing or not an integer"))
    if limit is not None and plan_limit is not None and limit != plan_limit:
        problems.append(
            ("limits.plan", f"{RATE_LIMIT_LIMIT} is {limit}, the plan's limit is {plan_limit}")
        )
    if limit is not None and remaining is not None and remaining >= limit > 0:
        problems.append(
            (
                "limits.headers",
                f"{RATE_LIMIT_REMAINING} {remaining} does not count this request (limit {limit})",
            )
        )
    if reset is not None and not 0 <= reset <= WINDOW:
        problems.append(
            ("limits.headers", f"{RATE_LIMIT_RESET} {reset} is not whole seconds within 0–{WINDOW}")
        )
    if status == 429:
        problems += [("limits.retry-after", text) for text in retry_after_problems(headers)]
    return problems


def retry_after_problems(headers: Mapping[str, str]) -> list[str]:
    headers = lowered(headers)
    retry_after = header_int(headers, RETRY_AFTER)
    if retry_after is None or retry_after < 1:
        return [f"{RETRY_AFTER} is {headers.get(RETRY_AFTER)!r}, not whole seconds ≥ 1"]
    return []


def judge(answer: ApiAnswer, problems: list[Problem]) -> None:
    """Fail (or, for a decision under ``--profile page``, warn) for every problem found."""
    VERDICT.judge(problems, str(answer))


def assert_envelope(answer: ApiAnswer, *, claimed_by: str | None = ENVELOPE) -> None:
    judge(
        answer, envelope_problems(answer.status, answer.headers, answer.body, claimed_by=claimed_by)
    )


def status_problems(answer: ApiAnswer, status: int, code: str) -> list[Problem]:
    if (answer.status, answer.code) == (status, code):
        return []
    return [(None, f"expected {status} {code}, got {answer.status} {answer.code}")]


def assert_error(
    answer: ApiAnswer, status: int, code: str, *, claimed_by: str | None = ENVELOPE
) -> None:
    """``status`` with ``code`` in a well-formed error envelope."""
    judge(
        answer,
        status_problems(answer, status, code)
        + envelope_problems(answer.status, answer.headers, answer.body, claimed_by=claimed_by),
    )


def assert_rate_headers(answer: ApiAnswer, plan_limit: int | None = None) -> None:
    judge(answer, rate_header_problems(answer.status, answer.headers, plan_limit))


def field_problems(
    answer: ApiAnswer, *names: str, exactly: bool = False, unnamed: str | None = "create.all-fields"
) -> list[Problem]:
    """A VALIDATION_ERROR naming ``names`` (and nothing else when ``exactly``). ``unnamed``:
    the clause a name missing from ``error.fields`` breaks — ``create.all-fields`` where only
    naming is at stake, the test's own (None) where naming is the only sign of a rejection."""
    problems = status_problems(answer, 400, VALIDATION_ERROR)
    named = set(answer.fields)
    missing = [n for n in names if n not in named]
    if missing and not problems:
        problems.append(
            (unnamed, f"error.fields does not name {', '.join(missing)} (it names {sorted(named)})")
        )
    if exactly and named - set(names):
        problems.append((None, f"error.fields also names {sorted(named - set(names))}"))
    return problems


def assert_fields(
    answer: ApiAnswer, *names: str, exactly: bool = False, unnamed: str | None = "create.all-fields"
) -> None:
    judge(answer, field_problems(answer, *names, exactly=exactly, unnamed=unnamed))


def check(clause_id: str | None, holds: bool, detail: str) -> None:
    """One condition of ``clause_id`` (None: the test's own) outside the shared assertions."""
    if not holds:
        VERDICT.broken(clause_id, detail)
