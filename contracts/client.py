"""The suite's HTTP client: one place that throttles, counts credits and describes exchanges.

Replies keep what a failing assertion needs to explain itself (method, path, status, body), with
anything shaped like an API key masked, so CI logs never show a secret.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.budget import CreditLedger
from contracts.throttle import Throttle, header_int
from mockserver.core.keys import mask
from mockserver.spec import load_spec

SPEC = load_spec()
STORIES = "/v1/stories"
IDEMPOTENCY_HEADER = SPEC.rules["idempotency"]["header"]
REPLAY_HEADER = SPEC.rules["idempotency"]["replayHeader"]
REQUEST_ID_HEADER = SPEC.rules["requestId"]["header"]
MAX_PAGE_COUNT = SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["maximum"]
_UNSET: Any = object()
_RETRIES = 3


def fresh_idempotency_key() -> str:
    return f"cbk-contracts-{uuid.uuid4()}"


def guard_key() -> str:
    """An Idempotency-Key one character too long: a correct server rejects the request with
    ``fields["Idempotency-Key"]`` after it has judged the body — so a probe never books."""
    return fresh_idempotency_key().ljust(SPEC.idempotency_key_max_length + 1, "g")


def is_guarded(idempotency_key: Any) -> bool:
    """Whether a correct server must refuse this Idempotency-Key for its length (HTTP strips
    the value's surrounding whitespace before the server sees it)."""
    return (
        isinstance(idempotency_key, str)
        and len(idempotency_key.strip(" \t")) > SPEC.idempotency_key_max_length
    )


@dataclass(frozen=True)
class RateHeaders:
    limit: int
    remaining: int
    reset: int


@dataclass(repr=False)
class Reply:
    method: str
    path: str
    status: int
    headers: httpx.Headers
    text: str
    sent_headers: Mapping[str, str] = field(default_factory=dict)
    received_at: float = 0.0
    sent_at: float = 0.0

    @property
    def body(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def is_json(self) -> bool:
        kind = self.headers.get("content-type", "").split(";")[0].strip().lower()
        return kind == "application/json" and isinstance(self.body, dict)

    @property
    def data(self) -> Any:
        body = self.body
        return body.get("data") if isinstance(body, dict) else None

    @property
    def error(self) -> dict[str, Any]:
        body = self.body
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, dict) else {}

    @property
    def code(self) -> str | None:
        return self.error.get("code")

    @property
    def fields(self) -> dict[str, Any]:
        fields = self.error.get("fields")
        return fields if isinstance(fields, dict) else {}

    @property
    def replayed(self) -> bool:
        return self.headers.get(REPLAY_HEADER, "").lower() == "true"

    @property
    def rate(self) -> RateHeaders | None:
        values = [
            header_int(self.headers, f"x-ratelimit-{name}")
            for name in ("limit", "remaining", "reset")
        ]
        return None if None in values else RateHeaders(*values)

    def describe(self) -> str:
        sent = ", ".join(f"{k}: {v[:80]}" for k, v in self.sent_headers.items())
        text = self.text if len(self.text) < 600 else self.text[:600] + "…"
        return mask(f"{self.method} {self.path} [{sent}] → {self.status} {text}")

    __str__ = __repr__ = describe


def key_of(headers: Mapping[str, str]) -> str | None:
    """The API key a request presents, as the server reads it (x-api-key wins)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-api-key"):
        return lowered["x-api-key"]
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def credits_of(body: Any) -> int:
    """What accepting ``body`` costs: its pageCount, or the most a book can cost."""
    count = body.get("pageCount") if isinstance(body, dict) else None
    if isinstance(count, int | float) and not isinstance(count, bool) and count > 0:
        return int(count) * SPEC.credits_per_page
    return MAX_PAGE_COUNT * SPEC.credits_per_page


class Api:
    def __init__(
        self,
        base_url: str,
        *,
        throttle: Throttle,
        ledger: CreditLedger,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.throttle = throttle
        self.ledger = ledger
        self.http = httpx.Client(base_url=base_url, timeout=timeout, verify=verify)

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        bearer: str | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = _UNSET,
        content: bytes | str | None = None,
        throttled: bool = True,
    ) -> Reply:
        """One exchange. ``throttled=False`` for tests that drive the limit on purpose: no
        waiting, no retry after a 429."""
        sent: dict[str, str] = {}
        if key is not None:
            sent["x-api-key"] = key
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        sent.update(headers or {})
        body = json_body
        if json_body is not _UNSET:
            content = json.dumps(json_body)
            sent.setdefault("content-type", "application/json")
        elif content is not None:
            try:
                body = json.loads(content)
            except ValueError:
                body = None
        throttle_key = key_of(sent)
        guarded = method == "POST" and path == STORIES and is_guarded(sent.get(IDEMPOTENCY_HEADER))
        if guarded:
            self.ledger.check_guard()
        for attempt in range(_RETRIES):
            if throttled:
                self.throttle.before(throttle_key)
            sent_at = time.monotonic()
            response = self.http.request(method, path, headers=sent, content=content)
            reply = Reply(
                method,
                path,
                response.status_code,
                response.headers,
                response.text,
                sent,
                time.monotonic(),
                sent_at,
            )
            wait = self.throttle.after(throttle_key, reply.status, reply.headers, reply.code)
            if method == "POST" and path == STORIES and reply.status == 202 and not reply.replayed:
                self.ledger.charge(credits_of(body))
                if guarded:
                    self.ledger.guard_failed(reply.describe())
            retry = throttled and wait is not None
            if not retry or attempt == _RETRIES - 1:
                return reply
            self.throttle.pause(wait)
        raise AssertionError("unreachable")

    def create(
        self,
        body: Any,
        *,
        key: str | None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra[IDEMPOTENCY_HEADER] = idempotency_key
        return self.send("POST", STORIES, key=key, headers=extra, json_body=body, **kwargs)

    def probe(
        self,
        body: Any = _UNSET,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        **kwargs: Any,
    ) -> Reply:
        """A create that a correct server judges and then refuses for the over-long
        Idempotency-Key: checks the body's fate without booking anything."""
        extra = {IDEMPOTENCY_HEADER: guard_key(), **(headers or {})}
        return self.send(
            "POST", STORIES, key=key, headers=extra, json_body=body, content=content, **kwargs
        )

    def get_story(self, book_id: str, *, key: str | None = None, **kwargs: Any) -> Reply:
        return self.send("GET", f"{STORIES}/{book_id}", key=key, **kwargs)
