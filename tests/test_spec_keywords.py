"""Every schema, parameter and header object of openapi.yaml and control-api.yaml uses only keys
that OpenAPI 3.1 or JSON Schema 2020-12 define, or an ``x-`` extension.

A description written in a YAML flow mapping is cut at its first comma
(``{ description: When created (ISO 8601, UTC)., type: string }``) and the rest becomes a key
nobody defined: validators ignore it, generated clients carry the cut text. The keyword sets
come from the official metaschemas, as the validators we use ship them: the vocabularies of
the OpenAPI 3.1 schema dialect (openapi-schema-validator) and the OpenAPI 3.1 document schema's
parameter and header objects (openapi-spec-validator).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_schema_validator import OAS31_BASE_DIALECT_ID

# The registry openapi-schema-validator checks OpenAPI 3.1 schemas with: JSON Schema's
# metaschemas and the OpenAPI dialect and vocabulary.
from openapi_schema_validator._specifications import REGISTRY as METASCHEMAS
from openapi_spec_validator.schemas import schema_v31
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["openapi.yaml", "mockserver/control-api.yaml"]
Where = str


def _vocabularies(resolved: Any = None) -> dict[str, Any]:
    """Keyword → its definition in its vocabulary's metaschema, for every vocabulary the
    OpenAPI 3.1 dialect includes (through ``allOf``). The 2020-12 metaschema's own
    compatibility entries (``definitions``, ``dependencies``) are not vocabulary keywords."""
    resolved = resolved or METASCHEMAS.resolver().lookup(OAS31_BASE_DIALECT_ID)
    parts = resolved.contents.get("allOf", [])
    if not parts:
        return dict(resolved.contents.get("properties", {}))
    keywords: dict[str, Any] = {}
    for part in parts:
        keywords |= _vocabularies(resolved.resolver.lookup(part["$ref"]))
    return keywords


KEYWORDS = _vocabularies()
_DYNAMIC_META = {"$dynamicRef": "#meta"}


def _takes(definition: Any) -> str | None:
    """How a keyword holds subschemas, read from its metaschema definition: ``one`` schema
    (``not``), an ``array`` of them (``allOf``), a ``map`` of them (``properties``), or none."""
    if not isinstance(definition, dict):
        return None
    if definition == _DYNAMIC_META:
        return "one"
    if definition.get("$ref", "").endswith("/schemaArray"):
        return "array"
    if definition.get("additionalProperties") == _DYNAMIC_META:
        return "map"
    return None


SUBSCHEMAS = {keyword: _takes(definition) for keyword, definition in KEYWORDS.items()}


def unknown_schema_keys(schema: Any, where: Where) -> Iterator[Where]:
    """The location of every key of ``schema`` and its subschemas that is no keyword."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key.startswith("x-"):
            continue
        if key not in KEYWORDS:
            yield f"{where}/{key}"
            continue
        shape = SUBSCHEMAS[key]
        if shape == "one":
            yield from unknown_schema_keys(value, f"{where}/{key}")
        elif shape == "array":
            for index, item in enumerate(value):
                yield from unknown_schema_keys(item, f"{where}/{key}/{index}")
        elif shape == "map":
            for name, item in value.items():
                yield from unknown_schema_keys(item, f"{where}/{key}/{name}")


_OAS = Registry().with_resource(schema_v31["$id"], Resource.from_contents(dict(schema_v31)))
#: The official definitions of a parameter and a header object: unknown keys are
#: "unevaluated properties" there.
OBJECT_VALIDATORS = {
    kind: Draft202012Validator({"$ref": f"{schema_v31['$id']}#/$defs/{kind}"}, registry=_OAS)
    for kind in ("parameter", "header")
}


