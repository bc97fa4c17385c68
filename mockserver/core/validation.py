"""Request validation against the spec: every offending field is reported, not only the first."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
from jsonschema import ValidationError
from jsonschema.protocols import Validator

from mockserver.core.errors import ApiError
from mockserver.spec import load_spec

_spec = load_spec()
#: At most 18 digits: every number the mock takes fits, and ``int`` never meets a text long
#: enough to refuse (4300 digits) or to be slow on.
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")
_create_validator = _spec.validator("CreateStoryRequest")
#: A compiled yes/no check: valid bodies skip the slower pass that names offending fields.
_create_is_valid = _spec.fast_validator("CreateStoryRequest")
_idempotency_header = _spec.rules["idempotency"]["header"]


def _describe(error: ValidationError) -> str:
    """A short message per failed keyword, with bounds read from the schema (never the value)."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    keyword = error.validator
    if keyword in ("minimum", "maximum"):
        return f"Expected number between {schema.get('minimum')} and {schema.get('maximum')}"
    if keyword in ("minLength", "maxLength"):
        return (
            f"Expected between {schema.get('minLength')} and {schema.get('maxLength')} characters"
        )
    if keyword == "enum":
        return "Expected one of: " + ", ".join(str(v) for v in schema["enum"])
    if keyword == "type":
        return f"Expected {error.validator_value}"
    if keyword == "format":
        return f"Expected a {error.validator_value}"
    if keyword == "const":
        return f"Expected {error.validator_value!r}"
    return "Invalid value"


def offending_fields(validator: Validator, body: Any) -> dict[str, str]:
    """Field name → message for every field of ``body`` that breaks the validator's schema
    (missing, unknown and invalid ones alike); a non-object body is reported as ``body``."""
    if not isinstance(body, dict):
        return {"body": "Expected a JSON object"}
    fields: dict[str, str] = {}
    for error in validator.iter_errors(body):
        if error.absolute_path:
            fields.setdefault(str(error.absolute_path[0]), _describe(error))
        elif error.validator == "required":
            for name in error.validator_value:
                if name not in body:
                    fields.setdefault(name, "Required")
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            for name in body:
                if name not in known:
                    fields.setdefault(name, "Unknown field")
        else:
            fields.setdefault("body", _describe(error))
    return fields


def validate_create_body(body: Any, idempotency_key: str | None) -> dict[str, Any]:
    """Return the normalized body, or raise VALIDATION_ERROR naming every offending field."""
    fields: dict[str, str] = {}
    if idempotency_key is not None and not (
        1 <= len(idempotency_key) <= _spec.idempotency_key_max_length
    ):
        fields[_idempotency_header] = (
            f"Expected between 1 and {_spec.idempotency_key_max_length} characters"
        )
    if not _create_is_valid(body):
        fields.update(offending_fields(_create_validator, body))
    if fields:
        raise ApiError("VALIDATION_ERROR", "Request body failed validation.", fields=fields)
    normalized = dict(body)
    normalized["pageCount"] = int(body["pageCount"])  # 7.0 counts as the integer 7
    return normalized


_uuid_pattern = re.compile(_spec.schema("Uuid")["pattern"])


def validate_book_id(value: str) -> str:
    # The Uuid schema is its pattern (its format adds nothing the pattern allows).
    if not _uuid_pattern.fullmatch(value):
        raise ApiError(
            "VALIDATION_ERROR",
            "Path parameter failed validation.",
            fields={"id": "Expected a UUID"},
        )
    return value.lower()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict RFC 8259: UTF-8 only, no NaN/Infinity, no lone surrogates (``"\\ud800"`` decodes
    to text no UTF-8 can carry); deep nesting is a parse error.

    orjson parses what it can (the fast path), and rejects all of the above; the standard
    library then judges what orjson refused — a number too large for a double is still JSON.
    (orjson reads an integer past 64 bits as a float: out of every range the contract allows,
    so the verdict on the body is the same.)"""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on surrogates
        return parsed
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise ApiError("BAD_REQUEST", "Request body is not valid UTF-8 JSON.") from exc


def whole_number(text: str) -> int | None:
    """``text`` as a non-negative integer written in at most 18 ASCII digits, else None
    (``str.isdigit`` also accepts ``²`` and ``３``, which ``int`` then rejects or reads
    differently)."""
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


def fingerprint(body: Mapping[str, Any]) -> str:
    """Same JSON body after parsing (key order irrelevant) → same fingerprint: 128 bits of its
    SHA-256, as many as a stored record needs and half the bytes."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
