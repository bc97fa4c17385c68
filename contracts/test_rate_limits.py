"""Per-minute limits as the headers tell them: present on every keyed response, counting down,
429 only at zero, retry-after, and the limit lifting after the wait."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from contracts.clauses import clause
from contracts.client import Api, ApiAnswer, RateHeaders
from contracts.control import Account
from contracts.expect import (
    LIMIT_CODES,
    assert_error,
    assert_rate_headers,
    check,
    retry_after_problems,
)
from contracts.jobs import BookRun, valid_body
from contracts.settings import ALLOW_LIMIT_EXHAUSTION, Settings
from contracts.target import Target
from contracts.terms import RATE_LIMIT_LIMIT, RATE_LIMITED, RETRY_AFTER
from contracts.throttle import MAX_WAIT

#: Requests per round of the count-down test.
ROUND = 6
#: Upper bound of the exhaustion run when the limit is not known yet.
_MAX_RUN = 1000
_RECOVERY_MARGIN = 1.0

#: Keyed requests that fail without booking: how to send one, the status it gets, and the
#: clause that sets that status (a decision's status is no page clause's business).
KEYED: dict[str, tuple[Callable[[Api, str], ApiAnswer], int, str]] = {
    "404 unknown id": (
        lambda api, key: api.get_story(str(uuid.uuid4()), key=key),
        404,
        "get.unknown",
    ),
    "400 bad id": (lambda api, key: api.get_story("not-a-uuid", key=key), 400, "get.uuid"),
    "400 validation": (lambda api, key: api.probe({}, key=key), 400, "create.validation"),
    "400 bad JSON": (
        lambda api, key: api.probe(
            content=b"{", key=key, headers={"content-type": "application/json"}
        ),
        400,
        "create.bad-request",
    ),
    "400 guarded probe": (
        lambda api, key: api.probe(valid_body(), key=key),
        400,
        "idempotency.key-length",
    ),
}


def rate_headers(answer: ApiAnswer) -> RateHeaders:
    """The answer's x-ratelimit-* values: every keyed answer carries them, so one without them
    fails the test."""
    rate = answer.rate
    assert rate is not None, f"no rate-limit headers: {answer}"
    return rate


@clause("limits.remaining")
@pytest.mark.parametrize("kind", KEYED)
def test_keyed_error_responses_carry_rate_limit_headers(
    api: Api, account: Account, plan_limit: int | None, kind: str
) -> None:
    send, status, status_clause = KEYED[kind]
    answer = send(api, account.key)
    check(status_clause, answer.status == status, f"expected {kind}: {answer}")
    assert_rate_headers(answer, plan_limit)


@clause("limits.remaining")
def test_accepted_create_carries_rate_limit_headers(
    book_run: BookRun, plan_limit: int | None
) -> None:
    book_run.require_book()
    assert_rate_headers(book_run.created, plan_limit)


@clause("limits.remaining")
def test_story_read_carries_rate_limit_headers(book_run: BookRun, plan_limit: int | None) -> None:
    book_run.require_book()
    assert book_run.polls, "the book was never read"
    for answer in book_run.polls:
        assert_rate_headers(answer, plan_limit)


@clause("limits.plan")
def test_limit_header_is_the_documented_limit_of_the_plan(
    api: Api, account: Account, plan_limit: int | None
) -> None:
    if plan_limit is None:
        pytest.skip("the key's plan is unknown: set CBK_PLAN=pro|premium to check its limit")
    answer = api.get_story(str(uuid.uuid4()), key=account.key)
    check("limits.headers", answer.rate is not None, f"no rate-limit headers: {answer}")
    if answer.rate is not None:
        assert answer.rate.limit == plan_limit, (
            f"{RATE_LIMIT_LIMIT} {answer.rate.limit}, documented {plan_limit}"
        )


@clause("limits.headers")
def test_limit_header_is_the_same_on_every_response(api: Api, account: Account) -> None:
    answers = [api.get_story(str(uuid.uuid4()), key=account.key) for _ in range(3)]
    limits = {rate_headers(answer).limit for answer in answers}
    assert len(limits) == 1, f"{RATE_LIMIT_LIMIT} changed: {sorted(limits)}"


def same_window(earlier: ApiAnswer, later: ApiAnswer) -> bool:
    """Both answers certainly fall in one window (reset counted down, not started over).

    The server saw the two requests at most this far apart: from sending the first to
    receiving the second — whatever the network's latency did in between."""
    if earlier.rate is None or later.rate is None:
        return False
    elapsed = later.received_at - earlier.sent_at
    return later.rate.reset <= earlier.rate.reset and elapsed < earlier.rate.reset - 1


