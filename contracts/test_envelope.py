"""The envelope every response uses, request-id echo, and the answers for unknown paths and
wrong methods."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given

from contracts.budget import CreditLedger
from contracts.clauses import clause
from contracts.client import REQUEST_ID_HEADER, STORIES, Api, Reply
from contracts.control import Account
from contracts.expect import REQUEST_ID, assert_envelope, assert_error
from contracts.jobs import BookRun, valid_body
from contracts.strategies import behaviour, echoable_request_ids, overlong_request_ids


def unknown_story() -> str:
    return f"{STORIES}/{uuid.uuid4()}"


ERRORS: dict[str, Callable[[Api, str], Reply]] = {
    "401 no key": lambda api, key: api.get_story(str(uuid.uuid4())),
    "400 bad JSON": lambda api, key: api.probe(
        content=b"{", key=key, headers={"content-type": "application/json"}
    ),
    "400 validation": lambda api, key: api.probe({}, key=key),
    "400 bad id": lambda api, key: api.get_story("not-a-uuid", key=key),
    "404 unknown id": lambda api, key: api.get_story(str(uuid.uuid4()), key=key),
    "404 unknown path": lambda api, key: api.send("GET", "/v1/unknown", key=key),
    "405 wrong method": lambda api, key: api.send("DELETE", STORIES, key=key),
}


@clause("envelope.json")
@pytest.mark.parametrize("kind", ERRORS)
def test_error_responses_are_json_envelopes(api: Api, account: Account, kind: str) -> None:
    reply = ERRORS[kind](api, account.key)
    assert reply.status == int(kind.split()[0]), f"expected {kind}, got {reply}"
    assert_envelope(reply)


@clause("envelope.json")
def test_accepted_create_is_a_json_envelope(book_run: BookRun) -> None:
    book_run.require_book()
    assert_envelope(book_run.created)


@clause("envelope.json")
def test_story_read_is_a_json_envelope(book_run: BookRun) -> None:
    book_run.require_book()
    assert book_run.polls, "the book was never read"
    assert_envelope(book_run.polls[0])


@clause("request-id.echo")
@behaviour
@given(request_id=echoable_request_ids())
def test_visible_ascii_request_id_is_echoed(api: Api, account: Account, request_id: str) -> None:
    for reply in (
        api.get_story(str(uuid.uuid4()), key=account.key, headers={REQUEST_ID_HEADER: request_id}),
        api.get_story(str(uuid.uuid4()), headers={REQUEST_ID_HEADER: request_id}),
    ):
        assert reply.headers.get(REQUEST_ID_HEADER) == request_id, f"header not echoed: {reply}"
        body = reply.body or {}
        assert body.get("requestId") == request_id, f"requestId not echoed: {reply}"


@clause("request-id.echo")
def test_request_id_is_echoed_on_accepted_creates(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(valid_body()["pageCount"], "echo on a 202")
    request_id = f"cbk-contracts-{uuid.uuid4()}"
    reply = api.create(valid_body(), key=account.key, headers={REQUEST_ID_HEADER: request_id})
    assert reply.status == 202, f"the create was not accepted: {reply}"
    assert reply.headers.get(REQUEST_ID_HEADER) == request_id, f"header not echoed: {reply}"
    assert (reply.body or {}).get("requestId") == request_id, f"requestId not echoed: {reply}"


def assert_generated(reply: Reply, sent: str | None) -> None:
    header = reply.headers.get(REQUEST_ID_HEADER)
    assert header is not None, f"no {REQUEST_ID_HEADER} header: {reply}"
    assert header != sent, f"an invalid request id was echoed: {reply}"
    assert REQUEST_ID.fullmatch(header), f"generated id {header!r} is not 1–64 visible ASCII"
    assert (reply.body or {}).get("requestId") == header, f"requestId differs from header: {reply}"


@clause("request-id.generate")
@behaviour
@given(request_id=overlong_request_ids())
def test_request_id_longer_than_64_is_replaced(api: Api, account: Account, request_id: str) -> None:
    reply = api.get_story(
        str(uuid.uuid4()), key=account.key, headers={REQUEST_ID_HEADER: request_id}
    )
    assert_generated(reply, request_id)


@clause("request-id.generate")
@pytest.mark.parametrize(
    "request_id",
    [b"has space", b"tab\there", "\u00fcmlaut".encode()],
    ids=["space", "tab", "utf-8"],
)
def test_request_id_with_other_characters_is_replaced(
    api: Api, account: Account, request_id: bytes
) -> None:
    headers = {REQUEST_ID_HEADER: request_id}
    reply = api.get_story(str(uuid.uuid4()), key=account.key, headers=headers)
    assert_generated(reply, request_id.decode("latin-1"))


@clause("request-id.generate")
def test_request_id_is_generated_when_absent(api: Api, account: Account) -> None:
    assert_generated(api.get_story(str(uuid.uuid4()), key=account.key), None)


@clause("routing.404")
@pytest.mark.parametrize(
    "path",
    [
        "/v1/unknown",
        "/v1/stories/x/y",
        f"{STORIES}/{uuid.uuid4()}/pages",
        "/v1/Stories",
        "/v1/sto%0Aries",
    ],
)
def test_unknown_path_is_404_not_found(api: Api, account: Account, path: str) -> None:
    assert_error(api.send("GET", path, key=account.key), 404, "NOT_FOUND")


WRONG_METHODS = [
    ("DELETE", STORIES, "POST"),
    ("PUT", STORIES, "POST"),
    ("PATCH", STORIES, "POST"),
    ("GET", STORIES, "POST"),
    ("POST", f"{STORIES}/{uuid.uuid4()}", "GET"),
    ("DELETE", f"{STORIES}/{uuid.uuid4()}", "GET"),
    ("PUT", f"{STORIES}/{uuid.uuid4()}", "GET"),
]


@clause("routing.405")
@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS, ids=lambda v: str(v)[:12])
def test_wrong_method_is_405_with_allow(
    api: Api, account: Account, method: str, path: str, allowed: str
) -> None:
    reply = api.send(method, path, key=account.key)
    assert_error(reply, 405, "METHOD_NOT_ALLOWED")
    methods = {m.strip().upper() for m in reply.headers.get("allow", "").split(",") if m.strip()}
    assert allowed in methods, f"Allow should list {allowed}: {reply.headers.get('allow')!r}"
    assert method not in methods, (
        f"Allow lists the refused {method}: {reply.headers.get('allow')!r}"
    )
