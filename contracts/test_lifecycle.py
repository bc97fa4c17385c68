"""A generation job from 202 to its end, judged on one recorded history of polls."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from contracts.clauses import clause
from contracts.expect import assert_envelope
from contracts.jobs import BookRun
from contracts.terms import SPEC

#: ``unknown`` is the spec's status for a book whose task row does not exist yet: before pending.
RANK = {"unknown": -1, "pending": 0, "processing": 1, "completed": 2, "failed": 2}
UUID = SPEC.validator("Uuid")
ACCEPTED_STATUSES = SPEC.schema("CreateStoryAccepted")["properties"]["data"]["properties"][
    "status"
]["enum"]
COMPLETED_FIELDS = ("title", "slug", "summary", "coverImage", "completedAt")


def progress_of(run: BookRun) -> list[int]:
    """The ``progress`` of every read of the book; one that is not an integer fails the test."""
    progress = [story.get("progress") for story in run.stories]
    integers = [p for p in progress if isinstance(p, int) and not isinstance(p, bool)]
    assert integers == progress, f"progress is not an integer in every read: {progress}"
    return integers


def final_of(run: BookRun, status: str) -> dict[str, Any]:
    final = run.require_final()
    if final["status"] != status:
        pytest.skip(f"the book ended {final['status']}, not {status}")
    return final


@clause("create.accepted")
def test_accepted_create_returns_task_and_book_ids_and_pending(book_run: BookRun) -> None:
    book_run.require_book()
    created = book_run.created
    assert_envelope(created)
    data = created.data
    assert UUID.is_valid(data.get("taskId")), f"taskId is not a UUID: {created}"
    assert UUID.is_valid(data.get("bookId")), f"bookId is not a UUID: {created}"
    assert data.get("status") in ACCEPTED_STATUSES, f"not a job status: {created}"


@clause("create.pending")
def test_a_new_job_is_pending(book_run: BookRun) -> None:
    book_run.require_book()
    created = book_run.created
    assert created.data.get("status") == "pending", f"a new job is not pending: {created}"


@clause("schema.links")
def test_story_id_is_the_book_id_of_the_202(book_run: BookRun) -> None:
    book_id = book_run.require_book()
    ids = {str(story.get("id")).lower() for story in book_run.stories}
    assert ids == {book_id.lower()}, f"GET /v1/stories/{book_id} returned ids {ids}"


@clause("lifecycle.terminal")
def test_job_ends_completed_or_failed(book_run: BookRun) -> None:
    assert book_run.require_final()["status"] in ("completed", "failed")


@clause("lifecycle.forward")
def test_status_only_moves_forward(book_run: BookRun) -> None:
    book_run.require_final()
    statuses = [story.get("status") for story in book_run.stories]
    known = [s for s in statuses if isinstance(s, str) and s in RANK]
    assert known == statuses, f"unexpected statuses: {statuses}"
    for earlier, later in itertools.pairwise(known):
        assert RANK[later] >= RANK[earlier], f"status went back: {statuses}"
        if RANK[earlier] == 2:
            assert later == earlier, f"a finished job changed status: {statuses}"


@clause("lifecycle.forward")
def test_a_finished_book_stays_as_it_finished(book_run: BookRun) -> None:
    book_run.require_final()
    finished = [s for s in book_run.stories if s.get("status") in ("completed", "failed")]
    views = {(s["status"], s.get("progress"), len(s.get("pages") or [])) for s in finished}
    assert len(views) == 1, f"reads of the finished book differ: {sorted(views)}"


@clause("lifecycle.progress")
def test_progress_is_an_integer_from_0_to_100(book_run: BookRun) -> None:
    book_run.require_final()
    progress = progress_of(book_run)
    assert all(0 <= p <= 100 for p in progress), f"progress out of 0–100: {progress}"


@clause("lifecycle.progress-monotonic")
def test_progress_never_decreases(book_run: BookRun) -> None:
    book_run.require_final()
    progress = progress_of(book_run)
    assert progress == sorted(progress), f"progress decreased: {progress}"


@clause("lifecycle.progress-monotonic")
def test_completed_means_progress_100(book_run: BookRun) -> None:
    final = final_of(book_run, "completed")
    assert final["progress"] == 100, f"completed with progress {final['progress']}"


@clause("lifecycle.pages")
def test_pages_are_sorted_by_index(book_run: BookRun) -> None:
    book_run.require_final()
    for story in book_run.stories:
        indices = [page.get("index") for page in story.get("pages") or []]
        assert indices == sorted(indices), f"pages[] indices are {indices} ({story['status']})"


@clause("lifecycle.pages-gap-free")
def test_pages_are_without_gaps_or_repeats(book_run: BookRun) -> None:
    book_run.require_final()
    for story in book_run.stories:
        indices = [page.get("index") for page in story.get("pages") or []]
        if indices:
            expected = list(range(indices[0], indices[0] + len(indices)))
            assert indices == expected, f"pages[] indices are {indices} ({story['status']})"


@clause("lifecycle.pages")
def test_pages_grow_in_order(book_run: BookRun) -> None:
    book_run.require_final()
    histories = [story.get("pages") or [] for story in book_run.stories]
    for earlier, later in itertools.pairwise(histories):
        kept = [page.get("index") for page in later[: len(earlier)]]
        assert kept == [page.get("index") for page in earlier], (
            f"pages[] did not grow by appending: {kept} after {[p.get('index') for p in earlier]}"
        )


@clause("lifecycle.completed")
def test_completed_book_has_every_page_and_its_metadata(book_run: BookRun) -> None:
    final = final_of(book_run, "completed")
    pages = final.get("pages") or []
    expected = book_run.body["pageCount"] - 1
    assert len(pages) == expected, f"{len(pages)} pages, expected pageCount − 1 = {expected}"
    incomplete = [p.get("index") for p in pages if not p.get("content") or not p.get("imageUrl")]
    assert not incomplete, f"pages without content or imageUrl: {incomplete}"
    missing = [name for name in COMPLETED_FIELDS if final.get(name) is None]
    assert not missing, f"a completed book without {', '.join(missing)}"


@clause("lifecycle.failed")
def test_failed_book_has_an_error_message_and_no_completion_time(book_run: BookRun) -> None:
    final = final_of(book_run, "failed")
    assert final.get("errorMessage"), f"failed without errorMessage: {final}"
    assert final.get("completedAt") is None, f"failed with completedAt {final['completedAt']}"


def utc(value: Any, name: str) -> datetime:
    assert isinstance(value, str), f"{name} is {value!r}, not an ISO 8601 string"
    try:
        parsed = datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
    except ValueError:
        raise AssertionError(f"{name} {value!r} is not ISO 8601") from None
    assert parsed.utcoffset() == timedelta(0), f"{name} {value!r} is not in UTC"
    return parsed


@clause("lifecycle.timestamps")
def test_timestamps_are_utc_and_created_is_not_after_updated(book_run: BookRun) -> None:
    book_run.require_final()
    for story in book_run.stories:
        # The schema lets each timestamp be null (explicit or omitted); those given must be UTC.
        given = {
            name: utc(story[name], name)
            for name in ("createdAt", "updatedAt", "completedAt")
            if story.get(name) is not None
        }
        created, updated = given.get("createdAt"), given.get("updatedAt")
        if created and updated:
            assert created <= updated, f"createdAt {created} is after updatedAt {updated}"