@clause("limits.decreasing")
def test_remaining_goes_down_by_one_per_request_within_a_window(
    api: Api, account: Account, target: Target
) -> None:
    """Strictly down on any target; exactly one down where the suite owns the account."""
    for _ in range(3):
        replies = [api.get_story(str(uuid.uuid4()), key=account.key) for _ in range(ROUND)]
        assert all(r.rate for r in replies), f"rate headers missing: {replies}"
        pairs = [
            (rate_headers(a), rate_headers(b))
            for a, b in itertools.pairwise(replies)
            if same_window(a, b)
        ]
        if pairs:
            break
    else:
        pytest.fail("no two answers fell in one window (x-ratelimit-reset never counted down)")
    for earlier, later in pairs:
        assert later.remaining < earlier.remaining, (
            f"remaining did not go down: {earlier.remaining} then {later.remaining}"
        )
        if target.local:
            assert later.remaining == earlier.remaining - 1, (
                f"remaining went from {earlier.remaining} to {later.remaining}"
            )


# --- driving the limit to 429 --------------------------------------------------------------
@dataclass
class Exhaustion:
    """One account driven to its first 429; one more request once retry-after has passed.

    On a deployment that wait is real: the request after it is sent by a timer thread, and the
    suite goes on meanwhile — other keys' tests, then this key's, which the throttle holds
    until the same moment. Only ``test_the_limit_lifts_after_waiting_retry_after`` (run last)
    waits for it."""

    replies: list[ApiAnswer] = field(default_factory=list)
    _after_wait: ApiAnswer | None = None
    _waiting: threading.Thread | None = None

    @property
    def refused(self) -> ApiAnswer | None:
        return next((r for r in self.replies if r.status == 429), None)

    def require_refused(self) -> ApiAnswer:
        refused = self.refused
        if refused is None:
            limits = sorted({r.rate.limit for r in self.replies if r.rate})
            pytest.fail(f"{len(self.replies)} requests never got a 429 (limit headers: {limits})")
        return refused

    def before_refusal(self) -> ApiAnswer | None:
        refused = self.require_refused()
        index = self.replies.index(refused)
        return self.replies[index - 1] if index else None

    @property
    def after_wait(self) -> ApiAnswer | None:
        if self._waiting is not None:
            self._waiting.join()
        return self._after_wait


def recover(run: Exhaustion, api: Api, target: Target, key: str, wait: float) -> None:
    """Let ``wait`` seconds pass, then send the request the limit must no longer refuse."""
    if target.local:
        target.pass_time(wait)
    else:
        api.lifeline.wait(wait, f"the {RETRY_AFTER} of the 429 the suite drove to pass")
    run._after_wait = api.get_story(str(uuid.uuid4()), key=key, throttled=False)


