"""Per-minute limits, books per UTC day and monthly credits — exact under concurrency, on both
state backends, with windows and calendar boundaries moved by the manual clock.

Numbers pinned here (Pro 60/min and 50 books a day, Premium 200) are the reference page's."""

from __future__ import annotations

import httpx
import pytest

from mockserver.testing.process import MockProcess
from tests.limits_kit import (
    advance,
    code,
    dashboard_book,
    plans,
    remaining,
    set_usage,
    together,
    usage,
    user_books,
)

pytestmark = pytest.mark.mock_config(clock="manual")

#: The manual clock starts at 2026-01-05T09:00:00Z: a minute boundary.
TO_MIDNIGHT = 15 * 3600
TO_FEBRUARY = 26 * 86400 + TO_MIDNIGHT


@pytest.fixture
def pro(backend_mock) -> dict[str, str]:
    return {"x-api-key": backend_mock.keys["pro"]}


async def test_concurrent_requests_in_one_window_admit_exactly_the_plan_limit(
    backend_client, backend_mock, pro
):
    book = await dashboard_book(backend_client, backend_mock)
    replies = await together(200, lambda: backend_client.get(f"/v1/stories/{book}", headers=pro))
    admitted = [r for r in replies if r.status_code != 429]
    assert len(admitted) == 60
    assert {r.status_code for r in admitted} == {200}
    assert sorted(remaining(r) for r in admitted) == list(range(60))


async def test_every_429_of_a_burst_says_when_to_retry(backend_client, backend_mock, pro):
    book = await dashboard_book(backend_client, backend_mock)
    replies = await together(200, lambda: backend_client.get(f"/v1/stories/{book}", headers=pro))
    refused = [r for r in replies if r.status_code == 429]
    assert len(refused) == 140
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert {code(r) for r in refused} == {"RATE_LIMIT_EXCEEDED"}
    assert {remaining(r) for r in refused} == {0}


async def test_limit_header_is_the_plan_limit(backend_client, backend_mock):
    for name, limit in (("pro", "60"), ("premium", "200")):
        reply = await backend_client.post(
            "/v1/stories", json={}, headers={"x-api-key": backend_mock.keys[name]}
        )
        assert reply.headers["x-ratelimit-limit"] == limit


async def test_errors_and_both_operations_count_against_one_window(
    backend_client, pro, create_body
):
    invalid = await backend_client.post("/v1/stories", json={}, headers=pro)
    unknown = await backend_client.get(
        "/v1/stories/00000000-0000-4000-8000-000000000000", headers=pro
    )
    created = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert [r.status_code for r in (invalid, unknown, created)] == [400, 404, 202]
    assert [remaining(r) for r in (invalid, unknown, created)] == [59, 58, 57]


async def test_reset_counts_down_to_the_end_of_the_window(backend_client, backend_mock, pro):
    first = await backend_client.post("/v1/stories", json={}, headers=pro)
    await advance(backend_client, backend_mock, 45)
    later = await backend_client.post("/v1/stories", json={}, headers=pro)
    assert (first.headers["x-ratelimit-reset"], later.headers["x-ratelimit-reset"]) == ("60", "15")


@pytest.mark.mock_config(clock="manual", plans=plans(pro={"requestsPerMinute": 3}))
async def test_window_rolls_when_the_clock_reaches_its_end(backend_client, backend_mock, pro):
    await advance(backend_client, backend_mock, 50)
    for _ in range(3):
        await backend_client.post("/v1/stories", json={}, headers=pro)
    refused = await backend_client.post("/v1/stories", json={}, headers=pro)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == refused.headers["x-ratelimit-reset"] == "10"
    await advance(backend_client, backend_mock, 10)
    admitted = await backend_client.post("/v1/stories", json={}, headers=pro)
    assert (admitted.status_code, remaining(admitted)) == (400, 2)


async def test_users_have_separate_windows(backend_client, backend_mock, pro):
    book = await dashboard_book(backend_client, backend_mock)
    await together(70, lambda: backend_client.get(f"/v1/stories/{book}", headers=pro))
    other = {"x-api-key": backend_mock.keys["other"]}
    reply = await backend_client.post("/v1/stories", json={}, headers=other)
    assert (reply.status_code, remaining(reply)) == (400, 59)


# --- books per UTC day -------------------------------------------------------------------


async def test_daily_cap_accepts_the_last_book_and_refuses_the_next(
    backend_client, backend_mock, pro, create_body
):
    await set_usage(backend_client, backend_mock, booksToday=49)
    last = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    refused = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert last.status_code == 202
    assert (refused.status_code, code(refused)) == (429, "DAILY_CAP_EXCEEDED")
    assert refused.headers["retry-after"] == str(TO_MIDNIGHT)
    assert remaining(refused) == 58
    assert (await usage(backend_client, backend_mock))["booksToday"] == 50


async def test_daily_cap_lifts_at_utc_midnight(backend_client, backend_mock, pro, create_body):
    await set_usage(backend_client, backend_mock, booksToday=50)
    refused = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    await advance(backend_client, backend_mock, TO_MIDNIGHT)
    accepted = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert (refused.status_code, accepted.status_code) == (429, 202)
    assert (await usage(backend_client, backend_mock))["booksToday"] == 1


