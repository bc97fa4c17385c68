"""Deliberately broken variants of the mock, to prove the contract suite catches real bugs —
each by the clause it breaks. Test-only: nothing under ``mockserver/`` knows about them. Each
mutant patches one plausible bug into the core or HTTP layer (``tests.mutants.patching.replace``,
which refuses a patch whose signature differs from the method it replaces).

Start one with ``python -m tests.mutants NAME serve [cbk-mock options]``.

``caught_by`` names the contract clause whose ``ContractViolation`` must be the first failure
of the suite against the mutant (``tests/test_contract_mutants.py``); ``found_in``, the clause
whose tests the self-test runs, when the check of ``caught_by`` lives in another clause's tests
(the envelope is checked by every test that reads an answer). ``crashes``: the bug *is* an
unhandled error, so the mock's log is expected to show one (for every other mutant an
unhandled error fails the self-test: the mutant itself would be broken).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from contracts.clauses import CLAUSES
from mockserver.core import limits
from mockserver.core.accounts import Accounts, Principal
from mockserver.core.books import Book
from mockserver.core.errors import ApiError
from mockserver.core.idempotency import Claim, IdempotencyStore, Replay
from mockserver.core.limits import Quotas, RateLimit, RateLimiter
from mockserver.core.service import MockService
from mockserver.http import api, messages
from mockserver.http.api import PublicApi, Step
from mockserver.http.gateway import Gateway
from mockserver.http.messages import HttpReply
from mockserver.spec import load_spec
from tests.mutants.patching import replace


@dataclass(frozen=True)
class Mutant:
    name: str
    caught_by: str
    apply: Callable[[], None]
    crashes: bool = False
    found_in: str | None = None

    @property
    def tests_of(self) -> str:
        """The clause whose tests the self-test runs against the mutant."""
        return self.found_in or self.caught_by

    @property
    def summary(self) -> str:
        return (self.apply.__doc__ or "").strip().splitlines()[0]


_REGISTERED: dict[str, Mutant] = {}
#: Read-only: the ``mutant`` decorator is the only way in.
MUTANTS: Mapping[str, Mutant] = MappingProxyType(_REGISTERED)

_SPEC = load_spec()
_ENUM_FIELDS = {
    name: _SPEC.enum(prop["$ref"].rsplit("/", 1)[1])
    for name, prop in _SPEC.schema("CreateStoryRequest")["properties"].items()
    if "$ref" in prop
}
_REPLAY_HEADER = _SPEC.rules["idempotency"]["replayHeader"]


def mutant(
    name: str, *, caught_by: str, found_in: str | None = None, crashes: bool = False
) -> Callable[[Callable[[], None]], Callable[[], None]]:
    for clause_id in filter(None, (caught_by, found_in)):
        if clause_id not in CLAUSES:
            raise KeyError(f"mutant {name!r}: no contract clause {clause_id!r}")

    def register(apply: Callable[[], None]) -> Callable[[], None]:
        if name in _REGISTERED:
            raise KeyError(f"mutant {name!r} registered twice")
        _REGISTERED[name] = Mutant(name, caught_by, apply, crashes, found_in)
        return apply

    return register


def _with_plan(principal: Principal, **changes: int) -> Principal:
    return dataclasses.replace(principal, plan=dataclasses.replace(principal.plan, **changes))


# --- rate limits -------------------------------------------------------------------------------
@mutant("limiter-lets-extra-through", caught_by="limits.headers")
def _limiter_lets_extra_through() -> None:
    """The limiter enforces 10 more requests than it advertises (a config drift)."""
    slack = 10

    async def hit(self, principal, now, *, unless=None):
        loose = _with_plan(
            principal, requests_per_minute=principal.plan.requests_per_minute + slack
        )
        state = await original(self, loose, now, unless=unless)
        if state is None:
            return None
        return RateLimit(state.limit - slack, max(0, state.remaining - slack), state.reset)

    original = replace(RateLimiter, "hit", hit)


def _patch_limiter(change: Callable[[RateLimit], RateLimit]) -> None:
    async def hit(self, principal, now, *, unless=None):
        state = await original(self, principal, now, unless=unless)
        return None if state is None else change(state)

    original = replace(RateLimiter, "hit", hit)


@mutant("remaining-off-by-one", caught_by="limits.headers")
def _remaining_off_by_one() -> None:
    """x-ratelimit-remaining is computed before the request is counted."""
    _patch_limiter(lambda s: RateLimit(s.limit, min(s.limit, s.remaining + 1), s.reset))


@mutant("reset-as-epoch", caught_by="limits.headers")
def _reset_as_epoch() -> None:
    """x-ratelimit-reset is an epoch (GitHub style), not delta seconds."""

    def headers(self):
        values = original(self)
        values["x-ratelimit-reset"] = str(int(time.time()) + self.reset)
        return values

    original = replace(RateLimit, "headers", headers)


@mutant("retry-after-zero", caught_by="limits.retry-after")
def _retry_after_zero() -> None:
    """retry-after is rounded down, to 0 in the last second of a window."""
    replace(limits, "_retry_after", lambda seconds: {"retry-after": "0"})


@mutant("remaining-goes-up", caught_by="limits.decreasing")
def _remaining_goes_up() -> None:
    """A replica with a stale counter answers every other request: remaining jumps back up."""
    calls = {"n": 0}

    def stale(state: RateLimit) -> RateLimit:
        calls["n"] += 1
        if calls["n"] % 2 == 0 and state.remaining > 0:
            return RateLimit(state.limit, min(state.limit - 1, state.remaining + 3), state.reset)
        return state

    _patch_limiter(stale)


# --- authentication ----------------------------------------------------------------------------
@mutant("missing-key-is-invalid-key", caught_by="auth.missing")
def _missing_key_invalid() -> None:
    """A request without a key is told its key is invalid."""

    async def identify(self, presented):
        if presented is None:
            raise ApiError("INVALID_API_KEY", "Invalid API key.")
        return await original(self, presented)

    original = replace(Accounts, "identify", identify)


@mutant("bearer-ignored", caught_by="auth.schemes")
def _bearer_ignored() -> None:
    """Only x-api-key is read: Authorization: Bearer counts as no key."""

    def presented_key(headers):
        return original(headers) if headers.get_all("x-api-key") else None

    original = replace(api, "presented_key", presented_key)


@mutant("plan-limit-120", caught_by="limits.plan")
def _plan_limit_120() -> None:
    """Pro keys get (and are told) 120 requests a minute: a plan table typo."""

    async def hit(self, principal, now, *, unless=None):
        doubled = _with_plan(principal, requests_per_minute=principal.plan.requests_per_minute * 2)
        return await original(self, doubled, now, unless=unless)

    original = replace(RateLimiter, "hit", hit)


@mutant("x-api-key-not-preferred", caught_by="auth.preferred")
def _bearer_preferred() -> None:
    """Authorization: Bearer is read first; x-api-key only when there is none."""

    def presented_key(headers):
        scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return original(headers)

    original = replace(api, "presented_key", presented_key)


@mutant("revoke-is-a-no-op", caught_by="auth.invalid")
def _revoke_no_op() -> None:
    """Revoking a key never reaches the key record."""

    async def set_key_flags(self, key_id, *, revoked=None, suspended=None):
        return await original(self, key_id, suspended=suspended)

    original = replace(Accounts, "set_key_flags", set_key_flags)


@mutant("free-plan-allowed", caught_by="auth.invalid", found_in="auth.plan")
def _free_plan_allowed() -> None:
    """The plan check is missing: Free keys get Pro limits."""

    def admit(self, identity):
        try:
            return original(self, identity)
        except ApiError as error:
            if error.code != "PLAN_REQUIRED":
                raise
            return Principal(user=identity.user, key=identity.key, plan=self.plans["pro"])

    original = replace(Accounts, "admit", admit)


@mutant("key-echoed-in-error", caught_by="transport.keys-secret")
def _key_echoed() -> None:
    """A 'helpful' INVALID_API_KEY message quotes the key it refused."""

    async def identify(self, presented):
        try:
            return await original(self, presented)
        except ApiError as error:
            if error.code == "INVALID_API_KEY":
                raise ApiError("INVALID_API_KEY", f"Invalid API key {presented!r}.") from None
            raise

    original = replace(Accounts, "identify", identify)


# --- ownership and ids -------------------------------------------------------------------------
def _foreign_book(answer: Callable[[Book], Book]) -> None:
    """``own_book`` answers ``answer(book)`` for a book of another user."""

    async def own_book(self, principal, book_id):
        book = await self.load_book(book_id)
        if book is not None and book.user_id != principal.user.id:
            return answer(book)
        return await original(self, principal, book_id)

    original = replace(MockService, "own_book", own_book)


@mutant("foreign-book-403", caught_by="get.ownership")
def _foreign_book_403() -> None:
    """Another user's book is 403 FORBIDDEN: an existence oracle."""

    def forbidden(book: Book) -> Book:
        raise ApiError("FORBIDDEN", "This book belongs to another user.")

    _foreign_book(forbidden)


