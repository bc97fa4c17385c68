from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_story_accepted import CreateStoryAccepted
from ...models.create_story_request import CreateStoryRequest
from ...models.error_envelope import ErrorEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateStoryRequest,
    idempotency_key: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/stories",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateStoryAccepted | ErrorEnvelope | None:
    if response.status_code == 202:
        response_202 = CreateStoryAccepted.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 405:
        response_405 = ErrorEnvelope.from_dict(response.json())

        return response_405

    if response.status_code == 409:
        response_409 = ErrorEnvelope.from_dict(response.json())

        return response_409

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
) -> Response[CreateStoryAccepted | ErrorEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateStoryRequest,
    idempotency_key: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> Response[CreateStoryAccepted | ErrorEnvelope]:
    """Create an asynchronous storybook generation job

     Queues the generation of an illustrated storybook and answers at once with 202 Accepted;
    poll `GET /v1/stories/{bookId}` for progress. Each page (cover included) consumes one
    credit from the plan quota, charged when the job is accepted.

    Order of checks: auth → plan → per-minute limit → content type and JSON parse → body
    validation → idempotency → daily cap → monthly credits → accept.

    `content-type` must be `application/json`; another content type, a body that is not
    parseable JSON, or a body over 64 KiB → 400 `BAD_REQUEST`. Parseable JSON that breaks the
    schema → 400 `VALIDATION_ERROR` with `error.fields` naming every offending field. Enums are
    case-sensitive: `3d`, not `3D`; `english`, not `English` or `en`.

    Args:
        idempotency_key (str | Unset):
        x_request_id (str | Unset):
        body (CreateStoryRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateStoryAccepted | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateStoryRequest,
    idempotency_key: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> CreateStoryAccepted | ErrorEnvelope | None:
    """Create an asynchronous storybook generation job

     Queues the generation of an illustrated storybook and answers at once with 202 Accepted;
    poll `GET /v1/stories/{bookId}` for progress. Each page (cover included) consumes one
    credit from the plan quota, charged when the job is accepted.

    Order of checks: auth → plan → per-minute limit → content type and JSON parse → body
    validation → idempotency → daily cap → monthly credits → accept.

    `content-type` must be `application/json`; another content type, a body that is not
    parseable JSON, or a body over 64 KiB → 400 `BAD_REQUEST`. Parseable JSON that breaks the
    schema → 400 `VALIDATION_ERROR` with `error.fields` naming every offending field. Enums are
    case-sensitive: `3d`, not `3D`; `english`, not `English` or `en`.

    Args:
        idempotency_key (str | Unset):
        x_request_id (str | Unset):
        body (CreateStoryRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateStoryAccepted | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateStoryRequest,
    idempotency_key: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> Response[CreateStoryAccepted | ErrorEnvelope]:
    """Create an asynchronous storybook generation job

     Queues the generation of an illustrated storybook and answers at once with 202 Accepted;
    poll `GET /v1/stories/{bookId}` for progress. Each page (cover included) consumes one
    credit from the plan quota, charged when the job is accepted.

    Order of checks: auth → plan → per-minute limit → content type and JSON parse → body
    validation → idempotency → daily cap → monthly credits → accept.

    `content-type` must be `application/json`; another content type, a body that is not
    parseable JSON, or a body over 64 KiB → 400 `BAD_REQUEST`. Parseable JSON that breaks the
    schema → 400 `VALIDATION_ERROR` with `error.fields` naming every offending field. Enums are
    case-sensitive: `3d`, not `3D`; `english`, not `English` or `en`.

    Args:
        idempotency_key (str | Unset):
        x_request_id (str | Unset):
        body (CreateStoryRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateStoryAccepted | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateStoryRequest,
    idempotency_key: str | Unset = UNSET,
    x_request_id: str | Unset = UNSET,
) -> CreateStoryAccepted | ErrorEnvelope | None:
    """Create an asynchronous storybook generation job

     Queues the generation of an illustrated storybook and answers at once with 202 Accepted;
    poll `GET /v1/stories/{bookId}` for progress. Each page (cover included) consumes one
    credit from the plan quota, charged when the job is accepted.

    Order of checks: auth → plan → per-minute limit → content type and JSON parse → body
    validation → idempotency → daily cap → monthly credits → accept.

    `content-type` must be `application/json`; another content type, a body that is not
    parseable JSON, or a body over 64 KiB → 400 `BAD_REQUEST`. Parseable JSON that breaks the
    schema → 400 `VALIDATION_ERROR` with `error.fields` naming every offending field. Enums are
    case-sensitive: `3d`, not `3D`; `english`, not `English` or `en`.

    Args:
        idempotency_key (str | Unset):
        x_request_id (str | Unset):
        body (CreateStoryRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateStoryAccepted | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            x_request_id=x_request_id,
        )
    ).parsed
