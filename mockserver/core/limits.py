"""Where limits are decided: per-minute requests, books per UTC day, monthly credits, and
failed-authentication attempts per client address.

Windows and calendar boundaries come from the mock's clock. Counters live in the state backend;
each decision is one atomic backend call, so limits stay exact under concurrency and across
worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import NamedTuple, TypeVar

from mockserver.core.accounts import Principal, Subscriber
from mockserver.core.clock import seconds_to_next_day, seconds_to_next_month, utc_day, utc_month
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.outage import OutageMonitor
from mockserver.core.state.base import Quota, StateBackend
from mockserver.core.state.memory import MemoryBackend
from mockserver.spec import load_spec

T = TypeVar("T")
_HEADERS = load_spec().rate_limit_headers
_RETRY_AFTER = load_spec().retry_after_header


class RateLimit(NamedTuple):  # a tuple: built on every request, cheaper than a dataclass
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            _HEADERS.limit: str(self.limit),
            _HEADERS.remaining: str(self.remaining),
            _HEADERS.reset: str(self.reset),
        }


def _retry_after(seconds: float) -> dict[str, str]:
    return {_RETRY_AFTER: str(max(1, math.ceil(seconds)))}


class WindowCounter:
    """Fixed windows aligned to the clock; falls back to process memory while the shared
    store is down (limits then hold per process, counted from zero, and are shared again once
    it returns)."""

    def __init__(self, store: StateBackend, window: int, outage: OutageMonitor) -> None:
        self._store = store
        self._fallback = MemoryBackend()
        self._outage = outage
        self.window = window
        self._expiry = window * 2
        self._last: tuple[float, tuple[int, int]] = (math.nan, (0, 0))

    def position(self, now: float) -> tuple[int, int]:
        """(window index, whole seconds until the window resets: 1..window)."""
        last_now, last = self._last
        if now == last_now:  # a request asks twice (address gate, then user window)
            return last
        index = int(now // self.window)
        position = index, max(1, min(self.window, math.ceil((index + 1) * self.window - now)))
        self._last = (now, position)
        return position

    def forget_fallback(self) -> None:
        """Drop the counts made in process memory during an outage (``/_mock/reset``)."""
        self._fallback = MemoryBackend()

    async def _count(self, count: Callable[[StateBackend], Awaitable[T]]) -> T:
        """``count`` on the shared store, or on the process-memory fallback while the store is
        down."""
        if self._outage.available():
            try:
                result = await count(self._store)
            except BackendUnavailable as exc:
                self._outage.failed("rate limits", exc)
            else:
                self._outage.succeeded()
                return result
        return await count(self._fallback)

    async def hit(self, key: str) -> int:
        return await self._count(lambda store: store.hit(key, self._expiry))

    async def hit_unless(self, key: str, gate: Gate) -> int | None:
        return await self._count(
            lambda store: store.hit_unless(key, self._expiry, gate.key, gate.limit)
        )

    async def read(self, key: str) -> int:
        return await self._count(lambda store: store.read_counter(key))


class Gate(NamedTuple):
    """A counter that, once at ``limit``, stops other counting (see ``hit_unless``)."""

    key: str
    limit: int


class RateLimiter:
    """Per-minute request limit per user, on every authenticated request."""

    def __init__(self, counter: WindowCounter, *, suspend_after_rejected: int | None) -> None:
        self._counter = counter
        self._suspend_after_rejected = suspend_after_rejected

    async def hit(
        self, principal: Principal, now: float, *, unless: Gate | None = None
    ) -> RateLimit | None:
        """Count the request (429 past the limit); None, counting nothing, if ``unless`` is
        closed — both in one atomic step, one round trip to a shared store."""
        index, reset = self._counter.position(now)
        limit = principal.plan.requests_per_minute
        key = self._key(principal.user.id, index)
        if unless is None:
            count = await self._counter.hit(key)
        else:
            counted = await self._counter.hit_unless(key, unless)
            if counted is None:
                return None
            count = counted
        state = RateLimit(limit, max(0, limit - count), reset)
        if count > limit:
            raise ApiError(
                "RATE_LIMIT_EXCEEDED",
                f"Per-minute request limit of {limit} reached.",
                meta={"limit": limit, "window": "minute"},
                headers=state.headers() | _retry_after(reset),
            )
        return state

    async def current(self, subscriber: Subscriber, now: float) -> RateLimit:
        """This window's budget of ``subscriber``, counting nothing (the control API's usage)."""
        index, reset = self._counter.position(now)
        limit = subscriber.plan.requests_per_minute
        count = await self._counter.read(self._key(subscriber.user.id, index))
        return RateLimit(limit=limit, remaining=max(0, limit - count), reset=reset)

    @staticmethod
    def _key(user_id: str, index: int) -> str:
        return f"rl:{user_id}:{index}"

    async def count_rejection(self, principal: Principal, now: float) -> bool:
        """Count a 429 for the abuse detector; True when the key should be suspended."""
        if self._suspend_after_rejected is None:
            return False
        index, _ = self._counter.position(now)
        rejected = await self._counter.hit(f"rl-rejected:{principal.key.key_id}:{index}")
        return rejected > self._suspend_after_rejected


class AuthFailureGuard:
    """Failed authentication attempts per client address and minute: guessing keys is slow.

    Past the limit the address gets 429 whatever key it sends — valid, suspended or Free
    included — so the block never tells a guesser which key worked."""

    def __init__(self, counter: WindowCounter, limit: int | None) -> None:
        self._counter = counter
        self.limit = limit

    def gate(self, address: str, now: float) -> Gate | None:
        """The address' counter of failures in this window, closed once at the limit."""
        if self.limit is None:
            return None
        index, _ = self._counter.position(now)
        return Gate(f"authfail:{address}:{index}", self.limit)

    async def check(self, address: str, now: float) -> None:
        gate = self.gate(address, now)
        if gate is not None and await self._counter.read(gate.key) >= gate.limit:
            raise self.blocked(now)

    async def failed(self, address: str, now: float, error: ApiError) -> ApiError:
        """The error to answer a failed attempt with: the 401 itself, or 429 past the limit."""
        gate = self.gate(address, now)
        if gate is None or await self._counter.hit(gate.key) <= gate.limit:
            return error
        return self.blocked(now)

    def blocked(self, now: float) -> ApiError:
        _, reset = self._counter.position(now)
        return ApiError(
            "RATE_LIMIT_EXCEEDED",
            "Too many failed authentication attempts from this address.",
            meta={"limit": self.limit, "window": "minute", "scope": "address"},
            headers=_retry_after(reset),
        )