@mutant("foreign-book-visible", caught_by="get.ownership")
def _foreign_book_visible() -> None:
    """The ownership check is missing: any user reads any book."""
    _foreign_book(lambda book: book)


@mutant("foreign-book-404-says-so", caught_by="get.no-oracle", found_in="get.ownership")
def _foreign_book_404_says_so() -> None:
    """Another user's book is 404, but its message tells it apart from an unknown id."""

    def telling(book: Book) -> Book:
        raise ApiError("NOT_FOUND", "Story not found for this user.")

    _foreign_book(telling)


@mutant("non-uuid-id-is-404", caught_by="get.uuid")
def _non_uuid_404() -> None:
    """Ids are looked up without being validated: garbage is 'not found' instead of 400."""
    replace(api, "validate_book_id", lambda value: value.lower())


# --- body validation ---------------------------------------------------------------------------
def _before_validation(change: Callable[[dict], dict]) -> None:
    def validate_create_body(body, idempotency_key):
        if isinstance(body, dict):
            body = change(dict(body))
        return original(body, idempotency_key)

    original = replace(api, "validate_create_body", validate_create_body)


@mutant("enums-case-insensitive", caught_by="create.enums")
def _enums_case_insensitive() -> None:
    """Enum values are lower-cased before validation, so '3D' and 'English' pass."""

    def lower(body):
        for name in _ENUM_FIELDS:
            if isinstance(body.get(name), str):
                body[name] = body[name].lower()
        return body

    _before_validation(lower)


