"""Tracks whether the shared store is reachable, so an outage is logged once, not per request,
and a hung store is not waited for on every request.

While the store is down, callers skip it (``available()`` is False) except for one probe every
``retry_seconds``; the first call that succeeds ends the outage.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mockserver.core.errors import BackendUnavailable
from mockserver.core.state.base import StateBackend

log = logging.getLogger("mockserver.state")

#: How often a request probes a store that is down (wall clock).
RETRY_SECONDS = 0.5


class OutageMonitor:
    def __init__(self, retry_seconds: float = RETRY_SECONDS) -> None:
        self.down = False
        self.outages = 0
        self._retry_seconds = retry_seconds
        self._probe_at = 0.0

    def available(self) -> bool:
        """False while the store is down and the next probe is not due yet."""
        if not self.down:
            return True
        now = time.monotonic()
        if now < self._probe_at:
            return False
        self._probe_at = now + self._retry_seconds
        return True

    def failed(self, what: str, exc: BaseException) -> None:
        self._probe_at = time.monotonic() + self._retry_seconds
        if not self.down:
            self.down = True
            self.outages += 1
            log.warning(
                "shared state unreachable (%s): %s — failing open until it returns", what, exc
            )

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            log.warning("shared state reachable again after outage %d", self.outages)


class GuardedStore:
    """A state backend whose every call goes through an ``OutageMonitor``: while the store is
    down, calls fail at once with ``BackendUnavailable`` except one probe per interval — so a
    hung Redis costs one timeout per probe interval, not one per request — and the first call
    that succeeds after an outage runs ``on_recovery`` (re-seeding a store that came back
    empty) before it returns.

    For the records layout (``--workers``), where no request can be served without the store."""

    def __init__(
        self,
        store: StateBackend,
        monitor: OutageMonitor,
        on_recovery: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._monitor = monitor
        self._on_recovery = on_recovery
        self.name = store.name

    def __getattr__(self, operation: str) -> Any:
        call = getattr(self._store, operation)
        if not inspect.iscoroutinefunction(call):
            return call

        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if not self._monitor.available():
                raise BackendUnavailable("the shared state store is down (probing it)")
            try:
                result = await call(*args, **kwargs)
            except BackendUnavailable as exc:
                self._monitor.failed("records", exc)
                raise
            if self._monitor.down:
                self._monitor.succeeded()
                if self._on_recovery is not None:
                    await self._on_recovery()
            return result

        setattr(self, operation, guarded)  # built once per operation
        return guarded
