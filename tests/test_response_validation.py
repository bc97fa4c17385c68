"""The validating gateway: a reply that breaks openapi.yaml becomes a loud 500 INTERNAL_ERROR
and is recorded in ``gateway.violations``, so no test can pass on an off-contract response."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from mockserver.core.books import Book
from mockserver.core.config import MockConfig
from mockserver.core.errors import ApiError
from mockserver.core.limits import RateLimit
from mockserver.core.service import MockService
from mockserver.http import api as api_module
from mockserver.http.messages import HttpReply
from mockserver.testing.process import RunningMock, serve_in_process
from tests.mock_kit import SOME_UUID, create_book, data_of, error_of


@pytest.fixture(params=[True], ids=["validating"])
async def checked(request) -> AsyncIterator[tuple[RunningMock, httpx.AsyncClient]]:
    """A mock whose violations the test inspects itself (the shared fixture fails on any)."""
    config = MockConfig(validate_responses=request.param, clock="manual")
    async with (
        serve_in_process(config) as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        yield running, client


def _break_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Book.render

    def render(self, now, asset_base):
        return {**original(self, now, asset_base), "progress": 150}

    monkeypatch.setattr(Book, "render", render)


async def _created_book(client: httpx.AsyncClient, running: RunningMock, body: dict) -> str:
    headers = {"x-api-key": running.keys["pro"]}
    return (await create_book(client, headers, body))["bookId"]


async def test_valid_replies_pass_untouched(checked, create_body):
    running, client = checked
    book_id = await _created_book(client, running, create_body)
    story = await client.get(f"/v1/stories/{book_id}", headers={"x-api-key": running.keys["pro"]})
    assert data_of(story)["id"] == book_id
    assert running.gateway.violations == []


async def test_body_violation_becomes_500_and_is_recorded(checked, create_body, monkeypatch):
    running, client = checked
    book_id = await _created_book(client, running, create_body)
    _break_progress(monkeypatch)
    response = await client.get(
        f"/v1/stories/{book_id}", headers={"x-api-key": running.keys["pro"]}
    )
    error = error_of(response, 500, "INTERNAL_ERROR")
    assert any("progress" in v for v in error["meta"]["violations"])
    assert running.gateway.violations == error["meta"]["violations"]


async def test_missing_required_header_is_a_violation(checked, monkeypatch):
    running, client = checked
    monkeypatch.setattr(RateLimit, "headers", lambda self: {})
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={"x-api-key": running.keys["pro"]}
    )
    error_of(response, 500, "INTERNAL_ERROR")
    assert any("x-ratelimit-limit is missing" in v for v in running.gateway.violations)


async def test_undocumented_status_is_a_violation(checked, monkeypatch):
    running, client = checked

    async def conflict(*args, **kwargs):
        raise ApiError("IDEMPOTENCY_CONFLICT", "not a getStory answer")

    monkeypatch.setattr(MockService, "own_book", conflict)
    response = await client.get(
        f"/v1/stories/{SOME_UUID}", headers={"x-api-key": running.keys["pro"]}
    )
    error_of(response, 500, "INTERNAL_ERROR")
    assert running.gateway.violations == ["getStory: status 409 is not documented"]


async def test_non_json_reply_is_a_violation(checked, create_body, monkeypatch):
    running, client = checked
    monkeypatch.setattr(
        api_module,
        "json_reply",
        lambda exchange, status, data: HttpReply(status, {"content-type": "text/plain"}, b"hi"),
    )
    response = await client.post(
        "/v1/stories", json=create_body, headers={"x-api-key": running.keys["pro"]}
    )
    error_of(response, 500, "INTERNAL_ERROR")
    assert running.gateway.violations == ["createStory 202: content-type text/plain is not JSON"]


async def test_violation_is_logged_as_an_error(checked, create_body, monkeypatch, caplog):
    running, client = checked
    book_id = await _created_book(client, running, create_body)
    _break_progress(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        await client.get(f"/v1/stories/{book_id}", headers={"x-api-key": running.keys["pro"]})
    assert any("violates openapi.yaml" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("checked", [False], ids=["not validating"], indirect=True)
async def test_without_validation_a_violation_goes_out_as_is(checked, create_body, monkeypatch):
    running, client = checked
    book_id = await _created_book(client, running, create_body)
    _break_progress(monkeypatch)
    response = await client.get(
        f"/v1/stories/{book_id}", headers={"x-api-key": running.keys["pro"]}
    )
    assert data_of(response)["progress"] == 150
    assert running.gateway.violations == []


async def test_the_shared_mock_fixture_validates_every_response(mock):
    assert mock.gateway.checker is not None


@pytest.mark.parametrize("value", [" 60", "+60", "6_0"])
def test_integer_headers_must_be_plain_digits(value):
    from mockserver.http.conformance import ResponseChecker

    body = {"ok": False, "requestId": "r", "error": {"code": "NOT_FOUND", "message": "m"}}
    headers = {
        "X-Request-Id": "r",
        "x-ratelimit-limit": value,
        "x-ratelimit-remaining": "1",
        "x-ratelimit-reset": "1",
    }
    problems = ResponseChecker().violations("getStory", 404, headers, body)
    assert any("x-ratelimit-limit" in p for p in problems)


def test_an_error_code_not_allowed_for_its_status_is_a_violation():
    from mockserver.http.conformance import ResponseChecker

    body = {"ok": False, "requestId": "r", "error": {"code": "NOT_FOUND", "message": "m"}}
    headers = {"X-Request-Id": "r", "retry-after": "1"}
    problems = ResponseChecker().violations("getStory", 429, headers, body)
    assert problems == [
        "getStory 429 body error/code: 'NOT_FOUND' not in "
        "('RATE_LIMIT_EXCEEDED', 'DAILY_CAP_EXCEEDED', 'INSUFFICIENT_CREDITS')"
    ]
