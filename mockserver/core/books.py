"""Books and their generation job.

A job's state is a pure function of its record and the clock: no background worker, so the
lifecycle is deterministic, identical in every worker process, and moves only when the clock
does. Timeline for ``pageCount`` N and ``pageSeconds`` p, from ``createdAt`` T:

* ``pending`` during [T, T+p); then ``processing``;
* step k (1..N) completes at T+(k+1)p: step 1 writes title, slug, summary and cover, each later
  step one entry of ``pages[]``; after step N the book is ``completed`` (progress 100);
* a forced failure at page K makes the job ``failed`` at T+(K+1)p with K−1 steps done;
  a forced stall at page K keeps it ``processing`` with K−1 steps done, forever. A K past the
  last page means the last page: a forced job never completes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any

from mockserver.core import content
from mockserver.core.clock import isoformat
from mockserver.core.validation import whole_number

STORAGE_PROVIDER = "mock"


@dataclass(frozen=True)
class JobScenario:
    fail_at_page: int | None = None
    stall_at_page: int | None = None
    error_message: str | None = None

    @property
    def stops_at(self) -> int | None:
        return self.fail_at_page or self.stall_at_page


@dataclass(frozen=True)
class Book:
    id: str
    user_id: str
    task_id: str | None
    source: str
    story_idea: str | None
    age_range: str | None
    style: str | None
    page_count: int | None
    tone: str | None
    language: str | None
    created_at: float
    page_seconds: float
    scenario: JobScenario = field(default_factory=JobScenario)
    title: str | None = None
    #: The SHA-256 of the Idempotency-Key it was created with: its record goes when it goes.
    idempotency_digest: str | None = None

    # --- persistence ---------------------------------------------------------------------
    def __hash__(self) -> int:
        """By id alone: a settled story's encoding is cached per book on every poll, and
        hashing every field each time cost more than the lookup saved (equal books share ids,
        so the hash stays consistent with equality)."""
        return hash(self.id)

    def to_record(self) -> list[Any]:
        """What cannot be derived, as a JSON array in field order: no field names, no title,
        summary, pages or URLs (``render`` derives them), so a mock holding many books stays
        small in memory and in Redis."""
        scenario = self.scenario
        return [
            *(getattr(self, name) for name in _RECORD_FIELDS),
            scenario.fail_at_page,
            scenario.stall_at_page,
            scenario.error_message,
        ]

    @classmethod
    def from_record(cls, record: list[Any]) -> Book:
        fields = dict(zip(_RECORD_FIELDS, record, strict=False))
        fields["scenario"] = _scenario(*record[len(_RECORD_FIELDS) :])
        return cls(**fields)

    # --- timeline ------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return max(1, self.page_count or 1)

    def step_time(self, k: int) -> float:
        return self.created_at + (k + 1) * self.page_seconds

    @property
    def stop_step(self) -> int | None:
        """The step a forced failure or stall stops at (never past the last one)."""
        k = self.scenario.stops_at
        return None if k is None else min(k, self.steps)

    @property
    def failure_time(self) -> float | None:
        if self.scenario.fail_at_page is None or self.stop_step is None:
            return None
        return self.step_time(self.stop_step)

    def steps_done(self, now: float) -> int:
        """Steps whose output is visible at ``now``: all once completed, frozen once failed or
        stalled, none without a task."""
        status = self.status(now)
        if status == "unknown":
            return 0
        if status == "completed":
            return self.steps
        cap = (self.stop_step or self.steps) - 1
        if status == "failed" or self.page_seconds <= 0:
            return cap
        done = math.floor((now - self.created_at) / self.page_seconds) - 1
        return max(0, min(cap, done))

    @functools.cached_property  # asked on every poll; a Book never changes
    def settled_at(self) -> float | None:
        """From when on ``render`` gives the same story at any time (completed, failed, or no
        job at all); None while the job can still move (running, or stalled forever)."""
        if self.task_id is None:
            return self.created_at
        if self.failure_time is not None:
            return self.failure_time
        return None if self.stop_step is not None else self.step_time(self.steps)

    def status(self, now: float) -> str:
        if self.task_id is None:
            return "unknown"
        failure = self.failure_time
        if failure is not None and now >= failure:
            return "failed"
        if self.stop_step is None and now >= self.step_time(self.steps):
            return "completed"
        if now < self.created_at + self.page_seconds:
            return "pending"
        return "processing"

    def updated_at(self, now: float, status: str, done: int) -> float:
        if status == "failed":
            return self.failure_time or self.created_at
        if done == 0:
            started = self.created_at + self.page_seconds
            return started if status == "processing" else self.created_at
        return self.step_time(done) if self.page_seconds > 0 else self.created_at

    # --- the public representation -------------------------------------------------------
    def render(self, now: float, asset_base: str) -> dict[str, Any]:
        """The ``Story`` object of the spec as of ``now``."""
        status = self.status(now)
        done = self.steps_done(now)
        idea = self.story_idea or ""
        title = self.title or (content.title_for(idea) if done >= 1 else None)
        progress = 100 if status == "completed" else (done * 100) // self.steps
        updated = self.updated_at(now, status, done)
        assets = f"{asset_base}/assets/{self.id}"
        return {
            "id": self.id,
            "title": title,
            "slug": content.slug_for(title, self.id) if title else None,
            "coverImage": f"{assets}/cover.png" if done >= 1 else None,
            "summary": content.summary_for(idea, self.tone, self.age_range) if done >= 1 else None,
            "storyIdea": self.story_idea,
            "ageRange": self.age_range,
            "style": self.style,
            "pageCount": self.page_count,
            "tone": self.tone,
            "language": self.language,
            "source": self.source,
            "storageProvider": STORAGE_PROVIDER if done >= 1 else None,
            "createdAt": isoformat(self.created_at),
            "updatedAt": isoformat(max(updated, self.created_at)),
            "status": status,
            "progress": progress,
            "errorMessage": self.error_message() if status == "failed" else None,
            "completedAt": isoformat(
                self.step_time(self.steps) if self.page_seconds > 0 else self.created_at
            )
            if status == "completed"
            else None,
            "pages": [
                {
                    "index": index,
                    "title": None,
                    "content": content.page_text(self.id, idea, index),
                    "imageUrl": f"{assets}/{index}.png",
                }
                for index in range(max(0, done - 1))
            ],
        }

    def error_message(self) -> str:
        page = self.scenario.fail_at_page
        return self.scenario.error_message or f"Illustration generation failed on page {page}."

    def has_asset(self, name: str, now: float) -> bool:
        done = self.steps_done(now)
        if name == "cover":
            return done >= 1
        index = whole_number(name)
        return index is not None and index < done - 1


_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(Book) if field.name != "scenario")
_NO_SCENARIO = JobScenario()


def _scenario(
    fail_at_page: int | None, stall_at_page: int | None, error_message: str | None
) -> JobScenario:
    """Books without a forced scenario (nearly all) share one value."""
    if fail_at_page is None and stall_at_page is None and error_message is None:
        return _NO_SCENARIO
    return JobScenario(fail_at_page, stall_at_page, error_message)
