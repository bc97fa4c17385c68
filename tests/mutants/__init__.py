"""Deliberately broken variants of the mock, to prove the contract suite and the load test
catch real bugs. Test-only: this package is not shipped in the wheel, and nothing under
``mockserver/`` knows it exists. Each mutant monkeypatches one plausible bug into the core.

Start one with ``python -m tests.mutants NAME serve [cbk-mock options]``.

``CAUGHT_BY`` names, for each mutant, the contract-suite module that must fail against it
(``tests/test_contract_mutants.py`` runs that module against the mutant).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

from mockserver.core.accounts import Accounts, Principal
from mockserver.core.books import Book
from mockserver.core.errors import ApiError
from mockserver.core.idempotency import Claim, IdempotencyStore
from mockserver.core.limits import Quotas, RateLimit, RateLimiter
from mockserver.core.service import MockService
from mockserver.http import api
from mockserver.http.api import PublicApi, Step
from mockserver.http.gateway import Gateway
from mockserver.spec import load_spec

MUTANTS: dict[str, Callable[[], None]] = {}
#: mutant → the contract-suite test module that kills it.
CAUGHT_BY: dict[str, str] = {}

_SPEC = load_spec()
_ENUM_FIELDS = {
    name: _SPEC.enum(prop["$ref"].rsplit("/", 1)[1])
    for name, prop in _SPEC.schema("CreateStoryRequest")["properties"].items()
    if "$ref" in prop
}
_REPLAY_HEADER = _SPEC.rules["idempotency"]["replayHeader"]


def mutant(
    name: str, *, caught_by: str | None = None
) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(apply: Callable[[], None]) -> Callable[[], None]:
        MUTANTS[name] = apply
        if caught_by is not None:
            CAUGHT_BY[name] = caught_by
        return apply

    return register


def _with_plan(principal: Principal, **changes: int) -> Principal:
    return dataclasses.replace(principal, plan=dataclasses.replace(principal.plan, **changes))


@mutant("limiter-lets-extra-through")
def _limiter_lets_extra_through() -> None:
    """The limiter enforces 10 more requests than it advertises (a config drift)."""
    original = RateLimiter.hit
    slack = 10

    async def hit(self, principal, now, **kwargs):
        loose = _with_plan(
            principal, requests_per_minute=principal.plan.requests_per_minute + slack
        )
        state = await original(self, loose, now, **kwargs)
        if state is None:
            return None
        return RateLimit(state.limit - slack, max(0, state.remaining - slack), state.reset)

    RateLimiter.hit = hit


CAUGHT_BY["limiter-lets-extra-through"] = "test_rate_limits.py"


# --- authentication ----------------------------------------------------------------------------
@mutant("x-api-key-not-preferred", caught_by="test_auth.py")
def _bearer_preferred() -> None:
    """Authorization: Bearer is read first; x-api-key only when there is none."""
    original = api.presented_key

    def presented_key(headers):
        scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return original(headers)

    api.presented_key = presented_key


@mutant("revoke-is-a-no-op", caught_by="test_auth.py")
def _revoke_no_op() -> None:
    """Revoking a key never reaches the key record."""
    original = Accounts.set_key_flags

    async def set_key_flags(self, key_id, *, revoked=None, suspended=None):
        return await original(self, key_id, suspended=suspended)

    Accounts.set_key_flags = set_key_flags


@mutant("free-plan-allowed", caught_by="test_auth.py")
def _free_plan_allowed() -> None:
    """The plan check is missing: Free keys get Pro limits."""
    original = Accounts.admit

    def admit(self, identity):
        try:
            return original(self, identity)
        except ApiError as error:
            if error.code != "PLAN_REQUIRED":
                raise
            return Principal(user=identity.user, key=identity.key, plan=self.plans["pro"])

    Accounts.admit = admit


@mutant("key-echoed-in-error", caught_by="test_transport.py")
def _key_echoed() -> None:
    """A 'helpful' INVALID_API_KEY message quotes the key it refused."""
    original = Accounts.identify

    async def identify(self, presented):
        try:
            return await original(self, presented)
        except ApiError as error:
            if error.code == "INVALID_API_KEY":
                raise ApiError("INVALID_API_KEY", f"Invalid API key {presented!r}.") from None
            raise

    Accounts.identify = identify


# --- ownership and ids -------------------------------------------------------------------------
def _foreign_book(answer: Callable[[Book], Book]) -> None:
    original = MockService.own_book

    async def own_book(self, principal, book_id):
        book = await self.load_book(book_id)
        if book is not None and book.user_id != principal.user.id:
            return answer(book)
        return await original(self, principal, book_id)

    MockService.own_book = own_book


@mutant("foreign-book-403", caught_by="test_get_story.py")
def _foreign_book_403() -> None:
    """Another user's book is 403 FORBIDDEN: an existence oracle."""

    def forbidden(book):
        raise ApiError("FORBIDDEN", "This book belongs to another user.")

    _foreign_book(forbidden)


