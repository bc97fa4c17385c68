"""When to try again and when to poll next: pure functions of the last response, shared by the
sync and async clients, so both behave the same and tests can check the arithmetic alone."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from childrenbooks_sdk.errors import error_for, seconds
from childrenbooks_sdk.models import RateLimit

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transport errors, 5xx and ``RATE_LIMIT_EXCEEDED``. POSTs are safe to retry because
    the client sends every create with an ``Idempotency-Key``."""

    max_retries: int = 3
    #: First backoff in seconds, doubled on each retry (with jitter), capped at ``max_backoff``.
    backoff: float = 0.5
    max_backoff: float = 30.0
    #: A 429 asking for a longer wait than this is raised rather than waited for.
    max_retry_after: float = 120.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1, 2...), or None to stop.
        ``response`` is None after a transport error."""
        if attempt > self.max_retries:
            return None
        backoff = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        backoff *= random.uniform(0.5, 1.0)
        if response is None:
            return backoff
        retry_after = seconds(response.headers.get("retry-after"))
        if response.status_code == 429:
            limited = error_for(response).code == "RATE_LIMIT_EXCEEDED"
            if limited and retry_after is not None and retry_after <= self.max_retry_after:
                return retry_after
            return None
        if response.status_code in RETRYABLE_STATUSES:
            return max(backoff, retry_after or 0.0)
        return None


@dataclass(frozen=True)
class PollPolicy:
    """Poll every ``interval`` seconds, growing by ``factor`` up to ``max_interval``; give up
    after ``timeout`` seconds of waiting. Never poll into an exhausted rate-limit window."""

    interval: float = 2.0
    factor: float = 1.5
    max_interval: float = 15.0
    timeout: float = 900.0

    def intervals(self):
        interval = self.interval
        while True:
            yield interval
            interval = min(self.max_interval, interval * self.factor)

    @staticmethod
    def throttle(response: httpx.Response) -> float:
        """How long until a request would not be refused, by ``x-ratelimit-*``."""
        budget = RateLimit.from_headers(response.headers)
        return float(budget.reset) if budget and budget.remaining == 0 else 0.0
