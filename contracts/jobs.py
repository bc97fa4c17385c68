"""Creating a book and watching its job: every poll is kept, so the lifecycle tests judge one
recorded history instead of each spending credits on a book of its own."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from contracts.client import SPEC, Api, ApiAnswer, fresh_idempotency_key
from contracts.control import Account

TERMINAL = ("completed", "failed")
#: Reads of a finished book, to see that it stays finished.
TERMINAL_REREADS = 3
_FIRST_POLL = 0.02
_POLL_GROWTH = 1.15
_MAX_POLL = 2.0


def valid_body(**overrides: Any) -> dict[str, Any]:
    """The spec's own example body, at the cheapest page count unless overridden."""
    _, _, operation = SPEC.operation("createStory")
    example = operation["requestBody"]["content"]["application/json"]["examples"]["fox"]["value"]
    body = copy.deepcopy(example)
    body["pageCount"] = SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["minimum"]
    body.update(overrides)
    return body


@dataclass
class BookRun:
    body: dict[str, Any]
    created: ApiAnswer
    polls: list[ApiAnswer] = field(default_factory=list)
    timeout: float = 0.0
    timed_out: bool = False

    @property
    def book_id(self) -> str | None:
        data = self.created.data
        return data.get("bookId") if isinstance(data, dict) else None

    def require_book(self) -> str:
        """The book id, or fail the calling test: the create itself was not accepted."""
        if self.created.status != 202 or not self.book_id:
            pytest.fail(f"creating the book was not accepted: {self.created}")
        return self.book_id

    @property
    def stories(self) -> list[dict[str, Any]]:
        return [r.data for r in self.polls if r.status == 200 and isinstance(r.data, dict)]

    def require_final(self) -> dict[str, Any]:
        """The last story read, which must be terminal."""
        self.require_book()
        bad = [r for r in self.polls if r.status != 200]
        if bad:
            pytest.fail(f"reading the book failed: {bad[0]}")
        if self.timed_out or not self.stories:
            pytest.fail(f"the job was not completed or failed within {self.timeout:g} s")
        return self.stories[-1]


def follow(api: Api, account: Account, body: dict[str, Any], timeout: float) -> BookRun:
    """Create a book, poll it with backoff until it is terminal (bounded by ``timeout``), then
    read it a few more times. Never asserts: tests judge the record. A long job is said out
    loud at least every ``LifeLine.interval`` seconds."""
    created = api.create(body, key=account.key, idempotency_key=fresh_idempotency_key())
    run = BookRun(body, created, timeout=timeout)
    if created.status != 202 or not run.book_id:
        return run
    lifeline = api.lifeline
    started = lifeline.clock()
    interval, rereads = _FIRST_POLL, 0
    while True:
        answer = api.get_story(run.book_id, key=account.key)
        run.polls.append(answer)
        if answer.status != 200:
            return run
        story = answer.data if isinstance(answer.data, dict) else {}
        status = story.get("status")
        waited = lifeline.clock() - started
        if status in TERMINAL:
            rereads += 1
            if rereads > TERMINAL_REREADS:
                return run
        elif waited >= timeout:
            run.timed_out = True
            return run
        lifeline.still(
            f"waiting for book {run.book_id}: {status}, progress {story.get('progress')} %, "
            f"{len(story.get('pages') or [])} pages, {waited:.0f} s of at most {timeout:g} s",
            since=started,
        )
        lifeline.sleep(interval)
        interval = min(_MAX_POLL, interval * _POLL_GROWTH)
