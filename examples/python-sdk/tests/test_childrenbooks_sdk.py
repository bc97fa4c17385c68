"""The SDK's tests, written only against the toolkit's fixtures: ``cbk_respx`` (the mock
in-process, behind respx) and ``cbk_server`` (a live mock on a free port). Most run through
both. Every wait the SDK makes is virtual: its ``sleep`` advances the mock's clock. The mock's
request journal (``cbk.requests()``) shows what the SDK actually sent, and when."""

from __future__ import annotations

import itertools

import httpx
import pytest
from childrenbooks_sdk import (
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    PollPolicy,
    RateLimitError,
    ServerError,
    StoryFailedError,
    WaitTimeoutError,
)

STORY = {
    "age_range": "4-7",
    "style": "watercolor",
    "page_count": 7,
    "tone": "heartwarming",
    "language": "english",
}
IDEA = "A little fox who learns to share carrots with forest friends."
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(params=["cbk_respx", "cbk_server"])
def cbk(request):
    """The mock, in-process or live: the same control operations either way."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def sdk_for(cbk, slept):
    """A ``Client`` for one of the mock's dev users (``pro``, ``free``, ``revoked``, ``other``)."""
    opened: list[Client] = []

    def make(user: str = "pro", **options) -> Client:
        opened.append(
            Client(cbk.keys[user], base_url=cbk.url, sleep=_virtual(cbk, slept), **options)
        )
        return opened[-1]

    yield make
    for sdk in opened:
        sdk.close()


@pytest.fixture
def client(sdk_for) -> Client:
    return sdk_for("pro")


@pytest.fixture
async def async_client(cbk, slept):
    virtual = _virtual(cbk, slept)

    async def sleep(seconds: float) -> None:
        virtual(seconds)

    async with AsyncClient(cbk.keys["pro"], base_url=cbk.url, sleep=sleep) as sdk:
        yield sdk


def test_generate_story_returns_the_completed_book(client):
    story = client.generate_story(IDEA, **STORY)
    assert story.status == "completed"
    assert story.cover_image and story.completed_at
    assert [page.index for page in story.pages] == list(range(STORY["page_count"] - 1))


async def test_async_generate_story_returns_the_completed_book(async_client):
    story = await async_client.generate_story(IDEA, **STORY)
    assert (story.status, len(story.pages)) == ("completed", STORY["page_count"] - 1)


def test_failed_job_raises_story_failed_with_its_message(client, cbk):
    cbk.fail_next_job(at_page=3, error_message="The illustrator spilled the ink.")
    with pytest.raises(StoryFailedError) as failed:
        client.generate_story(IDEA, **STORY)
    assert failed.value.story.error_message == "The illustrator spilled the ink."
    assert len(failed.value.story.pages) == 1


def test_wait_polls_less_and_less_often_then_gives_up_on_a_stalled_job(sdk_for, cbk, slept):
    cbk.stall_next_job(at_page=2)
    poll = PollPolicy(interval=2, factor=2, max_interval=10, timeout=40)
    with pytest.raises(WaitTimeoutError) as timed_out:
        sdk_for(poll=poll).generate_story(IDEA, **STORY)
    assert slept == [2, 4, 8, 10, 10]
    assert timed_out.value.story.status == "processing"


def test_rate_limited_request_is_retried_after_retry_after(client, cbk, slept):
    book = client.create_story(IDEA, **STORY)
    while client.rate_limit.remaining:
        client.get_story(book.book_id)
    window_left = client.rate_limit.reset
    assert client.get_story(book.book_id).id == book.book_id
    assert slept == [window_left]


def test_polls_are_spaced_as_the_poll_policy_says_on_the_mock_clock(sdk_for, cbk):
    cbk.stall_next_job(at_page=2)
    poll = PollPolicy(interval=2, factor=2, max_interval=10, timeout=40)
    with pytest.raises(WaitTimeoutError):
        sdk_for(poll=poll).generate_story(IDEA, **STORY)
    polls = cbk.requests(method="GET")[::-1]
    gaps = [(b.arrived_at - a.arrived_at).total_seconds() for a, b in itertools.pairwise(polls)]
    assert gaps == list(itertools.islice(poll.intervals(), len(gaps))) == [2, 4, 8, 10, 10]


def test_after_a_429_the_next_request_waits_retry_after_on_the_mock_clock(client, cbk):
    book = client.create_story(IDEA, **STORY)
    while client.rate_limit.remaining:
        client.get_story(book.book_id)
    client.get_story(book.book_id)
    retried, refused = cbk.requests(path=f"/v1/stories/{book.book_id}", limit=2)
    assert (refused.status, refused.check, retried.status) == (429, "perMinuteLimit", 200)
    waited = (retried.arrived_at - refused.answered_at).total_seconds()
    assert waited >= refused.retry_after > 0
    assert retried.arrived_at >= refused.resets_at


