"""Legitimate alternative implementations of the API: the dual of ``tests.mutants``. Each
patches the mock into a server that behaves differently in a way the vendor page allows (see
``api-decisions.md``, "What a correct deployment may do differently"), and the contract suite
must pass against it — under both profiles, or, for a behaviour only a decision rules out,
under ``--profile page`` with a warning on that decision's clause
(``tests/test_contract_variants.py``).

Start one with ``python -m tests.variants NAME serve [cbk-mock options]``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.clauses import CLAUSES, PAGE
from contracts.verdict import PROFILES
from mockserver.core import validation
from mockserver.core.books import Book
from mockserver.core.errors import ApiError
from mockserver.core.limits import RateLimit, RateLimiter
from mockserver.http import api
from mockserver.http.gateway import Gateway
from mockserver.http.messages import json_reply
from mockserver.spec import load_spec
from tests.mutants import MUTANTS
from tests.mutants.patching import replace

_SPEC = load_spec()
_KEY_HEADER = _SPEC.rules["idempotency"]["header"]
_KEY_MAX = _SPEC.idempotency_key_max_length
_WINDOW = _SPEC.rate_limit_window


@dataclass(frozen=True)
class Variant:
    name: str
    apply: Callable[[], None]
    #: The profiles the suite must pass under.
    profiles: tuple[str, ...] = PROFILES
    #: Clauses the suite must report as warnings under ``--profile page``.
    warns: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return (self.apply.__doc__ or "").strip().splitlines()[0]


VARIANTS: dict[str, Variant] = {}


def variant(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(apply: Callable[[], None]) -> Callable[[], None]:
        if name in VARIANTS:
            raise KeyError(f"variant {name!r} registered twice")
        VARIANTS[name] = Variant(name, apply)
        return apply

    return register


def page_only(mutant_name: str) -> None:
    """A mutant whose only fault is against a decision: a variant under ``--profile page``."""
    mutant = MUTANTS[mutant_name]
    if CLAUSES[mutant.caught_by].source == PAGE:
        raise ValueError(f"{mutant_name} breaks a page clause: it is no variant under any profile")
    VARIANTS[mutant_name] = Variant(mutant_name, mutant.apply, (PAGE,), (mutant.caught_by,))


# --- the order of validation checks ------------------------------------------------------------
def _key_fields(idempotency_key: str | None) -> dict[str, str]:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= _KEY_MAX:
        return {_KEY_HEADER: f"At most {_KEY_MAX} characters"}
    return {}


def _judge_body(body: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The normalized body, or the fields it breaks (the mock's own body rules)."""
    try:
        return validation.validate_create_body(body, None), {}
    except ApiError as error:
        if error.code != "VALIDATION_ERROR":
            raise
        return None, dict(error.fields or {})


def _invalid(fields: dict[str, str]) -> ApiError:
    return ApiError("VALIDATION_ERROR", "Request failed validation.", fields=fields)


@variant("key-before-body")
def _key_before_body() -> None:
    """The Idempotency-Key header is judged first; the body only once the key is fine."""

    def validate_create_body(body, idempotency_key):
        key_fields = _key_fields(idempotency_key)
        if key_fields:
            raise _invalid(key_fields)
        payload, fields = _judge_body(body)
        if fields:
            raise _invalid(fields)
        return payload

    replace(api, "validate_create_body", validate_create_body)


@variant("body-before-key")
def _body_before_key() -> None:
    """The body is judged first; the Idempotency-Key only once the body is fine."""

    def validate_create_body(body, idempotency_key):
        payload, fields = _judge_body(body)
        if fields or _key_fields(idempotency_key):
            raise _invalid(fields or _key_fields(idempotency_key))
        return payload

    replace(api, "validate_create_body", validate_create_body)


@variant("key-and-body-merged")
def _key_and_body_merged() -> None:
    """Key and body errors merged into one VALIDATION_ERROR, the key named last."""

    def validate_create_body(body, idempotency_key):
        payload, fields = _judge_body(body)
        fields |= _key_fields(idempotency_key)
        if fields:
            raise _invalid(fields)
        return payload

    replace(api, "validate_create_body", validate_create_body)