class RequestLimits:
    """What limits every request to the public API, in the order the checks meet them: the
    failed-attempt guard of the client's address around ``auth`` and ``plan``, then the
    per-minute limit of the key's user (``perMinuteLimit``), which suspends a key that keeps
    hitting it when so configured."""

    def __init__(
        self,
        rate_limiter: RateLimiter,
        auth_guard: AuthFailureGuard,
        suspend: Callable[[Principal], Awaitable[object]],
    ) -> None:
        self.rate_limiter = rate_limiter
        self.auth_guard = auth_guard
        self._suspend = suspend

    async def refused(self, error: ApiError, address: str, now: float) -> ApiError:
        """The error to answer a refused key with. A 401 is a failed attempt: counted, and 429
        past the address' limit. Any other refusal is 429 while the address is blocked, so
        the block is no oracle for which key is valid."""
        if error.status == 401:
            return await self.auth_guard.failed(address, now, error)
        await self.auth_guard.check(address, now)
        return error

    async def per_minute(self, principal: Principal, address: str, now: float) -> RateLimit:
        """Count the request: 429 past the plan's limit, or while the address is blocked."""
        gate = self.auth_guard.gate(address, now)
        try:
            rate = await self.rate_limiter.hit(principal, now, unless=gate)
        except ApiError:
            if await self.rate_limiter.count_rejection(principal, now):
                await self._suspend(principal)
            raise
        if rate is None:
            raise self.auth_guard.blocked(now)
        return rate


