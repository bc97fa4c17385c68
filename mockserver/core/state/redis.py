"""State in Redis, shared by every mock process that points at it.

Each operation that must be atomic is one Lua script or one command, so counters, quota charges
and idempotency claims stay exact across worker processes. Keys live under a prefix (one
sub-namespace per kind of value, as the in-memory backend keeps them apart), and ``flush`` only
removes that prefix. Connection problems surface as ``BackendUnavailable`` after short timeouts
and without client-side retries: a retried increment could count twice.

After Redis restarts, stale pooled connections must not make the mock flip between reachable and
unreachable: a connection failure drops every idle pooled connection at once, and a connection
idle for a while is checked with PING before use and replaced if dead (the command itself is
still sent once).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mockserver.core.codec import dumps
from mockserver.core.errors import BackendUnavailable
from mockserver.core.ids import new_token
from mockserver.core.state.base import DEFAULT_REDIS_PREFIX, JSON, LogItem, Quota

#: Loopback connects are instant or refused; a hung server must not hang a request for long.
#: Override with the URL's own options, e.g. ``redis://host/0?socket_timeout=5``.
CONNECT_TIMEOUT_SECONDS = 1.0
COMMAND_TIMEOUT_SECONDS = 2.0
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 5.0
#: A pooled connection idle for longer is PINGed before its next command.
HEALTH_CHECK_SECONDS = 1.0

T = TypeVar("T")
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

_HIT_UNLESS = """
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return -1 end
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# ARGV holds (amount, limit) pairs in KEYS order. Returns the 0-based index of the first quota
# that does not fit (nothing changed), or -1 after adding every amount.
_CHARGE = """
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + tonumber(ARGV[2 * i - 1]) > tonumber(ARGV[2 * i]) then return i - 1 end
end
for i = 1, #KEYS do redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1]) end
return -1
"""

_RELEASE = """
local left = tonumber(redis.call('GET', KEYS[1]) or '0') - tonumber(ARGV[1])
if left < 0 then left = 0 end
redis.call('SET', KEYS[1], left, 'KEEPTTL')
return left
"""

# ARGV: record, now, lease in milliseconds ('' for none). Returns the live record or false.
_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if raw then
  local expires = tonumber(cjson.decode(raw)['expiresAt']) or 0
  if expires > tonumber(ARGV[2]) then return raw end
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
return false
"""

# ARGV: field, expected value (JSON), new document ('' to delete), expiry in ms ('' for none).
_REPLACE_IF = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local current = cjson.decode(raw)[ARGV[1]]
if current == nil or current ~= cjson.decode(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
"""

# KEYS: the document, the group's list of keys (oldest first). ARGV: the value, the cap.
# Returns the values of the documents evicted.
_PUT_RETAINED = """
redis.call('SET', KEYS[1], ARGV[1])
local held = redis.call('RPUSH', KEYS[2], KEYS[1])
local evicted = {}
while held > tonumber(ARGV[2]) do
  local oldest = redis.call('LPOP', KEYS[2])
  local raw = redis.call('GET', oldest)
  if raw then
    redis.call('DEL', oldest)
    evicted[#evicted + 1] = raw
  end
  held = held - 1
end
return evicted
"""

_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return due
"""

_RAISE_TO = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""

_MERGE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local doc = cjson.decode(raw)
for field, value in pairs(cjson.decode(ARGV[1])) do doc[field] = value end
local merged = cjson.encode(doc)
redis.call('SET', KEYS[1], merged, 'KEEPTTL')
return merged
"""

# KEYS: the log, its number counter; ARGV: item, keep. Returns the item's number.
_LOG_APPEND = """
local n = redis.call('INCR', KEYS[2])
redis.call('LPUSH', KEYS[1], n .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return n
"""

#: What ``delete`` removes for a key. A log's number counter ("log-number") is not among them.
_KINDS = ("doc", "set", "counter", "due", "queue", "log", "retained")


