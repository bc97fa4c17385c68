"""Abuse resistance: suspended keys, failed-authentication attempts per client address, and
automatic suspension after a burst of refused requests — on both state backends."""

from __future__ import annotations

import pytest

from tests.limits_kit import advance, code, plans
from tests.mock_kit import mock_control

pytestmark = pytest.mark.mock_config(clock="manual")

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
BAD_KEY = {"x-api-key": "cbk_live_this_key_was_never_issued_0000"}


async def _key_id(client, mock, user: str = "user_dev_pro") -> str:
    return (await mock_control(client, mock).user(user))["keys"][0]["keyId"]


async def _key_action(client, mock, action: str) -> None:
    await mock_control(client, mock).key_action(await _key_id(client, mock), action)


async def _fail_auth(client, count: int) -> None:
    for _ in range(count):
        await client.post("/v1/stories", json={}, headers=BAD_KEY)


async def test_suspended_key_is_forbidden_until_lifted(backend_client, backend_mock):
    pro = {"x-api-key": backend_mock.keys["pro"]}
    await _key_action(backend_client, backend_mock, "suspend")
    suspended = await backend_client.post("/v1/stories", json={}, headers=pro)
    await _key_action(backend_client, backend_mock, "unsuspend")
    lifted = await backend_client.post("/v1/stories", json={}, headers=pro)
    assert (suspended.status_code, code(suspended)) == (403, "FORBIDDEN")
    assert not any(h in suspended.headers for h in RATE_HEADERS)
    assert lifted.status_code == 400


@pytest.mark.mock_config(clock="manual", auth_failures_per_minute=5)
async def test_failed_attempts_past_the_limit_get_429(backend_client):
    replies = [await backend_client.post("/v1/stories", json={}, headers=BAD_KEY) for _ in range(7)]
    assert [r.status_code for r in replies] == [401] * 5 + [429] * 2
    blocked = replies[-1]
    assert code(blocked) == "RATE_LIMIT_EXCEEDED"
    assert blocked.json()["error"]["meta"]["scope"] == "address"
    assert int(blocked.headers["retry-after"]) >= 1
    assert not any(h in blocked.headers for h in RATE_HEADERS)


@pytest.mark.mock_config(clock="manual", auth_failures_per_minute=5)
async def test_blocked_address_cannot_use_a_valid_key_either(backend_client, backend_mock):
    """Otherwise a guesser would tell a valid key by the missing 429."""
    await _fail_auth(backend_client, 6)
    valid = await backend_client.get(
        "/v1/stories/00000000-0000-4000-8000-000000000000",
        headers={"x-api-key": backend_mock.keys["pro"]},
    )
    assert valid.status_code == 429


@pytest.mark.mock_config(clock="manual", auth_failures_per_minute=5)
async def test_blocked_address_cannot_tell_a_free_or_suspended_key_either(
    backend_client, backend_mock
):
    await _key_action(backend_client, backend_mock, "suspend")
    await _fail_auth(backend_client, 6)
    for name in ("free", "pro"):  # pro is suspended
        reply = await backend_client.post(
            "/v1/stories", json={}, headers={"x-api-key": backend_mock.keys[name]}
        )
        assert (reply.status_code, code(reply)) == (429, "RATE_LIMIT_EXCEEDED")


@pytest.mark.mock_config(clock="manual", auth_failures_per_minute=5)
async def test_address_block_lifts_with_the_next_window(backend_client, backend_mock):
    await _fail_auth(backend_client, 6)
    await advance(backend_client, backend_mock, 60)
    retried = await backend_client.post("/v1/stories", json={}, headers=BAD_KEY)
    assert retried.status_code == 401


@pytest.mark.mock_config(clock="manual", auth_failures_per_minute=5)
async def test_missing_key_counts_as_a_failed_attempt(backend_client):
    replies = [await backend_client.post("/v1/stories", json={}) for _ in range(6)]
    assert [r.status_code for r in replies] == [401] * 5 + [429]


@pytest.mark.mock_config(
    clock="manual", plans=plans(pro={"requestsPerMinute": 3}), suspend_after_rejected=2
)
async def test_burst_of_refused_requests_suspends_the_key(backend_client, backend_mock):
    pro = {"x-api-key": backend_mock.keys["pro"]}
    replies = [await backend_client.post("/v1/stories", json={}, headers=pro) for _ in range(7)]
    assert [r.status_code for r in replies] == [400] * 3 + [429] * 3 + [403]
    await advance(backend_client, backend_mock, 60)
    still = await backend_client.post("/v1/stories", json={}, headers=pro)
    await _key_action(backend_client, backend_mock, "unsuspend")
    lifted = await backend_client.post("/v1/stories", json={}, headers=pro)
    assert (code(still), lifted.status_code) == ("FORBIDDEN", 400)


@pytest.mark.mock_config(clock="manual", plans=plans(pro={"requestsPerMinute": 3}))
async def test_refused_requests_do_not_suspend_unless_configured(backend_client, backend_mock):
    pro = {"x-api-key": backend_mock.keys["pro"]}
    replies = [await backend_client.post("/v1/stories", json={}, headers=pro) for _ in range(20)]
    assert {r.status_code for r in replies[3:]} == {429}
