"""The public API (``openapi.yaml``): each operation is one pipeline of checks, composed here and
nowhere else, in the order ``x-cbk.checkOrder`` gives. Framework-free like the control API.

A step either passes (returns None) or ends the request: with a reply (an idempotent replay)
or by raising an ``ApiError``. A step that takes something a later failure must give back (an
idempotency claim) registers how to undo it. The mock's own steps (forced
scenarios) cover no name of ``checkOrder``; every other step covers the names it checks. The
rate-limit headers of an accepted key are attached once, by the pipeline, to whatever it
answers.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from mockserver.core import scenarios
from mockserver.core.accounts import Identity, Principal
from mockserver.core.books import Book
from mockserver.core.codec import dumps
from mockserver.core.errors import ApiError
from mockserver.core.idempotency import Claim, Replay
from mockserver.core.ids import new_uuid
from mockserver.core.limits import RateLimit, Reservation
from mockserver.core.service import MockService
from mockserver.core.validation import fingerprint, validate_book_id, validate_create_body
from mockserver.http.messages import (
    EncodedJson,
    Exchange,
    Headers,
    HttpReply,
    json_reply,
    media_type,
)
from mockserver.spec import load_spec

_spec = load_spec()
_API_KEY_HEADER = _spec.api_key_header
_IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"]
_REPLAY_HEADER = _spec.rules["idempotency"]["replayHeader"]

Params = dict[str, str]
Handler = Callable[[Exchange, Params], Awaitable[HttpReply]]
#: How a failure becomes a reply (the gateway's, so every error is rendered one way).
FailureReply = Callable[[Exchange, Exception], HttpReply]


class Call:
    """One request going through its pipeline: what the steps found so far."""

    __slots__ = (
        "body",
        "book",
        "book_id",
        "claim",
        "exchange",
        "idempotency_key",
        "identity",
        "malformed_scenario",
        "now",
        "params",
        "payload",
        "principal",
        "rate",
        "reservation",
        "scenario",
        "undo",
    )

    def __init__(self, exchange: Exchange, params: Params) -> None:
        self.exchange = exchange
        self.params = params
        self.now = 0.0
        self.scenario = scenarios.NO_SCENARIO
        self.malformed_scenario: ApiError | None = None
        self.identity: Identity | None = None
        self.principal: Principal | None = None
        #: Set once the key is accepted: the pipeline then sends its headers on every reply.
        self.rate: RateLimit | None = None
        self.body: Any = None
        self.idempotency_key: str | None = None
        self.payload: dict[str, Any] = {}
        self.claim: Claim | None = None
        self.reservation: Reservation | None = None
        self.book: Book | None = None
        #: The id of the book to create: the idempotency claim's owner token.
        self.book_id = ""
        #: What to give back if a later step fails, latest first.
        self.undo: list[Callable[[], Awaitable[None]]] = []


StepRun = Callable[[Call], Awaitable[HttpReply | None]]


class Step(NamedTuple):
    name: str
    #: The ``checkOrder`` names this step checks (none for the mock's own steps; two when one
    #: atomic backend call decides both).
    checks: tuple[str, ...]
    run: StepRun


def check(name: str, run: StepRun, *also: str) -> Step:
    return Step(name, (name, *also), run)


def mock_step(name: str, run: StepRun) -> Step:
    return Step(name, (), run)


class Pipeline:
    def __init__(
        self,
        operation_id: str,
        steps: tuple[Step, ...],
        answer: Callable[[Call], HttpReply],
        failure_reply: FailureReply,
    ) -> None:
        self.operation_id = operation_id
        self.steps = steps
        self._runs = tuple(step.run for step in steps)
        self._answer = answer
        self._failure_reply = failure_reply

    @property
    def check_order(self) -> list[str]:
        """The ``checkOrder`` this pipeline implements."""
        return [name for step in self.steps for name in step.checks]

    async def __call__(self, exchange: Exchange, params: Params) -> HttpReply:
        call = Call(exchange, params)
        try:
            reply = await self._run(call)
        except Exception as exc:
            reply = self._failure_reply(exchange, exc)
        if call.rate is not None:
            attach_rate_headers(reply, call.rate)
        return reply

    async def _run(self, call: Call) -> HttpReply:
        try:
            for run in self._runs:
                early = await run(call)
                if early is not None:
                    return early
        except BaseException:
            for undo in reversed(call.undo):
                await undo()
            raise
        return self._answer(call)


def attach_rate_headers(reply: HttpReply, rate: RateLimit) -> None:
    reply.headers.update(rate.headers())


# --- what the steps read from a request ------------------------------------------------------
def presented_key(headers: Headers) -> str | None:
    """The API key header wins over ``Authorization: Bearer``. None when no key was sent; ""
    when credentials were sent but are unusable (another scheme, conflicting repeats)."""
    api_keys = {v.strip() for v in headers.get_all(_API_KEY_HEADER) if v.strip()}
    if api_keys:
        return api_keys.pop() if len(api_keys) == 1 else ""
    authorizations = [v.strip() for v in headers.get_all("authorization") if v.strip()]
    if not authorizations:
        return None
    scheme, _, token = authorizations[0].partition(" ")
    return token.strip() if scheme.lower() == "bearer" and len(authorizations) == 1 else ""


def json_body(exchange: Exchange) -> Any:
    content_type = exchange.headers.single("content-type")
    kind, params = media_type(content_type or "")
    if kind != "application/json" or params.get("charset", "utf-8") not in ("utf-8", "utf8"):
        raise ApiError("BAD_REQUEST", "content-type must be application/json.")
    return exchange.request.json_body()


def story_json(book: Book, now: float, asset_base: str) -> EncodedJson:
    """The story as of ``now``; a settled one is encoded once (pollers ask for it again and
    again, and it can no longer change)."""
    settled_at = book.settled_at
    if settled_at is not None and now >= settled_at:
        return _settled_story(book, settled_at, asset_base)
    return EncodedJson(dumps(book.render(now, asset_base)))


@functools.lru_cache(maxsize=1024)
def _settled_story(book: Book, settled_at: float, asset_base: str) -> EncodedJson:
    return EncodedJson(dumps(book.render(settled_at, asset_base)))


def _accepted(exchange: Exchange, replay: Replay) -> HttpReply:
    data = {"taskId": replay.task_id, "bookId": replay.book_id, "status": replay.status}
    return json_reply(exchange, 202, data)


class PublicApi:
    """The operations of openapi.yaml, by operationId."""

    def __init__(self, service: MockService, failure_reply: FailureReply) -> None:
        self.service = service
        self.pipelines: Mapping[str, Pipeline] = {
            "createStory": self.create_story(failure_reply),
            "getStory": self.get_story(failure_reply),
        }

    def operation(self, operation_id: str) -> Handler:
        return self.pipelines[operation_id]

    # --- composition (the one place the order of checks is written) ----------------------
    def _admission(self) -> tuple[Step, ...]:
        """Every operation starts so: forced errors first (they stand for an outage in front
        of the API), then the key. A malformed scenario header is reported after the key is
        counted, so its 400 carries the rate-limit headers."""
        return (
            mock_step("forcedScenario", self._forced_scenario),
            check("auth", self._auth),
            check("plan", self._plan),
            check("perMinuteLimit", self._per_minute_limit),
            mock_step("scenarioHeader", self._scenario_header),
        )

    def create_story(self, failure_reply: FailureReply) -> Pipeline:
        steps = (
            *self._admission(),
            check("contentTypeAndJson", self._content_type_and_json),
            check("bodyValidation", self._body_validation),
            check("idempotency", self._idempotency),
            check("dailyCap", self._quotas, "monthlyCredits"),
            check("accept", self._accept),
        )
        return Pipeline("createStory", steps, self._answer_created, failure_reply)

    def get_story(self, failure_reply: FailureReply) -> Pipeline:
        steps = (
            *self._admission(),
            check("idValidation", self._id_validation),
            check("ownership", self._ownership),
        )
        return Pipeline("getStory", steps, self._answer_story, failure_reply)

    # --- steps ---------------------------------------------------------------------------
    async def _forced_scenario(self, call: Call) -> None:
        if self.service.config.scenario_header:
            try:
                call.scenario = scenarios.parse_header(
                    call.exchange.headers.single(scenarios.HEADER)
                )
            except ApiError as error:
                call.malformed_scenario = error
        call.exchange.delay_ms = call.scenario.delay_ms
        if call.scenario.error_status is not None:
            raise scenarios.forced_error(call.scenario.error_status)
        forced = await self.service.scenarios.next_error()
        if forced is not None:
            raise forced

    async def _auth(self, call: Call) -> None:
        exchange = call.exchange
        call.now = exchange.arrived_at = await self.service.now()
        call.identity = await self.service.identify(
            presented_key(exchange.headers), exchange.request.client, call.now
        )

    async def _plan(self, call: Call) -> None:
        assert call.identity is not None
        call.principal = call.exchange.principal = await self.service.admit(
            call.identity, call.exchange.request.client, call.now
        )

    async def _per_minute_limit(self, call: Call) -> None:
        assert call.principal is not None
        call.rate = await self.service.limits.per_minute(
            call.principal, call.exchange.request.client, call.now
        )

    async def _scenario_header(self, call: Call) -> None:
        if call.malformed_scenario is not None:
            raise call.malformed_scenario

    async def _content_type_and_json(self, call: Call) -> None:
        call.body = json_body(call.exchange)

    async def _body_validation(self, call: Call) -> None:
        call.idempotency_key = call.exchange.headers.single(_IDEMPOTENCY_HEADER)
        call.payload = validate_create_body(call.body, call.idempotency_key)

    async def _idempotency(self, call: Call) -> HttpReply | None:
        if call.idempotency_key is None:
            return None
        assert call.principal is not None
        store = self.service.idempotency
        call.book_id = new_uuid()
        outcome = await store.begin(
            call.principal.user.id,
            call.idempotency_key,
            fingerprint(call.payload),
            call.book_id,
            call.now,
        )
        if isinstance(outcome, Replay):
            reply = _accepted(call.exchange, outcome)
            reply.headers[_REPLAY_HEADER] = "true"
            return reply
        if outcome is not None:
            claim = call.claim = outcome
            call.undo.append(lambda: store.abandon(claim))
        return None

    async def _quotas(self, call: Call) -> None:
        """Given back by ``accept``, the very next step, if the book cannot be stored."""
        assert call.principal is not None
        call.reservation = await self.service.quotas.reserve(
            call.principal, call.payload["pageCount"], call.now
        )

    async def _accept(self, call: Call) -> None:
        assert call.principal is not None and call.reservation is not None
        call.book = await self.service.accept(
            call.principal,
            call.book_id or new_uuid(),
            call.payload,
            call.scenario.job,
            call.claim,
            call.reservation,
            call.now,
        )
        call.undo.clear()  # the book is stored: its credits are spent, its key is used
        if call.claim is not None:
            await self.service.idempotency.complete(call.claim, _replay_of(call.book), call.now)

    async def _id_validation(self, call: Call) -> None:
        call.params["id"] = validate_book_id(call.params["id"])

    async def _ownership(self, call: Call) -> None:
        assert call.principal is not None
        call.book = await self.service.own_book(call.principal, call.params["id"])

    # --- answers -------------------------------------------------------------------------
    @staticmethod
    def _answer_created(call: Call) -> HttpReply:
        assert call.book is not None
        return _accepted(call.exchange, _replay_of(call.book))

    @staticmethod
    def _answer_story(call: Call) -> HttpReply:
        assert call.book is not None
        story = story_json(call.book, call.now, call.exchange.request.base_url)
        return json_reply(call.exchange, 200, story)


def _replay_of(book: Book) -> Replay:
    return Replay(book.id, book.task_id or "", "pending")