@mutant("page-count-string-coerced", caught_by="create.page-count")
def _page_count_string() -> None:
    """pageCount "7" is coerced to 7 (a lenient parser)."""

    def coerce(body):
        count = body.get("pageCount")
        if isinstance(count, str) and count.strip().isdigit():
            body["pageCount"] = int(count)
        return body

    _before_validation(coerce)


@mutant("unknown-fields-ignored", caught_by="create.closed-schema")
def _unknown_fields_ignored() -> None:
    """additionalProperties is ignored: unknown fields are silently dropped."""
    known = set(_SPEC.schema("CreateStoryRequest")["properties"])
    _before_validation(lambda body: {k: v for k, v in body.items() if k in known})


@mutant("only-first-field-reported", caught_by="create.all-fields")
def _only_first_field() -> None:
    """Validation stops at the first offending field."""

    def validate_create_body(body, idempotency_key):
        try:
            return original(body, idempotency_key)
        except ApiError as error:
            if error.fields and len(error.fields) > 1:
                first = dict([next(iter(error.fields.items()))])
                raise ApiError(error.code, error.message, fields=first) from None
            raise

    original = replace(api, "validate_create_body", validate_create_body)


@mutant("malformed-json-500", caught_by="create.bad-request", crashes=True)
def _malformed_json_500() -> None:
    """The JSON parser's exception escapes: malformed bodies become 500s."""
    replace(messages, "parse_json", lambda raw: json.loads(raw))


@mutant("text-plain-accepted", caught_by="create.bad-request")
def _text_plain_accepted() -> None:
    """The content-type is never checked."""
    replace(api, "json_body", lambda exchange: exchange.request.json_body())


