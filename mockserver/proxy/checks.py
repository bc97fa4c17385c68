"""What the validating proxy checks on every exchange it forwards, framework-free.

``ExchangeChecks`` is fed each exchange twice: ``begin`` with the request, right before it goes
upstream, and ``finish`` with the answer. It keeps what the contract makes checkable across
exchanges — per key (rate-limit windows, accepted Idempotency-Keys) and per book (the lifecycle
seen so far, who created it) — bounded, and names every violation by its clause id
(``mockserver.clause_ids``):

* **conformance** — the envelope, a documented status with its headers and body
  (``mockserver.http.conformance``), request ids, 404/405 under ``/v1/``, no key quoted back;
* **rate-limit truth, per key** — ``mockserver.http.ratelimit_audit``, as in the load tests;
* **lifecycle, per book** — status only forward, progress never down and 100 when completed,
  pages growing in order without gaps, the completed and failed invariants, timestamps;
* **idempotency** — a replay returns the same ids marked replayed; another body gives 409;
* **reading a book** — an id that is no UUID is a 400 naming ``fields.id``; a book created with
  one key and read with another is the unknown-id 404.

A key stands for its user: the proxy sees keys, never users (``docs/proxy.md`` says what that
and other blind spots mean). Keys are kept as SHA-256 fingerprints only; ``redact`` takes them
out of any text before it is reported.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

import orjson

from mockserver.clause_ids import ClauseId
from mockserver.core import keys
from mockserver.http.api import presented_key
from mockserver.http.conformance import ResponseChecker
from mockserver.http.gateway import media_type
from mockserver.http.messages import Headers, HttpReply, HttpRequest
from mockserver.http.ratelimit_audit import Answer, KeyViolation, RateLimitAuditor, Ticket
from mockserver.http.routing import Router
from mockserver.spec import load_spec

_spec = load_spec()
API_PREFIX = "/v1/"
IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"]
_REPLAY_HEADER_NAME = _spec.rules["idempotency"]["replayHeader"]
REPLAY_HEADER = _REPLAY_HEADER_NAME.lower()
IDEMPOTENCY_TTL = _spec.idempotency_ttl
REQUEST_ID_HEADER = _spec.rules["requestId"]["header"]
REQUEST_ID = re.compile(_spec.request_id_pattern)
#: Codes answered after the idempotency check: a replay or a conflict must come before them.
_AFTER_IDEMPOTENCY = frozenset({"DAILY_CAP_EXCEEDED", "INSUFFICIENT_CREDITS"})
#: ``unknown``: the spec's status of a book whose task row does not exist yet.
RANK = {"unknown": -1, "pending": 0, "processing": 1, "completed": 2, "failed": 2}
TERMINAL = frozenset({"completed", "failed"})
COMPLETED_FIELDS = ("title", "slug", "summary", "coverImage", "completedAt")
TIMESTAMPS = ("createdAt", "updatedAt", "completedAt")
#: Methods whose answer on a known path is not judged (HEAD has no body; OPTIONS may be CORS).
_UNJUDGED_METHODS = frozenset({"HEAD", "OPTIONS"})
#: Presented credentials shorter than this are not searched for in answers (too common).
_MIN_SECRET_LENGTH = 8
_ANY_KEY = re.compile(re.escape(keys.KEY_PREFIX) + r"[A-Za-z0-9_-]+")
_UUID = re.compile(_spec.schema("Uuid")["pattern"])
#: Answers of the checks before ``idValidation``: a refused key says nothing about the id.
_BEFORE_ID_VALIDATION = frozenset({401, 403, 429})
_URL_DELIMITERS = "/\\?#%"
_UNPARSED = object()

#: What ``begin`` finds a request to be, by its path and method.
ROUTED, UNKNOWN_PATH, WRONG_METHOD = "routed", "unknown path", "wrong method"


def fingerprint(key: str) -> str:
    """How a key is named everywhere: the start of its SHA-256."""
    return keys.digest(key)[:12]


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with ``secret`` and anything shaped like a key replaced by its fingerprint."""
    if secret and len(secret) >= _MIN_SECRET_LENGTH:
        text = text.replace(secret, f"key {fingerprint(secret)}")
    return _ANY_KEY.sub(lambda match: f"key {fingerprint(match.group(0))}", text)


