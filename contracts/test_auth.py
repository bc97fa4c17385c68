"""Authentication: which key is read, and what each kind of bad key gets."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given

from contracts.clauses import clause
from contracts.client import Api, ApiAnswer
from contracts.control import Account
from contracts.expect import assert_error, assert_fields, check
from contracts.jobs import valid_body
from contracts.strategies import KEY_PREFIX, behaviour, unknown_keys
from contracts.terms import IDEMPOTENCY_HEADER

OPERATIONS = ("get", "create")


def call(
    api: Api, operation: str, *, key: str | None = None, bearer: str | None = None
) -> ApiAnswer:
    """A request that, once authorized, gets a known answer without booking anything:
    GET of an unknown id (404) or a guarded create probe of a valid body (400 naming the
    over-long Idempotency-Key alone, whichever order the server checks in)."""
    if operation == "get":
        return api.get_story(str(uuid.uuid4()), key=key, bearer=bearer)
    return api.probe(valid_body(), key=key, bearer=bearer)


def assert_authorized(answer: ApiAnswer, operation: str) -> None:
    if operation == "get":
        assert_error(answer, 404, "NOT_FOUND")
    else:
        assert_fields(answer, IDEMPOTENCY_HEADER, exactly=True)


@clause("auth.missing")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_request_without_a_key_is_401_unauthorized(api: Api, operation: str) -> None:
    assert_error(call(api, operation), 401, "UNAUTHORIZED")


@clause("auth.invalid")
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    "malformed",
    [
        KEY_PREFIX,
        KEY_PREFIX + "a" * 23,
        KEY_PREFIX + "!" * 24,
        "cbk_test_" + "a" * 32,
        "a" * 40,
    ],
    ids=["prefix-only", "23-chars", "bad-chars", "other-prefix", "no-prefix"],
)
def test_malformed_key_is_401_invalid_api_key(api: Api, operation: str, malformed: str) -> None:
    assert_error(call(api, operation, key=malformed), 401, "INVALID_API_KEY")


@clause("auth.invalid")
@behaviour
@given(key=unknown_keys())
def test_unknown_key_is_401_invalid_api_key(api: Api, key: str) -> None:
    assert_error(call(api, "get", key=key), 401, "INVALID_API_KEY")


@clause("auth.invalid")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_revoked_key_is_401_invalid_api_key(
    api: Api, revoked_account: Account, operation: str
) -> None:
    assert_error(call(api, operation, key=revoked_account.key), 401, "INVALID_API_KEY")


@clause("auth.plan")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_free_plan_key_is_403_plan_required(
    api: Api, free_account: Account, operation: str
) -> None:
    """Refused at all: the page ("Downgrading to Free instantly revokes the key"); refused
    with 403 PLAN_REQUIRED: a decision."""
    answer = call(api, operation, key=free_account.key)
    check("auth.invalid", answer.status in (401, 403), f"a Free-plan key was served: {answer}")
    assert_error(answer, 403, "PLAN_REQUIRED")


@clause("auth.schemes")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_x_api_key_header_is_accepted(api: Api, spare_account: Account, operation: str) -> None:
    assert_authorized(call(api, operation, key=spare_account.key), operation)


@clause("auth.schemes")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_bearer_key_is_accepted(api: Api, spare_account: Account, operation: str) -> None:
    assert_authorized(call(api, operation, bearer=spare_account.key), operation)


@clause("auth.preferred")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_x_api_key_wins_over_an_unknown_bearer(
    api: Api, spare_account: Account, operation: str
) -> None:
    unknown = KEY_PREFIX + uuid.uuid4().hex
    assert_authorized(call(api, operation, key=spare_account.key, bearer=unknown), operation)


@clause("auth.preferred")
@pytest.mark.parametrize("operation", OPERATIONS)
def test_x_api_key_is_used_even_when_the_bearer_is_valid(
    api: Api, spare_account: Account, operation: str
) -> None:
    unknown = KEY_PREFIX + uuid.uuid4().hex
    answer = call(api, operation, key=unknown, bearer=spare_account.key)
    assert_error(answer, 401, "INVALID_API_KEY")


@clause("create.check-order")
def test_missing_key_is_reported_before_an_invalid_body(api: Api) -> None:
    assert_error(api.probe({"pageCount": "many"}), 401, "UNAUTHORIZED")


@clause("create.check-order")
def test_free_plan_is_reported_before_an_invalid_body(api: Api, free_account: Account) -> None:
    answer = api.probe({"pageCount": "many"}, key=free_account.key)
    assert_error(answer, 403, "PLAN_REQUIRED")


@clause("create.check-order")
def test_content_type_is_checked_before_the_body(api: Api, spare_account: Account) -> None:
    answer = api.probe(
        content='{"pageCount": "many"}',
        key=spare_account.key,
        headers={"content-type": "text/plain"},
    )
    assert_error(answer, 400, "BAD_REQUEST")
