"""HTTP semantics of the mock, framework-free: routing, 404/405, auth headers, the envelope,
request ids and (optionally) response validation against the spec.

Adapters turn their native request into an ``HttpRequest`` and send back the ``HttpReply``:
``mockserver.aiohttp_app`` for the live server, ``mockserver.respx_router`` for in-process tests.
One code path serves both, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from mockserver.conformance import ResponseChecker
from mockserver.core import scenarios
from mockserver.core.accounts import Principal
from mockserver.core.errors import ApiError
from mockserver.core.limits import RateLimit
from mockserver.core.service import MockService
from mockserver.core.validation import parse_json
from mockserver.spec import load_spec

log = logging.getLogger("mockserver")
_spec = load_spec()
_REQUEST_ID = re.compile(_spec.request_id_pattern)
_IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"]
_REPLAY_HEADER = _spec.rules["idempotency"]["replayHeader"]
JSON_TYPE = "application/json; charset=utf-8"


class Headers:
    """Case-insensitive, multi-valued request headers."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name.lower(), []).append(value)

    def get_all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def single(self, name: str) -> str | None:
        """The value of a header that must appear at most once (repeats: error)."""
        values = self.get_all(name)
        if len(values) > 1:
            raise ApiError("BAD_REQUEST", f"Header {name} must not be repeated.")
        return values[0] if values else None


@dataclass
class HttpRequest:
    method: str
    path: str  # raw (percent-encoded), without the query string
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    client: str = "127.0.0.1"
    base_url: str = "http://127.0.0.1:8080"


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    """One request in flight: what error rendering needs to know so far."""

    request: HttpRequest
    headers: Headers
    request_id: str
    rate: RateLimit | None = None
    delay_ms: int = 0


Handler = Callable[[Exchange, list[str]], Awaitable[HttpReply]]


def presented_key(headers: Headers) -> str | None:
    """``x-api-key`` wins over ``Authorization: Bearer``. None when no key was sent; "" when
    credentials were sent but are unusable (another scheme, conflicting repeats)."""
    api_keys = {v.strip() for v in headers.get_all("x-api-key") if v.strip()}
    if api_keys:
        return api_keys.pop() if len(api_keys) == 1 else ""
    authorizations = [v.strip() for v in headers.get_all("authorization") if v.strip()]
    if not authorizations:
        return None
    scheme, _, token = authorizations[0].partition(" ")
    return token.strip() if scheme.lower() == "bearer" and len(authorizations) == 1 else ""


def envelope(request_id: str, data: Any) -> bytes:
    return json.dumps({"ok": True, "requestId": request_id, "data": data}).encode()


def media_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    parsed = {}
    for param in params:
        name, _, val = param.partition("=")
        parsed[name.strip().lower()] = val.strip().strip('"').lower()
    return kind.strip().lower(), parsed


