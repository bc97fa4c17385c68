"""What the property layer needs around schemathesis: contract checks it does not have (the
envelope, request-id echo, rate-limit headers), a ``requests`` session that throttles and
counts credits like the suite's own client, and per-case preparation (fresh Idempotency-Keys;
a guard on creates the credit budget cannot pay for).

The checks apply to any schema carrying the contract's ``x-cbk`` extension, and judge
consistency only: they hold for every correct implementation, whatever its plan or limits.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contracts.budget import CreditLedger
from contracts.client import (
    IDEMPOTENCY_HEADER,
    REPLAY_HEADER,
    REQUEST_ID_HEADER,
    SPEC,
    STORIES,
    credits_of,
    guard_key,
    is_guarded,
    key_of,
)
from contracts.expect import REQUEST_ID, envelope_problems, rate_header_problems
from contracts.throttle import Throttle

_CREATE_VALIDATOR = SPEC.validator("CreateStoryRequest")
_MAX_KEY = SPEC.idempotency_key_max_length
_RETRIES = 3
#: Statuses whose responses carry no x-ratelimit-* (key refused, route refused, server broke).
_NO_RATE_HEADERS = (401, 403, 405)


# --- checks ------------------------------------------------------------------------------------
def _ours(case: schemathesis.Case) -> bool:
    return "x-cbk" in case.operation.schema.raw_schema


def _headers(response: schemathesis.Response) -> dict[str, str]:
    return {
        name.lower(): (values[0] if isinstance(values, list) else values)
        for name, values in response.headers.items()
    }


def _body(response: schemathesis.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _sent(response: schemathesis.Response, name: str) -> str | None:
    value = response.request.headers.get(name)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value


@schemathesis.check
def cbk_envelope(ctx: schemathesis.CheckContext, response, case) -> bool | None:
    """Every body is the JSON envelope, its error code documented for its status."""
    if not _ours(case):
        return None
    problems = envelope_problems(response.status_code, _headers(response), _body(response))
    if problems:
        raise AssertionError("Not the contract's envelope: " + "; ".join(problems))
    return True


@schemathesis.check
def cbk_request_id(ctx: schemathesis.CheckContext, response, case) -> bool | None:
    """A sent X-Request-Id of 1–64 visible ASCII characters is echoed; any other is replaced."""
    if not _ours(case):
        return None
    sent = _sent(response, REQUEST_ID_HEADER)
    effective = sent.strip(" \t") if sent is not None else None
    answered = _headers(response).get(REQUEST_ID_HEADER.lower())
    if effective is not None and REQUEST_ID.fullmatch(effective):
        if answered != effective:
            raise AssertionError(
                f"X-Request-Id {effective!r} was not echoed (the response says {answered!r})"
            )
    elif answered is None or not REQUEST_ID.fullmatch(answered) or answered == sent:
        raise AssertionError(f"X-Request-Id {sent!r} should be replaced, got {answered!r}")
    return True


@schemathesis.check
def cbk_rate_limit_headers(ctx: schemathesis.CheckContext, response, case) -> bool | None:
    """Keyed responses carry consistent x-ratelimit-* (and retry-after on a 429)."""
    if not _ours(case) or not _sent(response, "x-api-key"):
        return None
    status = response.status_code
    if status in _NO_RATE_HEADERS or status >= 500:
        return None
    problems = rate_header_problems(status, _headers(response), None)
    if problems:
        raise AssertionError("Rate-limit headers: " + "; ".join(problems))
    return True


# --- transport -----------------------------------------------------------------------------------
class ThrottledSession(requests.Session):
    """Waits before a key's window is empty, retries an unexpected 429 after retry-after, and
    counts the credits of accepted creates."""

    def __init__(self, throttle: Throttle, ledger: CreditLedger) -> None:
        super().__init__()
        self.throttle = throttle
        self.ledger = ledger

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        key = key_of(request.headers)
        for attempt in range(_RETRIES):
            self.throttle.before(key)
            response = super().send(request, **kwargs)
            code = _code(response)
            wait = self.throttle.after(key, response.status_code, response.headers, code)
            if response.status_code == 202 and request.method == "POST":
                self._charge(request, response)
            if wait is None or attempt == _RETRIES - 1:
                return response
            self.throttle.pause(wait)
        raise AssertionError("unreachable")

    def _charge(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        # The base URL may carry a path prefix; only a replay is free.
        if not request.path_url.split("?")[0].endswith(STORIES):
            return
        if response.headers.get(REPLAY_HEADER, "").lower() == "true":
            return
        try:
            body = json.loads(request.body or b"")
        except (TypeError, ValueError):
            body = None
        self.ledger.charge(credits_of(body))
        if is_guarded(request.headers.get(IDEMPOTENCY_HEADER)):
            self.ledger.guard_failed(f"{request.method} {request.path_url} → 202")


def _code(response: requests.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None


# --- cases ---------------------------------------------------------------------------------------
def _valid_create(case: schemathesis.Case) -> bool:
    """A create with a valid body: it books unless its Idempotency-Key is too long (an empty
    one may count as absent)."""
    if case.operation.method.upper() != "POST" or case.operation.path != STORIES:
        return False
    media = (case.media_type or "application/json").split(";")[0].strip().lower()
    return media == "application/json" and _CREATE_VALIDATOR.is_valid(case.body)


class Fuzzing:
    """How the property layer calls the target: its account, session and budget."""

    def __init__(self, base_url: str, key: str, session: ThrottledSession, *, verify) -> None:
        self.base_url = base_url
        self.key = key
        self.session = session
        self.verify = verify
        self.ledger = session.ledger

    def prepare(self, case: schemathesis.Case) -> list:
        """Give the case a fresh Idempotency-Key (keeping what was fuzzed), or the guard when
        the budget cannot pay for the book it would create; returns the checks to leave out."""
        headers = dict(case.headers or {})
        key = headers.get(IDEMPOTENCY_HEADER)
        if isinstance(key, str) and key.strip(" \t") and not is_guarded(key):
            unique = str(uuid.uuid4())
            headers[IDEMPOTENCY_HEADER] = f"{key[: _MAX_KEY - len(unique) - 1]}-{unique}"
        excluded = []
        if _valid_create(case):
            if not is_guarded(headers.get(IDEMPOTENCY_HEADER)) and not self.ledger.try_reserve(
                credits_of(case.body)
            ):
                headers[IDEMPOTENCY_HEADER] = guard_key()
                excluded.append(positive_data_acceptance)
            if is_guarded(headers.get(IDEMPOTENCY_HEADER)):
                self.ledger.check_guard()
        if headers:
            case.headers = headers
        return excluded

    def call_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "headers": {"x-api-key": self.key},
            "session": self.session,
            "verify": self.verify,
        }
