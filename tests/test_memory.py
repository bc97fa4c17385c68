"""What a stored book costs: only what cannot be derived is kept, so a mock that lives for days
stays small. Measured with tracemalloc through the gateway (the live server's code path), with
an Idempotency-Key on every create and every book polled, after the bounded caches are full."""

from __future__ import annotations

import gc
import json
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import pytest

from mockserver.core.config import MockConfig
from mockserver.core.keys import dev_key
from mockserver.core.runtime import build_service
from mockserver.http.gateway import Gateway
from mockserver.http.messages import HttpRequest
from tests.limits_kit import plans

ROOMY = {"requestsPerMinute": 10**12, "booksPerDay": 10**12, "monthlyCredits": 10**12}
#: The issue's absolute bar: 2 MB per 1000 books (the goal, 1 MB, is what the soak reports).
MAX_BYTES_PER_BOOK = 2000


class InProcess:
    def __init__(self, config: MockConfig) -> None:
        self.service = build_service(config)
        self.gateway = Gateway(self.service)
        self.key = dev_key("premium")

    async def call(self, method: str, path: str, headers: dict, body: bytes = b"") -> dict:
        reply = await self.gateway.handle(HttpRequest(method, path, list(headers.items()), body))
        assert reply.status < 300, reply.body
        return json.loads(reply.body)["data"]

    async def create_and_poll(self, count: int, body: dict) -> None:
        auth = {"x-api-key": self.key}
        for n in range(count):
            created = await self.call(
                "POST",
                "/v1/stories",
                {**auth, "content-type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
                json.dumps({**body, "storyIdea": f"{body['storyIdea']} {n}"}).encode(),
            )
            await self.call("GET", f"/v1/stories/{created['bookId']}", auth)


def _traced_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.fixture
async def mock() -> AsyncIterator[InProcess]:
    config = MockConfig(clock="manual", page_seconds=0.0, plans=plans(premium=ROOMY))
    running = InProcess(config)
    await running.service.start()
    yield running
    await running.service.close()


async def test_a_stored_book_costs_less_than_the_bar(mock, create_body):
    tracemalloc.start()  # before the caches fill, so that what they drop is counted too
    try:
        await mock.create_and_poll(4200, create_body)  # fills every bounded cache
        before = _traced_bytes()
        await mock.create_and_poll(2000, create_body)
        per_book = (_traced_bytes() - before) / 2000
    finally:
        tracemalloc.stop()
    print(f"\n{per_book:.0f} bytes per book (Idempotency-Key on every create)")
    assert per_book < MAX_BYTES_PER_BOOK
