"""``python -m loadtests.soak`` (``make soak``): does the mock stay flat on a long run?

Starts a mock with a small ``--max-books`` and creates books (each with an Idempotency-Key) and
polls them at full speed for ``--minutes``, so that the cap is reached early and held for the
rest of the run. Samples the mock's RSS (every worker's, with ``--workers``) and, with Redis,
its ``used_memory``; prints the series and a verdict as JSON:

* ``mbPer1000Books``: RSS growth per 1000 books while the mock fills up, measured between a
  quarter of the cap and the cap, when the bounded caches are already full;
* ``capHeld``: the mock never held more than ``--max-books`` books, the oldest book is 404, and
  RSS after the cap stayed within ``--flat-mb`` or 15 % of its value at the cap, whichever is
  more (once, soon after the cap, CPython grows the table of a dict whose deletions filled it
  to three times its live entries: a step of about a tenth, then flat);
* ``mbPer1000BooksPastCap``: RSS growth per 1000 books created after the cap (near 0: flat);
* with Redis, ``redisBytesPerBook`` from ``MEMORY USAGE`` of one book's keys (its document, its
  idempotency record, its entries in the retention list and its user's list). The series'
  ``redisUsedMb`` is the whole server's ``used_memory``: telling only on a Redis of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from loadtests import target
from loadtests.payloads import IDEMPOTENCY_HEADER, story_body
from mockserver.core.books import Book
from mockserver.core.state.base import DEFAULT_REDIS_PREFIX
from mockserver.testing.process import RunningMock

PLAN = "premium"


def soak_config(max_books: int) -> dict[str, Any]:
    """Every limit out of reach (only memory is under test), and the cap."""
    config = target.roomy_quotas([PLAN])
    config["plans"][PLAN]["requestsPerMinute"] = target.UNLIMITED
    config["maxBooks"] = max_books
    return config


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the workers), from Linux ``/proc``."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    total_kb = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


@dataclass
class Progress:
    created: int = 0
    polls: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    first_book: str | None = None
    last_book: str | None = None

    def failed(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1


async def _load(mock: RunningMock, key: str, progress: Progress, until: float, keyed: bool) -> None:
    headers = {"x-api-key": key, "content-type": "application/json"}
    bodies = [json.dumps(story_body()) for _ in range(64)]
    async with aiohttp.ClientSession(base_url=mock.url) as session:
        n = 0
        while time.monotonic() < until:
            create = {**headers, IDEMPOTENCY_HEADER: uuid.uuid4().hex} if keyed else headers
            async with session.post("/v1/stories", data=bodies[n % 64], headers=create) as reply:
                answer = await reply.read()
            n += 1
            if reply.status != 202:
                progress.failed(f"create {reply.status}")
                continue
            progress.created += 1
            book = json.loads(answer)["data"]["bookId"]
            progress.first_book = progress.first_book or book
            progress.last_book = book
            async with session.get(f"/v1/stories/{book}", headers=headers) as reply:
                await reply.read()
            progress.polls += 1
            if reply.status != 200:
                progress.failed(f"poll {reply.status}")


async def _health(session: aiohttp.ClientSession) -> dict[str, Any]:
    async with session.get("/_mock/health") as reply:
        return (await reply.json())["data"]


async def _redis_used(redis_url: str | None) -> int | None:
    if not redis_url:
        return None
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        return int((await client.info("memory"))["used_memory"])
    finally:
        await client.aclose()


async def _sample(
    mock: RunningMock, progress: Progress, args: argparse.Namespace, until: float
) -> list[dict[str, Any]]:
    samples = []
    started = time.monotonic()
    async with aiohttp.ClientSession(base_url=mock.url) as session:
        while True:
            health = await _health(session)
            samples.append(
                {
                    "seconds": round(time.monotonic() - started, 1),
                    "created": progress.created,
                    "held": health["books"],
                    "rssMb": rss_mb(mock.extra["pid"]),  # type: ignore[arg-type]
                    "redisUsedMb": None
                    if (used := await _redis_used(args.redis_url)) is None
                    else round(used / 2**20, 1),
                }
            )
            if time.monotonic() >= until:
                return samples
            await asyncio.sleep(min(args.sample_seconds, max(0.0, until - time.monotonic())))


async def _redis_bytes_per_book(redis_url: str, user_id: str, book_id: str) -> dict[str, Any]:
    """``MEMORY USAGE`` of one book's own keys, and its share of the lists it is in."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    prefix = DEFAULT_REDIS_PREFIX
    try:
        raw = await client.get(f"{prefix}doc:book:{book_id}")
        digest = Book.from_record(json.loads(raw)).idempotency_digest if raw else None
        idem = f"{prefix}doc:idem:{user_id}:{digest}"
        retained = f"{prefix}retained:books"
        listed = f"{prefix}set:user-books:{user_id}"
        book_bytes = await client.memory_usage(f"{prefix}doc:book:{book_id}", samples=0) or 0
        idem_bytes = await client.memory_usage(idem, samples=0) or 0
        retained_share = (await client.memory_usage(retained, samples=0) or 0) / max(
            1, await client.llen(retained)
        )
        listed_share = (await client.memory_usage(listed, samples=0) or 0) / max(
            1, await client.scard(listed)
        )
    finally:
        await client.aclose()
    return {
        "book": book_bytes,
        "idempotencyRecord": idem_bytes,
        "retentionListShare": round(retained_share),
        "userListShare": round(listed_share),
        "total": round(book_bytes + idem_bytes + retained_share + listed_share),
    }


