"""Small helpers shared by the limits, idempotency, abuse and workers tests: the control API
calls they all make, and plan overrides in the config file's vocabulary."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from mockserver.core.config import MockConfig
from mockserver.spec import Plan
from mockserver.testing.process import RunningMock

PRO_USER = "user_dev_pro"


def plans(**overrides: dict[str, Any]) -> dict[str, Plan]:
    """Spec plans with overrides as a ``--config`` file writes them:
    ``plans(pro={"requestsPerMinute": 3})``."""
    return MockConfig().with_overrides({"plans": overrides}).plans


async def usage(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> dict:
    reply = await client.get(f"/_mock/users/{user}/usage", headers=mock.admin_headers)
    reply.raise_for_status()
    return reply.json()["data"]


async def set_usage(
    client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER, **fields: int
) -> dict:
    reply = await client.put(f"/_mock/users/{user}/usage", json=fields, headers=mock.admin_headers)
    reply.raise_for_status()
    return reply.json()["data"]


async def user_books(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> list:
    reply = await client.get(f"/_mock/users/{user}", headers=mock.admin_headers)
    reply.raise_for_status()
    return reply.json()["data"]["books"]


async def dashboard_book(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> str:
    """A book to read, made through the control API (no request counted against the limit)."""
    reply = await client.post(f"/_mock/users/{user}/books", json={}, headers=mock.admin_headers)
    reply.raise_for_status()
    return reply.json()["data"]["id"]


async def advance(client: httpx.AsyncClient, mock: RunningMock, seconds: float) -> None:
    reply = await client.post(
        "/_mock/clock/advance", json={"seconds": seconds}, headers=mock.admin_headers
    )
    reply.raise_for_status()


async def together(count: int, send: Callable[[], Awaitable[httpx.Response]]) -> list:
    """``count`` requests in flight at once."""
    return list(await asyncio.gather(*(send() for _ in range(count))))


def remaining(reply: httpx.Response) -> int:
    return int(reply.headers["x-ratelimit-remaining"])


def code(reply: httpx.Response) -> str:
    return reply.json()["error"]["code"]