@mutant("foreign-book-visible", caught_by="test_get_story.py")
def _foreign_book_visible() -> None:
    """The ownership check is missing: any user reads any book."""
    _foreign_book(lambda book: book)


@mutant("non-uuid-id-is-404", caught_by="test_get_story.py")
def _non_uuid_404() -> None:
    """Ids are looked up without being validated: garbage is 'not found' instead of 400."""
    api.validate_book_id = lambda value: value.lower()


# --- body validation ---------------------------------------------------------------------------
def _before_validation(change: Callable[[dict], dict]) -> None:
    original = api.validate_create_body

    def validate_create_body(body, idempotency_key):
        if isinstance(body, dict):
            body = change(dict(body))
        return original(body, idempotency_key)

    api.validate_create_body = validate_create_body


@mutant("enums-case-insensitive", caught_by="test_validation.py")
def _enums_case_insensitive() -> None:
    """Enum values are lower-cased before validation, so '3D' and 'English' pass."""

    def lower(body):
        for name in _ENUM_FIELDS:
            if isinstance(body.get(name), str):
                body[name] = body[name].lower()
        return body

    _before_validation(lower)


@mutant("page-count-string-coerced", caught_by="test_validation.py")
def _page_count_string() -> None:
    """pageCount "7" is coerced to 7 (a lenient parser)."""

    def coerce(body):
        count = body.get("pageCount")
        if isinstance(count, str) and count.strip().isdigit():
            body["pageCount"] = int(count)
        return body

    _before_validation(coerce)


@mutant("unknown-fields-ignored", caught_by="test_validation.py")
def _unknown_fields_ignored() -> None:
    """additionalProperties is ignored: unknown fields are silently dropped."""
    known = set(_SPEC.schema("CreateStoryRequest")["properties"])
    _before_validation(lambda body: {k: v for k, v in body.items() if k in known})


@mutant("only-first-field-reported", caught_by="test_validation.py")
def _only_first_field() -> None:
    """Validation stops at the first offending field."""
    original = api.validate_create_body

    def validate_create_body(body, idempotency_key):
        try:
            return original(body, idempotency_key)
        except ApiError as error:
            if error.fields and len(error.fields) > 1:
                first = dict([next(iter(error.fields.items()))])
                raise ApiError(error.code, error.message, fields=first) from None
            raise

    api.validate_create_body = validate_create_body


@mutant("malformed-json-500", caught_by="test_validation.py")
def _malformed_json_500() -> None:
    """The JSON parser's exception escapes: malformed bodies become 500s."""
    import json

    import mockserver.http.messages as messages

    messages.parse_json = lambda raw: json.loads(raw)


@mutant("text-plain-accepted", caught_by="test_validation.py")
def _text_plain_accepted() -> None:
    """The content-type is never checked."""
    api.json_body = lambda exchange: exchange.request.json_body()


# --- envelope, request ids, routing ------------------------------------------------------------
@mutant("request-id-not-echoed", caught_by="test_envelope.py")
def _request_id_not_echoed() -> None:
    """The server always generates the request id."""
    Gateway._request_id = staticmethod(lambda headers: str(uuid.uuid4()))


@mutant("long-request-id-echoed", caught_by="test_envelope.py")
def _long_request_id_echoed() -> None:
    """The 64-character limit on echoed request ids is missing."""

    def request_id(headers):
        values = headers.get_all("x-request-id")
        if len(values) == 1 and values[0] and all(0x21 <= ord(c) <= 0x7E for c in values[0]):
            return values[0]
        return str(uuid.uuid4())

    Gateway._request_id = staticmethod(request_id)


def _patch_error_reply(change: Callable[[Any], None]) -> None:
    original = Gateway.error_reply

    def error_reply(exchange, error):
        reply = original(exchange, error)
        change(reply)
        return reply

    Gateway.error_reply = staticmethod(error_reply)


@mutant("405-without-allow", caught_by="test_envelope.py")
def _405_without_allow() -> None:
    """405 answers forget the Allow header."""
    _patch_error_reply(lambda reply: reply.headers.pop("Allow", None))


