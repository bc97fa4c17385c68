"""The mock's control operations (``control-api.yaml``) as Python calls: the one client of
``/_mock/``, for SDK authors' tests and for this project's own tools.

``MockControl`` blocks and ``AsyncMockControl`` awaits; both inherit every operation from one
definition, ``ControlOperations``. What carries a call is a transport:

* ``HttpTransport`` / ``AsyncHttpTransport``: HTTP to a running ``cbk-mock serve`` (urllib; the
  async one runs it in a worker thread), so SDKs not built on httpx can use it;
* ``mockserver.testing.respx_router.InProcessTransport``: straight into the in-process gateway,
  with no socket (``ChildrenBooksRouter`` is a ``MockControl`` over it).

Both end in ``mockserver.http.control.ControlApi``: method names, arguments, return values and
errors are identical, so a test reads the same against either. ``LiveMock`` and
``AsyncLiveMock`` are the clients of a running server.

Standard library only: importing this module loads neither aiohttp, httpx, PyYAML nor the mock.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from mockserver.core.dev import ADMIN_HEADER, DEFAULT_ADMIN_TOKEN, DEV_USERS, dev_user_id

__all__ = [
    "AsyncHttpTransport",
    "AsyncLiveMock",
    "AsyncMockControl",
    "AsyncTransport",
    "ControlOperations",
    "ControlReply",
    "HttpTransport",
    "LiveMock",
    "MockControl",
    "MockControlError",
    "RecordedRequest",
    "Transport",
]

#: (method, path, headers, body) → (status, body): one HTTP exchange.
Transport = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, bytes]]
AsyncTransport = Callable[[str, str, Mapping[str, str], bytes | None], Awaitable[tuple[int, bytes]]]
R = TypeVar("R")
_CONTROL_PREFIX = "/_mock/"


class MockControlError(Exception):
    """A control call the mock refused (unknown user, invalid body, wrong admin token...)."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" {fields}" if fields else ""))
        self.status = status
        self.code = code
        self.fields = fields or {}


class ControlReply(NamedTuple):
    """A control call's answer as sent: its status and parsed envelope."""

    status: int
    payload: Any

    @property
    def data(self) -> Any:
        """The envelope's ``data``; ``MockControlError`` for an error envelope."""
        if isinstance(self.payload, dict) and self.payload.get("ok") is True:
            return self.payload["data"]
        error = self.payload.get("error", {}) if isinstance(self.payload, dict) else {}
        raise MockControlError(
            self.status,
            error.get("code", "UNKNOWN"),
            error.get("message", repr(self.payload)[:200]),
            error.get("fields"),
        )


def _reply(status: int, body: bytes) -> ControlReply:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = body.decode("utf-8", "replace")
    return ControlReply(status, payload)


