"""The in-process router and the live server are one mock: every check below runs through
``cbk_respx`` and through ``cbk_server`` and must observe the same statuses, error codes,
headers that matter and bodies (ids, request ids and the base URL aside).

Both mocks run the manual clock from the same instant after a reset, so timestamps,
``x-ratelimit-reset`` and progress are compared exactly, not only their shapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mockserver.http.messages import HttpReply
from mockserver.testing.respx_router import ChildrenBooksRouter
from mockserver.testing.sdk_kit import LiveMock, MockControl, MockControlError
from tests.conftest import CREATE_BODY

pytestmark = pytest.mark.cbk_clock("manual")

HEADERS = (
    "content-type",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "allow",
    "idempotent-replayed",
    "cache-control",
    "x-request-id",
)
#: Values derived from random ids: compared by type only.
VOLATILE = {"content", "slug", "apiKey", "userId", "keyId"}
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Target:
    """One way to reach the mock: an httpx client for the API and the control operations."""

    http: httpx.Client
    mock: MockControl

    def normalize(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.normalize(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalize(v) for v in value]
        if isinstance(value, str):
            if key in VOLATILE:
                return "<str>"
            return UUID.sub("<uuid>", value.replace(self.mock.url, "<base>"))
        return value

    def call(
        self, method: str, path: str, *, key: str | None = "pro", **kwargs: Any
    ) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers.setdefault("x-api-key", self.mock.keys[key])
        return self.observe(self.http.request(method, path, headers=headers, **kwargs))

    def observe(self, answer: httpx.Response) -> dict[str, Any]:
        if answer.headers.get("content-type", "").startswith("application/json"):
            body = self.normalize(answer.json())
        else:
            body = f"<{answer.headers.get('content-type')}: {answer.content[:4]!r}>"
        return {
            "status": answer.status_code,
            "headers": {h: self.normalize(answer.headers.get(h)) for h in HEADERS},
            "body": body,
        }

    def create(self, **kwargs: Any) -> tuple[dict[str, Any], str | None]:
        """The observation and the raw bookId (None unless accepted)."""
        answer = self.http.post(
            "/v1/stories",
            json=kwargs.pop("json", CREATE_BODY),
            headers={"x-api-key": self.mock.keys["pro"], **kwargs.pop("headers", {})},
        )
        book_id = answer.json()["data"]["bookId"] if answer.status_code == 202 else None
        return self.observe(answer), book_id

    def control(self, operation: Callable[[MockControl], Any]) -> Any:
        try:
            return self.normalize(operation(self.mock))
        except MockControlError as error:
            return {"refused": (error.status, error.code, sorted(error.fields))}


# --- the checks: each returns what it observed, and asserts the headline itself --------------
def create_is_accepted_with_rate_limit_headers(t: Target) -> Any:
    observed, _ = t.create()
    assert observed["status"] == 202
    return observed


def book_moves_from_pending_to_completed_as_the_clock_advances(t: Target) -> Any:
    _, book_id = t.create()
    seen = [t.call("GET", f"/v1/stories/{book_id}")]
    for seconds in (0.3, 0.5, 60):
        seen.append(t.control(lambda m, s=seconds: m.advance_clock(s)))
        seen.append(t.call("GET", f"/v1/stories/{book_id}"))
    assert seen[-1]["body"]["data"]["status"] == "completed"
    return seen


def asset_of_a_completed_book_is_a_png(t: Target) -> Any:
    _, book_id = t.create()
    t.mock.advance_clock(60)
    story = t.http.get(f"/v1/stories/{book_id}", headers={"x-api-key": t.mock.keys["pro"]})
    image = story.json()["data"]["pages"][0]["imageUrl"]
    observed = t.call("GET", image, key=None)
    assert observed["status"] == 200
    return [observed, t.call("GET", f"/assets/{book_id}/99.png", key=None)]


def missing_key_is_unauthorized(t: Target) -> Any:
    return [t.call("POST", "/v1/stories", key=None, json=CREATE_BODY)]


def unusable_keys_are_refused(t: Target) -> Any:
    seen = [
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key="revoked"),
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key="free"),
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key=None, headers={"x-api-key": "nope"}),
    ]
    assert [s["status"] for s in seen] == [401, 403, 401]
    return seen


def bearer_key_is_accepted_and_x_api_key_wins(t: Target) -> Any:
    bearer = {"Authorization": f"Bearer {t.mock.keys['pro']}"}
    return [
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key=None, headers=bearer),
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key="revoked", headers=bearer),
    ]


def suspended_and_rotated_keys_are_refused(t: Target) -> Any:
    user = t.mock.create_user("pro")
    seen = [t.control(lambda m: m.key_action(user["keyId"], "suspend"))]
    seen.append(t.call("GET", f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": user["apiKey"]}))
    t.mock.key_action(user["keyId"], "unsuspend")
    rotated = t.mock.key_action(user["keyId"], "rotate")
    seen.append(t.call("GET", f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": user["apiKey"]}))
    seen.append(
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": rotated["apiKey"]})
    )
    assert [s["status"] for s in seen[1:]] == [403, 401, 404]
    return seen


def invalid_body_names_every_offending_field(t: Target) -> Any:
    body = {**CREATE_BODY, "style": "3D", "pageCount": 99, "extra": True}
    del body["tone"]
    observed = t.call("POST", "/v1/stories", json=body)
    assert sorted(observed["body"]["error"]["fields"]) == ["extra", "pageCount", "style", "tone"]
    return observed


def unreadable_bodies_are_bad_requests(t: Target) -> Any:
    return [
        t.call("POST", "/v1/stories", content=b"{}", headers={"content-type": "text/plain"}),
        t.call(
            "POST", "/v1/stories", content=b"{nope", headers={"content-type": "application/json"}
        ),
        t.call(
            "POST",
            "/v1/stories",
            content=b" " * 70_000,
            headers={"content-type": "application/json"},
        ),
        t.call("POST", "/v1/stories", json=[1, 2]),
    ]


def unknown_paths_and_methods_are_enveloped(t: Target) -> Any:
    seen = [
        t.call("GET", "/v2/stories"),
        t.call("DELETE", "/v1/stories"),
        t.call("PUT", f"/v1/stories/{UNKNOWN_ID}"),
        t.call("GET", "/v1/stories/%7Bid%7D"),
        t.call("GET", "/_mock/nothing-here", key=None),
    ]
    assert [s["status"] for s in seen] == [404, 405, 405, 400, 404]
    return seen


def head_on_a_post_only_path_is_not_allowed(t: Target) -> Any:
    answer = t.http.head("/v1/stories")
    return [answer.status_code, answer.headers.get("allow"), answer.content]


def idempotent_retry_replays_and_another_body_conflicts(t: Target) -> Any:
    key = {"Idempotency-Key": "retry-1"}
    first, first_id = t.create(headers=key)
    replay, replay_id = t.create(headers=key)
    conflict, _ = t.create(headers=key, json={**CREATE_BODY, "pageCount": 5})
    assert first_id == replay_id
    assert replay["headers"]["idempotent-replayed"] == "true"
    return [first, replay, conflict, t.control(lambda m: m.usage())]


def over_long_idempotency_key_is_a_validation_error(t: Target) -> Any:
    observed, _ = t.create(headers={"Idempotency-Key": "k" * 129})
    return observed


def per_minute_limit_answers_429_until_the_window_rolls(t: Target) -> Any:
    limit = int(
        t.http.get("/v1/stories/x", headers={"x-api-key": t.mock.keys["pro"]}).headers[
            "x-ratelimit-limit"
        ]
    )
    statuses = [
        t.http.get("/v1/stories/x", headers={"x-api-key": t.mock.keys["pro"]}).status_code
        for _ in range(limit - 1)
    ]
    refused = t.call("GET", "/v1/stories/x")
    assert refused["body"]["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    t.mock.advance_clock(int(refused["headers"]["retry-after"]))
    return [statuses, refused, t.call("GET", "/v1/stories/x")]


def daily_cap_and_monthly_credits_answer_429(t: Target) -> Any:
    per_day = t.mock.usage()["booksPerDay"]
    seen = [t.control(lambda m: m.set_usage(books_today=per_day))]
    seen.append(t.create()[0])
    t.mock.set_usage(books_today=0, credits_used=t.mock.usage()["monthlyCredits"] - 3)
    seen.append(t.create()[0])
    assert [seen[1]["status"], seen[2]["status"]] == [429, 429]
    return seen


def forced_errors_by_header_and_by_queue(t: Target) -> Any:
    seen = [
        t.call("GET", "/v1/stories/x", headers={"X-Mock-Scenario": "error=503"}),
        t.call("GET", "/v1/stories/x", headers={"X-Mock-Scenario": "bogus=1"}),
        t.control(lambda m: m.queue_errors(502, count=2)),
        t.control(lambda m: m.scenarios()),
    ]
    seen += [t.call("GET", "/v1/stories/x") for _ in range(3)]
    assert [s["status"] for s in seen[-3:]] == [502, 502, 400]
    return seen


def forced_job_failure_and_stall(t: Target) -> Any:
    t.mock.fail_next_job(at_page=3, error_message="The printer caught fire.")
    _, failing = t.create()
    _, stalling = t.create(headers={"X-Mock-Scenario": "stall-at-page=2"})
    t.mock.advance_clock(600)
    seen = [t.call("GET", f"/v1/stories/{failing}"), t.call("GET", f"/v1/stories/{stalling}")]
    assert [s["body"]["data"]["status"] for s in seen] == ["failed", "processing"]
    return [*seen, t.control(lambda m: m.usage())]


def other_users_book_is_the_same_404_as_an_unknown_one(t: Target) -> Any:
    _, book_id = t.create()
    return [
        t.call("GET", f"/v1/stories/{book_id}", key="other"),
        t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key="other"),
        t.call("GET", f"/v1/stories/{book_id.upper()}"),
    ]


def request_id_is_echoed_when_valid(t: Target) -> Any:
    return [
        t.call("GET", "/v1/stories/x", headers={"X-Request-Id": "sdk-trace-42"}),
        t.call("GET", "/v1/stories/x", headers={"X-Request-Id": "has space"}),
        t.call("GET", "/v1/stories/x", headers={"X-Request-Id": "café".encode()}),
    ]


def header_bytes_that_are_not_utf8_are_read_alike(t: Target) -> Any:
    seen = [
        t.call("GET", "/v1/stories/x", key=None, headers={"x-api-key": b"cbk_live_\xff" * 4}),
        t.call("GET", "/v1/stories/x", headers={"X-Request-Id": b"id-\xe9"}),
    ]
    assert seen[0]["body"]["error"]["code"] == "INVALID_API_KEY"
    return seen


def control_operations_answer_alike(t: Target) -> Any:
    user = t.mock.create_user("premium", name="Ada", monthly_credits=10)
    return [
        t.control(lambda m: m.health()),
        t.control(lambda m: m.clock()),
        t.control(lambda m: m.set_clock("2026-01-05T10:00:00Z")),
        t.control(lambda m: m.usage(user["userId"])),
        t.control(lambda m: m.update_user(user["userId"], plan="pro")),
        t.control(lambda m: m.issue_key(user["userId"])),
        t.control(lambda m: m.user("pro")),
        t.control(lambda m: m.usage("nobody")),
        t.control(lambda m: m.force_scenario({"failAtPage": 2, "stallAtPage": 3})),
        t.control(lambda m: m.clear_scenarios()),
    ]


def the_request_journal_records_alike(t: Target) -> Any:
    t.create(headers={"Idempotency-Key": "parity-1"})
    t.create(headers={"Idempotency-Key": "parity-1"})
    t.call("GET", f"/v1/stories/{UNKNOWN_ID}", key="revoked")
    t.call("GET", "/v2/nothing?page=2")
    records = [dict(record.raw) for record in t.mock.requests()]
    for record in records:
        del record["durationMs"]  # wall-clock time
        sent = record["request"]["headers"]
        record["request"]["headers"] = [h for h in sent if h[0].lower() != "host"]
    assert [r["status"] for r in records] == [404, 401, 202, 202]
    assert [r["seq"] for r in records] == [4, 3, 2, 1]
    return t.normalize(records)


CHECKS = [
    create_is_accepted_with_rate_limit_headers,
    book_moves_from_pending_to_completed_as_the_clock_advances,
    asset_of_a_completed_book_is_a_png,
    missing_key_is_unauthorized,
    unusable_keys_are_refused,
    bearer_key_is_accepted_and_x_api_key_wins,
    suspended_and_rotated_keys_are_refused,
    invalid_body_names_every_offending_field,
    unreadable_bodies_are_bad_requests,
    unknown_paths_and_methods_are_enveloped,
    head_on_a_post_only_path_is_not_allowed,
    idempotent_retry_replays_and_another_body_conflicts,
    over_long_idempotency_key_is_a_validation_error,
    per_minute_limit_answers_429_until_the_window_rolls,
    daily_cap_and_monthly_credits_answer_429,
    forced_errors_by_header_and_by_queue,
    forced_job_failure_and_stall,
    other_users_book_is_the_same_404_as_an_unknown_one,
    request_id_is_echoed_when_valid,
    header_bytes_that_are_not_utf8_are_read_alike,
    control_operations_answer_alike,
    the_request_journal_records_alike,
]


def targets_for(router, server: LiveMock) -> list[Target]:
    """Clients for both mocks; the router lets requests to the live server through."""
    live = httpx.URL(server.url)
    router.route(host=live.host, port=live.port).pass_through()
    return [
        Target(httpx.Client(base_url=router.url, timeout=30), router),
        Target(httpx.Client(base_url=server.url, timeout=30, trust_env=False), server),
    ]


@pytest.fixture
def targets(cbk_respx, cbk_server) -> Iterator[list[Target]]:
    both = targets_for(cbk_respx, cbk_server)
    yield both
    for target in both:
        target.http.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
def test_router_and_live_server_observe_the_same(check, targets):
    in_process, live = (check(target) for target in targets)
    assert in_process == live


class RouterThatDropsAllow(ChildrenBooksRouter):
    """A plausible adapter bug: a header of the gateway's reply lost on the way to httpx."""

    @staticmethod
    def _outgoing(request: httpx.Request, reply: HttpReply) -> httpx.Response:
        reply.headers.pop("Allow", None)
        return ChildrenBooksRouter._outgoing(request, reply)


def test_parity_check_catches_an_adapter_that_drifts(cbk_server):
    drifting = RouterThatDropsAllow()
    try:
        with drifting:
            in_process, live = targets_for(drifting, cbk_server)
            with in_process.http, live.http:
                observed = unknown_paths_and_methods_are_enveloped(in_process)
                assert observed != unknown_paths_and_methods_are_enveloped(live)
    finally:
        drifting.close()


def test_live_mock_defaults_to_the_dev_keys_and_admin_token(cbk_server):
    cbk_server.set_usage("pro", credits_used=11)
    by_url_only = LiveMock(cbk_server.url)
    assert by_url_only.keys == cbk_server.keys
    assert by_url_only.usage("pro")["creditsUsed"] == 11
