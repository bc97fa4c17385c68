"""The request journal: the newest exchanges with the mock, as it saw them.

SDK authors debug by looking: did the retry reuse its ``Idempotency-Key``, did the client wait
``retry-after`` before trying again, which check refused it? The gateway tells the journal about
each exchange once its reply is final (``Exchanged``). The journal keeps a record of it: keys
masked, bodies cut at ``BODY_LIMIT``, the check that answered an error and when its limit resets,
in the state backend's capped log (process memory, or Redis shared by ``--workers``). The log keeps
the newest ``size`` records and drops older ones in the same atomic step, so the journal stays
bounded whatever the traffic.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

import orjson

from mockserver.core import keys
from mockserver.core.clock import Clock, isoformat
from mockserver.core.dev import ADMIN_HEADER
from mockserver.core.errors import BackendUnavailable
from mockserver.core.state.base import StateBackend
from mockserver.spec import load_spec

log = logging.getLogger("mockserver.journal")

#: Bodies (request and response) are kept up to this many bytes.
BODY_LIMIT = 4096
#: Header names and values are kept up to this many characters, and at most this many headers.
HEADER_VALUE_LIMIT = 1024
MAX_HEADERS = 64
#: Records a query answers unless it says otherwise.
DEFAULT_LIMIT = 100
CONTROL_PREFIX = "/_mock/"
LOG_KEY = "journal"
_PAGE = 200

_spec = load_spec()
_IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"].lower()
_REPLAY_HEADER = _spec.rules["idempotency"]["replayHeader"].lower()
#: Headers whose values are credentials: never stored as sent.
_SECRET_HEADERS = frozenset({_spec.api_key_header.lower(), "authorization", ADMIN_HEADER.lower()})
_BINARY_TYPES = ("image/", "audio/", "video/", "application/octet-stream")

#: The check that answered an error, in the words of ``x-cbk.checkOrder`` where it has them.
_CHECK_BY_CODE = {
    "UNAUTHORIZED": "auth",
    "INVALID_API_KEY": "auth",
    "FORBIDDEN": "auth",
    "PLAN_REQUIRED": "plan",
    "RATE_LIMIT_EXCEEDED": "perMinuteLimit",
    "BAD_REQUEST": "contentTypeAndJson",
    "IDEMPOTENCY_CONFLICT": "idempotency",
    "DAILY_CAP_EXCEEDED": "dailyCap",
    "INSUFFICIENT_CREDITS": "monthlyCredits",
    "METHOD_NOT_ALLOWED": "routing",
    "INTERNAL_ERROR": "internal",
    "EXTERNAL_SERVICE_ERROR": "stateStore",
}
_CHECK_BY_OPERATION = {
    ("createStory", "VALIDATION_ERROR"): "bodyValidation",
    ("getStory", "VALIDATION_ERROR"): "idValidation",
    ("getStory", "NOT_FOUND"): "ownership",
    ("getStory", "BAD_REQUEST"): "request",
}


class Exchanged(NamedTuple):  # made on every request: a tuple is cheaper than a dataclass
    """What the gateway tells the journal about one exchange, its reply final."""

    method: str
    path: str  # raw, as sent
    query: str
    request_headers: Sequence[tuple[str, str]]
    request_body: bytes
    status: int
    reply_headers: Mapping[str, str]
    reply_body: bytes
    request_id: str
    #: The public API's operationId (``createStory``, ``getStory``); None elsewhere.
    operation: str | None
    user_id: str | None
    key_id: str | None
    #: The mock's clock when the request was authorized (None: read it at the answer).
    arrived_at: float | None
    duration_ms: float


@dataclass(frozen=True)
class JournalQuery:
    """Which records to answer, newest first. Every field that is set must match."""

    user_id: str | None = None
    key_id: str | None = None
    method: str | None = None
    #: Exact, or a glob (``/v1/stories/*``).
    path: str | None = None
    #: ``429``, or a class: ``4xx``.
    status: str | None = None
    code: str | None = None
    #: Arrived at or after this instant of the mock's clock.
    since: float | None = None
    #: Numbered after this record (``seq``): what a tail has not seen yet.
    after: int | None = None
    limit: int = DEFAULT_LIMIT

    def matches(self, record: Mapping[str, Any]) -> bool:
        return (
            (self.user_id is None or record["userId"] == self.user_id)
            and (self.key_id is None or record["keyId"] == self.key_id)
            and (self.method is None or record["method"] == self.method.upper())
            and (self.path is None or fnmatch.fnmatchcase(record["path"], self.path))
            and (self.status is None or _status_matches(record["status"], self.status))
            and (self.code is None or record["code"] == self.code)
            and (self.since is None or record["arrivedAt"] >= isoformat(self.since))
        )


def _status_matches(status: int, wanted: str) -> bool:
    if wanted.endswith("xx"):
        return str(status)[0] == wanted[0]
    return str(status) == wanted


class Journal:
    def __init__(self, db: StateBackend, clock: Clock, size: int, *, control: bool = False) -> None:
        self._db = db
        self._clock = clock
        self.size = size
        self.control = control
        self._failing = False

    def wants(self, path: str) -> bool:
        """Whether an exchange on ``path`` is journaled: the public API's always (unless the
        journal is off), the control API's only when asked for."""
        return self.size > 0 and (self.control or not unquote(path).startswith(CONTROL_PREFIX))

    async def record(self, exchanged: Exchanged) -> None:
        """Keep a record of ``exchanged``. A store that is down loses the record, never the
        reply it describes."""
        try:
            answered_at = await self._clock.now()
            await self._db.log_append(LOG_KEY, keep(exchanged, answered_at), self.size)
        except BackendUnavailable as exc:
            if not self._failing:
                log.warning("request journal not written (state store unavailable): %s", exc)
            self._failing = True
        except Exception:  # the journal only observes: a bug here must not cost the reply
            log.exception("request journal not written (request %s)", exchanged.request_id)
        else:
            self._failing = False

    async def find(self, query: JournalQuery) -> list[dict[str, Any]]:
        """The records ``query`` matches, newest first, each with its number ``seq``. Reads the
        log a page at a time and stops as soon as it has enough (or reaches ``after``)."""
        found: list[dict[str, Any]] = []
        oldest_seen = None
        start = 0
        while True:
            page = await self._db.log_read(LOG_KEY, start, start + _PAGE - 1)
            for number, raw in page:
                if oldest_seen is not None and number >= oldest_seen:
                    continue  # moved down by records written since the last page
                oldest_seen = number
                if query.after is not None and number <= query.after:
                    return found
                record = decode(raw)
                if query.matches(record):
                    found.append({"seq": number, **record})
                    if len(found) >= query.limit:
                        return found
            if len(page) < _PAGE:
                return found
            start += _PAGE

    async def clear(self) -> None:
        await self._db.delete(LOG_KEY)


