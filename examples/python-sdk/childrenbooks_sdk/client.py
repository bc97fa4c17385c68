"""``Client`` (sync) and ``AsyncClient``: create a storybook, poll it, wait for it.

Both share everything but the I/O (``_Base``): request building, response parsing, the retry and
poll policies. ``sleep`` is injectable so tests can make every wait virtual — for example by
passing the mock's ``advance_clock``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from childrenbooks_sdk.errors import (
    ChildrenBooksError,
    StoryFailedError,
    WaitTimeoutError,
    error_for,
)
from childrenbooks_sdk.models import Accepted, RateLimit, Story
from childrenbooks_sdk.policy import PollPolicy, RetryPolicy

DEFAULT_BASE_URL = "https://api.childrenbooks.online"
API_KEY_ENV = "CHILDRENBOOKS_API_KEY"
USER_AGENT = "childrenbooks-sdk-python/0.1"


class _Base:
    def __init__(
        self, api_key: str | None, retry: RetryPolicy | None, poll: PollPolicy | None
    ) -> None:
        api_key = api_key or os.environ.get(API_KEY_ENV)
        if not api_key:
            raise ChildrenBooksError(f"pass api_key or set {API_KEY_ENV}")
        self._headers = {"x-api-key": api_key, "user-agent": USER_AGENT}
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        #: The per-minute budget reported by the last response that carried one.
        self.rate_limit: RateLimit | None = None

    @staticmethod
    def _create_request(
        story_idea: str,
        age_range: str,
        style: str,
        page_count: int,
        tone: str,
        language: str,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        body = {
            "storyIdea": story_idea,
            "ageRange": age_range,
            "style": style,
            "pageCount": page_count,
            "tone": tone,
            "language": language,
        }
        # One key for every attempt of this call: a retry can never create a second book.
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return {"json": body, "headers": headers}

    def _checked(self, response: httpx.Response) -> httpx.Response:
        self.rate_limit = RateLimit.from_headers(response.headers) or self.rate_limit
        if response.is_success:
            return response
        raise error_for(response)

    @staticmethod
    def _accepted(response: httpx.Response) -> Accepted:
        data = response.json()["data"]
        replayed = response.headers.get("idempotent-replayed") == "true"
        return Accepted(data["bookId"], data["taskId"], data["status"], replayed)

    @staticmethod
    def _story(response: httpx.Response) -> Story:
        return Story.from_api(response.json()["data"])

    def _next_poll(self, story: Story, response: httpx.Response, interval: float) -> float | None:
        """Seconds until the next poll, or None when ``story`` is finished."""
        if story.status == "failed":
            raise StoryFailedError(story)
        if not story.in_progress:
            return None
        return max(interval, self.poll.throttle(response))

    def _check_budget(self, story: Story, waited: float, delay: float) -> None:
        if waited + delay > self.poll.timeout:
            raise WaitTimeoutError(story, waited)


class Client(_Base):
    """Sync client. ``transport`` and ``sleep`` are for tests and custom networking."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        super().__init__(api_key, retry, poll)
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, headers=self._headers, transport=transport
        )
        self._sleep = sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self.retry.delay(attempt, response)
                if delay is None:
                    return self._checked(response)
            self._sleep(delay)

    def create_story(
        self,
        story_idea: str,
        *,
        age_range: str,
        style: str,
        page_count: int,
        tone: str,
        language: str,
        idempotency_key: str | None = None,
    ) -> Accepted:
        request = self._create_request(
            story_idea, age_range, style, page_count, tone, language, idempotency_key
        )
        return self._accepted(self._send("POST", "/v1/stories", **request))

    def get_story(self, book_id: str) -> Story:
        return self._story(self._send("GET", f"/v1/stories/{book_id}"))

    def wait_for_story(self, book_id: str) -> Story:
        """Poll until the job is ``completed`` (returned) or ``failed`` (raised)."""
        waited, intervals = 0.0, self.poll.intervals()
        while True:
            response = self._send("GET", f"/v1/stories/{book_id}")
            story = self._story(response)
            delay = self._next_poll(story, response, next(intervals))
            if delay is None:
                return story
            self._check_budget(story, waited, delay)
            self._sleep(delay)
            waited += delay

    def generate_story(self, story_idea: str, **options: Any) -> Story:
        """Create a book and wait for it."""
        return self.wait_for_story(self.create_story(story_idea, **options).book_id)


class AsyncClient(_Base):
    """Async client: the same API as ``Client``, awaited."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        super().__init__(api_key, retry, poll)
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers=self._headers, transport=transport
        )
        self._sleep = sleep

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise
            else:
                delay = self.retry.delay(attempt, response)
                if delay is None:
                    return self._checked(response)
            await self._sleep(delay)

    async def create_story(
        self,
        story_idea: str,
        *,
        age_range: str,
        style: str,
        page_count: int,
        tone: str,
        language: str,
        idempotency_key: str | None = None,
    ) -> Accepted:
        request = self._create_request(
            story_idea, age_range, style, page_count, tone, language, idempotency_key
        )
        return self._accepted(await self._send("POST", "/v1/stories", **request))

    async def get_story(self, book_id: str) -> Story:
        return self._story(await self._send("GET", f"/v1/stories/{book_id}"))

    async def wait_for_story(self, book_id: str) -> Story:
        waited, intervals = 0.0, self.poll.intervals()
        while True:
            response = await self._send("GET", f"/v1/stories/{book_id}")
            story = self._story(response)
            delay = self._next_poll(story, response, next(intervals))
            if delay is None:
                return story
            self._check_budget(story, waited, delay)
            await self._sleep(delay)
            waited += delay

    async def generate_story(self, story_idea: str, **options: Any) -> Story:
        accepted = await self.create_story(story_idea, **options)
        return await self.wait_for_story(accepted.book_id)
