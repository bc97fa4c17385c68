from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.story_envelope import StoryEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: UUID,
    *,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/stories/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | StoryEnvelope | None:
    if response.status_code == 200:
        response_200 = StoryEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 405:
        response_405 = ErrorEnvelope.from_dict(response.json())

        return response_405

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = ErrorEnvelope.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | StoryEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Response[ErrorEnvelope | StoryEnvelope]:
    """Retrieve a storybook's metadata, generation status, progress and pages so far

     Poll until `data.status` is `completed` or `failed`. Only books owned by the API key's user
    are visible; an unknown id and another user's id give the same 404 `NOT_FOUND`. Books made
    on the dashboard (`source: "web"`) are readable too.

    Order of checks: auth → plan → per-minute limit → id validation → ownership.

    Lifecycle: `status` moves only forward (`pending` → `processing` → `completed` or
    `failed`); `progress` never decreases and is 100 when completed; `pages[]` grows in order,
    sorted by `index`, without gaps or repeats. The cover is `coverImage`, not a `pages[]`
    entry: a completed book of `pageCount` N has N−1 pages, each with `content` and
    `imageUrl`, and non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`. A
    failed book has `errorMessage` set and `completedAt` null.

    Args:
        id (UUID):
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | StoryEnvelope]
    """

    kwargs = _get_kwargs(
        id=id,
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> ErrorEnvelope | StoryEnvelope | None:
    """Retrieve a storybook's metadata, generation status, progress and pages so far

     Poll until `data.status` is `completed` or `failed`. Only books owned by the API key's user
    are visible; an unknown id and another user's id give the same 404 `NOT_FOUND`. Books made
    on the dashboard (`source: "web"`) are readable too.

    Order of checks: auth → plan → per-minute limit → id validation → ownership.

    Lifecycle: `status` moves only forward (`pending` → `processing` → `completed` or
    `failed`); `progress` never decreases and is 100 when completed; `pages[]` grows in order,
    sorted by `index`, without gaps or repeats. The cover is `coverImage`, not a `pages[]`
    entry: a completed book of `pageCount` N has N−1 pages, each with `content` and
    `imageUrl`, and non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`. A
    failed book has `errorMessage` set and `completedAt` null.

    Args:
        id (UUID):
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | StoryEnvelope
    """

    return sync_detailed(
        id=id,
        client=client,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> Response[ErrorEnvelope | StoryEnvelope]:
    """Retrieve a storybook's metadata, generation status, progress and pages so far

     Poll until `data.status` is `completed` or `failed`. Only books owned by the API key's user
    are visible; an unknown id and another user's id give the same 404 `NOT_FOUND`. Books made
    on the dashboard (`source: "web"`) are readable too.

    Order of checks: auth → plan → per-minute limit → id validation → ownership.

    Lifecycle: `status` moves only forward (`pending` → `processing` → `completed` or
    `failed`); `progress` never decreases and is 100 when completed; `pages[]` grows in order,
    sorted by `index`, without gaps or repeats. The cover is `coverImage`, not a `pages[]`
    entry: a completed book of `pageCount` N has N−1 pages, each with `content` and
    `imageUrl`, and non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`. A
    failed book has `errorMessage` set and `completedAt` null.

    Args:
        id (UUID):
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | StoryEnvelope]
    """

    kwargs = _get_kwargs(
        id=id,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: UUID,
    *,
    client: AuthenticatedClient | Client,
    x_request_id: str | Unset = UNSET,
) -> ErrorEnvelope | StoryEnvelope | None:
    """Retrieve a storybook's metadata, generation status, progress and pages so far

     Poll until `data.status` is `completed` or `failed`. Only books owned by the API key's user
    are visible; an unknown id and another user's id give the same 404 `NOT_FOUND`. Books made
    on the dashboard (`source: "web"`) are readable too.

    Order of checks: auth → plan → per-minute limit → id validation → ownership.

    Lifecycle: `status` moves only forward (`pending` → `processing` → `completed` or
    `failed`); `progress` never decreases and is 100 when completed; `pages[]` grows in order,
    sorted by `index`, without gaps or repeats. The cover is `coverImage`, not a `pages[]`
    entry: a completed book of `pageCount` N has N−1 pages, each with `content` and
    `imageUrl`, and non-null `title`, `slug`, `summary`, `coverImage` and `completedAt`. A
    failed book has `errorMessage` set and `completedAt` null.

    Args:
        id (UUID):
        x_request_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | StoryEnvelope
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            x_request_id=x_request_id,
        )
    ).parsed