def _objects(document: dict[str, Any]) -> Iterator[tuple[str, Where, Any]]:
    """(``schema``, ``parameter`` or ``header``; where; the object) for every one the document
    defines inline (a ``$ref`` is checked where it points)."""

    def media(content: dict[str, Any], where: Where) -> Iterator[tuple[str, Where, Any]]:
        for kind, item in (content or {}).items():
            if "schema" in item:
                yield "schema", f"{where}/{kind}/schema", item["schema"]

    def parameter(node: dict[str, Any], where: Where, kind: str = "parameter"):
        if "$ref" in node:
            return
        yield kind, where, node
        if "schema" in node:
            yield "schema", f"{where}/schema", node["schema"]
        yield from media(node.get("content"), f"{where}/content")

    def response(node: dict[str, Any], where: Where):
        if "$ref" in node:
            return
        for name, header in (node.get("headers") or {}).items():
            yield from parameter(header, f"{where}/headers/{name}", "header")
        yield from media(node.get("content"), f"{where}/content")

    for path, item in document.get("paths", {}).items():
        at = "#/paths/" + path.replace("~", "~0").replace("/", "~1")
        for index, node in enumerate(item.get("parameters", [])):
            yield from parameter(node, f"{at}/parameters/{index}")
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            for index, node in enumerate(operation.get("parameters", [])):
                yield from parameter(node, f"{at}/{method}/parameters/{index}")
            body = operation.get("requestBody", {})
            yield from media(body.get("content"), f"{at}/{method}/requestBody/content")
            for status, node in operation.get("responses", {}).items():
                yield from response(node, f"{at}/{method}/responses/{status}")
    components = document.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        yield "schema", f"#/components/schemas/{name}", schema
    for name, node in components.get("parameters", {}).items():
        yield from parameter(node, f"#/components/parameters/{name}")
    for name, node in components.get("headers", {}).items():
        yield from parameter(node, f"#/components/headers/{name}", "header")
    for name, node in components.get("responses", {}).items():
        yield from response(node, f"#/components/responses/{name}")
    for name, node in components.get("requestBodies", {}).items():
        yield from media(node.get("content"), f"#/components/requestBodies/{name}/content")


def problems(document: dict[str, Any]) -> list[str]:
    found = []
    for kind, where, node in _objects(document):
        if kind == "schema":
            found += [f"{key}: not a schema keyword" for key in unknown_schema_keys(node, where)]
        else:
            found += [f"{where}: {e.message}" for e in OBJECT_VALIDATORS[kind].iter_errors(node)]
    return found


def test_the_keyword_sets_come_from_the_metaschemas():
    assert {"type", "anyOf", "unevaluatedProperties", "contentSchema", "example", "xml"} <= set(
        KEYWORDS
    )
    assert "definitions" not in KEYWORDS
    assert SUBSCHEMAS["properties"] == "map"
    assert SUBSCHEMAS["allOf"] == "array"
    assert SUBSCHEMAS["items"] == "one"
    assert SUBSCHEMAS["enum"] is None


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_schema_parameter_and_header_uses_only_defined_keys(document):
    assert problems(yaml.safe_load((ROOT / document).read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_walk_reaches_every_kind_of_object(document):
    kinds = {kind for kind, _, _ in _objects(yaml.safe_load((ROOT / document).read_text()))}
    assert kinds == {"schema", "parameter"} | ({"header"} if document == "openapi.yaml" else set())


CUT_AT_A_COMMA = """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /x/{id}:
    get:
      parameters:
        - { name: id, in: path, required: true, description: A UUID, any case., schema: {} }
      responses:
        "200":
          description: OK
          headers:
            X-Count: { description: How many, never negative., schema: {type: integer} }
          content:
            application/json:
              schema:
                type: object
                properties:
                  when: { description: When (ISO 8601, UTC)., type: string }
                  list: { type: array, items: { description: One item, or null., type: string } }
components:
  schemas:
    Nested:
      anyOf:
        - { description: A value, when present., type: string }
      x-free: { anything, goes: here }
"""


def test_a_description_cut_at_a_comma_is_found_in_every_kind_of_object():
    at = "#/paths/~1x~1{id}/get"
    body = f"{at}/responses/200/content/application/json/schema/properties"
    found = problems(yaml.safe_load(CUT_AT_A_COMMA))
    assert [problem.split(": ", 1)[0] for problem in found] == [
        f"{at}/parameters/0",
        f"{at}/responses/200/headers/X-Count",
        f"{body}/when/UTC).",
        f"{body}/list/items/or null.",
        "#/components/schemas/Nested/anyOf/0/when present.",
    ]
    assert "('any case.' was unexpected)" in found[0]
