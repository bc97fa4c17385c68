"""Keeps the suite under each key's per-minute limit, from the rate-limit headers it sees.

Before a request it waits out the window when the last answer said nothing is left; after an
unexpected 429 of the per-minute limit it says how long to wait before retrying. Tests that
drive the limit on purpose bypass it. Every wait is bounded, and said out loud (``LifeLine``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from contracts.lifeline import LifeLine
from contracts.terms import (
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_RESET,
    RATE_LIMITED,
    RETRY_AFTER,
    WINDOW,
)
from mockserver.core.keys import mask

#: Never wait longer than one window plus a little, whatever a server says.
MAX_WAIT = float(WINDOW) + 5.0
#: Past the advertised reset: a server may round the seconds left down.
_MARGIN = 1.0


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


@dataclass
class _Window:
    remaining: int
    resets_at: float


class Throttle:
    def __init__(self, lifeline: LifeLine | None = None) -> None:
        self.lifeline = lifeline or LifeLine()
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self.waited = 0.0

    def _clock(self) -> float:
        return self.lifeline.clock()

    def before(self, key: str | None, requests: int = 1) -> None:
        """Wait until ``requests`` more fit in the key's window (as far as the suite knows)."""
        if not key:
            return
        with self._lock:
            window = self._windows.get(key)
            now = self._clock()
            if window is None or now >= window.resets_at:
                self._windows.pop(key, None)
                return
            if window.remaining >= requests:
                window.remaining -= requests
                return
            wait = min(MAX_WAIT, window.resets_at - now + _MARGIN)
            del self._windows[key]
        self.pause(wait, f"the rate-limit window of key {mask(key)} to reset")

    def left(self, key: str) -> tuple[int | None, float]:
        """What the suite knows of the key's window: (requests left or None when unknown,
        seconds until it resets)."""
        with self._lock:
            window = self._windows.get(key)
            now = self._clock()
            if window is None or now >= window.resets_at:
                return None, 0.0
            return window.remaining, window.resets_at - now

    def after(
        self, key: str | None, status: int, headers: Mapping[str, str], code: str | None
    ) -> float | None:
        """Learn from a response; for a per-minute 429 return the seconds to wait before a
        retry (daily caps and credits do not lift within a test run)."""
        now = self._clock()
        remaining = header_int(headers, RATE_LIMIT_REMAINING)
        reset = header_int(headers, RATE_LIMIT_RESET)
        retry_after = header_int(headers, RETRY_AFTER) if status == 429 else None
        if key and remaining is not None and reset is not None and 0 <= reset <= MAX_WAIT:
            with self._lock:
                self._windows[key] = _Window(max(0, remaining), now + reset)
        if status != 429 or code != RATE_LIMITED:
            return None
        wait = min(MAX_WAIT, max(1.0, float(retry_after or 1)))
        if key:
            with self._lock:
                self._windows[key] = _Window(0, now + wait)
        return wait

    def until_reset(self, key: str) -> None:
        """Wait for the window the key's last answer was in to end (as far as the suite knows)."""
        with self._lock:
            window = self._windows.pop(key, None)
        if window is not None:
            self.pause(
                window.resets_at - self._clock() + _MARGIN,
                f"a fresh rate-limit window of key {mask(key)}",
            )

    def pause(self, seconds: float, what: str) -> None:
        seconds = max(0.0, min(MAX_WAIT, seconds))
        self.waited += seconds
        self.lifeline.wait(seconds, what)
