"""The rate-limit auditor: every response's rate-limit headers, checked against the contract
while many requests per account are in flight at once — without false positives.

Framework-free and clock-injected: the load tests (locust) and the validating proxy
(``mockserver.proxy``) feed it the same way, ``begin`` before a request and ``finish`` with its
answer, and it names each violation by its contract clause (``KeyViolation.clause``).

The per-minute limit counts requests per account in fixed windows. A response does not say which
window counted it, but ``x-ratelimit-reset`` does, within bounds: the window ends between
``sent + reset - 1`` and ``received + reset + 1`` (client clock; the server answered somewhere
in between, and ``reset`` is whole seconds). Windows are a minute apart, so those bounds place
every response in its window as long as it took less than a quarter of a window; slower ones
are not placed and only make the checks more lenient. Per account and window:

* the counted responses (everything the limiter let through, errors included) hand out distinct
  ``remaining`` values in ``0..limit-1`` — a repeat means more requests got through than the
  window allows (airtight whatever the order of arrival);
* a 429 ``RATE_LIMIT_EXCEEDED`` means all ``limit`` values were handed out: once the window is
  over, every value not seen must be explained by a request whose answer carried no headers or
  never came (still in flight, connection error, killed at the end of the run);
* when a request starts with nothing else in flight for its account, and nothing else starts
  until it ends, it is sequential: ``remaining`` drops by exactly one from the previous answer,
  a new window starts at ``limit - 1``, a 429 follows only ``remaining`` 0, and waiting
  ``retry-after`` after a 429 is enough.

Headers are checked on every answer to an accepted key (401/403 excluded, and 5xx without any
rate header, which a proxy may produce): present, integers, ``remaining`` within the limit,
``reset`` within the window, one limit per account (the plan's, when the plan is known), and a
429 carries ``retry-after`` of at least one second and no less than ``reset``.

With ``shared`` (other clients use the same keys, unseen), only what each answer shows on its
own and the distinct ``remaining`` values of a window are checked: the sequential checks and the
early-429 count need every request of the account.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.clause_ids import ClauseId
from mockserver.spec import load_spec

_spec = load_spec()
WINDOW = _spec.rate_limit_window
LIMITER_CODE = "RATE_LIMIT_EXCEEDED"
QUOTA_CODES = frozenset(code for code, status in _spec.error_status.items() if status == 429)
if LIMITER_CODE not in QUOTA_CODES:  # pragma: no cover — the contract changed under us
    raise RuntimeError(f"{LIMITER_CODE} is no longer a 429 code in openapi.yaml")
PLAN_LIMITS = {name: plan.requests_per_minute for name, plan in _spec.plans.items()}
LIMIT, REMAINING, RESET, RETRY_AFTER = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
)
#: Clock jitter allowed between this process and the server (seconds).
TOLERANCE = 0.25
#: Responses whose window end is less certain than this are not placed in a window.
MAX_SPREAD = WINDOW / 4
EXAMPLES_PER_CHECK = 5

COUNTED, REJECTED, UNACCOUNTED, IGNORED = "counted", "rejected", "unaccounted", "ignored"


#: Each check's stable name and the clause it enforces.
CHECK_CLAUSES: dict[str, ClauseId] = {
    "rate-limit headers missing": ClauseId.LIMITS_HEADERS,
    "rate-limit headers not integers": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-limit changed for one account": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-reset outside the window": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-remaining outside 0..limit-1": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-remaining repeated within one window": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-reset inconsistent within one window": ClauseId.LIMITS_HEADERS,
    "rate-limit windows off the one-minute grid": ClauseId.LIMITS_HEADERS,
    "a request got through after a 429 in the same window": ClauseId.LIMITS_HEADERS,
    "x-ratelimit-limit differs from the plan": ClauseId.LIMITS_PLAN,
    "x-ratelimit-remaining did not drop by one": ClauseId.LIMITS_DECREASING,
    "a window's first answer is not limit-1": ClauseId.LIMITS_DECREASING,
    "429 while x-ratelimit-remaining is above 0": ClauseId.LIMITS_429_AT_ZERO,
    "429 on the first request of a window": ClauseId.LIMITS_429_AT_ZERO,
    "429 while the previous answer left budget": ClauseId.LIMITS_429_AT_ZERO,
    "429 before the per-minute budget was used up": ClauseId.LIMITS_429_AT_ZERO,
    "429 with a code that is not a limit": ClauseId.LIMITS_RETRY_AFTER,
    "429 without a retry-after of at least 1 s": ClauseId.LIMITS_RETRY_AFTER,
    "retry-after ends before the window does": ClauseId.LIMITS_RECOVERY,
    "still limited after waiting retry-after": ClauseId.LIMITS_RECOVERY,
}


@dataclass(frozen=True)
class KeyViolation:
    """A broken clause, found on the answers to one key (``bucket``)."""

    clause: str
    check: str
    bucket: str
    detail: str

    @classmethod
    def of(cls, check: str, bucket: str, detail: str) -> KeyViolation:
        return cls(CHECK_CLAUSES[check], check, bucket, detail)

    @property
    def name(self) -> str:
        """Clause id and check, e.g. ``limits.decreasing: x-ratelimit-remaining did not…``."""
        return f"{self.clause}: {self.check}"


@dataclass(frozen=True)
class Answer:
    """What the auditor needs of a response (header names lower-case)."""

    status: int
    headers: Mapping[str, str]
    code: str | None = None


@dataclass
class Window:
    lo: float
    hi: float
    limit: int
    seen: set[int] = field(default_factory=set)
    counted: int = 0
    rejected: int = 0
    closed: bool = False

    @property
    def mid(self) -> float:
        return (self.lo + self.hi) / 2


@dataclass
class Previous:
    """The last answer of a sequential chain."""

    window: Window
    kind: str
    remaining: int
    retry_at: float | None


@dataclass
class Ticket:
    bucket: str
    sent: float
    #: The account's request count when this one started.
    order: int
    #: Nothing else of the account was in flight when this one started.
    solo: bool
    previous: Previous | None
    received: float | None = None


@dataclass
class Bucket:
    name: str
    plan: str | None = None
    limit: int | None = None
    windows: list[Window] = field(default_factory=list)
    pending: dict[int, Ticket] = field(default_factory=dict)
    lost: list[Ticket] = field(default_factory=list)
    first_sent: float | None = None
    started: int = 0
    last: Previous | None = None


@dataclass
class Verdict:
    """The auditor's reading of one response."""

    kind: str
    violations: list[KeyViolation] = field(default_factory=list)
    retry_after: int | None = None
    remaining: int = 0
    reset: int = 0