@mutant("rate-headers-missing-on-errors", caught_by="test_rate_limits.py")
def _rate_headers_missing_on_errors() -> None:
    """Error responses are rendered without the x-ratelimit-* headers."""

    original = api.attach_rate_headers

    def attach_rate_headers(reply, rate):
        if reply.status < 400:
            original(reply, rate)

    api.attach_rate_headers = attach_rate_headers


def _patch_handle(change: Callable[[Any, Any], Any]) -> None:
    original = Gateway.handle

    async def handle(self, request):
        return change(request, await original(self, request))

    Gateway.handle = handle


@mutant("unknown-path-text-plain", caught_by="test_envelope.py")
def _unknown_path_text_plain() -> None:
    """Unknown paths fall through to the framework's plain-text 404."""
    from mockserver.http.messages import HttpReply

    def plain(request, reply):
        segments = request.path.split("/")[1:]
        routed = segments[:2] == ["v1", "stories"] and len(segments) in (2, 3)
        if reply.status != 404 or routed or segments[:1] in (["_mock"], ["assets"]):
            return reply
        headers = {"content-type": "text/plain; charset=utf-8"}
        headers["X-Request-Id"] = reply.headers.get("X-Request-Id", "")
        return HttpReply(404, headers, b"404: Not Found")

    _patch_handle(plain)


@mutant("replay-without-header", caught_by="test_idempotency.py")
def _replay_without_header() -> None:
    """Replays return the original ids but not Idempotent-Replayed: true."""

    def drop(request, reply):
        reply.headers.pop(_REPLAY_HEADER, None)
        return reply

    _patch_handle(drop)


# --- rate limits -------------------------------------------------------------------------------
def _patch_limiter(change: Callable[[RateLimit], RateLimit]) -> None:
    original = RateLimiter.hit

    async def hit(self, principal, now, **kwargs):
        state = await original(self, principal, now, **kwargs)
        return None if state is None else change(state)

    RateLimiter.hit = hit


@mutant("remaining-off-by-one", caught_by="test_rate_limits.py")
def _remaining_off_by_one() -> None:
    """x-ratelimit-remaining is computed before the request is counted."""
    _patch_limiter(lambda s: RateLimit(s.limit, min(s.limit, s.remaining + 1), s.reset))


@mutant("reset-as-epoch", caught_by="test_rate_limits.py")
def _reset_as_epoch() -> None:
    """x-ratelimit-reset is an epoch (GitHub style), not delta seconds."""
    original = RateLimit.headers

    def headers(self):
        values = original(self)
        values["x-ratelimit-reset"] = str(int(time.time()) + self.reset)
        return values

    RateLimit.headers = headers


@mutant("retry-after-zero", caught_by="test_rate_limits.py")
def _retry_after_zero() -> None:
    """retry-after is rounded down, to 0 in the last second of a window."""
    import mockserver.core.limits as limits

    limits._retry_after = lambda seconds: {"retry-after": "0"}


# --- idempotency -------------------------------------------------------------------------------
@mutant("idempotency-ignores-body", caught_by="test_idempotency.py")
def _idempotency_ignores_body() -> None:
    """Replays are matched on the key alone: another body replays instead of 409."""
    original = IdempotencyStore.begin

    async def begin(self, user_id, idempotency_key, fingerprint, book_id, now):
        return await original(self, user_id, idempotency_key, "any-body", book_id, now)

    IdempotencyStore.begin = begin


@mutant("idempotency-shared-across-users", caught_by="test_idempotency.py")
def _idempotency_shared() -> None:
    """Idempotency records are keyed by the Idempotency-Key alone, not per user."""
    original = IdempotencyStore.record_key
    IdempotencyStore.record_key = staticmethod(lambda user_id, key: original("everyone", key))


@mutant("concurrent-duplicates-race", caught_by="test_idempotency.py")
def _concurrent_race() -> None:
    """Check-then-set instead of an atomic claim: simultaneous duplicates both create."""
    original = IdempotencyStore.begin

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
        return Claim(record_key=record_key, fingerprint=fingerprint, book_id=book_id)

    IdempotencyStore.begin = begin


@mutant("long-idempotency-key-accepted", caught_by="test_idempotency.py")
def _long_key_accepted() -> None:
    """The 128-character limit of Idempotency-Key is not enforced."""
    original = api.validate_create_body
    api.validate_create_body = lambda body, idempotency_key: original(body, None)


