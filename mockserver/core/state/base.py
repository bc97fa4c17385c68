"""The state backend interface: JSON documents plus the few operations that must be atomic.

Every operation whose correctness depends on atomicity (rate-window hits, quota charges,
idempotency claims, due refunds, scenario queues, capped logs) is one call here, so the Redis
backend can implement each as a single Lua script or command and stay exact across worker processes.
A backend that cannot reach its store raises ``BackendUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, TypeVar

JSON = Any
T = TypeVar("T")

#: Namespace of the mock's keys in Redis.
DEFAULT_REDIS_PREFIX = "cbk-mock:"


class Quota(NamedTuple):  # built on every create: a tuple is cheaper than a dataclass
    """``amount`` more on counter ``key`` is allowed while the total stays ``<= limit``."""

    key: str
    amount: int
    limit: int


class LogItem(Protocol):
    """An item of a capped log, encoded only when a store needs its bytes: a log in process
    memory keeps the item itself and encodes it when it is read (most items never are); a
    shared log encodes it on the way in."""

    def encode(self) -> bytes: ...


class StateBackend(Protocol):
    name: str

    # documents ---------------------------------------------------------------------------
    async def get(self, key: str) -> JSON | None: ...

    async def load(self, key: str, decode: Callable[[JSON], T]) -> T | None:
        """The document at ``key`` as ``decode`` builds it, or None if absent. ``decode`` must be
        pure and its value immutable: a backend may hand the same value out again for as long
        as the document is unchanged (the memory backend does, sparing the hot path of every
        request a parse and a copy)."""

    async def put(self, key: str, value: JSON, expire_seconds: float | None = None) -> None:
        """Store ``value``; with ``expire_seconds`` (wall clock) the document is dropped then —
        garbage collection only, never a rule of the mock's clock."""

    async def delete(self, *keys: str) -> None: ...

    async def add_member(self, key: str, member: str) -> None:
        """Add ``member`` to the set at ``key``."""

    async def remove_member(self, key: str, member: str) -> None: ...

    async def members(self, key: str) -> list[str]: ...

    # retention ---------------------------------------------------------------------------
    async def put_retained(self, key: str, value: JSON, group: str, cap: int) -> list[JSON]:
        """Store the document ``key`` as the newest entry of ``group``. Once ``group`` holds more
        than ``cap`` entries, the oldest documents are deleted in the same atomic step and their
        values returned — each to exactly one caller, which drops what refers to them."""

    async def retained(self, group: str) -> int:
        """How many entries ``group`` holds."""

    # counters ----------------------------------------------------------------------------
    async def hit(self, key: str, expire_seconds: int) -> int:
        """Increment the counter at ``key`` and return the new value.

        ``expire_seconds`` (wall clock) only garbage-collects counters of past windows; window
        boundaries themselves are in the key name, derived from the mock's clock.
        """

    async def hit_unless(
        self, key: str, expire_seconds: int, guard_key: str, guard_limit: int
    ) -> int | None:
        """As ``hit``, unless the counter ``guard_key`` has reached ``guard_limit``: then change
        nothing and return None. One check and one count, one round trip."""

    async def read_counter(self, key: str) -> int: ...

    async def set_counter(self, key: str, value: int) -> None: ...

    async def merge(self, key: str, fields: dict[str, JSON]) -> JSON | None:
        """Set ``fields`` in the object document at ``key``, leaving its other fields as they
        are, in one step; return the updated document, or None (nothing stored) if absent."""

    async def add_float(self, key: str, delta: float) -> float:
        """Add ``delta`` to the number document at ``key`` (missing: 0); return the sum."""

    async def raise_to(self, key: str, value: float) -> float:
        """Set the number document at ``key`` to ``value`` unless it is already larger;
        return what it holds afterwards. (A clock that only moves forward.)"""

    async def charge(self, quotas: Sequence[Quota]) -> int | None:
        """All-or-nothing: if every quota fits, add every amount and return None; otherwise
        change nothing and return the index of the first quota that does not fit."""

    async def release(self, key: str, amount: int) -> None:
        """Take ``amount`` off a counter (never below zero)."""

    # idempotency -------------------------------------------------------------------------
    async def claim(
        self, key: str, record: JSON, now: float, lease_seconds: float | None = None
    ) -> JSON | None:
        """Store ``record`` unless a record whose ``expiresAt`` is after ``now`` exists.

        Returns None when stored, or the existing live record. With ``lease_seconds`` the stored
        record lapses after that many wall-clock seconds unless overwritten by ``put`` first, so
        a claim held by a process that died does not block the key for its whole lifetime."""

    async def replace_if(
        self,
        key: str,
        field: str,
        expected: JSON,
        value: JSON | None,
        expire_seconds: float | None = None,
    ) -> bool:
        """Compare and set: if the object document at ``key`` has ``field`` equal to
        ``expected``, replace it by ``value`` (None: delete it) and return True; otherwise
        change nothing and return False. (A claim's holder finishing only its own claim.)"""

    # scheduled items and queues ----------------------------------------------------------
    async def schedule(self, key: str, due: float, item: JSON) -> None: ...

    async def pop_due(self, key: str, now: float) -> list[JSON]:
        """Remove and return every item scheduled at or before ``now``, each exactly once."""

    async def push(self, key: str, *items: JSON) -> None: ...

    async def pop(self, key: str) -> JSON | None: ...

    async def peek_all(self, key: str) -> list[JSON]: ...

    # capped logs -------------------------------------------------------------------------
    async def log_append(self, key: str, item: LogItem, keep: int) -> int:
        """Put ``item`` first in the log at ``key``, numbered one past the last number given
        there, and drop all but the newest ``keep`` items — one atomic step, so concurrent
        writers neither lose items nor let the log grow. Returns the item's number. Numbers
        survive ``delete(key)`` (a reader tailing the log never sees one twice); ``flush``
        restarts them."""

    async def log_read(self, key: str, start: int, stop: int) -> list[tuple[int, bytes]]:
        """``(number, encoded item)`` of the items at positions ``start``..``stop`` (inclusive;
        0 is the newest), newest first."""

    # lifecycle ---------------------------------------------------------------------------
    async def ping(self) -> None:
        """Reach the store once (``BackendUnavailable`` if it cannot be reached)."""

    async def flush(self) -> None:
        """Forget everything this backend holds (only its own namespace or database)."""

    async def close(self) -> None: ...
