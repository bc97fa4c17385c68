"""Small helpers shared by the limits, idempotency, abuse and workers tests: the control calls
they all make, and plan overrides in the config file's vocabulary."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from mockserver.core.config import MockConfig
from mockserver.spec import Plan
from mockserver.testing.process import RunningMock
from tests.mock_kit import advance, mock_control

__all__ = [
    "PRO_USER",
    "advance",
    "code",
    "dashboard_book",
    "plans",
    "remaining",
    "set_usage",
    "together",
    "usage",
    "user_books",
]

PRO_USER = "user_dev_pro"


def plans(**overrides: dict[str, Any]) -> dict[str, Plan]:
    """Spec plans with overrides as a ``--config`` file writes them:
    ``plans(pro={"requestsPerMinute": 3})``."""
    return MockConfig().with_overrides({"plans": overrides}).plans


async def usage(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> dict:
    return await mock_control(client, mock).usage(user)


async def set_usage(
    client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER, **fields: int
) -> dict:
    """``fields`` as the control API names them (``booksToday``, ``creditsUsed``)."""
    return await mock_control(client, mock).call("PUT", f"users/{user}/usage", fields)


async def user_books(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> list:
    return (await mock_control(client, mock).user(user))["books"]


async def dashboard_book(client: httpx.AsyncClient, mock: RunningMock, user: str = PRO_USER) -> str:
    """A book to read, made through the control API (no request counted against the limit)."""
    return (await mock_control(client, mock).add_dashboard_book(user))["id"]


async def together(count: int, send: Callable[[], Awaitable[httpx.Response]]) -> list:
    """``count`` requests in flight at once."""
    return list(await asyncio.gather(*(send() for _ in range(count))))


def remaining(reply: httpx.Response) -> int:
    return int(reply.headers["x-ratelimit-remaining"])


def code(reply: httpx.Response) -> str:
    return reply.json()["error"]["code"]
