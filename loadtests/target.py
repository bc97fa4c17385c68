"""The local mock a load run or a benchmark starts for itself, and the users it creates there
through the control API (``POST /_mock/users``)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from loadtests.keys import EXCLUSIVE, SHARED, KeyEntry, KeySet
from mockserver.spec import load_spec
from mockserver.testing.process import MockProcess, RunningMock

#: Large enough never to be reached in a run: only the per-minute limit answers 429.
UNLIMITED = 10**12
API_PLANS = tuple(name for name, plan in load_spec().plans.items() if plan.api_access)


def roomy_quotas(plans: Sequence[str] = API_PLANS) -> dict[str, Any]:
    """A mock config lifting the daily cap and monthly credits of ``plans``."""
    return {
        "plans": {name: {"booksPerDay": UNLIMITED, "monthlyCredits": UNLIMITED} for name in plans}
    }


@contextlib.contextmanager
def running_mock(
    config: dict[str, Any],
    *,
    page_seconds: float | None = None,
    workers: int = 1,
    redis_url: str | None = None,
    command: Sequence[str] | None = None,
) -> Iterator[RunningMock]:
    """``cbk-mock serve`` on a free loopback port with ``config`` (the spec's vocabulary)."""
    with tempfile.TemporaryDirectory(prefix="cbk-load-") as directory:
        path = Path(directory) / "mock.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        args = ["--config", str(path), "--no-access-log"]
        if page_seconds is not None:
            args += ["--page-seconds", str(page_seconds)]
        if redis_url:
            args += ["--redis-url", redis_url]
        if workers > 1:
            args += ["--workers", str(workers)]
        process = MockProcess(*args, command=command)
        with process as mock:
            mock.extra["pid"] = process.process.pid if process.process else None
            yield mock


def create_user(mock: RunningMock, plan: str) -> str:
    """A new user on ``plan``; returns its API key."""
    return mock.control(timeout=10).create_user(plan, name="load test")["apiKey"]


def provision(mock: RunningMock, *, shared: Sequence[str], exclusive: Sequence[str]) -> KeySet:
    """New users, one key each: ``shared`` and ``exclusive`` list their plans."""
    entries = [KeyEntry(create_user(mock, plan), SHARED, plan) for plan in shared]
    entries += [KeyEntry(create_user(mock, plan), EXCLUSIVE, plan) for plan in exclusive]
    return KeySet(tuple(entries), fresh=True)
