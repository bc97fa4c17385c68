"""The simulated clients: pollers, creators, a burst user and an auditor user.

Every request goes through ``ApiUser.call``, which hands the response to the process's
``RateLimitAuditor``. A 429 is an expected outcome, recorded as a success; a breach of the
contract is a failure named after the broken clause (``RateLimitClauseBroken('…')`` in the
report);
any other unexpected status is a failure too.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, task
from locust.exception import StopUser

from loadtests import session
from loadtests.keys import EXCLUSIVE, SHARED, KeyEntry
from loadtests.payloads import (
    API_KEY_HEADER,
    IDEMPOTENCY_HEADER,
    IN_PROGRESS,
    REPLAY_HEADER,
    story_body,
)
from mockserver.clause_ids import ClauseId
from mockserver.http.ratelimit_audit import LIMITER_CODE, WINDOW, Answer, KeyViolation, Verdict


class UnexpectedAnswer(Exception):
    """A status the client did not expect (not a rate-limit matter: counts as an error)."""


@dataclass
class AuditedResponse:
    """What one request got back, with the auditor's verdict on it."""

    status: int
    code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    verdict: Verdict | None = None

    @property
    def limited(self) -> bool:
        return self.status == 429 and self.code == LIMITER_CODE

    @property
    def retry_after(self) -> float:
        """Seconds to wait before trying again, as the server said (bounded by one window)."""
        seconds = self.verdict.retry_after if self.verdict else None
        return float(min(seconds or 1, WINDOW))


