"""Prism, a tool nobody here wrote, as a second opinion on the mock: ``prism proxy openapi.yaml
<mock> --errors`` forwards each request and checks the answer against the spec, turning any
violation into its own 500 ``problem+json`` with an ``sl-violations`` header.

Prism answers requests that break the spec itself (422, and its own 401/404/405), so only valid
requests reach the mock: the mock's 400s are judged here through the one a valid request can
get (a malformed ``X-Mock-Scenario``), and the rest of its request validation by the other tests.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from mockserver.testing.process import MockProcess, RunningMock
from tests.node_kit import ROOT, node_tool

LISTENING = re.compile(r"Prism is listening on (http://\S+)")
BOOK = {
    "storyIdea": "A little fox who learns to share carrots with forest friends.",
    "ageRange": "4-7",
    "style": "watercolor",
    "pageCount": 5,
    "tone": "heartwarming",
    "language": "english",
}


class PrismProcess:
    """``prism proxy openapi.yaml <upstream> --errors`` on a free port."""

    def __init__(self, upstream: str, *, startup_timeout: float = 60.0) -> None:
        command = [str(node_tool("prism")), "proxy", str(ROOT / "openapi.yaml"), upstream]
        command += ["--errors", "--host", "127.0.0.1", "--port", "0"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        #: Prism's last log lines, for failure messages; read on so its pipe never fills.
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        watchdog = threading.Timer(startup_timeout, self.stop)
        watchdog.start()
        try:
            self.url = self._read_url()
        finally:
            watchdog.cancel()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read_url(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            found = LISTENING.search(line)
            if found:
                return found.group(1)
        self.stop()
        raise RuntimeError("prism did not start:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Proxied:
    prism: httpx.Client
    mock: RunningMock
    admin: httpx.Client

    def new_key(self, plan: str = "pro") -> str:
        """A fresh user's key: each test has its own limits and books."""
        reply = self.admin.post("/_mock/users", json={"plan": plan})
        reply.raise_for_status()
        return reply.json()["data"]["apiKey"]

    def create(self, key: str, body: dict[str, Any] = BOOK, **headers: str) -> httpx.Response:
        return self.prism.post("/v1/stories", json=body, headers={"x-api-key": key, **headers})

    def get(self, key: str, book_id: str, **headers: str) -> httpx.Response:
        return self.prism.get(f"/v1/stories/{book_id}", headers={"x-api-key": key, **headers})


@pytest.fixture(scope="module")
def proxied() -> Iterator[Proxied]:
    """One mock (manual clock: tests move time) and one Prism in front of it, per module."""
    node_tool("prism")
    with MockProcess("--clock", "manual", "--no-access-log") as mock:
        prism = PrismProcess(mock.url)
        try:
            with (
                httpx.Client(base_url=prism.url, timeout=30) as through_prism,
                httpx.Client(base_url=mock.url, headers=mock.admin_headers) as admin,
            ):
                yield Proxied(through_prism, mock, admin)
        finally:
            prism.stop()