@mutant("long-idempotency-key-accepted", caught_by="idempotency.key-length")
def _long_key_accepted() -> None:
    """The 128-character limit of Idempotency-Key is not enforced."""
    original = replace(
        api,
        "validate_create_body",
        lambda body, idempotency_key: original(body, None),
    )


@mutant("new-job-processing", caught_by="create.pending")
def _new_job_processing() -> None:
    """The 202 says the job is already processing."""

    def replay_of(book):
        return Replay(book.id, book.task_id or "", "processing")

    replace(api, "_replay_of", replay_of)


@mutant("story-idea-max-1000", caught_by="create.story-idea")
def _story_idea_max_1000() -> None:
    """storyIdea is cut off at a database column of 1000 characters."""

    def shorter(body):
        if isinstance(body.get("storyIdea"), str) and len(body["storyIdea"]) > 1000:
            body["storyIdea"] = None
        return body

    _before_validation(shorter)


# --- envelope, request ids, routing ------------------------------------------------------------
@mutant(
    "request-id-header-missing", caught_by="envelope.request-id-header", found_in="request-id.echo"
)
def _request_id_header_missing() -> None:
    """The request id is in the body only: the X-Request-Id response header is dropped."""

    def drop(request, reply):
        reply.headers.pop("X-Request-Id", None)
        return reply

    _patch_handle(drop)


@mutant("json-served-as-text", caught_by="envelope.media-type", found_in="envelope.json")
def _json_served_as_text() -> None:
    """Error bodies are JSON but labelled text/plain."""
    _patch_error_reply(lambda reply: reply.headers.update({"content-type": "text/plain"}))


@mutant("request-id-not-echoed", caught_by="request-id.echo")
def _request_id_not_echoed() -> None:
    """The server always generates the request id."""
    replace(Gateway, "_request_id", lambda headers: str(uuid.uuid4()))


@mutant("long-request-id-echoed", caught_by="request-id.replace")
def _long_request_id_echoed() -> None:
    """The 64-character limit on echoed request ids is missing."""

    def request_id(headers):
        values = headers.get_all("x-request-id")
        if len(values) == 1 and values[0] and all(0x21 <= ord(c) <= 0x7E for c in values[0]):
            return values[0]
        return str(uuid.uuid4())

    replace(Gateway, "_request_id", request_id)


def _patch_error_reply(change: Callable[[HttpReply], None]) -> None:
    def error_reply(exchange, error):
        reply = original(exchange, error)
        change(reply)
        return reply

    original = replace(Gateway, "error_reply", error_reply)


@mutant("405-without-allow", caught_by="routing.405")
def _405_without_allow() -> None:
    """405 answers forget the Allow header."""
    _patch_error_reply(lambda reply: reply.headers.pop("Allow", None))


@mutant("rate-headers-missing-on-errors", caught_by="limits.remaining")
def _rate_headers_missing_on_errors() -> None:
    """Error responses are rendered without the x-ratelimit-* headers."""

    def attach_rate_headers(reply, rate):
        if reply.status < 400 or reply.status == 429:
            original(reply, rate)

    original = replace(api, "attach_rate_headers", attach_rate_headers)


def _patch_handle(change: Callable[[Any, HttpReply], HttpReply]) -> None:
    async def handle(self, request):
        return change(request, await original(self, request))

    original = replace(Gateway, "handle", handle)


@mutant("unknown-path-text-plain", caught_by="routing.404")
def _unknown_path_text_plain() -> None:
    """Unknown paths fall through to the framework's plain-text 404."""

    def plain(request, reply):
        segments = request.path.split("/")[1:]
        routed = segments[:2] == ["v1", "stories"] and len(segments) in (2, 3)
        if reply.status != 404 or routed or segments[:1] in (["_mock"], ["assets"]):
            return reply
        headers = {"content-type": "text/plain; charset=utf-8"}
        headers["X-Request-Id"] = reply.headers.get("X-Request-Id", "")
        return HttpReply(404, headers, b"404: Not Found")

    _patch_handle(plain)


