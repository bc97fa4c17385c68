"""The live server: a thin aiohttp adapter over ``mockserver.http.gateway``.

Whatever aiohttp would answer on its own is answered with the same JSON envelope as everything
else: unparseable requests (``EnvelopeRequestHandler.handle_error``), unmet ``Expect``ations and
bodies it cannot read (``_dispatch``). Routing is the gateway's alone (``EnvelopeServer``).

Slow clients cannot hold connections: a request head must arrive within the header timeout
(aiohttp has none), its body within the same time after it, and an idle keep-alive connection
closes after the keep-alive timeout (aiohttp's own, 3630 s unless told).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import traceback
from dataclasses import dataclass
from typing import Any

from aiohttp import HttpVersion11, hdrs, web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from mockserver.core import keys
from mockserver.core.dev import DEFAULT_ADMIN_TOKEN
from mockserver.core.errors import ApiError
from mockserver.core.service import MockService
from mockserver.http.control import ControlApi
from mockserver.http.gateway import Gateway, error_for_status
from mockserver.http.messages import REQUEST_ID_HEADER, HttpReply, HttpRequest
from mockserver.spec import load_spec

log = logging.getLogger("mockserver.http")
access_log = logging.getLogger("mockserver.access")
_MAX_BODY_BYTES = load_spec().max_body_bytes
#: Bodies up to this size are read to the end even when over the limit (then discarded).
_DRAIN_BYTES = 16 * 1024 * 1024
#: Longest a request head may take to arrive, from the connection's start or its first byte.
DEFAULT_HEADER_TIMEOUT = 10.0
#: Longest a keep-alive connection may stay idle between requests.
DEFAULT_KEEPALIVE_TIMEOUT = 15.0


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` listens on loopback only (a name counts if every address it
    resolves to is loopback; "" and unresolvable names do not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def exposure_refusal(host: str, admin_token: str) -> str | None:
    """Why the mock must not listen on ``host`` with ``admin_token``, or None if it may: off
    loopback, the public default token (or none at all) would hand every dev key to anyone on
    the network."""
    if admin_token not in ("", DEFAULT_ADMIN_TOKEN) or is_loopback(host):
        return None
    return (
        f"cbk-mock: refusing to listen on {host or 'every interface'} with the default admin "
        "token (anyone on the network could read the dev keys); set your own with "
        "--admin-token TOKEN or adminToken in --config"
    )


@dataclass
class Listening:
    """Where the server is reachable; known only once the socket is bound."""

    base_url: str = "http://127.0.0.1:8080"


GATEWAY = web.AppKey("gateway", Gateway)
LISTENING = web.AppKey("listening", Listening)


def _message(request: web.BaseRequest, base_url: str = "") -> HttpRequest:
    return HttpRequest(
        method=request.method,
        path=request.rel_url.raw_path,  # also for absolute-form request lines
        query=request.rel_url.raw_query_string,
        headers=request.headers,
        client=request.remote or "",
        base_url=base_url,
    )


#: Longest excerpt of a request a log line quotes (parser errors quote raw request bytes).
LOGGED_EXCERPT_CHARS = 300


def _loggable(text: str) -> str:
    """One line, keys masked, at most ``LOGGED_EXCERPT_CHARS`` long."""
    line = keys.mask(" ".join(text.split()))
    if len(line) <= LOGGED_EXCERPT_CHARS:
        return line
    return line[:LOGGED_EXCERPT_CHARS] + f"… ({len(line)} characters)"


def _response(reply: HttpReply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


async def _read_body(request: web.BaseRequest, limit: int) -> tuple[bytes, bool, bool]:
    """(body, oversized, drained). Keeps at most ``limit + 1`` bytes — enough to tell an
    over-size body — and reads the rest of a bounded one to the end, so its sender gets the
    answer instead of a reset connection. A body declared or found to be over ``_DRAIN_BYTES``
    is left unread (``drained`` False): the connection must then be closed. (The caller bounds
    the time it may take.)"""
    if request.content_length is not None and request.content_length > _DRAIN_BYTES:
        return b"", True, False
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks), size > limit, True
        if size <= limit:
            chunks.append(chunk)
        size += len(chunk)
        if size > _DRAIN_BYTES:
            return b"".join(chunks), True, False


async def _expect(request: web.BaseRequest) -> None:
    """What aiohttp's router does for ``Expect`` (``start`` serves without it): HTTP/1.1 asks
    for ``100 Continue`` before sending the body; any other expectation cannot be met."""
    expectation = request.headers.get(hdrs.EXPECT)
    if expectation is None or request.version != HttpVersion11:
        return
    if expectation.lower() != "100-continue":
        raise ApiError("BAD_REQUEST", "Only the expectation 100-continue is supported.")
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0  # the interim answer is not the response


async def _dispatch(
    request: web.BaseRequest, gateway: Gateway, base_url: str, body_timeout: float | None = None
) -> web.Response:
    message = _message(request, base_url)
    drained = True
    try:
        await _expect(request)
    except ApiError as error:
        return _closing(_response(gateway.reject(message, error)))
    if request.body_exists:
        try:
            if request.content.is_eof():  # all of it came with the head: nothing to wait for
                body = await _read_body(request, _MAX_BODY_BYTES)
            else:
                async with asyncio.timeout(body_timeout):
                    body = await _read_body(request, _MAX_BODY_BYTES)
            message.body, message.oversized, drained = body
        except TimeoutError:
            late = ApiError(
                "BAD_REQUEST", f"The request body did not arrive in {body_timeout:g} s."
            )
            return _unread_body(request, _response(gateway.reject(message, late)))
        except Exception as exc:  # broken chunking or content-encoding, a body cut short
            log.info("unreadable request body: %s", _loggable(str(exc)))
            unreadable = ApiError("BAD_REQUEST", "The request body could not be read.")
            return _unread_body(request, _response(gateway.reject(message, unreadable)))
    response = _response(await gateway.handle(message))
    return response if drained else _closing(response)


def _closing(response: web.Response) -> web.Response:
    response.force_close()
    return response


def _unread_body(request: web.BaseRequest, response: web.Response) -> web.Response:
    """Answer and close without reading on: aiohttp would otherwise linger, reading the rest of
    a body that never comes or cannot be decoded (and log that failure as unhandled)."""
    if isinstance(request.protocol, EnvelopeRequestHandler):
        request.protocol.stop_reading_body()
    return _closing(response)


async def _routed(request: web.Request) -> web.Response:
    return await _dispatch(request, request.app[GATEWAY], request.app[LISTENING].base_url)


def create_app(service: MockService) -> web.Application:
    """The aiohttp application for ``service`` (state setup and teardown included). Mount it
    anywhere; ``start`` serves it without aiohttp's router, as the gateway routes anyway."""
    app = web.Application()
    app[GATEWAY] = Gateway(service, control=ControlApi(service))
    app[LISTENING] = Listening()
    app.router.add_route("*", r"/{tail:[\s\S]*}", _routed)  # newlines too

    async def lifecycle(_: web.Application):
        await service.start()
        yield
        await service.close()

    app.cleanup_ctx.append(lifecycle)
    return app


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, latency, request id. Keys are masked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        line = (
            f"{request.method} {request.path_qs} {response.status} {time * 1000:.1f}ms "
            f"{response.headers.get(REQUEST_ID_HEADER, '-')}"
        )
        self.logger.info("%s", keys.mask(line))