def judged(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The mock's answer as Prism passed it on: Prism found no violation."""
    assert "sl-violations" not in response.headers, response.headers["sl-violations"]
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert "aiohttp" in response.headers.get("server", ""), "Prism answered this itself"
    assert response.status_code == status, response.text
    body = response.json()
    if code is not None:
        assert body["error"]["code"] == code
    return body


# --- create, poll, replay, conflict ---------------------------------------------------------
def test_create_then_poll_to_completion(proxied):
    key = proxied.new_key()
    book_id = judged(proxied.create(key), 202)["data"]["bookId"]
    assert judged(proxied.get(key, book_id), 200)["data"]["status"] in ("pending", "processing")
    proxied.admin.post("/_mock/clock/advance", json={"seconds": 0.3}).raise_for_status()
    assert judged(proxied.get(key, book_id), 200)["data"]["status"] == "processing"
    proxied.admin.post("/_mock/clock/advance", json={"seconds": 60}).raise_for_status()
    story = judged(proxied.get(key, book_id), 200)["data"]
    assert (story["status"], story["progress"], len(story["pages"])) == ("completed", 100, 4)


def test_a_replay_returns_the_first_ids(proxied):
    key, idempotency = proxied.new_key(), {"Idempotency-Key": str(uuid.uuid4())}
    first = judged(proxied.create(key, **idempotency), 202)["data"]
    replay = proxied.create(key, **idempotency)
    assert judged(replay, 202)["data"]["bookId"] == first["bookId"]
    assert replay.headers["idempotent-replayed"] == "true"


def test_a_reused_key_with_another_body_is_a_conflict(proxied):
    key, idempotency = proxied.new_key(), {"Idempotency-Key": str(uuid.uuid4())}
    judged(proxied.create(key, **idempotency), 202)
    other = {**BOOK, "pageCount": 6}
    judged(proxied.create(key, other, **idempotency), 409, "IDEMPOTENCY_CONFLICT")


# --- refusals -------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["unknown", "revoked"])
def test_an_unusable_key_is_401(proxied, who):
    key = "cbk_live_" + "0" * 32 if who == "unknown" else proxied.mock.keys["revoked"]
    judged(proxied.create(key), 401, "INVALID_API_KEY")


def test_a_free_plan_key_is_403(proxied):
    judged(proxied.get(proxied.mock.keys["free"], str(uuid.uuid4())), 403, "PLAN_REQUIRED")


def test_a_suspended_key_is_403(proxied):
    created = proxied.admin.post("/_mock/users", json={"plan": "pro"}).json()["data"]
    proxied.admin.post(f"/_mock/keys/{created['keyId']}/suspend").raise_for_status()
    judged(proxied.create(created["apiKey"]), 403, "FORBIDDEN")


def test_an_unknown_or_foreign_book_is_404(proxied):
    key = proxied.new_key()
    judged(proxied.get(key, str(uuid.uuid4())), 404, "NOT_FOUND")
    foreign = judged(proxied.create(proxied.new_key()), 202)["data"]["bookId"]
    judged(proxied.get(key, foreign), 404, "NOT_FOUND")


def test_the_per_minute_limit_is_429_with_retry_after(proxied):
    key, book_id = proxied.new_key(), str(uuid.uuid4())
    first = proxied.get(key, book_id)
    judged(first, 404)
    for _ in range(int(first.headers["x-ratelimit-limit"]) - 1):
        judged(proxied.get(key, book_id), 404)
    refused = proxied.get(key, book_id)
    judged(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("usage", "code"),
    [({"booksToday": 50}, "DAILY_CAP_EXCEEDED"), ({"creditsUsed": 500}, "INSUFFICIENT_CREDITS")],
)
def test_a_spent_quota_is_429_with_retry_after(proxied, usage, code):
    created = proxied.admin.post("/_mock/users", json={"plan": "pro"}).json()["data"]
    proxied.admin.put(f"/_mock/users/{created['userId']}/usage", json=usage).raise_for_status()
    refused = proxied.create(created["apiKey"])
    judged(refused, 429, code)
    assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "INTERNAL_ERROR"), (502, "EXTERNAL_SERVICE_ERROR"), (503, "EXTERNAL_SERVICE_ERROR")],
)
def test_a_forced_server_error_keeps_to_the_spec(proxied, status, code):
    key = proxied.new_key()
    judged(proxied.create(key, **{"X-Mock-Scenario": f"error={status}"}), status, code)
    forced = proxied.get(key, str(uuid.uuid4()), **{"X-Mock-Scenario": f"error={status}"})
    judged(forced, status, code)


def test_a_malformed_scenario_header_is_400(proxied):
    judged(proxied.create(proxied.new_key(), **{"X-Mock-Scenario": "bogus"}), 400, "BAD_REQUEST")


# --- what Prism itself does -----------------------------------------------------------------
def test_prism_answers_a_request_that_breaks_the_spec_itself(proxied):
    answer = proxied.create(proxied.new_key(), {**BOOK, "pageCount": 3})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "server" not in answer.headers  # never forwarded to the mock


class _OffContract(BaseHTTPRequestHandler):
    """An upstream whose story has no status, progress or pages and no rate-limit headers."""

    def do_GET(self) -> None:
        story = {"id": "4cf184ed-0a29-4860-a257-0f8998357121"}
        body = json.dumps({"ok": True, "requestId": "r", "data": story}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_prism_turns_an_off_contract_answer_into_a_violation():
    node_tool("prism")
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _OffContract)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    prism = PrismProcess(f"http://127.0.0.1:{upstream.server_port}")
    try:
        answer = httpx.get(
            f"{prism.url}/v1/stories/{uuid.uuid4()}",
            headers={"x-api-key": "cbk_live_" + "0" * 32},
        )
    finally:
        prism.stop()
        upstream.shutdown()
        upstream.server_close()
    assert answer.status_code == 500
    assert "status" in answer.headers["sl-violations"]
    with pytest.raises(AssertionError):
        judged(answer, 200)
