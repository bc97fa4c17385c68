"""openapi.yaml is valid, self-consistent, and says what the vendor's page says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.http.control import control_spec
from mockserver.spec import Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
PAGE_PATH = ROOT / "docs" / "reference" / "childrenbooks-developer-api-v1.txt"
PAGE = PAGE_PATH.read_text(encoding="utf-8")
SPEC = load_spec()


def page_json_examples() -> list[dict[str, Any]]:
    """The JSON bodies printed on the page, in order: POST 202, GET 200, error."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(PAGE, m.end())[0] for m in re.finditer(r"^json\n", PAGE, re.M)]


def page_section(start: str, end: str) -> str:
    return PAGE[PAGE.index(start) : PAGE.index(end, PAGE.index(start))]


def page_bullets(start: str, end: str) -> list[str]:
    return [
        line.split("•", 1)[1].strip()
        for line in page_section(start, end).splitlines()
        if "•" in line
    ]


@pytest.mark.parametrize("document", ["openapi.yaml", "mockserver/control-api.yaml"])
def test_document_is_valid_openapi_3_1(document):
    raw = yaml.safe_load((ROOT / document).read_text())
    assert raw["openapi"].startswith("3.1")
    validate(raw, base_uri=(ROOT / document).as_uri())


def _media_with_examples(node: Any, path: str = ""):
    if isinstance(node, dict):
        if "schema" in node and ("examples" in node or "example" in node):
            yield path, node
        for key, value in node.items():
            yield from _media_with_examples(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _media_with_examples(value, f"{path}/{index}")


EXAMPLES = [
    pytest.param(media["schema"], example.get("value", example), id=f"{where}:{name}")
    for where, media in _media_with_examples(SPEC.document)
    for name, example in (
        media.get("examples") or {"example": {"value": media.get("example")}}
    ).items()
]


def test_the_document_has_examples_for_every_operation():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("schema", "value"), EXAMPLES)
def test_every_example_validates_against_its_schema(schema, value):
    errors = [e.message for e in SPEC.validator(schema).iter_errors(value)]
    assert errors == []


@pytest.mark.parametrize(
    ("index", "schema"),
    [(0, "CreateStoryAccepted"), (1, "StoryEnvelope"), (2, "ErrorEnvelope")],
    ids=["POST 202", "GET 200", "error"],
)
def test_reference_page_example_bodies_validate(index, schema):
    body = page_json_examples()[index]
    assert [e.message for e in SPEC.validator(schema).iter_errors(body)] == []


def test_reference_page_curl_body_is_a_valid_create_request():
    body = json.loads(re.search(r"-d '(\{.*?\})'", PAGE, re.S).group(1))
    assert SPEC.validator("CreateStoryRequest").is_valid(body)


# --- enums pinned to the page --------------------------------------------------------------
# Each expected list is copied from the reference page; the test also finds it in the page text.
PAGE_ENUMS = {
    "AgeRange": ["0-3", "4-7", "8-12"],
    "Style": [
        "watercolor", "oil_painting", "3d", "comic_style", "crayon", "colored_pencil", "paper_cut"
    ],
    "Tone": [
        "playful_funny", "fantasy_magic", "animal", "heartwarming",
        "sci_fi", "daily_life_basics", "adventurous", "educational",
    ],
    "Language": [
        "english", "spanish", "french", "german", "chinese",
        "japanese", "korean", "russian", "portuguese", "italian",
    ],
    "JobStatus": ["pending", "processing", "completed", "failed", "unknown"],
    "Source": ["web", "api", "hf"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PAGE_ENUMS))
def test_enum_matches_the_reference_page_exactly(name):
    assert list(SPEC.enum(name)) == PAGE_ENUMS[name]


