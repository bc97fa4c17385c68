"""The mock's control operations as Python calls, for SDK authors' tests.

``MockControl`` is one interface with two transports: ``LiveMock`` talks to a running
``cbk-mock serve`` over ``/_mock/`` (stdlib only, so it works for SDKs not built on httpx), and
``mockserver.testing.respx_router.ChildrenBooksRouter`` sends the very same control requests
through the in-process gateway. Both end in ``mockserver.http.control.ControlApi``: the method
names, arguments, return values and errors are identical, so a test reads the same against
either.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mockserver.core.accounts import dev_keys
from mockserver.core.clock import ManualClock, SystemClock
from mockserver.core.config import DEFAULT_ADMIN_TOKEN
from mockserver.http.control import ADMIN_HEADER
from mockserver.spec import load_spec

#: Clock modes a test can ask for; ``manual`` (time moves only when told) is the default.
CLOCK_MODES = (ManualClock.mode, SystemClock.mode)
DEFAULT_CLOCK = ManualClock.mode


def production_url() -> str:
    """The API's production base URL, from ``openapi.yaml``: what an SDK talks to by default."""
    servers = load_spec().document["servers"]
    return next(s["url"] for s in servers if s["url"].startswith("https://"))


class MockControlError(Exception):
    """A control call the mock refused (unknown user, invalid body, wrong admin token...)."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" {fields}" if fields else ""))
        self.status = status
        self.code = code
        self.fields = fields or {}


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


class MockControl(abc.ABC):
    """Control operations of the mock (``control-api.yaml``), shared by every way to run it.

    Subclasses provide ``url``, ``keys`` (dev user name → API key), ``admin_token`` and
    ``_control``. A *user* argument is a dev user's name (``"pro"``, ``"premium"``...) or a
    ``userId`` returned by ``create_user``. Return values are the control API's ``data``.
    """

    url: str
    keys: dict[str, str]
    admin_token: str

    @abc.abstractmethod
    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Send one control call; return its ``data`` (raising ``MockControlError``)."""

    @staticmethod
    def _unwrap(status: int, payload: Any) -> Any:
        if isinstance(payload, dict) and payload.get("ok") is True:
            return payload["data"]
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        raise MockControlError(
            status,
            error.get("code", "UNKNOWN"),
            error.get("message", repr(payload)[:200]),
            error.get("fields"),
        )

    # --- state and clock -----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._control("GET", "health")

    def reset_state(self) -> None:
        """Forget everything (users, books, usage, idempotency, scenarios, clock); re-seed the
        dev users with their fixed keys."""
        self._control("POST", "reset")

    def clock(self) -> dict[str, Any]:
        """``{"mode": "manual" | "system", "now": ISO 8601}``."""
        return self._control("GET", "clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the mock's time forward: jobs progress, rate-limit windows, UTC days and
        idempotency lifetimes roll. Pass it as an SDK's ``sleep`` to make backoff virtual."""
        return self._control("POST", "clock/advance", {"seconds": seconds})

    def set_clock(self, now: str | datetime) -> dict[str, Any]:
        """Move the clock to a later instant (ISO 8601 string or aware datetime)."""
        value = now.isoformat() if isinstance(now, datetime) else now
        return self._control("POST", "clock/set", {"now": value})

    # --- users, keys, usage --------------------------------------------------------------
    def dev_users(self) -> dict[str, dict[str, Any]]:
        """Dev user name → ``{apiKey, userId, keyId}``."""
        return self._control("GET", "dev-keys")

    def user_id(self, user: str) -> str:
        """The ``userId`` of a dev user's name (dev user ids survive resets); others as given."""
        return self._dev_user_ids[user] if user in self.keys else user

    @functools.cached_property
    def _dev_user_ids(self) -> dict[str, str]:
        return {name: user["userId"] for name, user in self.dev_users().items()}

    def create_user(
        self, plan: str = "pro", *, name: str | None = None, monthly_credits: int | None = None
    ) -> dict[str, Any]:
        """A new user with one key: ``{userId, keyId, apiKey, plan}``."""
        body: dict[str, Any] = {"plan": plan}
        if name is not None:
            body["name"] = name
        if monthly_credits is not None:
            body["monthlyCredits"] = monthly_credits
        return self._control("POST", "users", body)

    def user(self, user: str) -> dict[str, Any]:
        return self._control("GET", f"users/{self.user_id(user)}")

    def update_user(
        self, user: str, *, plan: str | None = None, monthly_credits: int | None = None
    ) -> dict[str, Any]:
        body = {"plan": plan, "monthlyCredits": monthly_credits}
        return self._control(
            "PATCH",
            f"users/{self.user_id(user)}",
            {k: v for k, v in body.items() if v is not None},
        )

    def issue_key(self, user: str) -> dict[str, Any]:
        return self._control("POST", f"users/{self.user_id(user)}/keys")

    def key_action(self, key_id: str, action: str) -> dict[str, Any]:
        """``revoke``, ``rotate`` (answers the new key), ``suspend`` or ``unsuspend``."""
        return self._control("POST", f"keys/{key_id}/{action}")

    def usage(self, user: str = "pro") -> dict[str, Any]:
        """``{booksToday, booksPerDay, creditsUsed, monthlyCredits, creditsRemaining}``."""
        return self._control("GET", f"users/{self.user_id(user)}/usage")

    def set_usage(
        self,
        user: str = "pro",
        *,
        books_today: int | None = None,
        credits_used: int | None = None,
    ) -> dict[str, Any]:
        """Start a test at the edge of a limit (daily cap, monthly credits)."""
        body = {"booksToday": books_today, "creditsUsed": credits_used}
        return self._control(
            "PUT",
            f"users/{self.user_id(user)}/usage",
            {k: v for k, v in body.items() if v is not None},
        )

    # --- forced scenarios ----------------------------------------------------------------
    def force_scenario(self, scenario: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw ``Scenario`` body (see ``control-api.yaml``)."""
        return self._control("POST", "scenarios", scenario)

    def queue_errors(self, status: int, count: int = 1) -> dict[str, Any]:
        """The next ``count`` public API responses answer ``status`` (500, 502 or 503)."""
        return self.force_scenario({"error": status, "count": count})

    def fail_next_job(
        self,
        at_page: int = 2,
        *,
        count: int = 1,
        user: str | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """The next ``count`` created jobs end ``failed`` when they reach ``at_page``."""
        return self.force_scenario(
            self._job_scenario("failAtPage", at_page, count, user, error_message)
        )

    def stall_next_job(
        self, at_page: int = 2, *, count: int = 1, user: str | None = None
    ) -> dict[str, Any]:
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

    def scenarios(self) -> dict[str, Any]:
        return self._control("GET", "scenarios")

    def clear_scenarios(self) -> None:
        self._control("DELETE", "scenarios")

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
    ) -> list[RecordedRequest]:
        """What clients sent the public API and what the mock answered, newest first: every
        filter given must match (``path`` takes a glob, ``status`` a class like ``"4xx"``,
        ``since`` an instant of the mock's clock)."""
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
        records = self._control("GET", f"requests?{query}" if query else "requests")
        return [RecordedRequest.from_record(record) for record in records]

    def clear_requests(self) -> None:
        """Empty the request journal (a reset empties it too)."""
        self._control("DELETE", "requests")


class LiveMock(MockControl):
    """A running ``cbk-mock serve``: its URL, dev keys and control operations over HTTP."""

    def __init__(
        self,
        url: str,
        keys: dict[str, str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
        *,
        timeout: float = 30.0,
    ) -> None:
        """``keys`` default to the fixed dev keys every mock seeds (``--keys-file`` has them)."""
        self.url = url.rstrip("/")
        self.keys = dict(keys) if keys is not None else dev_keys()
        self.admin_token = admin_token
        self._timeout = timeout
        # Loopback needs no proxy, whatever the environment says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"LiveMock({self.url!r})"

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/_mock/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={ADMIN_HEADER: self.admin_token, "content-type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return self._unwrap(response.status, json.load(response))
        except urllib.error.HTTPError as error:
            with error:
                return self._unwrap(error.code, json.load(error))