class HttpTransport:
    """Control calls over HTTP(S) to ``url`` with urllib. Loopback needs no proxy, whatever the
    environment says, so none is used."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __call__(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers=dict(headers)
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()


class AsyncHttpTransport:
    """``HttpTransport`` in a worker thread, so the caller's event loop keeps running (it may
    be the very loop serving the mock)."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._blocking = HttpTransport(url, timeout=timeout, ssl_context=ssl_context)

    async def __call__(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        return await asyncio.to_thread(self._blocking, method, path, headers, body)


@dataclass(frozen=True)
class RecordedRequest:
    """One exchange from the mock's request journal (``GET /_mock/requests``): what the client
    sent and what the mock answered. Keys are masked (``cbk_live_…abcd``); bodies are cut at
    4 KB. Times are the mock's clock."""

    seq: int
    request_id: str
    method: str
    path: str
    query: str
    #: (name, value) pairs as sent, keys masked.
    headers: tuple[tuple[str, str], ...]
    body: str | None
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: str | None
    #: ``error.code`` and the check that answered (``perMinuteLimit``, ``dailyCap``...).
    code: str | None
    check: str | None
    user_id: str | None
    key_id: str | None
    arrived_at: datetime
    answered_at: datetime
    duration_ms: float
    idempotency_key: str | None
    replayed: bool
    retry_after: int | None
    #: When trying again can succeed (``answered_at`` + ``retry_after``).
    resets_at: datetime | None
    raw: dict[str, Any] = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RecordedRequest:
        request, response = record["request"], record["response"]
        return cls(
            seq=record["seq"],
            request_id=record["requestId"],
            method=record["method"],
            path=record["path"],
            query=record["query"],
            headers=tuple((name, value) for name, value in request["headers"]),
            body=request["body"],
            status=record["status"],
            response_headers=tuple(response["headers"].items()),
            response_body=response["body"],
            code=record["code"],
            check=record["check"],
            user_id=record["userId"],
            key_id=record["keyId"],
            arrived_at=_instant(record["arrivedAt"]),
            answered_at=_instant(record["answeredAt"]),
            duration_ms=record["durationMs"],
            idempotency_key=record["idempotencyKey"],
            replayed=record["idempotentReplayed"],
            retry_after=record["retryAfter"],
            resets_at=None if record["resetsAt"] is None else _instant(record["resetsAt"]),
            raw=record,
        )

    def header(self, name: str) -> str | None:
        """A request header's (first) value, by case-insensitive name."""
        return _first(self.headers, name)

    def response_header(self, name: str) -> str | None:
        return _first(self.response_headers, name)

    def json(self) -> Any:
        """The request body parsed as JSON."""
        return json.loads(self.body or "null")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _first(pairs: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in pairs if key.lower() == name.lower()), None)


def _recorded(records: list[dict[str, Any]]) -> list[RecordedRequest]:
    return [RecordedRequest.from_record(record) for record in records]


