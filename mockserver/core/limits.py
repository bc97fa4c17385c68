"""Where limits are decided: per-minute requests, books per UTC day, monthly credits, and
failed-authentication attempts per client address.

Windows and calendar boundaries come from the mock's clock. Counters live in the state backend;
each decision is one atomic backend call, so limits stay exact under concurrency and across
worker processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mockserver.core.accounts import Principal
from mockserver.core.clock import seconds_to_next_day, seconds_to_next_month, utc_day, utc_month
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.outage import OutageMonitor
from mockserver.core.state.base import Quota, StateBackend
from mockserver.core.state.memory import MemoryBackend


@dataclass(frozen=True)
class RateLimit:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }


def _retry_after(seconds: float) -> dict[str, str]:
    return {"retry-after": str(max(1, math.ceil(seconds)))}


class WindowCounter:
    """Fixed windows aligned to the clock; falls back to process memory while the shared
    store is down (limits then hold per process, and are exact again once it returns)."""

    def __init__(self, store: StateBackend, window: int, outage: OutageMonitor) -> None:
        self._store = store
        self._fallback = MemoryBackend()
        self._outage = outage
        self.window = window

    def position(self, now: float) -> tuple[int, int]:
        """(window index, whole seconds until the window resets: 1..window)."""
        index = int(now // self.window)
        return index, max(0, min(self.window, math.ceil((index + 1) * self.window - now)))

    async def hit(self, key: str) -> int:
        try:
            count = await self._store.hit(key, self.window * 2)
        except BackendUnavailable as exc:
            self._outage.failed("rate limits", exc)
            return await self._fallback.hit(key, self.window * 2)
        self._outage.succeeded()
        return count

    async def read(self, key: str) -> int:
        try:
            return await self._store.read_counter(key)
        except BackendUnavailable as exc:
            self._outage.failed("rate limits", exc)
            return await self._fallback.read_counter(key)


class RateLimiter:
    """Per-minute request limit per user, on every authenticated request."""

    def __init__(self, counter: WindowCounter, *, suspend_after_rejected: int | None) -> None:
        self._counter = counter
        self._suspend_after_rejected = suspend_after_rejected

    async def hit(self, principal: Principal, now: float) -> RateLimit:
        index, reset = self._counter.position(now)
        limit = principal.plan.requests_per_minute
        count = await self._counter.hit(f"rl:{principal.user.id}:{index}")
        state = RateLimit(limit=limit, remaining=max(0, limit - count), reset=reset)
        if count > limit:
            raise ApiError(
                "RATE_LIMIT_EXCEEDED",
                f"Per-minute request limit of {limit} reached.",
                meta={"limit": limit, "window": "minute"},
                headers=state.headers() | _retry_after(reset),
            )
        return state

    async def rejected_in_window(self, principal: Principal, now: float) -> bool:
        """Count a 429 for the abuse detector; True when the key should be suspended."""
        if self._suspend_after_rejected is None:
            return False
        index, _ = self._counter.position(now)
        rejected = await self._counter.hit(f"rl-rejected:{principal.key.key_id}:{index}")
        return rejected > self._suspend_after_rejected


class AuthFailureGuard:
    """Failed authentication attempts per client address and minute: guessing keys is slow."""

    def __init__(self, counter: WindowCounter, limit: int | None) -> None:
        self._counter = counter
        self.limit = limit

    def _key(self, address: str, now: float) -> tuple[str, int]:
        index, reset = self._counter.position(now)
        return f"authfail:{address}:{index}", reset

    async def check(self, address: str, now: float) -> None:
        if self.limit is None:
            return
        key, reset = self._key(address, now)
        if await self._counter.read(key) >= self.limit:
            raise self._blocked(reset)

    async def failed(self, address: str, now: float, error: ApiError) -> ApiError:
        """The error to answer a failed attempt with: the 401 itself, or 429 past the limit."""
        if self.limit is None:
            return error
        key, reset = self._key(address, now)
        return self._blocked(reset) if await self._counter.hit(key) > self.limit else error

    def _blocked(self, reset: int) -> ApiError:
        return ApiError(
            "RATE_LIMIT_EXCEEDED",
            "Too many failed authentication attempts from this address.",
            meta={"limit": self.limit, "window": "minute", "scope": "address"},
            headers=_retry_after(reset),
        )


@dataclass(frozen=True)
class Reservation:
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

    async def reserve(self, principal: Principal, page_count: int, now: float) -> Reservation:
        await self.settle(principal.user.id, now)
        day_key, month_key = self._keys(principal.user.id, now)
        credits = page_count * self.credits_per_page
        refused = await self._db.charge(
            [
                Quota(day_key, 1, principal.plan.books_per_day),
                Quota(month_key, credits, principal.monthly_credits),
            ]
        )
        if refused == 0:
            raise ApiError(
                "DAILY_CAP_EXCEEDED",
                f"Daily cap of {principal.plan.books_per_day} books reached.",
                meta={"limit": principal.plan.books_per_day, "window": "utc-day"},
                headers=_retry_after(seconds_to_next_day(now)),
            )
        if refused == 1:
            left = max(0, principal.monthly_credits - await self._db.read_counter(month_key))
            raise ApiError(
                "INSUFFICIENT_CREDITS",
                f"This book needs {credits} credits; {left} left this month.",
                meta={"creditsRequired": credits, "creditsRemaining": left},
                headers=_retry_after(seconds_to_next_month(now)),
            )
        return Reservation(day_key=day_key, month_key=month_key, credits=credits)

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

    async def usage(self, principal: Principal, now: float) -> dict[str, int]:
        await self.settle(principal.user.id, now)
        day_key, month_key = self._keys(principal.user.id, now)
        credits_used = await self._db.read_counter(month_key)
        return {
            "booksToday": await self._db.read_counter(day_key),
            "booksPerDay": principal.plan.books_per_day,
            "creditsUsed": credits_used,
            "monthlyCredits": principal.monthly_credits,
            "creditsRemaining": max(0, principal.monthly_credits - credits_used),
        }

    async def set_usage(
        self, user_id: str, now: float, *, books_today: int | None, credits_used: int | None
    ) -> None:
        day_key, month_key = self._keys(user_id, now)
        if books_today is not None:
            await self._db.set_counter(day_key, books_today)
        if credits_used is not None:
            await self._db.set_counter(month_key, credits_used)
