"""Recordings ("cassettes") of proxied sessions, framework-free: capture, normalisation, file
format, and the normalised answers that parity compares.

A cassette is one YAML file of several documents: a header, then one document per exchange, keys
sorted, so a re-recording diffs exchange by exchange. Normalisation makes it safe to commit and
stable to re-record:

* no secret is kept: a presented key becomes ``<key:PLAN>`` (``<key:pro>``, ``<key:pro:2>`` for a
  second Pro key, ``<key:free>``, ``<key:suspended>``, ``<key:invalid>``), named after what the
  answers showed of it, and anything else shaped like a key is replaced too (masked, when it
  is written escaped);
* ids (every UUID, and a request id the upstream generated in any format) become
  ``<book:1>``, ``<task:1>``, ``<request:1>``, ``<idempotency:1>`` or ``<id:1>``, numbered in
  order of first appearance, the same value always the same placeholder;
* timestamps become ``<time:+12.500>``: seconds from the session's start on the upstream's clock;
* the upstream's base URL becomes ``<upstream>``;
* each exchange keeps ``at``, seconds from the session's start, so the gaps between exchanges
  are kept; headers are kept only where the contract names them.

``docs/proxy.md`` documents the format.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from multidict import CIMultiDict, CIMultiDictProxy

from mockserver.core import keys
from mockserver.core.clock import isoformat, parse_iso
from mockserver.core.scenarios import HEADER as SCENARIO_HEADER
from mockserver.http.messages import HttpReply, HttpRequest, RawHeaders
from mockserver.proxy.checks import API_PREFIX, fingerprint
from mockserver.spec import load_spec

FORMAT = "cbk-cassette/1"
SUFFIX = ".cassette.yaml"
#: A cassette holds at most this many exchanges; a longer session continues in the next one.
MAX_EXCHANGES = 5000
#: Bodies that are not JSON are kept as text up to this many characters.
MAX_TEXT = 4000
_spec = load_spec()
PLAN_BY_LIMIT = {plan.requests_per_minute: name for name, plan in reversed(_spec.plans.items())}
_COMMENT = "# A cbk-mock cassette (docs/proxy.md): a header, then one document per exchange.\n"
_REQUEST_ID_HEADER = _spec.rules["requestId"]["header"].lower()
_API_KEY_HEADER = _spec.api_key_header.lower()

#: Request headers a replay needs; every other request header is left out.
REQUEST_HEADERS = (
    "authorization",
    "content-type",
    _spec.rules["idempotency"]["header"].lower(),
    _REQUEST_ID_HEADER,
    _API_KEY_HEADER,
    SCENARIO_HEADER.lower(),
)
#: Response headers the contract names (openapi.yaml), plus content-type and Allow.
RESPONSE_HEADERS = tuple(
    sorted(
        {"allow", "content-type"}
        | {
            name.lower()
            for item in _spec.document["paths"].values()
            for operation in item.values()
            if isinstance(operation, dict)
            for response in operation.get("responses", {}).values()
            for name in _spec.resolve(response).get("headers", {})
        }
    )
)
_CREDENTIAL_HEADERS = ("authorization", _API_KEY_HEADER)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)
_ANY_KEY = re.compile(re.escape(_spec.api_key_prefix) + r"[A-Za-z0-9_-]+")
_KEY_MARK = re.compile(r"<key#([0-9a-f]{12})>")
PLACEHOLDER = re.compile(r"<(book|task|request|idempotency|id):(\d+)>")
#: Which kind of id a value is, by the JSON field or header it is found in.
_KIND_OF_FIELD = {
    "bookId": "book",
    "id": "book",
    "taskId": "task",
    "requestId": "request",
    _REQUEST_ID_HEADER: "request",
    _spec.rules["idempotency"]["header"].lower(): "idempotency",
}


def key_mark(fingerprint_: str) -> str:
    """What stands for a key in a capture until its placeholder is known."""
    return f"<key#{fingerprint_}>"


def utc_now() -> str:
    return isoformat(datetime.now(UTC).timestamp())


# --- capture: one exchange, secrets already out --------------------------------------------
@dataclass
class Capture:
    """One exchange as recorded: credentials replaced by key marks, headers the replay needs."""

    at: float
    method: str
    path: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


def capture(
    at: float, request: HttpRequest, reply: HttpReply, secret: str | None = None
) -> Capture:
    """``request`` and ``reply`` with the presented ``secret`` and every key-shaped string
    replaced by key marks, and keys written escaped masked (nothing secret is kept from here
    on)."""

    def scrub(text: str) -> str:
        if secret:
            text = text.replace(secret, key_mark(fingerprint(secret)))
        marked = _ANY_KEY.sub(lambda m: key_mark(fingerprint(m.group(0))), text)
        return keys.mask(marked)  # a key written escaped (``cbk%5Flive%5F…``) has no mark

    def scrub_bytes(raw: bytes) -> bytes:
        return scrub(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    kept = []
    for name, value in _header_items(request.headers):
        lower = name.lower()
        if lower in _CREDENTIAL_HEADERS:
            kept.append((lower, _credential(lower, value)))
        elif lower in REQUEST_HEADERS:
            kept.append((lower, scrub(value)))
    headers = {
        name.lower(): scrub(value)
        for name, value in reply.headers.items()
        if name.lower() in RESPONSE_HEADERS
    }
    return Capture(
        at,
        request.method,
        scrub(request.path),
        kept,
        scrub_bytes(request.body),
        reply.status,
        headers,
        scrub_bytes(reply.body),
    )


def _header_items(headers: RawHeaders) -> Iterable[tuple[str, str]]:
    return headers.items() if isinstance(headers, CIMultiDictProxy | CIMultiDict) else headers


def _credential(name: str, value: str) -> str:
    """A credential header's value with the key in it (whatever it is) replaced by its mark;
    the scheme of ``Authorization`` is kept."""
    stripped = value.strip()
    scheme, _, token = stripped.partition(" ")
    if name == "authorization" and token.strip():
        return f"{scheme} {key_mark(fingerprint(token.strip()))}"
    return key_mark(fingerprint(stripped)) if stripped else value


# --- what a session showed of each key ------------------------------------------------------
@dataclass
class KeyFacts:
    limit: int | None = None
    refusal: str | None = None

    def label(self) -> str:
        if self.limit is not None:
            return PLAN_BY_LIMIT.get(self.limit, f"limit-{self.limit}")
        return {"PLAN_REQUIRED": "free", "FORBIDDEN": "suspended"}.get(
            self.refusal or "", "invalid"
        )


def observe_key(facts: dict[str, KeyFacts], key: str, reply: HttpReply) -> None:
    headers = {k.lower(): v for k, v in reply.headers.items()}
    known = facts.setdefault(key, KeyFacts())
    limit = headers.get("x-ratelimit-limit", "")
    if limit.isdigit() and known.limit is None:
        known.limit = int(limit)
    elif reply.status in (401, 403) and known.refusal is None:
        try:
            known.refusal = json.loads(reply.body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            known.refusal = "unknown"


def key_placeholders(facts: Mapping[str, KeyFacts]) -> dict[str, str]:
    """Fingerprint → ``<key:LABEL>``, numbered within a label in order of first sight."""
    seen: Counter[str] = Counter()
    placeholders = {}
    for key, known in facts.items():
        label = known.label()
        seen[label] += 1
        suffix = "" if seen[label] == 1 else f":{seen[label]}"
        placeholders[key] = f"<key:{label}{suffix}>"
    return placeholders


# --- normalisation --------------------------------------------------------------------------
class Normalizer:
    """Turns captures into cassette exchanges; the same instance, run over a replay, gives the
    same placeholders when the answers match (and ``resolve`` maps them back to values)."""

    def __init__(self, upstream: str, secrets: Mapping[str, str]) -> None:
        #: Text (a key mark, or a replay's real key) → its placeholder.
        self._secrets = dict(secrets)
        self._upstream = upstream.rstrip("/")
        self._ids: dict[str, str] = {}
        self._values: dict[str, str] = {}
        self._numbers: Counter[str] = Counter()
        self._origin: float | None = None
        self._at = 0.0

    # --- values to placeholders ----------------------------------------------------------
    def exchange(self, captured: Capture) -> dict[str, Any]:
        self._at = captured.at
        self._generated_request_id(captured)
        request: dict[str, Any] = {
            "method": captured.method,
            "path": self._path(captured.path),
            "headers": self._headers(captured.request_headers),
        }
        request.update(self._body(captured.request_body, exact=True))
        response: dict[str, Any] = {
            "status": captured.status,
            "headers": self._headers(captured.response_headers.items()),
        }
        response.update(self._body(captured.response_body, exact=False))
        return {"at": round(captured.at, 3), "request": request, "response": response}

    def _generated_request_id(self, captured: Capture) -> None:
        """A request id the upstream chose is an id whatever its format (the page's own
        examples show ULIDs), so a re-recording does not differ in every answer."""
        answered = captured.response_headers.get(_REQUEST_ID_HEADER)
        sent = [value for name, value in captured.request_headers if name == _REQUEST_ID_HEADER]
        if answered and answered not in sent and not _UUID.fullmatch(answered):
            self._id(answered, "request")

    def _path(self, path: str) -> str:
        kind = "book" if path.startswith(API_PREFIX) else "id"
        return "/".join(self._text(segment, kind) for segment in path.split("/"))

    def _headers(self, items: Iterable[tuple[str, str]]) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        for name, value in items:
            text = self._text(value, _KIND_OF_FIELD.get(name, "id"))
            if name in headers:
                previous = headers[name]
                headers[name] = (
                    [*previous, text] if isinstance(previous, list) else [previous, text]
                )
            else:
                headers[name] = text
        return headers

    def _body(self, raw: bytes, *, exact: bool) -> dict[str, Any]:
        """``body`` (JSON), else ``bodyText`` or ``bodyBase64``. A request body is kept as JSON
        only when re-encoding it gives back the same bytes (so a replay sends what was sent)."""
        if not raw:
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"bodyBase64": base64.b64encode(raw).decode()}
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = _NOT_JSON
        if parsed is not _NOT_JSON and (not exact or _compact(parsed) == text):
            return {"body": self._json(parsed, "id")}
        if exact:
            return {"bodyText": self._text(text, "id")}
        return {"bodyText": self._text(text[:MAX_TEXT], "id")}

    def _json(self, value: Any, kind: str) -> Any:
        if isinstance(value, dict):
            return {k: self._json(v, _KIND_OF_FIELD.get(k, "id")) for k, v in value.items()}
        if isinstance(value, list):
            return [self._json(item, kind) for item in value]
        if isinstance(value, str):
            return self._text(value, kind)
        return value

    def _text(self, text: str, kind: str) -> str:
        for secret, placeholder in self._secrets.items():
            text = text.replace(secret, placeholder)
        text = _KEY_MARK.sub(lambda m: self._secrets.get(m.group(0), "<key:unseen>"), text)
        if self._upstream:
            text = text.replace(self._upstream, "<upstream>")
        if _TIMESTAMP.fullmatch(text):
            return self._time(text)
        if text.lower() in self._ids:
            return self._ids[text.lower()]
        return _UUID.sub(lambda m: self._id(m.group(0), kind), text)

    def _id(self, value: str, kind: str) -> str:
        known = self._ids.get(value.lower())
        if known is None:
            self._numbers[kind] += 1
            known = self._ids[value.lower()] = f"<{kind}:{self._numbers[kind]}>"
            self._values[known] = value
        return known

    def _time(self, text: str) -> str:
        try:
            moment = parse_iso(text)
        except ValueError:
            return text
        if self._origin is None:
            self._origin = moment - self._at
        return f"<time:{moment - self._origin:+.3f}>"

    # --- placeholders back to values (a replay's requests) -------------------------------
    def resolve(
        self, value: Any, fresh: Callable[[str], str] = lambda kind: str(uuid.uuid4())
    ) -> Any:
        """``value`` with every id placeholder replaced by the value it stands for; one never
        seen gets a ``fresh`` value, remembered so the answers normalise back to it."""
        if isinstance(value, dict):
            return {k: self.resolve(v, fresh) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, fresh) for item in value]
        if not isinstance(value, str):
            return value
        for secret, placeholder in self._secrets.items():
            value = value.replace(placeholder, secret)
        value = value.replace("<upstream>", self._upstream)
        return PLACEHOLDER.sub(lambda m: self._bound(m.group(1), int(m.group(2)), fresh), value)

    def _bound(self, kind: str, number: int, fresh: Callable[[str], str]) -> str:
        placeholder = f"<{kind}:{number}>"
        if placeholder not in self._values:
            value = fresh(kind)
            self._values[placeholder] = value
            self._ids[value.lower()] = placeholder
            self._numbers[kind] = max(self._numbers[kind], number)
        return self._values[placeholder]


_NOT_JSON = object()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- a session being recorded ----------------------------------------------------------------
@dataclass
class SessionRecording:
    """The captures of one session, normalised when the session ends."""

    upstream: str
    recorded_at: str = field(default_factory=utc_now)
    captures: list[Capture] = field(default_factory=list)
    facts: dict[str, KeyFacts] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return len(self.captures) >= MAX_EXCHANGES

    def add(self, captured: Capture, key: str | None, reply: HttpReply) -> None:
        self.captures.append(captured)
        if key is not None:
            observe_key(self.facts, key, reply)

    def cassette(self) -> Cassette:
        placeholders = key_placeholders(self.facts)
        secrets = {key_mark(key): placeholder for key, placeholder in placeholders.items()}
        normalizer = Normalizer(self.upstream, secrets)
        header = new_header(
            self.upstream,
            self.recorded_at,
            {placeholder: self.facts[key].label() for key, placeholder in placeholders.items()},
        )
        return Cassette(header, [normalizer.exchange(c) for c in self.captures])


def new_header(upstream: str, recorded_at: str, keys: dict[str, str]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "upstream": upstream,
        "recordedAt": recorded_at,
        "lastVerifiedAt": None,
        "updatedFromMockAt": None,
        "keys": keys,
    }


# --- files ----------------------------------------------------------------------------------
@dataclass
class Cassette:
    header: dict[str, Any]
    exchanges: list[dict[str, Any]]
    path: Path | None = None

    def dumps(self) -> str:
        header = {**self.header, "exchanges": len(self.exchanges)}
        documents = [header, *({"n": n, **e} for n, e in enumerate(self.exchanges, 1))]
        text = yaml.safe_dump_all(
            documents, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
        )
        return _COMMENT + text

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (a reader never sees half a cassette)."""
        target = path or self.path
        if target is None:
            raise ValueError("no path to save the cassette to")
        partial = target.with_name(target.name + ".partial")
        partial.write_text(self.dumps(), encoding="utf-8")
        os.replace(partial, target)
        self.path = target
        return target

    @classmethod
    def load(cls, path: Path) -> Cassette:
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not YAML ({exc})") from None
        if not documents or not isinstance(documents[0], dict):
            raise ValueError(f"{path}: no cassette header")
        header = documents[0]
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: format {header.get('format')!r} is not {FORMAT}")
        exchanges = []
        for document in documents[1:]:
            if not isinstance(document, dict) or not {"request", "response"} <= set(document):
                raise ValueError(f"{path}: an exchange without request and response")
            exchanges.append({k: v for k, v in document.items() if k != "n"})
        header = {k: v for k, v in header.items() if k != "exchanges"}
        return cls(header, exchanges, path)


def cassettes_in(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


class Recorder:
    """Writes each finished session to ``directory`` as ``session-NNNN.cassette.yaml`` (the
    next free number, so earlier recordings are never overwritten)."""

    def __init__(self, directory: Path, upstream: str) -> None:
        self.directory = directory
        self.upstream = upstream
        self.written: list[Path] = []
        directory.mkdir(parents=True, exist_ok=True)

    def session(self) -> SessionRecording:
        return SessionRecording(self.upstream)

    def write(self, recording: SessionRecording) -> Path | None:
        if not recording.captures:
            return None
        taken = {path.name for path in self.directory.iterdir()}
        name = next(
            f"session-{n:04d}{SUFFIX}"
            for n in itertools.count(1)
            if f"session-{n:04d}{SUFFIX}" not in taken
        )
        path = recording.cassette().save(self.directory / name)
        self.written.append(path)
        return path
