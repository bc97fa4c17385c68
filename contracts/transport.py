"""One policy for every request the suite sends — throttle, retry, credits — whichever HTTP
library carries it: httpx for the behaviour tests (``contracts.client.Api``), requests under
schemathesis (``contracts.fuzz.ThrottledSession``).

What costs credits is not known here: ``openapi.yaml`` declares it per operation
(``x-cbk-credits``), so a paid endpoint added to the spec is budgeted without a code change.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from contracts.budget import CreditLedger
from contracts.terms import API_KEY_HEADER, BEARER_SCHEME, IDEMPOTENCY_HEADER, REPLAY_HEADER, SPEC
from contracts.throttle import Throttle
from mockserver.core.keys import mask
from mockserver.spec import CreditRule

T = TypeVar("T")
RETRIES = 3
#: What ``Outgoing.body`` holds when the request has no parseable JSON body.
NO_JSON = object()


def fresh_idempotency_key() -> str:
    return f"cbk-contracts-{uuid.uuid4()}"


def guard_key() -> str:
    """An Idempotency-Key one character too long: a correct server refuses a request that
    carries it, whatever it thinks of the body — so a probe with it never books."""
    return fresh_idempotency_key().ljust(SPEC.idempotency_key_max_length + 1, "g")


def is_guarded(idempotency_key: Any) -> bool:
    """Whether a correct server must refuse this Idempotency-Key for its length (HTTP strips
    the value's surrounding whitespace before the server sees it)."""
    return (
        isinstance(idempotency_key, str)
        and len(idempotency_key.strip(" \t")) > SPEC.idempotency_key_max_length
    )


def key_of(headers: Mapping[str, str]) -> str | None:
    """The API key a request presents, as the server reads it (x-api-key wins)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get(API_KEY_HEADER.lower()):
        return lowered[API_KEY_HEADER.lower()]
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == BEARER_SCHEME.lower() else None


class Pricing:
    """The credit rules of the spec, matched to requests by method and path template."""

    def __init__(self, rules: tuple[CreditRule, ...] = SPEC.credit_rules) -> None:
        self._rules = [(rule, _template(rule.path)) for rule in rules]

    def rule_for(self, method: str, path: str) -> CreditRule | None:
        for rule, pattern in self._rules:
            if rule.method == method.upper() and pattern.fullmatch(path.split("?")[0]):
                return rule
        return None

    def of(self, operation_id: str) -> CreditRule:
        return next(rule for rule, _ in self._rules if rule.operation_id == operation_id)


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


PRICING = Pricing()


class Traffic:
    """Requests the suite sent, per key, for the end-of-run summary (keys shown masked)."""

    def __init__(self) -> None:
        self.by_key: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, key: str | None) -> None:
        with self._lock:
            self.by_key[key or ""] += 1

    @property
    def total(self) -> int:
        return sum(self.by_key.values())

    def describe(self, shown: int = 3) -> str:
        busiest = self.by_key.most_common()
        parts = [f"{mask(key) if key else 'no key'}: {n}" for key, n in busiest[:shown]]
        if len(busiest) > shown:
            parts.append(f"{len(busiest) - shown} other keys: {sum(n for _, n in busiest[shown:])}")
        return f"requests sent: {self.total}" + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class Outgoing:
    method: str
    #: Relative to the target's base URL (a base URL may carry a path prefix).
    path: str
    headers: Mapping[str, str]
    #: The parsed JSON body, or ``NO_JSON``.
    body: Any = NO_JSON


@dataclass(frozen=True)
class Incoming:
    status: int
    headers: Mapping[str, str]
    code: str | None

    @property
    def replayed(self) -> bool:
        return str(self.headers.get(REPLAY_HEADER, "")).lower() == "true"


class SendPolicy:
    """Before a request: the guard check and the throttle. After it: what the throttle learns,
    credits charged for an accepted paid call, and a bounded retry after a per-minute 429."""

    def __init__(
        self,
        throttle: Throttle,
        ledger: CreditLedger,
        *,
        pricing: Pricing = PRICING,
        traffic: Traffic | None = None,
    ) -> None:
        self.throttle = throttle
        self.ledger = ledger
        self.pricing = pricing
        self.traffic = traffic or Traffic()

    def send(
        self,
        outgoing: Outgoing,
        transmit: Callable[[], T],
        incoming: Callable[[T], Incoming],
        *,
        throttled: bool = True,
    ) -> T:
        """``transmit`` sends the request once; ``incoming`` reads its answer. With
        ``throttled=False`` (tests that drive the limit on purpose): no waiting, no retry."""
        key = key_of(outgoing.headers)
        rule = self.pricing.rule_for(outgoing.method, outgoing.path)
        guarded = rule is not None and is_guarded(_header(outgoing.headers, IDEMPOTENCY_HEADER))
        if guarded:
            self.ledger.check_guard()
        for attempt in range(RETRIES):
            if throttled:
                self.throttle.before(key)
            self.traffic.count(key)
            result = transmit()
            answer = incoming(result)
            wait = self.throttle.after(key, answer.status, answer.headers, answer.code)
            if rule is not None and answer.status == rule.accepted_status and not answer.replayed:
                self.ledger.charge(rule.cost(outgoing.body))
                if guarded:
                    self.ledger.guard_failed(f"{outgoing.method} {outgoing.path} → {answer.status}")
            if not throttled or wait is None or attempt == RETRIES - 1:
                return result
            self.throttle.pause(wait, f"retry-after of a 429 to {outgoing.method} {outgoing.path}")
        raise AssertionError("unreachable")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
