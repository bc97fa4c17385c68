"""The proxy's checks on scripted exchanges (framework-free, no sockets): what they must not
flag — concurrent duplicates, an expired Idempotency-Key, a refused key, a book's own key — and
the session clock that keeps to a cbk-mock's manual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts import verdict
from contracts.clauses import CLAUSES
from mockserver.clause_ids import PROFILES, SOURCES, ClauseId
from mockserver.http.messages import HttpReply, HttpRequest
from mockserver.proxy.checks import IDEMPOTENCY_TTL, ExchangeChecks
from mockserver.proxy.inspector import SessionClock

PRO, OTHER = "cbk_live_" + "p" * 32, "cbk_live_" + "o" * 32
BOOK, TASK = "6b3ccae4-14a3-4b8f-b54e-2451da34ea94", "7b3ccae4-14a3-4b8f-b54e-2451da34ea94"
BODY = {"storyIdea": "A fox who shares.", "pageCount": 5}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def checks(clock: Clock) -> ExchangeChecks:
    return ExchangeChecks(clock=clock, fresh=True)


def request(method: str, path: str, key: str | None = PRO, body: Any = None, **headers: str):
    sent = [(name.replace("_", "-"), value) for name, value in headers.items()]
    if key:
        sent.append(("x-api-key", key))
    raw = b"" if body is None else json.dumps(body).encode()
    return HttpRequest(method, path, [*sent, ("content-type", "application/json")], raw)


def reply(status: int, data: Any = None, code: str | None = None, remaining: int | None = 59):
    headers = {"content-type": "application/json", "X-Request-Id": "r-1"}
    if remaining is not None:
        headers |= {
            "x-ratelimit-limit": "60",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": "60",
        }
    body: dict[str, Any] = {"ok": code is None, "requestId": "r-1"}
    if code is None:
        body["data"] = data
    else:
        body["error"] = {"code": code, "message": code.lower()}
    return HttpReply(status, headers, json.dumps(body).encode())


def accepted(replayed: bool = False, remaining: int = 59) -> HttpReply:
    answer = reply(202, {"taskId": TASK, "bookId": BOOK, "status": "pending"}, remaining=remaining)
    if replayed:
        answer.headers["Idempotent-Replayed"] = "true"
    return answer


def clauses(found) -> list[str]:
    return [violation.clause for violation in found]


def test_every_clause_the_proxy_names_is_a_contract_clause() -> None:
    assert {clause.value for clause in ClauseId} <= set(CLAUSES)


def test_every_clause_the_proxy_names_has_the_contract_clause_s_source() -> None:
    assert {clause: CLAUSES[clause].source for clause in ClauseId} == SOURCES


def test_the_proxy_s_profiles_are_the_contract_suite_s() -> None:
    assert PROFILES == verdict.PROFILES


def test_concurrent_duplicates_are_one_create_and_one_replay(checks: ExchangeChecks) -> None:
    create = request("POST", "/v1/stories", body=BODY, Idempotency_Key="k1")
    first, second = checks.begin(create), checks.begin(create)
    assert clauses(checks.finish(second, accepted(replayed=True, remaining=58))) == []
    assert clauses(checks.finish(first, accepted(remaining=59))) == []


def test_a_later_replay_must_say_it_is_one(checks: ExchangeChecks) -> None:
    create = request("POST", "/v1/stories", body=BODY, Idempotency_Key="k1")
    checks.finish(checks.begin(create), accepted(remaining=59))
    found = checks.finish(checks.begin(create), accepted(remaining=58))
    assert clauses(found) == [ClauseId.IDEMPOTENCY_REPLAY_HEADER]


def test_an_expired_idempotency_key_may_take_another_body(
    checks: ExchangeChecks, clock: Clock
) -> None:
    checks.finish(
        checks.begin(request("POST", "/v1/stories", body=BODY, Idempotency_Key="k1")),
        accepted(),
    )
    clock.now += IDEMPOTENCY_TTL
    other = request("POST", "/v1/stories", body={**BODY, "pageCount": 6}, Idempotency_Key="k1")
    answer = reply(202, {"taskId": BOOK, "bookId": TASK, "status": "pending"})
    assert clauses(checks.finish(checks.begin(other), answer)) == []


def _created_by_pro(checks: ExchangeChecks) -> None:
    checks.finish(checks.begin(request("POST", "/v1/stories", body=BODY)), accepted())


def test_a_refused_key_reading_another_key_s_book_is_no_ownership_answer(
    checks: ExchangeChecks,
) -> None:
    _created_by_pro(checks)
    read = request("GET", f"/v1/stories/{BOOK}", key=OTHER)
    refused = reply(401, code="INVALID_API_KEY", remaining=None)
    assert clauses(checks.finish(checks.begin(read), refused)) == []


def test_another_key_reading_the_book_is_an_ownership_violation(checks: ExchangeChecks) -> None:
    _created_by_pro(checks)
    read = request("GET", f"/v1/stories/{BOOK}", key=OTHER)
    story = {"id": BOOK, "status": "pending", "progress": 0, "pages": []}
    assert clauses(checks.finish(checks.begin(read), reply(200, story))) == [ClauseId.GET_OWNERSHIP]


def test_a_book_not_created_through_the_proxy_is_not_judged_for_ownership(
    checks: ExchangeChecks,
) -> None:
    read = request("GET", f"/v1/stories/{BOOK}", key=OTHER)
    story = {"id": BOOK, "status": "pending", "progress": 0, "pages": []}
    assert clauses(checks.finish(checks.begin(read), reply(200, story, remaining=59))) == []


def test_head_on_a_known_path_is_not_judged_as_a_wrong_method(checks: ExchangeChecks) -> None:
    head = request("HEAD", "/v1/stories")
    answer = HttpReply(200, {"content-type": "application/json", "X-Request-Id": "r"}, b"")
    assert ClauseId.ROUTING_405 not in clauses(checks.finish(checks.begin(head), answer))


def test_paths_outside_the_api_are_forwarded_unjudged(checks: ExchangeChecks) -> None:
    health = request("GET", "/_mock/health", key=None)
    assert checks.finish(checks.begin(health), HttpReply(404, {}, b"plain")) == []


def test_session_clock_keeps_to_a_manual_upstream_clock() -> None:
    real = [100.0]
    clock = SessionClock(monotonic=lambda: real[0])
    real[0] += 2
    clock.freeze()
    real[0] += 30  # the mock's time stands still: so does the proxy's
    assert clock() == 2
    clock.advanced(60, upstream_now=5000.0)
    clock.reported(5010.0)  # clock/set ten seconds later
    assert clock() == 72