class Gateway:
    def __init__(
        self,
        service: MockService,
        *,
        control: Any | None = None,
        checker: ResponseChecker | None = None,
    ) -> None:
        self.service = service
        self.control = control
        self.checker = checker or (ResponseChecker() if service.config.validate_responses else None)
        #: Every spec violation seen by the response validator (tests assert it stays empty).
        self.violations: list[str] = []

    # --- entry point ---------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> HttpReply:
        headers = Headers(request.headers)
        exchange = Exchange(request, headers, self._request_id(headers))
        segments = [unquote(s) for s in request.path.split("/")[1:]]
        operation, reply = None, None
        try:
            operation, handler, allowed = self._route(request.method, segments)
            if handler is None:
                raise ApiError(
                    "METHOD_NOT_ALLOWED",
                    f"Method {request.method} is not allowed here.",
                    headers={"Allow": ", ".join(allowed)},
                )
            reply = await handler(exchange, segments)
        except ApiError as error:
            reply = self.error_reply(exchange, error)
        except Exception:
            log.exception("unhandled error (request %s)", exchange.request_id)
            reply = self.error_reply(exchange, ApiError("INTERNAL_ERROR", "Internal server error."))
        if exchange.delay_ms:
            await asyncio.sleep(exchange.delay_ms / 1000)
        reply.headers["X-Request-Id"] = exchange.request_id
        if self.checker is not None and operation is not None:
            reply = self._validated(operation, reply, exchange)
        return reply

    def _route(
        self, method: str, segments: list[str]
    ) -> tuple[str | None, Handler | None, tuple[str, ...]]:
        """(operationId or None, handler for this method or None, allowed methods)."""
        table: dict[str, tuple[str | None, Handler]]
        if segments[:2] == ["v1", "stories"] and len(segments) == 2:
            table = {"POST": ("createStory", self._create_story)}
        elif segments[:2] == ["v1", "stories"] and len(segments) == 3:
            table = {"GET": ("getStory", self._get_story)}
        elif segments[:1] == ["assets"] and len(segments) == 3:
            table = {"GET": (None, self._asset)}
        elif segments[:1] == ["_mock"] and self.control is not None:
            return (
                None,
                self.control.handler(method, segments[1:]),
                self.control.allowed(segments[1:]),
            )
        else:
            raise ApiError("NOT_FOUND", "No such endpoint.")
        operation, handler = table.get(method, (None, None))
        if handler is None:
            return None, None, tuple(table)
        return operation, handler, tuple(table)

    # --- operations ----------------------------------------------------------------------
    async def _authorize(
        self, exchange: Exchange
    ) -> tuple[Principal, scenarios.RequestScenario, float]:
        """Forced scenarios first, then auth → plan → per-minute limit."""
        scenario = (
            scenarios.parse_header(exchange.headers.get(scenarios.HEADER))
            if self.service.config.scenario_header
            else scenarios.RequestScenario()
        )
        exchange.delay_ms = scenario.delay_ms
        if scenario.error_status is not None:
            raise scenarios.forced_error(scenario.error_status)
        forced = await self.service.scenarios.next_error()
        if forced is not None:
            raise forced
        now = await self.service.now()
        principal, exchange.rate = await self.service.authorize(
            presented_key(exchange.headers), exchange.request.client, now
        )
        return principal, scenario, now

    async def _create_story(self, exchange: Exchange, _: list[str]) -> HttpReply:
        principal, scenario, now = await self._authorize(exchange)
        body = self._json_body(exchange)
        idempotency_key = exchange.headers.single(_IDEMPOTENCY_HEADER)
        accepted = await self.service.create_story(
            principal, body, idempotency_key, scenario.job, now
        )
        headers = {"content-type": JSON_TYPE, **exchange.rate.headers()}
        if accepted.replayed:
            headers[_REPLAY_HEADER] = "true"
        return HttpReply(202, headers, envelope(exchange.request_id, accepted.data()))

    async def _get_story(self, exchange: Exchange, segments: list[str]) -> HttpReply:
        principal, _, now = await self._authorize(exchange)
        story = await self.service.get_story(principal, segments[2], now, exchange.request.base_url)
        headers = {"content-type": JSON_TYPE, **exchange.rate.headers()}
        return HttpReply(200, headers, envelope(exchange.request_id, story))

    async def _asset(self, exchange: Exchange, segments: list[str]) -> HttpReply:
        name = segments[2].removesuffix(".png")
        if name == segments[2]:
            raise ApiError("NOT_FOUND", "Asset not found.")
        png = await self.service.asset(segments[1], name, await self.service.now())
        return HttpReply(200, {"content-type": "image/png", "cache-control": "max-age=86400"}, png)

    def _json_body(self, exchange: Exchange) -> Any:
        content_type = exchange.headers.single("content-type")
        kind, params = media_type(content_type or "")
        if kind != "application/json" or params.get("charset", "utf-8") not in ("utf-8", "utf8"):
            raise ApiError("BAD_REQUEST", "content-type must be application/json.")
        if len(exchange.request.body) > _spec.max_body_bytes:
            raise ApiError("BAD_REQUEST", f"Request body is over {_spec.max_body_bytes} bytes.")
        return parse_json(exchange.request.body)

    # --- rendering -----------------------------------------------------------------------
    def _request_id(self, headers: Headers) -> str:
        values = headers.get_all("x-request-id")
        if len(values) == 1 and _REQUEST_ID.fullmatch(values[0]):
            return values[0]
        return str(uuid.uuid4())

    def error_reply(self, exchange: Exchange, error: ApiError) -> HttpReply:
        headers = {"content-type": JSON_TYPE}
        if exchange.rate is not None:
            headers.update(exchange.rate.headers())
        headers.update(error.headers)
        body = {"ok": False, "requestId": exchange.request_id, "error": error.payload()}
        return HttpReply(error.status, headers, json.dumps(body).encode())

    def _validated(self, operation: str, reply: HttpReply, exchange: Exchange) -> HttpReply:
        problems = self.checker.violations(operation, reply.status, reply.headers, reply.json())
        if not problems:
            return reply
        self.violations.extend(problems)
        log.error("response violates openapi.yaml: %s", "; ".join(problems))
        error = ApiError(
            "INTERNAL_ERROR",
            "The mock's response violated openapi.yaml.",
            meta={"violations": problems},
        )
        failed = self.error_reply(exchange, error)
        failed.headers["X-Request-Id"] = exchange.request_id
        return failed