def test_poll_waits_for_the_window_when_no_requests_remain(client, slept):
    book = client.create_story(IDEA, **STORY)
    while client.rate_limit.remaining > 1:
        client.get_story(book.book_id)
    window_left = client.rate_limit.reset
    story = client.wait_for_story(book.book_id)
    assert story.status == "completed"
    assert slept == [window_left]


def test_server_errors_are_retried_and_the_book_is_created_once(client, cbk, slept):
    cbk.queue_errors(503, count=2)
    client.create_story(IDEA, **STORY)
    assert len(slept) == 2
    assert cbk.usage("pro")["booksToday"] == 1


def test_a_retried_create_reuses_its_idempotency_key(client, cbk):
    cbk.queue_errors(503, count=2)
    client.create_story(IDEA, **STORY)
    attempts = cbk.requests(method="POST", path="/v1/stories")[::-1]
    assert [attempt.status for attempt in attempts] == [503, 503, 202]
    assert attempts[0].idempotency_key
    assert {attempt.header("Idempotency-Key") for attempt in attempts} == {
        attempts[0].idempotency_key
    }


def test_server_errors_beyond_the_retries_are_raised(client, cbk, slept):
    cbk.queue_errors(500, count=client.retry.max_retries + 1)
    with pytest.raises(ServerError) as failed:
        client.create_story(IDEA, **STORY)
    assert failed.value.code == "INTERNAL_ERROR"
    assert len(slept) == client.retry.max_retries


def test_lost_answer_is_retried_with_the_same_key_and_replayed(cbk_respx, slept):
    lost: list[httpx.Response] = []

    def lose_the_first_answer(request: httpx.Request) -> httpx.Response | None:
        if lost:
            return None  # no match: the mock answers
        lost.append(cbk_respx.handle(request))
        raise httpx.ReadTimeout("answer lost on the way back", request=request)

    cbk_respx.post("/v1/stories").mock(side_effect=lose_the_first_answer)
    with Client(cbk_respx.keys["pro"], sleep=_virtual(cbk_respx, slept)) as sdk:
        accepted = sdk.create_story(IDEA, **STORY)
    assert accepted.replayed
    assert accepted.book_id == lost[0].json()["data"]["bookId"]
    assert cbk_respx.usage("pro")["booksToday"] == 1
    first, retry = cbk_respx.requests(method="POST")[::-1]
    assert retry.idempotency_key == first.idempotency_key
    assert (first.replayed, retry.replayed) == (False, True)


def test_daily_cap_is_raised_at_once_without_retrying(client, cbk, slept):
    cbk.set_usage("pro", books_today=cbk.usage("pro")["booksPerDay"])
    with pytest.raises(RateLimitError) as capped:
        client.create_story(IDEA, **STORY)
    assert capped.value.code == "DAILY_CAP_EXCEEDED"
    assert capped.value.retry_after
    assert slept == []


def test_invalid_request_names_the_offending_fields(client):
    with pytest.raises(BadRequestError) as invalid:
        client.create_story("short", **{**STORY, "page_count": 99})
    assert set(invalid.value.fields) == {"storyIdea", "pageCount"}


def test_revoked_key_raises_authentication_error(sdk_for):
    with pytest.raises(AuthenticationError) as refused:
        sdk_for("revoked").get_story(UNKNOWN_ID)
    assert refused.value.code == "INVALID_API_KEY"


def test_free_plan_raises_permission_denied(sdk_for):
    with pytest.raises(PermissionDeniedError) as refused:
        sdk_for("free").get_story(UNKNOWN_ID)
    assert refused.value.code == "PLAN_REQUIRED"


def test_another_users_book_is_not_found(client, sdk_for):
    book = client.create_story(IDEA, **STORY)
    with pytest.raises(NotFoundError):
        sdk_for("other").get_story(book.book_id)


@pytest.mark.cbk_respx(using="httpx")
def test_sdk_with_its_own_transport_is_answered_by_the_mock(cbk_respx):
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the SDK's own transport was used for {request.url}")

    with Client(cbk_respx.keys["pro"], transport=httpx.MockTransport(no_network)) as sdk:
        assert sdk.create_story(IDEA, **STORY).status == "pending"


def _virtual(cbk, slept: list[float]):
    """A ``sleep`` for the SDK that records the wait and moves the mock's clock instead."""

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        cbk.advance_clock(seconds)

    return sleep
