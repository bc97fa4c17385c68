"""Idempotency-Key: length, replay, conflict, per-user scope, only 202s remembered, and one book
for concurrent duplicates."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.budget import CreditLedger
from contracts.clauses import clause
from contracts.client import (
    IDEMPOTENCY_HEADER,
    REPLAY_HEADER,
    SPEC,
    Api,
    Reply,
    fresh_idempotency_key,
)
from contracts.control import Account
from contracts.expect import assert_envelope, assert_error, assert_fields, assert_rate_headers
from contracts.jobs import valid_body

MAX_KEY = SPEC.idempotency_key_max_length
PAGES = valid_body()["pageCount"]
CONCURRENT = 4
REPLAYED = "a create and its replay (if the server booked both)"


REQUIRED = SPEC.schema("CreateStoryRequest")["required"]


def invalid_body() -> dict:
    """Refused by any server that validates at all, and unbookable by one that does not."""
    return {}


def ids(reply: Reply) -> tuple[str | None, str | None]:
    data = reply.data if isinstance(reply.data, dict) else {}
    return data.get("taskId"), data.get("bookId")


def accepted(reply: Reply, what: str) -> Reply:
    assert reply.status == 202, f"{what} was not accepted: {reply}"
    assert_envelope(reply)
    return reply


@clause("idempotency.key-length")
@pytest.mark.parametrize("length", [MAX_KEY + 1, 4 * MAX_KEY], ids=["max+1", "4x"])
def test_key_longer_than_128_is_400_with_the_key_named(
    api: Api, account: Account, length: int
) -> None:
    """With a valid body: a server that stops at the first failing check (the body comes
    first) would not name the key next to an invalid body's fields."""
    key = fresh_idempotency_key().ljust(length, "k")
    reply = api.create(valid_body(), key=account.key, idempotency_key=key)
    assert_fields(reply, IDEMPOTENCY_HEADER, exactly=True)


@clause("idempotency.key-length")
@pytest.mark.parametrize("length", [1, MAX_KEY], ids=["1", "max"])
def test_key_of_1_to_128_characters_is_not_a_field_error(
    api: Api, account: Account, length: int
) -> None:
    key = fresh_idempotency_key()[-length:].rjust(length, "k")
    reply = api.create(invalid_body(), key=account.key, idempotency_key=key)
    assert_fields(reply, *REQUIRED, exactly=True)


@clause("idempotency.replay")
def test_same_key_and_body_return_the_original_ids_marked_replayed(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, REPLAYED)
    key, body = fresh_idempotency_key(), valid_body()
    first = accepted(api.create(body, key=account.key, idempotency_key=key), "the first create")
    assert not first.replayed, f"a first create is marked {REPLAY_HEADER}: {first}"
    again = accepted(api.create(body, key=account.key, idempotency_key=key), "the replay")
    assert ids(again) == ids(first), f"the replay returned other ids: {again} vs {first}"
    assert again.headers.get(REPLAY_HEADER) == "true", f"no {REPLAY_HEADER}: true on {again}"
    assert_rate_headers(again)


@clause("idempotency.replay")
def test_replay_compares_the_parsed_body_not_its_bytes(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, REPLAYED)
    key, body = fresh_idempotency_key(), valid_body()
    first = accepted(api.create(body, key=account.key, idempotency_key=key), "the first create")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = api.send(
        "POST",
        "/v1/stories",
        key=account.key,
        headers={IDEMPOTENCY_HEADER: key, "content-type": "application/json"},
        content=reordered,
    )
    accepted(again, "the replay with reordered keys")
    assert ids(again) == ids(first), f"the replay returned other ids: {again} vs {first}"
    assert again.replayed, f"no {REPLAY_HEADER}: true on {again}"


@clause("idempotency.conflict")
def test_same_key_with_another_body_is_409_idempotency_conflict(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, "a create and a conflicting one (if the server booked both)")
    key, body = fresh_idempotency_key(), valid_body()
    accepted(api.create(body, key=account.key, idempotency_key=key), "the first create")
    other = dict(body, storyIdea=body["storyIdea"] + " Then they all sing.")
    reply = api.create(other, key=account.key, idempotency_key=key)
    assert_error(reply, 409, "IDEMPOTENCY_CONFLICT")
    assert_rate_headers(reply)


@clause("idempotency.per-user")
def test_another_user_may_use_the_same_key_independently(
    api: Api, account: Account, other_account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, "one create for each of two users")
    key, body = fresh_idempotency_key(), valid_body()
    mine = accepted(api.create(body, key=account.key, idempotency_key=key), "the first user's")
    theirs = accepted(api.create(body, key=other_account.key, idempotency_key=key), "the other's")
    assert ids(theirs)[1] != ids(mine)[1], f"the other user got the first user's book: {theirs}"
    assert not theirs.replayed, f"the other user's first create is marked replayed: {theirs}"
    readable = api.get_story(ids(theirs)[1], key=other_account.key)
    assert readable.status == 200, f"the other user cannot read the book they got: {readable}"


@clause("idempotency.accepted-only")
def test_a_refused_create_does_not_use_up_the_key(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(PAGES, "a create after a refused one")
    key = fresh_idempotency_key()
    refused = api.create(invalid_body(), key=account.key, idempotency_key=key)
    assert_fields(refused, *REQUIRED)
    reply = api.create(valid_body(), key=account.key, idempotency_key=key)
    accepted(reply, "a valid create after a refused one with the same key")
    assert not reply.replayed, f"a refused create was remembered: {reply}"


@clause("idempotency.concurrent")
def test_concurrent_duplicates_create_exactly_one_book(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(CONCURRENT * PAGES, f"{CONCURRENT} concurrent duplicates (if all were booked)")
    key, body = fresh_idempotency_key(), valid_body()
    start = threading.Barrier(CONCURRENT)

    def create(_: int) -> Reply:
        start.wait(timeout=30)
        return api.create(body, key=account.key, idempotency_key=key)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        replies = list(pool.map(create, range(CONCURRENT)))
    others = [r for r in replies if r.status != 202]
    for reply in others:
        assert_error(reply, 409, "IDEMPOTENCY_CONFLICT")
    books = {ids(r)[1] for r in replies if r.status == 202}
    assert len(books) == 1, f"{len(books)} books for one key: {[str(r) for r in replies]}"
    originals = [r for r in replies if r.status == 202 and not r.replayed]
    assert len(originals) == 1, (
        f"{len(originals)} answers claim to have created the book: {[str(r) for r in replies]}"
    )