def _verdict(samples: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    cap = args.max_books
    quarter = next((s for s in samples if s["created"] >= cap // 4), None)
    full = next((s for s in samples if s["created"] >= cap), None)
    slope = None
    if quarter and full and full["created"] > quarter["created"]:
        growth = full["rssMb"] - quarter["rssMb"]
        slope = round(growth / (full["created"] - quarter["created"]) * 1000, 3)
    past = [s for s in samples if full and s["seconds"] > full["seconds"]]
    growth_past_cap = (
        round(max(s["rssMb"] for s in past) - full["rssMb"], 1) if past and full else None
    )
    slope_past_cap = None
    if full and past and past[-1]["created"] > full["created"]:
        created_past_cap = past[-1]["created"] - full["created"]
        slope_past_cap = round((past[-1]["rssMb"] - full["rssMb"]) / created_past_cap * 1000, 3)
    return {
        "capReachedAfterSeconds": full["seconds"] if full else None,
        "mbPer1000Books": slope,
        "rssAtCapMb": full["rssMb"] if full else None,
        "rssGrowthPastCapMb": growth_past_cap,
        "mbPer1000BooksPastCap": slope_past_cap,
        "maxHeld": max(s["held"] for s in samples),
    }


async def _run(mock: RunningMock, args: argparse.Namespace) -> dict[str, Any]:
    control = mock.control(timeout=10)
    control.reset_state()  # a Redis may still hold an earlier run's books
    user = control.create_user(PLAN, name="soak")
    progress = Progress()
    until = time.monotonic() + args.minutes * 60
    keyed = not args.without_idempotency_keys
    loaders = [_load(mock, user["apiKey"], progress, until, keyed) for _ in range(args.concurrency)]
    samples, *_ = await asyncio.gather(_sample(mock, progress, args, until), *loaders)
    report: dict[str, Any] = {**_verdict(samples, args)}
    async with aiohttp.ClientSession(base_url=mock.url) as session:
        path = f"/v1/stories/{progress.first_book}"
        async with session.get(path, headers={"x-api-key": user["apiKey"]}) as reply:
            report["firstBookStatus"] = reply.status
    report.update(created=progress.created, polls=progress.polls, failures=progress.failures)
    allowed = max(args.flat_mb, (report["rssAtCapMb"] or 0.0) * 0.15)
    flat = (report["rssGrowthPastCapMb"] or 0.0) <= allowed
    report["capHeld"] = bool(
        report["capReachedAfterSeconds"] is not None
        and flat
        and report["maxHeld"] <= args.max_books
        and report["firstBookStatus"] == 404
    )
    if args.redis_url and progress.last_book:
        report["redisBytesPerBook"] = await _redis_bytes_per_book(
            args.redis_url, user["userId"], progress.last_book
        )
    report["samples"] = samples
    return report


def _json(report: dict[str, Any]) -> str:
    """Indented JSON, with one line per sample of the series."""
    samples = report.pop("samples")
    head = json.dumps(report, indent=2)[:-2]
    series = ",\n".join(f"    {json.dumps(sample)}" for sample in samples)
    return f'{head},\n  "samples": [\n{series}\n  ]\n}}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--max-books", type=int, default=20_000, help="the mock's cap")
    parser.add_argument("--concurrency", type=int, default=16, help="create-and-poll loops")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="between samples")
    parser.add_argument(
        "--flat-mb", type=float, default=10.0, help="RSS growth past the cap still called flat"
    )
    parser.add_argument(
        "--without-idempotency-keys",
        action="store_true",
        help="creates without an Idempotency-Key (by default every create has one)",
    )
    parser.add_argument("--redis-url", help="records in this Redis (with --workers)")
    parser.add_argument("--workers", type=int, default=1, help="mock processes (needs Redis)")
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless the cap held")
    args = parser.parse_args(argv)
    if args.workers > 1 and not args.redis_url:
        parser.error("--workers needs --redis-url")
    with target.running_mock(
        soak_config(args.max_books),
        page_seconds=0.01,
        workers=args.workers,
        redis_url=args.redis_url,
    ) as mock:
        report = {
            "minutes": args.minutes,
            "maxBooks": args.max_books,
            "workers": args.workers,
            "state": "redis" if args.redis_url else "memory",
            "idempotencyKeys": not args.without_idempotency_keys,
            **asyncio.run(_run(mock, args)),
        }
    text = _json(report)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 1 if args.strict and not report["capHeld"] else 0


if __name__ == "__main__":
    sys.exit(main())