class _ReplacedWhenDead:
    """For redis-py connection classes: a failed health-check PING (Redis restarted while the
    connection sat in the pool) reconnects instead of failing the command about to be sent."""

    async def check_health(self) -> None:
        try:
            await super().check_health()  # type: ignore[misc]
        except RedisConnectionError:
            await self.disconnect()  # type: ignore[attr-defined]
            await self.connect()  # type: ignore[attr-defined]


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, *, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self.prefix = prefix
        # A bounded pool that makes a burst of requests queue for a connection instead of
        # failing (which would look like an outage).
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_WAIT_SECONDS,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
            health_check_interval=HEALTH_CHECK_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
        base: Any = pool.connection_class  # TCP, TLS or Unix socket, by the URL
        pool.connection_class = type(f"Checked{base.__name__}", (_ReplacedWhenDead, base), {})
        self._pool = pool
        self._redis = aioredis.Redis.from_pool(pool)
        self._hit = self._redis.register_script(_HIT)
        self._hit_unless = self._redis.register_script(_HIT_UNLESS)
        self._charge = self._redis.register_script(_CHARGE)
        self._release = self._redis.register_script(_RELEASE)
        self._claim = self._redis.register_script(_CLAIM)
        self._replace_if = self._redis.register_script(_REPLACE_IF)
        self._put_retained = self._redis.register_script(_PUT_RETAINED)
        self._pop_due = self._redis.register_script(_POP_DUE)
        self._raise_to = self._redis.register_script(_RAISE_TO)
        self._merge = self._redis.register_script(_MERGE)
        self._log_append = self._redis.register_script(_LOG_APPEND)

    def _key(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except _UNREACHABLE as exc:
            await self._drop_idle_connections()
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def _drop_idle_connections(self) -> None:
        """Their sockets are as dead as the one that just failed (or soon stale): the next
        commands connect afresh instead of failing one stale connection after another."""
        with contextlib.suppress(Exception):
            await self._pool.disconnect(inuse_connections=False)

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    # documents ---------------------------------------------------------------------------
    async def get(self, key: str) -> JSON | None:
        raw = await self._call(self._redis.get(self._key("doc", key)))
        return None if raw is None else json.loads(raw)

    async def load(self, key: str, decode: Callable[[JSON], T]) -> T | None:
        document = await self.get(key)
        return None if document is None else decode(document)

    async def put(self, key: str, value: JSON, expire_seconds: float | None = None) -> None:
        px = None if expire_seconds is None else _ms(expire_seconds)
        await self._call(self._redis.set(self._key("doc", key), dumps(value), px=px))

    async def delete(self, *keys: str) -> None:
        if keys:
            names = [self._key(kind, key) for key in keys for kind in _KINDS]
            await self._call(self._redis.delete(*names))

    async def add_member(self, key: str, member: str) -> None:
        await self._call(self._redis.sadd(self._key("set", key), member))

    async def remove_member(self, key: str, member: str) -> None:
        await self._call(self._redis.srem(self._key("set", key), member))

    async def members(self, key: str) -> list[str]:
        members = await self._call(self._redis.smembers(self._key("set", key)))
        return sorted(cast("set[str]", members))  # decode_responses: str, never bytes

    # retention ---------------------------------------------------------------------------
    async def put_retained(self, key: str, value: JSON, group: str, cap: int) -> list[JSON]:
        # The evicted keys are read from the list inside the script; fine on one Redis (the
        # mock's), which is all this backend supports.
        keys = [self._key("doc", key), self._key("retained", group)]
        evicted = await self._call(self._put_retained(keys, [dumps(value), cap]))
        return [json.loads(raw) for raw in evicted]

    async def retained(self, group: str) -> int:
        return int(await self._call(self._redis.llen(self._key("retained", group))))

    # counters ----------------------------------------------------------------------------
    async def hit(self, key: str, expire_seconds: int) -> int:
        return int(await self._call(self._hit([self._key("counter", key)], [expire_seconds])))

    async def hit_unless(
        self, key: str, expire_seconds: int, guard_key: str, guard_limit: int
    ) -> int | None:
        keys = [self._key("counter", key), self._key("counter", guard_key)]
        count = int(await self._call(self._hit_unless(keys, [expire_seconds, guard_limit])))
        return None if count < 0 else count

    async def read_counter(self, key: str) -> int:
        return int(await self._call(self._redis.get(self._key("counter", key))) or 0)

    async def set_counter(self, key: str, value: int) -> None:
        await self._call(self._redis.set(self._key("counter", key), value))

    async def merge(self, key: str, fields: dict[str, JSON]) -> JSON | None:
        keys = [self._key("doc", key)]
        merged = await self._call(self._merge(keys=keys, args=[dumps(fields)]))
        return None if merged is None else json.loads(merged)

    async def add_float(self, key: str, delta: float) -> float:
        return float(await self._call(self._redis.incrbyfloat(self._key("doc", key), delta)))

    async def raise_to(self, key: str, value: float) -> float:
        keys = [self._key("doc", key)]
        return float(await self._call(self._raise_to(keys=keys, args=[repr(float(value))])))

    async def charge(self, quotas: Sequence[Quota]) -> int | None:
        keys = [self._key("counter", q.key) for q in quotas]
        args = [v for q in quotas for v in (q.amount, q.limit)]
        refused = int(await self._call(self._charge(keys, args)))
        return None if refused < 0 else refused

    async def release(self, key: str, amount: int) -> None:
        await self._call(self._release([self._key("counter", key)], [amount]))

    # idempotency -------------------------------------------------------------------------
    async def claim(
        self, key: str, record: JSON, now: float, lease_seconds: float | None = None
    ) -> JSON | None:
        lease = "" if lease_seconds is None else _ms(lease_seconds)
        args = [dumps(record), repr(float(now)), lease]
        existing = await self._call(self._claim([self._key("doc", key)], args))
        return None if existing is None else json.loads(existing)

    async def replace_if(
        self,
        key: str,
        field: str,
        expected: JSON,
        value: JSON | None,
        expire_seconds: float | None = None,
    ) -> bool:
        px = "" if expire_seconds is None else _ms(expire_seconds)
        new = "" if value is None else dumps(value)
        args = [field, dumps(expected), new, px]
        return bool(await self._call(self._replace_if([self._key("doc", key)], args)))

    # scheduled items and queues ----------------------------------------------------------
    async def schedule(self, key: str, due: float, item: JSON) -> None:
        # A unique member: two equal items (two refunds of one size) must both be kept.
        member = f"{new_token(32)}:{dumps(item).decode()}"
        await self._call(self._redis.zadd(self._key("due", key), {member: due}))

    async def pop_due(self, key: str, now: float) -> list[JSON]:
        due = await self._call(self._pop_due([self._key("due", key)], [repr(float(now))]))
        return [json.loads(member.partition(":")[2]) for member in due]

    async def push(self, key: str, *items: JSON) -> None:
        if items:
            await self._call(self._redis.rpush(self._key("queue", key), *map(dumps, items)))

    async def pop(self, key: str) -> JSON | None:
        raw = await self._call(self._redis.lpop(self._key("queue", key)))
        return None if raw is None else json.loads(cast(str, raw))

    async def peek_all(self, key: str) -> list[JSON]:
        raw = await self._call(self._redis.lrange(self._key("queue", key), 0, -1))
        return [json.loads(item) for item in raw]

    # capped logs -------------------------------------------------------------------------
    async def log_append(self, key: str, item: LogItem, keep: int) -> int:
        keys = [self._key("log", key), self._key("log-number", key)]
        return int(await self._call(self._log_append(keys, [item.encode(), keep])))

    async def log_read(self, key: str, start: int, stop: int) -> list[tuple[int, bytes]]:
        raw = await self._call(self._redis.lrange(self._key("log", key), start, stop))
        entries = (str(item).partition(":") for item in raw)  # decode_responses: text
        return [(int(number), text.encode()) for number, _, text in entries]

    # lifecycle ---------------------------------------------------------------------------
    async def flush(self) -> None:
        """Remove every key under this backend's prefix — nothing else in the database."""
        pattern = _glob_escape(self.prefix) + "*"
        try:
            batch: list[str] = []
            async for name in self._redis.scan_iter(match=pattern, count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    await self._redis.unlink(*batch)
                    batch = []
            if batch:
                await self._redis.unlink(*batch)
        except _UNREACHABLE as exc:
            await self._drop_idle_connections()
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def close(self) -> None:
        await self._redis.aclose()
