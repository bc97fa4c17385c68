"""In-process state. Every method body runs without an ``await``, so each call is atomic on the
event loop — the same guarantee the Redis backend gets from Lua scripts."""

from __future__ import annotations

import heapq
import itertools
import json
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mockserver.core import codec
from mockserver.core.state.base import JSON, LogItem, Quota

T = TypeVar("T")
#: Decoded documents kept for ``load``: the hot ones (the keys, users and books being polled),
#: not one per stored document.
DECODED_CACHE_SIZE = 4096


def dumps(value: Any) -> bytes:
    """JSON text of exactly its own size: orjson hands out its whole output buffer (4 KiB and
    more for a few hundred bytes of text), which a stored document would keep for its life."""
    return bytes(memoryview(codec.dumps(value)))


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self._docs: dict[str, bytes] = {}
        #: ``load`` results, valid while their raw text is the stored one: (raw, decode, value);
        #: the oldest are dropped past ``DECODED_CACHE_SIZE``.
        self._decoded: OrderedDict[str, tuple[bytes, Callable[[JSON], object], object]] = (
            OrderedDict()
        )
        #: Wall-clock (monotonic) deadlines of documents stored with an expiry or a lease.
        self._deadlines: dict[str, float] = {}
        self._sets: defaultdict[str, set[str]] = defaultdict(set)
        #: Retention groups: their documents' keys, oldest first.
        self._retained: defaultdict[str, deque[str]] = defaultdict(deque)
        self._counters: defaultdict[str, int] = defaultdict(int)
        #: Counters counted with an expiry (rate windows): when each lapses, and the same as a
        #: heap, soonest first, so that counters of ended windows are collected as Redis would.
        self._counter_deadlines: dict[str, float] = {}
        self._counter_expiry: list[tuple[float, str]] = []
        self._scheduled: defaultdict[str, list[tuple[float, bytes]]] = defaultdict(list)
        self._queues: defaultdict[str, deque[bytes]] = defaultdict(deque)
        self._logs: dict[str, deque[tuple[int, LogItem]]] = {}
        self._log_numbers: defaultdict[str, int] = defaultdict(int)

    def _doc(self, key: str) -> bytes | None:
        deadline = self._deadlines.get(key)
        if deadline is not None and time.monotonic() >= deadline:
            del self._deadlines[key]
            self._docs.pop(key, None)
            self._decoded.pop(key, None)
        return self._docs.get(key)

    def _store(self, key: str, raw: bytes, expire_seconds: float | None) -> None:
        self._docs[key] = raw
        if expire_seconds is None:
            self._deadlines.pop(key, None)
        else:
            self._deadlines[key] = time.monotonic() + expire_seconds

    async def get(self, key: str) -> JSON | None:
        raw = self._doc(key)
        return None if raw is None else json.loads(raw)

    async def load(self, key: str, decode: Callable[[JSON], T]) -> T | None:
        raw = self._doc(key)
        if raw is None:
            return None
        cached = self._decoded.get(key)
        if cached is not None and cached[0] is raw and cached[1] == decode:
            return cached[2]  # type: ignore[return-value]
        value = decode(json.loads(raw))
        self._decoded[key] = (raw, decode, value)
        if len(self._decoded) > DECODED_CACHE_SIZE:
            self._decoded.popitem(last=False)
        return value

    async def put(self, key: str, value: JSON, expire_seconds: float | None = None) -> None:
        # Stored serialized, as Redis does, so callers can never alias shared state.
        self._store(key, dumps(value), expire_seconds)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._docs.pop(key, None)
            self._decoded.pop(key, None)
            self._deadlines.pop(key, None)
            self._sets.pop(key, None)
            self._counters.pop(key, None)
            self._counter_deadlines.pop(key, None)
            self._scheduled.pop(key, None)
            self._queues.pop(key, None)
            self._logs.pop(key, None)

    async def add_member(self, key: str, member: str) -> None:
        self._sets[key].add(member)

    async def remove_member(self, key: str, member: str) -> None:
        members = self._sets.get(key)
        if members is not None:
            members.discard(member)
            if not members:
                del self._sets[key]

    async def members(self, key: str) -> list[str]:
        return sorted(self._sets.get(key, ()))

    def _hit(self, key: str, expire_seconds: int) -> int:
        count = self._counters[key] = self._counters.get(key, 0) + 1
        if count == 1:  # a new window's counter: the moment to collect those of ended ones
            now = time.monotonic()
            self._collect_counters(now)
            self._counter_deadlines[key] = deadline = now + expire_seconds
            heapq.heappush(self._counter_expiry, (deadline, key))
        return count

    def _collect_counters(self, now: float) -> None:
        expiry = self._counter_expiry
        while expiry and expiry[0][0] <= now:
            deadline, key = heapq.heappop(expiry)
            if self._counter_deadlines.get(key) == deadline:
                del self._counter_deadlines[key]
                self._counters.pop(key, None)

    async def put_retained(self, key: str, value: JSON, group: str, cap: int) -> list[JSON]:
        self._store(key, dumps(value), None)
        keys = self._retained[group]
        keys.append(key)
        evicted = []
        while len(keys) > cap:
            oldest = keys.popleft()
            raw = self._docs.pop(oldest, None)
            self._decoded.pop(oldest, None)
            self._deadlines.pop(oldest, None)
            if raw is not None:
                evicted.append(json.loads(raw))
        return evicted

    async def retained(self, group: str) -> int:
        return len(self._retained.get(group, ()))

    async def hit(self, key: str, expire_seconds: int) -> int:
        return self._hit(key, expire_seconds)

    async def hit_unless(
        self, key: str, expire_seconds: int, guard_key: str, guard_limit: int
    ) -> int | None:
        if self._counters.get(guard_key, 0) >= guard_limit:
            return None
        return self._hit(key, expire_seconds)

    async def read_counter(self, key: str) -> int:
        return self._counters.get(key, 0)

    async def set_counter(self, key: str, value: int) -> None:
        self._counters[key] = value

    async def merge(self, key: str, fields: dict[str, JSON]) -> JSON | None:
        raw = self._doc(key)
        if raw is None:
            return None
        merged = {**json.loads(raw), **fields}
        self._store(key, dumps(merged), None)
        return merged

    async def add_float(self, key: str, delta: float) -> float:
        total = float(json.loads(self._doc(key) or "0")) + delta
        self._store(key, dumps(total), None)
        return total

    async def raise_to(self, key: str, value: float) -> float:
        current = self._doc(key)
        if current is not None and float(json.loads(current)) >= value:
            return float(json.loads(current))
        self._store(key, dumps(float(value)), None)
        return float(value)

    async def charge(self, quotas: Sequence[Quota]) -> int | None:
        for index, quota in enumerate(quotas):
            if self._counters.get(quota.key, 0) + quota.amount > quota.limit:
                return index
        for quota in quotas:
            self._counters[quota.key] += quota.amount
        return None

    async def release(self, key: str, amount: int) -> None:
        self._counters[key] = max(0, self._counters.get(key, 0) - amount)

    async def claim(
        self, key: str, record: JSON, now: float, lease_seconds: float | None = None
    ) -> JSON | None:
        raw = self._doc(key)
        if raw is not None:
            existing = json.loads(raw)
            if existing.get("expiresAt", 0) > now:
                return existing
        self._store(key, dumps(record), lease_seconds)
        return None

    async def replace_if(
        self,
        key: str,
        field: str,
        expected: JSON,
        value: JSON | None,
        expire_seconds: float | None = None,
    ) -> bool:
        raw = self._doc(key)
        if raw is None or json.loads(raw).get(field) != expected:
            return False
        if value is None:
            await self.delete(key)
        else:
            self._store(key, dumps(value), expire_seconds)
        return True

    async def schedule(self, key: str, due: float, item: JSON) -> None:
        self._scheduled[key].append((due, dumps(item)))

    async def pop_due(self, key: str, now: float) -> list[JSON]:
        entries = self._scheduled.get(key)
        if not entries:
            return []
        due = [json.loads(raw) for when, raw in entries if when <= now]
        self._scheduled[key] = [(when, raw) for when, raw in entries if when > now]
        return due

    async def push(self, key: str, *items: JSON) -> None:
        self._queues[key].extend(dumps(item) for item in items)

    async def pop(self, key: str) -> JSON | None:
        queue = self._queues.get(key)
        return json.loads(queue.popleft()) if queue else None

    async def peek_all(self, key: str) -> list[JSON]:
        return [json.loads(raw) for raw in self._queues.get(key, ())]

    async def log_append(self, key: str, item: LogItem, keep: int) -> int:
        log = self._logs.get(key)
        if log is None or log.maxlen != keep:
            log = self._logs[key] = deque(log or (), maxlen=keep)
        self._log_numbers[key] += 1
        log.appendleft((self._log_numbers[key], item))
        return self._log_numbers[key]

    async def log_read(self, key: str, start: int, stop: int) -> list[tuple[int, bytes]]:
        kept = itertools.islice(self._logs.get(key, ()), start, stop + 1)
        return [(number, item.encode()) for number, item in kept]

    def footprint(self) -> dict[str, int]:
        """How many values of each kind are held (what a long run must keep bounded)."""
        return {
            "documents": len(self._docs),
            "decoded": len(self._decoded),
            "counters": len(self._counters),
            "sets": len(self._sets),
            "retained": sum(map(len, self._retained.values())),
            "scheduled": sum(map(len, self._scheduled.values())),
            "queued": sum(map(len, self._queues.values())),
        }

    async def ping(self) -> None:
        return None

    async def flush(self) -> None:
        MemoryBackend.__init__(self)

    async def close(self) -> None:
        return None