@mutant("replay-without-header", caught_by="idempotency.replay-header")
def _replay_without_header() -> None:
    """Replays return the original ids but not Idempotent-Replayed: true."""

    def drop(request, reply):
        reply.headers.pop(_REPLAY_HEADER, None)
        return reply

    _patch_handle(drop)


# --- idempotency -------------------------------------------------------------------------------
@mutant("idempotency-ignores-body", caught_by="idempotency.conflict")
def _idempotency_ignores_body() -> None:
    """Replays are matched on the key alone: another body replays instead of 409."""

    async def begin(self, user_id, idempotency_key, fingerprint, book_id, now):
        return await original(self, user_id, idempotency_key, "any-body", book_id, now)

    original = replace(IdempotencyStore, "begin", begin)


@mutant("idempotency-shared-across-users", caught_by="idempotency.per-user")
def _idempotency_shared() -> None:
    """Idempotency records are keyed by the Idempotency-Key alone, not per user."""
    original = replace(
        IdempotencyStore,
        "record_key",
        lambda cls, user_id, idempotency_key: original(cls, "everyone", idempotency_key),
    )


@mutant("concurrent-duplicates-race", caught_by="idempotency.concurrent")
def _concurrent_race() -> None:
    """Check-then-set instead of an atomic claim: simultaneous duplicates both create."""

    async def begin(self, user_id, idempotency_key, fingerprint, book_id, now):
        record_key = self.record_key(user_id, idempotency_key)
        existing = await self._store.get(record_key)
        if existing is not None and existing.get("expiresAt", 0) > now:
            return await original(self, user_id, idempotency_key, fingerprint, book_id, now)
        await asyncio.sleep(0.2)
        pending = {
            "state": "pending",
            "fingerprint": fingerprint,
            "bookId": book_id,
            "expiresAt": now + self._ttl,
        }
        await self._store.put(record_key, pending)
        return Claim(record_key, fingerprint, book_id, self.key_digest(idempotency_key))

    original = replace(IdempotencyStore, "begin", begin)


@mutant("replay-books-again", caught_by="idempotency.replay")
def _replay_books_again() -> None:
    """The idempotency record is written but never read: every retry books a new book."""

    async def begin(self, user_id, idempotency_key, fingerprint, book_id, now):
        record_key = self.record_key(user_id, idempotency_key)
        return Claim(record_key, fingerprint, book_id, self.key_digest(idempotency_key))

    replace(IdempotencyStore, "begin", begin)


# --- quotas ------------------------------------------------------------------------------------
@mutant("failed-book-not-refunded", caught_by="lifecycle.refund")
def _failed_not_refunded() -> None:
    """A failed book keeps the credits it was charged."""

    async def schedule_refund(self, user_id, reservation, due):
        return None

    replace(Quotas, "schedule_refund", schedule_refund)


@mutant("replay-charges-credits", caught_by="idempotency.replay-header")
def _replay_charges() -> None:
    """A replay is charged like a new book."""

    async def idempotency(self, call):
        replay = await original(self, call)
        if replay is not None:
            user_id, pages = call.principal.user.id, call.payload["pageCount"]
            await self.service.quotas.charge_unconditionally(user_id, pages, call.now)
        return replay

    original = replace(PublicApi, "_idempotency", idempotency)


@mutant("daily-cap-off-by-one", caught_by="limits.daily-cap")
def _daily_cap_off_by_one() -> None:
    """The daily cap lets one book more through (> instead of >=)."""

    async def reserve(self, account, page_count, now):
        loose = _with_plan(account, books_per_day=account.plan.books_per_day + 1)
        return await original(self, loose, page_count, now)

    original = replace(Quotas, "reserve", reserve)


@mutant("credits-checked-before-validation", caught_by="create.check-order")
def _credits_before_validation() -> None:
    """A quota middleware refuses before the body is validated."""
    minimum = _SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["minimum"]

    def create_story(self, failure_reply):
        pipeline = original(self, failure_reply)

        async def quota_middleware(call):
            usage = await self.service.quotas.usage(call.principal, call.now)
            if usage["creditsRemaining"] < minimum:
                raise ApiError(
                    "INSUFFICIENT_CREDITS", "No credits left.", headers={"retry-after": "60"}
                )

        steps = list(pipeline.steps)
        steps.insert(
            [step.name for step in steps].index("bodyValidation"),
            Step("quotaMiddleware", (), quota_middleware),
        )
        return type(pipeline)(pipeline.operation_id, tuple(steps), pipeline._answer, failure_reply)

    original = replace(PublicApi, "create_story", create_story)


