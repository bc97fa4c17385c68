"""Create a book, poll it to the end, then meet a 400 ``VALIDATION_ERROR`` and a 429, all with
the client openapi-python-client generated from openapi.yaml (``childrenbooks-client``)::

    PYTHONPATH=examples/generated-clients/python/childrenbooks-client \\
        python examples/generated-clients/python/create_and_poll.py \\
        --base-url http://127.0.0.1:8080 --api-key cbk_live_…

Every error answer is one generated type, ``ErrorEnvelope``: one ``isinstance`` catches them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

import httpx
from childrenbooks_client import AuthenticatedClient
from childrenbooks_client.api.stories import create_story, get_story
from childrenbooks_client.models import (
    AgeRange,
    CreateStoryAccepted,
    CreateStoryRequest,
    ErrorCode,
    ErrorEnvelope,
    JobStatus,
    Language,
    Story,
    StoryEnvelope,
    Style,
    Tone,
)
from childrenbooks_client.types import Response

Body = TypeVar("Body")
SETTLED = {JobStatus.COMPLETED, JobStatus.FAILED}


class UnexpectedAnswer(Exception):
    """The API answered something this program did not ask for."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.content[:300]!r}")


def expect(response: Response, kind: type[Body]) -> Body:
    if not isinstance(response.parsed, kind):
        raise UnexpectedAnswer(response)
    return response.parsed


def book(page_count: int = 5) -> CreateStoryRequest:
    return CreateStoryRequest(
        story_idea="A little fox who learns to share carrots with forest friends.",
        age_range=AgeRange.AGES_4_7,
        style=Style.WATERCOLOR,
        page_count=page_count,
        tone=Tone.HEARTWARMING,
        language=Language.ENGLISH,
    )


def create(client: AuthenticatedClient) -> UUID:
    accepted = expect(create_story.sync_detailed(client=client, body=book()), CreateStoryAccepted)
    print(f"202 created book {accepted.data.book_id} ({accepted.data.status})")
    return accepted.data.book_id


def poll(client: AuthenticatedClient, book_id: UUID, interval: float, timeout: float) -> Story:
    deadline = time.monotonic() + timeout
    while True:
        story = expect(get_story.sync_detailed(book_id, client=client), StoryEnvelope).data
        if story.status in SETTLED:
            print(f"200 {story.status}: {story.title!r}, {len(story.pages)} pages, {story.style}")
            return story
        if time.monotonic() > deadline:
            raise TimeoutError(f"book {book_id} still {story.status} after {timeout} s")
        time.sleep(interval)


def meet_a_validation_error(client: AuthenticatedClient) -> None:
    """A book of 3 pages is below the spec's minimum: the answer names the field."""
    response = create_story.sync_detailed(client=client, body=book(page_count=3))
    error = expect(response, ErrorEnvelope).error
    if response.status_code != 400 or error.code is not ErrorCode.VALIDATION_ERROR:
        raise UnexpectedAnswer(response)
    print(f"400 {error.code}: {error.message} {error.fields.to_dict()}")


def with_retry_after(call: Callable[[], Response], max_wait: float) -> tuple[Response, int]:
    """``call()``; after a 429, wait its ``retry-after`` seconds and call once more. Also
    returns the seconds waited (0: no 429)."""
    response = call()
    if response.status_code != 429:
        return response, 0
    error = expect(response, ErrorEnvelope).error
    wait = int(response.headers["retry-after"])
    print(f"429 {error.code}: retry-after {wait} s, meta {error.meta.to_dict()}")
    if wait > max_wait:
        raise UnexpectedAnswer(response)
    time.sleep(wait)
    return call(), wait


def meet_a_rate_limit(client: AuthenticatedClient, book_id: UUID, max_wait: float) -> None:
    """Poll without pause until the window's requests are used up: the next poll is a 429."""

    def fetch() -> Response:
        return get_story.sync_detailed(book_id, client=client)

    for _ in range(10_000):
        response = fetch()
        expect(response, StoryEnvelope)
        if response.headers["x-ratelimit-remaining"] == "0":
            break
    else:
        raise RuntimeError("x-ratelimit-remaining never reached 0")
    retried, waited = with_retry_after(fetch, max_wait)
    expect(retried, StoryEnvelope)
    if not waited:
        raise RuntimeError("no 429 once x-ratelimit-remaining was 0")
    print(f"200 after {waited} s: x-ratelimit-remaining {retried.headers['x-ratelimit-remaining']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to poll at most")
    parser.add_argument(
        "--max-wait", type=float, default=60.0, help="longest retry-after to honour"
    )
    args = parser.parse_args(argv)
    client = AuthenticatedClient(
        base_url=args.base_url,
        token=args.api_key,
        prefix="",
        auth_header_name="x-api-key",
        timeout=httpx.Timeout(30.0),
    )
    with client:
        try:
            book_id = create(client)
            poll(client, book_id, args.poll_interval, args.timeout)
            meet_a_validation_error(client)
            meet_a_rate_limit(client, book_id, args.max_wait)
        except (UnexpectedAnswer, TimeoutError, RuntimeError) as problem:
            print(f"failed: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
