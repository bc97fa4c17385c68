"""The whole mock in-process, behind a respx router: no port, no subprocess, no network.

Every request an httpx client sends to the router's base URL (by default the API's production
URL, so an SDK needs no configuration) becomes a ``mockserver.http.gateway.HttpRequest`` and goes
through ``Gateway.handle`` — the code path the live server's aiohttp adapter uses — so
validation, auth, jobs, limits, idempotency and the clock behave identically.

Threading: the mock's state lives on one private event loop in a daemon thread, and only that
loop ever touches it. Sync clients block on ``run_coroutine_threadsafe(...).result()``; async
clients await the same future (``asyncio.wrap_future``) without blocking their own loop. One
loop for both means sync and async clients, several threads and several event loops may share
one router without racing on state, and a sync client called from inside an async test cannot
deadlock (it waits on another loop than its own).

Usage::

    with ChildrenBooksRouter() as cbk:
        created = httpx.post(f"{cbk.url}/v1/stories", json=body,
                             headers={"x-api-key": cbk.keys["pro"]})
        cbk.advance_clock(60)
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Coroutine, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import httpx
import respx
from respx.router import DEFAULT, Default

from mockserver.core.accounts import dev_keys
from mockserver.core.clock import TEST_CLOCK
from mockserver.core.config import MockConfig
from mockserver.core.runtime import build_service
from mockserver.http.control import ControlApi
from mockserver.http.gateway import Gateway
from mockserver.http.messages import HttpReply, HttpRequest
from mockserver.spec import load_spec
from mockserver.testing.sdk_kit import MockControl

__all__ = ["MOCK_ROUTE", "ChildrenBooksRouter", "InProcessMock", "InProcessTransport"]

T = TypeVar("T")
#: The name of the router's catch-all route (kept last, so routes you add take precedence).
MOCK_ROUTE = "childrenbooks-mock"
#: Longest a call may take: above the longest forced delay (``delay-ms`` caps at 30 s).
CALL_TIMEOUT = 60.0
#: Set while respx resolves a request for an async client: the side effect then answers with
#: a coroutine (awaited by respx) instead of blocking.
_ASYNC_CALLER: ContextVar[bool] = ContextVar("cbk_async_caller", default=False)


def production_url() -> str:
    """The API's production base URL, from ``openapi.yaml``: what an SDK talks to by default."""
    servers = load_spec().document["servers"]
    return next(s["url"] for s in servers if s["url"].startswith("https://"))


def _text(raw: bytes) -> str:
    """Bytes off the wire as the live server's parser (aiohttp) decodes them."""
    return raw.decode("utf-8", "surrogateescape")


