"""What a broken clause does under each profile, where the profile comes from, and how the
calibration probe chooses the validation strategy."""

from __future__ import annotations

import httpx
import pytest

from contracts.clauses import CLAUSES, DECISION, PAGE, ContractViolation
from contracts.client import ApiAnswer
from contracts.probes import (
    ENUM_FIELDS,
    GUARDED,
    PAID,
    Calibration,
    acceptance_cases,
    books,
)
from contracts.settings import CLAUSES as CLAUSES_VARIABLE
from contracts.settings import PROFILE, Settings, SettingsError
from contracts.terms import IDEMPOTENCY_HEADER, SPEC
from contracts.verdict import Verdict

A_PAGE_CLAUSE = "get.ownership"
A_DECISION_CLAUSE = "routing.405"
REMOTE = {"CBK_BASE_URL": "https://api.example", "CBK_API_KEY": "cbk_live_" + "k" * 30}


def verdict(profile: str, running: str | None = A_PAGE_CLAUSE) -> Verdict:
    found = Verdict(profile)
    found.begin(CLAUSES[running] if running else None)
    return found


# --- clauses carry their source ------------------------------------------------------------------
def test_every_clause_is_sourced_from_the_page_or_a_decision() -> None:
    assert {c.source for c in CLAUSES.values()} == {PAGE, DECISION}
    assert CLAUSES[A_PAGE_CLAUSE].source == PAGE and CLAUSES[A_DECISION_CLAUSE].source == DECISION


def test_the_decisions_examples_of_decisions_are_decision_clauses() -> None:
    """api-decisions.md names them: 405 with Allow, Idempotent-Replayed, the UUID 400, the
    order of checks."""
    examples = ["routing.405", "idempotency.replay-header", "get.uuid", "create.check-order"]
    assert {CLAUSES[c].source for c in examples} == {DECISION}


# --- profiles ----------------------------------------------------------------------------------
def test_under_decisions_a_broken_decision_fails() -> None:
    with pytest.raises(ContractViolation, match=r"^\[routing\.405\]"):
        verdict("decisions").broken(A_DECISION_CLAUSE, "no Allow header")


def test_under_page_a_broken_decision_is_a_warning() -> None:
    judged = verdict(PAGE)
    judged.broken(A_DECISION_CLAUSE, "no Allow header")
    (deviation,) = judged.end()
    assert (deviation.clause.id, deviation.detail) == (A_DECISION_CLAUSE, "no Allow header")


def test_under_page_a_broken_page_clause_fails() -> None:
    with pytest.raises(ContractViolation, match=r"^\[get\.ownership\] \(page\)"):
        verdict(PAGE).broken(A_PAGE_CLAUSE, "403 for another user's book")


def test_a_bare_failure_breaks_the_running_tests_clause() -> None:
    with pytest.raises(ContractViolation) as raised:
        verdict("decisions").broken(None, "status 403")
    assert raised.value.clause.id == A_PAGE_CLAUSE


def test_warnings_are_recorded_before_the_first_failure_is_raised() -> None:
    judged = verdict(PAGE)
    with pytest.raises(ContractViolation) as raised:
        judged.judge([(A_DECISION_CLAUSE, "no Allow"), (None, "expected 404, got 403")])
    assert raised.value.clause.id == A_PAGE_CLAUSE
    assert [d.clause.id for d in judged.end()] == [A_DECISION_CLAUSE]


def test_the_tests_own_clause_is_judged_first() -> None:
    with pytest.raises(ContractViolation) as raised:
        verdict("decisions").judge([("envelope.codes", "odd code"), (None, "expected 404")])
    assert raised.value.clause.id == A_PAGE_CLAUSE


@pytest.mark.parametrize("broken", sorted(CLAUSES))
def test_page_fails_on_no_more_than_decisions_does(broken: str) -> None:
    """Why a variant that passes under ``decisions`` needs no run under ``page``: whatever
    fails under ``page`` fails under ``decisions`` too."""
    try:
        verdict(PAGE).broken(broken, "x")
    except ContractViolation:
        with pytest.raises(ContractViolation):
            verdict("decisions").broken(broken, "x")


# --- where the profile comes from ---------------------------------------------------------------
def test_the_local_mock_is_judged_on_decisions_by_default() -> None:
    assert Settings.from_env({}).profile == "decisions"


def test_a_deployment_is_judged_on_the_page_by_default() -> None:
    assert Settings.from_env(REMOTE).profile == PAGE


def test_a_profile_can_be_chosen() -> None:
    assert Settings.from_env({**REMOTE, PROFILE: "decisions"}).profile == "decisions"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(SettingsError, match="page, decisions"):
        Settings.from_env({PROFILE: "strict"})


def test_an_unknown_clause_selection_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"no\.such"):
        Settings.from_env({CLAUSES_VARIABLE: "get.uuid, no.such"})


# --- calibration ---------------------------------------------------------------------------------
def answer(status: int, code: str | None, *fields: str) -> ApiAnswer:
    error = {"code": code, "message": "m", "fields": dict.fromkeys(fields, "bad")}
    body = httpx.Response(status, json={"ok": False, "requestId": "r", "error": error}).text
    return ApiAnswer("POST", "/v1/stories", status, httpx.Headers(), body)


REQUIRED = SPEC.schema("CreateStoryRequest")["required"]


@pytest.mark.parametrize(
    ("fields", "named", "strategy"),
    [
        ((*REQUIRED,), "body", GUARDED),
        ((*REQUIRED, IDEMPOTENCY_HEADER), "both", GUARDED),
        ((IDEMPOTENCY_HEADER,), "key", PAID),
        ((), "nothing", PAID),
    ],
    ids=["body-named", "both-named", "key-alone", "no-fields"],
)
def test_the_calibration_picks_the_strategy_from_what_is_named(
    fields: tuple[str, ...], named: str, strategy: str
) -> None:
    calibration = Calibration(answer(400, "VALIDATION_ERROR", *fields))
    assert (calibration.named, calibration.strategy) == (named, strategy)


@pytest.mark.parametrize("status", [202, 500, 429])
def test_anything_but_a_validation_error_leaves_the_guard_untrusted(status: int) -> None:
    assert Calibration(answer(status, None)).strategy == PAID


# --- acceptance books --------------------------------------------------------------------------
def test_every_acceptance_case_rides_in_exactly_one_book() -> None:
    packed = books(acceptance_cases())
    carried = [case for book in packed for case in book.cases]
    assert sorted(c.id for c in carried) == sorted(c.id for c in acceptance_cases())


def test_about_ten_books_cover_every_enum_value() -> None:
    enum_books = [b for b in books(acceptance_cases()) if b.source == PAGE]
    assert len(enum_books) == max(len(values) for values in ENUM_FIELDS.values())


def test_every_book_is_a_body_the_schema_accepts() -> None:
    validator = SPEC.validator("CreateStoryRequest")
    for book in books(acceptance_cases()):
        assert validator.is_valid(book.body()), book.body()


def test_a_decisions_case_never_shares_a_book_with_a_page_case() -> None:
    for book in books(acceptance_cases()):
        assert len({CLAUSES[c.clause].source for c in book.cases}) == 1
