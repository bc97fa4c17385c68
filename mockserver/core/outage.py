"""Tracks whether the shared store is reachable, so an outage is logged once, not per request."""

from __future__ import annotations

import logging

log = logging.getLogger("mockserver.state")


class OutageMonitor:
    def __init__(self) -> None:
        self.down = False
        self.outages = 0

    def failed(self, what: str, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            self.outages += 1
            log.warning(
                "shared state unreachable (%s): %s — failing open until it returns", what, exc
            )

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            log.warning("shared state reachable again")
