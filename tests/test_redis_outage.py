"""A real Redis outage: our own redis-server, killed and restarted under a running mock
(``--redis-url``, records in memory). Deduplication is skipped while Redis is gone, requests
still succeed, one warning is logged per outage, and the mock recovers by itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from mockserver.testing.process import MockProcess, RunningMock
from tests.limits_kit import code, remaining

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
            self.process.kill()
            self.process.wait(timeout=10)


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
