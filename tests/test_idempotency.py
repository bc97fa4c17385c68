"""Idempotency-Key as decided: per user, 24 h on the mock's clock, replay or 409, and exactly one
book for concurrent duplicates — on both state backends."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.core.errors import ApiError
from mockserver.core.idempotency import IdempotencyStore
from mockserver.core.keys import dev_key
from tests.limits_kit import advance, code, remaining, set_usage, together, usage, user_books

pytestmark = pytest.mark.mock_config(clock="manual")

REPLAYED = "Idempotent-Replayed"
#: A claim lease short enough to lapse within a test (the server's is 30 s).
LEASE = 0.3


@pytest.fixture
def keyed(backend_mock) -> dict[str, str]:
    return {"x-api-key": backend_mock.keys["pro"], "Idempotency-Key": "order-42"}


async def test_concurrent_duplicates_create_one_book(
    backend_client, backend_mock, keyed, create_body
):
    replies = await together(
        50, lambda: backend_client.post("/v1/stories", json=create_body, headers=keyed)
    )
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["data"]["bookId"] for r in replies}) == 1
    assert len({r.json()["data"]["taskId"] for r in replies}) == 1
    assert sorted(r.headers.get(REPLAYED, "") for r in replies) == [""] + ["true"] * 49
    assert len(await user_books(backend_client, backend_mock)) == 1
    assert (await usage(backend_client, backend_mock))["creditsUsed"] == create_body["pageCount"]


async def test_replay_returns_the_original_ids(backend_client, keyed, create_body):
    first = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    again = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert again.json()["data"] == first.json()["data"]


async def test_replay_charges_nothing_but_counts_against_the_rate_limit(
    backend_client, backend_mock, keyed, create_body
):
    first = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    again = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    assert (remaining(first), remaining(again)) == (59, 58)
    assert (await usage(backend_client, backend_mock))["booksToday"] == 1


async def test_body_is_compared_after_parsing(backend_client, keyed, create_body):
    first = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    reordered = dict(reversed(list(create_body.items())))
    again = await backend_client.post("/v1/stories", json=reordered, headers=keyed)
    assert again.headers[REPLAYED] == "true"
    assert again.json()["data"]["bookId"] == first.json()["data"]["bookId"]


async def test_other_body_with_the_same_key_is_a_conflict(backend_client, keyed, create_body):
    await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    other = await backend_client.post(
        "/v1/stories", json={**create_body, "pageCount": 8}, headers=keyed
    )
    assert (other.status_code, code(other)) == (409, "IDEMPOTENCY_CONFLICT")


async def test_keys_are_scoped_to_the_user(backend_client, backend_mock, keyed, create_body):
    mine = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    theirs = await backend_client.post(
        "/v1/stories", json=create_body, headers={**keyed, "x-api-key": backend_mock.keys["other"]}
    )
    assert theirs.status_code == 202
    assert REPLAYED not in theirs.headers
    assert theirs.json()["data"]["bookId"] != mine.json()["data"]["bookId"]


async def test_key_lives_24_hours_on_the_mock_clock(
    backend_client, backend_mock, keyed, create_body
):
    first = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    await advance(backend_client, backend_mock, 86400 - 1)
    within = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    await advance(backend_client, backend_mock, 1)
    after = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    assert within.json()["data"]["bookId"] == first.json()["data"]["bookId"]
    assert after.status_code == 202
    assert REPLAYED not in after.headers
    assert after.json()["data"]["bookId"] != first.json()["data"]["bookId"]


async def test_key_of_128_characters_is_accepted(backend_client, keyed, create_body):
    reply = await backend_client.post(
        "/v1/stories", json=create_body, headers={**keyed, "Idempotency-Key": "k" * 128}
    )
    assert reply.status_code == 202


async def test_key_over_128_characters_is_a_validation_error(backend_client, keyed, create_body):
    reply = await backend_client.post(
        "/v1/stories", json=create_body, headers={**keyed, "Idempotency-Key": "k" * 129}
    )
    assert (reply.status_code, code(reply)) == (400, "VALIDATION_ERROR")
    assert "Idempotency-Key" in reply.json()["error"]["fields"]


async def test_refused_create_is_not_remembered(backend_client, backend_mock, keyed, create_body):
    await set_usage(backend_client, backend_mock, booksToday=50)
    refused = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    await set_usage(backend_client, backend_mock, booksToday=0)
    accepted = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    assert (refused.status_code, accepted.status_code) == (429, 202)
    assert REPLAYED not in accepted.headers


async def test_concurrent_duplicates_at_the_daily_cap_create_at_most_one_book(
    backend_client, backend_mock, keyed, create_body
):
    await set_usage(backend_client, backend_mock, booksToday=49)
    replies = await together(
        20, lambda: backend_client.post("/v1/stories", json=create_body, headers=keyed)
    )
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["data"]["bookId"] for r in replies}) == 1
    assert (await usage(backend_client, backend_mock))["booksToday"] == 50


async def test_replay_is_served_even_when_the_daily_cap_is_reached(
    backend_client, backend_mock, keyed, create_body
):
    first = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    await set_usage(backend_client, backend_mock, booksToday=50)
    again = await backend_client.post("/v1/stories", json=create_body, headers=keyed)
    assert again.status_code == 202
    assert again.json()["data"]["bookId"] == first.json()["data"]["bookId"]


async def test_a_key_in_flight_with_another_body_is_taken_over_when_the_first_is_refused():
    """Only accepted creates are remembered: a different body waits for the first request and,
    if that one is refused, gets the key instead of a 409."""
    from mockserver.core.idempotency import Claim
    from mockserver.core.outage import OutageMonitor
    from mockserver.core.state.memory import MemoryBackend

    store = IdempotencyStore(MemoryBackend(), 86400, OutageMonitor())
    first = await store.begin("user", "key-1", "body-a", "book-a", 0.0)
    second = asyncio.ensure_future(store.begin("user", "key-1", "body-b", "book-b", 0.0))
    await asyncio.sleep(0.02)
    assert not second.done()
    await store.abandon(first)
    assert isinstance(await asyncio.wait_for(second, 5), Claim)


class SlowFirstCreate:
    """Holds the first create between its claim and its book for ``hold`` seconds, past a short
    lease, then lets it be accepted (or refused with ``refusal``)."""

    def __init__(self, service, hold: float, refusal: Exception | None = None) -> None:
        self.original, self.hold, self.refusal = service.quotas.reserve, hold, refusal
        self.calls = 0
        service.quotas.reserve = self.reserve

    async def reserve(self, *args):
        self.calls += 1
        if self.calls == 1:
            await asyncio.sleep(self.hold)
            if self.refusal is not None:
                raise self.refusal
        return await self.original(*args)


async def _takeover(mock, client, create_body, refusal=None):
    """Request A claims the key and stalls past its lease; B takes the key over and is
    accepted; then A ends. Returns the answers of A, B and a third request with the key."""
    service = mock.service
    service.idempotency = IdempotencyStore(
        service.cache, 86400, service.outage, lease_seconds=LEASE
    )
    SlowFirstCreate(service, hold=LEASE * 3, refusal=refusal)
    headers = {"x-api-key": dev_key("pro"), "Idempotency-Key": "lease-key"}

    def create():
        return client.post("/v1/stories", json=create_body, headers=headers)

    first = asyncio.ensure_future(create())
    await asyncio.sleep(LEASE / 3)
    second = await create()  # waits for the claim in flight, then takes the lapsed key over
    return await first, second, await create()


def _replayed(answer) -> bool:
    return answer.headers.get("Idempotent-Replayed") == "true"


async def test_request_whose_lease_lapsed_cannot_overwrite_the_takeover(
    backend_mock, backend_client, create_body
):
    first, second, third = await _takeover(backend_mock, backend_client, create_body)
    assert first.status_code == second.status_code == 202 and not _replayed(second)
    assert first.json()["data"]["bookId"] != second.json()["data"]["bookId"]
    assert _replayed(third) and third.json()["data"] == second.json()["data"]


async def test_request_whose_lease_lapsed_cannot_abandon_the_takeover(
    backend_mock, backend_client, create_body
):
    refused = ApiError("DAILY_CAP_EXCEEDED", "refused late", headers={"retry-after": "60"})
    first, second, third = await _takeover(backend_mock, backend_client, create_body, refused)
    assert first.json()["error"]["code"] == "DAILY_CAP_EXCEEDED"
    assert _replayed(third) and third.json()["data"] == second.json()["data"]
