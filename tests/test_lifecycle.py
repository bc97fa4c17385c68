"""Generation lifecycle on the manual clock: statuses only forward, progress monotonic, pages
growing in order, the completed / failed / stalled invariants, deterministic content and real,
distinct PNG illustrations; the realistic and fast timings through the CLI."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime

import httpx
import pytest

from mockserver.core.config import REALISTIC_PAGE_SECONDS
from mockserver.testing.process import MockProcess
from tests.mock_kit import advance, create_book, error_of, mock_control, read_book

PAGE_SECONDS = 10
pytestmark = pytest.mark.mock_config(clock="manual", page_seconds=PAGE_SECONDS)
ORDER = ["pending", "processing", "completed", "failed"]


def _utc(timestamp: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp), timestamp
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC)


async def _timeline(client, mock, headers, body, scenario: str | None = None, step: float = 5):
    """Every poll of one book from creation to well past its end, in clock order."""
    extra = {"X-Mock-Scenario": scenario} if scenario else {}
    book = await create_book(client, {**headers, **extra}, body)
    polls = []
    for _ in range(int(PAGE_SECONDS * (body["pageCount"] + 3) / step)):
        polls.append(await read_book(client, headers, book["bookId"]))
        await advance(client, mock, step)
    return polls


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert kind == b"IHDR"
    assert (
        zlib.crc32(png[12 : 16 + length]) == struct.unpack(">I", png[16 + length : 20 + length])[0]
    )
    return struct.unpack(">II", png[16:24])


# --- the timeline ------------------------------------------------------------------------
async def test_new_book_is_pending_with_nothing_generated(client, pro_headers, create_body):
    accepted = await create_book(client, pro_headers, create_body)
    assert accepted["status"] == "pending"
    story = await read_book(client, pro_headers, accepted["bookId"])
    assert (story["status"], story["progress"], story["pages"]) == ("pending", 0, [])
    assert story["title"] is story["coverImage"] is story["completedAt"] is None


async def test_status_moves_only_forward_through_every_stage(
    client, mock, pro_headers, create_body
):
    statuses = [p["status"] for p in await _timeline(client, mock, pro_headers, create_body)]
    ranks = [ORDER.index(s) for s in statuses]
    assert ranks == sorted(ranks)
    assert set(statuses) == {"pending", "processing", "completed"}


async def test_progress_never_decreases_and_ends_at_100(client, mock, pro_headers, create_body):
    progress = [p["progress"] for p in await _timeline(client, mock, pro_headers, create_body)]
    assert progress == sorted(progress)
    assert progress[0] == 0 and progress[-1] == 100
    assert len(set(progress)) > 3


async def test_pages_grow_in_order_without_gaps_or_rewrites(client, mock, pro_headers, create_body):
    polls = await _timeline(client, mock, pro_headers, create_body)
    seen: list[dict] = []
    for story in polls:
        pages = story["pages"]
        assert [p["index"] for p in pages] == list(range(len(pages)))
        assert pages[: len(seen)] == seen
        seen = pages
    assert len(seen) == create_body["pageCount"] - 1


async def test_updated_at_never_decreases_nor_precedes_created_at(
    client, mock, pro_headers, create_body
):
    polls = await _timeline(client, mock, pro_headers, create_body)
    updated = [_utc(p["updatedAt"]) for p in polls]
    assert updated == sorted(updated)
    assert all(_utc(p["createdAt"]) <= _utc(p["updatedAt"]) for p in polls)


async def test_book_completes_exactly_after_cover_and_pages(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    end = PAGE_SECONDS * (create_body["pageCount"] + 1)
    await advance(client, mock, end - 0.5)
    assert (await read_book(client, pro_headers, book["bookId"]))["status"] == "processing"
    await advance(client, mock, 0.5)
    assert (await read_book(client, pro_headers, book["bookId"]))["status"] == "completed"


# --- the completed book ------------------------------------------------------------------
@pytest.mark.parametrize("page_count", [5, 15])
async def test_completed_book_has_n_minus_1_pages_and_every_field(
    client, mock, pro_headers, create_body, page_count
):
    book = await create_book(client, pro_headers, {**create_body, "pageCount": page_count})
    await advance(client, mock, PAGE_SECONDS * (page_count + 1))
    story = await read_book(client, pro_headers, book["bookId"])
    assert (story["status"], story["progress"], story["errorMessage"]) == ("completed", 100, None)
    assert len(story["pages"]) == page_count - 1
    assert all(p["content"] and p["imageUrl"] for p in story["pages"])
    for field in ("title", "slug", "summary", "coverImage", "completedAt"):
        assert story[field], field
    assert story["source"] == "api"


async def test_timestamps_are_utc_iso8601_in_order(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    story = await read_book(client, pro_headers, book["bookId"])
    created, updated, completed = (
        _utc(story[k]) for k in ("createdAt", "updatedAt", "completedAt")
    )
    assert created <= completed <= updated
    clock = await mock_control(client, mock).clock()
    assert updated <= _utc(clock["now"])


async def test_title_and_summary_are_derived_from_the_story_idea(
    client, mock, pro_headers, create_body
):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    story = await read_book(client, pro_headers, book["bookId"])
    assert "Little Fox" in story["title"]
    assert create_body["storyIdea"] in story["summary"]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", story["slug"])
    assert story["slug"].startswith("little-fox")


async def test_same_idea_gives_the_same_title_and_summary(client, mock, pro_headers, create_body):
    first = await create_book(client, pro_headers, create_body)
    second = await create_book(client, pro_headers, create_body)
    other = await create_book(
        client, pro_headers, {**create_body, "storyIdea": "Robots learning to bake bread."}
    )
    await advance(client, mock, 3600)
    a, b, c = [await read_book(client, pro_headers, x["bookId"]) for x in (first, second, other)]
    assert (a["title"], a["summary"]) == (b["title"], b["summary"])
    assert a["title"] != c["title"]
    assert a["slug"] != b["slug"]  # one book, one URL


async def test_reading_a_book_twice_gives_identical_content(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    assert await read_book(client, pro_headers, book["bookId"]) == await read_book(
        client, pro_headers, book["bookId"]
    )


async def test_first_page_continues_the_idea_mid_sentence(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    first = (await read_book(client, pro_headers, book["bookId"]))["pages"][0]["content"]
    assert first.startswith("Once upon a time, a little fox")


# --- illustrations -----------------------------------------------------------------------
async def test_cover_and_pages_are_distinct_real_pngs(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    story = await read_book(client, pro_headers, book["bookId"])
    urls = [story["coverImage"], *(p["imageUrl"] for p in story["pages"])]
    images = []
    for url in urls:
        assert url.startswith(mock.url)
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert _png_size(response.content) == (64, 64)
        images.append(response.content)
    assert len(set(images)) == len(urls)


async def test_illustrations_differ_between_books(client, mock, pro_headers, create_body):
    first = await create_book(client, pro_headers, create_body)
    second = await create_book(client, pro_headers, create_body)
    await advance(client, mock, 3600)
    covers = [
        (
            await client.get((await read_book(client, pro_headers, b["bookId"]))["coverImage"])
        ).content
        for b in (first, second)
    ]
    assert covers[0] != covers[1]


async def test_image_of_a_page_not_yet_written_is_404(client, mock, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    await advance(client, mock, PAGE_SECONDS * 3)
    story = await read_book(client, pro_headers, book["bookId"])
    assert len(story["pages"]) == 1
    written = await client.get(story["pages"][0]["imageUrl"])
    assert written.status_code == 200
    unwritten = story["pages"][0]["imageUrl"].replace("/0.png", "/1.png")
    error_of(await client.get(unwritten), 404, "NOT_FOUND")


async def test_image_of_an_unknown_book_is_404(client):
    error_of(
        await client.get("/assets/660e8400-e29b-41d4-a716-446655440001/cover.png"), 404, "NOT_FOUND"
    )


# --- failed and stalled ------------------------------------------------------------------
async def test_failed_book_has_an_error_message_and_no_completion(
    client, mock, pro_headers, create_body
):
    story = (await _timeline(client, mock, pro_headers, create_body, "fail-at-page=3"))[-1]
    assert story["status"] == "failed"
    assert story["errorMessage"]
    assert story["completedAt"] is None
    assert story["progress"] < 100
    assert len(story["pages"]) < create_body["pageCount"] - 1


async def test_failed_book_never_changes_again(client, mock, pro_headers, create_body):
    polls = await _timeline(client, mock, pro_headers, create_body, "fail-at-page=3")
    failed = [p for p in polls if p["status"] == "failed"]
    assert len(failed) > 2 and all(p == failed[0] for p in failed)
    await advance(client, mock, 86400 * 3)
    assert await read_book(client, pro_headers, failed[0]["id"]) == failed[0]


async def test_stalled_book_stays_processing_forever(client, mock, pro_headers, create_body):
    polls = await _timeline(client, mock, pro_headers, create_body, "stall-at-page=3")
    await advance(client, mock, 86400 * 3)
    story = await read_book(client, pro_headers, polls[0]["id"])
    assert story == polls[-1]
    assert story["status"] == "processing"
    assert story["progress"] < 100
    assert story["completedAt"] is story["errorMessage"] is None


@pytest.mark.parametrize(("scenario", "status"), [("fail", "failed"), ("stall", "processing")])
async def test_forced_page_past_the_last_one_still_never_completes(
    client, mock, pro_headers, create_body, scenario, status
):
    book = await create_book(
        client, {**pro_headers, "X-Mock-Scenario": f"{scenario}-at-page=99"}, create_body
    )
    await advance(client, mock, 3600)
    story = await read_book(client, pro_headers, book["bookId"])
    assert (story["status"], story["completedAt"]) == (status, None)
    assert story["progress"] < 100


# --- timings through the CLI -------------------------------------------------------------
def _sync_create(running, client: httpx.Client, body: dict) -> str:
    response = client.post("/v1/stories", json=body, headers={"x-api-key": running.keys["pro"]})
    return response.json()["data"]["bookId"]


def _sync_status(running, client: httpx.Client, book_id: str) -> str:
    response = client.get(f"/v1/stories/{book_id}", headers={"x-api-key": running.keys["pro"]})
    return response.json()["data"]["status"]


def _sync_advance(running, seconds: float) -> None:
    running.control().advance_clock(seconds)


def test_realistic_mode_takes_13_seconds_per_page(create_body):
    after = [
        REALISTIC_PAGE_SECONDS - 0.1,
        0.1,
        REALISTIC_PAGE_SECONDS * create_body["pageCount"] - 0.1,
        0.1,
    ]
    observed = []
    with (
        MockProcess("--realistic", "--clock", "manual") as running,
        httpx.Client(base_url=running.url) as client,
    ):
        book_id = _sync_create(running, client, create_body)
        for seconds in after:
            _sync_advance(running, seconds)
            observed.append(_sync_status(running, client, book_id))
    assert REALISTIC_PAGE_SECONDS == 13
    assert observed == ["pending", "processing", "processing", "completed"]


def test_default_mode_completes_a_book_within_seconds(create_body):
    with MockProcess() as running, httpx.Client(base_url=running.url) as client:
        book_id = _sync_create(running, client, create_body)
        _sync_advance(running, 5)
        assert _sync_status(running, client, book_id) == "completed"
