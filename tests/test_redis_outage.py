"""A real Redis outage: our own redis-server, killed, hung (SIGSTOP) and restarted under a
running mock. With ``--redis-url`` alone (records in memory) deduplication is skipped while
Redis is gone, requests still succeed, one warning is logged per outage, and the mock recovers
by itself. With ``--workers`` (records in Redis) the mock answers 503 EXTERNAL_SERVICE_ERROR and
says so in /_mock/health. Either way a hung Redis costs one timeout per probe interval, and a
Redis that returns is used at once, without flip-flopping on stale connections."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from mockserver.testing.process import MockProcess, RunningMock
from tests.limits_kit import code, remaining
from tests.mock_kit import SOME_UUID

REPLAYED = "Idempotent-Replayed"
WARNING = "shared state unreachable"
RECOVERED = "shared state reachable again"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throw-away redis-server on its own port, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait(timeout=10)

    def hang(self) -> None:
        """SIGSTOP: connections stay open and every command times out."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        message = "redis-server is not on PATH; install Redis to run the outage tests"
        if os.environ.get("CBK_REQUIRE_REDIS") == "1":
            pytest.fail(message + " — CBK_REQUIRE_REDIS=1 forbids skipping")
        pytest.skip(message)
    server = RedisServer(_free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def mock_on(redis_server) -> Iterator[tuple[RunningMock, MockProcess]]:
    process = MockProcess("--redis-url", redis_server.url, "--clock", "manual")
    with process as running:
        yield running, process


class Client:
    """Premium creates with an Idempotency-Key, and the mock's log."""

    def __init__(self, running: RunningMock, process: MockProcess, body: dict) -> None:
        self.http = httpx.Client(base_url=running.url, timeout=30)
        self.running, self.process, self.body = running, process, body

    def create(self, key: str) -> httpx.Response:
        headers = {"x-api-key": self.running.keys["premium"], "Idempotency-Key": key}
        reply = self.http.post("/v1/stories", json=self.body, headers=headers)
        assert reply.status_code == 202, reply.text
        return reply

    def deduplicates(self, key: str) -> bool:
        first, second = self.create(key), self.create(key)
        return second.headers.get(REPLAYED) == "true" and (
            first.json()["data"]["bookId"] == second.json()["data"]["bookId"]
        )

    def wait_until_deduplicating(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        attempt = 0
        while not self.deduplicates(f"probe-{attempt}"):
            assert time.monotonic() < deadline, "the mock did not use Redis again"
            attempt += 1
            time.sleep(0.1)

    def cache_reachable(self) -> bool:
        health = self.http.get("/_mock/health").json()["data"]
        return health["cacheReachable"]

    def log_count(self, text: str) -> int:
        return self.process.log_path.read_text().count(text)


@pytest.fixture
def client(mock_on, create_body) -> Iterator[Client]:
    running, process = mock_on
    session = Client(running, process, create_body)
    yield session
    session.http.close()


def test_duplicates_are_deduplicated_while_redis_is_up(client):
    assert client.deduplicates("up")
    assert client.log_count(WARNING) == 0


def test_outage_skips_deduplication_but_requests_succeed(client, redis_server):
    redis_server.kill()
    first, second = client.create("down"), client.create("down")
    assert REPLAYED not in second.headers
    assert first.json()["data"]["bookId"] != second.json()["data"]["bookId"]
    assert not client.cache_reachable()


def test_outage_is_logged_once(client, redis_server):
    redis_server.kill()
    for n in range(5):
        client.create(f"down-{n}")
    assert client.log_count(WARNING) == 1


def test_mock_recovers_when_redis_returns(client, redis_server):
    redis_server.kill()
    client.create("down")
    redis_server.start()
    client.wait_until_deduplicating()
    assert client.cache_reachable()
    assert client.log_count(RECOVERED) == 1


def test_each_outage_is_logged_once(client, redis_server):
    for _ in range(2):
        redis_server.kill()
        client.create("down")
        client.create("down")
        redis_server.start()
        client.wait_until_deduplicating()
    assert (client.log_count(WARNING), client.log_count(RECOVERED)) == (2, 2)


def test_mock_started_while_redis_is_down_uses_it_once_up(redis_server, create_body):
    redis_server.kill()
    process = MockProcess("--redis-url", redis_server.url, "--clock", "manual")
    with process as running:
        session = Client(running, process, create_body)
        try:
            assert not session.deduplicates("early")
            redis_server.start()
            session.wait_until_deduplicating()
        finally:
            session.http.close()


@pytest.fixture
def five_per_minute(redis_server, tmp_path) -> Iterator[RunningMock]:
    """A mock on ``redis_server`` whose Pro plan allows 5 requests a minute."""
    config = tmp_path / "mock.yaml"
    config.write_text("plans:\n  pro:\n    requestsPerMinute: 5\n")
    args = ("--redis-url", redis_server.url, "--clock", "manual", "--config", str(config))
    with MockProcess(*args) as running:
        yield running


def test_per_minute_limit_holds_per_process_during_an_outage(redis_server, five_per_minute):
    running = five_per_minute
    with httpx.Client(base_url=running.url) as http:
        pro = {"x-api-key": running.keys["pro"]}
        before = [http.post("/v1/stories", json={}, headers=pro) for _ in range(2)]
        redis_server.kill()
        during = [http.post("/v1/stories", json={}, headers=pro) for _ in range(7)]
    assert [remaining(r) for r in before] == [4, 3]
    assert [r.status_code for r in during] == [400] * 5 + [429] * 2
    assert [remaining(r) for r in during[:5]] == [4, 3, 2, 1, 0]
    assert {code(r) for r in during[5:]} == {"RATE_LIMIT_EXCEEDED"}
    assert all(int(r.headers["retry-after"]) >= 1 for r in during[5:])


def test_reset_forgets_what_was_counted_during_an_outage(redis_server, five_per_minute):
    running = five_per_minute
    pro = {"x-api-key": running.keys["pro"]}
    with httpx.Client(base_url=running.url) as http:
        redis_server.kill()
        for _ in range(5):
            http.post("/v1/stories", json={}, headers=pro)
        redis_server.start()
        assert http.post("/_mock/reset", headers=running.admin_headers).status_code == 200
        redis_server.kill()
        again = http.post("/v1/stories", json={}, headers=pro)
    assert (again.status_code, remaining(again)) == (400, 4)


async def test_shared_records_without_redis_answer_503_external_service_error():
    """With every record in Redis (the --workers layout), a dead Redis is an upstream failure:
    503 EXTERNAL_SERVICE_ERROR in the envelope, never a 500."""
    from mockserver.core.config import MockConfig
    from mockserver.core.keys import dev_key
    from mockserver.testing.process import serve_in_process

    dead = f"redis://127.0.0.1:{_free_port()}/0"
    config = MockConfig(redis_url=dead, shared_records=True, seed_dev_users=False)
    async with serve_in_process(config) as running, httpx.AsyncClient() as http:
        response = await http.get(
            f"{running.url}/v1/stories/4cf184ed-0a29-4860-a257-0f8998357121",
            headers={"x-api-key": dev_key("pro")},
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "EXTERNAL_SERVICE_ERROR"


# --- settling after a restart, both layouts ------------------------------------------------
def _burst(client: Client, prefix: str, size: int = 20) -> list[bool]:
    """``size`` keys created twice each, concurrently (many pooled connections at once):
    whether each second create was deduplicated."""
    with ThreadPoolExecutor(size) as pool:
        return list(pool.map(client.deduplicates, [f"{prefix}-{n}" for n in range(size)]))


def test_restart_settles_at_once_without_flip_flop(client, redis_server):
    """Stale pooled connections used to make the mock flip between reachable and unreachable
    several times after a restart, losing deduplication each time."""
    assert all(_burst(client, "warm"))  # fills the connection pool
    redis_server.kill()
    client.create("down")
    redis_server.start()
    client.wait_until_deduplicating()
    assert all(all(_burst(client, f"after-{round}")) for round in range(3))
    assert (client.log_count(WARNING), client.log_count(RECOVERED)) == (1, 1)


def test_restart_between_requests_needs_no_outage_at_all(client, redis_server):
    assert all(_burst(client, "warm"))
    redis_server.kill()
    redis_server.start()
    time.sleep(1.2)  # idle pooled connections are checked before use, and replaced
    assert all(_burst(client, "after"))
    assert client.log_count(WARNING) == 0


# --- the records layout: --workers ---------------------------------------------------------
@pytest.fixture
def workers_on(redis_server) -> Iterator[tuple[RunningMock, MockProcess]]:
    process = MockProcess(
        "--workers", "2", "--redis-url", redis_server.url, "--clock", "manual", "--no-access-log"
    )
    with process as running:
        yield running, process


def _get(http: httpx.Client, running: RunningMock) -> httpx.Response:
    return http.get(f"/v1/stories/{SOME_UUID}", headers={"x-api-key": running.keys["pro"]})


def test_workers_answer_503_and_health_says_so_while_redis_is_down(workers_on, redis_server):
    running, _ = workers_on
    with httpx.Client(base_url=running.url, timeout=30) as http:
        assert _get(http, running).status_code == 404
        redis_server.kill()
        replies = [_get(http, running) for _ in range(6)]
        health = [http.get("/_mock/health").json()["data"] for _ in range(6)]
    assert {(r.status_code, r.json()["error"]["code"]) for r in replies} == {
        (503, "EXTERNAL_SERVICE_ERROR")
    }
    assert {h["cacheReachable"] for h in health} == {False}


def test_workers_reseed_the_dev_users_when_redis_comes_back_empty(workers_on, redis_server):
    running, _ = workers_on
    with httpx.Client(base_url=running.url, timeout=30) as http:
        redis_server.kill()
        assert _get(http, running).status_code == 503
        redis_server.start()  # empty: no users, no keys
        deadline = time.monotonic() + 10
        while _get(http, running).status_code != 404:
            assert time.monotonic() < deadline, "the dev keys did not work again"
            time.sleep(0.1)
        assert {h["cacheReachable"] for h in (http.get("/_mock/health").json()["data"],)} == {True}


def test_workers_reseed_after_a_restart_they_did_not_notice(workers_on, redis_server):
    running, _ = workers_on
    with httpx.Client(base_url=running.url, timeout=30) as http:
        assert _get(http, running).status_code == 404
        redis_server.kill()
        redis_server.start()
        time.sleep(1.2)
        replies = [_get(http, running).status_code for _ in range(6)]
    assert replies == [404] * 6


async def test_hung_redis_costs_one_timeout_per_probe_interval(redis_server):
    """Records in Redis (the --workers layout, in one process): once a request has timed out,
    the others are answered 503 at once, but one probe per interval."""
    from mockserver.core.config import MockConfig
    from mockserver.core.outage import RETRY_SECONDS
    from mockserver.core.state.redis import COMMAND_TIMEOUT_SECONDS
    from mockserver.testing.process import serve_in_process

    config = MockConfig(redis_url=redis_server.url, shared_records=True, clock="manual")
    async with serve_in_process(config) as running, httpx.AsyncClient(timeout=30) as http:

        async def timed_get() -> tuple[int, float]:
            started = time.monotonic()
            reply = await http.get(
                f"{running.url}/v1/stories/{SOME_UUID}", headers={"x-api-key": running.keys["pro"]}
            )
            return reply.status_code, time.monotonic() - started

        assert (await timed_get())[0] == 404
        redis_server.hang()
        try:
            assert (await timed_get())[0] == 503  # waits out one command timeout
            window = 2.0
            started = time.monotonic()
            tasks = []
            while time.monotonic() - started < window:
                tasks.append(asyncio.ensure_future(timed_get()))
                await asyncio.sleep(0.05)
            results = await asyncio.gather(*tasks)
        finally:
            redis_server.resume()
    waited = [t for status, t in results if t >= COMMAND_TIMEOUT_SECONDS / 2]
    print(f"\n{len(results)} requests during {window:g} s of hung Redis: {len(waited)} waited")
    assert {status for status, _ in results} == {503}
    assert len(waited) <= window / RETRY_SECONDS + 1
    assert len(results) >= 3 * len(waited)