async def test_concurrent_creates_stop_exactly_at_the_daily_cap(
    backend_client, backend_mock, pro, create_body
):
    await set_usage(backend_client, backend_mock, booksToday=45)
    replies = await together(
        12, lambda: backend_client.post("/v1/stories", json=create_body, headers=pro)
    )
    assert sorted(r.status_code for r in replies) == [202] * 5 + [429] * 7
    assert {code(r) for r in replies if r.status_code == 429} == {"DAILY_CAP_EXCEEDED"}
    after = await usage(backend_client, backend_mock)
    assert (after["booksToday"], after["creditsUsed"]) == (50, 5 * create_body["pageCount"])
    assert len(await user_books(backend_client, backend_mock)) == 5


# --- monthly credits ---------------------------------------------------------------------


async def test_credits_accept_the_book_that_fits_and_refuse_the_next(
    backend_client, backend_mock, pro, create_body
):
    pages = create_body["pageCount"]
    await set_usage(backend_client, backend_mock, creditsUsed=500 - pages)
    last = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    refused = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert last.status_code == 202
    assert (refused.status_code, code(refused)) == (429, "INSUFFICIENT_CREDITS")
    assert refused.json()["error"]["meta"] == {"creditsRequired": pages, "creditsRemaining": 0}
    assert refused.headers["retry-after"] == str(TO_FEBRUARY)
    assert (await usage(backend_client, backend_mock))["creditsUsed"] == 500


async def test_concurrent_creates_charge_credits_exactly(
    backend_client, backend_mock, pro, create_body
):
    pages = create_body["pageCount"]
    await set_usage(backend_client, backend_mock, creditsUsed=500 - 3 * pages - 1)
    replies = await together(
        10, lambda: backend_client.post("/v1/stories", json=create_body, headers=pro)
    )
    assert sorted(r.status_code for r in replies) == [202] * 3 + [429] * 7
    assert {code(r) for r in replies if r.status_code == 429} == {"INSUFFICIENT_CREDITS"}
    assert (await usage(backend_client, backend_mock))["creditsUsed"] == 499
    assert len(await user_books(backend_client, backend_mock)) == 3


async def test_credits_renew_on_the_first_of_the_month(
    backend_client, backend_mock, pro, create_body
):
    await set_usage(backend_client, backend_mock, creditsUsed=500)
    await advance(backend_client, backend_mock, TO_FEBRUARY)
    accepted = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert accepted.status_code == 202
    assert (await usage(backend_client, backend_mock))["creditsUsed"] == create_body["pageCount"]


async def test_failed_book_gives_its_credits_back_once(
    backend_client, backend_mock, pro, create_body
):
    failing = {**pro, "X-Mock-Scenario": "fail-at-page=2"}
    created = await backend_client.post("/v1/stories", json=create_body, headers=failing)
    charged = (await usage(backend_client, backend_mock))["creditsUsed"]
    await advance(backend_client, backend_mock, 60)
    book = await backend_client.get(f"/v1/stories/{created.json()['data']['bookId']}", headers=pro)
    assert book.json()["data"]["status"] == "failed"
    after = [(await usage(backend_client, backend_mock))["creditsUsed"] for _ in range(2)]
    assert (charged, after) == (create_body["pageCount"], [0, 0])


async def test_failed_book_refund_makes_room_for_the_next_book(
    backend_client, backend_mock, pro, create_body
):
    pages = create_body["pageCount"]
    await set_usage(backend_client, backend_mock, creditsUsed=500 - pages)
    failing = {**pro, "X-Mock-Scenario": "fail-at-page=1"}
    assert (await backend_client.post("/v1/stories", json=create_body, headers=failing)).is_success
    refused = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    await advance(backend_client, backend_mock, 60)
    accepted = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert (refused.status_code, accepted.status_code) == (429, 202)


@pytest.mark.mock_config(clock="manual", plans=plans(pro={"monthlyCredits": 10}))
async def test_monthly_credits_come_from_the_config(backend_client, backend_mock, pro, create_body):
    first = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    second = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    assert (first.status_code, code(second)) == (202, "INSUFFICIENT_CREDITS")
    assert (await usage(backend_client, backend_mock))["monthlyCredits"] == 10


async def test_usage_is_read_and_set_through_the_control_api(backend_client, backend_mock):
    changed = await set_usage(backend_client, backend_mock, booksToday=7, creditsUsed=120)
    read = await usage(backend_client, backend_mock)
    assert changed == read
    assert (read["booksToday"], read["creditsUsed"], read["creditsRemaining"]) == (7, 120, 380)


def test_config_file_overrides_plan_limits(tmp_path, create_body):
    config = tmp_path / "mock.yaml"
    config.write_text("plans:\n  pro:\n    requestsPerMinute: 4\n    booksPerDay: 1\n")
    with MockProcess("--config", str(config), "--clock", "manual") as running:
        pro = {"x-api-key": running.keys["pro"]}
        with httpx.Client(base_url=running.url) as http:
            first = http.post("/v1/stories", json=create_body, headers=pro)
            second = http.post("/v1/stories", json=create_body, headers=pro)
    assert first.headers["x-ratelimit-limit"] == "4"
    assert (first.status_code, code(second), remaining(second)) == (202, "DAILY_CAP_EXCEEDED", 2)
