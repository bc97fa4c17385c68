"""The mock's use cases, framework-free: the checks of the public API (put in order by
``mockserver.http.api``), dashboard books, assets, reset.

State is split the way the real API splits it: ``db`` holds users, keys, books, usage, the
clock and queued scenarios; ``cache`` (the API-side Redis of the page) holds rate-limit
counters and idempotency records. Both are ``StateBackend``s — in memory, or Redis.
"""

from __future__ import annotations

import logging
from typing import Any

from mockserver.core import images, keys
from mockserver.core.accounts import Accounts, Identity, Principal, dev_keys
from mockserver.core.books import Book, JobScenario
from mockserver.core.clock import Clock, make_clock
from mockserver.core.config import MockConfig
from mockserver.core.dev import DEV_USERS, dev_user_id
from mockserver.core.errors import ApiError, BackendUnavailable
from mockserver.core.idempotency import Claim, IdempotencyStore
from mockserver.core.ids import new_uuid
from mockserver.core.journal import Journal
from mockserver.core.limits import (
    AuthFailureGuard,
    Quotas,
    RateLimiter,
    RequestLimits,
    Reservation,
    WindowCounter,
)
from mockserver.core.outage import GuardedStore, OutageMonitor
from mockserver.core.scenarios import ScenarioQueue
from mockserver.core.state.base import StateBackend
from mockserver.core.state.memory import MemoryBackend
from mockserver.spec import load_spec

log = logging.getLogger("mockserver.state")
SEEDED_KEY = "seeded"
#: The retention group of every stored book, oldest first.
BOOKS = "books"