# --- quotas ------------------------------------------------------------------------------------
@mutant("replay-charges-credits", caught_by="test_mock_only.py")
def _replay_charges() -> None:
    """A replay is charged like a new book."""
    original = PublicApi._idempotency

    async def idempotency(self, call):
        replay = await original(self, call)
        if replay is not None:
            user_id, pages = call.principal.user.id, call.payload["pageCount"]
            await self.service.quotas.charge_unconditionally(user_id, pages, call.now)
        return replay

    PublicApi._idempotency = idempotency


@mutant("daily-cap-off-by-one", caught_by="test_mock_only.py")
def _daily_cap_off_by_one() -> None:
    """The daily cap lets one book more through (> instead of >=)."""
    original = Quotas.reserve

    async def reserve(self, principal, page_count, now):
        loose = _with_plan(principal, books_per_day=principal.plan.books_per_day + 1)
        return await original(self, loose, page_count, now)

    Quotas.reserve = reserve


@mutant("credits-checked-before-validation", caught_by="test_mock_only.py")
def _credits_before_validation() -> None:
    """A quota middleware refuses before the body is validated."""
    original = PublicApi.create_story
    fewest_pages = _SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["minimum"]

    def create_story(self, failure_reply):
        pipeline = original(self, failure_reply)

        async def quota_middleware(call):
            usage = await self.service.quotas.usage(call.principal, call.now)
            if usage["creditsRemaining"] < fewest_pages:
                raise ApiError(
                    "INSUFFICIENT_CREDITS", "No credits left.", headers={"retry-after": "60"}
                )

        names = [step.name for step in pipeline.steps]
        at = names.index("bodyValidation")
        steps = list(pipeline.steps)
        steps.insert(at, Step("quotaMiddleware", (), quota_middleware))
        return type(pipeline)(pipeline.operation_id, tuple(steps), pipeline._answer, failure_reply)

    PublicApi.create_story = create_story


@mutant("dashboard-books-hidden", caught_by="test_mock_only.py")
def _dashboard_hidden() -> None:
    """The API only finds books it created itself (source api)."""
    original = MockService.load_book

    async def load_book(self, book_id):
        book = await original(self, book_id)
        return None if book is not None and book.source == "web" else book

    MockService.load_book = load_book


# --- the lifecycle -----------------------------------------------------------------------------
def _patch_render(change: Callable[[Book, dict, float], dict]) -> None:
    original = Book.render

    def render(self, now, asset_base):
        return change(self, original(self, now, asset_base), now)

    Book.render = render


@mutant("progress-per-page", caught_by="test_lifecycle.py")
def _progress_per_page() -> None:
    """progress reports the current page's progress, starting over on every page."""

    def per_page(book, story, now):
        if story["status"] == "processing" and book.page_seconds > 0:
            story["progress"] = int((((now - book.created_at) / book.page_seconds) % 1) * 100)
        return story

    _patch_render(per_page)


@mutant("page-missing-from-list", caught_by="test_lifecycle.py")
def _page_missing() -> None:
    """pages[] comes from a join that drops the second page."""

    def drop(book, story, now):
        story["pages"] = [p for p in story["pages"] if p["index"] != 1]
        return story

    _patch_render(drop)


@mutant("completed-progress-99", caught_by="test_lifecycle.py")
def _completed_99() -> None:
    """progress rounds down to 99 on completed books."""

    def ninety_nine(book, story, now):
        if story["status"] == "completed":
            story["progress"] = 99
        return story

    _patch_render(ninety_nine)


@mutant("status-goes-back", caught_by="test_lifecycle.py")
def _status_goes_back() -> None:
    """Every other read comes from a replica that lags behind by a few pages."""
    original = Book.render
    reads: dict[str, int] = {}

    def render(self, now, asset_base):
        reads[self.id] = reads.get(self.id, 0) + 1
        lag = 3 * self.page_seconds if reads[self.id] % 2 == 0 else 0.0
        return original(self, max(self.created_at, now - lag), asset_base)

    Book.render = render


@mutant("timestamps-not-utc", caught_by="test_lifecycle.py")
def _timestamps_not_utc() -> None:
    """Timestamps lose their UTC designator (naive local times)."""

    def naive(book, story, now):
        for name in ("createdAt", "updatedAt", "completedAt"):
            if isinstance(story.get(name), str):
                story[name] = story[name].removesuffix("Z")
        return story

    _patch_render(naive)


@mutant("failed-without-error-message", caught_by="test_mock_only.py")
def _failed_without_message() -> None:
    """A failed job keeps errorMessage null."""

    def no_message(book, story, now):
        if story["status"] == "failed":
            story["errorMessage"] = None
        return story

    _patch_render(no_message)
