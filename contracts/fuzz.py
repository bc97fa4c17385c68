"""What the property layer needs around schemathesis: contract checks it does not have (the
envelope, request-id echo, rate-limit headers), a ``requests`` session that throttles and
counts credits like the suite's own client, and per-case preparation (fresh Idempotency-Keys;
a guard on creates the credit budget cannot pay for).

The checks apply to any schema carrying the contract's ``x-cbk`` extension, and judge
consistency only: they hold for every correct implementation, whatever its plan or limits.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contracts.expect import REQUEST_ID, Problem, envelope_problems, rate_header_problems
from contracts.terms import API_KEY_HEADER, IDEMPOTENCY_HEADER, REQUEST_ID_HEADER, SPEC
from contracts.transport import (
    NO_JSON,
    PRICING,
    Incoming,
    Outgoing,
    SendPolicy,
    guard_key,
    is_guarded,
)
from mockserver.spec import CreditRule

_MAX_KEY = SPEC.idempotency_key_max_length
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
    return None if value is None else _text(value)


def _text(value: str | bytes) -> str:
    """A header value as text (``requests`` lets one be bytes: Latin-1, as HTTP sends it)."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


@schemathesis.check
def cbk_envelope(ctx: schemathesis.CheckContext, response, case) -> bool | None:
    """Every body is the JSON envelope, its error code documented for its status."""
    if not _ours(case):
        return None
    problems = envelope_problems(response.status_code, _headers(response), _body(response))
    if problems:
        raise AssertionError("Not the contract's envelope: " + _described(problems))
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
    if not _ours(case) or not _sent(response, API_KEY_HEADER):
        return None
    status = response.status_code
    if status in _NO_RATE_HEADERS or status >= 500:
        return None
    problems = rate_header_problems(status, _headers(response), None)
    if problems:
        raise AssertionError("Rate-limit headers: " + _described(problems))
    return True


def _described(problems: list[Problem]) -> str:
    return "; ".join(f"[{clause_id}] {text}" for clause_id, text in problems)


# --- transport -----------------------------------------------------------------------------------
class ThrottledSession(requests.Session):
    """The ``requests`` session schemathesis calls through: every request goes through the
    suite's one ``SendPolicy`` (throttle, retry, credits), like the behaviour tests' ``Api``."""

    def __init__(self, policy: SendPolicy, base_url: str) -> None:
        super().__init__()
        self.policy = policy
        #: The base URL's path prefix, cut off to match requests to the spec's operations.
        self._prefix = urlsplit(base_url).path.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = request.path_url
        if self._prefix and path.startswith(self._prefix):
            path = path[len(self._prefix) :] or "/"
        headers = {name: _text(value) for name, value in request.headers.items()}
        outgoing = Outgoing(request.method or "GET", path, headers, _parsed(request.body))
        return self.policy.send(
            outgoing,
            lambda: super(ThrottledSession, self).send(request, **kwargs),
            lambda response: Incoming(response.status_code, response.headers, _code(response)),
        )


def _parsed(body: object) -> Any:
    """The JSON of a request body, or ``NO_JSON`` — for no body, and for a streamed one, which
    is left unread for the transport to send."""
    if not isinstance(body, bytes | bytearray | str):
        return NO_JSON
    try:
        return json.loads(body)
    except ValueError:
        return NO_JSON


def _code(response: requests.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None


# --- cases ---------------------------------------------------------------------------------------
def _paid_call(case: schemathesis.Case) -> CreditRule | None:
    """The credit rule of a case that books unless its Idempotency-Key is too long: a call of
    an operation ``x-cbk-credits`` prices, with a body its schema accepts."""
    rule = PRICING.rule_for(case.operation.method, case.operation.path)
    if rule is None:
        return None
    media = (case.media_type or "application/json").split(";")[0].strip().lower()
    valid = _body_validator(rule.operation_id)
    if valid is None:
        return rule
    return rule if media == "application/json" and valid.is_valid(case.body) else None


@functools.cache
def _body_validator(operation_id: str):
    _, _, operation = SPEC.operation(operation_id)
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return SPEC.validator(body["schema"]) if "schema" in body else None


class Fuzzing:
    """How the property layer calls the target: its accounts, session and budget.

    ``key_for`` picks the key of a case (on a deployment the spare key with the most requests
    left this minute); a stateful run keeps one key, so a created book stays its caller's."""

    def __init__(
        self, base_url: str, key_for: Callable[[], str], session: ThrottledSession, *, verify
    ) -> None:
        self.base_url = base_url
        self.key_for = key_for
        self.session = session
        self.verify = verify
        self.ledger = session.policy.ledger

    def prepare(self, case: schemathesis.Case) -> list:
        """Give the case a fresh Idempotency-Key (keeping what was fuzzed), or the guard when
        the budget cannot pay for the book it would create; returns the checks to leave out."""
        headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict(case.headers or {})
        key = headers.get(IDEMPOTENCY_HEADER)
        if isinstance(key, str) and key.strip(" \t") and not is_guarded(key):
            unique = str(uuid.uuid4())
            headers[IDEMPOTENCY_HEADER] = f"{key[: _MAX_KEY - len(unique) - 1]}-{unique}"
        excluded = []
        rule = _paid_call(case)
        if rule is not None:
            if not is_guarded(headers.get(IDEMPOTENCY_HEADER)) and not self.ledger.try_reserve(
                rule.cost(case.body)
            ):
                headers[IDEMPOTENCY_HEADER] = guard_key()
                excluded.append(positive_data_acceptance)
            if is_guarded(headers.get(IDEMPOTENCY_HEADER)):
                self.ledger.check_guard()
        if headers:
            case.headers = headers
        return excluded

    def call_kwargs(self, key: str | None = None) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "headers": {API_KEY_HEADER: key or self.key_for()},
            "session": self.session,
            "verify": self.verify,
        }
