"""Forced scenarios, queued through ``/_mock/scenarios`` or per request with X-Mock-Scenario:
5xx answers for the next N requests, jobs that fail at a page (with a message) or stall."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.mock_kit import (
    SOME_UUID,
    advance,
    control,
    create_book,
    data_of,
    error_of,
    read_book,
)

PAGE_SECONDS = 10
pytestmark = pytest.mark.mock_config(clock="manual", page_seconds=PAGE_SECONDS)
FORCED = [(500, "INTERNAL_ERROR"), (502, "EXTERNAL_SERVICE_ERROR"), (503, "EXTERNAL_SERVICE_ERROR")]


async def _queue(client, mock, **scenario) -> dict:
    return await control(client, mock, "POST", "scenarios", scenario)


async def _status_at(client, mock, headers, book_id: str, seconds: float) -> dict:
    """The book when the clock reads ``seconds`` after its creation."""
    created = datetime.fromisoformat((await read_book(client, headers, book_id))["createdAt"])
    when = (created + timedelta(seconds=seconds)).isoformat()
    await control(client, mock, "POST", "clock/set", {"now": when})
    return await read_book(client, headers, book_id)


# --- queued errors -----------------------------------------------------------------------
@pytest.mark.parametrize(("status", "code"), FORCED)
async def test_queued_error_answers_the_next_request(client, mock, pro_headers, status, code):
    await _queue(client, mock, error=status)
    response = await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers)
    assert error_of(response, status, code)["meta"] == {"forced": True}


async def test_queued_errors_answer_exactly_count_requests(client, mock, pro_headers, create_body):
    await _queue(client, mock, error=503, count=2)
    statuses = [
        (await client.post("/v1/stories", json=create_body, headers=pro_headers)).status_code
        for _ in range(3)
    ]
    assert statuses == [503, 503, 202]


async def test_queued_errors_are_listed_until_consumed(client, mock, pro_headers):
    await _queue(client, mock, error=500, count=2)
    assert (await control(client, mock, "GET", "scenarios"))["errors"] == [500, 500]
    await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers)
    assert (await control(client, mock, "GET", "scenarios"))["errors"] == [500]


async def test_control_and_asset_requests_do_not_consume_queued_errors(client, mock, pro_headers):
    await _queue(client, mock, error=500)
    await control(client, mock, "GET", "clock")
    await client.get(f"/assets/{SOME_UUID}/cover.png")
    response = await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers)
    error_of(response, 500, "INTERNAL_ERROR")


async def test_clearing_scenarios_drops_queued_errors_and_jobs(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, error=500, count=5)
    await _queue(client, mock, failAtPage=2)
    await control(client, mock, "DELETE", "scenarios")
    assert await control(client, mock, "GET", "scenarios") == {"errors": [], "jobs": {}}
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    assert (await read_book(client, pro_headers, book["bookId"]))["status"] == "completed"


# --- queued jobs -------------------------------------------------------------------------
async def test_queued_failure_fails_the_next_job_at_that_page(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, failAtPage=3, errorMessage="The printer caught fire.")
    book = await create_book(client, pro_headers, create_body)
    before = await _status_at(client, mock, pro_headers, book["bookId"], PAGE_SECONDS * 4 - 0.5)
    after = await _status_at(client, mock, pro_headers, book["bookId"], PAGE_SECONDS * 4)
    assert before["status"] == "processing"
    assert (after["status"], after["errorMessage"]) == ("failed", "The printer caught fire.")
    assert after["coverImage"] and len(after["pages"]) == 1  # the cover is page 1


async def test_queued_failure_without_message_names_the_page(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, failAtPage=4)
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    assert "4" in (await read_book(client, pro_headers, book["bookId"]))["errorMessage"]


async def test_failed_book_gives_its_credits_back(client, mock, pro_headers, create_body):
    await _queue(client, mock, failAtPage=2)
    await create_book(client, pro_headers, create_body)
    charged = await control(client, mock, "GET", "users/user_dev_pro/usage")
    await advance(client, mock, 3600)
    refunded = await control(client, mock, "GET", "users/user_dev_pro/usage")
    assert (charged["creditsUsed"], refunded["creditsUsed"]) == (create_body["pageCount"], 0)


async def test_queued_stall_keeps_the_next_job_processing_at_that_page(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, stallAtPage=3)
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 86400)
    story = await read_book(client, pro_headers, book["bookId"])
    assert (story["status"], len(story["pages"])) == ("processing", 1)


async def test_queued_job_scenario_applies_to_count_creates_only(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, failAtPage=2, count=2)
    books = [await create_book(client, pro_headers, create_body) for _ in range(3)]
    await advance(client, mock, 3600)
    statuses = [(await read_book(client, pro_headers, b["bookId"]))["status"] for b in books]
    assert statuses == ["failed", "failed", "completed"]


async def test_queued_job_for_one_user_leaves_the_others_alone(
    client, mock, pro_headers, create_body
):
    await _queue(client, mock, failAtPage=2, userId="user_dev_other")
    other_headers = {"x-api-key": mock.keys["other"]}
    mine = await create_book(client, pro_headers, create_body)
    theirs = await create_book(client, other_headers, create_body)
    await advance(client, mock, 3600)
    assert (await read_book(client, pro_headers, mine["bookId"]))["status"] == "completed"
    assert (await read_book(client, other_headers, theirs["bookId"]))["status"] == "failed"


async def test_queued_jobs_are_listed_by_user(client, mock):
    await _queue(client, mock, failAtPage=2, userId="user_dev_other")
    await _queue(client, mock, stallAtPage=4)
    jobs = (await control(client, mock, "GET", "scenarios"))["jobs"]
    assert jobs == {
        "*": [{"failAtPage": None, "stallAtPage": 4, "errorMessage": None}],
        "user_dev_other": [{"failAtPage": 2, "stallAtPage": None, "errorMessage": None}],
    }


async def test_queued_job_for_an_unknown_user_is_404(client, mock):
    response = await client.post(
        "/_mock/scenarios",
        json={"failAtPage": 2, "userId": "user_nobody"},
        headers=mock.admin_headers,
    )
    error_of(response, 404, "NOT_FOUND")


# --- X-Mock-Scenario ---------------------------------------------------------------------
@pytest.mark.parametrize(("status", "code"), FORCED)
async def test_header_error_forces_that_status(client, pro_headers, create_body, status, code):
    response = await client.post(
        "/v1/stories",
        json=create_body,
        headers={**pro_headers, "X-Mock-Scenario": f"error={status}"},
    )
    error_of(response, status, code)


async def test_header_error_affects_only_its_own_request(client, pro_headers, create_body):
    forced = {**pro_headers, "X-Mock-Scenario": "error=502"}
    await client.post("/v1/stories", json=create_body, headers=forced)
    data_of(await client.post("/v1/stories", json=create_body, headers=pro_headers), 202)


async def test_header_fail_at_page_fails_that_job(client, mock, pro_headers, create_body):
    headers = {**pro_headers, "X-Mock-Scenario": "fail-at-page=2"}
    book = await create_book(client, headers, create_body)
    story = await _status_at(client, mock, pro_headers, book["bookId"], PAGE_SECONDS * 3)
    assert (story["status"], story["pages"]) == ("failed", [])
    assert story["coverImage"]


async def test_header_stall_at_page_stalls_that_job(client, mock, pro_headers, create_body):
    headers = {**pro_headers, "X-Mock-Scenario": "stall-at-page=1"}
    book = await create_book(client, headers, create_body)
    await advance(client, mock, 86400)
    story = await read_book(client, pro_headers, book["bookId"])
    assert (story["status"], story["progress"], story["coverImage"]) == ("processing", 0, None)


async def test_header_scenarios_combine(client, mock, pro_headers, create_body):
    headers = {**pro_headers, "X-Mock-Scenario": "delay-ms=1, fail-at-page=3"}
    book = await create_book(client, headers, create_body)
    await advance(client, mock, 3600)
    assert (await read_book(client, pro_headers, book["bookId"]))["status"] == "failed"


async def test_header_delay_still_answers_normally(client, pro_headers):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={**pro_headers, "X-Mock-Scenario": "delay-ms=5"}
    )
    error_of(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("error=404", "error"),
        ("error=abc", "error"),
        ("fail-at-page=0", "fail-at-page"),
        ("fail-at-page=-1", "fail-at-page"),
        ("fail-at-page=1001", "fail-at-page"),
        ("stall-at-page=x", "stall-at-page"),
        ("delay-ms=", "delay-ms"),
        ("delay-ms=30001", "delay-ms"),
        ("error", "error"),
        ("fail-at-page=1.5", "fail-at-page"),
    ],
)
async def test_number_out_of_its_range_is_a_validation_error_naming_it(
    client, pro_headers, value, field
):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={**pro_headers, "X-Mock-Scenario": value}
    )
    assert list(error_of(response, 400, "VALIDATION_ERROR")["fields"]) == [field]
    assert response.headers["x-ratelimit-remaining"].isdigit()


async def test_every_offending_number_is_named(client, pro_headers):
    value = "delay-ms=0, fail-at-page=2, stall-at-page=99999"
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={**pro_headers, "X-Mock-Scenario": value}
    )
    assert set(error_of(response, 400, "VALIDATION_ERROR")["fields"]) == {
        "delay-ms",
        "stall-at-page",
    }


@pytest.mark.parametrize("value", ["explode", "delay=5", "fail-at-page=2, boom=1"])
async def test_unknown_scenario_is_bad_request_with_rate_limit_headers(client, pro_headers, value):
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={**pro_headers, "X-Mock-Scenario": value}
    )
    error_of(response, 400, "BAD_REQUEST")
    assert response.headers["x-ratelimit-remaining"].isdigit()


async def test_malformed_header_is_reported_after_the_key(client):
    response = await client.get(f"/v1/stories/{SOME_UUID}", headers={"X-Mock-Scenario": "explode"})
    error_of(response, 401, "UNAUTHORIZED")


@pytest.mark.mock_config(clock="manual", scenario_header=False)
async def test_header_is_ignored_when_scenarios_are_disabled(client, pro_headers, create_body):
    headers = {**pro_headers, "X-Mock-Scenario": "error=500"}
    data_of(await client.post("/v1/stories", json=create_body, headers=headers), 202)


@pytest.mark.parametrize("value", ["delay-ms=²", "error=５00", "fail-at-page=３"])
async def test_scenario_numbers_in_other_digits_are_validation_errors(client, pro_headers, value):
    response = await client.get(
        "/v1/stories/4cf184ed-0a29-4860-a257-0f8998357121",
        headers={**pro_headers, "X-Mock-Scenario": value.encode()},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
