"""The proxy's checks on scripted exchanges (framework-free, no sockets): what they must not
flag — concurrent duplicates, an expired Idempotency-Key, a refused key, a book's own key — the
session clock that keeps to a cbk-mock's manual clock, and what ``--profile page`` makes of a
broken decision clause."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from contracts import verdict
from contracts.clauses import CLAUSES
from mockserver.clause_ids import PAGE_PROFILE, PROFILES, SOURCES, ClauseId
from mockserver.core.accounts import dev_keys
from mockserver.core.keys import KEY_PREFIX
from mockserver.http.messages import HttpReply, HttpRequest
from mockserver.proxy.checks import IDEMPOTENCY_TTL, ExchangeChecks
from mockserver.proxy.inspector import WARNING_PROPERTY, Inspector, SessionClock
from mockserver.proxy.recording import capture
from tests.mock_kit import encoded_keys, fully_decoded

_PRO_KEY = dev_keys()["pro"]

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


def test_the_proxy_names_a_junit_warning_as_the_contract_suite_does() -> None:
    assert WARNING_PROPERTY == verdict.WARNING_PROPERTY


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


def _invalid_id() -> HttpReply:
    answer = reply(400, code="VALIDATION_ERROR")
    body = json.loads(answer.body)
    body["error"]["fields"] = {"id": "Expected a UUID"}
    answer.body = json.dumps(body).encode()
    return answer


@pytest.mark.parametrize("status", [200, 404])
def test_an_id_that_is_no_uuid_must_not_be_looked_up(checks: ExchangeChecks, status: int) -> None:
    read = request("GET", "/v1/stories/not-a-uuid")
    answer = reply(404, code="NOT_FOUND") if status == 404 else reply(200, {"id": "not-a-uuid"})
    assert ClauseId.GET_UUID in clauses(checks.finish(checks.begin(read), answer))


def test_an_id_that_is_no_uuid_is_refused_naming_fields_id(checks: ExchangeChecks) -> None:
    read = request("GET", "/v1/stories/not-a-uuid")
    assert clauses(checks.finish(checks.begin(read), _invalid_id())) == []


def test_a_refusal_of_an_id_that_is_no_uuid_must_name_fields_id(checks: ExchangeChecks) -> None:
    read = request("GET", "/v1/stories/not-a-uuid")
    answer = reply(400, code="VALIDATION_ERROR")
    assert clauses(checks.finish(checks.begin(read), answer)) == [ClauseId.GET_UUID]


def test_a_key_refused_before_the_id_is_read_says_nothing_about_it(
    checks: ExchangeChecks,
) -> None:
    read = request("GET", "/v1/stories/not-a-uuid", key=OTHER)
    refused = reply(401, code="INVALID_API_KEY", remaining=None)
    assert clauses(checks.finish(checks.begin(read), refused)) == []


@pytest.mark.parametrize("segment", ["", "..", "a%2Fb", "%20abc", "a%25b"])
def test_an_id_url_normalization_may_have_changed_is_not_judged(
    checks: ExchangeChecks, segment: str
) -> None:
    read = request("GET", f"/v1/stories/{segment}")
    assert clauses(checks.finish(checks.begin(read), reply(404, code="NOT_FOUND"))) == []


def test_a_uuid_in_upper_case_is_no_invalid_id(checks: ExchangeChecks) -> None:
    read = request("GET", f"/v1/stories/{BOOK.upper()}")
    assert clauses(checks.finish(checks.begin(read), _invalid_id())) == [ClauseId.GET_UUID]


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


# --- profiles --------------------------------------------------------------------------------
UNKNOWN_PATH = request("GET", "/v1/unknown")
#: Breaks routing.404 (a decision clause) alone.
ANSWERED_200 = reply(200, {})
#: Breaks envelope.json (a page clause) too.
ANSWERED_TEXT = HttpReply(404, {"content-type": "text/plain", "X-Request-Id": "r-1"}, b"no")


def judged(inspector: Inspector, answer: HttpReply) -> HttpReply:
    return inspector.finish(inspector.begin(UNKNOWN_PATH), answer)


def test_a_broken_decision_clause_fails_under_the_default_profile() -> None:
    inspector = Inspector("http://upstream")
    judged(inspector, ANSWERED_200)
    assert (inspector.counts, inspector.warnings) == ({ClauseId.ROUTING_404: 1}, {})


def test_a_broken_decision_clause_only_warns_under_the_page_profile() -> None:
    inspector = Inspector("http://upstream", profile=PAGE_PROFILE)
    judged(inspector, ANSWERED_200)
    assert (inspector.counts, inspector.warnings) == ({}, {ClauseId.ROUTING_404: 1})
    assert [(v["clause"], v["warning"]) for v in inspector.report()["violations"]] == [
        (ClauseId.ROUTING_404, True)
    ]


def test_a_broken_page_clause_fails_under_the_page_profile() -> None:
    inspector = Inspector("http://upstream", profile=PAGE_PROFILE)
    judged(inspector, ANSWERED_TEXT)
    assert inspector.counts == {ClauseId.ENVELOPE_JSON: 1}


def test_strict_forwards_an_answer_that_only_warns_under_the_page_profile() -> None:
    inspector = Inspector("http://upstream", strict=True, profile=PAGE_PROFILE)
    assert judged(inspector, ANSWERED_200) is ANSWERED_200


def test_strict_lists_only_the_failing_clauses_under_the_page_profile() -> None:
    inspector = Inspector("http://upstream", strict=True, profile=PAGE_PROFILE)
    answer = judged(inspector, ANSWERED_TEXT)
    listed = json.loads(answer.body)["error"]["meta"]["violations"]
    assert (answer.status, [v["clause"] for v in listed]) == (502, [ClauseId.ENVELOPE_JSON])


def test_junit_passes_a_warned_clause_with_its_warning_property() -> None:
    inspector = Inspector("http://upstream", profile=PAGE_PROFILE)
    judged(inspector, ANSWERED_200)
    suite = ElementTree.fromstring(inspector.junit())
    case = suite.find(f"testcase[@name='{ClauseId.ROUTING_404}']")
    assert case is not None and case.find("failure") is None
    assert case.find(f"properties/property[@name='{WARNING_PROPERTY}']") is not None
    assert suite.get("failures") == "0"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="profile"):
        Inspector("http://upstream", profile="strictest")


@pytest.mark.parametrize(
    "written", list(encoded_keys(_PRO_KEY).values()), ids=list(encoded_keys(_PRO_KEY))
)
def test_a_recording_keeps_no_key_however_it_was_written(written: str) -> None:
    request = HttpRequest(
        "POST", f"/v1/stories/{written}", body=json.dumps({"idea": written}).encode()
    )
    reply = HttpReply(
        400, {"content-type": "application/json"}, json.dumps({"echo": written}).encode()
    )
    captured = capture(0.0, request, reply)
    kept = fully_decoded(f"{captured.path} {captured.request_body!r} {captured.response_body!r}")
    assert _PRO_KEY[len(KEY_PREFIX) : -4] not in kept