def test_page_lists_the_same_age_ranges_languages_statuses_and_sources():
    assert "0-3, 4-7, 8-12" in PAGE
    assert ", ".join(PAGE_ENUMS["Language"]) in PAGE
    assert ", ".join(PAGE_ENUMS["JobStatus"]) + "." in PAGE
    assert "web, api, hf (or null)" in PAGE


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [("Style", "Visual art style", "pageCount"), ("Tone", "Narrative mood", "language")],
)
def test_page_bullets_are_exactly_the_enum_values(name, start, end):
    bullets = page_bullets(start, end)
    assert len(bullets) == len(PAGE_ENUMS[name])
    for bullet, value in zip(bullets, PAGE_ENUMS[name], strict=True):
        assert bullet.startswith(value)


def test_story_status_includes_unknown_but_the_accepted_status_does_not():
    accepted_status = SPEC.schema("CreateStoryAccepted")["properties"]["data"]["properties"]
    assert accepted_status["status"]["enum"] == ["pending", "processing", "completed", "failed"]
    assert "unknown" in SPEC.enum("JobStatus")


@pytest.mark.parametrize(
    ("field", "enum"),
    [
        ("ageRange", "AgeRange"),
        ("style", "Style"),
        ("tone", "Tone"),
        ("language", "Language"),
        ("source", "Source"),
    ],
)
def test_story_enum_fields_are_the_request_enums_or_null(field, enum):
    story = SPEC.validator("Story")
    book = {"id": "4cf184ed-0a29-4860-a257-0f8998357121", "status": "pending", "progress": 0}
    book["pages"] = []
    for value in SPEC.enum(enum):
        assert story.is_valid({**book, field: value})
    assert story.is_valid({**book, field: None})
    assert not story.is_valid({**book, field: "not-a-value"})
    assert {"$ref": f"#/components/schemas/{enum}"} in SPEC.schema("Story")["properties"][field][
        "anyOf"
    ]


def test_error_codes_are_the_documented_fourteen_plus_idempotency_conflict():
    listed = re.search(r"error\.code values include: ([A-Z_, ]+)", PAGE).group(1)
    documented = [code.strip() for code in listed.split(",")]
    assert len(documented) == 14
    assert list(SPEC.enum("ErrorCode")) == [*documented, "IDEMPOTENCY_CONFLICT"]
    assert set(SPEC.error_status) == set(SPEC.enum("ErrorCode"))


OPERATION_STATUSES = [
    (operation_id, status)
    for operation_id in SPEC.operation_ids
    for status in SPEC.statuses(operation_id)
]


@pytest.mark.parametrize(("operation_id", "status"), OPERATION_STATUSES)
def test_each_error_response_lists_only_codes_of_its_status(operation_id, status):
    codes = SPEC.error_codes(operation_id, status)
    assert bool(codes) == (status >= 400)
    for code in codes:
        expected = {SPEC.error_status[code]} | (
            {502, 503} if code == "EXTERNAL_SERVICE_ERROR" else set()
        )
        assert status in expected, code


def test_every_error_code_is_allowed_by_some_response():
    allowed = {code for op, status in OPERATION_STATUSES for code in SPEC.error_codes(op, status)}
    assert allowed == set(SPEC.enum("ErrorCode"))


@pytest.mark.parametrize(
    ("operation_id", "status"), [(op, status) for op, status in OPERATION_STATUSES if status >= 400]
)
def test_every_error_response_has_the_one_error_envelope(operation_id, status):
    _, _, operation = SPEC.operation(operation_id)
    media = SPEC.resolve(operation["responses"][str(status)])["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}


def test_error_codes_of_a_success_or_an_undocumented_status_are_none():
    assert SPEC.error_codes("createStory", 202) == ()
    assert SPEC.error_codes("createStory", 404) == ()
    assert SPEC.error_codes("getStory", 404) == ("NOT_FOUND",)


# --- limits and rules --------------------------------------------------------------------
def test_plan_limits_match_the_reference_page_table():
    for plan in ("Pro", "Premium"):
        per_minute, per_day = map(
            int, re.search(rf"^{plan}(\d+) req(\d+) books", PAGE, re.M).groups()
        )
        assert SPEC.plans[plan.lower()].requests_per_minute == per_minute
        assert SPEC.plans[plan.lower()].books_per_day == per_day
    assert not SPEC.plans["free"].api_access


def test_create_body_schema_is_closed_with_the_documented_bounds():
    schema = SPEC.schema("CreateStoryRequest")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])
    assert (
        schema["properties"]["pageCount"]["minimum"],
        schema["properties"]["pageCount"]["maximum"],
    ) == (5, 15)
    idea = schema["properties"]["storyIdea"]
    assert (idea["minLength"], idea["maxLength"]) == (10, 2000)


