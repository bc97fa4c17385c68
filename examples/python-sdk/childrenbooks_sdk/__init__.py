"""A small Python client for the ChildrenBooks Developer API v1, built on httpx.

An example and a template: copy it, rename it, keep the tests (``tests/``), which run against
the toolkit's mock through the ``cbk_respx`` and ``cbk_server`` pytest fixtures.
"""

from childrenbooks_sdk.client import DEFAULT_BASE_URL, AsyncClient, Client
from childrenbooks_sdk.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ChildrenBooksError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StoryFailedError,
    WaitTimeoutError,
)
from childrenbooks_sdk.models import Accepted, Page, RateLimit, Story
from childrenbooks_sdk.policy import PollPolicy, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "APIError",
    "Accepted",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "ChildrenBooksError",
    "Client",
    "ConflictError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "PollPolicy",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "Story",
    "StoryFailedError",
    "WaitTimeoutError",
]