@dataclass(frozen=True)
class Violation:
    """One broken clause, on one exchange (``method``/``path``/``status`` are None for what
    only a closed rate-limit window shows)."""

    clause: str
    message: str
    method: str | None = None
    path: str | None = None
    status: int | None = None
    #: When the exchange happened (ISO 8601, UTC); stamped by whoever reports it.
    at: str = ""
    #: A broken decision clause under ``--profile page``: reported, but no failure; stamped by
    #: whoever reports it.
    warning: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Pending:
    """A request on its way upstream, with what its answer will be judged by."""

    request: HttpRequest
    route: str | None
    operation: str | None
    key: str | None
    sent: float
    #: How many answers had come in when this request was sent (order, even on a still clock).
    after: int = 0
    ticket: Ticket | None = None
    idempotency_key: str | None = None
    body: Any = _UNPARSED
    #: The presented credential, for finding it quoted in the answer; dropped with the exchange.
    secret: str | None = field(default=None, repr=False)


@dataclass
class Accepted:
    """A 202 for one key and Idempotency-Key: what a replay must return."""

    body: Any
    task_id: Any
    book_id: Any
    received: float
    #: Its place among the answers that came in.
    answer: int


@dataclass
class BookView:
    """What the proxy has seen of one book."""

    owner: str | None = None
    page_count: int | None = None
    status: str | None = None
    progress: int | None = None
    pages: tuple[Any, ...] = ()
    finished: tuple[Any, ...] | None = None
    #: The last read, hashed: an identical read is not judged again on its own.
    last_read: int | None = None


