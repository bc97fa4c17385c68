"""HTTP semantics of the mock, framework-free: routing, 404/405, the envelope, request ids,
errors rendered once and (optionally) response validation against the spec. The public API's
operations are ``mockserver.http.api``'s pipelines, the control API's ``mockserver.http.control``.

Adapters turn their native request into an ``HttpRequest`` and send back the ``HttpReply``:
``mockserver.serve.app`` for the live server, ``mockserver.testing.respx_router`` for in-process
tests.
One code path serves both, so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from mockserver.core import keys
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.ids import new_uuid
from mockserver.core.journal import Exchanged
from mockserver.core.service import MockService
from mockserver.http.api import PublicApi, presented_key
from mockserver.http.assets import ASSET_PATH, asset_reply
from mockserver.http.conformance import ResponseChecker
from mockserver.http.control import ControlApi, control_spec
from mockserver.http.messages import (
    JSON_TYPE,
    REQUEST_ID_HEADER,
    Exchange,
    Headers,
    HttpReply,
    HttpRequest,
    envelope,
    error_envelope,
    media_type,
)
from mockserver.http.routing import Operation, Router
from mockserver.spec import load_spec

__all__ = ["JSON_TYPE", "Exchange", "Gateway", "Headers", "HttpReply", "HttpRequest", "envelope"]

log = logging.getLogger("mockserver")
_spec = load_spec()
_REQUEST_ID = re.compile(_spec.request_id_pattern)

Params = dict[str, str]
Handler = Callable[[Exchange, Params], Awaitable[HttpReply]]


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
        self.api = PublicApi(service, self.failure_reply)
        self._router.add_paths(_spec.document, self.api.operation, checked=True)
        self._router.add(ASSET_PATH, {"GET": Operation(None, self._asset)})
        if control is not None:
            self._router.add_paths(control_spec().document, control.operation, checked=False)
        #: Every spec violation seen by the response validator (tests assert it stays empty).
        self.violations: list[str] = []

    # --- entry point ---------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> HttpReply:
        started = time.perf_counter()
        exchange = self._exchange(request)
        segments = request.path.split("/")[1:]
        if "%" in request.path:
            segments = [unquote(segment) for segment in segments]
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
        except Exception as exc:
            reply = self.failure_reply(exchange, exc)
        if exchange.delay_ms:
            await asyncio.sleep(exchange.delay_ms / 1000)
        reply.headers[REQUEST_ID_HEADER] = exchange.request_id
        if self.checker is not None and operation is not None:
            reply = self._validated(operation, reply, exchange)
        if self.service.journal.wants(request.path):
            await self._journal(exchange, reply, operation, started)
        return reply

    def reject(self, request: HttpRequest, error: ApiError) -> HttpReply:
        """Answer ``error`` for a request the adapter could not hand over (an unreadable body,
        an HTTP-level failure): the same envelope and request-id echo as everything else."""
        return self.error_reply(self._exchange(request), error)

    async def _journal(
        self, exchange: Exchange, reply: HttpReply, operation: str | None, started: float
    ) -> None:
        """Tell the request journal (``/_mock/requests``) about an answered exchange."""
        key = exchange.principal.key if exchange.principal else None
        if key is None:  # refused before or while authorizing: whose key was it?
            with contextlib.suppress(BackendUnavailable):
                key = await self.service.accounts.find_key(presented_key(exchange.headers))
        request = exchange.request
        exchanged = Exchanged(  # positional: built on every request, and kwargs cost
            request.method,
            request.path,
            request.query,
            exchange.headers.items(),
            request.body,
            reply.status,
            reply.headers,
            reply.body,
            exchange.request_id,
            operation,
            None if key is None else key.user_id,
            None if key is None else key.key_id,
            exchange.arrived_at,
            (time.perf_counter() - started) * 1000,
        )
        await self.service.journal.record(exchanged)

    def _exchange(self, request: HttpRequest) -> Exchange:
        headers = Headers(request.headers)
        return Exchange(request, headers, self._request_id(headers))

    async def _asset(self, exchange: Exchange, params: Params) -> HttpReply:
        return await asset_reply(self.service, params["bookId"], params["file"])

    # --- rendering -----------------------------------------------------------------------
    @staticmethod
    def _request_id(headers: Headers) -> str:
        values = headers.get_all(REQUEST_ID_HEADER)
        if len(values) == 1 and _REQUEST_ID.fullmatch(values[0]):
            return values[0]
        return new_uuid()

    def failure_reply(self, exchange: Exchange, failure: Exception) -> HttpReply:
        """How anything a handler raises is answered: an ``ApiError`` as itself, an unreachable
        state store as 503, anything else as 500 (logged, keys masked)."""
        if isinstance(failure, ApiError):
            return self.error_reply(exchange, failure)
        if isinstance(failure, BackendUnavailable):
            # The shared records (users, keys, books) live in Redis and it is down: an
            # upstream dependency failed, not the mock. The outage itself is logged once, by
            # the outage monitor.
            log.debug(
                "state store unavailable (request %s): %s", keys.mask(exchange.request_id), failure
            )
            unavailable = ApiError(
                "EXTERNAL_SERVICE_ERROR", "The state store is unavailable.", status=503
            )
            return self.error_reply(exchange, unavailable)
        log.error("unhandled error (request %s)", keys.mask(exchange.request_id), exc_info=failure)
        return self.error_reply(exchange, ApiError("INTERNAL_ERROR", "Internal server error."))

    @staticmethod
    def error_reply(exchange: Exchange, error: ApiError) -> HttpReply:
        headers = {"content-type": JSON_TYPE}
        headers.update(error.headers)
        headers[REQUEST_ID_HEADER] = exchange.request_id
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
        assert self.checker is not None
        return self.checker.violations(operation, reply.status, reply.headers, body)
