"""The live server: a thin aiohttp adapter over ``mockserver.gateway``.

aiohttp's own errors (unparseable requests, over-long headers) are answered with the same JSON
envelope as everything else, through ``EnvelopeRequestHandler``.
"""

from __future__ import annotations

import json
import logging
import ssl
import uuid
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from mockserver.control import ControlApi
from mockserver.core import keys
from mockserver.core.service import MockService
from mockserver.gateway import JSON_TYPE, Gateway, HttpRequest
from mockserver.spec import load_spec

access_log = logging.getLogger("mockserver.access")


@dataclass
class Listening:
    """Where the server is reachable; known only once the socket is bound."""

    base_url: str = "http://127.0.0.1:8080"


GATEWAY = web.AppKey("gateway", Gateway)
LISTENING = web.AppKey("listening", Listening)


async def _read_body(request: web.BaseRequest, limit: int) -> bytes:
    """Read at most ``limit + 1`` bytes: enough to tell an over-size body without buffering it."""
    chunks, size = [], 0
    while size <= limit:
        chunk = await request.content.readany()
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def _dispatch(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    body = await _read_body(request, load_spec().max_body_bytes) if request.body_exists else b""
    reply = await gateway.handle(
        HttpRequest(
            method=request.method,
            path=request.raw_path.partition("?")[0],
            headers=list(request.headers.items()),
            body=body,
            client=request.remote or "",
            base_url=request.app[LISTENING].base_url,
        )
    )
    return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


def create_app(service: MockService) -> web.Application:
    """The aiohttp application for ``service`` (state setup and teardown included)."""
    app = web.Application(client_max_size=load_spec().max_body_bytes + 1)
    app[GATEWAY] = Gateway(service, control=ControlApi(service))
    app[LISTENING] = Listening()
    app.router.add_route("*", "/{tail:.*}", _dispatch)

    async def lifecycle(_: web.Application):
        await service.start()
        yield
        await service.close()

    app.cleanup_ctx.append(lifecycle)
    return app


class AccessLogger(AbstractAccessLogger):
    """One line per request: method, path, status, latency, request id. Keys are masked."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms %s",
            request.method,
            keys.mask(request.path_qs),
            response.status,
            time * 1000,
            response.headers.get("X-Request-Id", "-"),
        )


class EnvelopeRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; its text body is discarded
        code = "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
        request_id = str(uuid.uuid4())
        body = {
            "ok": False,
            "requestId": request_id,
            "error": {"code": code, "message": "The request could not be processed."},
        }
        response = web.Response(
            status=status if status < 500 else 500,
            body=json.dumps(body).encode(),
            headers={"content-type": JSON_TYPE, "X-Request-Id": request_id},
        )
        response.force_close()
        return response


class EnvelopeServer(Server):
    def __call__(self) -> RequestHandler:
        return EnvelopeRequestHandler(self, loop=self._loop, **self._kwargs)


class EnvelopeRunner(web.AppRunner):
    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = EnvelopeServer
        return server


async def start(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    ssl_context: ssl.SSLContext | None = None,
    reuse_port: bool = False,
    access_log_enabled: bool = True,
) -> tuple[EnvelopeRunner, str]:
    """Start serving ``app``; returns the runner (``await runner.cleanup()`` stops it) and the
    base URL with the port actually bound."""
    runner = EnvelopeRunner(
        app,
        access_log_class=AccessLogger,
        access_log=access_log if access_log_enabled else None,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_port=reuse_port)
    await site.start()
    bound = runner.addresses[0][1] if port == 0 else port
    scheme = "https" if ssl_context else "http"
    shown_host = f"[{host}]" if ":" in host else host
    app[LISTENING].base_url = f"{scheme}://{shown_host}:{bound}"
    return runner, app[LISTENING].base_url
