"""GET /v1/stories/{id}: id validation and ownership (no existence oracle)."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import given

from contracts.clauses import clause
from contracts.client import STORIES, Api, ApiAnswer
from contracts.control import Account
from contracts.expect import assert_error, assert_fields, check
from contracts.jobs import BookRun
from contracts.strategies import behaviour, not_a_uuid
from contracts.terms import RATE_LIMIT_REMAINING, RATE_LIMIT_RESET, REQUEST_ID_HEADER

#: Response headers that may legitimately differ between two answers (hop-by-hop included).
_VARYING = {
    "date",
    REQUEST_ID_HEADER.lower(),
    "content-length",
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_RESET,
    "connection",
    "keep-alive",
}


def get_raw(api: Api, segment: str, key: str) -> ApiAnswer:
    return api.send("GET", f"{STORIES}/{quote(segment, safe='')}", key=key)


@clause("get.uuid")
@pytest.mark.parametrize(
    "book_id",
    [
        "123",
        "not-a-uuid",
        uuid.uuid4().hex,
        f"{{{uuid.uuid4()}}}",
        f"{uuid.uuid4()}x",
        str(uuid.uuid4())[:-1],
        str(uuid.uuid4()).replace("-", "_"),
        "g" * 8 + str(uuid.uuid4())[8:],
        f"{uuid.uuid4()}\n",
    ],
    ids=[
        "digits",
        "words",
        "no-dashes",
        "braces",
        "suffix",
        "short",
        "underscores",
        "non-hex",
        "newline",
    ],
)
def test_id_that_is_not_a_uuid_is_400_with_fields_id(
    api: Api, spare_account: Account, book_id: str
) -> None:
    assert_fields(get_raw(api, book_id, spare_account.key), "id", unnamed=None)


@clause("get.uuid")
@behaviour
@given(book_id=not_a_uuid())
def test_any_id_that_is_not_a_uuid_is_400(api: Api, spare_account: Account, book_id: str) -> None:
    assert_fields(get_raw(api, book_id, spare_account.key), "id", unnamed=None)


@clause("get.unknown")
def test_unknown_uuid_is_404_not_found(api: Api, spare_account: Account) -> None:
    assert_error(api.get_story(str(uuid.uuid4()), key=spare_account.key), 404, "NOT_FOUND")


@clause("get.uuid")
def test_uuid_in_upper_case_finds_the_book(
    api: Api, module_account: Account, book_run: BookRun
) -> None:
    book_id = book_run.require_book()
    answer = api.get_story(book_id.upper(), key=module_account.key)
    assert answer.status == 200, f"the upper-case id of an own book was refused: {answer}"
    assert answer.data["id"].lower() == book_id.lower(), f"another book was returned: {answer}"


def without_ids(answer: ApiAnswer, book_id: str) -> str:
    """The error with the id asked for and the request id blanked: a message may quote them."""
    text = json.dumps(answer.error, sort_keys=True)
    for value in (book_id, str((answer.body or {}).get("requestId", ""))):
        if value:
            text = re.sub(re.escape(value), "<id>", text, flags=re.IGNORECASE)
    return text


def differences(theirs: ApiAnswer, their_id: str, unknown: ApiAnswer, unknown_id: str) -> str:
    """How another user's book's 404 differs from an unknown id's ('' when it does not)."""
    if without_ids(theirs, their_id) != without_ids(unknown, unknown_id):
        return f"the errors differ: {theirs} vs {unknown}"
    names = {n.lower() for n in theirs.headers} - _VARYING
    if names != {n.lower() for n in unknown.headers} - _VARYING:
        return f"the headers differ: {sorted(theirs.headers)} vs {sorted(unknown.headers)}"
    if set(theirs.body or {}) != set(unknown.body or {}):
        return f"the bodies differ in shape: {theirs} vs {unknown}"
    return ""


@clause("get.ownership")
@pytest.mark.parametrize("spelling", [str.lower, str.upper], ids=["as-given", "upper-case"])
def test_another_users_book_is_the_same_404_as_an_unknown_id(
    api: Api, book_run: BookRun, other_account: Account, spelling
) -> None:
    """A 404 (the page), and the very 404 of an unknown id (a decision: no existence oracle)."""
    book_id, unknown_id = spelling(book_run.require_book()), spelling(str(uuid.uuid4()))
    theirs = api.get_story(book_id, key=other_account.key)
    assert_error(theirs, 404, "NOT_FOUND")
    unknown = api.get_story(unknown_id, key=other_account.key)
    difference = differences(theirs, book_id, unknown, unknown_id)
    check("get.no-oracle", not difference, difference)
