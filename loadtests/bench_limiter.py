"""What the limiter costs: throughput of authenticated ``GET /v1/stories/{id}`` with limits on
vs. off, as requests per CPU-second of the mock — what a CPU-bound server turns into req/s,
and steady even when other processes share the machine.

``on``: the per-minute limiter and the failed-authentication guard run on every request, with
limits set so high they never trigger — the counting is measured, not the cheap 429s.
``off``: the baseline; nothing is counted (a stand-in limiter answers the same headers).

Each pair runs on the in-memory state and with the counters in Redis (``--redis-url``: records
in memory, limits in Redis — the mock's "API-side Redis" layout; Redis' own CPU not counted).
Two levels:

* ``gateway``: requests handed straight to the mock's gateway in this process — the server's
  work only, the most sensitive measure;
* ``http``: mock server processes loaded over loopback by ``wrk``, their CPU time read from
  /proc (skipped without ``wrk`` or /proc).

``off`` and ``on`` run side by side in alternating short slices after a warm-up, so a change of
machine load hits both alike. Prints JSON: req/s per variant and ``ratio = on / off`` (1.0: the
limiter is free; 0.9: it costs 10 % of throughput), the median over the slice pairs.

    python -m loadtests.bench_limiter [--seconds 6] [--redis-url URL] [--levels gateway http]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests.payloads import API_KEY_HEADER
from mockserver.core import keys
from mockserver.core.config import MockConfig
from mockserver.core.dev import DEV_USERS
from mockserver.core.errors import BackendUnavailable
from mockserver.core.limits import RateLimit
from mockserver.core.runtime import build_service
from mockserver.core.service import MockService
from mockserver.http.gateway import Gateway, HttpRequest
from mockserver.serve import app as aiohttp_app
from mockserver.serve.help import HelpFormatter
from mockserver.testing.sdk_kit import AsyncMockControl

#: The dev user every benchmark request comes from, and its plan.
USER = "pro"
_PLAN = DEV_USERS[USER]
#: Where the Redis variant counts (only under its own run's prefix); CBK_LOAD_REDIS_URL moves it,
#: as it moves the load tests' database.
DEFAULT_REDIS_URL = os.environ.get("CBK_LOAD_REDIS_URL", "redis://127.0.0.1:6379/12")
#: Per-minute requests and failed attempts that no benchmark reaches.
NEVER = 10**9
BACKENDS = ("memory", "redis")
LIMITERS = ("off", "on")
LEVELS = ("gateway", "http")
READY = "bench server on "


class _Uncounted:
    """The ``off`` baseline: the limiter's headers without counting anything."""

    async def hit(self, principal: Any, now: float, *, unless: Any = None) -> RateLimit:
        return RateLimit(limit=principal.plan.requests_per_minute, remaining=NEVER, reset=60)

    async def count_rejection(self, principal: Any, now: float) -> bool:
        return False


def build(backend: str, limiter: str, redis_url: str) -> MockService:
    on = limiter == "on"
    config = MockConfig(
        plans=MockConfig().with_overrides({"plans": {_PLAN: {"requestsPerMinute": NEVER}}}).plans,
        auth_failures_per_minute=NEVER if on else None,
        redis_url=redis_url if backend == "redis" else None,
    )
    service = build_service(config)
    if not on:
        service.limits.rate_limiter = _Uncounted()  # type: ignore[assignment]  # same two calls
    return service


