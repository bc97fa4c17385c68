"""A book's story as a pure function of its record and the clock: once settled it never
changes, which is what lets the gateway encode a settled story once."""

from __future__ import annotations

import pytest

from mockserver.core.books import Book, JobScenario

CREATED, PAGE_SECONDS, PAGES = 1_000_000.0, 10.0, 7
BASE = "http://mock"


def _book(**changes) -> Book:
    fields = {
        "id": "3f6c1c1e-8a4b-4c4e-9a7e-2b1f0c0d9e8a",
        "user_id": "user_x",
        "task_id": "5b0e7c8a-1d2e-4f3a-8b9c-0d1e2f3a4b5c",
        "source": "api",
        "story_idea": "A brave little fox learns to share his winter berries.",
        "age_range": "3-5",
        "style": "watercolor",
        "page_count": PAGES,
        "tone": "gentle",
        "language": "en",
        "created_at": CREATED,
        "page_seconds": PAGE_SECONDS,
    }
    return Book(**{**fields, **changes})


SETTLING = {
    "completed": _book(),
    "failed": _book(scenario=JobScenario(fail_at_page=3)),
    "without a job": _book(task_id=None, source="web", page_seconds=0.0),
    "generated instantly": _book(page_seconds=0.0),
}


@pytest.mark.parametrize("book", SETTLING.values(), ids=SETTLING.keys())
def test_settled_story_is_the_same_at_any_later_time(book):
    settled = book.render(book.settled_at, BASE)
    for later in (1.0, 60.0, 86_400.0, 365 * 86_400.0):
        assert book.render(book.settled_at + later, BASE) == settled


@pytest.mark.parametrize("name", ["completed", "failed"])
def test_story_still_changes_until_it_settles(name):
    book = SETTLING[name]
    assert book.render(book.settled_at - 0.001, BASE) != book.render(book.settled_at, BASE)


@pytest.mark.parametrize("name", ["without a job", "generated instantly"])
def test_book_with_nothing_to_wait_for_is_settled_from_its_creation(name):
    assert SETTLING[name].settled_at == CREATED


def test_completed_book_settles_when_its_last_page_is_written():
    book = _book()
    assert book.status(book.settled_at - 0.001) == "processing"
    assert book.status(book.settled_at) == "completed"


def test_failed_book_settles_when_it_fails():
    book = _book(scenario=JobScenario(fail_at_page=3))
    assert book.status(book.settled_at) == "failed"


def test_stalled_book_never_settles():
    assert _book(scenario=JobScenario(stall_at_page=3)).settled_at is None


def test_record_round_trips_after_its_derived_values_were_asked_for():
    book = _book(scenario=JobScenario(fail_at_page=3))
    assert book.settled_at is not None
    assert Book.from_record(book.to_record()) == book
