"""The envelope every response uses, request-id echo, and the answers for unknown paths and
wrong methods."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given

from contracts.budget import CreditLedger
from contracts.clauses import clause
from contracts.client import STORIES, Api, ApiAnswer
from contracts.control import Account
from contracts.expect import REQUEST_ID, assert_envelope, assert_error, check
from contracts.jobs import BookRun, valid_body
from contracts.strategies import behaviour, echoable_request_ids, overlong_request_ids
from contracts.terms import ALLOW, REQUEST_ID_HEADER


def unknown_story() -> str:
    return f"{STORIES}/{uuid.uuid4()}"


#: Error answers: how to get one, its status, and the clause that sets that status.
ERRORS: dict[str, tuple[Callable[[Api, str], ApiAnswer], int, str]] = {
    "401 no key": (lambda api, key: api.get_story(str(uuid.uuid4())), 401, "auth.missing"),
    "400 bad JSON": (
        lambda api, key: api.probe(
            content=b"{", key=key, headers={"content-type": "application/json"}
        ),
        400,
        "create.bad-request",
    ),
    "400 validation": (lambda api, key: api.probe({}, key=key), 400, "create.validation"),
    "400 bad id": (lambda api, key: api.get_story("not-a-uuid", key=key), 400, "get.uuid"),
    "404 unknown id": (
        lambda api, key: api.get_story(str(uuid.uuid4()), key=key),
        404,
        "get.unknown",
    ),
}
#: Answers that are the envelope only because a decision says so (the page is silent).
ROUTING_ERRORS: dict[str, Callable[[Api, str], ApiAnswer]] = {
    "404 unknown path": lambda api, key: api.send("GET", "/v1/unknown", key=key),
    "405 wrong method": lambda api, key: api.send("DELETE", STORIES, key=key),
}


@clause("envelope.json")
@pytest.mark.parametrize("kind", ERRORS)
def test_error_responses_are_json_envelopes(api: Api, spare_account: Account, kind: str) -> None:
    send, status, status_clause = ERRORS[kind]
    answer = send(api, spare_account.key)
    check(status_clause, answer.status == status, f"expected {kind}, got {answer}")
    assert_envelope(answer)


@clause("envelope.media-type")
@pytest.mark.parametrize("kind", ROUTING_ERRORS)
def test_unknown_paths_and_wrong_methods_are_json_envelopes_too(
    api: Api, spare_account: Account, kind: str
) -> None:
    answer = ROUTING_ERRORS[kind](api, spare_account.key)
    assert answer.status == int(kind.split()[0]), f"expected {kind}, got {answer}"
    assert_envelope(answer, claimed_by=None)


@clause("envelope.json")
def test_accepted_create_is_a_json_envelope(book_run: BookRun) -> None:
    book_run.require_book()
    assert_envelope(book_run.created)


@clause("envelope.json")
def test_story_read_is_a_json_envelope(book_run: BookRun) -> None:
    book_run.require_book()
    assert book_run.polls, "the book was never read"
    assert_envelope(book_run.polls[0])


def assert_echoed(answer: ApiAnswer, request_id: str) -> None:
    """The body's requestId is the sent id (the page); so is the header (a decision)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    assert body.get("requestId") == request_id, f"requestId not echoed: {answer}"
    check(
        "envelope.request-id-header",
        answer.headers.get(REQUEST_ID_HEADER) == request_id,
        f"{REQUEST_ID_HEADER} header not echoed: {answer}",
    )


@clause("request-id.echo")
@behaviour
@given(request_id=echoable_request_ids())
def test_visible_ascii_request_id_is_echoed(
    api: Api, spare_account: Account, request_id: str
) -> None:
    headers = {REQUEST_ID_HEADER: request_id}
    assert_echoed(
        api.get_story(str(uuid.uuid4()), key=spare_account.key, headers=headers), request_id
    )
    assert_echoed(api.get_story(str(uuid.uuid4()), headers=headers), request_id)


@clause("request-id.echo")
def test_request_id_is_echoed_on_accepted_creates(
    api: Api, account: Account, ledger: CreditLedger
) -> None:
    ledger.reserve(valid_body()["pageCount"], "echo on a 202")
    request_id = f"cbk-contracts-{uuid.uuid4()}"
    answer = api.create(valid_body(), key=account.key, headers={REQUEST_ID_HEADER: request_id})
    assert answer.status == 202, f"the create was not accepted: {answer}"
    assert_echoed(answer, request_id)


def assert_generated(answer: ApiAnswer, sent: str | None) -> None:
    """A requestId the server made up: not the one sent, and (a decision) 1–64 visible ASCII,
    echoed in the header."""
    body = answer.body if isinstance(answer.body, dict) else {}
    generated = body.get("requestId")
    assert isinstance(generated, str) and generated, f"no generated requestId: {answer}"
    assert generated != sent, f"an invalid request id was echoed: {answer}"
    check(
        "envelope.request-id-header",
        answer.headers.get(REQUEST_ID_HEADER) == generated
        and REQUEST_ID.fullmatch(generated) is not None,
        f"{REQUEST_ID_HEADER} header is not the 1–64 visible ASCII requestId: {answer}",
    )


@clause("request-id.replace")
@behaviour
@given(request_id=overlong_request_ids())
def test_request_id_longer_than_64_is_replaced(
    api: Api, spare_account: Account, request_id: str
) -> None:
    answer = api.get_story(
        str(uuid.uuid4()), key=spare_account.key, headers={REQUEST_ID_HEADER: request_id}
    )
    assert_generated(answer, request_id)


@clause("request-id.replace")
@pytest.mark.parametrize(
    "request_id",
    [b"has space", b"tab\there", "\u00fcmlaut".encode()],
    ids=["space", "tab", "utf-8"],
)
def test_request_id_with_other_characters_is_replaced(
    api: Api, spare_account: Account, request_id: bytes
) -> None:
    headers = {REQUEST_ID_HEADER: request_id}
    answer = api.get_story(str(uuid.uuid4()), key=spare_account.key, headers=headers)
    assert_generated(answer, request_id.decode("latin-1"))


@clause("request-id.generate")
def test_request_id_is_generated_when_absent(api: Api, spare_account: Account) -> None:
    assert_generated(api.get_story(str(uuid.uuid4()), key=spare_account.key), None)


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
def test_unknown_path_is_404_not_found(api: Api, spare_account: Account, path: str) -> None:
    assert_error(api.send("GET", path, key=spare_account.key), 404, "NOT_FOUND", claimed_by=None)


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
    api: Api, spare_account: Account, method: str, path: str, allowed: str
) -> None:
    answer = api.send(method, path, key=spare_account.key)
    assert_error(answer, 405, "METHOD_NOT_ALLOWED", claimed_by=None)
    listed = answer.headers.get(ALLOW, "")
    methods = {m.strip().upper() for m in listed.split(",") if m.strip()}
    assert allowed in methods, f"{ALLOW} should list {allowed}: {listed!r}"
    assert method not in methods, f"{ALLOW} lists the refused {method}: {listed!r}"