class ApiUser(FastHttpUser):
    """One API client holding one key; every answer is audited."""

    abstract = True
    role = SHARED
    label = "client"
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        pool = session.current.pool
        key = pool.lease(self.role) if pool is not None else None
        if key is None:
            self.environment.events.request.fire(
                request_type="SETUP",
                name=f"{type(self).__name__} key",
                response_time=0,
                response_length=0,
                exception=UnexpectedAnswer(f"no {self.role} key left in the keys file"),
                context={},
            )
            raise StopUser()
        self.key: KeyEntry = key
        self.book: str | None = None

    def on_stop(self) -> None:
        if getattr(self, "key", None) is not None and session.current.pool is not None:
            session.current.pool.release(self.key)

    def call(
        self,
        method: str,
        path: str,
        name: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        check: Any = None,
    ) -> AuditedResponse:
        """Send one request; ``check(reply)`` may name a further violation: ``(clause, check)``."""
        auditor = session.current.auditor
        user_class = type(self).__name__
        request_headers = {API_KEY_HEADER: self.key.api_key, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            request_headers["content-type"] = "application/json"
        ticket = auditor.begin(self.key.bucket, self.key.plan)
        with self.client.request(
            method,
            path,
            name=f"{method} {name} · {self.label}",
            data=data,
            headers=request_headers,
            catch_response=True,
        ) as response:
            if not response.status_code:
                auditor.lost(ticket, user_class)
                return AuditedResponse(0)  # locust records the connection error itself
            reply = _reply(response)
            reply.verdict = auditor.finish(
                ticket, Answer(reply.status, reply.headers, reply.code), user_class
            )
            violations = list(reply.verdict.violations)
            extra = check(reply) if check else None
            if extra:
                clause, name = extra
                violation = KeyViolation(clause, name, self.key.bucket, f"HTTP {reply.status}")
                auditor.record(violation)
                violations.append(violation)
            if violations:
                response.failure(session.RateLimitClauseBroken(violations[0].name))
            elif 200 <= reply.status < 300 or reply.status == 429:
                response.success()
            else:
                response.failure(UnexpectedAnswer(f"HTTP {reply.status} {reply.code or ''}"))
        return reply

    def create(
        self, idempotency_key: str | None = None, body: dict | None = None
    ) -> AuditedResponse:
        headers = {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else None
        reply = self.call("POST", "/v1/stories", "/v1/stories", body or story_body(), headers)
        if reply.status == 202:
            self.book = reply.data.get("bookId")
        return reply

    def poll(self) -> AuditedResponse:
        return self.call("GET", f"/v1/stories/{self.book}", "/v1/stories/{id}")


def _reply(response: Any) -> AuditedResponse:
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    try:
        payload = json.loads(response.content or b"null")
    except ValueError:
        payload = None
    envelope: dict[str, Any] = payload if isinstance(payload, dict) else {}
    error = envelope.get("error")
    data = envelope.get("data")
    return AuditedResponse(
        response.status_code,
        error.get("code") if isinstance(error, dict) else None,
        data if isinstance(data, dict) else {},
        headers,
    )


class SelfPacedUser(ApiUser):
    """Waits, between tasks, whatever its last task decided (``self.delay``)."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.delay = 0.0

    def wait_time(self) -> float:
        return self.delay


class PollerUser(SelfPacedUser):
    """Submits a book, then polls it with exponential backoff until it is done; honours
    ``retry-after`` on a 429."""

    weight = 6
    label = "poller"
    first_delay, max_delay, growth = 0.25, 2.0, 1.5

    @task
    def poll_or_submit(self) -> None:
        if self.book is None:
            reply = self.create(str(uuid.uuid4()))
            self.delay = reply.retry_after if reply.status == 429 else self.first_delay
            return
        reply = self.poll()
        if reply.status == 429:
            self.delay = reply.retry_after
        elif reply.status == 200 and reply.data.get("status") not in IN_PROGRESS:
            self.book, self.delay = None, self.first_delay
        elif reply.status == 200:
            self.delay = min(max(self.delay, self.first_delay) * self.growth, self.max_delay)
        else:
            self.book, self.delay = None, self.max_delay


class CreatorUser(ApiUser):
    """Creates books with an Idempotency-Key; retries 5xx and connection errors with the same
    key (exponential backoff) and 429 RATE_LIMIT_EXCEEDED after ``retry-after``. Now and then it
    replays a request it already made, which must return the same book, marked as a replay."""

    weight = 2
    label = "creator"
    wait_time = between(0.5, 2.0)
    attempts = 4
    replay_ratio = 0.1

    @task
    def create_book(self) -> None:
        key, body = str(uuid.uuid4()), story_body()
        for attempt in range(self.attempts):
            reply = self.create(key, body)
            if reply.status == 202:
                if random.random() < self.replay_ratio:
                    self._replay(key, body, reply.data)
                return
            if reply.limited:
                gevent.sleep(reply.retry_after)
            elif reply.status == 0 or reply.status >= 500:
                gevent.sleep(0.2 * 2**attempt * random.uniform(0.5, 1.5))
            else:
                return

    def _replay(self, key: str, body: dict[str, Any], first: dict[str, Any]) -> None:
        def same_book(reply: AuditedResponse) -> tuple[str, str] | None:
            if reply.status != 202:
                return None
            if reply.headers.get(REPLAY_HEADER) != "true" or reply.data != first:
                return ClauseId.IDEMPOTENCY_REPLAY, "replay did not return the original book"
            return None

        self.call(
            "POST",
            "/v1/stories",
            "/v1/stories (replay)",
            body,
            {IDEMPOTENCY_HEADER: key},
            check=same_book,
        )


class BurstUser(ApiUser):
    """Drives its own key past the per-minute limit as fast as it can, sends a few more that
    must all be refused, then waits ``retry-after`` and starts over: the next answer must be
    the first of a new window."""

    fixed_count = 1
    role = EXCLUSIVE
    label = "burst"
    wait_time = constant(0)
    overshoot = 3

    @task
    def burst(self) -> None:
        if self.book is None:
            reply = self.create(str(uuid.uuid4()))
            if reply.status != 202:
                gevent.sleep(reply.retry_after)
            return
        reply = self.poll()
        if reply.limited:
            for _ in range(self.overshoot):
                reply = self.poll()
            gevent.sleep(reply.retry_after if reply.limited else 0)


class AuditorUser(SelfPacedUser):
    """A client that trusts the headers: it spreads what ``x-ratelimit-remaining`` allows over
    what ``x-ratelimit-reset`` says is left of the window, and waits for the reset at 0. A 429
    is then always a lie of the headers (the auditor names which)."""

    fixed_count = 1
    role = EXCLUSIVE
    label = "auditor"

    @task
    def paced(self) -> None:
        reply = self.poll() if self.book else self.create(str(uuid.uuid4()))
        verdict = reply.verdict
        if reply.status == 429 or verdict is None:
            self.delay = reply.retry_after
        elif verdict.remaining == 0:
            self.delay = float(verdict.reset)
        else:
            self.delay = verdict.reset / (verdict.remaining + 1)
