"""The ids of the contract's clauses that tools outside the contract suite name: the
validating proxy and the rate-limit auditor of the load tests report every violation under one
of these, so suite, proxy and load tests speak one vocabulary.

``contracts/clauses.py`` defines every clause with its quote; it sits above ``mockserver`` (it
imports it), so the ids the lower layers need live here, and a test checks that each one is a
clause of the suite.
"""

from __future__ import annotations

from enum import StrEnum


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
    GET_OWNERSHIP = "get.ownership"
    LIFECYCLE_FORWARD = "lifecycle.forward"
    LIFECYCLE_PROGRESS = "lifecycle.progress"
    LIFECYCLE_PAGES = "lifecycle.pages"
    LIFECYCLE_COMPLETED = "lifecycle.completed"
    LIFECYCLE_FAILED = "lifecycle.failed"
    LIFECYCLE_TIMESTAMPS = "lifecycle.timestamps"
    SCHEMA_CONFORMANCE = "schema.conformance"
    SCHEMA_LINKS = "schema.links"
