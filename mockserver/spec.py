"""The contract, loaded once from ``openapi.yaml``.

Enums, limits, error statuses and schemas are read from here so that no rule is typed twice.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:childrenbooks:openapi"
#: ``api-decisions.md``: "Monthly credits (1 per page, cover included)" when the spec names none.
DEFAULT_CREDITS_PER_PAGE = 1


def spec_path() -> Path:
    """The installed copy (wheel) or the repository's own file (editable install)."""
    packaged = resources.files("mockserver").joinpath("openapi.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "openapi.yaml"


@dataclass(frozen=True)
class Plan:
    name: str
    api_access: bool
    requests_per_minute: int
    books_per_day: int
    monthly_credits: int

    @classmethod
    def from_spec(cls, name: str, raw: dict[str, Any]) -> Plan:
        return cls(
            name=name,
            api_access=bool(raw["apiAccess"]),
            requests_per_minute=int(raw["requestsPerMinute"]),
            books_per_day=int(raw["booksPerDay"]),
            monthly_credits=int(raw["monthlyCredits"]),
        )


@dataclass(frozen=True)
class CreditRule:
    """What accepting one call of an operation costs, from its ``x-cbk-credits`` extension
    (``perAcceptance: pageCount * creditsPerPage``): the product of ``body_fields`` of the
    request body and ``multiplier`` (the named ``x-cbk`` rules), charged on ``accepted_status``
    unless the answer is a replay."""

    operation_id: str
    method: str
    path: str
    accepted_status: int
    body_fields: tuple[str, ...]
    multiplier: int
    #: Each body field's schema ``maximum``: what a value that is no positive number costs.
    field_maxima: tuple[int, ...] = ()

    def cost(self, body: Any) -> int:
        """What accepting ``body`` costs. A field that is not a positive number counts at its
        maximum: a lenient server may book it anyway."""
        credits = self.multiplier
        for name, most in zip(self.body_fields, self.field_maxima, strict=True):
            value = body.get(name) if isinstance(body, dict) else None
            positive = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            credits *= int(value) if positive else most
        return credits


class Spec:
    """Read-only view of the OpenAPI document with the lookups the toolkit needs."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # control-api.yaml is loaded through this class too and has no x-cbk rules.
        self.rules: dict[str, Any] = document.get("x-cbk", {})
        resource = Resource(contents=document, specification=DRAFT202012)
        self._registry: Registry = Registry().with_resource(SPEC_URI, resource)

    @classmethod
    def load(cls, path: Path | None = None) -> Spec:
        with open(path or spec_path(), encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh))

    # --- component lookups -------------------------------------------------------------
    def schema(self, name: str) -> dict[str, Any]:
        return self.document["components"]["schemas"][name]

    def enum(self, name: str) -> tuple[str, ...]:
        return tuple(v for v in self.schema(name)["enum"] if v is not None)

    def validator(self, schema_or_ref: dict[str, Any] | str) -> Draft202012Validator:
        """A validator that resolves ``$ref``s into this document."""
        node = self.schema(schema_or_ref) if isinstance(schema_or_ref, str) else schema_or_ref
        try:
            inlined = self._inline(node, ())
        except RecursionError:
            inlined = None
        if inlined is not None:  # no $ref left to resolve per call: 3x faster validation
            return Draft202012Validator(inlined, format_checker=FormatChecker())
        schema = (
            {"$ref": f"{SPEC_URI}#/components/schemas/{schema_or_ref}"}
            if isinstance(schema_or_ref, str)
            else _absolutize(schema_or_ref)
        )
        return Draft202012Validator(schema, registry=self._registry, format_checker=FormatChecker())

    def fast_validator(self, name: str) -> Callable[[Any], bool]:
        """A compiled (jsonschema-rs) yes/no check of a component, for hot paths; use
        ``validator`` to learn what is wrong."""
        return jsonschema_rs.validator_for(self._inline(self.schema(name), ())).is_valid

    def _inline(self, node: Any, seen: tuple[str, ...]) -> Any:
        """``node`` with every local ``$ref`` replaced by its target (a sibling keyword keeps
        applying through ``allOf``); raises RecursionError for a recursive schema."""
        if isinstance(node, list):
            return [self._inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise RecursionError(ref)
            target = self._inline(self.resolve({"$ref": ref}), (*seen, ref))
            rest = {k: self._inline(v, seen) for k, v in node.items() if k != "$ref"}
            return {**rest, "allOf": [target]} if rest else target
        return {key: self._inline(value, seen) for key, value in node.items()}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow a local ``$ref`` (one level or a chain) to the node it names."""
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#/").split("/")
            target: Any = self.document
            for part in pointer:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        for path, item in self.document["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return path, method.upper(), op
        raise KeyError(operation_id)

    # --- rules -------------------------------------------------------------------------
    @functools.cached_property
    def plans(self) -> dict[str, Plan]:
        return {name: Plan.from_spec(name, raw) for name, raw in self.rules["plans"].items()}

    @functools.cached_property
    def error_status(self) -> dict[str, int]:
        return dict(self.schema("ErrorCode")["x-cbk-http-status"])

    @property
    def api_key_pattern(self) -> str:
        return self.rules["apiKeyPattern"]

    @property
    def max_body_bytes(self) -> int:
        return int(self.rules["maxBodyBytes"])

    @property
    def rate_limit_window(self) -> int:
        return int(self.rules["rateLimitWindowSeconds"])

    @property
    def credits_per_page(self) -> int:
        return int(self.rules["creditsPerPage"])

    @functools.cached_property
    def credit_rules(self) -> tuple[CreditRule, ...]:
        """Every operation that costs credits, as its ``x-cbk-credits`` says."""
        found = []
        for path, item in self.document.get("paths", {}).items():
            for method, operation in item.items():
                if isinstance(operation, dict) and "x-cbk-credits" in operation:
                    found.append(self._credit_rule(path, method.upper(), operation))
        return tuple(found)

    def _credit_rule(self, path: str, method: str, operation: dict[str, Any]) -> CreditRule:
        expression = operation["x-cbk-credits"]["perAcceptance"]
        content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        properties = self.resolve(content.get("schema", {})).get("properties", {})
        fields, multiplier = [], 1
        for name in (part.strip() for part in str(expression).split("*")):
            if name in properties:
                fields.append(name)
            elif name in self.rules:
                multiplier *= int(self.rules[name])
            elif name == "creditsPerPage":
                multiplier *= DEFAULT_CREDITS_PER_PAGE
            else:
                raise ValueError(
                    f"x-cbk-credits of {operation.get('operationId')}: {name!r} is neither a "
                    "request body field nor an x-cbk rule"
                )
        accepted = min(int(s) for s in operation["responses"] if str(s).startswith("2"))
        return CreditRule(
            operation.get("operationId", f"{method} {path}"),
            method,
            path,
            accepted,
            tuple(fields),
            multiplier,
            tuple(int(self.resolve(properties[name])["maximum"]) for name in fields),
        )

    @property
    def idempotency_key_max_length(self) -> int:
        return int(self.rules["idempotency"]["keyMaxLength"])

    @property
    def idempotency_ttl(self) -> int:
        return int(self.rules["idempotency"]["ttlSeconds"])

    @property
    def request_id_pattern(self) -> str:
        return self.rules["requestId"]["echoPattern"]


def _absolutize(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (f"{SPEC_URI}{v}" if k == "$ref" and v.startswith("#") else _absolutize(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolutize(v) for v in node]
    return node


@functools.cache
def load_spec() -> Spec:
    """The process-wide contract (parsed once)."""
    return Spec.load()
