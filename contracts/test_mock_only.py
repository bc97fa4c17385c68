"""Clauses only the local mock can set up: exhausted daily caps and monthly credits, credits
charged and refunded, revoked/rotated/suspended keys, dashboard books, forced failures and a
moved clock. Skipped against a deployment (it offers no control API).

These run on a mock of their own with a manual clock, so moving time disturbs nothing else.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator

import pytest

from contracts.budget import CreditLedger
from contracts.clauses import clause
from contracts.client import SPEC, Api, ApiAnswer, fresh_idempotency_key
from contracts.control import Account, AccountControl
from contracts.expect import (
    assert_envelope,
    assert_error,
    assert_fields,
    assert_rate_headers,
    retry_after_problems,
)
from contracts.jobs import valid_body
from contracts.lifeline import LifeLine
from contracts.settings import Settings
from contracts.target import NEEDS_CONTROL_API, Target, open_target
from contracts.terms import RETRY_AFTER
from contracts.throttle import Throttle
from contracts.transport import SendPolicy, Traffic

PAGES = valid_body()["pageCount"]
#: Enough clock for any job of the mock to finish or fail (it runs a fraction of a second).
JOB_SECONDS = 60


@pytest.fixture(scope="module")
def manual(settings: Settings) -> Iterator[Target]:
    if not settings.local:
        pytest.skip(NEEDS_CONTROL_API)
    with open_target(settings, purpose="manual-clock") as target:
        yield target


@pytest.fixture(scope="module")
def mock_api(manual: Target, lifeline: LifeLine, traffic: Traffic) -> Iterator[Api]:
    """A client of its own: what this mock's users spend is no part of the target's budget."""
    policy = SendPolicy(Throttle(lifeline), CreditLedger(math.inf), traffic=traffic)
    client = Api(manual.url, policy=policy, verify=manual.verify)
    yield client
    client.close()


@pytest.fixture
def ctl(manual: Target) -> AccountControl:
    return manual.require_control()


@pytest.fixture
def user(manual: Target) -> Account:
    return manual.main_account()


def assert_limit_refusal(answer: ApiAnswer, code: str) -> None:
    assert_error(answer, 429, code)
    assert_rate_headers(answer)
    problems = retry_after_problems(answer.headers)
    assert not problems, f"{'; '.join(problems)}: {answer}"


# --- daily cap and monthly credits ---------------------------------------------------------
@clause("limits.daily-cap")
def test_create_past_the_daily_cap_is_429_daily_cap_exceeded(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    cap = ctl.usage(user)["booksPerDay"]
    assert user.plan is not None, f"the mock issued {user} without a plan"
    assert cap == SPEC.plans[user.plan].books_per_day, f"the mock's cap is {cap}"
    ctl.set_usage(user, booksToday=cap - 1)
    last = mock_api.create(valid_body(), key=user.key)
    assert last.status == 202, f"the last book of the day was refused: {last}"
    assert_limit_refusal(mock_api.create(valid_body(), key=user.key), "DAILY_CAP_EXCEEDED")


@clause("limits.daily-cap")
def test_daily_cap_lifts_after_retry_after(
    mock_api: Api, ctl: AccountControl, user: Account, manual: Target
) -> None:
    ctl.set_usage(user, booksToday=ctl.usage(user)["booksPerDay"])
    refused = mock_api.create(valid_body(), key=user.key)
    assert_limit_refusal(refused, "DAILY_CAP_EXCEEDED")
    manual.pass_time(int(refused.headers[RETRY_AFTER]))
    again = mock_api.create(valid_body(), key=user.key)
    assert again.status == 202, f"still refused after retry-after: {again}"


@clause("limits.credits")
def test_create_needing_more_credits_than_left_is_429_insufficient_credits(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    monthly = ctl.usage(user)["monthlyCredits"]
    ctl.set_usage(user, creditsUsed=monthly - PAGES + 1)
    answer = mock_api.create(valid_body(), key=user.key)
    assert_limit_refusal(answer, "INSUFFICIENT_CREDITS")


@clause("limits.credits")
def test_create_needing_exactly_the_credits_left_is_accepted(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    monthly = ctl.usage(user)["monthlyCredits"]
    ctl.set_usage(user, creditsUsed=monthly - PAGES)
    answer = mock_api.create(valid_body(), key=user.key)
    assert answer.status == 202, f"refused with exactly pageCount credits left: {answer}"


@clause("create.credits")
def test_accepting_a_book_charges_page_count_credits_at_once(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    before = ctl.usage(user)["creditsUsed"]
    body = valid_body(pageCount=PAGES + 2)
    assert mock_api.create(body, key=user.key).status == 202
    charged = ctl.usage(user)["creditsUsed"] - before
    assert charged == body["pageCount"], f"charged {charged}, pageCount {body['pageCount']}"


@clause("idempotency.replay-header")
def test_a_replay_charges_no_credits(mock_api: Api, ctl: AccountControl, user: Account) -> None:
    key, body = fresh_idempotency_key(), valid_body()
    assert mock_api.create(body, key=user.key, idempotency_key=key).status == 202
    before = ctl.usage(user)
    replay = mock_api.create(body, key=user.key, idempotency_key=key)
    assert replay.status == 202 and replay.replayed, f"not a replay: {replay}"
    after = ctl.usage(user)
    assert after["creditsUsed"] == before["creditsUsed"], f"a replay charged: {before} → {after}"
    assert after["booksToday"] == before["booksToday"], f"a replay booked: {before} → {after}"


@clause("idempotency.replay")
def test_a_key_is_forgotten_after_24_hours(mock_api: Api, user: Account, manual: Target) -> None:
    key, body = fresh_idempotency_key(), valid_body()
    first = mock_api.create(body, key=user.key, idempotency_key=key)
    assert first.status == 202, f"not accepted: {first}"
    manual.pass_time(SPEC.idempotency_ttl + 1)
    later = mock_api.create(body, key=user.key, idempotency_key=key)
    assert later.status == 202 and not later.replayed, f"replayed after 24 h: {later}"
    assert later.data["bookId"] != first.data["bookId"], "the same book after 24 h"


# --- order of checks -----------------------------------------------------------------------
@clause("create.check-order")
def test_body_validation_comes_before_the_credit_check(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    ctl.set_usage(user, creditsUsed=ctl.usage(user)["monthlyCredits"])
    answer = mock_api.create(valid_body(style="3D"), key=user.key)
    assert_fields(answer, "style")


@clause("create.check-order")
def test_daily_cap_comes_before_the_credit_check(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    now = ctl.usage(user)
    ctl.set_usage(user, booksToday=now["booksPerDay"], creditsUsed=now["monthlyCredits"])
    assert_error(mock_api.create(valid_body(), key=user.key), 429, "DAILY_CAP_EXCEEDED")


@clause("create.check-order")
def test_a_replay_comes_before_the_daily_cap(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    key, body = fresh_idempotency_key(), valid_body()
    first = mock_api.create(body, key=user.key, idempotency_key=key)
    assert first.status == 202, f"not accepted: {first}"
    ctl.set_usage(user, booksToday=ctl.usage(user)["booksPerDay"])
    replay = mock_api.create(body, key=user.key, idempotency_key=key)
    assert replay.status == 202, f"a replay at the daily cap was refused: {replay}"
    assert replay.data.get("bookId") == first.data["bookId"], f"not a replay: {replay}"


# --- forced failures -----------------------------------------------------------------------
@clause("lifecycle.failed")
def test_failed_book_has_an_error_message_and_no_completion_time(
    mock_api: Api, ctl: AccountControl, user: Account, manual: Target
) -> None:
    ctl.queue_job(user, failAtPage=3)
    created = mock_api.create(valid_body(), key=user.key)
    assert created.status == 202, f"not accepted: {created}"
    manual.pass_time(JOB_SECONDS)
    story = mock_api.get_story(created.data["bookId"], key=user.key)
    assert story.status == 200 and story.data["status"] == "failed", f"not failed: {story}"
    assert story.data.get("errorMessage"), f"failed without errorMessage: {story}"
    assert story.data.get("completedAt") is None, f"failed with a completedAt: {story}"
    assert story.data["progress"] < 100, f"failed with progress 100: {story}"


@clause("lifecycle.refund")
def test_failed_book_credits_are_refunded(
    mock_api: Api, ctl: AccountControl, user: Account, manual: Target
) -> None:
    before = ctl.usage(user)["creditsUsed"]
    ctl.queue_job(user, failAtPage=2)
    created = mock_api.create(valid_body(), key=user.key)
    assert created.status == 202, f"not accepted: {created}"
    manual.pass_time(JOB_SECONDS)
    after = ctl.usage(user)["creditsUsed"]
    assert after == before, f"credits used {before} → {after} after the book failed"


@clause("envelope.json")
@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "INTERNAL_ERROR"), (502, "EXTERNAL_SERVICE_ERROR"), (503, "EXTERNAL_SERVICE_ERROR")],
)
def test_server_errors_are_json_envelopes(
    mock_api: Api, ctl: AccountControl, user: Account, status: int, code: str
) -> None:
    ctl.queue_error(status)
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), status, code)


# --- keys ----------------------------------------------------------------------------------
@clause("auth.revoke-now")
def test_a_revoked_key_is_refused_on_the_very_next_request(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), 404, "NOT_FOUND")
    ctl.key_action(user, "revoke")
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), 401, "INVALID_API_KEY")


@clause("auth.revoke-now")
def test_a_rotated_key_is_replaced_on_the_very_next_request(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), 404, "NOT_FOUND")
    rotated = ctl.key_action(user, "rotate")
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), 401, "INVALID_API_KEY")
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=rotated.key), 404, "NOT_FOUND")


@clause("auth.suspended")
def test_a_suspended_key_is_403_forbidden(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    ctl.key_action(user, "suspend")
    assert_error(mock_api.get_story(str(uuid.uuid4()), key=user.key), 403, "FORBIDDEN")


@clause("get.dashboard")
def test_a_dashboard_book_is_readable_through_the_api(
    mock_api: Api, ctl: AccountControl, user: Account
) -> None:
    book = ctl.add_dashboard_book(user, title="Made on the dashboard", pageCount=PAGES)
    answer = mock_api.get_story(book["id"], key=user.key)
    assert answer.status == 200, f"a dashboard book is not readable: {answer}"
    assert_envelope(answer)
    assert answer.data["source"] == "web", f"source is {answer.data['source']!r}"