class EnvelopeRequestHandler(RequestHandler):
    """Answers requests aiohttp cannot parse (or whose handler crashed) with the envelope, and
    closes a connection whose request head does not arrive within ``header_timeout``: from the
    connection's start, or from the first byte of a later request (between requests, the idle
    connection is aiohttp's keep-alive timeout's)."""

    def __init__(self, manager: EnvelopeServer, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gateway = manager.gateway  # the manager is dropped when the connection is lost
        self._header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        #: The body stream of the latest request parsed (``eof_received`` may cut it short).
        self._latest_payload: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._head_timer = self._loop.call_later(self._header_timeout, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages:
            self._latest_payload = self._messages[-1][1]
        # Cheap on the hot path: a whole head in one read resolves the waiter at once.
        if self._head_timer is None:
            waiter = self._waiter
            if waiter is not None and not waiter.done():  # idle, and part of a head came
                self._head_timer = self._loop.call_later(self._header_timeout, self._head_timed_out)

    def head_arrived(self) -> None:
        """The request reached the handler: its head was in time."""
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def eof_received(self) -> bool | None:  # type: ignore[override]  # asyncio's allows True
        """The client half-closed. A request that came in full or in part can still be
        answered, so the transport stays open for the answer; a body cut short fails to read
        (400 BAD_REQUEST). A connection with nothing to answer just closes."""
        payload = self._latest_payload
        waiter = self._waiter
        idle = not self._messages and waiter is not None and not waiter.done()
        if payload is None or idle:
            return None
        if not payload.is_eof():
            payload.set_exception(ConnectionResetError("the body ended early"))
        self.close()  # no further requests: close once the answer is out
        return True

    def stop_reading_body(self) -> None:
        """The answer goes out without the rest of the body and the connection closes: no
        lingering to read what may never come."""
        self._lingering_time = 0.0

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not (self._messages or self._request_in_progress):
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.head_arrived()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            details = "".join(traceback.format_exception(exc)) if exc else message or ""
            log.error("error handling request from %s: %s", request.remote, keys.mask(details))
        else:
            log.info("unparseable request from %s: %s", request.remote, _loggable(str(exc)))
        if request.writer.output_size > 0:
            raise ConnectionError("the response has started; cannot send an error instead")
        if status >= 500:
            error = error_for_status(status, "Internal server error.")
        else:
            error = error_for_status(status, "The request could not be parsed as HTTP.")
        return _closing(_response(self._gateway.reject(_message(request), error)))


class EnvelopeServer(Server):
    """Hands every request straight to the gateway, which does the routing (so no aiohttp
    route, and none of its text/plain errors, stands between them)."""

    def __init__(
        self,
        gateway: Gateway,
        listening: Listening,
        *,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(self._handle, **kwargs)
        self.gateway = gateway
        self._listening = listening
        self._header_timeout = header_timeout

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        request.protocol.head_arrived()  # type: ignore[attr-defined]
        return await _dispatch(
            request, self.gateway, self._listening.base_url, self._header_timeout
        )

    def __call__(self) -> RequestHandler:
        return EnvelopeRequestHandler(
            self, loop=self._loop, header_timeout=self._header_timeout, **self._kwargs
        )


class EnvelopeRunner(web.AppRunner):
    async def _make_server(self) -> Server:
        await super()._make_server()  # the app's startup; the server it makes goes unused
        return EnvelopeServer(
            self.app[GATEWAY],
            self.app[LISTENING],
            loop=asyncio.get_running_loop(),
            **self._kwargs,
        )


async def start(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    ssl_context: ssl.SSLContext | None = None,
    reuse_port: bool = False,
    access_log_enabled: bool = True,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
) -> tuple[EnvelopeRunner, str]:
    """Start serving ``app``; returns the runner (``await runner.cleanup()`` stops it) and the
    base URL with the port actually bound. Refuses (``ValueError``) a non-loopback ``host``
    while the control API has the default admin token."""
    refusal = exposure_refusal(host, app[GATEWAY].service.config.admin_token)
    if refusal is not None:
        raise ValueError(refusal)
    runner = EnvelopeRunner(
        app,
        access_log_class=AccessLogger,
        access_log=access_log if access_log_enabled else None,
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_port=reuse_port)
    await site.start()
    bound = runner.addresses[0][1] if port == 0 else port
    scheme = "https" if ssl_context else "http"
    shown_host = f"[{host}]" if ":" in host else host
    app[LISTENING].base_url = f"{scheme}://{shown_host}:{bound}"
    return runner, app[LISTENING].base_url
