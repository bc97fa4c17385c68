"""Idempotency-Key: per-user scope, 24 h on the mock's clock, replay or 409, one book per key.

Only accepted (202) creates are remembered. A request that finds the key claimed by a request
still in flight waits for it, then replays its result (or takes the key over if the first one
was refused). When the store is unreachable, deduplication is skipped and nothing else fails.

A claim reserves the id of the book its request is about to create, and is only ever finished
(completed or abandoned) by compare-and-set on that id: a request that outlived its lease, whose
key another request has taken over since, cannot overwrite or delete the newer claim.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.outage import OutageMonitor
from mockserver.core.state.base import StateBackend

#: How long a request waits (wall clock) for a concurrent twin before answering 409.
IN_FLIGHT_WAIT_SECONDS = 10.0
#: An unfinished claim lapses after this long (wall clock): its holder has died.
CLAIM_LEASE_SECONDS = 30.0
_POLL_SECONDS = 0.005


@dataclass(frozen=True)
class Replay:
    book_id: str
    task_id: str
    status: str


@dataclass(frozen=True)
class Claim:
    record_key: str
    fingerprint: str
    #: The id of the book the claiming request creates: the claim's owner token.
    book_id: str
    #: What the book keeps to find the record again (``IdempotencyStore.forget``).
    key_digest: str


class IdempotencyStore:
    def __init__(
        self,
        store: StateBackend,
        ttl_seconds: int,
        outage: OutageMonitor,
        *,
        lease_seconds: float = CLAIM_LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._outage = outage
        self._lease = lease_seconds

    @staticmethod
    def key_digest(idempotency_key: str) -> str:
        """128 bits of the key's SHA-256: kept in every keyed book and record, so half the
        bytes of the whole digest matter on a mock holding hundreds of thousands."""
        raw = idempotency_key.encode("utf-8", "surrogatepass")
        return hashlib.sha256(raw).hexdigest()[:32]

    @classmethod
    def record_key(cls, user_id: str, idempotency_key: str) -> str:
        return cls._record_key(user_id, cls.key_digest(idempotency_key))

    @staticmethod
    def _record_key(user_id: str, key_digest: str) -> str:
        return f"idem:{user_id}:{key_digest}"

    async def begin(
        self, user_id: str, idempotency_key: str, fingerprint: str, book_id: str, now: float
    ) -> Claim | Replay | None:
        """A Claim to go ahead and create book ``book_id``, a Replay of the original, or None
        when deduplication is off."""
        if not self._outage.available():
            return None
        key = self.record_key(user_id, idempotency_key)
        pending = {
            "state": "pending",
            "fingerprint": fingerprint,
            "bookId": book_id,
            "expiresAt": now + self._ttl,
        }
        deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
        try:
            while True:
                existing = await self._store.claim(key, pending, now, self._lease)
                self._outage.succeeded()
                if existing is None:
                    return Claim(key, fingerprint, book_id, self.key_digest(idempotency_key))
                if existing["state"] == "done":
                    if existing["fingerprint"] != fingerprint:
                        raise ApiError(
                            "IDEMPOTENCY_CONFLICT",
                            "This Idempotency-Key was already used with a different request body.",
                        )
                    return Replay(existing["bookId"], existing["taskId"], existing["status"])
                # In flight, whatever its body: only an accepted create is remembered, so wait
                # for the first one to be accepted (then compare) or refused (then claim).
                if time.monotonic() > deadline:
                    raise ApiError(
                        "IDEMPOTENCY_CONFLICT",
                        "A request with this Idempotency-Key is still being processed.",
                    )
                await asyncio.sleep(_POLL_SECONDS)
        except BackendUnavailable as exc:
            self._outage.failed("idempotency", exc)
            return None

    async def complete(self, claim: Claim, replay: Replay, now: float) -> None:
        """Remember the accepted create, unless the claim lapsed and the key was taken over."""
        record = {
            "state": "done",
            "fingerprint": claim.fingerprint,
            "bookId": claim.book_id,
            "taskId": replay.task_id,
            "status": replay.status,
            "expiresAt": now + self._ttl,
        }
        await self._finish(claim, record)

    async def abandon(self, claim: Claim) -> None:
        """The create was refused: forget the claim so the key can be used again."""
        await self._finish(claim, None)

    async def forget(self, user_id: str, key_digest: str, book_id: str) -> None:
        """Book ``book_id`` was evicted: its record goes too (unless the key has a newer one)."""
        await self._replace(self._record_key(user_id, key_digest), book_id, None)

    async def _finish(self, claim: Claim, record: dict[str, object] | None) -> None:
        await self._replace(claim.record_key, claim.book_id, record)

    async def _replace(self, key: str, book_id: str, record: dict[str, object] | None) -> None:
        try:
            await self._store.replace_if(key, "bookId", book_id, record, expire_seconds=self._ttl)
        except BackendUnavailable as exc:
            self._outage.failed("idempotency", exc)
