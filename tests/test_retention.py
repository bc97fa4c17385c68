"""Retention (api-decisions, mock-only): the mock keeps at most ``maxBooks`` books; past it the
oldest are evicted with their idempotency records, and an evicted book is 404 NOT_FOUND like any
unknown id — on both state backends, and with two workers sharing Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver.core.idempotency import IdempotencyStore
from mockserver.testing.process import MockProcess, RunningMock
from tests.limits_kit import user_books
from tests.mock_kit import create_book, error_of

pytestmark = pytest.mark.mock_config(clock="manual", max_books=3)

REPLAYED = "Idempotent-Replayed"


async def _create(client, mock, body, key: str) -> str:
    headers = {"x-api-key": mock.keys["pro"], "Idempotency-Key": key}
    return (await create_book(client, headers, body))["bookId"]


async def test_oldest_books_are_evicted_past_max_books(backend_client, backend_mock, create_body):
    ids = [await _create(backend_client, backend_mock, create_body, f"k{n}") for n in range(5)]
    pro = {"x-api-key": backend_mock.keys["pro"]}
    for evicted in ids[:2]:
        error_of(await backend_client.get(f"/v1/stories/{evicted}", headers=pro), 404, "NOT_FOUND")
    for kept in ids[2:]:
        assert (await backend_client.get(f"/v1/stories/{kept}", headers=pro)).status_code == 200
    assert sorted(await user_books(backend_client, backend_mock)) == sorted(ids[2:])


async def test_evicted_books_take_their_idempotency_records_along(
    backend_client, backend_mock, create_body
):
    ids = [await _create(backend_client, backend_mock, create_body, f"k{n}") for n in range(4)]
    record = IdempotencyStore.record_key("user_dev_pro", "k0")
    assert await backend_mock.service.cache.get(record) is None
    retried = await backend_client.post(
        "/v1/stories",
        json=create_body,
        headers={"x-api-key": backend_mock.keys["pro"], "Idempotency-Key": "k0"},
    )
    assert retried.status_code == 202 and REPLAYED not in retried.headers
    assert retried.json()["data"]["bookId"] not in ids


async def test_kept_books_still_replay(backend_client, backend_mock, create_body):
    ids = [await _create(backend_client, backend_mock, create_body, f"k{n}") for n in range(4)]
    headers = {"x-api-key": backend_mock.keys["pro"], "Idempotency-Key": "k3"}
    again = await backend_client.post("/v1/stories", json=create_body, headers=headers)
    assert again.headers[REPLAYED] == "true"
    assert again.json()["data"]["bookId"] == ids[3]


async def test_dashboard_books_count_toward_max_books(backend_client, backend_mock, create_body):
    api = await _create(backend_client, backend_mock, create_body, "k0")
    for _ in range(3):
        added = await backend_client.post(
            "/_mock/users/user_dev_pro/books", json={}, headers=backend_mock.admin_headers
        )
        assert added.status_code == 201
    assert api not in await user_books(backend_client, backend_mock)


async def test_health_reports_books_held_and_the_cap(backend_client, backend_mock, create_body):
    for n in range(5):
        await _create(backend_client, backend_mock, create_body, f"k{n}")
    health = (await backend_client.get("/_mock/health")).json()["data"]
    assert (health["books"], health["maxBooks"]) == (3, 3)


@pytest.fixture
def workers(redis_url) -> Iterator[RunningMock]:
    args = ("--workers", "2", "--redis-url", redis_url, "--clock", "manual", "--max-books", "4")
    with MockProcess(*args, "--no-access-log") as running:
        yield running


def test_two_workers_share_one_cap(workers, create_body):
    pro = {"x-api-key": workers.keys["pro"]}
    with httpx.Client(base_url=workers.url, timeout=30) as http:
        ids = [
            http.post("/v1/stories", json=create_body, headers=pro).json()["data"]["bookId"]
            for _ in range(10)
        ]
        statuses = [http.get(f"/v1/stories/{i}", headers=pro).status_code for i in ids]
        books = http.get("/_mock/health").json()["data"]["books"]
    assert statuses == [404] * 6 + [200] * 4
    assert books == 4


def test_max_books_below_one_is_refused():
    process = MockProcess("--max-books", "0", startup_timeout=20)
    with pytest.raises(RuntimeError, match="at least 1"):
        process.start()
