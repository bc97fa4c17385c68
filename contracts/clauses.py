"""The contract clauses the suite checks, each quoted from ``docs/decisions.md`` or
``openapi.yaml``.

A test names its clause with ``@clause("id")``; a failing test's message starts with the quote,
and the end-of-run summary lists every clause as passed, failed or skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest

MARKER = "contract"
F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    quote: str


_ALL = [
    # --- envelope and transport ------------------------------------------------------------
    Clause(
        "envelope.json",
        "every body is the JSON envelope",
        "Every response body is JSON (`application/json`, a charset parameter is allowed), also "
        "for 404 on unknown paths and 405 on wrong methods. Success: `{ok: true, requestId, "
        "data}`. Error: `{ok: false, requestId, error: {code, message, fields?, meta?}}`.",
    ),
    Clause(
        "request-id.echo",
        "X-Request-Id of 1–64 visible chars echoed",
        "`X-Request-Id`: when the request carries one of 1–64 visible ASCII characters it is "
        "echoed in the body's `requestId` and in the `X-Request-Id` response header",
    ),
    Clause(
        "request-id.generate",
        "other request ids replaced by a generated one",
        "otherwise the server generates one (also echoed in the header).",
    ),
    Clause("routing.404", "unknown path → 404", "Unknown path → 404 `NOT_FOUND`."),
    Clause(
        "routing.405",
        "wrong method → 405 with Allow",
        "Known path, other method → 405 `METHOD_NOT_ALLOWED` with an `Allow` header.",
    ),
    Clause(
        "transport.tls",
        "plain HTTP refused or redirected",
        "Production requires TLS: a plain-HTTP request to a deployment is refused or redirected, "
        "never served.",
    ),
    Clause(
        "transport.keys-secret",
        "keys never appear in responses",
        "Servers store only the SHA-256 of a key; the plain key is shown once, when it is issued.",
    ),
    # --- authentication --------------------------------------------------------------------
    Clause(
        "auth.schemes",
        "x-api-key or Bearer; x-api-key wins",
        "`x-api-key: <key>` (preferred) or `Authorization: Bearer <key>`. When both are sent, "
        "`x-api-key` is used.",
    ),
    Clause("auth.missing", "no key → 401 UNAUTHORIZED", "No key at all → 401 `UNAUTHORIZED`."),
    Clause(
        "auth.invalid",
        "malformed/unknown/revoked → 401 INVALID_API_KEY",
        "A key that is malformed, unknown or revoked → 401 `INVALID_API_KEY`.",
    ),
    Clause(
        "auth.plan",
        "Free plan → 403 PLAN_REQUIRED",
        "A valid key whose user is on the Free plan → 403 `PLAN_REQUIRED`.",
    ),
    Clause(
        "auth.suspended",
        "suspended key → 403 FORBIDDEN",
        "A key suspended for abuse → 403 `FORBIDDEN`.",
    ),
    Clause(
        "auth.revoke-now",
        "revoke and rotate act on the next request",
        "Revoke and rotate take effect on the very next request.",
    ),
    # --- POST /v1/stories --------------------------------------------------------------------
    Clause(
        "create.check-order",
        "auth → plan → limit → parse → validation → idempotency → cap → credits",
        "Order of checks: auth → plan → per-minute limit → content type and JSON parse → body "
        "validation → idempotency → daily cap → monthly credits → accept (202).",
    ),
    Clause(
        "create.bad-request",
        "non-JSON, unparseable or >64 KiB → 400 BAD_REQUEST",
        "`content-type` other than `application/json`, or a body that is not parseable JSON, or a "
        "body over 64 KiB → 400 `BAD_REQUEST`.",
    ),
    Clause(
        "create.all-fields",
        "VALIDATION_ERROR names every offending field",
        "Parseable JSON that breaks the schema → 400 `VALIDATION_ERROR` with `error.fields` "
        "naming every offending field (not only the first). This includes a non-object body, a "
        "missing field, a wrong type",
    ),
    Clause(
        "create.enums",
        "enums exact: every value accepted, case/locale variants rejected",
        "an enum value off by case (`3D`, `English`, `en`)",
    ),
    Clause(
        "create.page-count",
        'pageCount integer 5–15 (7.0 ok; "7", true not)',
        'a `pageCount` outside 5–15 or not an integer (`7.0` counts as the integer 7; `"7"` and '
        "`true` do not)",
    ),
    Clause(
        "create.story-idea",
        "storyIdea 10–2000 characters",
        "a `storyIdea` outside 10–2000 characters",
    ),
    Clause(
        "create.closed-schema",
        "unknown fields rejected",
        "and any field the schema does not define (the body schema is closed: "
        "`additionalProperties: false`).",
    ),
    Clause(
        "create.accepted",
        "202 {taskId, bookId, status: pending}",
        '202 body: `{ok, requestId, data: {taskId, bookId, status: "pending"}}`.',
    ),
    Clause(
        "create.credits",
        "accepting charges pageCount credits at once",
        "Accepting a book charges `pageCount` credits at once.",
    ),
    # --- Idempotency-Key -----------------------------------------------------------------------
    Clause(
        "idempotency.key-length",
        "1–128 chars; longer → 400",
        '1–128 characters; longer → 400 `VALIDATION_ERROR` with `fields["Idempotency-Key"]`.',
    ),
    Clause(
        "idempotency.per-user",
        "keys scoped per user",
        "Keys are scoped to the key's user: two users may use the same key independently.",
    ),
    Clause(
        "idempotency.replay",
        "same key + body → original ids, replay header",
        "Same key, same JSON body (compared after parsing, key order irrelevant) within 24 h → "
        "202 with the original `taskId`/`bookId`, no new book, no credits charged, and the "
        "header `Idempotent-Replayed: true`.",
    ),
    Clause(
        "idempotency.conflict",
        "same key, other body → 409",
        "Same key, different body → 409 `IDEMPOTENCY_CONFLICT`.",
    ),
    Clause(
        "idempotency.accepted-only",
        "only 202s are remembered",
        "Only accepted (202) requests are remembered.",
    ),
    Clause(
        "idempotency.concurrent",
        "concurrent duplicates → one book",
        "Concurrent requests with one key create exactly one book.",
    ),
    # --- limits --------------------------------------------------------------------------------
    Clause(
        "limits.headers",
        "x-ratelimit-* on every keyed response",
        "Every response of `POST /v1/stories` and `GET /v1/stories/{id}` to a request whose key "
        "was accepted (errors and 429 included; 401/403 excluded) carries `x-ratelimit-limit` "
        "(the per-minute limit), `x-ratelimit-remaining` (requests left in the current window, "
        "never negative) and `x-ratelimit-reset` (whole seconds until the window resets, 0–60).",
    ),
    Clause(
        "limits.plan",
        "per-minute limit: Pro 60, Premium 200",
        "Per-minute request limit per user, on every authenticated request (errors and replays "
        "included): Pro 60, Premium 200.",
    ),
    Clause(
        "limits.decreasing",
        "remaining goes down by one per request",
        "Within one window `remaining` goes down by one per request",
    ),
    Clause(
        "limits.429-at-zero",
        "429 only once remaining is 0",
        "429 `RATE_LIMIT_EXCEEDED` comes only once `remaining` is 0.",
    ),
    Clause(
        "limits.retry-after",
        "429 carries retry-after ≥ 1",
        "A 429 carries `retry-after` (whole seconds, ≥ 1) and one of the three codes.",
    ),
    Clause(
        "limits.recovery",
        "the limit lifts after retry-after",
        "A limit was hit […] Wait `retry-after` seconds.",
    ),
    Clause(
        "limits.daily-cap",
        "books per day → 429 DAILY_CAP_EXCEEDED",
        "Books per UTC day per user: Pro 50, Premium 200 → 429 `DAILY_CAP_EXCEEDED`.",
    ),
    Clause(
        "limits.credits",
        "credits < pageCount → 429 INSUFFICIENT_CREDITS",
        "when the remaining credits are fewer than `pageCount` → 429 `INSUFFICIENT_CREDITS`.",
    ),
    # --- GET /v1/stories/{id} ------------------------------------------------------------------
    Clause(
        "get.uuid",
        "non-UUID id → 400, any case accepted",
        "`id` must be a UUID (8-4-4-4-12 hex, any case) → otherwise 400 `VALIDATION_ERROR` with "
        "`fields.id`.",
    ),
    Clause(
        "get.ownership",
        "another user's book is the unknown-id 404",
        "Unknown id and another user's id both give the same 404 `NOT_FOUND` (no existence "
        "oracle).",
    ),
    Clause(
        "get.dashboard",
        "dashboard books readable",
        'Books created on the dashboard (`source: "web"`) are readable through the API too.',
    ),
    # --- lifecycle -------------------------------------------------------------------------------
    Clause(
        "lifecycle.terminal",
        "a job ends completed or failed",
        "Poll until `data.status` is `completed` or `failed`.",
    ),
    Clause(
        "lifecycle.forward",
        "status only moves forward; terminal stays",
        "`status` moves only forward: `pending` → `processing` → `completed` or `failed`.",
    ),
    Clause(
        "lifecycle.progress",
        "progress 0–100, never decreases, 100 when completed",
        "`progress` is an integer 0–100 that never decreases; `completed` means 100.",
    ),
    Clause(
        "lifecycle.pages",
        "pages grow in order, sorted, gap-free",
        "`pages[]` grows in order and is sorted by `index` ascending, without gaps or repeats.",
    ),
    Clause(
        "lifecycle.completed",
        "completed: N−1 pages, title…completedAt set",
        "a completed book of `pageCount` N has N−1 pages, each with `content` and `imageUrl`, and "
        "non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`.",
    ),
    Clause(
        "lifecycle.failed",
        "failed: errorMessage set, completedAt null, refund",
        "`failed` sets `errorMessage`; `completedAt` stays null. The mock refunds a failed book's "
        "credits.",
    ),
    Clause(
        "lifecycle.timestamps",
        "createdAt ≤ updatedAt, ISO 8601 UTC",
        "`createdAt ≤ updatedAt`; timestamps are ISO 8601 in UTC.",
    ),
    # --- the schema as a whole (property layer) --------------------------------------------------
    Clause(
        "schema.conformance",
        "any input: documented status, headers, body",
        "`openapi.yaml` — THE single source of truth.",
    ),
    Clause(
        "schema.links",
        "the 202 bookId is the GET id",
        "The `bookId` of the 202 body is the `id` of `GET /v1/stories/{id}`.",
    ),
]

CLAUSES: dict[str, Clause] = {c.id: c for c in _ALL}


def clause(clause_id: str) -> pytest.MarkDecorator:
    """Mark a test as the check of one contract clause."""
    if clause_id not in CLAUSES:
        raise KeyError(f"unknown contract clause {clause_id!r}")
    return getattr(pytest.mark, MARKER)(clause_id)


def clause_of(item: pytest.Item) -> Clause | None:
    marker = item.get_closest_marker(MARKER)
    return CLAUSES[marker.args[0]] if marker else None


class ContractViolation(AssertionError):
    """An assertion failure, prefixed with the clause it breaks."""

    @classmethod
    def of(cls, item_clause: Clause, error: AssertionError) -> ContractViolation:
        return cls(f"[{item_clause.id}] {item_clause.quote}\n{error}")