class ControlOperations(abc.ABC, Generic[R]):
    """Every control operation, defined once. ``R`` is what a call gives back: its ``data``
    (``MockControl``) or an awaitable of it (``AsyncMockControl``).

    A *user* argument is a dev user's name (``"pro"``, ``"premium"``...) or a ``userId``
    returned by ``create_user``. Return values are the control API's ``data``; a refusal raises
    ``MockControlError``.
    """

    url: str
    admin_token: str

    @abc.abstractmethod
    def call(self, method: str, path: str, body: Any = None) -> R:
        """One control call by its path under ``/_mock/`` (see ``control-api.yaml``)."""

    @abc.abstractmethod
    def _converted(self, result: R, convert: Callable[[Any], Any]) -> R:
        """``convert`` applied to a call's ``data``: at once, or once awaited."""

    def _message(
        self, method: str, path: str, body: Any
    ) -> tuple[str, str, dict[str, str], bytes | None]:
        headers = {ADMIN_HEADER: self.admin_token, "content-type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        return method, _CONTROL_PREFIX + path, headers, data

    @staticmethod
    def user_id(user: str) -> str:
        """The ``userId`` of a dev user's name (dev user ids survive resets); others as given."""
        return dev_user_id(user) if user in DEV_USERS else user

    # --- state and clock -----------------------------------------------------------------
    def health(self) -> R:
        return self.call("GET", "health")

    def reset_state(self) -> R:
        """Forget everything (users, books, usage, idempotency, scenarios, clock); re-seed the
        dev users with their fixed keys."""
        return self.call("POST", "reset")

    def clock(self) -> R:
        """``{"mode": "manual" | "system", "now": ISO 8601}``."""
        return self.call("GET", "clock")

    def advance_clock(self, seconds: float) -> R:
        """Move the mock's time forward: jobs progress, rate-limit windows, UTC days and
        idempotency lifetimes roll. Pass it as an SDK's ``sleep`` to make backoff virtual."""
        return self.call("POST", "clock/advance", {"seconds": seconds})

    def set_clock(self, now: str | datetime) -> R:
        """Move the clock to a later instant (ISO 8601 string or aware datetime)."""
        value = now.isoformat() if isinstance(now, datetime) else now
        return self.call("POST", "clock/set", {"now": value})

    # --- users, keys, usage --------------------------------------------------------------
    def dev_users(self) -> R:
        """Dev user name → ``{apiKey, userId, keyId}``."""
        return self.call("GET", "dev-keys")

    def create_user(
        self, plan: str = "pro", *, name: str | None = None, monthly_credits: int | None = None
    ) -> R:
        """A new user with one key: ``{userId, keyId, apiKey, plan}``."""
        body: dict[str, Any] = {"plan": plan}
        if name is not None:
            body["name"] = name
        if monthly_credits is not None:
            body["monthlyCredits"] = monthly_credits
        return self.call("POST", "users", body)

    def user(self, user: str) -> R:
        """``{userId, name, plan, keys, books}``."""
        return self.call("GET", f"users/{self.user_id(user)}")

    def update_user(
        self, user: str, *, plan: str | None = None, monthly_credits: int | None = None
    ) -> R:
        body = {"plan": plan, "monthlyCredits": monthly_credits}
        return self.call(
            "PATCH", f"users/{self.user_id(user)}", {k: v for k, v in body.items() if v is not None}
        )

    def issue_key(self, user: str) -> R:
        return self.call("POST", f"users/{self.user_id(user)}/keys")

    def key_action(self, key_id: str, action: str) -> R:
        """``revoke``, ``rotate`` (answers the new key), ``suspend`` or ``unsuspend``."""
        return self.call("POST", f"keys/{key_id}/{action}")

    def usage(self, user: str = "pro") -> R:
        """``{booksToday, booksPerDay, creditsUsed, monthlyCredits, creditsRemaining}``."""
        return self.call("GET", f"users/{self.user_id(user)}/usage")

    def set_usage(
        self,
        user: str = "pro",
        *,
        books_today: int | None = None,
        credits_used: int | None = None,
    ) -> R:
        """Start a test at the edge of a limit (daily cap, monthly credits)."""
        body = {"booksToday": books_today, "creditsUsed": credits_used}
        return self.call(
            "PUT",
            f"users/{self.user_id(user)}/usage",
            {k: v for k, v in body.items() if v is not None},
        )

    def add_dashboard_book(self, user: str = "pro", **book: Any) -> R:
        """A completed book made "on the dashboard" (``source: web``), sharing the user's
        credits; ``book`` takes the ``DashboardBook`` fields (``title``, ``pageCount``...)."""
        return self.call("POST", f"users/{self.user_id(user)}/books", book)

    # --- forced scenarios ----------------------------------------------------------------
    def force_scenario(self, scenario: dict[str, Any]) -> R:
        """Queue a raw ``Scenario`` body (see ``control-api.yaml``)."""
        return self.call("POST", "scenarios", scenario)

    def queue_errors(self, status: int, count: int = 1) -> R:
        """The next ``count`` public API responses answer ``status`` (500, 502 or 503)."""
        return self.force_scenario({"error": status, "count": count})

    def fail_next_job(
        self,
        at_page: int = 2,
        *,
        count: int = 1,
        user: str | None = None,
        error_message: str | None = None,
    ) -> R:
        """The next ``count`` created jobs end ``failed`` when they reach ``at_page``."""
        return self.force_scenario(
            self._job_scenario("failAtPage", at_page, count, user, error_message)
        )

    def stall_next_job(self, at_page: int = 2, *, count: int = 1, user: str | None = None) -> R:
        """The next ``count`` created jobs stay ``processing`` at ``at_page`` forever."""
        return self.force_scenario(self._job_scenario("stallAtPage", at_page, count, user, None))

    def _job_scenario(
        self, kind: str, page: int, count: int, user: str | None, message: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {kind: page, "count": count}
        if user is not None:
            body["userId"] = self.user_id(user)
        if message is not None:
            body["errorMessage"] = message
        return body

    def scenarios(self) -> R:
        return self.call("GET", "scenarios")

    def clear_scenarios(self) -> R:
        return self.call("DELETE", "scenarios")

    # --- the request journal -------------------------------------------------------------
    def requests(
        self,
        *,
        user: str | None = None,
        key_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | str | None = None,
        code: str | None = None,
        since: str | datetime | None = None,
        limit: int | None = None,
    ) -> R:
        """What clients sent the public API and what the mock answered, newest first, as
        ``RecordedRequest``s: every filter given must match (``path`` takes a glob, ``status``
        a class like ``"4xx"``, ``since`` an instant of the mock's clock)."""
        filters = {
            "user": None if user is None else self.user_id(user),
            "keyId": key_id,
            "method": method,
            "path": path,
            "status": status,
            "code": code,
            "since": since.isoformat() if isinstance(since, datetime) else since,
            "limit": limit,
        }
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        records = self.call("GET", f"requests?{query}" if query else "requests")
        return self._converted(records, _recorded)

    def clear_requests(self) -> R:
        """Empty the request journal (a reset empties it too)."""
        return self.call("DELETE", "requests")


class MockControl(ControlOperations[Any]):
    """The control operations, blocking, over ``transport``.

    ``keys`` (dev user name → API key) default to what the mock says its dev keys are."""

    def __init__(
        self,
        url: str,
        transport: Transport,
        *,
        keys: Mapping[str, str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
    ) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self._transport = transport
        self._keys = dict(keys) if keys is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def send(self, method: str, path: str, body: Any = None) -> ControlReply:
        """One control call, its answer as sent (status included)."""
        return _reply(*self._transport(*self._message(method, path, body)))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self.send(method, path, body).data

    def _converted(self, result: Any, convert: Callable[[Any], Any]) -> Any:
        return convert(result)

    @property
    def keys(self) -> dict[str, str]:
        if self._keys is None:
            self._keys = {name: user["apiKey"] for name, user in self.dev_users().items()}
        return self._keys


class AsyncMockControl(ControlOperations[Awaitable[Any]]):
    """The control operations, awaitable, over ``transport``. ``keys`` are those given: an
    attribute cannot be awaited (``await control.dev_users()`` tells them)."""

    def __init__(
        self,
        url: str,
        transport: AsyncTransport,
        *,
        keys: Mapping[str, str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
    ) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self._transport = transport
        self._keys = dict(keys) if keys is not None else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    async def send(self, method: str, path: str, body: Any = None) -> ControlReply:
        """One control call, its answer as sent (status included)."""
        return _reply(*await self._transport(*self._message(method, path, body)))

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        return (await self.send(method, path, body)).data

    def _converted(self, result: Awaitable[Any], convert: Callable[[Any], Any]) -> Awaitable[Any]:
        async def converted() -> Any:
            return convert(await result)

        return converted()

    @property
    def keys(self) -> dict[str, str]:
        if self._keys is None:
            raise LookupError(
                f"{self!r} was given no keys: pass keys=, or read them with "
                "await control.dev_users()"
            )
        return self._keys


class LiveMock(MockControl):
    """A running ``cbk-mock serve``: its URL, dev keys and control operations over HTTP."""

    def __init__(
        self,
        url: str,
        keys: Mapping[str, str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``keys`` default to the dev keys the mock reports (``--keys-file`` has them too)."""
        transport = HttpTransport(url, timeout=timeout, ssl_context=ssl_context)
        super().__init__(url, transport, keys=keys, admin_token=admin_token)


class AsyncLiveMock(AsyncMockControl):
    """``LiveMock``, awaitable."""

    def __init__(
        self,
        url: str,
        keys: Mapping[str, str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        transport = AsyncHttpTransport(url, timeout=timeout, ssl_context=ssl_context)
        super().__init__(url, transport, keys=keys, admin_token=admin_token)
