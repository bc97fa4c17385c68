"""The ids of the contract's clauses that tools outside the contract suite name: the
validating proxy and the rate-limit auditor of the load tests report every violation under one
of these, so suite, proxy and load tests speak one vocabulary.

``contracts/clauses.py`` defines every clause with its quote; it sits above ``mockserver`` (it
imports it), so the ids the lower layers need live here — each with its clause's ``source``, so
that ``cbk-mock proxy --profile page`` can let decision clauses warn as ``cbk-contracts
--profile page`` does — and a test checks that each one is a clause of the suite, of that source.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Source = Literal["page", "decision"]
#: The vendor page states the rule.
PAGE: Source = "page"
#: The decisions file's reading of a gap the page leaves.
DECISION: Source = "decision"
#: As ``cbk-contracts --profile``: ``page`` fails only page clauses, ``decisions`` fails all.
PAGE_PROFILE, DECISIONS_PROFILE = "page", "decisions"
PROFILES = (PAGE_PROFILE, DECISIONS_PROFILE)


class ClauseId(StrEnum):
    ENVELOPE_JSON = "envelope.json"
    REQUEST_ID_ECHO = "request-id.echo"
    REQUEST_ID_GENERATE = "request-id.generate"
    ROUTING_404 = "routing.404"
    ROUTING_405 = "routing.405"
    KEYS_SECRET = "transport.keys-secret"
    CREATE_ACCEPTED = "create.accepted"
    IDEMPOTENCY_PER_USER = "idempotency.per-user"
    IDEMPOTENCY_REPLAY = "idempotency.replay"
    IDEMPOTENCY_REPLAY_HEADER = "idempotency.replay-header"
    IDEMPOTENCY_CONFLICT = "idempotency.conflict"
    LIMITS_HEADERS = "limits.headers"
    LIMITS_PLAN = "limits.plan"
    LIMITS_DECREASING = "limits.decreasing"
    LIMITS_429_AT_ZERO = "limits.429-at-zero"
    LIMITS_RETRY_AFTER = "limits.retry-after"
    LIMITS_RECOVERY = "limits.recovery"
    GET_UUID = "get.uuid"
    GET_OWNERSHIP = "get.ownership"
    LIFECYCLE_FORWARD = "lifecycle.forward"
    LIFECYCLE_PROGRESS = "lifecycle.progress"
    LIFECYCLE_PAGES = "lifecycle.pages"
    LIFECYCLE_COMPLETED = "lifecycle.completed"
    LIFECYCLE_FAILED = "lifecycle.failed"
    LIFECYCLE_TIMESTAMPS = "lifecycle.timestamps"
    SCHEMA_CONFORMANCE = "schema.conformance"
    SCHEMA_LINKS = "schema.links"


#: Each id's ``source`` in ``contracts.clauses`` (a test checks they agree).
SOURCES: dict[ClauseId, Source] = {
    ClauseId.ENVELOPE_JSON: PAGE,
    ClauseId.REQUEST_ID_ECHO: PAGE,
    ClauseId.REQUEST_ID_GENERATE: PAGE,
    ClauseId.ROUTING_404: DECISION,
    ClauseId.ROUTING_405: DECISION,
    ClauseId.KEYS_SECRET: PAGE,
    ClauseId.CREATE_ACCEPTED: PAGE,
    ClauseId.IDEMPOTENCY_PER_USER: DECISION,
    ClauseId.IDEMPOTENCY_REPLAY: PAGE,
    ClauseId.IDEMPOTENCY_REPLAY_HEADER: DECISION,
    ClauseId.IDEMPOTENCY_CONFLICT: PAGE,
    ClauseId.LIMITS_HEADERS: DECISION,
    ClauseId.LIMITS_PLAN: PAGE,
    ClauseId.LIMITS_DECREASING: DECISION,
    ClauseId.LIMITS_429_AT_ZERO: DECISION,
    ClauseId.LIMITS_RETRY_AFTER: PAGE,
    ClauseId.LIMITS_RECOVERY: PAGE,
    ClauseId.GET_UUID: DECISION,
    ClauseId.GET_OWNERSHIP: PAGE,
    ClauseId.LIFECYCLE_FORWARD: DECISION,
    ClauseId.LIFECYCLE_PROGRESS: PAGE,
    ClauseId.LIFECYCLE_PAGES: PAGE,
    ClauseId.LIFECYCLE_COMPLETED: DECISION,
    ClauseId.LIFECYCLE_FAILED: PAGE,
    ClauseId.LIFECYCLE_TIMESTAMPS: DECISION,
    ClauseId.SCHEMA_CONFORMANCE: DECISION,
    ClauseId.SCHEMA_LINKS: PAGE,
}


def warns_only(clause: str, profile: str) -> bool:
    """Whether a broken ``clause`` is a warning, not a failure, under ``profile``."""
    return profile == PAGE_PROFILE and SOURCES.get(ClauseId(clause)) == DECISION
