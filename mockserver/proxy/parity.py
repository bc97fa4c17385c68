"""Parity: does the mock still answer like the recorded upstream?

Each cassette is replayed against a fresh mock, in-process (its gateway, the code path every
adapter uses) on a manual clock advanced by the recorded gaps, with a new user of the recorded
plan for every recorded key. Both sides are normalised the same way (``recording.Normalizer``)
and compared on what a client can rely on:

* ``status`` and ``error.code``;
* ``headers.NAME``: which contract headers are present; the rate-limit values
  (``x-ratelimit-reset`` and ``retry-after`` within a second), ``Idempotent-Replayed``, the
  media type, the methods of ``Allow``;
* ``body.PATH``: the body's keys and the JSON type of each value (``[]`` for array items), a
  null value and a left-out key alike;
* ``lifecycle <book:N>``: the sequence of statuses each book went through (repeats collapsed).

A difference is named by that path; ``--ignore`` takes shell-style patterns of them.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.core import keys
from mockserver.core.config import MockConfig
from mockserver.core.runtime import build_service
from mockserver.http.control import ADMIN_HEADER, ControlApi
from mockserver.http.gateway import Gateway, media_type
from mockserver.http.messages import HttpReply, HttpRequest
from mockserver.proxy.checks import fingerprint
from mockserver.proxy.recording import Cassette, Normalizer, capture, key_mark, utc_now
from mockserver.spec import load_spec

_spec = load_spec()
WINDOW = _spec.rate_limit_window
#: Header values compared within a second: both depend on where in a second a request fell.
_WITHIN_A_SECOND = frozenset({"x-ratelimit-reset", "retry-after"})
_EXACT = frozenset(
    {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        _spec.rules["idempotency"]["replayHeader"].lower(),
    }
)


ABSENT = "(absent)"


@dataclass(frozen=True)
class Difference:
    #: 1-based exchange number; None for a book's lifecycle.
    exchange: int | None
    what: str
    recorded: str
    replayed: str

    def ignored_by(self, patterns: Iterable[str]) -> bool:
        return any(fnmatch.fnmatchcase(self.what, pattern) for pattern in patterns)


# --- what is compared ------------------------------------------------------------------------
def answer_shape(exchange: Mapping[str, Any]) -> dict[str, str]:
    """The normalised answer as flat ``path → value`` pairs (see the module docstring)."""
    response = exchange["response"]
    body = response.get("body")
    error = body.get("error") if isinstance(body, dict) else None
    shape = {
        "status": str(response.get("status")),
        "error.code": str(error.get("code")) if isinstance(error, dict) else "(none)",
    }
    for name, value in (response.get("headers") or {}).items():
        shape[f"headers.{name}"] = _header_value(name, value)
    if "body" in response:
        _types(body, "body", shape)
    elif "bodyText" in response or "bodyBase64" in response:
        shape["body"] = "text"
    return shape


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(value)
    if name in _EXACT or name in _WITHIN_A_SECOND:
        return str(value)
    if name == "content-type":
        return media_type(value)[0]
    if name == "allow":
        return ", ".join(sorted(m.strip().upper() for m in value.split(",") if m.strip()))
    return "present"


def _types(value: Any, path: str, shape: dict[str, str]) -> None:
    if isinstance(value, dict):
        shape[path] = "object"
        for key, item in value.items():
            _types(item, f"{path}.{key}", shape)
    elif isinstance(value, list):
        shape[path] = "array"
        items: dict[str, set[str]] = {}
        for item in value:
            nested: dict[str, str] = {}
            _types(item, f"{path}[]", nested)
            for key, kind in nested.items():
                items.setdefault(key, set()).add(kind)
        shape.update({key: "|".join(sorted(kinds)) for key, kinds in items.items()})
    else:
        shape[path] = _json_type(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else type(value).__name__


def lifecycles(exchanges: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Book placeholder → the statuses its reads showed, repeats collapsed."""
    seen: dict[str, list[str]] = {}
    for exchange in exchanges:
        request, response = exchange["request"], exchange["response"]
        body = response.get("body")
        data = body.get("data") if isinstance(body, dict) else None
        if request.get("method") != "GET" or response.get("status") != 200:
            continue
        if not isinstance(data, dict) or not str(request.get("path", "")).startswith("/v1/"):
            continue
        book = str(request["path"]).rsplit("/", 1)[1]
        statuses = seen.setdefault(book, [])
        if not statuses or statuses[-1] != data.get("status"):
            statuses.append(str(data.get("status")))
    return seen


