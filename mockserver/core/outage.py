"""Tracks whether the shared store is reachable, so an outage is logged once, not per request,
and a hung store is not waited for on every request.

While the store is down, callers skip it (``available()`` is False) except for one probe every
``retry_seconds``; the first call that succeeds ends the outage.
"""

from __future__ import annotations

import logging
import time

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
