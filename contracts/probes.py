"""Validation probes that never assume an order of checks the page does not give.

A free probe sends its body with an Idempotency-Key one character too long (the guard): a
correct server refuses it, so nothing is booked — but what the refusal says about the body
depends on the order of checks. The page orders neither check and both answer 400
``VALIDATION_ERROR``, so before the first validation test the suite asks the target, with one
probe that books nothing on any correct server (no body fields at all, and the guard):

* the body's fields are named (alone, or together with the key): the guard does not hide the
  body's verdict, so every probe stays free (``GUARDED``), and a named ``Idempotency-Key`` is
  an expected extra entry of ``error.fields``;
* only the key is named, or anything else comes back: the guard hides the body's verdict
  (``PAID``). Rejection probes go without it, each holding its worst-case cost against
  ``CBK_CREDIT_BUDGET`` while in flight in case a broken server books it; acceptance probes are
  real creates, batched so that each book carries one value of every enum (about ten books
  cover every accepted value). A test whose book the budget cannot pay is skipped with the
  number of credits needed.

Acceptance probes are batched under both strategies: a correct server names every offending
field, so one answer judges every value the body carries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.budget import CreditLedger
from contracts.clauses import CLAUSES
from contracts.client import UNSET, Api, ApiAnswer
from contracts.expect import assert_fields, field_problems, judge
from contracts.jobs import valid_body
from contracts.terms import IDEMPOTENCY_HEADER, SPEC, STORIES, VALIDATION_ERROR
from contracts.transport import PRICING, fresh_idempotency_key

GUARDED = "guarded"
PAID = "paid"
SCHEMA = SPEC.schema("CreateStoryRequest")
PROPERTIES = SCHEMA["properties"]
REQUIRED = tuple(SCHEMA["required"])
ENUM_FIELDS = {
    name: SPEC.enum(prop["$ref"].rsplit("/", 1)[1])
    for name, prop in PROPERTIES.items()
    if "$ref" in prop
}
PAGES = PROPERTIES["pageCount"]
IDEA = PROPERTIES["storyIdea"]
CREATE_PRICE = PRICING.of("createStory")
JSON_TYPES_WITH_PARAMETERS = (
    "application/json; charset=utf-8",
    "Application/JSON",
    "application/json;charset=UTF-8",
)


def idea(length: int, char: str = "a") -> str:
    return (char * length)[:length]


# --- calibration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """How the target answered an invalid body sent with an over-long key."""

    answer: ApiAnswer

    @property
    def named(self) -> str:
        """``body``, ``key``, ``both`` or ``nothing`` (not a VALIDATION_ERROR naming either)."""
        if (self.answer.status, self.answer.code) != (400, VALIDATION_ERROR):
            return "nothing"
        fields = set(self.answer.fields)
        body, key = bool(fields & set(REQUIRED)), IDEMPOTENCY_HEADER in fields
        return {(True, True): "both", (True, False): "body", (False, True): "key"}.get(
            (body, key), "nothing"
        )

    @property
    def strategy(self) -> str:
        return GUARDED if self.named in ("body", "both") else PAID


def calibrate(api: Api, key: str) -> Calibration:
    """One probe, free on any server that validates at all: no body fields, and the guard."""
    return Calibration(api.probe({}, key=key))


# --- acceptance cases and their books ----------------------------------------------------------
@dataclass(frozen=True)
class AcceptanceCase:
    """One value a correct server must accept, and the clause that says so."""

    id: str
    clause: str
    overrides: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None

    def body(self) -> dict[str, Any]:
        return valid_body(**self.overrides)


@functools.cache
def acceptance_cases() -> tuple[AcceptanceCase, ...]:
    cases = [
        AcceptanceCase(f"{name}={value}", "create.enums", {name: value})
        for name, values in ENUM_FIELDS.items()
        for value in values
    ]
    cases += [
        AcceptanceCase("pageCount=min", "create.page-count", {"pageCount": PAGES["minimum"]}),
        AcceptanceCase("pageCount=max", "create.page-count", {"pageCount": PAGES["maximum"]}),
        AcceptanceCase(
            "storyIdea=min", "create.story-idea", {"storyIdea": idea(IDEA["minLength"])}
        ),
        AcceptanceCase(
            "storyIdea=max", "create.story-idea", {"storyIdea": idea(IDEA["maxLength"])}
        ),
        AcceptanceCase(
            "storyIdea=min-non-ascii",
            "create.story-idea",
            {"storyIdea": idea(IDEA["minLength"], "é")},
        ),
        AcceptanceCase("pageCount=7.0", "create.page-count-7.0", {"pageCount": 7.0}),
    ]
    cases += [
        AcceptanceCase(f"content-type={kind}", "create.bad-request", content_type=kind)
        for kind in JSON_TYPES_WITH_PARAMETERS
    ]
    return tuple(cases)


def case_named(case_id: str) -> AcceptanceCase:
    return next(case for case in acceptance_cases() if case.id == case_id)


@dataclass
class Book:
    """One request carrying several acceptance cases (a probe, or a real create)."""

    cases: list[AcceptanceCase] = field(default_factory=list)

    @property
    def source(self) -> str:
        return CLAUSES[self.cases[0].clause].source

    def fits(self, case: AcceptanceCase) -> bool:
        if CLAUSES[case.clause].source != self.source:
            return False  # a decision's case never hides a page case's verdict
        if case.content_type and any(c.content_type for c in self.cases):
            return False
        taken = {name for c in self.cases for name in c.overrides}
        return not taken & set(case.overrides)

    def body(self) -> dict[str, Any]:
        return valid_body(**{k: v for c in self.cases for k, v in c.overrides.items()})

    @property
    def content_type(self) -> str:
        return next((c.content_type for c in self.cases if c.content_type), "application/json")


def books(cases: tuple[AcceptanceCase, ...]) -> list[Book]:
    """The fewest books (greedily) that carry every case: fields and content types apart."""
    packed: list[Book] = []
    for case in cases:
        book = next((b for b in packed if b.fits(case)), None)
        if book is None:
            packed.append(book := Book())
        book.cases.append(case)
    return packed


# --- the probes --------------------------------------------------------------------------------
class ValidationProbes:
    """Rejection and acceptance probes under the strategy the calibration chose."""

    def __init__(
        self,
        api: Api,
        ledger: CreditLedger,
        calibration: Calibration,
        key_for: Callable[[], str],
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.calibration = calibration
        self._key_for = key_for
        self._books = books(acceptance_cases())
        self._answers: dict[int, ApiAnswer] = {}

    @property
    def strategy(self) -> str:
        return self.calibration.strategy

    def describe(self) -> str:
        named = {
            "body": "named the body's fields",
            "key": "named only the Idempotency-Key",
            "both": "named the body's fields and the Idempotency-Key",
            "nothing": f"answered {self.calibration.answer.status} {self.calibration.answer.code}",
        }[self.calibration.named]
        seen = f"for an invalid body with an over-long Idempotency-Key the target {named}"
        if self.strategy == GUARDED:
            return f"validation probes: free, guarded by an over-long Idempotency-Key ({seen})"
        return (
            "validation probes: paid — rejections sent unguarded, each held against the credit "
            f"budget; acceptances booked in {len(self._books)} books ({seen})"
        )

    # --- rejections ----------------------------------------------------------------------
    def reject(
        self,
        body: Any = UNSET,
        *,
        key: str,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiAnswer:
        """Send a body a correct server refuses."""
        if self.strategy == GUARDED:
            return self.api.probe(body, key=key, content=content, headers=headers)
        cost = CREATE_PRICE.cost(body if body is not UNSET else None)
        self.ledger.reserve(
            cost, "a rejection probe sent without the guard (the target judges the key first)"
        )
        sent = {IDEMPOTENCY_HEADER: fresh_idempotency_key(), **(headers or {})}
        extra: dict[str, Any] = {"content": content} if body is UNSET else {"json_body": body}
        answer = self.api.send("POST", STORIES, key=key, headers=sent, **extra)
        if answer.status != 202:
            self.ledger.release(cost)
        return answer

    def assert_rejected(self, answer: ApiAnswer, *names: str) -> None:
        """400 VALIDATION_ERROR naming ``names``. Under the guard, an unnamed field is the sign
        that its value was accepted: the test's own clause breaks, not ``create.all-fields``."""
        unnamed = None if self.strategy == GUARDED else "create.all-fields"
        assert_fields(answer, *names, unnamed=unnamed)

    # --- acceptances ---------------------------------------------------------------------
    def accepted(self, case: AcceptanceCase) -> ApiAnswer:
        """The answer to the book that carries ``case`` (sent on first need)."""
        index, book = next((i, b) for i, b in enumerate(self._books) if case in b.cases)
        if index not in self._answers:
            self._answers[index] = self._send(book)
        return self._answers[index]

    def _send(self, book: Book) -> ApiAnswer:
        headers = {"content-type": book.content_type}
        content = json.dumps(book.body())
        if self.strategy == GUARDED:
            return self.api.probe(content=content, key=self._key_for(), headers=headers)
        cost = CREATE_PRICE.cost(book.body())
        ids = ", ".join(c.id for c in book.cases)
        self.ledger.reserve(cost, f"a book proving {ids} acceptable (paid probes)")
        headers[IDEMPOTENCY_HEADER] = fresh_idempotency_key()
        return self.api.send("POST", STORIES, key=self._key_for(), headers=headers, content=content)

    def assert_accepted(self, case: AcceptanceCase) -> None:
        """``case``'s values were judged valid: its fields are not named. Another value of its
        book may have been refused; that is the other case's failure."""
        answer = self.accepted(case)
        mine = sorted(set(answer.fields) & set(case.overrides))
        if self.strategy == PAID and answer.status == 202:
            return
        if self.strategy == GUARDED and answer.status == 202:
            judge(answer, [("idempotency.key-length", "a probe with an over-long key was booked")])
            return
        problems = field_problems(answer)
        if not problems and mine:
            problems = [(None, f"{case.id} was refused: error.fields names {', '.join(mine)}")]
        if not problems and not answer.fields:
            problems = [("create.all-fields", "a VALIDATION_ERROR that names no field")]
        judge(answer, problems)
