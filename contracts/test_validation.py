"""POST /v1/stories body validation at every boundary, through the probes of
``contracts.probes``: free under the guard when the target names the body's fields next to an
over-long Idempotency-Key, paid (and budgeted) when it judges the key first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contracts.clauses import clause
from contracts.client import Api
from contracts.control import Account
from contracts.expect import assert_error
from contracts.jobs import valid_body
from contracts.probes import (
    ENUM_FIELDS,
    IDEA,
    PAGES,
    PROPERTIES,
    REQUIRED,
    ValidationProbes,
    acceptance_cases,
    idea,
)
from contracts.strategies import behaviour, case_variants
from contracts.terms import SPEC, VALIDATION_ERROR

MAX_BODY = SPEC.max_body_bytes
JSON = {"content-type": "application/json"}


def _cases(clause_id: str) -> list:
    return [pytest.param(c, id=c.id) for c in acceptance_cases() if c.clause == clause_id]


# --- accepted values (one batched probe judges a value of every field) ------------------------
@clause("create.enums")
@pytest.mark.parametrize("case", _cases("create.enums"))
def test_every_enum_value_is_accepted(validation: ValidationProbes, case) -> None:
    validation.assert_accepted(case)


@clause("create.page-count")
@pytest.mark.parametrize("case", _cases("create.page-count"))
def test_page_count_in_range_is_accepted(validation: ValidationProbes, case) -> None:
    validation.assert_accepted(case)


@clause("create.page-count-7.0")
@pytest.mark.parametrize("case", _cases("create.page-count-7.0"))
def test_page_count_7_0_counts_as_the_integer_7(validation: ValidationProbes, case) -> None:
    validation.assert_accepted(case)


@clause("create.story-idea")
@pytest.mark.parametrize("case", _cases("create.story-idea"))
def test_story_idea_within_length_is_accepted(validation: ValidationProbes, case) -> None:
    validation.assert_accepted(case)


@clause("create.bad-request")
@pytest.mark.parametrize("case", _cases("create.bad-request"))
def test_json_content_type_with_parameters_or_other_case_is_accepted(
    validation: ValidationProbes, case
) -> None:
    validation.assert_accepted(case)


# --- rejected values -------------------------------------------------------------------------
@clause("create.enums")
@pytest.mark.parametrize(
    ("field", "value"), [("style", "3D"), ("language", "English"), ("language", "en")]
)
def test_the_pages_own_off_by_case_examples_are_rejected(
    validation: ValidationProbes, spare_account: Account, field: str, value: str
) -> None:
    answer = validation.reject(valid_body(**{field: value}), key=spare_account.key)
    validation.assert_rejected(answer, field)


@clause("create.enums")
@behaviour
@given(data=st.data())
def test_enum_values_off_by_case_or_form_are_rejected(
    validation: ValidationProbes, spare_account: Account, data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from(sorted(ENUM_FIELDS)), label="field")
    value = data.draw(st.sampled_from(ENUM_FIELDS[field]), label="value")
    variant = data.draw(st.sampled_from(case_variants(value)), label="variant")
    answer = validation.reject(valid_body(**{field: variant}), key=spare_account.key)
    validation.assert_rejected(answer, field)


@clause("create.enums")
@pytest.mark.parametrize("code", ["en", "es", "fr", "de", "zh", "ja", "en-US", "EN"])
def test_language_codes_are_rejected(
    validation: ValidationProbes, spare_account: Account, code: str
) -> None:
    answer = validation.reject(valid_body(language=code), key=spare_account.key)
    validation.assert_rejected(answer, "language")


@clause("create.page-count")
@pytest.mark.parametrize(
    "count",
    [PAGES["minimum"] - 1, PAGES["maximum"] + 1, 0, -5, "7", True, None, 7.5, [7], {"n": 7}],
    ids=lambda v: json.dumps(v),
)
def test_page_count_outside_range_or_not_an_integer_is_rejected(
    validation: ValidationProbes, spare_account: Account, count: Any
) -> None:
    answer = validation.reject(valid_body(pageCount=count), key=spare_account.key)
    validation.assert_rejected(answer, "pageCount")


@clause("create.page-count")
@behaviour
@given(
    count=st.integers().filter(lambda n: not PAGES["minimum"] <= n <= PAGES["maximum"])
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
)
def test_any_page_count_outside_the_integers_5_to_15_is_rejected(
    validation: ValidationProbes, spare_account: Account, count: float
) -> None:
    answer = validation.reject(valid_body(pageCount=count), key=spare_account.key)
    validation.assert_rejected(answer, "pageCount")


@clause("create.story-idea")
@pytest.mark.parametrize(
    "story_idea",
    [idea(IDEA["minLength"] - 1), idea(IDEA["maxLength"] + 1), "", 12345678901, None],
    ids=["min-1", "max+1", "empty", "number", "null"],
)
def test_story_idea_outside_length_is_rejected(
    validation: ValidationProbes, spare_account: Account, story_idea: Any
) -> None:
    answer = validation.reject(valid_body(storyIdea=story_idea), key=spare_account.key)
    validation.assert_rejected(answer, "storyIdea")


@clause("create.closed-schema")
@behaviour
@given(name=st.text(min_size=1, max_size=30).filter(lambda n: n not in PROPERTIES))
@example(name="title")
@example(name="StoryIdea")
def test_unknown_fields_are_rejected(
    validation: ValidationProbes, spare_account: Account, name: str
) -> None:
    answer = validation.reject({**valid_body(), name: "x"}, key=spare_account.key)
    validation.assert_rejected(answer, name)


@clause("create.all-fields")
def test_every_missing_field_is_reported_together(
    validation: ValidationProbes, spare_account: Account
) -> None:
    validation.assert_rejected(validation.reject({}, key=spare_account.key), *REQUIRED)


@clause("create.all-fields")
@behaviour
@given(missing=st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_any_set_of_missing_fields_is_reported_in_full(
    validation: ValidationProbes, spare_account: Account, missing: set[str]
) -> None:
    body = {k: v for k, v in valid_body().items() if k not in missing}
    answer = validation.reject(body, key=spare_account.key)
    validation.assert_rejected(answer, *sorted(missing))


@clause("create.all-fields")
def test_several_invalid_fields_are_reported_together(
    validation: ValidationProbes, spare_account: Account
) -> None:
    body = valid_body(pageCount=PAGES["maximum"] + 1, style="3D", storyIdea="short", extra=1)
    answer = validation.reject(body, key=spare_account.key)
    validation.assert_rejected(answer, "pageCount", "style", "storyIdea", "extra")


@clause("create.validation")
@pytest.mark.parametrize("field", REQUIRED)
def test_wrong_type_is_reported(
    validation: ValidationProbes, spare_account: Account, field: str
) -> None:
    wrong = 7 if PROPERTIES[field].get("type") != "integer" else "seven"
    answer = validation.reject(valid_body(**{field: wrong}), key=spare_account.key)
    validation.assert_rejected(answer, field)


@clause("create.validation")
@pytest.mark.parametrize("body", [[], [valid_body()], "story", 7, None, True], ids=json.dumps)
def test_a_body_that_is_not_an_object_is_a_validation_error(
    validation: ValidationProbes, spare_account: Account, body: Any
) -> None:
    answer = validation.reject(content=json.dumps(body), key=spare_account.key, headers=JSON)
    assert_error(answer, 400, VALIDATION_ERROR)


# --- not JSON at all: BAD_REQUEST, checked before validation (the guard is safe here) ---------
@clause("create.bad-request")
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "text/json", None],
)
def test_a_content_type_other_than_json_is_400_bad_request(
    api: Api, spare_account: Account, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    answer = api.probe(content=json.dumps(valid_body()), key=spare_account.key, headers=headers)
    assert_error(answer, 400, "BAD_REQUEST")


@clause("create.bad-request")
@behaviour
@given(
    raw=st.binary(max_size=200).filter(lambda b: not _parses(b))
    | st.sampled_from([b'{"storyIdea": ', b"{'pageCount': 7}", b"", b"NaN", b'{"a":1}}'])
)
def test_a_body_that_is_not_json_is_400_bad_request(
    api: Api, spare_account: Account, raw: bytes
) -> None:
    assert_error(api.probe(content=raw, key=spare_account.key, headers=JSON), 400, "BAD_REQUEST")


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


@clause("create.bad-request")
def test_a_body_over_64_kib_is_400_bad_request(api: Api, spare_account: Account) -> None:
    body = valid_body(storyIdea=idea(MAX_BODY))
    assert_error(api.probe(body, key=spare_account.key), 400, "BAD_REQUEST")
