"""The validating proxy on the wire: a thin aiohttp adapter over ``mockserver.proxy.inspector``.

Requests are forwarded to the upstream with aiohttp's client (certificates verified; a private
CA with ``upstream_ca``) byte for byte, hop-by-hop headers aside, and its answers come back the
same way unless ``--strict`` replaces one. ``GET /_proxy/report`` answers the report so far.
Whatever the proxy answers itself (its report, an unreachable upstream, an unparseable request)
is the API's JSON envelope, rendered by the mock's own aiohttp adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from mockserver.core.errors import ApiError
from mockserver.core.ids import new_uuid
from mockserver.http.messages import JSON_TYPE, HttpReply, HttpRequest, envelope, error_envelope
from mockserver.proxy.inspector import Inspector
from mockserver.serve import app as aiohttp_app
from mockserver.serve.app import AccessLogger, EnvelopeServer, Listening

log = logging.getLogger("mockserver.proxy")
REPORT_PATH = "/_proxy/report"
PROXY_PREFIX = "/_proxy/"
#: Bodies larger than this (either way) are not forwarded: the proxy answers 400 / 502 itself.
MAX_BODY_BYTES = 16 * 1024 * 1024 - 1
DEFAULT_TIMEOUT = 60.0
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: Not forwarded upstream: aiohttp's client sets them (Host, length) or they would change the
#: answer's encoding (the proxy reads answers as identity).
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "expect", "accept-encoding"}
_NOT_RETURNED = _HOP_BY_HOP | {"content-length", "content-encoding"}


@dataclass(frozen=True)
class ProxyOptions:
    upstream: str
    upstream_ca: Path | None = None
    timeout: float = DEFAULT_TIMEOUT


def upstream_ssl(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates verified against the system's CAs, or only ``ca_file``'s."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class ValidatingProxy:
    """Forwards one request, hands the exchange to the inspector, answers the client."""

    def __init__(
        self, inspector: Inspector, options: ProxyOptions, session: aiohttp.ClientSession
    ) -> None:
        self.inspector = inspector
        self.options = options
        self._session = session
        self._base = options.upstream.rstrip("/")

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if path.startswith(PROXY_PREFIX):
            return self._own(request, path)
        message = aiohttp_app._message(request)
        try:
            await aiohttp_app._expect(request)
            body, oversized, drained = await aiohttp_app._read_body(request, MAX_BODY_BYTES)
        except ApiError as refused:
            return aiohttp_app._closing(_response(self.reject(message, refused)))
        except Exception as exc:  # broken chunking, a dropped connection
            log.info("unreadable request body: %s", aiohttp_app._loggable(str(exc)))
            unreadable = ApiError("BAD_REQUEST", "The request body could not be read.")
            return aiohttp_app._closing(_response(self.reject(message, unreadable)))
        if oversized or not drained:
            limit = f"The proxy forwards bodies up to {MAX_BODY_BYTES} bytes."
            too_large = ApiError("BAD_REQUEST", limit)
            return aiohttp_app._closing(_response(self.reject(message, too_large)))
        message.body = body
        flight = self.inspector.begin(message)
        try:
            status, headers, answer = await self._forward(request, body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return _response(self.inspector.lost(flight, f"{type(exc).__name__}: {exc}"))
        first_values = {name: value for name, value in reversed(list(headers.items()))}
        reply = HttpReply(status, first_values, answer)
        returned = self.inspector.finish(flight, reply)
        if returned is not reply:
            return _response(returned)
        return web.Response(status=status, headers=_returned(headers), body=answer)

    def reject(self, message: HttpRequest, error: ApiError) -> HttpReply:
        """The envelope for a request the proxy could not forward (the mock's adapter calls
        this for unparseable requests too)."""
        request_id = new_uuid()
        headers = {"content-type": JSON_TYPE, "X-Request-Id": request_id}
        return HttpReply(error.status, headers, error_envelope(request_id, error))

    def _own(self, request: web.BaseRequest, path: str) -> web.Response:
        message = HttpRequest(request.method, path)
        if path != REPORT_PATH:
            return _response(self.reject(message, ApiError("NOT_FOUND", "No such proxy endpoint.")))
        if request.method not in ("GET", "HEAD"):
            error = ApiError(
                "METHOD_NOT_ALLOWED",
                f"Method {request.method} is not allowed here.",
                headers={"Allow": "GET"},
            )
            reply = self.reject(message, error)
            reply.headers.update(error.headers)
            return _response(reply)
        request_id = new_uuid()
        headers = {"content-type": JSON_TYPE, "X-Request-Id": request_id}
        return web.Response(
            status=200, headers=headers, body=envelope(request_id, self.inspector.report())
        )

    async def _forward(
        self, request: web.BaseRequest, body: bytes
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        target = self._base + request.rel_url.raw_path_qs
        async with self._session.request(
            request.method,
            URL(target, encoded=True),
            headers=_forwarded(request.headers),
            data=body if body else None,
            allow_redirects=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as response:
            answer = await _read_answer(response)
            return response.status, response.headers, answer

    async def probe(self) -> None:
        """Ask ``/_mock/health`` whether the upstream is a cbk-mock (and on which clock)."""
        try:
            health = URL(self._base + "/_mock/health", encoded=True)
            async with self._session.get(health) as response:
                answer = await _read_answer(response)
                reply = HttpReply(response.status, dict(response.headers), answer)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("the upstream %s did not answer yet: %s", self._base, exc)
            return
        if self.inspector.upstream_health(reply):
            manual = self.inspector.clock.manual
            clock = "manual: followed through /_mock/clock" if manual else "system"
            log.info("the upstream is a cbk-mock (clock %s)", clock)


async def _read_answer(response: aiohttp.ClientResponse) -> bytes:
    chunks, size = [], 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ValueError(f"the upstream's answer is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _forwarded(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    named = {v.strip().lower() for v in headers.get("connection", "").split(",") if v.strip()}
    return CIMultiDict(
        (name, value)
        for name, value in headers.items()
        if name.lower() not in _NOT_FORWARDED and name.lower() not in named
    )


def _returned(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    return CIMultiDict((n, v) for n, v in headers.items() if n.lower() not in _NOT_RETURNED)


def _response(reply: HttpReply) -> web.Response:
    return web.Response(status=reply.status, headers=reply.headers, body=reply.body)


class _ProxyServer(EnvelopeServer):
    """The mock adapter's server, answering through the proxy instead of the gateway."""

    def __init__(self, proxy: ValidatingProxy, **kwargs: object) -> None:
        super().__init__(proxy, Listening(), **kwargs)  # type: ignore[arg-type]
        self._proxy = proxy

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        return await self._proxy.handle(request)


@contextlib.asynccontextmanager
async def serve_proxy(
    inspector: Inspector,
    options: ProxyOptions,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    access_log_enabled: bool = True,
) -> AsyncIterator[tuple[ValidatingProxy, str]]:
    """Serve the proxy until the block ends; yields it and its base URL."""
    connector = aiohttp.TCPConnector(ssl=upstream_ssl(options.upstream_ca))
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=True, trust_env=False
    ) as session:
        proxy = ValidatingProxy(inspector, options, session)
        await proxy.probe()
        server = _ProxyServer(
            proxy,
            loop=asyncio.get_running_loop(),
            access_log_class=AccessLogger,
            access_log=aiohttp_app.access_log if access_log_enabled else None,
        )
        runner = web.ServerRunner(server)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        try:
            yield proxy, f"http://{shown}:{bound}"
        finally:
            await runner.cleanup()


def report_json(inspector: Inspector) -> str:
    return json.dumps(inspector.report(), indent=2, ensure_ascii=False) + "\n"