class KeptExchange:
    """An exchange as the journal keeps it: every key already masked and every part already
    cut, so the journal never holds a key as sent nor more than its bounds, but not yet encoded.
    Most records are never read, and encoding was most of the journal's cost per request: a
    log in process memory keeps this and encodes it when it is read; a shared log (Redis)
    encodes it on the way in."""

    __slots__ = ("_fields",)

    def __init__(self, fields: tuple[Any, ...]) -> None:
        self._fields = fields

    def encode(self) -> bytes:
        """The stored form: a positional JSON array (``decode`` makes the record of it)."""
        try:
            return orjson.dumps(self._fields)
        except orjson.JSONEncodeError:  # header bytes that are not UTF-8 (lone surrogates)
            return orjson.dumps(_printable(self._fields))


def keep(exchanged: Exchanged, answered_at: float) -> KeptExchange:
    """What the journal keeps of an exchange, made on every request, so kept to what cannot be
    derived later: credential headers cut, bodies cut, every other text masked."""
    headers = []
    as_sent: list[str] = []  # the texts a key could hide in as a client wrote it
    content_type = None
    for name, value in exchanged.request_headers[:MAX_HEADERS]:
        name = name[:HEADER_VALUE_LIMIT]
        lowered = name.lower()
        if lowered in _SECRET_HEADERS:
            headers.append((name, _secret(value)))
            continue
        value = value[:HEADER_VALUE_LIMIT]
        if lowered == "content-type":
            content_type = value
        headers.append((name, value))
        as_sent += (name, value)
    replied = dict(exchanged.reply_headers)
    texts = [exchanged.request_id, exchanged.method, exchanged.path, exchanged.query]
    # One scan over all the short texts at once: they hold a key only when a client put one
    # there, and only then is each masked on its own.
    if keys.could_hold_key("".join([*texts, *as_sent, *replied.values()])):
        texts = [keys.mask(text) for text in texts]
        headers = [(keys.mask(name), keys.mask(value)) for name, value in headers]
        replied = {name: keys.mask(value) for name, value in replied.items()}
    request_id, method, path, query = texts
    return KeptExchange(
        (
            request_id,
            exchanged.operation,
            method,
            path,
            query,
            exchanged.user_id,
            exchanged.key_id,
            answered_at if exchanged.arrived_at is None else exchanged.arrived_at,
            answered_at,
            exchanged.duration_ms,
            exchanged.status,
            headers,
            _text(exchanged.request_body, content_type),
            len(exchanged.request_body),
            replied,
            _text(exchanged.reply_body, replied.get("content-type")),
            len(exchanged.reply_body),
        )
    )