class RateLimitAuditor:
    """Audits every response of this process. Not thread-safe: locust runs users as greenlets,
    and nothing here yields."""

    def __init__(
        self,
        *,
        fresh: bool = False,
        aligned: bool = False,
        shared: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: No request used the keys before the run: the first window is auditable too.
        self.fresh = fresh
        #: Windows are one grid for every account (the mock's clock-aligned windows).
        self.aligned = aligned
        #: Other clients use the keys too: checks that need every request are off.
        self.shared = shared
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._reference: Window | None = None
        self.counts: Counter[str] = Counter()
        self.by_class: dict[str, Counter[str]] = {}
        self.violations: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    # --- one request -----------------------------------------------------------------------
    def begin(self, bucket: str, plan: str | None = None) -> Ticket:
        """Call right before sending: the request may count from now on."""
        state = self._buckets.get(bucket)
        if state is None:
            state = self._buckets[bucket] = Bucket(bucket, plan)
        now = self.clock()
        if state.first_sent is None:
            state.first_sent = now
        state.started += 1
        solo = not state.pending
        ticket = Ticket(bucket, now, state.started, solo, state.last if solo else None)
        state.pending[ticket.order] = ticket
        return ticket

    def lost(self, ticket: Ticket, user_class: str = "") -> None:
        """The request ended without an answer (connection error, timeout)."""
        self._unaccounted(self._buckets[ticket.bucket], ticket, self.clock())
        self._count(user_class, UNACCOUNTED)

    def finish(self, ticket: Ticket, answer: Answer, user_class: str = "") -> Verdict:
        """Call as soon as the answer is in; returns its reading and any violations."""
        received = self.clock()
        state = self._buckets[ticket.bucket]
        found: list[KeyViolation] = []
        verdict = self._read(state, answer, found)
        if verdict.kind == UNACCOUNTED:
            self._unaccounted(state, ticket, received)
        else:
            del state.pending[ticket.order]
            if verdict.kind != IGNORED:
                self._place(state, ticket, verdict, received, found)
        self._count(user_class, verdict.kind)
        for violation in found:
            self.record(violation)
        verdict.violations = found
        return verdict

    # --- windows ---------------------------------------------------------------------------
    def sweep(self, grace: float = 5.0) -> list[KeyViolation]:
        """Close the windows that ended more than ``grace`` seconds ago."""
        now = self.clock()
        return self._close(lambda window: window.hi + grace < now)

    def close(self) -> list[KeyViolation]:
        """Close every window (end of the run: what is still in flight never answers)."""
        return self._close(lambda window: True)

    def forget(self, bucket: str) -> list[KeyViolation]:
        """Close one account's windows and drop its state (a caller bounding its memory)."""
        state = self._buckets.get(bucket)
        if state is None:
            return []
        del self._buckets[bucket]
        found = [self._early_rejection(state, w) for w in state.windows if not w.closed]
        violations = [violation for violation in found if violation is not None]
        for violation in violations:
            self.record(violation)
        return violations

    @property
    def buckets(self) -> int:
        return len(self._buckets)

    # --- results ---------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "byClass": {name: dict(counter) for name, counter in self.by_class.items()},
            "violations": dict(self.violations),
            "examples": {check: list(items) for check, items in self.examples.items()},
        }

    # --- reading one answer ----------------------------------------------------------------
    def _read(self, state: Bucket, answer: Answer, found: list[KeyViolation]) -> Verdict:
        def flag(check: str, detail: str) -> None:
            found.append(KeyViolation.of(check, state.name, f"{detail} (HTTP {answer.status})"))

        if answer.status in (401, 403):
            return Verdict(IGNORED)
        present = [name for name in (LIMIT, REMAINING, RESET) if name in answer.headers]
        if not present and answer.status >= 500:
            return Verdict(UNACCOUNTED)
        if len(present) < 3:
            flag("rate-limit headers missing", f"present: {present or 'none'}")
            return Verdict(UNACCOUNTED)
        try:
            limit, remaining, reset = (int(answer.headers[h]) for h in (LIMIT, REMAINING, RESET))
        except ValueError:
            flag("rate-limit headers not integers", str({h: answer.headers[h] for h in present}))
            return Verdict(UNACCOUNTED)
        kind = REJECTED if answer.status == 429 and answer.code == LIMITER_CODE else COUNTED
        verdict = Verdict(kind, remaining=remaining, reset=reset)
        if state.limit is None:
            state.limit = limit
        elif limit != state.limit:
            flag("x-ratelimit-limit changed for one account", f"{state.limit} then {limit}")
        if state.plan in PLAN_LIMITS and limit != PLAN_LIMITS[state.plan]:
            flag(
                "x-ratelimit-limit differs from the plan",
                f"{state.plan} allows {PLAN_LIMITS[state.plan]}, header says {limit}",
            )
        if not 0 <= reset <= WINDOW:
            flag("x-ratelimit-reset outside the window", f"reset {reset}")
        if kind == COUNTED and not 0 <= remaining < limit:
            flag(
                "x-ratelimit-remaining outside 0..limit-1", f"remaining {remaining}, limit {limit}"
            )
        if kind == REJECTED and remaining != 0:
            flag("429 while x-ratelimit-remaining is above 0", f"remaining {remaining}")
        if answer.status == 429:
            if answer.code not in QUOTA_CODES:
                flag("429 with a code that is not a limit", f"code {answer.code}")
            retry = answer.headers.get(RETRY_AFTER, "")
            verdict.retry_after = int(retry) if retry.isdigit() else None
            if verdict.retry_after is None or verdict.retry_after < 1:
                flag("429 without a retry-after of at least 1 s", f"retry-after {retry!r}")
            elif kind == REJECTED and verdict.retry_after < reset:
                flag(
                    "retry-after ends before the window does", f"retry-after {retry}, reset {reset}"
                )
        return verdict

    # --- placing it in its window ----------------------------------------------------------
    def _place(
        self,
        state: Bucket,
        ticket: Ticket,
        verdict: Verdict,
        received: float,
        found: list[KeyViolation],
    ) -> None:
        lo = ticket.sent + verdict.reset - 1 - TOLERANCE
        hi = received + verdict.reset + 1 + TOLERANCE
        window = self._window(state, lo, hi, found) if hi - lo <= MAX_SPREAD else None
        if window is None:
            self._unaccounted(state, ticket, received)
            return
        if verdict.kind == REJECTED:
            window.rejected += 1
        else:
            window.counted += 1
            if verdict.remaining in window.seen:
                found.append(
                    KeyViolation.of(
                        "x-ratelimit-remaining repeated within one window",
                        state.name,
                        f"remaining {verdict.remaining} twice; limit {window.limit}",
                    )
                )
            window.seen.add(verdict.remaining)
        self._sequence(state, ticket, window, verdict, received, found)

    def _window(
        self, state: Bucket, lo: float, hi: float, found: list[KeyViolation]
    ) -> Window | None:
        mid = (lo + hi) / 2
        for window in state.windows:
            if abs(window.mid - mid) < WINDOW / 2:
                if lo > window.hi or hi < window.lo:
                    found.append(
                        KeyViolation.of(
                            "x-ratelimit-reset inconsistent within one window",
                            state.name,
                            f"window ends in [{window.lo:.1f}, {window.hi:.1f}] s, "
                            f"this answer says [{lo:.1f}, {hi:.1f}] s",
                        )
                    )
                    return None
                window.lo, window.hi = max(window.lo, lo), min(window.hi, hi)
                return window
        window = Window(lo, hi, state.limit or 0)
        if self.aligned:
            self._check_alignment(state, window, found)
        state.windows.append(window)
        return window

    def _check_alignment(self, state: Bucket, window: Window, found: list[KeyViolation]) -> None:
        reference = self._reference
        if reference is not None:
            shift = round((window.mid - reference.mid) / WINDOW) * WINDOW
            if window.lo - shift > reference.hi or window.hi - shift < reference.lo:
                found.append(
                    KeyViolation.of(
                        "rate-limit windows off the one-minute grid",
                        state.name,
                        f"window ends in [{window.lo:.1f}, {window.hi:.1f}] s, grid at "
                        f"[{reference.lo:.1f}, {reference.hi:.1f}] s + k·{WINDOW} s",
                    )
                )
                return
        if reference is None or window.mid > reference.mid:
            self._reference = window  # the latest: clock drift never adds up over a long run

    def _sequence(
        self,
        state: Bucket,
        ticket: Ticket,
        window: Window,
        verdict: Verdict,
        received: float,
        found: list[KeyViolation],
    ) -> None:
        """Exact checks for a request that had its account to itself from start to answer."""
        if self.shared or not ticket.solo or ticket.order != state.started:
            state.last = None
            return
        retry_at = received + verdict.retry_after if verdict.retry_after else None
        state.last = Previous(window, verdict.kind, verdict.remaining, retry_at)
        previous = ticket.previous
        first_ever = self.fresh and ticket.order == 1

        def flag(check: str, detail: str) -> None:
            found.append(KeyViolation.of(check, state.name, detail))

        remaining, limit = verdict.remaining, window.limit
        if first_ever or (previous is not None and previous.window is not window):
            newer = first_ever or window.mid > previous.window.mid  # type: ignore[union-attr]
            if newer and verdict.kind == REJECTED:
                flag("429 on the first request of a window", f"limit {limit}")
            elif newer and remaining != limit - 1:
                flag("a window's first answer is not limit-1", f"remaining {remaining}")
        if previous is None:
            return
        if verdict.kind == REJECTED and previous.retry_at and ticket.sent >= previous.retry_at:
            flag("still limited after waiting retry-after", f"limit {limit}")
        if previous.window is not window:
            return
        if verdict.kind == COUNTED and previous.kind == COUNTED:
            if remaining != previous.remaining - 1:
                flag(
                    "x-ratelimit-remaining did not drop by one",
                    f"{previous.remaining} then {remaining}",
                )
        elif verdict.kind == COUNTED:
            flag("a request got through after a 429 in the same window", f"limit {limit}")
        elif previous.kind == COUNTED and previous.remaining > 0:
            flag("429 while the previous answer left budget", f"remaining {previous.remaining}")

    def _unaccounted(self, state: Bucket, ticket: Ticket, received: float) -> None:
        """It may have counted in some window we cannot name: the checks allow for it."""
        state.pending.pop(ticket.order, None)
        ticket.received = received
        state.lost.append(ticket)
        state.last = None

    # --- closing windows -------------------------------------------------------------------
    def _close(self, due: Callable[[Window], bool]) -> list[KeyViolation]:
        found = []
        for state in self._buckets.values():
            for window in state.windows:
                if not window.closed and due(window):
                    window.closed = True
                    violation = self._early_rejection(state, window)
                    if violation is not None:
                        found.append(violation)
            state.windows = [w for w in state.windows if w.closed][-2:] + [
                w for w in state.windows if not w.closed
            ]
            if state.windows:
                horizon = min(w.lo for w in state.windows) - 2 * WINDOW
                state.lost = [t for t in state.lost if (t.received or horizon) >= horizon]
        for violation in found:
            self.record(violation)
        return found

    def _early_rejection(self, state: Bucket, window: Window) -> KeyViolation | None:
        """A 429 means every remaining value 0..limit-1 went to some request of this window."""
        if self.shared or not window.rejected:
            return None
        self.counts["windows audited for early 429s"] += 1
        start = window.lo - WINDOW - TOLERANCE
        if not self.fresh and (state.first_sent or 0) > start:
            return None  # the window may have begun before this run's first request
        missing = window.limit - len(window.seen)
        if missing <= 0:
            return None
        candidates = [*state.lost, *state.pending.values()]
        explained = sum(
            1
            for t in candidates
            if t.sent <= window.hi + TOLERANCE and (t.received is None or t.received >= start)
        )
        if missing <= explained:
            return None
        return KeyViolation.of(
            "429 before the per-minute budget was used up",
            state.name,
            f"limit {window.limit}, {len(window.seen)} answers let through, "
            f"{explained} unanswered, {window.rejected} rejected",
        )

    def _count(self, user_class: str, kind: str) -> None:
        self.counts[kind] += 1
        self.by_class.setdefault(user_class, Counter())[kind] += 1

    def record(self, violation: KeyViolation) -> None:
        """Count a violation (also those other checks find, e.g. idempotent replays)."""
        self.violations[violation.name] += 1
        examples = self.examples.setdefault(violation.name, [])
        if len(examples) < EXAMPLES_PER_CHECK:
            examples.append(f"{_masked(violation.bucket)}: {violation.detail}")


def _masked(bucket: str) -> str:
    return bucket[:13] + "…" if bucket.startswith("cbk_live_") else bucket


def merge_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for a distributed run (each process audits its own accounts)."""
    counts: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    by_class: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    for summary in summaries:
        counts.update(summary.get("counts", {}))
        violations.update(summary.get("violations", {}))
        for name, kinds in summary.get("byClass", {}).items():
            by_class.setdefault(name, Counter()).update(kinds)
        for check, items in summary.get("examples", {}).items():
            merged = examples.setdefault(check, [])
            merged.extend(items[: EXAMPLES_PER_CHECK - len(merged)])
    return {
        "processes": sum(1 for summary in summaries if summary.get("counts")),
        "counts": dict(counts),
        "byClass": {name: dict(kinds) for name, kinds in by_class.items()},
        "violations": dict(violations),
        "examples": examples,
    }