def compare(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[Difference]:
    differences = []
    for number, (before, after) in enumerate(zip(recorded, replayed, strict=True), 1):
        one, other = answer_shape(before), answer_shape(after)
        missing: list[str] = []  # a part only one side has: its inner paths say nothing more
        for path in sorted(set(one) | set(other)):
            if any(path.startswith((f"{m}.", f"{m}[]")) for m in missing):
                continue
            was, now = one.get(path, ABSENT), other.get(path, ABSENT)
            if was != now and not _close_enough(path, was, now) and not _null_alike(path, was, now):
                differences.append(Difference(number, path, was, now))
                if ABSENT in (was, now) or "array" in (was, now) or "object" in (was, now):
                    missing.append(path)
    recorded_books, replayed_books = lifecycles(recorded), lifecycles(replayed)
    for book in sorted(set(recorded_books) | set(replayed_books)):
        was = " → ".join(recorded_books.get(book, [])) or "(never read)"
        now = " → ".join(replayed_books.get(book, [])) or "(never read)"
        if was != now:
            differences.append(Difference(None, f"lifecycle {book}", was, now))
    return differences


def _null_alike(path: str, was: str, now: str) -> bool:
    """The page: "null may be explicit or omitted". A value null on one side and left out on
    the other is the same answer: only the types other than null are compared."""
    return path.startswith("body.") and _types_but_null(was) == _types_but_null(now)


def _types_but_null(value: str) -> set[str]:
    return set() if value == ABSENT else set(value.split("|")) - {"null"}


def _close_enough(path: str, was: str, now: str) -> bool:
    if path.removeprefix("headers.") not in _WITHIN_A_SECOND:
        return False
    try:
        return abs(int(was) - int(now)) <= 1
    except ValueError:
        return False


# --- replaying -------------------------------------------------------------------------------
class ReplayError(Exception):
    """The mock could not be set up for a cassette (a plan it does not know...)."""


async def replay(cassette: Cassette, config: MockConfig | None = None) -> list[dict[str, Any]]:
    """The cassette's requests answered by a fresh mock, normalised like the recording."""
    config = dataclasses.replace(config or MockConfig(), clock="manual", validate_responses=False)
    service = build_service(config)
    gateway = Gateway(service, control=ControlApi(service))
    upstream = str(cassette.header.get("upstream") or "http://upstream.invalid")
    await service.start()
    try:
        mock = _ReplayedMock(gateway, config, upstream)
        secrets = {}
        for placeholder, label in _keys(cassette):
            key = await mock.key_for(label)
            secrets[key] = secrets[key_mark(fingerprint(key))] = placeholder
        normalizer = Normalizer(upstream, secrets)
        await mock.advance(_window_phase(cassette.exchanges))
        answered, previous = [], 0.0
        for exchange in cassette.exchanges:
            at = float(exchange.get("at", previous))
            await mock.advance(at - previous)
            previous = max(previous, at)
            request = _request(exchange["request"], normalizer, upstream)
            reply = await gateway.handle(request)
            if request.method == "HEAD":
                reply.body = b""
            answered.append(normalizer.exchange(capture(at, request, reply)))
        return answered
    finally:
        await service.close()


def _keys(cassette: Cassette) -> list[tuple[str, str]]:
    recorded = cassette.header.get("keys") or {}
    if not isinstance(recorded, dict):
        raise ReplayError("the header's keys are not a mapping")
    return [(str(placeholder), str(label)) for placeholder, label in recorded.items()]


def _window_phase(exchanges: list[dict[str, Any]]) -> float:
    """How far to move the mock's minute-aligned clock so that its rate-limit window ends when
    the recorded first one did (the first answer with ``x-ratelimit-reset``)."""
    for exchange in exchanges:
        reset = (exchange["response"].get("headers") or {}).get("x-ratelimit-reset")
        if isinstance(reset, str) and reset.isdigit() and 0 < int(reset) <= WINDOW:
            return (WINDOW - int(reset) - float(exchange.get("at", 0))) % WINDOW
    return 0.0


def _request(recorded: Mapping[str, Any], normalizer: Normalizer, upstream: str) -> HttpRequest:
    resolved = normalizer.resolve(dict(recorded))
    headers = []
    for name, value in (resolved.get("headers") or {}).items():
        for item in value if isinstance(value, list) else [value]:
            headers.append((str(name), str(item)))
    if "body" in resolved:
        body = json.dumps(resolved["body"], ensure_ascii=False, separators=(",", ":")).encode()
    elif "bodyText" in resolved:
        body = str(resolved["bodyText"]).encode("utf-8", "surrogateescape")
    elif "bodyBase64" in resolved:
        body = base64.b64decode(resolved["bodyBase64"])
    else:
        body = b""
    return HttpRequest(
        method=str(resolved["method"]),
        path=str(resolved["path"]),
        headers=headers,
        body=body,
        base_url=upstream,
    )


class _ReplayedMock:
    """The replay's mock: users for the recorded keys, and its clock, through the control API."""

    def __init__(self, gateway: Gateway, config: MockConfig, upstream: str) -> None:
        self._gateway = gateway
        self._config = config
        self._upstream = upstream

    async def _control(self, method: str, path: str, body: Any = None) -> Any:
        request = HttpRequest(
            method=method,
            path=f"/_mock/{path}",
            headers=[
                (ADMIN_HEADER, self._config.admin_token),
                ("content-type", "application/json"),
            ],
            body=b"" if body is None else json.dumps(body).encode(),
            base_url=self._upstream,
        )
        reply: HttpReply = await self._gateway.handle(request)
        payload = reply.json()
        if reply.status >= 300:
            raise ReplayError(f"control {method} {path}: {payload.get('error')}")
        return payload["data"]

    async def key_for(self, label: str) -> str:
        """A key answering like the recorded one: a new user of its plan, a suspended key, or
        an unknown key (revoked, malformed and unknown keys all answer INVALID_API_KEY)."""
        plan = "pro" if label.startswith("limit-") else label  # a limit no plan has: it shows
        if plan in self._config.plans:
            return (await self._control("POST", "users", {"plan": plan}))["apiKey"]
        if label == "suspended":
            user = await self._control("POST", "users", {"plan": "pro"})
            await self._control("POST", f"keys/{user['keyId']}/suspend")
            return user["apiKey"]
        return keys.new_key()

    async def advance(self, seconds: float) -> None:
        if seconds > 0:
            await self._control("POST", "clock/advance", {"seconds": round(seconds, 3)})


# --- a directory of cassettes ----------------------------------------------------------------
@dataclass
class CassetteResult:
    cassette: Cassette
    differences: list[Difference]
    ignored: list[Difference]


async def verify(
    cassettes: list[Cassette],
    *,
    ignore: Iterable[str] = (),
    update: bool = False,
    config: MockConfig | None = None,
) -> list[CassetteResult]:
    """Replay and compare each cassette. One without differences (not ignored) gets its
    ``lastVerifiedAt``; with ``update`` each is rewritten from the mock's answers."""
    patterns = list(ignore)
    results = []
    for cassette in cassettes:
        replayed = await replay(cassette, config)
        found = compare(cassette.exchanges, replayed)
        kept = [d for d in found if not d.ignored_by(patterns)]
        ignored = [d for d in found if d.ignored_by(patterns)]
        now = utc_now()
        if update:
            cassette.exchanges = replayed
            cassette.header["updatedFromMockAt"] = now
        if update or not kept:
            cassette.header["lastVerifiedAt"] = now
            if cassette.path is not None:
                cassette.save()
        results.append(CassetteResult(cassette, kept, ignored))
    return results


def describe(result: CassetteResult, *, updated: bool = False) -> str:
    """A readable diff: the cassette, then each differing exchange with what differs."""
    cassette = result.cassette
    name = cassette.path.name if cassette.path else "(cassette)"
    header = cassette.header
    lines = [
        f"{name}: {len(cassette.exchanges)} exchanges recorded {header.get('recordedAt')} "
        f"from {header.get('upstream')}"
    ]
    by_exchange: dict[int | None, list[Difference]] = {}
    for difference in result.differences:
        by_exchange.setdefault(difference.exchange, []).append(difference)
    for number, differences in by_exchange.items():
        if number is not None:
            request = cassette.exchanges[number - 1]["request"]
            lines.append(f"  #{number} {request.get('method')} {request.get('path')}")
        for d in differences:
            indent = "      " if number is not None else "  "
            lines.append(f"{indent}{d.what}: recorded {d.recorded}, mock {d.replayed}")
    verdict = (
        "rewritten from the mock"
        if updated
        else f"{len(result.differences)} difference(s)"
        if result.differences
        else "the mock matches"
    )
    ignored = f", {len(result.ignored)} ignored" if result.ignored else ""
    verified = header.get("lastVerifiedAt") or "never"
    lines.append(f"  {verdict}{ignored}; last verified {verified}")
    return "\n".join(lines)
