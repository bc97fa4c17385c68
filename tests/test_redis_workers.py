"""``cbk-mock serve --workers 2 --redis-url …``: two processes on one port (SO_REUSEPORT), one
shared state in Redis, and limits and idempotency exactly as with one process."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mockserver.testing.process import MockProcess, RunningMock
from tests.limits_kit import advance, dashboard_book, remaining, together, usage, user_books

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT balancing and /proc are Linux's"
)


@pytest.fixture
def workers(redis_url) -> Iterator[tuple[RunningMock, MockProcess]]:
    process = MockProcess(
        "--workers", "2", "--redis-url", redis_url, "--clock", "manual", "--no-access-log"
    )
    with process as running:
        yield running, process


@pytest.fixture
async def http(workers) -> AsyncIterator[httpx.AsyncClient]:
    running, _ = workers
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(base_url=running.url, timeout=30, limits=limits) as session:
        yield session


def _children(parent: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]


def _established_connections(pid: int, port: int) -> int:
    """TCP connections to ``port`` that process ``pid`` holds, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


async def test_two_workers_admit_exactly_the_plan_limit(workers, http):
    running, _ = workers
    book = await dashboard_book(http, running)
    pro = {"x-api-key": running.keys["pro"]}
    replies = await together(200, lambda: http.get(f"/v1/stories/{book}", headers=pro))
    admitted = [r for r in replies if r.status_code != 429]
    assert len(admitted) == 60
    assert sorted(remaining(r) for r in admitted) == list(range(60))
    assert all(int(r.headers["retry-after"]) >= 1 for r in replies if r.status_code == 429)


async def test_both_workers_serve_the_port(workers, http):
    running, process = workers
    book = await dashboard_book(http, running)
    premium = {"x-api-key": running.keys["premium"]}
    await together(100, lambda: http.get(f"/v1/stories/{book}", headers=premium))
    port = urlsplit(running.url).port
    held = [_established_connections(pid, port) for pid in _children(process.process.pid)]
    assert len(held) == 2
    assert all(count > 0 for count in held), held


async def test_two_workers_create_one_book_for_concurrent_duplicates(workers, http, create_body):
    running, _ = workers
    keyed = {"x-api-key": running.keys["pro"], "Idempotency-Key": "one-book"}
    replies = await together(50, lambda: http.post("/v1/stories", json=create_body, headers=keyed))
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["data"]["bookId"] for r in replies}) == 1
    assert len(await user_books(http, running)) == 1
    assert (await usage(http, running))["creditsUsed"] == create_body["pageCount"]


async def test_two_workers_share_the_clock_that_rolls_the_window(workers, http):
    running, _ = workers
    book = await dashboard_book(http, running)
    pro = {"x-api-key": running.keys["pro"]}
    await together(70, lambda: http.get(f"/v1/stories/{book}", headers=pro))
    await advance(http, running, 60)
    replies = await together(70, lambda: http.get(f"/v1/stories/{book}", headers=pro))
    assert sum(r.status_code == 200 for r in replies) == 60
