"""The mock's time: wall clock, or a virtual clock that moves only when told.

Jobs, rate-limit windows, UTC days and idempotency lifetimes all read the same clock, so
``/_mock/clock/advance`` rolls every one of them deterministically. The manual clock keeps its
time in the state backend, so several worker processes share it.
"""

from __future__ import annotations

import abc
import functools
import time
from datetime import UTC, date, datetime
from typing import Protocol

from mockserver.core.errors import ApiError
from mockserver.core.state.base import StateBackend

CLOCK_KEY = "clock:now"
#: Where a manual clock starts unless configured: a fixed, minute-aligned instant.
DEFAULT_MANUAL_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC).timestamp()
#: Far enough from datetime's year 9999 that every date derived from the clock can be printed.
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


class Clock(Protocol):
    mode: str

    async def now(self) -> float: ...

    async def advance(self, seconds: float) -> float: ...

    async def set(self, when: float) -> float: ...


class OffsetClock(abc.ABC):
    """A base time plus an offset that only grows, kept in the backend so every worker
    process shares it. Each move is one atomic backend call, so concurrent moves neither
    get lost nor take the clock back."""

    mode: str

    def __init__(self, backend: StateBackend) -> None:
        self._backend = backend

    @abc.abstractmethod
    def _base(self) -> float:
        """What the offset is added to."""

    async def now(self) -> float:
        return self._base() + (await self._backend.get(CLOCK_KEY) or 0.0)

    async def advance(self, seconds: float) -> float:
        current = await self.now()
        _checked(current + seconds, current)
        return self._base() + await self._backend.add_float(CLOCK_KEY, seconds)

    async def set(self, when: float) -> float:
        _checked(when, await self.now())
        base = self._base()
        if base + await self._backend.raise_to(CLOCK_KEY, when - base) > when:
            raise _backwards()  # a concurrent move got there first
        return when


class SystemClock(OffsetClock):
    """Wall-clock time, moved ahead by ``advance``."""

    mode = "system"

    def _base(self) -> float:
        return time.time()


class ManualClock(OffsetClock):
    """Virtual time from a fixed start: frozen until advanced."""

    mode = "manual"

    def __init__(self, backend: StateBackend, start: float = DEFAULT_MANUAL_START) -> None:
        super().__init__(backend)
        self._start = start

    def _base(self) -> float:
        return self._start


def _backwards() -> ApiError:
    return ApiError(
        "VALIDATION_ERROR",
        "The clock only moves forward.",
        fields={"now": "Not before the current time"},
    )


def _checked(when: float, current: float) -> float:
    if when < current:
        raise _backwards()
    if when > LATEST:
        raise ApiError(
            "VALIDATION_ERROR",
            "The clock stops at 9000-01-01.",
            fields={"now": "Before 9000-01-01"},
        )
    return when


#: Every clock mode.
CLOCK_MODES = (ManualClock.mode, SystemClock.mode)
#: What the test tools (respx router, pytest plugin) run unless told: time moves only when a
#: test moves it.
TEST_CLOCK = ManualClock.mode


def make_clock(mode: str, backend: StateBackend, start: float | None = None) -> Clock:
    if mode == "manual":
        return ManualClock(backend, DEFAULT_MANUAL_START if start is None else start)
    if mode == "system":
        return SystemClock(backend)
    raise ValueError(f"unknown clock mode {mode!r} (system or manual)")


@functools.lru_cache(maxsize=8192)
def isoformat(ts: float) -> str:
    """ISO 8601 in UTC with milliseconds, as the reference page's examples."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def utc_day(ts: float) -> str:
    return _utc_date(int(ts // 86400)).isoformat()


def utc_month(ts: float) -> str:
    return _utc_date(int(ts // 86400)).isoformat()[:7]


@functools.lru_cache(maxsize=64)
def _utc_date(days_since_epoch: int) -> date:
    """Every book created asks for its day and month: a calendar lookup once a day."""
    return datetime.fromtimestamp(days_since_epoch * 86400, tz=UTC).date()


def seconds_to_next_day(ts: float) -> float:
    return 86400 - (ts % 86400)


def seconds_to_next_month(ts: float) -> float:
    dt = datetime.fromtimestamp(ts, tz=UTC)
    year, month = (dt.year + 1, 1) if dt.month == 12 else (dt.year, dt.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp() - ts