@mutant("dashboard-books-hidden", caught_by="get.dashboard")
def _dashboard_hidden() -> None:
    """The API only finds books it created itself (source api)."""

    async def load_book(self, book_id):
        book = await original(self, book_id)
        return None if book is not None and book.source == "web" else book

    original = replace(MockService, "load_book", load_book)


# --- the lifecycle -----------------------------------------------------------------------------
def _patch_render(change: Callable[[Book, dict, float], dict]) -> None:
    def render(self, now, asset_base):
        return change(self, original(self, now, asset_base), now)

    original = replace(Book, "render", render)


@mutant("progress-per-page", caught_by="lifecycle.progress-monotonic")
def _progress_per_page() -> None:
    """progress reports the current page's progress, starting over on every page."""

    def per_page(book, story, now):
        if story["status"] == "processing" and book.page_seconds > 0:
            story["progress"] = int((((now - book.created_at) / book.page_seconds) % 1) * 100)
        return story

    _patch_render(per_page)


@mutant("progress-over-100", caught_by="lifecycle.progress")
def _progress_over_100() -> None:
    """progress counts the cover twice and ends at 120."""

    def over(book, story, now):
        story["progress"] = story["progress"] * 6 // 5
        return story

    _patch_render(over)


@mutant("page-missing-from-list", caught_by="lifecycle.pages-gap-free")
def _page_missing() -> None:
    """pages[] comes from a join that drops the second page."""

    def drop(book, story, now):
        story["pages"] = [p for p in story["pages"] if p["index"] != 1]
        return story

    _patch_render(drop)


@mutant("pages-newest-first", caught_by="lifecycle.pages")
def _pages_newest_first() -> None:
    """pages[] is sorted newest first (ORDER BY index DESC)."""

    def newest_first(book, story, now):
        story["pages"] = sorted(story["pages"], key=lambda p: -p["index"])
        return story

    _patch_render(newest_first)


@mutant("completed-progress-99", caught_by="lifecycle.progress-monotonic")
def _completed_99() -> None:
    """progress rounds down to 99 on completed books."""

    def ninety_nine(book, story, now):
        if story["status"] == "completed":
            story["progress"] = 99
        return story

    _patch_render(ninety_nine)


@mutant("completed-without-cover", caught_by="lifecycle.completed")
def _completed_without_cover() -> None:
    """A completed book's coverImage is never filled in."""

    def no_cover(book, story, now):
        story["coverImage"] = None
        return story

    _patch_render(no_cover)


@mutant("status-goes-back", caught_by="lifecycle.forward")
def _status_goes_back() -> None:
    """Every other read comes from a replica that lags behind by a few pages."""
    reads: dict[str, int] = {}

    def render(self, now, asset_base):
        reads[self.id] = reads.get(self.id, 0) + 1
        lag = 3 * self.page_seconds if reads[self.id] % 2 == 0 else 0.0
        return original(self, max(self.created_at, now - lag), asset_base)

    original = replace(Book, "render", render)


@mutant("timestamps-not-utc", caught_by="lifecycle.timestamps")
def _timestamps_not_utc() -> None:
    """Timestamps lose their UTC designator (naive local times)."""

    def naive(book, story, now):
        for name in ("createdAt", "updatedAt", "completedAt"):
            if isinstance(story.get(name), str):
                story[name] = story[name].removesuffix("Z")
        return story

    _patch_render(naive)


@mutant("failed-without-error-message", caught_by="lifecycle.failed")
def _failed_without_message() -> None:
    """A failed job keeps errorMessage null."""

    def no_message(book, story, now):
        if story["status"] == "failed":
            story["errorMessage"] = None
        return story

    _patch_render(no_message)
