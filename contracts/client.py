"""The suite's HTTP client for the behaviour tests, on the one ``SendPolicy`` of
``contracts.transport`` (throttle, retry, credits).

An ``ApiAnswer`` keeps what a failing assertion needs to explain itself (method, path, what was
sent, status, body), with anything shaped like an API key masked, so CI logs never show a secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.lifeline import LifeLine
from contracts.terms import (
    API_KEY_HEADER,
    BEARER_SCHEME,
    IDEMPOTENCY_HEADER,
    RATE_LIMIT_LIMIT,
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_RESET,
    REPLAY_HEADER,
    SPEC,
    STORIES,
)
from contracts.throttle import header_int
from contracts.transport import (
    NO_JSON,
    Incoming,
    Outgoing,
    SendPolicy,
    fresh_idempotency_key,
    guard_key,
)
from mockserver.core.keys import mask

__all__ = ["SPEC", "STORIES", "Api", "ApiAnswer", "RateHeaders", "fresh_idempotency_key"]

#: "No JSON body given" (``None`` is the JSON null).
UNSET: Any = object()


@dataclass(frozen=True)
class RateHeaders:
    limit: int
    remaining: int
    reset: int


@dataclass(repr=False)
class ApiAnswer:
    """What the target answered to one request, with the request it answered."""

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
    def sent_key(self) -> str | None:
        return self.sent_headers.get(API_KEY_HEADER)

    @property
    def rate(self) -> RateHeaders | None:
        limit = header_int(self.headers, RATE_LIMIT_LIMIT)
        remaining = header_int(self.headers, RATE_LIMIT_REMAINING)
        reset = header_int(self.headers, RATE_LIMIT_RESET)
        if limit is None or remaining is None or reset is None:
            return None
        return RateHeaders(limit, remaining, reset)

    def describe(self) -> str:
        sent = ", ".join(f"{k}: {v[:80]}" for k, v in self.sent_headers.items())
        text = self.text if len(self.text) < 600 else self.text[:600] + "…"
        return mask(f"{self.method} {self.path} [{sent}] → {self.status} {text}")

    __str__ = __repr__ = describe


class Api:
    def __init__(
        self,
        base_url: str,
        *,
        policy: SendPolicy,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.policy = policy
        self.http = httpx.Client(base_url=base_url, timeout=timeout, verify=verify)

    @property
    def lifeline(self) -> LifeLine:
        return self.policy.throttle.lifeline

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
        json_body: Any = UNSET,
        content: bytes | str | None = None,
        throttled: bool = True,
    ) -> ApiAnswer:
        """One exchange (retried after a per-minute 429 unless ``throttled=False``)."""
        sent: dict[str, str] = {}
        if key is not None:
            sent[API_KEY_HEADER] = key
        if bearer is not None:
            sent["Authorization"] = f"{BEARER_SCHEME.capitalize()} {bearer}"
        sent.update(headers or {})
        body = json_body
        if json_body is not UNSET:
            content = json.dumps(json_body)
            sent.setdefault("content-type", "application/json")
        else:
            body = _parsed(content)
        times: dict[str, float] = {}

        def transmit() -> httpx.Response:
            times["sent"] = time.monotonic()
            response = self.http.request(method, path, headers=sent, content=content)
            times["received"] = time.monotonic()
            return response

        def incoming(response: httpx.Response) -> Incoming:
            return Incoming(response.status_code, response.headers, _code(response.text))

        response = self.policy.send(
            Outgoing(method, path, sent, body), transmit, incoming, throttled=throttled
        )
        return ApiAnswer(
            method,
            path,
            response.status_code,
            response.headers,
            response.text,
            sent,
            times["received"],
            times["sent"],
        )

    def create(
        self,
        body: Any,
        *,
        key: str | None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ApiAnswer:
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra[IDEMPOTENCY_HEADER] = idempotency_key
        return self.send("POST", STORIES, key=key, headers=extra, json_body=body, **kwargs)

    def probe(
        self,
        body: Any = UNSET,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        **kwargs: Any,
    ) -> ApiAnswer:
        """A create a correct server refuses for its over-long Idempotency-Key (the guard),
        whatever the body: it never books. What the answer says about the body depends on the
        order the target checks in (``contracts.probes`` learns it)."""
        extra = {IDEMPOTENCY_HEADER: guard_key(), **(headers or {})}
        return self.send(
            "POST", STORIES, key=key, headers=extra, json_body=body, content=content, **kwargs
        )

    def get_story(self, book_id: str, *, key: str | None = None, **kwargs: Any) -> ApiAnswer:
        return self.send("GET", f"{STORIES}/{book_id}", key=key, **kwargs)


def _parsed(content: bytes | str | None) -> Any:
    if content is None:
        return NO_JSON
    try:
        return json.loads(content)
    except ValueError:
        return NO_JSON


def _code(text: str) -> str | None:
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None
