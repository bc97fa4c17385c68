"""Fixtures of the project's own tests: an in-process mock that validates every response it
sends against openapi.yaml, an httpx client for it, and a real Redis database of our own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from mockserver.core.config import MockConfig
from mockserver.testing.process import RunningMock, serve_in_process

#: Our own Redis database; only this one is ever flushed.
REDIS_URL = os.environ.get("CBK_REDIS_URL", "redis://127.0.0.1:6379/13")

CREATE_BODY = {
    "storyIdea": "A little fox who learns to share carrots with forest friends.",
    "ageRange": "4-7",
    "style": "watercolor",
    "pageCount": 7,
    "tone": "heartwarming",
    "language": "english",
}


@pytest.fixture
def create_body() -> dict:
    return dict(CREATE_BODY)


def _marked_config(request: pytest.FixtureRequest, **extra: object) -> MockConfig:
    marker = request.node.get_closest_marker("mock_config")
    overrides = dict(marker.kwargs) if marker else {}
    overrides.setdefault("validate_responses", True)
    return MockConfig(**overrides, **extra)


@pytest.fixture
async def mock(request: pytest.FixtureRequest) -> AsyncIterator[RunningMock]:
    """A fresh mock per test. Configure with ``@pytest.mark.mock_config(clock="manual", ...)``."""
    async with serve_in_process(_marked_config(request)) as running:
        yield running
        assert running.gateway.violations == [], "responses violated openapi.yaml"


@pytest.fixture(params=["memory", "redis"])
async def backend_mock(request: pytest.FixtureRequest) -> AsyncIterator[RunningMock]:
    """As ``mock``, once per state backend: in memory, and with every record in our Redis
    database (the ``--workers`` layout, in one process)."""
    extra = {}
    if request.param == "redis":
        extra = {"redis_url": request.getfixturevalue("redis_url"), "shared_records": True}
    async with serve_in_process(_marked_config(request, **extra)) as running:
        yield running
        assert running.gateway.violations == [], "responses violated openapi.yaml"


@pytest.fixture
async def backend_client(backend_mock: RunningMock) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(base_url=backend_mock.url, timeout=30, limits=limits) as http:
        yield http


@pytest.fixture
async def client(mock: RunningMock) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock.url, timeout=30) as http:
        yield http


@pytest.fixture
def pro_headers(mock: RunningMock) -> dict[str, str]:
    return {"x-api-key": mock.keys["pro"]}


def redis_available(url: str = REDIS_URL) -> str | None:
    """None when Redis answers at ``url``, else the reason it does not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure means "not usable here"
        return f"{type(exc).__name__}: {exc}"
    return None


def own_redis_database(url: str) -> Iterator[str]:
    """Yield ``url`` with its database flushed before and after. Skips without Redis, unless
    CBK_REQUIRE_REDIS=1 (as in CI), where a missing Redis fails the test."""
    import redis

    problem = redis_available(url)
    if problem:
        message = f"no Redis at {url} ({problem}); start one or set CBK_REDIS_URL"
        if os.environ.get("CBK_REQUIRE_REDIS") == "1":
            pytest.fail(message + " — CBK_REQUIRE_REDIS=1 forbids skipping")
        pytest.skip(message)
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Our Redis database (13), flushed before and after the test."""
    yield from own_redis_database(REDIS_URL)