# --- representation ----------------------------------------------------------------------------
def _patch_render(change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    def render(self, now, asset_base):
        return change(original(self, now, asset_base))

    original = replace(Book, "render", render)


@variant("nulls-omitted")
def _nulls_omitted() -> None:
    """Fields that are null are left out of stories and pages ("null may be … omitted")."""

    def omit(story):
        story = {k: v for k, v in story.items() if v is not None}
        story["pages"] = [{k: v for k, v in p.items() if v is not None} for p in story["pages"]]
        return story

    _patch_render(omit)


@variant("additive-fields")
def _additive_fields() -> None:
    """Stories, pages and the 202 carry fields the spec does not list (additive changes)."""

    def extend(story):
        story["wordCount"] = sum(len((p.get("content") or "").split()) for p in story["pages"])
        story["links"] = {"self": f"/v1/stories/{story['id']}"}
        story["pages"] = [{**p, "width": 1024, "height": 768} for p in story["pages"]]
        return story

    _patch_render(extend)

    def accepted(exchange, replay):
        data = {"taskId": replay.task_id, "bookId": replay.book_id, "status": replay.status}
        return json_reply(exchange, 202, {**data, "queuePosition": 0, "estimatedSeconds": 60})

    replace(api, "_accepted", accepted)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


@variant("ulid-request-ids")
def _ulid_request_ids() -> None:
    """Generated request ids are ULIDs (the page's own example is one), not UUIDs."""

    def request_id(headers):
        sent = headers.get_all("x-request-id")
        chosen = original(headers)
        return chosen if sent and chosen == sent[0] else _ulid()

    original = replace(Gateway, "_request_id", request_id)


@variant("other-error-messages")
def _other_error_messages() -> None:
    """Every error.message is worded differently ("error.message is display-only")."""

    def payload(self):
        return {**original(self), "message": f"Die Anfrage wurde abgelehnt ({self.code})."}

    original = replace(ApiError, "payload", payload)


# --- how a job moves ---------------------------------------------------------------------------
_BURST = 3


@variant("pages-in-bursts")
def _pages_in_bursts() -> None:
    """Pages appear three at a time and progress jumps: a worker that writes in batches."""

    def render(self, now, asset_base):
        settled = self.settled_at
        if self.page_seconds <= 0 or (settled is not None and now >= settled):
            return original(self, now, asset_base)
        burst = _BURST * self.page_seconds
        seen = self.created_at + math.floor((now - self.created_at) / burst) * burst
        return original(self, seen, asset_base)

    original = replace(Book, "render", render)


# --- rate-limit windows ------------------------------------------------------------------------
@variant("windows-from-first-request")
def _windows_from_first_request() -> None:
    """A user's window opens at their first request, not on the clock's minute: reset counts
    down from 60 from there (one process: the variant runs without --workers)."""
    opened: dict[str, float] = {}

    async def hit(self, principal, now, *, unless=None):
        user = principal.user.id
        start = opened.get(user)
        if start is None or now >= start + _WINDOW:
            start = opened[user] = now
        reset = max(1, min(_WINDOW, math.ceil(start + _WINDOW - now)))
        limit = principal.plan.requests_per_minute
        key = f"rl-first:{user}:{start!r}"
        if unless is None:
            count = await self._counter.hit(key)
        else:
            count = await self._counter.hit_unless(key, unless)
            if count is None:
                return None
        state = RateLimit(limit=limit, remaining=max(0, limit - count), reset=reset)
        if count > limit:
            raise ApiError(
                "RATE_LIMIT_EXCEEDED",
                f"Per-minute request limit of {limit} reached.",
                headers=state.headers() | {"retry-after": str(reset)},
            )
        return state

    replace(RateLimiter, "hit", hit)


# --- what only a decision rules out ------------------------------------------------------------
for _name in ("405-without-allow", "replay-without-header", "non-uuid-id-is-404"):
    page_only(_name)
