"""GET /v1/stories/{id}: id validation and ownership (no existence oracle)."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import given

from contracts.clauses import clause
from contracts.client import STORIES, Api, Reply
from contracts.control import Account
from contracts.expect import assert_error, assert_fields
from contracts.jobs import BookRun
from contracts.strategies import behaviour, not_a_uuid

#: Response headers that may legitimately differ between two answers (hop-by-hop included).
_VARYING = {
    "date",
    "x-request-id",
    "content-length",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "connection",
    "keep-alive",
}


def get_raw(api: Api, segment: str, key: str) -> Reply:
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
    api: Api, account: Account, book_id: str
) -> None:
    assert_fields(get_raw(api, book_id, account.key), "id")


@clause("get.uuid")
@behaviour
@given(book_id=not_a_uuid())
def test_any_id_that_is_not_a_uuid_is_400(api: Api, account: Account, book_id: str) -> None:
    assert_fields(get_raw(api, book_id, account.key), "id")


@clause("get.uuid")
def test_unknown_uuid_is_404_not_found(api: Api, account: Account) -> None:
    assert_error(api.get_story(str(uuid.uuid4()), key=account.key), 404, "NOT_FOUND")


@clause("get.uuid")
def test_uuid_in_upper_case_finds_the_book(
    api: Api, module_account: Account, book_run: BookRun
) -> None:
    book_id = book_run.require_book()
    reply = api.get_story(book_id.upper(), key=module_account.key)
    assert reply.status == 200, f"the upper-case id of an own book was refused: {reply}"
    assert reply.data["id"].lower() == book_id.lower(), f"another book was returned: {reply}"


def without_ids(reply: Reply, book_id: str) -> str:
    """The error with the id asked for and the request id blanked: a message may quote them."""
    text = json.dumps(reply.error, sort_keys=True)
    for value in (book_id, str((reply.body or {}).get("requestId", ""))):
        if value:
            text = re.sub(re.escape(value), "<id>", text, flags=re.IGNORECASE)
    return text


def assert_same_answer(theirs: Reply, their_id: str, unknown: Reply, unknown_id: str) -> None:
    assert_error(theirs, 404, "NOT_FOUND")
    assert_error(unknown, 404, "NOT_FOUND")
    assert without_ids(theirs, their_id) == without_ids(unknown, unknown_id), (
        f"the errors differ: {theirs} vs {unknown}"
    )
    names = {n.lower() for n in theirs.headers} - _VARYING
    assert names == {n.lower() for n in unknown.headers} - _VARYING, (
        f"the headers differ: {sorted(theirs.headers)} vs {sorted(unknown.headers)}"
    )
    assert set(theirs.body) == set(unknown.body), "the bodies differ in shape"


@clause("get.ownership")
def test_another_users_book_is_the_same_404_as_an_unknown_id(
    api: Api, book_run: BookRun, other_account: Account
) -> None:
    book_id, unknown_id = book_run.require_book(), str(uuid.uuid4())
    theirs = api.get_story(book_id, key=other_account.key)
    unknown = api.get_story(unknown_id, key=other_account.key)
    assert_same_answer(theirs, book_id, unknown, unknown_id)


@clause("get.ownership")
def test_another_users_book_is_hidden_whatever_the_id_case(
    api: Api, book_run: BookRun, other_account: Account
) -> None:
    book_id, unknown_id = book_run.require_book().upper(), str(uuid.uuid4()).upper()
    theirs = api.get_story(book_id, key=other_account.key)
    unknown = api.get_story(unknown_id, key=other_account.key)
    assert_same_answer(theirs, book_id, unknown, unknown_id)
