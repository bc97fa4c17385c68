"""Body and path validation: every boundary of the closed CreateStoryRequest schema, every
offending field reported together, non-object and non-JSON bodies, and book ids."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.core.errors import ApiError
from mockserver.core.validation import parse_json
from mockserver.spec import load_spec
from tests.conftest import CREATE_BODY
from tests.mock_kit import SOME_UUID, create_book, data_of, error_of, read_book

SPEC = load_spec()
ENUM_FIELDS = {"ageRange": "AgeRange", "style": "Style", "tone": "Tone", "language": "Language"}
ENUM_CASES = [
    (field, value) for field, schema in ENUM_FIELDS.items() for value in SPEC.enum(schema)
]


async def _post(client, headers, body) -> object:
    return await client.post("/v1/stories", json=body, headers=headers)


async def _post_raw(client, headers, raw: bytes, content_type: str = "application/json"):
    return await client.post(
        "/v1/stories", content=raw, headers={**headers, "content-type": content_type}
    )


def _fields(response) -> dict[str, str]:
    return error_of(response, 400, "VALIDATION_ERROR")["fields"]


# --- enums -------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), ENUM_CASES, ids=[f"{f}={v}" for f, v in ENUM_CASES])
async def test_every_enum_value_is_accepted(client, pro_headers, create_body, field, value):
    book = await create_book(client, pro_headers, {**create_body, field: value})
    assert (await read_book(client, pro_headers, book["bookId"]))[field] == value


ENUM_VARIANTS = [
    ("style", "3D"),
    ("style", "Watercolor"),
    ("style", "WATERCOLOR"),
    ("style", "watercolor "),
    ("style", "oil-painting"),
    ("style", "comic"),
    ("language", "English"),
    ("language", "en"),
    ("language", "EN"),
    ("language", "en-US"),
    ("language", "espa\u00f1ol"),
    ("language", "Spanish"),
    ("tone", "Heartwarming"),
    ("tone", "sci-fi"),
    ("tone", "SciFi"),
    ("tone", "heart_warming"),
    ("ageRange", "4\u20137"),
    ("ageRange", "4 - 7"),
    ("ageRange", "4-8"),
    ("ageRange", "04-07"),
    ("ageRange", 4),
    ("style", ""),
]


@pytest.mark.parametrize(
    ("field", "value"), ENUM_VARIANTS, ids=[f"{f}={v!r}" for f, v in ENUM_VARIANTS]
)
async def test_enum_variant_is_rejected_naming_only_its_field(
    client, pro_headers, create_body, field, value
):
    fields = _fields(await _post(client, pro_headers, {**create_body, field: value}))
    assert set(fields) == {field}


async def test_enum_error_lists_the_allowed_values(client, pro_headers, create_body):
    fields = _fields(await _post(client, pro_headers, {**create_body, "style": "3D"}))
    assert all(value in fields["style"] for value in SPEC.enum("Style"))


# --- pageCount ---------------------------------------------------------------------------
@pytest.mark.parametrize("count", [5, 7, 15, 7.0, 5.0, 15.0], ids=repr)
async def test_page_count_in_range_is_accepted(client, pro_headers, create_body, count):
    book = await create_book(client, pro_headers, {**create_body, "pageCount": count})
    stored = (await read_book(client, pro_headers, book["bookId"]))["pageCount"]
    assert stored == int(count) and isinstance(stored, int)


async def test_page_count_7_0_is_stored_as_the_integer_7(client, pro_headers, create_body):
    raw = json.dumps(create_body).replace('"pageCount": 7', '"pageCount": 7.0').encode()
    response = await _post_raw(client, pro_headers, raw)
    book = data_of(response, 202)
    story = await client.get(f"/v1/stories/{book['bookId']}", headers=pro_headers)
    assert re.search(r'"pageCount":\s*7,', story.text)  # the integer, not 7.0


@pytest.mark.parametrize(
    "count", [4, 16, 0, -1, 7.5, "7", True, False, None, [7], {"n": 7}, 1e2, 4.999], ids=repr
)
async def test_page_count_out_of_range_or_not_an_integer_is_rejected(
    client, pro_headers, create_body, count
):
    fields = _fields(await _post(client, pro_headers, {**create_body, "pageCount": count}))
    assert set(fields) == {"pageCount"}


async def test_page_count_range_message_matches_the_reference_page(
    client, pro_headers, create_body
):
    fields = _fields(await _post(client, pro_headers, {**create_body, "pageCount": 16}))
    assert fields["pageCount"] == "Expected number between 5 and 15"


async def test_page_count_too_big_for_a_float_is_rejected(client, pro_headers, create_body):
    raw = json.dumps(create_body).replace('"pageCount": 7', '"pageCount": 1e400').encode()
    assert set(_fields(await _post_raw(client, pro_headers, raw))) == {"pageCount"}


async def test_page_count_with_thousands_of_digits_is_bad_request(client, pro_headers, create_body):
    raw = json.dumps(create_body).replace('"pageCount": 7', '"pageCount": ' + "9" * 5000)
    error_of(await _post_raw(client, pro_headers, raw.encode()), 400, "BAD_REQUEST")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_json_number_constant_is_bad_request(client, pro_headers, create_body, constant):
    raw = json.dumps(create_body).replace('"pageCount": 7', f'"pageCount": {constant}').encode()
    error_of(await _post_raw(client, pro_headers, raw), 400, "BAD_REQUEST")


# --- storyIdea ---------------------------------------------------------------------------
@pytest.mark.parametrize("length", [10, 11, 1999, 2000])
async def test_story_idea_of_10_to_2000_characters_is_accepted(
    client, pro_headers, create_body, length
):
    await create_book(client, pro_headers, {**create_body, "storyIdea": "x" * length})


@pytest.mark.parametrize("length", [0, 9, 2001, 5000])
async def test_story_idea_outside_10_to_2000_characters_is_rejected(
    client, pro_headers, create_body, length
):
    fields = _fields(await _post(client, pro_headers, {**create_body, "storyIdea": "x" * length}))
    assert set(fields) == {"storyIdea"}


async def test_story_idea_length_counts_characters_not_bytes(client, pro_headers, create_body):
    await create_book(client, pro_headers, {**create_body, "storyIdea": "\u00e9" * 10})
    too_long = {**create_body, "storyIdea": "\u00e9" * 2001}
    assert set(_fields(await _post(client, pro_headers, too_long))) == {"storyIdea"}


@pytest.mark.parametrize("value", [12345678901, None, ["a long enough idea"], {"idea": "x" * 20}])
async def test_story_idea_that_is_not_a_string_is_rejected(client, pro_headers, create_body, value):
    fields = _fields(await _post(client, pro_headers, {**create_body, "storyIdea": value}))
    assert set(fields) == {"storyIdea"}


# --- unknown and missing fields ------------------------------------------------------------
async def test_unknown_field_is_rejected(client, pro_headers, create_body):
    fields = _fields(await _post(client, pro_headers, {**create_body, "colour": "red"}))
    assert set(fields) == {"colour"}


async def test_missing_field_is_rejected(client, pro_headers, create_body):
    del create_body["tone"]
    assert set(_fields(await _post(client, pro_headers, create_body))) == {"tone"}


async def test_every_offending_field_is_reported_together(client, pro_headers):
    body = {"storyIdea": "short", "pageCount": 99, "style": "3D", "colour": "red", "extra": 1}
    fields = _fields(await _post(client, pro_headers, body))
    assert set(fields) == {
        "storyIdea",
        "pageCount",
        "style",
        "colour",
        "extra",
        "ageRange",
        "tone",
        "language",
    }


async def test_empty_object_reports_every_required_field(client, pro_headers):
    fields = _fields(await _post(client, pro_headers, {}))
    assert set(fields) == set(SPEC.schema("CreateStoryRequest")["required"])


async def test_null_field_is_reported_as_that_field(client, pro_headers, create_body):
    assert set(_fields(await _post(client, pro_headers, {**create_body, "language": None}))) == {
        "language"
    }


# --- bodies that are not JSON objects -------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [[], [CREATE_BODY], "a story", 7, True, None],
    ids=["[]", "[body]", "str", "int", "bool", "null"],
)
async def test_non_object_body_is_a_validation_error(client, pro_headers, body):
    response = await _post_raw(client, pro_headers, json.dumps(body).encode())
    assert set(_fields(response)) == {"body"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
async def test_body_in_another_unicode_encoding_is_bad_request(
    client, pro_headers, create_body, encoding
):
    raw = json.dumps(create_body).encode(encoding)
    error_of(await _post_raw(client, pro_headers, raw), 400, "BAD_REQUEST")


async def test_utf16_body_declared_as_utf16_is_bad_request(client, pro_headers, create_body):
    raw = json.dumps(create_body).encode("utf-16")
    response = await _post_raw(client, pro_headers, raw, "application/json; charset=utf-16")
    error_of(response, 400, "BAD_REQUEST")


async def test_latin1_body_is_bad_request(client, pro_headers, create_body):
    body = {**create_body, "storyIdea": "Un petit renard tr\u00e8s gourmand."}
    raw = json.dumps(body, ensure_ascii=False).encode("latin-1")
    error_of(await _post_raw(client, pro_headers, raw), 400, "BAD_REQUEST")


async def test_non_ascii_utf8_body_is_accepted(client, pro_headers, create_body):
    body = {
        **create_body,
        "storyIdea": "\u5c0f\u72d0\u72f8\u5b66\u4f1a\u5206\u4eab\u80e1\u841d\u535c",
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    book = data_of(await _post_raw(client, pro_headers, raw), 202)
    story = await read_book(client, pro_headers, book["bookId"])
    assert story["storyIdea"] == body["storyIdea"]


async def test_moderately_nested_value_is_a_validation_error(client, pro_headers, create_body):
    nested = json.loads("[" * 100 + "]" * 100)
    fields = _fields(await _post(client, pro_headers, {**create_body, "storyIdea": nested}))
    assert set(fields) == {"storyIdea"}


@pytest.mark.parametrize("shape", ["array", "object"])
async def test_deeply_nested_body_is_a_400_not_a_crash(client, pro_headers, shape):
    raw = "[" * 30_000 + "]" * 30_000 if shape == "array" else '{"a":' * 10_000 + "1" + "}" * 10_000
    assert len(raw) <= SPEC.max_body_bytes  # nesting, not size, is what is refused
    response = await _post_raw(client, pro_headers, raw.encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("BAD_REQUEST", "VALIDATION_ERROR")


async def test_duplicate_key_uses_the_last_value(client, pro_headers, create_body):
    raw = json.dumps(create_body)[:-1] + ', "pageCount": 99}'
    assert set(_fields(await _post_raw(client, pro_headers, raw.encode()))) == {"pageCount"}


async def test_body_is_validated_only_after_the_key(client, create_body):
    error_of(await _post(client, {}, {**create_body, "pageCount": 99}), 401, "UNAUTHORIZED")


# --- book ids ----------------------------------------------------------------------------
NOT_UUIDS = [
    "abc",
    "123",
    "660e8400e29b41d4a716446655440001",
    "{660e8400-e29b-41d4-a716-446655440001}",
    "urn:uuid:660e8400-e29b-41d4-a716-446655440001",
    "660e8400-e29b-41d4-a716-44665544000",
    "660e8400-e29b-41d4-a716-4466554400011",
    "g60e8400-e29b-41d4-a716-446655440001",
    "660e8400_e29b_41d4_a716_446655440001",
    " 660e8400-e29b-41d4-a716-446655440001",
    "%27%20OR%201%3D1%20--",
    "%00",
    "%E2%80%8B660e8400-e29b-41d4-a716-446655440001",
    "x" * 3000,
]


@pytest.mark.parametrize("book_id", NOT_UUIDS)
async def test_id_that_is_not_a_uuid_is_a_validation_error_on_id(client, pro_headers, book_id):
    response = await client.get(f"/v1/stories/{book_id}", headers=pro_headers)
    assert set(error_of(response, 400, "VALIDATION_ERROR")["fields"]) == {"id"}


async def test_empty_id_is_a_validation_error_on_id(client, pro_headers):
    response = await client.get("/v1/stories/", headers=pro_headers)
    assert set(error_of(response, 400, "VALIDATION_ERROR")["fields"]) == {"id"}


async def test_upper_case_uuid_finds_the_book(client, pro_headers, create_body):
    book = await create_book(client, pro_headers, create_body)
    story = await read_book(client, pro_headers, book["bookId"].upper())
    assert story["id"] == book["bookId"]


async def test_unknown_uuid_is_404_not_found(client, pro_headers):
    error_of(await client.get(f"/v1/stories/{SOME_UUID}", headers=pro_headers), 404, "NOT_FOUND")


async def test_another_users_book_is_the_same_404_as_an_unknown_id(
    client, mock, pro_headers, create_body
):
    book = await create_book(client, pro_headers, create_body)
    other = {"x-api-key": mock.keys["other"]}
    theirs = await client.get(f"/v1/stories/{book['bookId']}", headers=other)
    unknown = await client.get(f"/v1/stories/{SOME_UUID}", headers=other)
    assert error_of(theirs, 404, "NOT_FOUND") == error_of(unknown, 404, "NOT_FOUND")


async def test_id_is_validated_only_after_the_key(client):
    error_of(await client.get("/v1/stories/abc"), 401, "UNAUTHORIZED")


# --- parsing: orjson's fast path gives the strict parser's verdict -------------------------
def _strict_parse(raw: bytes) -> object:
    """The reference: the standard library, refusing what RFC 8259 refuses."""

    def reject(name: str) -> None:
        raise ValueError(name)

    parsed = json.loads(raw.decode("utf-8"), parse_constant=reject)
    json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    return parsed


def _verdict(parse, raw: bytes) -> tuple[str, object]:
    try:
        return "accepted", parse(raw)
    except (ApiError, UnicodeError, ValueError, RecursionError):
        return "refused", None


_int64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
_json_values = st.recursive(
    st.none() | st.booleans() | _int64 | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, ascii_only=st.booleans())
def test_fast_parse_agrees_with_the_strict_parser_on_json_text(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _verdict(parse_json, raw) == _verdict(_strict_parse, raw)


@settings(max_examples=300, deadline=None)
@given(
    raw=st.binary(max_size=40)
    | st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_fast_parse_agrees_with_the_strict_parser_on_any_bytes(raw):
    assert _verdict(parse_json, raw)[0] == _verdict(_strict_parse, raw)[0]


@pytest.mark.parametrize("number", [2**64, 2**70, -(2**63) - 1])
async def test_page_count_past_64_bits_is_a_validation_error(
    client, pro_headers, create_body, number
):
    raw = json.dumps({**create_body, "pageCount": number}).encode()
    assert set(_fields(await _post_raw(client, pro_headers, raw))) == {"pageCount"}