class ExchangeChecks:
    """The checks of one proxy session (a mock's reset starts a new one)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        fresh: bool = False,
        shared_keys: bool = False,
        max_keys: int = 1000,
        max_books: int = 10_000,
    ) -> None:
        self._clock = clock
        self.auditor = RateLimitAuditor(fresh=fresh, shared=shared_keys, clock=clock)
        self._conformance = ResponseChecker(_spec)
        self._router: Router[str] = Router()
        self._router.add_paths(_spec.document, lambda operation_id: operation_id, checked=True)
        self._max_keys, self._max_books = max_keys, max_books
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._books: OrderedDict[str, BookView] = OrderedDict()
        self._accepted: OrderedDict[tuple[str, str], Accepted] = OrderedDict()
        self._evicted: list[Violation] = []
        self._answers = 0

    # --- one exchange --------------------------------------------------------------------
    def begin(self, request: HttpRequest) -> Pending:
        """Call right before the request goes upstream."""
        route, operation = self._route(request)
        pending = Pending(request, route, operation, None, self._clock(), self._answers)
        if route is None:
            return pending
        headers = Headers(request.headers)
        presented = presented_key(headers)
        if presented:
            pending.key, pending.secret = fingerprint(presented), presented
        if operation is not None and pending.key is not None:
            self._touch_key(pending.key)
            pending.ticket = self.auditor.begin(pending.key)
        if operation == "createStory":
            values = headers.get_all(IDEMPOTENCY_HEADER)
            pending.idempotency_key = values[0] if len(values) == 1 else None
            pending.body = _parsed(request.body)
        return pending

    def lost(self, pending: Pending) -> None:
        """The request got no answer (the upstream was unreachable or timed out)."""
        if pending.ticket is not None:
            self.auditor.lost(pending.ticket)

    def finish(self, pending: Pending, reply: HttpReply) -> list[Violation]:
        """Judge the answer; returns the violations it shows (none for paths outside /v1/)."""
        found: list[Violation] = []
        request = pending.request
        self._answers += 1

        def flag(clause: str, message: str) -> None:
            text = redact(message, pending.secret)
            found.append(Violation(clause, text, request.method, request.path, reply.status))

        if pending.route is None:
            return found
        headers = {name.lower(): value for name, value in reply.headers.items()}
        body = self._envelope(reply, headers, flag)
        self._request_id(request, headers, body, flag)
        self._secret(pending, reply, flag)
        if pending.route == UNKNOWN_PATH:
            if reply.status != 404 or _code(body) != "NOT_FOUND":
                flag(ClauseId.ROUTING_404, f"an unknown path answered {_answer(reply, body)}")
        elif pending.route == WRONG_METHOD and request.method not in _UNJUDGED_METHODS:
            self._wrong_method(request, reply, headers, body, flag)
        if pending.operation is None:
            return found + self._drain_evicted()
        if body is not None:
            for problem in self._conformance.violations(
                pending.operation, reply.status, headers, body
            ):
                flag(ClauseId.SCHEMA_CONFORMANCE, problem)
        if pending.ticket is not None:
            answer = Answer(reply.status, headers, _code(body))
            for violation in self.auditor.finish(pending.ticket, answer).violations:
                flag(violation.clause, f"{violation.check}: {violation.detail}")
        data = body.get("data") if isinstance(body, dict) else None
        if pending.operation == "createStory":
            self._created(pending, reply, headers, body, data, flag)
        elif pending.operation == "getStory":
            self._read(pending, reply, headers, body, data, flag)
        return found + self._drain_evicted()

    # --- rate-limit windows --------------------------------------------------------------
    def sweep(self) -> list[Violation]:
        """What windows that ended a while ago show (early 429s)."""
        return [_window_violation(v) for v in self.auditor.sweep()]

    def close(self) -> list[Violation]:
        """End of the session: every window is judged."""
        return self._drain_evicted() + [_window_violation(v) for v in self.auditor.close()]

    # --- routing -------------------------------------------------------------------------
    def _route(self, request: HttpRequest) -> tuple[str | None, str | None]:
        if not request.path.startswith(API_PREFIX):
            return None, None
        match = self._router.match([unquote(s) for s in request.path.split("/")[1:]])
        if match is None:
            return UNKNOWN_PATH, None
        operation = match.operations.get(request.method)
        if operation is None:
            return WRONG_METHOD, None
        return ROUTED, operation.checked_as

    def _wrong_method(
        self,
        request: HttpRequest,
        reply: HttpReply,
        headers: Mapping[str, str],
        body: Any,
        flag: Callable[[str, str], None],
    ) -> None:
        if reply.status != 405 or _code(body) != "METHOD_NOT_ALLOWED":
            flag(ClauseId.ROUTING_405, f"{request.method} answered {_answer(reply, body)}")
            return
        match = self._router.match([unquote(s) for s in request.path.split("/")[1:]])
        documented = set(match.operations) if match else set()
        allowed = {m.strip().upper() for m in headers.get("allow", "").split(",") if m.strip()}
        if allowed != documented:
            shown = headers.get("allow", "missing")
            flag(ClauseId.ROUTING_405, f"Allow is {shown!r}, not {', '.join(sorted(documented))}")

    # --- conformance ---------------------------------------------------------------------
    @staticmethod
    def _envelope(
        reply: HttpReply, headers: Mapping[str, str], flag: Callable[[str, str], None]
    ) -> Any:
        """The parsed body, or None (flagged) when it is not the JSON envelope's JSON."""
        kind, _ = media_type(headers.get("content-type", ""))
        if kind != "application/json":
            flag(ClauseId.ENVELOPE_JSON, f"content-type is {kind or 'missing'}, not JSON")
            return None
        body = _parsed(reply.body)
        if body is _UNPARSED or not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            flag(ClauseId.ENVELOPE_JSON, "the body is not the {ok, requestId, …} envelope")
            return None
        return body

    @staticmethod
    def _request_id(
        request: HttpRequest,
        headers: Mapping[str, str],
        body: Any,
        flag: Callable[[str, str], None],
    ) -> None:
        sent = Headers(request.headers).get_all(REQUEST_ID_HEADER)
        answered = headers.get(REQUEST_ID_HEADER.lower())
        in_body = body.get("requestId") if isinstance(body, dict) else None
        if len(sent) == 1 and REQUEST_ID.fullmatch(sent[0]):
            if answered != sent[0] or (body is not None and in_body != sent[0]):
                flag(
                    ClauseId.REQUEST_ID_ECHO,
                    f"sent {sent[0]!r}, answered {answered!r} (body {in_body!r})",
                )
            return
        if answered is None or (sent and answered in sent):
            flag(ClauseId.REQUEST_ID_GENERATE, f"answered {REQUEST_ID_HEADER} {answered!r}")
        elif not REQUEST_ID.fullmatch(answered) or (body is not None and in_body != answered):
            flag(
                ClauseId.REQUEST_ID_GENERATE,
                f"generated {answered!r}, body requestId {in_body!r}",
            )

    @staticmethod
    def _secret(pending: Pending, reply: HttpReply, flag: Callable[[str, str], None]) -> None:
        secret = pending.secret
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            return
        quoted = secret.encode("utf-8", "surrogateescape") in reply.body or any(
            secret in value for value in reply.headers.values()
        )
        if quoted:
            flag(ClauseId.KEYS_SECRET, f"the answer quotes the presented key {pending.key}")

    # --- POST /v1/stories ----------------------------------------------------------------
    def _created(
        self,
        pending: Pending,
        reply: HttpReply,
        headers: Mapping[str, str],
        body: Any,
        data: Any,
        flag: Callable[[str, str], None],
    ) -> None:
        key, idempotency_key = pending.key, pending.idempotency_key
        accepted = reply.status == 202 and isinstance(data, dict)
        replayed = headers.get(REPLAY_HEADER) == "true"
        ids = (data.get("taskId"), data.get("bookId")) if accepted else (None, None)
        if accepted and replayed and idempotency_key is None:
            flag(ClauseId.IDEMPOTENCY_REPLAY_HEADER, "marked replayed without an Idempotency-Key")
        if accepted and not replayed and data.get("status") != "pending":
            flag(ClauseId.CREATE_ACCEPTED, f"a new job is {data.get('status')!r}, not pending")
        if key is None:
            return
        book = self._books.get(str(ids[1]).lower()) if accepted else None
        if book is not None and book.owner not in (None, key) and idempotency_key is not None:
            flag(ClauseId.IDEMPOTENCY_PER_USER, f"key {key} was given another key's book {ids[1]}")
        prior = self._prior(key, idempotency_key)
        if prior is not None:
            self._judge_repeat(pending, prior, reply, body, accepted, replayed, ids, flag)
        elif accepted and idempotency_key is not None:
            record = Accepted(pending.body, ids[0], ids[1], self._clock(), self._answers)
            self._remember((key, idempotency_key), record)
        if accepted and isinstance(ids[1], str) and book is None:
            count = pending.body.get("pageCount") if isinstance(pending.body, dict) else None
            view = BookView(owner=key, page_count=count if _is_int(count) else None)
            self._keep_book(ids[1].lower(), view)

    def _prior(self, key: str, idempotency_key: str | None) -> Accepted | None:
        if idempotency_key is None:
            return None
        prior = self._accepted.get((key, idempotency_key))
        if prior is not None and self._clock() - prior.received >= IDEMPOTENCY_TTL:
            del self._accepted[(key, idempotency_key)]
            return None
        return prior

    @staticmethod
    def _judge_repeat(
        pending: Pending,
        prior: Accepted,
        reply: HttpReply,
        body: Any,
        accepted: bool,
        replayed: bool,
        ids: tuple[Any, Any],
        flag: Callable[[str, str], None],
    ) -> None:
        """The Idempotency-Key of this request was accepted before, for this key."""
        original = (prior.task_id, prior.book_id)
        same_ids = ids == original
        code = _code(body)
        if pending.after < prior.answer:  # sent while the first was in flight: one book only
            if accepted and not same_ids:
                flag(ClauseId.IDEMPOTENCY_REPLAY, f"concurrent duplicates got {ids} and {original}")
            return
        if _same_body(pending.body, prior.body):
            if accepted and not same_ids:
                flag(
                    ClauseId.IDEMPOTENCY_REPLAY,
                    f"a replay returned the ids {ids}, not the original {original}",
                )
            elif accepted and not replayed:
                flag(
                    ClauseId.IDEMPOTENCY_REPLAY_HEADER,
                    f"a replay returned the original ids without {_REPLAY_HEADER_NAME}: true",
                )
            elif reply.status == 409 or code in _AFTER_IDEMPOTENCY:
                flag(ClauseId.IDEMPOTENCY_REPLAY, f"a replay answered {_answer(reply, body)}")
        elif accepted or code in _AFTER_IDEMPOTENCY:
            flag(
                ClauseId.IDEMPOTENCY_CONFLICT,
                f"the key was used with another body, yet the answer is {_answer(reply, body)}",
            )

    # --- GET /v1/stories/{id} ------------------------------------------------------------
    def _read(
        self,
        pending: Pending,
        reply: HttpReply,
        headers: Mapping[str, str],
        body: Any,
        data: Any,
        flag: Callable[[str, str], None],
    ) -> None:
        segment = unquote(pending.request.path.rsplit("/", 1)[1])
        _judge_id(segment, reply, body, flag)
        book_id = segment.lower()
        book = self._books.get(book_id)
        if book is not None:
            self._books.move_to_end(book_id)
            owner = book.owner
            if owner is not None and pending.key is not None and owner != pending.key:
                self._foreign_read(pending, owner, reply, headers, body, flag)
                return
        if reply.status != 200 or not isinstance(data, dict):
            return
        if str(data.get("id")).lower() != book_id:
            flag(ClauseId.SCHEMA_LINKS, f"GET of {book_id} answered id {data.get('id')!r}")
        if book is None:
            book = BookView()
            self._keep_book(book_id, book)
        _judge_story(book, data, flag)

    @staticmethod
    def _foreign_read(
        pending: Pending,
        owner: str,
        reply: HttpReply,
        headers: Mapping[str, str],
        body: Any,
        flag: Callable[[str, str], None],
    ) -> None:
        """Another key's book must be the unknown-id 404. A 401/403 of a refused key is no
        answer about the book; a refusal after the key was accepted (rate headers) is."""
        accepted_key = "x-ratelimit-limit" in headers
        refused = reply.status in (403, 404) and accepted_key and _code(body) != "NOT_FOUND"
        if reply.status == 200 or refused:
            answer = _answer(reply, body)
            flag(ClauseId.GET_OWNERSHIP, f"key {pending.key} read key {owner}'s book: {answer}")

    # --- bounded state -------------------------------------------------------------------
    def _touch_key(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self._max_keys:
            oldest, _ = self._keys.popitem(last=False)
            self._evicted += [_window_violation(v) for v in self.auditor.forget(oldest)]

    def _remember(self, where: tuple[str, str], accepted: Accepted) -> None:
        self._accepted[where] = accepted
        while len(self._accepted) > self._max_books:
            self._accepted.popitem(last=False)

    def _keep_book(self, book_id: str, view: BookView) -> None:
        self._books[book_id] = view
        while len(self._books) > self._max_books:
            self._books.popitem(last=False)

    def _drain_evicted(self) -> list[Violation]:
        drained, self._evicted = self._evicted, []
        return drained


def _judge_id(segment: str, reply: HttpReply, body: Any, flag: Callable[[str, str], None]) -> None:
    """``get.uuid``: an id that is no UUID is refused with 400 ``VALIDATION_ERROR`` naming
    ``fields.id``, and a UUID in any case is never refused as invalid. Only answers that are
    about the id are judged: a 401/403/429 comes from a check before it, a 5xx from no check,
    and a 400 other than ``VALIDATION_ERROR`` may be the request's own fault."""
    status = reply.status
    if status in _BEFORE_ID_VALIDATION or status >= 500 or not _judged_as_an_id(segment):
        return
    error = body.get("error") if isinstance(body, dict) else None
    fields = error.get("fields") if isinstance(error, dict) else None
    invalid = status == 400 and _code(body) == "VALIDATION_ERROR"
    names_the_id = invalid and isinstance(fields, dict) and "id" in fields
    if _UUID.fullmatch(segment):
        if names_the_id:
            flag(ClauseId.GET_UUID, f"the UUID {segment!r} was refused: {_answer(reply, body)}")
    elif status in (200, 404) or (invalid and not names_the_id):
        flag(ClauseId.GET_UUID, f"{segment!r} is no UUID, yet the answer is {_answer(reply, body)}")


def _judged_as_an_id(segment: str) -> bool:
    """Whether a server must have read ``segment`` as the id: not when it is empty, a dot
    segment, padded with whitespace or holds a URL delimiter or escape, which URL normalization
    on the way may have changed (the suite's own non-UUID ids leave these out too)."""
    return (
        segment.strip(".") != ""
        and segment.strip() == segment
        and not any(char in segment for char in _URL_DELIMITERS)
    )


def _judge_story(book: BookView, story: dict[str, Any], flag: Callable[[str, str], None]) -> None:
    """One more read of a book, against what the earlier reads showed; then remember it. What
    a read shows on its own is judged once per distinct read (pollers re-read a finished book
    again and again)."""
    status, progress = story.get("status"), story.get("progress")
    listed = story.get("pages")
    pages: list[Any] = listed if isinstance(listed, list) else []
    indices = tuple(p.get("index") if isinstance(p, dict) else None for p in pages)
    went_back = book.status in RANK and status in RANK and RANK[status] < RANK[book.status]
    if went_back or (book.status in TERMINAL and status != book.status):
        flag(ClauseId.LIFECYCLE_FORWARD, f"status went from {book.status} to {status}")
    view = (status, progress, len(pages))
    if status in TERMINAL and book.finished is not None and view != book.finished:
        flag(ClauseId.LIFECYCLE_FORWARD, f"reads of the finished book differ: {view}")
    if _is_int(progress) and _is_int(book.progress) and progress < book.progress:  # type: ignore[operator]
        flag(ClauseId.LIFECYCLE_PROGRESS, f"progress went from {book.progress} to {progress}")
    if indices[: len(book.pages)] != book.pages:
        flag(
            ClauseId.LIFECYCLE_PAGES,
            f"pages[] did not grow by appending: {list(indices)} after {list(book.pages)}",
        )
    read = _digest(story)
    if read != book.last_read:
        _judge_read(book, story, pages, indices, flag)
    book.status, book.progress, book.pages, book.last_read = status, progress, indices, read
    if status in TERMINAL and book.finished is None:
        book.finished = view


def _judge_read(
    book: BookView,
    story: dict[str, Any],
    pages: list[Any],
    indices: tuple[Any, ...],
    flag: Callable[[str, str], None],
) -> None:
    status, progress = story.get("status"), story.get("progress")
    if status == "completed" and _is_int(progress) and progress != 100:
        flag(ClauseId.LIFECYCLE_PROGRESS, f"completed with progress {progress}")
    first = _int_or(indices[0]) if indices else 0
    if indices != tuple(range(first, first + len(indices))):
        flag(ClauseId.LIFECYCLE_PAGES, f"pages[] indices are {list(indices)}")
    if status == "completed":
        _judge_completed(book, story, pages, flag)
    elif status == "failed":
        if not story.get("errorMessage"):
            flag(ClauseId.LIFECYCLE_FAILED, "failed without errorMessage")
        if story.get("completedAt") is not None:
            flag(ClauseId.LIFECYCLE_FAILED, f"failed with completedAt {story['completedAt']}")
    _judge_timestamps(story, flag)


def _judge_completed(
    book: BookView, story: dict[str, Any], pages: list[Any], flag: Callable[[str, str], None]
) -> None:
    count = story.get("pageCount") if _is_int(story.get("pageCount")) else book.page_count
    if count is not None and len(pages) != count - 1:
        flag(
            ClauseId.LIFECYCLE_COMPLETED,
            f"{len(pages)} pages, expected pageCount − 1 = {count - 1}",
        )
    incomplete = [
        p.get("index")
        for p in pages
        if isinstance(p, dict) and not (p.get("content") and p.get("imageUrl"))
    ]
    if incomplete:
        flag(ClauseId.LIFECYCLE_COMPLETED, f"pages without content or imageUrl: {incomplete}")
    missing = [name for name in COMPLETED_FIELDS if story.get(name) is None]
    if missing:
        flag(ClauseId.LIFECYCLE_COMPLETED, f"completed without {', '.join(missing)}")


def _judge_timestamps(story: dict[str, Any], flag: Callable[[str, str], None]) -> None:
    given: dict[str, datetime] = {}
    for name in TIMESTAMPS:
        value = story.get(name)
        if value is None:
            continue
        parsed = _utc(value)
        if parsed is None:
            flag(ClauseId.LIFECYCLE_TIMESTAMPS, f"{name} {value!r} is not ISO 8601 in UTC")
        else:
            given[name] = parsed
    created, updated = given.get("createdAt"), given.get("updatedAt")
    if created and updated and created > updated:
        flag(ClauseId.LIFECYCLE_TIMESTAMPS, f"createdAt {created} is after updatedAt {updated}")


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() == timedelta(0) else None


def _window_violation(violation: KeyViolation) -> Violation:
    detail = f"{violation.check}: key {violation.bucket}, {violation.detail}"
    return Violation(violation.clause, detail)


def _digest(story: dict[str, Any]) -> int:
    try:
        return hash(orjson.dumps(story, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # an integer beyond 64 bits
        return hash(json.dumps(story, sort_keys=True))


def _parsed(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return _UNPARSED


def _same_body(one: Any, other: Any) -> bool:
    """Bodies compared after parsing (key order irrelevant), as the page says."""
    return one is not _UNPARSED and other is not _UNPARSED and one == other


def _code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def _answer(reply: HttpReply, body: Any) -> str:
    code = _code(body)
    return f"{reply.status} {code}" if code else str(reply.status)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_or(value: Any, default: int = 0) -> int:
    return value if _is_int(value) else default
