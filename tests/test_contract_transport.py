"""The contract suite's one transport policy — throttle, retry, credits — its credit rules from
``x-cbk-credits``, and the life line it keeps in a CI log while it waits. Clocks are fake: no
test sleeps."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator

import pytest

from contracts.budget import CreditLedger
from contracts.client import Api
from contracts.fuzz import ThrottledSession
from contracts.jobs import follow, valid_body
from contracts.lifeline import LifeLine
from contracts.terms import IDEMPOTENCY_HEADER, RATE_LIMITED, REPLAY_HEADER, SPEC, STORIES
from contracts.throttle import Throttle
from contracts.transport import RETRIES, Incoming, Outgoing, Pricing, SendPolicy, guard_key
from mockserver.spec import Spec
from mockserver.testing.process import MockProcess, RunningMock

INTERVAL = 15.0


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def lifeline(fake_time: FakeTime, lines: list[str]) -> LifeLine:
    return LifeLine(lines.append, interval=INTERVAL, clock=fake_time.clock, sleep=fake_time.sleep)


@pytest.fixture
def policy(lifeline: LifeLine) -> SendPolicy:
    return SendPolicy(Throttle(lifeline), CreditLedger(math.inf))


def rate_limited(retry_after: int) -> Incoming:
    headers = {"retry-after": str(retry_after), "x-ratelimit-remaining": "0"}
    return Incoming(429, headers, RATE_LIMITED)


def accepted(**headers: str) -> Incoming:
    return Incoming(202, headers, None)


def send(policy: SendPolicy, answers: list[Incoming], outgoing: Outgoing, **kwargs) -> Incoming:
    script: Iterator[Incoming] = iter(answers)
    return policy.send(outgoing, lambda: next(script), lambda answer: answer, **kwargs)


def create(body=None, **headers: str) -> Outgoing:
    return Outgoing("POST", STORIES, {"x-api-key": "cbk_live_" + "k" * 30, **headers}, body)


# --- the policy ----------------------------------------------------------------------------------
def test_a_per_minute_429_is_retried_after_its_retry_after(
    policy: SendPolicy, fake_time: FakeTime
) -> None:
    answer = send(policy, [rate_limited(7), accepted()], create(valid_body()))
    assert answer.status == 202
    assert sum(fake_time.slept) == 7
    assert policy.traffic.total == 2


def test_retries_are_bounded(policy: SendPolicy) -> None:
    answer = send(policy, [rate_limited(1)] * RETRIES, create(valid_body()))
    assert answer.status == 429
    assert policy.traffic.total == RETRIES


def test_an_unthrottled_request_is_never_retried(policy: SendPolicy) -> None:
    answer = send(policy, [rate_limited(1)], create(valid_body()), throttled=False)
    assert answer.status == 429
    assert policy.traffic.total == 1


def test_an_accepted_create_is_charged_its_page_count(policy: SendPolicy) -> None:
    send(policy, [accepted()], create(valid_body(pageCount=9)))
    assert policy.ledger.spent == 9


def test_a_replay_is_not_charged(policy: SendPolicy) -> None:
    send(policy, [accepted(**{REPLAY_HEADER: "true"})], create(valid_body()))
    assert policy.ledger.spent == 0


def test_a_free_operation_is_not_charged(policy: SendPolicy) -> None:
    outgoing = Outgoing("GET", f"{STORIES}/{'0' * 8}-0000-4000-8000-{'0' * 12}", {})
    policy.send(outgoing, lambda: Incoming(200, {}, None), lambda answer: answer)
    assert policy.ledger.spent == 0


def test_a_body_that_is_not_a_positive_number_costs_the_most(policy: SendPolicy) -> None:
    send(policy, [accepted()], create({"pageCount": "7"}))
    assert (
        policy.ledger.spent
        == SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["maximum"]
        * SPEC.credits_per_page
    )


def test_once_a_guarded_probe_was_booked_no_other_is_sent(lifeline: LifeLine) -> None:
    budgeted = SendPolicy(Throttle(lifeline), CreditLedger(100))
    guarded = create(valid_body(), **{IDEMPOTENCY_HEADER: guard_key()})
    send(budgeted, [accepted()], guarded)
    assert budgeted.ledger.guard_breach is not None
    with pytest.raises(pytest.fail.Exception, match="over-long Idempotency-Key"):
        send(budgeted, [accepted()], guarded)


# --- credits come from x-cbk-credits -------------------------------------------------------------
def test_the_spec_prices_create_story_at_page_count_times_credits_per_page() -> None:
    (rule,) = SPEC.credit_rules
    assert (rule.method, rule.path, rule.accepted_status) == ("POST", STORIES, 202)
    assert rule.body_fields == ("pageCount",)
    assert rule.multiplier == SPEC.credits_per_page


def with_extension(**extension) -> Spec:
    document = copy.deepcopy(SPEC.document)
    document["paths"][STORIES]["post"]["x-cbk-credits"] = extension
    return Spec(document)


def test_a_newly_priced_operation_is_budgeted_without_a_code_change() -> None:
    document = copy.deepcopy(SPEC.document)
    get_story = document["paths"][f"{STORIES}/{{id}}"]["get"]
    get_story["x-cbk-credits"] = {"perAcceptance": "creditsPerPage"}
    get_story["requestBody"] = {"content": {"application/json": {"schema": {}}}}
    pricing = Pricing(Spec(document).credit_rules)
    rule = pricing.rule_for("GET", f"{STORIES}/any-book")
    assert rule is not None and rule.accepted_status == 200
    assert rule.cost(None) == SPEC.credits_per_page


def test_credits_per_page_defaults_to_the_decisions_one_credit_per_page() -> None:
    document = copy.deepcopy(SPEC.document)
    del document["x-cbk"]["creditsPerPage"]
    (rule,) = Spec(document).credit_rules
    assert rule.multiplier == 1


def test_an_unknown_factor_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a request body field nor an x-cbk rule"):
        with_extension(perAcceptance="pageCount * pricePerWord").credit_rules  # noqa: B018


# --- a life line while waiting --------------------------------------------------------------
def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_a_long_wait_says_what_for_and_how_long_at_least_every_15_s(
    lifeline: LifeLine, lines: list[str], fake_time: FakeTime
) -> None:
    said_at: list[float] = []
    lifeline.write = lambda line: (said_at.append(fake_time.now), lines.append(line))
    lifeline.wait(50, "the window to reset")
    assert lines[0].endswith("waiting 50 s for the window to reset")
    assert all(gap <= INTERVAL for gap in gaps([*said_at, fake_time.now]))
    assert len(lines) == 4


def test_a_short_wait_passes_without_a_line(lifeline: LifeLine, lines: list[str]) -> None:
    lifeline.wait(0.5, "a margin")
    assert lines == []


def test_the_throttle_says_which_key_it_waits_for(
    lifeline: LifeLine, lines: list[str], fake_time: FakeTime
) -> None:
    throttle = Throttle(lifeline)
    key = "cbk_live_" + "s" * 30
    throttle.after(key, 200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "20"}, None)
    throttle.before(key)
    assert "rate-limit window of key cbk_live_…ssss" in lines[0]
    assert key not in "".join(lines)
    assert sum(fake_time.slept) == pytest.approx(21)


class SlowJobApi:
    """A create accepted at once, then a job that stays processing for ``seconds``."""

    def __init__(self, lifeline: LifeLine, seconds: float) -> None:
        self.lifeline = lifeline
        self._done_at = lifeline.clock() + seconds

    def create(self, body, *, key, idempotency_key):
        return _Answer(202, {"bookId": "b", "taskId": "t", "status": "pending"})

    def get_story(self, book_id, *, key):
        status = "completed" if self.lifeline.clock() >= self._done_at else "processing"
        return _Answer(200, {"status": status, "progress": 50, "pages": []})


class _Answer:
    def __init__(self, status: int, data: dict) -> None:
        self.status, self.data = status, data


def test_a_long_job_is_said_out_loud_at_least_every_15_s(
    lifeline: LifeLine, lines: list[str], fake_time: FakeTime
) -> None:
    said_at: list[float] = []
    lifeline.write = lambda line: (said_at.append(fake_time.now), lines.append(line))
    started = fake_time.now
    run = follow(SlowJobApi(lifeline, 100), _Account(), valid_body(), timeout=900)
    assert run.stories[-1]["status"] == "completed"
    assert all("waiting for book b: processing" in line for line in lines)
    assert all(gap <= INTERVAL + 2.0 for gap in gaps([started, *said_at, fake_time.now]))
    assert "of at most 900 s" in lines[-1]


class _Account:
    key = "cbk_live_" + "a" * 30


# --- both transports share the policy --------------------------------------------------------
@pytest.fixture(scope="module")
def running() -> Iterator[RunningMock]:
    with MockProcess("--no-access-log", "--log-level", "WARNING") as mock:
        yield mock


def test_both_transports_charge_and_count_through_the_one_policy(
    running: RunningMock, policy: SendPolicy
) -> None:
    key = running.keys["pro"]
    api = Api(running.url, policy=policy)
    session = ThrottledSession(policy, running.url)
    try:
        assert api.create(valid_body(), key=key).status == 202
        answer = session.post(
            f"{running.url}{STORIES}", json=valid_body(pageCount=6), headers={"x-api-key": key}
        )
        assert answer.status_code == 202
    finally:
        api.close()
        session.close()
    assert policy.ledger.spent == 5 + 6
    assert policy.traffic.total == 2
    remaining, _ = policy.throttle.left(key)
    assert remaining is not None