@pytest.fixture(scope="session")
def exhaustion(api: Api, target: Target, settings: Settings) -> Iterator[Exhaustion]:
    if not settings.allow_limit_exhaustion:
        pytest.skip(
            f"drives the key to 429 (its window stays empty up to a minute): set "
            f"{ALLOW_LIMIT_EXHAUSTION}=1 to enable"
        )
    account = target.main_account()
    run = Exhaustion()
    budget = _MAX_RUN
    while len(run.replies) < budget:
        answer = api.get_story(str(uuid.uuid4()), key=account.key, throttled=False)
        run.replies.append(answer)
        if answer.rate is not None and budget == _MAX_RUN:
            budget = min(_MAX_RUN, 2 * answer.rate.limit + 5)
        if answer.status == 429:
            wait = answer.headers.get(RETRY_AFTER, "1")
            wait_for = max(1.0, float(wait) if wait.isdigit() else 1.0)
            # A deployment's seconds may be rounded down, and its clock is not the suite's.
            wait_for = min(MAX_WAIT, wait_for + (0 if target.local else _RECOVERY_MARGIN))

            if target.local:
                recover(run, api, target, account.key, wait_for)  # the mock's clock: at once
            else:
                run._waiting = threading.Thread(
                    target=recover, args=(run, api, target, account.key, wait_for), daemon=True
                )
                run._waiting.start()
            break
    yield run
    if run._waiting is not None:
        run._waiting.join()


@clause("limits.429-at-zero")
@pytest.mark.cbk_exhausts_limit
def test_429_comes_only_once_remaining_is_0(exhaustion: Exhaustion) -> None:
    before = exhaustion.before_refusal()
    refused = exhaustion.require_refused()
    assert_error(refused, 429, RATE_LIMITED)
    if before is not None and same_window(before, refused):
        left = rate_headers(before).remaining
        assert left == 0, f"429 while the previous answer said {left} left: {refused}"


@clause("limits.headers")
@pytest.mark.cbk_exhausts_limit
def test_remaining_0_means_the_next_request_is_refused(exhaustion: Exhaustion) -> None:
    exhaustion.require_refused()
    replies = exhaustion.replies
    for earlier, later in itertools.pairwise(replies):
        if earlier.rate and earlier.rate.remaining == 0 and same_window(earlier, later):
            assert later.status == 429, f"remaining was 0, yet the next request passed: {later}"


@clause("limits.headers")
@pytest.mark.cbk_exhausts_limit
def test_a_window_admits_exactly_the_requests_it_says_are_left(exhaustion: Exhaustion) -> None:
    """From the first answer on: its ``remaining`` more requests pass, the next is refused."""
    refused = exhaustion.require_refused()
    first = exhaustion.replies[0]
    assert first.rate is not None, f"no rate-limit headers: {first}"
    passed = exhaustion.replies[: exhaustion.replies.index(refused)]
    if not all(same_window(first, r) for r in [*passed[1:], refused]):
        pytest.skip("the window rolled over during the run")
    assert len(passed) == first.rate.remaining + 1, (
        f"{len(passed)} requests passed before the first 429; the first answer said "
        f"{first.rate.remaining} were left after it (limit {first.rate.limit})"
    )


@clause("limits.headers")
@pytest.mark.cbk_exhausts_limit
def test_every_answer_up_to_the_429_carries_valid_rate_headers(
    exhaustion: Exhaustion, plan_limit: int | None
) -> None:
    exhaustion.require_refused()
    for answer in exhaustion.replies:
        assert_rate_headers(answer, plan_limit)


@clause("limits.retry-after")
@pytest.mark.cbk_exhausts_limit
def test_429_carries_retry_after_of_at_least_1_second(exhaustion: Exhaustion) -> None:
    refused = exhaustion.require_refused()
    assert refused.code in LIMIT_CODES, f"429 with code {refused.code}: {refused}"
    problems = retry_after_problems(refused.headers)
    assert not problems, f"{'; '.join(problems)}: {refused}"


@clause("limits.recovery")
@pytest.mark.cbk_exhausts_limit
@pytest.mark.cbk_recovery
def test_the_limit_lifts_after_waiting_retry_after(exhaustion: Exhaustion) -> None:
    exhaustion.require_refused()
    after = exhaustion.after_wait
    assert after is not None and after.status != 429, f"still refused after the wait: {after}"
    assert_error(after, 404, "NOT_FOUND")