async def _read_request(gateway: Gateway, token: str) -> HttpRequest:
    """A book to read (made through the control API) and the request that reads it."""

    async def transport(
        method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        reply = await gateway.handle(HttpRequest(method, path, list(headers.items()), body or b""))
        return reply.status, reply.body

    control = AsyncMockControl("", transport, admin_token=token)
    book = (await control.add_dashboard_book(USER))["id"]
    return HttpRequest("GET", f"/v1/stories/{book}", [(API_KEY_HEADER, keys.dev_key(USER))])


@dataclass
class Tally:
    requests: int = 0
    cpu_seconds: float = 0.0

    def add(self, requests: int, cpu_seconds: float) -> float:
        self.requests += requests
        self.cpu_seconds += cpu_seconds
        return requests / cpu_seconds

    @property
    def rps(self) -> float:
        return self.requests / self.cpu_seconds


# --- gateway level -----------------------------------------------------------------------


class GatewayTarget:
    """A service and its gateway in this process; ``run`` loads it for a slice of time."""

    def __init__(self, service: MockService) -> None:
        self.service = service
        self.gateway = aiohttp_app.create_app(service)[aiohttp_app.GATEWAY]
        self.request: HttpRequest | None = None

    async def open(self) -> None:
        await self.service.start()
        self.request = await _read_request(self.gateway, self.service.config.admin_token)

    async def run(self, seconds: float, concurrency: int) -> tuple[int, float]:
        """(requests answered, CPU seconds of this process)."""
        done = 0
        stop_at = time.perf_counter() + seconds
        request = self.request
        assert request is not None, "open() first"

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                reply = await self.gateway.handle(request)
                if reply.status != 200:
                    raise RuntimeError(f"benchmark request answered {reply.status}")
                done += 1

        cpu = time.process_time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return done, time.process_time() - cpu

    async def close(self) -> None:
        await self.service.cache.flush()
        await self.service.close()


async def gateway_level(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    targets = {lim: GatewayTarget(build(backend, lim, args.redis_url)) for lim in LIMITERS}
    try:
        for target in targets.values():
            await target.open()
        rounds = []
        tallies = {lim: Tally() for lim in LIMITERS}
        for round_ in range(_rounds(args) + 1):  # round 0 warms up
            rates = {}
            for lim, target in targets.items():
                done, cpu = await target.run(args.slice, args.concurrency)
                rates[lim] = tallies[lim].add(done, cpu) if round_ else 0
            if round_:
                rounds.append(rates["on"] / rates["off"])
        return _summary(tallies, rounds)
    finally:
        for target in targets.values():
            await target.close()


# --- http level --------------------------------------------------------------------------


async def _serve(backend: str, limiter: str, redis_url: str) -> None:
    target = GatewayTarget(build(backend, limiter, redis_url))
    app = aiohttp_app.create_app(target.service)
    runner, url = await aiohttp_app.start(app, "127.0.0.1", 0, access_log_enabled=False)
    request = await _read_request(app[aiohttp_app.GATEWAY], target.service.config.admin_token)
    print(f"{READY}{url}{request.path}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await target.service.cache.flush()
    await runner.cleanup()


@contextlib.contextmanager
def _server(backend: str, limiter: str, redis_url: str) -> Iterator[tuple[str, int]]:
    """A mock server process: (URL of the book to read, pid)."""
    command = [sys.executable, "-m", "loadtests.bench_limiter", "--serve", backend, limiter]
    process = subprocess.Popen(
        [*command, "--redis-url", redis_url], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith(READY):
            raise RuntimeError(f"bench server did not start: {line!r}")
        yield line[len(READY) :].strip(), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, pid: int, seconds: int, concurrency: int) -> tuple[int, float]:
    """(requests answered, CPU seconds of the server) for one wrk run."""
    header = f"{API_KEY_HEADER}: {keys.dev_key(USER)}"
    cpu = _cpu_seconds(pid)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "-H", header, url],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = _cpu_seconds(pid) - cpu
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"benchmark requests failed:\n{result.stdout}")
    counted = re.search(r"(\d+) requests in", result.stdout)
    if counted is None:
        raise RuntimeError(f"wrk printed no request count:\n{result.stdout}")
    return int(counted.group(1)), cpu


def http_level(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    seconds = max(1, round(args.slice * 4))  # wrk runs whole seconds; CPU ticks are 10 ms
    with contextlib.ExitStack() as stack:
        servers = {
            lim: stack.enter_context(_server(backend, lim, args.redis_url)) for lim in LIMITERS
        }
        tallies = {lim: Tally() for lim in LIMITERS}
        rounds = []
        for round_ in range(max(2, round(args.seconds / seconds)) + 1):  # round 0 warms up
            rates = {}
            for lim, (url, pid) in servers.items():
                done, cpu = _wrk(url, pid, seconds, args.concurrency)
                rates[lim] = tallies[lim].add(done, cpu) if round_ else 0
            if round_:
                rounds.append(rates["on"] / rates["off"])
    return _summary(tallies, rounds)


# --- driver ------------------------------------------------------------------------------


def _rounds(args: argparse.Namespace) -> int:
    return max(2, round(args.seconds / args.slice))


def _summary(tallies: dict[str, Tally], rounds: list[float]) -> dict[str, Any]:
    return {
        "off_rps": round(tallies["off"].rps),
        "on_rps": round(tallies["on"].rps),
        "ratio": round(statistics.median(rounds), 3),
        "ratio_range": [round(min(rounds), 3), round(max(rounds), 3)],
    }


def _redis_problem(url: str) -> str | None:
    async def probe() -> None:
        service = build("redis", "on", url)
        try:
            await service.cache.read_counter("bench-probe")
        finally:
            await service.close()

    try:
        asyncio.run(probe())
    except (BackendUnavailable, ImportError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    backends, levels = list(args.backends), list(args.levels)
    report: dict[str, Any] = {
        "settings": {
            "seconds": args.seconds,
            "slice": args.slice,
            "concurrency": args.concurrency,
        },
        "skipped": {},
    }
    if "redis" in backends and (problem := _redis_problem(args.redis_url)):
        report["skipped"]["redis"] = f"no Redis at {args.redis_url} ({problem})"
        backends.remove("redis")
    if "http" in levels and (shutil.which("wrk") is None or not Path("/proc/self").exists()):
        report["skipped"]["http"] = "needs wrk on PATH and Linux /proc"
        levels.remove("http")
    for level in levels:
        report[level] = {
            backend: asyncio.run(gateway_level(backend, args))
            if level == "gateway"
            else http_level(backend, args)
            for backend in backends
        }
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_limiter",
        description=__doc__,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="load time per variant")
    parser.add_argument("--slice", type=float, default=0.25, help="seconds per gateway slice")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests in flight at the gateway level"
    )
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="the Redis of the redis backend"
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=list(BACKENDS),
        help="where the counters live",
    )
    parser.add_argument(
        "--levels", nargs="+", choices=LEVELS, default=list(LEVELS), help="what is measured"
    )
    parser.add_argument("--serve", nargs=2, metavar=("BACKEND", "LIMITER"), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve:
        backend, limiter = args.serve
        asyncio.run(_serve(backend, limiter, args.redis_url))
        return 0
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
