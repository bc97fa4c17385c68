"""HTTP messages as the mock sees them, and the JSON envelope every response uses.

Shared by the gateway (public API) and the control API, so both render bodies, request ids and
errors one way; adapters (aiohttp, respx) only translate their native messages to these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from mockserver.core.accounts import Principal
from mockserver.core.codec import dumps
from mockserver.core.errors import ApiError
from mockserver.core.validation import parse_json
from mockserver.spec import load_spec

JSON_TYPE = "application/json; charset=utf-8"
REQUEST_ID_HEADER = load_spec().rules["requestId"]["header"]
_MAX_BODY_BYTES = load_spec().max_body_bytes


RawHeaders = Sequence[tuple[str, str]] | CIMultiDictProxy[str] | CIMultiDict[str]


class Headers:
    """Case-insensitive, multi-valued request headers."""

    __slots__ = ("_values",)

    def __init__(self, headers: RawHeaders) -> None:
        # An adapter's own multidict (aiohttp's) is used as it is, without a copy.
        if isinstance(headers, CIMultiDictProxy | CIMultiDict):
            self._values = headers
        else:
            self._values = CIMultiDictProxy(CIMultiDict(headers))

    def get_all(self, name: str) -> list[str]:
        return self._values.getall(name, [])

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def items(self) -> list[tuple[str, str]]:
        return list(self._values.items())

    def single(self, name: str) -> str | None:
        """The value of a header that must appear at most once (repeats: error)."""
        values = self.get_all(name)
        if len(values) > 1:
            raise ApiError("BAD_REQUEST", f"Header {name} must not be repeated.")
        return values[0] if values else None


@dataclass
class HttpRequest:
    method: str
    path: str  # raw (percent-encoded), without the query string
    headers: RawHeaders = ()
    body: bytes = b""
    client: str = "127.0.0.1"
    base_url: str = "http://127.0.0.1:8080"
    #: The raw query string, without the ``?``.
    query: str = ""
    #: The body is longer than ``body`` holds: adapters stop reading past the size limit.
    oversized: bool = False

    def json_body(self) -> Any:
        """The parsed body: BAD_REQUEST when it is over the size limit or not UTF-8 JSON."""
        if self.oversized or len(self.body) > _MAX_BODY_BYTES:
            raise ApiError("BAD_REQUEST", f"Request body is over {_MAX_BODY_BYTES} bytes.")
        return parse_json(self.body)


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Exchange:
    """One request in flight: what error rendering needs to know so far."""

    request: HttpRequest
    headers: Headers
    request_id: str
    delay_ms: int = 0
    #: Who the key belongs to, once authorized; and the mock's clock then.
    principal: Principal | None = None
    arrived_at: float | None = None


def media_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    parsed = {}
    for param in params:
        name, _, val = param.partition("=")
        parsed[name.strip().lower()] = val.strip().strip('"').lower()
    return kind.strip().lower(), parsed


class EncodedJson(bytes):
    """JSON text encoded once and embedded as is wherever it is sent again."""


def envelope(request_id: str, data: Any) -> bytes:
    """The success body ``{ok: true, requestId, data}``."""
    encoded = data if isinstance(data, EncodedJson) else dumps(data)
    return b'{"ok":true,"requestId":%b,"data":%b}' % (dumps(request_id), encoded)


def error_envelope(request_id: str, error: ApiError) -> bytes:
    """The error body ``{ok: false, requestId, error: {code, message, fields?, meta?}}``."""
    return dumps({"ok": False, "requestId": request_id, "error": error.payload()})


def json_reply(exchange: Exchange, status: int, data: Any) -> HttpReply:
    return HttpReply(
        status,
        {"content-type": JSON_TYPE, REQUEST_ID_HEADER: exchange.request_id},
        envelope(exchange.request_id, data),
    )
