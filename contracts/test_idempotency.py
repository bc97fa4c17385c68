"""Idempotency-Key: length, replay, conflict, per-user scope, only 202s remembered, and one book
for concurrent duplicates."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.budget import CreditLedger
from contracts.clauses import clause
from contracts.client import SPEC, Api, ApiAnswer, fresh_idempotency_key
from contracts.control import Account
from contracts.expect import (
    assert_envelope,
    assert_error,
    assert_fields,
    assert_rate_headers,
    check,
)
from contracts.jobs import valid_body
from contracts.terms import IDEMPOTENCY_HEADER, REPLAY_HEADER

MAX_KEY = SPEC.idempotency_key_max_length
PAGES = valid_body()["pageCount"]
CONCURRENT = 4
REPLAYED = "a create and its replay (if the server booked both)"


REQUIRED = SPEC.schema("CreateStoryRequest")["required"]


def invalid_body() -> dict:
    """Refused by any server that validates at all, and unbookable by one that does not."""
    return {}


def ids(answer: ApiAnswer) -> tuple[str | None, str | None]:
    data = answer.data if isinstance(answer.data, dict) else {}
    return data.get("taskId"), data.get("bookId")


def accepted(answer: ApiAnswer, what: str) -> ApiAnswer:
    assert answer.status == 202, f"{what} was not accepted: {answer}"
    assert_envelope(answer)
    return answer


def marked_replayed(answer: ApiAnswer) -> None:
    check(
        "idempotency.replay-header",
        answer.headers.get(REPLAY_HEADER) == "true",
        f"no {REPLAY_HEADER}: true on {answer}",
    )


@clause("idempotency.key-length")
@pytest.mark.parametrize("length", [MAX_KEY + 1, 4 * MAX_KEY], ids=["max+1", "4x"])
def test_key_longer_than_128_is_400_with_the_key_named(
    api: Api, account: Account, length: int
) -> None:
    """With a valid body: a server that stops at the first failing check (the body comes
    first) would not name the key next to an invalid body's fields."""
    key = fresh_idempotency_key().ljust(length, "k")
    answer = api.create(valid_body(), key=account.key, idempotency_key=key)
    assert_fields(answer, IDEMPOTENCY_HEADER, exactly=True)


@clause("idempotency.key-length")
@pytest.mark.parametrize("length", [1, MAX_KEY], ids=["1", "max"])
def test_key_of_1_to_128_characters_is_not_a_field_error(
    api: Api, account: Account, length: int
) -> None:
    key = fresh_idempotency_key()[-length:].rjust(length, "k")
    answer = api.create(invalid_body(), key=account.key, idempotency_key=key)
    assert_fields(answer, *REQUIRED, exactly=True)


@clause("idempotency.replay")
def test_same_key_and_body_return_the_original_ids_marked_replayed(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, REPLAYED)
    key, body = fresh_idempotency_key(), valid_body()
    first = accepted(api.create(body, key=account.key, idempotency_key=key), "the first create")
    check(
        "idempotency.replay-header",
        not first.replayed,
        f"a first create is marked {REPLAY_HEADER}: {first}",
    )
    again = accepted(api.create(body, key=account.key, idempotency_key=key), "the replay")
    assert ids(again) == ids(first), f"the replay returned other ids: {again} vs {first}"
    marked_replayed(again)
    assert_rate_headers(again)


@clause("idempotency.parsed-body")
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
    marked_replayed(again)


@clause("idempotency.conflict")
def test_same_key_with_another_body_is_409_idempotency_conflict(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, "a create and a conflicting one (if the server booked both)")
    key, body = fresh_idempotency_key(), valid_body()
    accepted(api.create(body, key=account.key, idempotency_key=key), "the first create")
    other = dict(body, storyIdea=body["storyIdea"] + " Then they all sing.")
    answer = api.create(other, key=account.key, idempotency_key=key)
    assert_error(answer, 409, "IDEMPOTENCY_CONFLICT")
    assert_rate_headers(answer)


@clause("idempotency.per-user")
def test_another_user_may_use_the_same_key_independently(
    api: Api, account: Account, other_account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(2 * PAGES, "one create for each of two users")
    key, body = fresh_idempotency_key(), valid_body()
    mine = accepted(api.create(body, key=account.key, idempotency_key=key), "the first user's")
    theirs = accepted(api.create(body, key=other_account.key, idempotency_key=key), "the other's")
    _, their_book = ids(theirs)
    assert their_book != ids(mine)[1], f"the other user got the first user's book: {theirs}"
    assert not theirs.replayed, f"the other user's first create is marked replayed: {theirs}"
    assert their_book is not None, f"the other user's 202 names no bookId: {theirs}"
    readable = api.get_story(their_book, key=other_account.key)
    assert readable.status == 200, f"the other user cannot read the book they got: {readable}"


@clause("idempotency.accepted-only")
def test_a_refused_create_does_not_use_up_the_key(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(PAGES, "a create after a refused one")
    key = fresh_idempotency_key()
    refused = api.create(invalid_body(), key=account.key, idempotency_key=key)
    assert_fields(refused, *REQUIRED)
    answer = api.create(valid_body(), key=account.key, idempotency_key=key)
    accepted(answer, "a valid create after a refused one with the same key")
    assert not answer.replayed, f"a refused create was remembered: {answer}"


@clause("create.check-order")
def test_an_invalid_body_is_refused_before_its_key_is_looked_up(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    """Validation comes before idempotency: a used key with an invalid body is neither a
    replay nor a conflict."""
    ledger.reserve(PAGES, "a create whose key is then reused with an invalid body")
    key = fresh_idempotency_key()
    accepted(api.create(valid_body(), key=account.key, idempotency_key=key), "the first create")
    answer = api.create(valid_body(pageCount=0), key=account.key, idempotency_key=key)
    assert_fields(answer, "pageCount")


@clause("idempotency.concurrent")
def test_concurrent_duplicates_create_exactly_one_book(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(CONCURRENT * PAGES, f"{CONCURRENT} concurrent duplicates (if all were booked)")
    key, body = fresh_idempotency_key(), valid_body()
    start = threading.Barrier(CONCURRENT)

    def create(_: int) -> ApiAnswer:
        start.wait(timeout=30)
        return api.create(body, key=account.key, idempotency_key=key)

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(create, range(CONCURRENT)))
    for refused in (r for r in answers if r.status != 202):
        assert_error(refused, 409, "IDEMPOTENCY_CONFLICT")
    books = {ids(r)[1] for r in answers if r.status == 202}
    assert len(books) == 1, f"{len(books)} books for one key: {[str(r) for r in answers]}"
    originals = [r for r in answers if r.status == 202 and not r.replayed]
    check(
        "idempotency.replay-header",
        len(originals) == 1,
        f"{len(originals)} answers claim to have created the book: {[str(r) for r in answers]}",
    )