def decode(stored: bytes) -> dict[str, Any]:
    """The record (``JournalRecord`` in control-api.yaml) of an encoded exchange."""
    (
        request_id,
        operation,
        method,
        path,
        query,
        user_id,
        key_id,
        arrived_at,
        answered_at,
        duration_ms,
        status,
        sent,
        sent_body,
        sent_bytes,
        replied,
        reply_body,
        reply_bytes,
    ) = orjson.loads(stored)
    replied = {name.lower(): value for name, value in replied.items()}
    error = _error(status, reply_body, replied.get("content-type"))
    retry_after = _seconds(replied.get("retry-after"))
    idempotency_key = next((v for n, v in sent if n.lower() == _IDEMPOTENCY_HEADER), None)
    return {
        "requestId": request_id,
        "operation": operation,
        "method": method,
        "path": path,
        "query": query,
        "userId": user_id,
        "keyId": key_id,
        "arrivedAt": isoformat(arrived_at),
        "answeredAt": isoformat(answered_at),
        "durationMs": round(duration_ms, 3),
        "status": status,
        "code": error.get("code"),
        "message": error.get("message"),
        "check": _check(operation, error) if error else None,
        "rateLimit": _rate_limit(replied),
        "retryAfter": retry_after,
        "resetsAt": None if retry_after is None else isoformat(answered_at + retry_after),
        "idempotencyKey": idempotency_key,
        "idempotentReplayed": replied.get(_REPLAY_HEADER) == "true",
        "request": _part(sent, sent_body, sent_bytes),
        "response": _part(replied, reply_body, reply_bytes),
    }


def _part(headers: Any, body: str | None, size: int) -> dict[str, Any]:
    return {"headers": headers, "body": body, "bodyBytes": size, "bodyTruncated": size > BODY_LIMIT}


def _printable(value: Any) -> Any:
    """``value`` with undecodable bytes in its texts shown as ``\\xNN``."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    return value


def _secret(value: str) -> str:
    """A credential header's value as stored: an auth scheme kept, key-shaped tokens masked,
    anything else (a typo, the admin token) cut to its last four characters."""
    if keys.well_formed(value):
        return keys.masked_key(value)  # the usual x-api-key
    if keys.is_key_shaped(value):
        return keys.mask(value)
    tokens = value[:HEADER_VALUE_LIMIT].split()
    scheme = [tokens.pop(0)] if len(tokens) > 1 and tokens[0].isalpha() else []
    shown = [
        keys.mask(token)
        if keys.is_key_shaped(token)
        else (f"…{token[-4:]}" if len(token) >= 12 else "…")
        for token in tokens
    ]
    return " ".join(scheme + shown) or "…"


def _text(raw: bytes, content_type: str | None) -> str | None:
    """The body's first ``BODY_LIMIT`` bytes as text, keys masked; None when empty or binary."""
    if not raw or (content_type or "").lower().startswith(_BINARY_TYPES):
        return None
    return keys.mask(raw[:BODY_LIMIT].decode("utf-8", "replace"))


def _error(status: int, body: str | None, content_type: str | None) -> dict[str, Any]:
    """The envelope's ``error`` of an error reply (empty for a success)."""
    if status < 400 or body is None or not (content_type or "").startswith("application/json"):
        return {}
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _check(operation: str | None, error: Mapping[str, Any]) -> str | None:
    code, meta = error.get("code"), error.get("meta") or {}
    if meta.get("forced"):
        return "scenario"
    if code == "RATE_LIMIT_EXCEEDED" and meta.get("scope") == "address":
        return "authFailureLimit"
    if not isinstance(code, str):
        return None
    by_operation = _CHECK_BY_OPERATION.get((operation or "", code))
    if by_operation is not None:
        return by_operation
    if code == "NOT_FOUND":
        return "routing"
    return _CHECK_BY_CODE.get(code, "request")


def _rate_limit(headers: Mapping[str, str]) -> dict[str, int] | None:
    """The ``x-ratelimit-*`` headers (the mock's own, so whole numbers when present)."""
    try:
        return {
            "limit": int(headers["x-ratelimit-limit"]),
            "remaining": int(headers["x-ratelimit-remaining"]),
            "reset": int(headers["x-ratelimit-reset"]),
        }
    except (KeyError, ValueError):
        return None


def _seconds(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None
