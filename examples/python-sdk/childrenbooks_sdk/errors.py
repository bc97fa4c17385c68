"""Errors: one class per kind of failure; branch on ``code`` for the details."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from childrenbooks_sdk.models import Story


class ChildrenBooksError(Exception):
    """Base class of everything this SDK raises."""


class APIError(ChildrenBooksError):
    """The API answered with an error envelope ``{ok: false, error: {code, message}}``."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            payload: Any = response.json()
        except ValueError:
            payload = {}
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        self.response = response
        self.status = response.status_code
        self.code: str = error.get("code", "UNKNOWN")
        self.message: str = error.get("message", response.reason_phrase)
        self.fields: dict[str, str] = error.get("fields") or {}
        self.request_id = response.headers.get("x-request-id")
        super().__init__(f"{self.status} {self.code}: {self.message} (request {self.request_id})")

    @property
    def retry_after(self) -> float | None:
        return seconds(self.response.headers.get("retry-after"))


class BadRequestError(APIError):
    """400: ``VALIDATION_ERROR`` (see ``fields``) or ``BAD_REQUEST``."""


class AuthenticationError(APIError):
    """401: no key (``UNAUTHORIZED``) or an unusable one (``INVALID_API_KEY``)."""


class PermissionDeniedError(APIError):
    """403: ``PLAN_REQUIRED`` (Free plan) or ``FORBIDDEN`` (key suspended)."""


class NotFoundError(APIError):
    """404: no such book for this key's user."""


class ConflictError(APIError):
    """409: ``IDEMPOTENCY_CONFLICT`` — the key was used with another body."""


class RateLimitError(APIError):
    """429: ``RATE_LIMIT_EXCEEDED`` (retried for you), ``DAILY_CAP_EXCEEDED`` or
    ``INSUFFICIENT_CREDITS`` (not retried: waiting seconds does not help)."""


class ServerError(APIError):
    """5xx after the retries ran out."""


class StoryFailedError(ChildrenBooksError):
    """The generation job ended ``failed``."""

    def __init__(self, story: Story) -> None:
        super().__init__(f"story {story.id} failed: {story.error_message}")
        self.story = story


class WaitTimeoutError(ChildrenBooksError):
    """The job was still running when the wait's time budget ran out."""

    def __init__(self, story: Story, waited: float) -> None:
        super().__init__(f"story {story.id} still {story.status} after {waited:g} s")
        self.story = story
        self.waited = waited


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for(response: httpx.Response) -> APIError:
    kind = _BY_STATUS.get(response.status_code)
    return (kind or (ServerError if response.status_code >= 500 else APIError))(response)


def seconds(value: str | None) -> float | None:
    """A delta-seconds header value (``retry-after``, ``x-ratelimit-reset``), or None."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
