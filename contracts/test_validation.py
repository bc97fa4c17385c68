"""POST /v1/stories body validation at every boundary, through guarded probes: a correct
server judges the body, then refuses the over-long Idempotency-Key, so nothing is booked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contracts.clauses import clause
from contracts.client import SPEC, Api
from contracts.control import Account
from contracts.expect import assert_error, assert_fields, assert_passed_validation
from contracts.jobs import valid_body
from contracts.strategies import behaviour, case_variants

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
MAX_BODY = SPEC.max_body_bytes


def idea(length: int, char: str = "a") -> str:
    return (char * length)[:length]


@clause("create.enums")
@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, values in ENUM_FIELDS.items() for value in values],
    ids=lambda v: str(v),
)
def test_every_enum_value_is_accepted(api: Api, account: Account, field: str, value: str) -> None:
    assert_passed_validation(api.probe(valid_body(**{field: value}), key=account.key))


@clause("create.enums")
@pytest.mark.parametrize(
    ("field", "value"), [("style", "3D"), ("language", "English"), ("language", "en")]
)
def test_the_decisions_own_off_by_case_examples_are_rejected(
    api: Api, account: Account, field: str, value: str
) -> None:
    assert_fields(api.probe(valid_body(**{field: value}), key=account.key), field)


@clause("create.enums")
@behaviour
@given(data=st.data())
def test_enum_values_off_by_case_or_form_are_rejected(
    api: Api, account: Account, data: st.DataObject
) -> None:
    field = data.draw(st.sampled_from(sorted(ENUM_FIELDS)), label="field")
    value = data.draw(st.sampled_from(ENUM_FIELDS[field]), label="value")
    variant = data.draw(st.sampled_from(case_variants(value)), label="variant")
    assert_fields(api.probe(valid_body(**{field: variant}), key=account.key), field)


@clause("create.enums")
@pytest.mark.parametrize("code", ["en", "es", "fr", "de", "zh", "ja", "en-US", "EN"])
def test_language_codes_are_rejected(api: Api, account: Account, code: str) -> None:
    assert_fields(api.probe(valid_body(language=code), key=account.key), "language")


@clause("create.page-count")
@pytest.mark.parametrize(
    "count", [PAGES["minimum"], PAGES["maximum"], 7.0], ids=["min", "max", "7.0"]
)
def test_page_count_in_range_is_accepted(api: Api, account: Account, count: Any) -> None:
    assert_passed_validation(api.probe(valid_body(pageCount=count), key=account.key))


@clause("create.page-count")
@pytest.mark.parametrize(
    "count",
    [PAGES["minimum"] - 1, PAGES["maximum"] + 1, 0, -5, "7", True, None, 7.5, [7], {"n": 7}],
    ids=lambda v: json.dumps(v),
)
def test_page_count_outside_range_or_not_an_integer_is_rejected(
    api: Api, account: Account, count: Any
) -> None:
    assert_fields(api.probe(valid_body(pageCount=count), key=account.key), "pageCount")


@clause("create.page-count")
@behaviour
@given(
    count=st.integers().filter(lambda n: not PAGES["minimum"] <= n <= PAGES["maximum"])
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x))
)
def test_any_page_count_outside_the_integers_5_to_15_is_rejected(
    api: Api, account: Account, count: float
) -> None:
    assert_fields(api.probe(valid_body(pageCount=count), key=account.key), "pageCount")


@clause("create.story-idea")
@pytest.mark.parametrize(
    "story_idea",
    [idea(IDEA["minLength"]), idea(IDEA["maxLength"]), idea(IDEA["minLength"], "é")],
    ids=["min", "max", "min-non-ascii"],
)
def test_story_idea_within_length_is_accepted(api: Api, account: Account, story_idea: str) -> None:
    assert_passed_validation(api.probe(valid_body(storyIdea=story_idea), key=account.key))


@clause("create.story-idea")
@pytest.mark.parametrize(
    "story_idea",
    [idea(IDEA["minLength"] - 1), idea(IDEA["maxLength"] + 1), "", 12345678901, None],
    ids=["min-1", "max+1", "empty", "number", "null"],
)
def test_story_idea_outside_length_is_rejected(api: Api, account: Account, story_idea: Any) -> None:
    assert_fields(api.probe(valid_body(storyIdea=story_idea), key=account.key), "storyIdea")


@clause("create.closed-schema")
@behaviour
@given(name=st.text(min_size=1, max_size=30).filter(lambda n: n not in PROPERTIES))
@example(name="title")
@example(name="StoryIdea")
def test_unknown_fields_are_rejected(api: Api, account: Account, name: str) -> None:
    assert_fields(api.probe({**valid_body(), name: "x"}, key=account.key), name)


@clause("create.all-fields")
def test_every_missing_field_is_reported_together(api: Api, account: Account) -> None:
    assert_fields(api.probe({}, key=account.key), *REQUIRED)


@clause("create.all-fields")
@behaviour
@given(missing=st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_any_set_of_missing_fields_is_reported_in_full(
    api: Api, account: Account, missing: set[str]
) -> None:
    body = {k: v for k, v in valid_body().items() if k not in missing}
    assert_fields(api.probe(body, key=account.key), *sorted(missing))


@clause("create.all-fields")
def test_several_invalid_fields_are_reported_together(api: Api, account: Account) -> None:
    body = valid_body(pageCount=PAGES["maximum"] + 1, style="3D", storyIdea="short", extra=1)
    assert_fields(api.probe(body, key=account.key), "pageCount", "style", "storyIdea", "extra")


@clause("create.all-fields")
@pytest.mark.parametrize("field", REQUIRED)
def test_wrong_type_is_reported(api: Api, account: Account, field: str) -> None:
    wrong = 7 if PROPERTIES[field].get("type") != "integer" else "seven"
    assert_fields(api.probe(valid_body(**{field: wrong}), key=account.key), field)


@clause("create.all-fields")
@pytest.mark.parametrize("body", [[], [valid_body()], "story", 7, None, True], ids=json.dumps)
def test_a_body_that_is_not_an_object_is_a_validation_error(
    api: Api, account: Account, body: Any
) -> None:
    assert_error(
        api.probe(content=json.dumps(body), key=account.key, headers=JSON), 400, "VALIDATION_ERROR"
    )


JSON = {"content-type": "application/json"}


@clause("create.bad-request")
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "text/json", None],
)
def test_a_content_type_other_than_json_is_400_bad_request(
    api: Api, account: Account, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    reply = api.probe(content=json.dumps(valid_body()), key=account.key, headers=headers)
    assert_error(reply, 400, "BAD_REQUEST")


@clause("create.bad-request")
@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"],
)
def test_json_content_type_with_parameters_or_other_case_is_accepted(
    api: Api, account: Account, content_type: str
) -> None:
    reply = api.probe(
        content=json.dumps(valid_body()), key=account.key, headers={"content-type": content_type}
    )
    assert_passed_validation(reply)


@clause("create.bad-request")
@behaviour
@given(
    raw=st.binary(max_size=200).filter(lambda b: not _parses(b))
    | st.sampled_from([b'{"storyIdea": ', b"{'pageCount': 7}", b"", b"NaN", b'{"a":1}}'])
)
def test_a_body_that_is_not_json_is_400_bad_request(api: Api, account: Account, raw: bytes) -> None:
    assert_error(api.probe(content=raw, key=account.key, headers=JSON), 400, "BAD_REQUEST")


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


@clause("create.bad-request")
def test_a_body_over_64_kib_is_400_bad_request(api: Api, account: Account) -> None:
    body = valid_body(storyIdea=idea(MAX_BODY))
    assert_error(api.probe(body, key=account.key), 400, "BAD_REQUEST")