def test_header_limits_match_the_page():
    assert "Max length 128" in PAGE and SPEC.idempotency_key_max_length == 128
    assert "Max length 64" in PAGE and re.fullmatch(SPEC.request_id_pattern, "x" * 64)
    assert not re.fullmatch(SPEC.request_id_pattern, "x" * 65)
    assert SPEC.idempotency_ttl == 24 * 3600


def test_rate_limit_headers_are_documented_on_both_success_responses():
    for operation_id, status in (("createStory", "202"), ("getStory", "200")):
        _, _, operation = SPEC.operation(operation_id)
        headers = operation["responses"][status]["headers"]
        assert {
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "X-Request-Id",
        } <= set(headers)
    too_many = SPEC.document["components"]["responses"]["TooManyRequests"]["headers"]
    assert SPEC.resolve(too_many["retry-after"])["schema"]["minimum"] == 1


def test_security_accepts_x_api_key_or_bearer():
    schemes = SPEC.document["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {
        **schemes["ApiKeyHeader"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert SPEC.document["security"] == [{"ApiKeyHeader": []}, {"BearerAuth": []}]


def test_the_202_links_book_id_to_get_story():
    _, _, create = SPEC.operation("createStory")
    link = create["responses"]["202"]["links"]["GetStoryByBookId"]
    assert link == {
        **link,
        "operationId": "getStory",
        "parameters": {"id": "$response.body#/data/bookId"},
    }


@pytest.mark.parametrize("field", ["ageRange", "style", "tone", "language"])
def test_dashboard_books_take_the_contracts_enums(field):
    dashboard = control_spec().schema("DashboardBook")["properties"][field]
    assert dashboard == SPEC.schema(field[0].upper() + field[1:])


def test_a_reference_to_the_contract_resolves_where_the_files_sit_side_by_side(tmp_path):
    copy = tmp_path / "control-api.yaml"  # as installed: openapi.yaml is its sibling, not ../
    copy.write_text((ROOT / "mockserver" / "control-api.yaml").read_text(encoding="utf-8"))
    assert Spec.load(copy).schema("DashboardBook")["properties"]["style"] == SPEC.schema("Style")


def test_servers_include_a_relative_entry_and_production():
    urls = [server["url"] for server in SPEC.document["servers"]]
    assert urls == ["/", "https://api.childrenbooks.online"]


# --- single source of truth ----------------------------------------------------------------
DISTINCTIVE = ["oil_painting", "colored_pencil", "daily_life_basics", "fantasy_magic", "portuguese"]


@pytest.mark.parametrize("package", ["mockserver", "contracts", "loadtests"])
def test_no_code_retypes_an_enum(package):
    offenders = [
        f"{path.relative_to(ROOT)}: {value}"
        for path in (ROOT / package).rglob("*.py")
        for value in DISTINCTIVE
        if value in path.read_text(encoding="utf-8")
    ]
    assert offenders == [], "enums must be read from openapi.yaml"


# --- tooling --------------------------------------------------------------------------------
def test_schemathesis_loads_the_document_and_generates_cases_for_both_operations():
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
    operations = {
        result.ok().definition.raw["operationId"]: result.ok()
        for result in schema.get_all_operations()
    }
    assert set(operations) == {"createStory", "getStory"}
    for operation in operations.values():
        seen = []

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        def generate(case):
            seen.append(case)  # noqa: B023 — consumed before the loop moves on

        generate()
        assert seen and all(case.operation is operation for case in seen)
