"""The contract clauses the suite checks, each with where it comes from.

``source`` is ``page`` when the vendor page (``reference/childrenbooks-developer-api-v1.txt``)
states the rule, and ``decision`` when it is ``docs/decisions.md``'s reading of a gap the page
leaves; the quote is taken from that source. ``cbk-contracts --profile page`` fails only on
``page`` clauses and reports broken ``decision`` clauses as warnings (``contracts.verdict``).

A test names its clause with ``@clause("id")``; a failure is a ``ContractViolation`` of a clause
— the test's own, or the one a shared assertion found broken — whose message starts with the
clause's id and quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

MARKER = "contract"
Source = Literal["page", "decision"]
PAGE: Source = "page"
DECISION: Source = "decision"


@dataclass(frozen=True)
class Clause:
    id: str
    source: Source
    title: str
    quote: str


def _page(clause_id: str, title: str, quote: str) -> Clause:
    return Clause(clause_id, PAGE, title, quote)


def _decision(clause_id: str, title: str, quote: str) -> Clause:
    return Clause(clause_id, DECISION, title, quote)


_ALL = [
    # --- envelope and transport ------------------------------------------------------------
    _page(
        "envelope.json",
        "answers are the ok/data or ok/error envelope",
        "Responses use ok, optional requestId, and data or error. […] error.code string "
        "Machine-readable error code; error.message string Human-readable message; "
        "error.fields object | undefined; error.meta object | undefined.",
    ),
    _decision(
        "envelope.media-type",
        "every body is application/json",
        "Every response body is JSON (`application/json`, a charset parameter is allowed), also "
        "for 404 on unknown paths and 405 on wrong methods.",
    ),
    _decision(
        "envelope.codes",
        "error.code is a spec code of its status",
        "Error: `{ok: false, requestId, error: {code, message, fields?, meta?}}` — each code with "
        "its status (`openapi.yaml`, `x-cbk-http-status`).",
    ),
    _decision(
        "envelope.request-id-header",
        "X-Request-Id header = the body's requestId",
        "it is echoed in the body's `requestId` and in the `X-Request-Id` response header; "
        "otherwise the server generates one (also echoed in the header).",
    ),
    _page(
        "request-id.echo",
        "a sent X-Request-Id (≤ 64) is the requestId",
        "X-Request-Id: If set, echoed in responses and logs for tracing. Max length 64. […] "
        "requestId: Correlation id (echo of X-Request-Id or server-generated).",
    ),
    _page(
        "request-id.generate",
        "no X-Request-Id: the server generates one",
        "X-Request-Id […] otherwise the server generates one.",
    ),
    _decision(
        "request-id.replace",
        "over-long or non-visible ids are replaced",
        "`X-Request-Id`: when the request carries one of 1–64 visible ASCII characters it is "
        "echoed […]; otherwise the server generates one.",
    ),
    _decision("routing.404", "unknown path → 404", "Unknown path → 404 `NOT_FOUND`."),
    _decision(
        "routing.405",
        "wrong method → 405 with Allow",
        "Known path, other method → 405 `METHOD_NOT_ALLOWED` with an `Allow` header.",
    ),
    _page("transport.tls", "plain HTTP is never served", "All requests require TLS."),
    _page(
        "transport.keys-secret",
        "keys never appear in responses",
        "API keys are shown once, hashed with SHA-256 at rest.",
    ),
    # --- authentication --------------------------------------------------------------------
    _page(
        "auth.schemes",
        "x-api-key or Authorization: Bearer",
        "Authentication: x-api-key: cbk_live_… (preferred) or Authorization: Bearer cbk_live_….",
    ),
    _decision(
        "auth.preferred",
        "both sent: x-api-key is used",
        "When both are sent, `x-api-key` is used.",
    ),
    _page(
        "auth.missing",
        "no key → 401 UNAUTHORIZED",
        "Get a Pro or Premium key […] Error — 400 / 401 / 429 […] error.code values include: "
        "UNAUTHORIZED, INVALID_API_KEY, …",
    ),
    _page(
        "auth.invalid",
        "malformed/unknown/revoked → 401 INVALID_API_KEY",
        "Rotation and instant revoke from the dashboard. […] Downgrading to Free instantly "
        "revokes the key. […] error.code values include: UNAUTHORIZED, INVALID_API_KEY, …",
    ),
    _decision(
        "auth.plan",
        "Free plan → 403 PLAN_REQUIRED",
        "A valid key whose user is on the Free plan → 403 `PLAN_REQUIRED`.",
    ),
    _decision(
        "auth.suspended",
        "suspended key → 403 FORBIDDEN",
        "A key suspended for abuse → 403 `FORBIDDEN`.",
    ),
    _page(
        "auth.revoke-now",
        "revoke and rotate act on the next request",
        "Rotation and instant revoke from the dashboard.",
    ),
    # --- POST /v1/stories --------------------------------------------------------------------
    _decision(
        "create.check-order",
        "auth → plan → limit → parse → validation → idempotency → cap → credits",
        "Order of checks: auth → plan → per-minute limit → content type and JSON parse → body "
        "validation → idempotency → daily cap → monthly credits → accept (202).",
    ),
    _decision(
        "create.bad-request",
        "non-JSON, unparseable or >64 KiB → 400 BAD_REQUEST",
        "`content-type` other than `application/json`, or a body that is not parseable JSON, or a "
        "body over 64 KiB → 400 `BAD_REQUEST`.",
    ),
    _page(
        "create.validation",
        "an invalid body → 400 VALIDATION_ERROR",
        "Invalid bodies return 400 / VALIDATION_ERROR; enums must match exactly (case-sensitive).",
    ),
    _decision(
        "create.all-fields",
        "VALIDATION_ERROR names every offending field",
        "Parseable JSON that breaks the schema → 400 `VALIDATION_ERROR` with `error.fields` "
        "naming every offending field (not only the first). This includes a non-object body, a "
        "missing field, a wrong type",
    ),
    _page(
        "create.enums",
        "enums exact: every value accepted, case/locale variants rejected",
        "Must match exactly one allowed string (case-sensitive). […] Case-sensitive — use 3d, not "
        '"3D". […] Lowercase English keys only (e.g. english, not en).',
    ),
    _page(
        "create.page-count",
        'pageCount an integer 5–15 ("7", true are not)',
        "pageCount integer Required. Integer 5–15 inclusive.",
    ),
    _decision(
        "create.page-count-7.0",
        "pageCount 7.0 counts as the integer 7",
        'a `pageCount` outside 5–15 or not an integer (`7.0` counts as the integer 7; `"7"` and '
        "`true` do not)",
    ),
    _page(
        "create.story-idea",
        "storyIdea 10–2000 characters",
        "storyIdea string Required. Length 10–2000 characters.",
    ),
    _decision(
        "create.closed-schema",
        "unknown fields rejected",
        "and any field the schema does not define (the body schema is closed: "
        "`additionalProperties: false`).",
    ),
    _page(
        "create.accepted",
        "202 with taskId and bookId",
        "responds right away with 202 Accepted; the body returns taskId and bookId so you can "
        "poll GET /v1/stories/{bookId} for progress.",
    ),
    _decision(
        "create.pending",
        "a new job is pending",
        '202 body: `{ok, requestId, data: {taskId, bookId, status: "pending"}}`.',
    ),
    _page(
        "create.credits",
        "accepting charges a credit per page",
        "Each page (cover included) consumes one credit from your plan quota.",
    ),
    # --- Idempotency-Key -----------------------------------------------------------------------
    _page(
        "idempotency.key-length",
        "1–128 chars; longer → 400",
        "Idempotency-Key No […] Max length 128.",
    ),
    _decision(
        "idempotency.per-user",
        "keys scoped per user",
        "Keys are scoped to the key's user: two users may use the same key independently.",
    ),
    _page(
        "idempotency.replay",
        "same key + body → the original ids, no second book",
        "Same key within 24h with the same JSON body returns the original taskId / bookId (no "
        "second book).",
    ),
    _decision(
        "idempotency.replay-header",
        "a replay says Idempotent-Replayed: true, charges nothing",
        "→ 202 with the original `taskId`/`bookId`, no new book, no credits charged, and the "
        "header `Idempotent-Replayed: true`.",
    ),
    _decision(
        "idempotency.parsed-body",
        "bodies compared after parsing",
        "Same key, same JSON body (compared after parsing, key order irrelevant)",
    ),
    _page(
        "idempotency.conflict",
        "same key, other body → 409",
        "Same key with a different body returns 409 / IDEMPOTENCY_CONFLICT.",
    ),
    _decision(
        "idempotency.accepted-only",
        "only 202s are remembered",
        "Only accepted (202) requests are remembered.",
    ),
    _page(
        "idempotency.concurrent",
        "concurrent duplicates → one book",
        "Optional unique key per logical create […] Same key within 24h with the same JSON body "
        "returns the original taskId / bookId (no second book).",
    ),
    # --- limits --------------------------------------------------------------------------------
    _page(
        "limits.remaining",
        "x-ratelimit-remaining on every keyed response",
        "Every response also includes x-ratelimit-remaining so your client can preemptively slow "
        "down.",
    ),
    _decision(
        "limits.headers",
        "x-ratelimit-limit/-remaining/-reset tell the truth",
        "Every response of `POST /v1/stories` and `GET /v1/stories/{id}` to a request whose key "
        "was accepted (errors and 429 included; 401/403 excluded) carries `x-ratelimit-limit` "
        "(the per-minute limit), `x-ratelimit-remaining` (requests left in the current window, "
        "never negative) and `x-ratelimit-reset` (whole seconds until the window resets, 0–60).",
    ),
    _page(
        "limits.plan",
        "per-minute limit: Pro 60, Premium 200",
        "Pro 60 req […] Premium 200 req (per minute).",
    ),
    _decision(
        "limits.decreasing",
        "remaining goes down by one per request",
        "Within one window `remaining` goes down by one per request",
    ),
    _decision(
        "limits.429-at-zero",
        "429 only once remaining is 0",
        "429 `RATE_LIMIT_EXCEEDED` comes only once `remaining` is 0.",
    ),
    _page(
        "limits.retry-after",
        "429 carries retry-after seconds",
        "When a limit is hit the API returns 429 with retry-after seconds.",
    ),
    _page(
        "limits.recovery",
        "the limit lifts after retry-after",
        "Respect x-ratelimit-* and retry-after on 429.",
    ),
    _page(
        "limits.daily-cap",
        "books per day → 429 DAILY_CAP_EXCEEDED",
        "Per day (books): Pro 50 books, Premium 200 books. When a limit is hit the API returns "
        "429 with retry-after seconds.",
    ),
    _page(
        "limits.credits",
        "out of credits → 429 INSUFFICIENT_CREDITS",
        "Monthly quota: Shared with your plan credits. When a limit is hit the API returns 429 "
        "with retry-after seconds.",
    ),
    # --- GET /v1/stories/{id} ------------------------------------------------------------------
    _decision(
        "get.uuid",
        "non-UUID id → 400, any case accepted",
        "`id` must be a UUID (8-4-4-4-12 hex, any case) → otherwise 400 `VALIDATION_ERROR` with "
        "`fields.id`.",
    ),
    _page(
        "get.unknown",
        "an unknown id → 404",
        "You only receive books that belong to the same user as your API key; missing or other "
        "users' ids return 404.",
    ),
    _page(
        "get.ownership",
        "another user's book → 404",
        "You only receive books that belong to the same user as your API key; missing or other "
        "users' ids return 404.",
    ),
    _decision(
        "get.no-oracle",
        "another user's book is the very unknown-id 404",
        "Unknown id and another user's id both give the same 404 `NOT_FOUND` (no existence "
        "oracle).",
    ),
    _decision(
        "get.dashboard",
        "dashboard books readable",
        'Books created on the dashboard (`source: "web"`) are readable through the API too.',
    ),
    # --- lifecycle -------------------------------------------------------------------------------
    _page(
        "lifecycle.terminal",
        "a job ends completed or failed",
        "poll with GET /v1/stories/{bookId} until data.status is completed or failed.",
    ),
    _decision(
        "lifecycle.forward",
        "status only moves forward; terminal stays",
        "`status` moves only forward: `pending` → `processing` → `completed` or `failed`.",
    ),
    _page(
        "lifecycle.progress",
        "progress an integer 0–100",
        "progress integer Rough completion percentage 0–100 from the latest task.",
    ),
    _decision(
        "lifecycle.progress-monotonic",
        "progress never decreases; 100 when completed",
        "`progress` is an integer 0–100 that never decreases; `completed` means 100.",
    ),
    _page(
        "lifecycle.pages",
        "pages sorted by index, growing",
        "pages array Ordered list of page objects […] Grows as illustrations and text are "
        "written. index: Page order index from storage (sorted ascending with other pages).",
    ),
    _decision(
        "lifecycle.pages-gap-free",
        "pages without gaps or repeats",
        "`pages[]` grows in order and is sorted by `index` ascending, without gaps or repeats.",
    ),
    _decision(
        "lifecycle.completed",
        "completed: N−1 pages, title…completedAt set",
        "a completed book of `pageCount` N has N−1 pages, each with `content` and `imageUrl`, and "
        "non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`.",
    ),
    _page(
        "lifecycle.failed",
        "failed: errorMessage set, completedAt null",
        "errorMessage: Human-readable failure reason when status is failed. completedAt: ISO "
        "8601 timestamp when generation completed, when set.",
    ),
    _decision(
        "lifecycle.refund",
        "a failed book's credits are refunded",
        "The mock refunds a failed book's credits.",
    ),
    _decision(
        "lifecycle.timestamps",
        "createdAt ≤ updatedAt, ISO 8601 UTC",
        "`createdAt ≤ updatedAt`; timestamps are ISO 8601 in UTC.",
    ),
    # --- the schema as a whole (property layer) --------------------------------------------------
    _decision(
        "schema.conformance",
        "any input: documented status, headers, body",
        "`openapi.yaml` — the decisions encoded as the single source of truth.",
    ),
    _page(
        "schema.no-server-error",
        "no request gets a 5xx",
        "Invalid bodies return 400 / VALIDATION_ERROR […] missing or other users' ids return 404.",
    ),
    _page(
        "schema.links",
        "the 202 bookId is the GET id",
        "data.bookId string (uuid) Storybook id — use as GET /v1/stories/{id} path parameter.",
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
    """A broken clause: the message starts with ``[id]`` and the clause's quote."""

    def __init__(self, broken: Clause, detail: str) -> None:
        super().__init__(f"[{broken.id}] ({broken.source}) {broken.quote}\n{detail}")
        self.clause = broken
        self.detail = detail