class Reservation(NamedTuple):
    day_key: str
    month_key: str
    credits: int


class Quotas:
    """Books per UTC day and monthly credits, charged together or not at all."""

    def __init__(self, db: StateBackend, credits_per_page: int) -> None:
        self._db = db
        self.credits_per_page = credits_per_page

    @staticmethod
    def _keys(user_id: str, now: float) -> tuple[str, str]:
        return f"books-day:{user_id}:{utc_day(now)}", f"credits:{user_id}:{utc_month(now)}"

    async def reserve(self, account: Subscriber, page_count: int, now: float) -> Reservation:
        await self.settle(account.user.id, now)
        day_key, month_key = self._keys(account.user.id, now)
        credits = page_count * self.credits_per_page
        refused = await self._db.charge(
            [
                Quota(day_key, 1, account.plan.books_per_day),
                Quota(month_key, credits, account.monthly_credits),
            ]
        )
        if refused == 0:
            raise ApiError(
                "DAILY_CAP_EXCEEDED",
                f"Daily cap of {account.plan.books_per_day} books reached.",
                meta={"limit": account.plan.books_per_day, "window": "utc-day"},
                headers=_retry_after(seconds_to_next_day(now)),
            )
        if refused == 1:
            left = max(0, account.monthly_credits - await self._db.read_counter(month_key))
            raise ApiError(
                "INSUFFICIENT_CREDITS",
                f"This book needs {credits} credits; {left} left this month.",
                meta={"creditsRequired": credits, "creditsRemaining": left},
                headers=_retry_after(seconds_to_next_month(now)),
            )
        return Reservation(day_key=day_key, month_key=month_key, credits=credits)

    async def cancel(self, reservation: Reservation) -> None:
        """Undo a reservation whose book was never stored."""
        await self._db.release(reservation.day_key, 1)
        await self._db.release(reservation.month_key, reservation.credits)

    async def charge_unconditionally(self, user_id: str, credits: int, now: float) -> None:
        """Dashboard books share the monthly credits but are not refused by the API."""
        _, month_key = self._keys(user_id, now)
        await self._db.charge([Quota(month_key, credits, 2**62)])

    async def schedule_refund(self, user_id: str, reservation: Reservation, due: float) -> None:
        await self._db.schedule(
            f"refunds:{user_id}", due, {"key": reservation.month_key, "amount": reservation.credits}
        )

    async def settle(self, user_id: str, now: float) -> None:
        """Give back the credits of books that have failed by ``now`` (each exactly once)."""
        for item in await self._db.pop_due(f"refunds:{user_id}", now):
            await self._db.release(item["key"], int(item["amount"]))

    async def usage(self, account: Subscriber, now: float) -> dict[str, int]:
        await self.settle(account.user.id, now)
        day_key, month_key = self._keys(account.user.id, now)
        credits_used = await self._db.read_counter(month_key)
        return {
            "booksToday": await self._db.read_counter(day_key),
            "booksPerDay": account.plan.books_per_day,
            "creditsUsed": credits_used,
            "monthlyCredits": account.monthly_credits,
            "creditsRemaining": max(0, account.monthly_credits - credits_used),
        }

    async def set_usage(
        self, user_id: str, now: float, *, books_today: int | None, credits_used: int | None
    ) -> None:
        day_key, month_key = self._keys(user_id, now)
        if books_today is not None:
            await self._db.set_counter(day_key, books_today)
        if credits_used is not None:
            await self._db.set_counter(month_key, credits_used)