def _serve_forever(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


def _stop_loop(loop: asyncio.AbstractEventLoop) -> None:
    if not loop.is_closed():
        loop.call_soon_threadsafe(loop.stop)


class InProcessMock:
    """The mock's service and gateway, owned by a private event loop in a daemon thread."""

    def __init__(self, config: MockConfig | None = None) -> None:
        self.config = config or MockConfig(clock=TEST_CLOCK)
        self.service = build_service(self.config)
        self.gateway = Gateway(self.service, control=ControlApi(self.service))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=_serve_forever, args=(self._loop,), name="cbk-mock-loop", daemon=True
        )
        self._thread.start()
        # Stops the thread if the mock is dropped without close() (it holds no reference back).
        self._finalizer = weakref.finalize(self, _stop_loop, self._loop)
        self.run(self.service.start())

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the mock's loop and wait for its result (from any thread)."""
        return self._submit(coroutine).result(timeout=CALL_TIMEOUT)

    async def arun(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Like ``run``, awaited from another event loop without blocking it."""
        return await asyncio.wait_for(asyncio.wrap_future(self._submit(coroutine)), CALL_TIMEOUT)

    def _submit(self, coroutine: Coroutine[Any, Any, T]):
        if self.closed:
            coroutine.close()
            raise RuntimeError("this in-process mock is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("the mock's own loop cannot wait for itself")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.run(self.service.close())
        finally:
            self._finalizer()
            self._thread.join(timeout=CALL_TIMEOUT)


class InProcessTransport:
    """Control calls handed to the in-process gateway on the mock's own loop: no socket."""

    def __init__(self, mock: InProcessMock, base_url: str) -> None:
        self._mock = mock
        self._base_url = base_url

    def __call__(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        request = HttpRequest(
            method, path, list(headers.items()), body or b"", base_url=self._base_url, query=query
        )
        reply = self._mock.run(self._mock.gateway.handle(request))
        return reply.status, reply.body


class ChildrenBooksRouter(respx.MockRouter, MockControl):
    """A respx router that answers like the ChildrenBooks API, with the control operations of
    ``mockserver.testing.sdk_kit.MockControl`` (``advance_clock``, ``fail_next_job``, ``usage``...).

    ``using="httpx"`` patches httpx itself rather than httpcore, for SDKs that bring their own
    transport. ``httpx.MockTransport(router.handler)`` (sync) or
    ``httpx.MockTransport(router.async_handler)`` (async) mount it without patching anything.
    Routes you add (``router.post("/v1/stories").mock(side_effect=httpx.ConnectError)``) are
    tried before the mock; inside one, ``router.handle(request)`` asks the mock.
    """

    def __init__(
        self,
        mock: InProcessMock | None = None,
        *,
        config: MockConfig | None = None,
        base_url: str | None = None,
        using: str | Default | None = DEFAULT,
        assert_all_mocked: bool = True,
        assert_all_called: bool = False,
    ) -> None:
        if mock is not None and config is not None:
            raise ValueError("pass a mock or a config, not both")
        self.url = (base_url or production_url()).rstrip("/")
        super().__init__(
            assert_all_called=assert_all_called,
            assert_all_mocked=assert_all_mocked,
            base_url=self.url,
            using=using,
        )
        self._owns_mock = mock is None
        self.mock = mock or InProcessMock(config)
        MockControl.__init__(
            self,
            self.url,
            InProcessTransport(self.mock, self.url),
            keys=dev_keys(),
            admin_token=self.mock.config.admin_token,
        )
        self.route(name=MOCK_ROUTE).mock(side_effect=self._respond)

    def __repr__(self) -> str:
        return f"ChildrenBooksRouter({self.url!r})"

    def add(self, route: respx.Route, *, name: str | None = None) -> respx.Route:
        added = super().add(route, name=name)
        if name != MOCK_ROUTE and MOCK_ROUTE in self.routes:
            super().add(self.routes.pop(MOCK_ROUTE), name=MOCK_ROUTE)
        return added

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _ASYNC_CALLER.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _ASYNC_CALLER.reset(token)

    def close(self) -> None:
        """Stop the in-process mock if this router created it."""
        if self._owns_mock:
            self.mock.close()

    # --- requests ------------------------------------------------------------------------
    def _respond(self, request: httpx.Request):
        return self.ahandle(request) if _ASYNC_CALLER.get() else self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The mock's answer to ``request`` (blocking)."""
        reply = self.mock.run(self.mock.gateway.handle(self._incoming(request, request.read())))
        return self._outgoing(request, reply)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        """The mock's answer to ``request``, awaited."""
        incoming = self._incoming(request, await request.aread())
        return self._outgoing(request, await self.mock.arun(self.mock.gateway.handle(incoming)))

    def _incoming(self, request: httpx.Request, body: bytes) -> HttpRequest:
        path, _, query = _text(request.url.raw_path).partition("?")
        return HttpRequest(
            method=request.method,
            path=path,
            query=query,
            headers=[(_text(name), _text(value)) for name, value in request.headers.raw],
            body=body,
            base_url=self.url,
        )

    @staticmethod
    def _outgoing(request: httpx.Request, reply: HttpReply) -> httpx.Response:
        # A HEAD answer has no body, as from any HTTP server.
        body = b"" if request.method == "HEAD" else reply.body
        return httpx.Response(reply.status, headers=reply.headers, content=body, request=request)