class MockService:
    def __init__(
        self, config: MockConfig, db: StateBackend, cache: StateBackend | None = None
    ) -> None:
        spec = load_spec()
        self.config = config
        self.cache = cache or db
        self.outage = OutageMonitor()
        self._records = db
        #: Records in a shared store (``--workers``): no request can be served while it is down
        #: (503), so every call goes through the outage monitor, and one that finds it back
        #: re-seeds what a store that came back empty lost.
        if db.name != MemoryBackend.name:
            db = GuardedStore(db, self.outage, on_recovery=self._store_returned)
        self.db = db
        #: ``store_reachable`` probes the shared store (records or cache) through the monitor.
        self._probe = GuardedStore(self.cache, self.outage, on_recovery=self._store_returned)
        self._dev_keys = frozenset(dev_keys().values()) if config.seed_dev_users else frozenset()
        self.clock: Clock = make_clock(config.clock, db, config.clock_start)
        self.accounts = Accounts(db, config.plans)
        self.windows = WindowCounter(self.cache, spec.rate_limit_window, self.outage)
        self.limits = RequestLimits(
            RateLimiter(self.windows, suspend_after_rejected=config.suspend_after_rejected),
            AuthFailureGuard(self.windows, config.auth_failures_per_minute),
            suspend=lambda principal: self.accounts.set_key_flags(
                principal.key.key_id, suspended=True
            ),
        )
        self.quotas = Quotas(db, spec.credits_per_page)
        self.idempotency = IdempotencyStore(self.cache, spec.idempotency_ttl, self.outage)
        self.scenarios = ScenarioQueue(db)
        self.journal = Journal(db, self.clock, config.journal_size, control=config.journal_control)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.ensure_seeded()

    async def ensure_seeded(self) -> bool:
        """Seed the dev users once per state (several workers may race here: one wins); True
        if this call seeded them."""
        if (
            self.config.seed_dev_users
            and await self.db.claim(SEEDED_KEY, {"expiresAt": 1e18}, 0.0) is None
        ):
            await self.seed_dev_users()
            return True
        return False

    async def _store_returned(self) -> None:
        if await self.ensure_seeded():
            log.warning("the state store came back empty: dev users seeded again")

    async def store_reachable(self) -> bool:
        """Whether the shared store answers (probed at most once per interval while down)."""
        try:
            await self._probe.ping()
        except BackendUnavailable:
            return False
        return True

    async def seed_dev_users(self) -> None:
        for name, plan in DEV_USERS.items():
            issued = await self.accounts.create_user(
                plan, name=name, user_id=dev_user_id(name), api_key=keys.dev_key(name)
            )
            if name == "revoked":
                await self.accounts.set_key_flags(issued.key_id, revoked=True)

    async def reset(self) -> None:
        self.windows.forget_fallback()
        await self.db.flush()
        if self.cache is not self._records:
            await self.cache.flush()
        await self.start()

    async def close(self) -> None:
        await self._records.close()
        if self.cache is not self._records:
            await self.cache.close()

    async def now(self) -> float:
        return await self.clock.now()

    # --- the public API's checks (composed in order by ``mockserver.http.api``) -----------
    async def identify(self, presented_key: str | None, address: str, now: float) -> Identity:
        """``auth``; a refusal counts against the client's address (``RequestLimits``)."""
        try:
            return await self._identify(presented_key)
        except ApiError as error:
            raise await self.limits.refused(error, address, now) from None

    async def _identify(self, presented_key: str | None) -> Identity:
        """As ``Accounts.identify``; a dev key unknown to a store that lost the dev users
        (Redis restarted empty without the mock noticing an outage) seeds them again."""
        try:
            return await self.accounts.identify(presented_key)
        except ApiError as error:
            if error.code != "INVALID_API_KEY" or presented_key not in self._dev_keys:
                raise
            if not await self.ensure_seeded():
                raise
        log.warning("a dev key was unknown to the state store: dev users seeded again")
        return await self.accounts.identify(presented_key)

    async def admit(self, identity: Identity, address: str, now: float) -> Principal:
        """``plan``; while the address is blocked, its refusal is the block's 429."""
        try:
            return self.accounts.admit(identity)
        except ApiError as error:
            raise await self.limits.refused(error, address, now) from None

    async def accept(
        self,
        principal: Principal,
        book_id: str,
        payload: dict[str, Any],
        job: JobScenario | None,
        claim: Claim | None,
        reservation: Reservation,
        now: float,
    ) -> Book:
        """``accept``: store the book its quotas were reserved for. Credits are charged
        exactly when a book is stored: the reservation is cancelled if it cannot be, and given
        back later if its job is forced to fail."""
        try:
            book = Book(
                id=book_id,
                user_id=principal.user.id,
                task_id=new_uuid(),
                source="api",
                story_idea=payload["storyIdea"],
                age_range=payload["ageRange"],
                style=payload["style"],
                page_count=payload["pageCount"],
                tone=payload["tone"],
                language=payload["language"],
                created_at=now,
                page_seconds=self.config.page_seconds,
                scenario=job or await self.scenarios.next_job(principal.user.id) or JobScenario(),
                idempotency_digest=None if claim is None else claim.key_digest,
            )
            await self._save(book)
        except BaseException:
            await self.quotas.cancel(reservation)
            raise
        if book.failure_time is not None:
            await self.quotas.schedule_refund(book.user_id, reservation, book.failure_time)
        return book

    async def own_book(self, principal: Principal, book_id: str) -> Book:
        """``ownership``: another user's book is the same 404 as an unknown id."""
        book = await self.load_book(book_id)
        if book is None or book.user_id != principal.user.id:
            raise ApiError("NOT_FOUND", "Story not found.")
        return book

    async def asset(self, book_id: str, name: str, now: float) -> bytes:
        book = await self.load_book(book_id.lower())
        if book is None or not book.has_asset(name, now):
            raise ApiError("NOT_FOUND", "Asset not found.")
        return images.illustration(book.id, name)

    # --- books ---------------------------------------------------------------------------
    async def load_book(self, book_id: str) -> Book | None:
        return await self.db.load(f"book:{book_id}", Book.from_record)

    async def _save(self, book: Book) -> None:
        """Store the book as the newest; past ``max_books`` the oldest go, and with each its
        place in its user's list and its idempotency record."""
        evicted = await self.db.put_retained(
            f"book:{book.id}", book.to_record(), BOOKS, self.config.max_books
        )
        await self.db.add_member(f"user-books:{book.user_id}", book.id)
        for record in evicted:
            old = Book.from_record(record)
            await self.db.remove_member(f"user-books:{old.user_id}", old.id)
            if old.idempotency_digest is not None:
                await self.idempotency.forget(old.user_id, old.idempotency_digest, old.id)

    async def books_held(self) -> int:
        return await self.db.retained(BOOKS)

    async def add_dashboard_book(
        self,
        user_id: str,
        *,
        title: str | None,
        story_idea: str,
        page_count: int,
        with_task: bool,
        now: float,
        age_range: str | None = None,
        style: str | None = None,
        tone: str | None = None,
        language: str | None = None,
    ) -> Book:
        """A book made on the dashboard (``source: web``): complete, sharing the credits."""
        await self.accounts.get_user(user_id)
        book = Book(
            id=new_uuid(),
            user_id=user_id,
            task_id=new_uuid() if with_task else None,
            source="web",
            story_idea=story_idea,
            page_count=page_count,
            created_at=now,
            page_seconds=0.0,
            title=title,
            age_range=age_range,
            style=style,
            tone=tone,
            language=language,
        )
        await self._save(book)
        await self.quotas.charge_unconditionally(user_id, page_count, now)
        return book

    async def user_books(self, user_id: str) -> list[str]:
        return await self.db.members(f"user-books:{user_id}")

    async def library(self, user_id: str, limit: int) -> list[Book]:
        """The user's newest ``limit`` books, API- and dashboard-made alike."""
        await self.accounts.get_user(user_id)
        books = [await self.load_book(book_id) for book_id in await self.user_books(user_id)]
        found = [book for book in books if book is not None]
        return sorted(found, key=lambda book: (book.created_at, book.id), reverse=True)[:limit]

    async def usage(self, user_id: str) -> dict[str, int]:
        """The user's limits as of now: this minute's requests, today's books, this month's
        credits."""
        now = await self.now()
        subscriber = await self.accounts.subscriber(user_id)
        window = await self.limits.rate_limiter.current(subscriber, now)
        return {
            **await self.quotas.usage(subscriber, now),
            "requestsPerMinute": window.limit,
            "requestsRemaining": window.remaining,
            "windowResetSeconds": window.reset,
        }
