"""HTTP semantics of the mock, framework-free: routing, 404/405, auth headers, the envelope,
request ids and (optionally) response validation against the spec.

Adapters turn their native request into an ``HttpRequest`` and send back the ``HttpReply``:
``mockserver.serve.app`` for the live server, ``mockserver.testing.respx_router`` for in-process
tests.
One code path serves both, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from mockserver.core import keys, scenarios
from mockserver.core.accounts import Principal
from mockserver.core.books import Book
from mockserver.core.codec import dumps
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.ids import new_uuid
from mockserver.core.service import MockService
from mockserver.http.conformance import ResponseChecker
from mockserver.http.control import ControlApi, control_spec
from mockserver.http.messages import (
    JSON_TYPE,
    EncodedJson,
    Exchange,
    Headers,
    HttpReply,
    HttpRequest,
    envelope,
    error_envelope,
    json_reply,
)
from mockserver.http.routing import Operation, Router
from mockserver.spec import load_spec

__all__ = ["JSON_TYPE", "Exchange", "Gateway", "Headers", "HttpReply", "HttpRequest", "envelope"]

log = logging.getLogger("mockserver")
_spec = load_spec()
_REQUEST_ID = re.compile(_spec.request_id_pattern)
_IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"]
_REPLAY_HEADER = _spec.rules["idempotency"]["replayHeader"]

Params = dict[str, str]
Handler = Callable[[Exchange, Params], Awaitable[HttpReply]]
#: Where the mock serves illustrations (the real API's storage host; not in openapi.yaml).
ASSET_PATH = "/assets/{bookId}/{file}"


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


def media_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    parsed = {}
    for param in params:
        name, _, val = param.partition("=")
        parsed[name.strip().lower()] = val.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def story_json(book: Book, now: float, asset_base: str) -> EncodedJson:
    """The story as of ``now``; a settled one is encoded once (pollers ask for it again and
    again, and it can no longer change)."""
    settled_at = book.settled_at
    if settled_at is not None and now >= settled_at:
        return _settled_story(book, asset_base)
    return EncodedJson(dumps(book.render(now, asset_base)))


@functools.lru_cache(maxsize=1024)
def _settled_story(book: Book, asset_base: str) -> EncodedJson:
    return EncodedJson(dumps(book.render(book.settled_at, asset_base)))


def error_for_status(status: int, message: str) -> ApiError:
    """The envelope error for a status an HTTP layer chose on its own (unparseable requests)."""
    if status == 404:
        return ApiError("NOT_FOUND", message)
    return ApiError("INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST", message)


class Gateway:
    def __init__(
        self,
        service: MockService,
        *,
        control: ControlApi | None = None,
        checker: ResponseChecker | None = None,
    ) -> None:
        self.service = service
        self.checker = checker or (ResponseChecker() if service.config.validate_responses else None)
        self._router: Router[Handler] = Router()
        api = {"createStory": self._create_story, "getStory": self._get_story}
        self._router.add_paths(_spec.document, api.__getitem__, checked=True)
        self._router.add(ASSET_PATH, {"GET": Operation(None, self._asset)})
        if control is not None:
            self._router.add_paths(control_spec().document, control.operation, checked=False)
        #: Every spec violation seen by the response validator (tests assert it stays empty).
        self.violations: list[str] = []

    # --- entry point ---------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> HttpReply:
        exchange = self._exchange(request)
        segments = [unquote(s) for s in request.path.split("/")[1:]]
        operation = None
        try:
            route = self._router.match(segments)
            if route is None:
                raise ApiError("NOT_FOUND", "No such endpoint.")
            if request.method not in route.operations:
                raise ApiError(
                    "METHOD_NOT_ALLOWED",
                    f"Method {request.method} is not allowed here.",
                    headers={"Allow": ", ".join(route.operations)},
                )
            operation, handler = route.operations[request.method]
            reply = await handler(exchange, route.params)
        except ApiError as error:
            reply = self.error_reply(exchange, error)
        except BackendUnavailable as exc:
            # The shared records (users, keys, books) live in Redis and it is down: an
            # upstream dependency failed, not the mock.
            # (The outage itself is logged once, by the outage monitor.)
            log.debug(
                "state store unavailable (request %s): %s", keys.mask(exchange.request_id), exc
            )
            unavailable = ApiError(
                "EXTERNAL_SERVICE_ERROR", "The state store is unavailable.", status=503
            )
            reply = self.error_reply(exchange, unavailable)
        except Exception:
            log.exception("unhandled error (request %s)", keys.mask(exchange.request_id))
            reply = self.error_reply(exchange, ApiError("INTERNAL_ERROR", "Internal server error."))
        if exchange.delay_ms:
            await asyncio.sleep(exchange.delay_ms / 1000)
        reply.headers["X-Request-Id"] = exchange.request_id
        if self.checker is not None and operation is not None:
            reply = self._validated(operation, reply, exchange)
        return reply

    def reject(self, request: HttpRequest, error: ApiError) -> HttpReply:
        """Answer ``error`` for a request the adapter could not hand over (an unreadable body,
        an HTTP-level failure): the same envelope and request-id echo as everything else."""
        return self.error_reply(self._exchange(request), error)

    def _exchange(self, request: HttpRequest) -> Exchange:
        headers = Headers(request.headers)
        return Exchange(request, headers, self._request_id(headers))

    # --- operations ----------------------------------------------------------------------
    async def _authorize(
        self, exchange: Exchange
    ) -> tuple[Principal, scenarios.RequestScenario, float]:
        """Forced errors first, then auth → plan → per-minute limit. A malformed scenario header
        is reported after the key is checked, so its 400 carries the rate-limit headers."""
        scenario, malformed = self._scenario(exchange.headers)
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
        if malformed is not None:
            raise malformed
        return principal, scenario, now

    def _scenario(self, headers: Headers) -> tuple[scenarios.RequestScenario, ApiError | None]:
        if not self.service.config.scenario_header:
            return scenarios.NO_SCENARIO, None
        try:
            return scenarios.parse_header(headers.single(scenarios.HEADER)), None
        except ApiError as error:
            return scenarios.NO_SCENARIO, error

    async def _create_story(self, exchange: Exchange, _: Params) -> HttpReply:
        principal, scenario, now = await self._authorize(exchange)
        body = self._json_body(exchange)
        idempotency_key = exchange.headers.single(_IDEMPOTENCY_HEADER)
        accepted = await self.service.create_story(
            principal, body, idempotency_key, scenario.job, now
        )
        reply = json_reply(exchange, 202, accepted.data())
        reply.headers.update(exchange.rate.headers())
        if accepted.replayed:
            reply.headers[_REPLAY_HEADER] = "true"
        return reply

    async def _get_story(self, exchange: Exchange, params: Params) -> HttpReply:
        principal, _, now = await self._authorize(exchange)
        book = await self.service.get_story(principal, params["id"])
        reply = json_reply(exchange, 200, story_json(book, now, exchange.request.base_url))
        reply.headers.update(exchange.rate.headers())
        return reply

    async def _asset(self, exchange: Exchange, params: Params) -> HttpReply:
        name = params["file"].removesuffix(".png")
        if name == params["file"]:
            raise ApiError("NOT_FOUND", "Asset not found.")
        png = await self.service.asset(params["bookId"], name, await self.service.now())
        return HttpReply(200, {"content-type": "image/png", "cache-control": "max-age=86400"}, png)

    @staticmethod
    def _json_body(exchange: Exchange) -> Any:
        content_type = exchange.headers.single("content-type")
        kind, params = media_type(content_type or "")
        if kind != "application/json" or params.get("charset", "utf-8") not in ("utf-8", "utf8"):
            raise ApiError("BAD_REQUEST", "content-type must be application/json.")
        return exchange.request.json_body()

    # --- rendering -----------------------------------------------------------------------
    @staticmethod
    def _request_id(headers: Headers) -> str:
        values = headers.get_all("x-request-id")
        if len(values) == 1 and _REQUEST_ID.fullmatch(values[0]):
            return values[0]
        return new_uuid()

    @staticmethod
    def error_reply(exchange: Exchange, error: ApiError) -> HttpReply:
        headers = {"content-type": JSON_TYPE}
        if exchange.rate is not None:
            headers.update(exchange.rate.headers())
        headers.update(error.headers)
        headers["X-Request-Id"] = exchange.request_id
        return HttpReply(error.status, headers, error_envelope(exchange.request_id, error))

    def _validated(self, operation: str, reply: HttpReply, exchange: Exchange) -> HttpReply:
        problems = self._problems(operation, reply)
        if not problems:
            return reply
        self.violations.extend(problems)
        log.error("response violates openapi.yaml: %s", "; ".join(problems))
        error = ApiError(
            "INTERNAL_ERROR",
            "The mock's response violated openapi.yaml.",
            meta={"violations": problems},
        )
        return self.error_reply(exchange, error)

    def _problems(self, operation: str, reply: HttpReply) -> list[str]:
        kind, _ = media_type(reply.headers.get("content-type", ""))
        if kind != "application/json":
            return [f"{operation} {reply.status}: content-type {kind or '(none)'} is not JSON"]
        try:
            body = reply.json()
        except ValueError:
            return [f"{operation} {reply.status}: body is not JSON"]
        return self.checker.violations(operation, reply.status, reply.headers, body)
