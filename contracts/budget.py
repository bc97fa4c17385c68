"""Credits the suite may spend on the target (``CBK_CREDIT_BUDGET``), and what it did spend.

A test reserves what it may spend before it creates a book; a test that cannot get its
reservation is skipped with the number it needs. Accepted creates are counted as they happen.
"""

from __future__ import annotations

import math
import threading

import pytest

from contracts.settings import CREDIT_BUDGET


class CreditLedger:
    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.reserved = 0
        self.spent = 0
        #: The first guarded probe the target booked anyway (it ignored the over-long key).
        self.guard_breach: str | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> float:
        return self.budget - self.reserved

    def try_reserve(self, credits: int) -> bool:
        with self._lock:
            if self.reserved + credits > self.budget:
                return False
            self.reserved += credits
            return True

    def reserve(self, credits: int, purpose: str) -> None:
        """Reserve ``credits`` or skip the calling test, naming what it needs."""
        if not self.try_reserve(credits):
            left = "no" if self.available <= 0 else f"only {self.available:g}"
            pytest.skip(
                f"{purpose} needs {credits} credits; {CREDIT_BUDGET}={self.budget:g} has {left} "
                f"credits left (raise {CREDIT_BUDGET} to run it)"
            )

    def release(self, credits: int) -> None:
        """Give back a reservation that was not needed (a probe the target refused)."""
        with self._lock:
            self.reserved -= credits

    def charge(self, credits: int) -> None:
        """Count credits an accepted create consumed."""
        with self._lock:
            self.spent += credits

    def guard_failed(self, exchange: str) -> None:
        """Record that a guarded probe was booked: further probes could each cost credits."""
        with self._lock:
            self.guard_breach = self.guard_breach or exchange

    def check_guard(self) -> None:
        """Fail instead of sending another guarded probe once one was booked on a budget."""
        if self.guard_breach is not None and not math.isinf(self.budget):
            pytest.fail(
                "not sent: the target booked a create with an over-long Idempotency-Key "
                f"({self.guard_breach}), so further probes could spend credits beyond "
                f"{CREDIT_BUDGET}={self.budget:g}"
            )

    def describe(self) -> str:
        budget = "unlimited" if math.isinf(self.budget) else f"{self.budget:g}"
        return f"credits spent: {self.spent} (reserved {self.reserved}, budget {budget})"
